"""The widgets' ``save_html`` pages, opened from disk: no server, no kernel, no network.

The SweepPlayer and the OptimizerRace of ``widgets_e2e.ipynb`` (built in this process) are
saved to ``tests/artifacts/browser/`` and opened as ``file://`` pages in a browser context
that is offline and aborts every request that is not for a local file.  The same clicks and
checks as in JupyterLab follow (``_pages.py``); in addition the page may log no console
error at all, and must not have tried to load anything from the network.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import VIEWPORT, failed, require_playwright

require_playwright()  # skip here, fail under CI, when playwright is missing

from playwright.sync_api import Page, Route  # noqa: E402

from ._pages import check_player, check_race, watched_page  # noqa: E402

pytestmark = pytest.mark.browser

LOCAL = ("file:", "data:", "blob:", "about:")


@pytest.fixture
def offline_page(browser: Any, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, offline=True)
    attempted: list[str] = []

    def refuse(route: Route) -> None:
        url = route.request.url
        if url.startswith(LOCAL):
            route.continue_()
        else:
            attempted.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", refuse)
    name = request.node.name.replace("test_", "", 1)
    with watched_page(
        context,
        name,
        artifacts,
        lambda: failed(request),
        timeout_ms=10_000,
        local=LOCAL,
        outside=attempted,
    ) as (page, console):
        yield page
    assert not console.errors, "console errors on the saved page:\n" + "\n".join(console.errors)
    assert not attempted, f"the saved page tried to use the network: {sorted(set(attempted))}"


def test_saved_player(
    offline_page: Page, e2e_widgets: dict[str, Any], artifacts: Path, shot: Any
) -> None:
    player = e2e_widgets["player"]
    assert player.index == 0
    path = player.save_html(artifacts / "sweep_player.html")
    offline_page.goto(path.resolve().as_uri())
    root = offline_page.locator(".tv-widget.tv-player:not(.tv-static)")
    assert root.count() == 1
    check_player(offline_page, root, player, gradients={"w": "[[70],[100]]", "b": "30"}, shot=shot)


def test_saved_race(
    offline_page: Page, e2e_widgets: dict[str, Any], artifacts: Path, shot: Any
) -> None:
    race = e2e_widgets["race"]
    assert race.index == 0
    path = race.save_html(artifacts / "optimizer_race.html")
    offline_page.goto(path.resolve().as_uri())
    root = offline_page.locator(".tv-widget.tv-race:not(.tv-static)")
    assert root.count() == 1
    check_race(offline_page, root, race, shot=shot)
    # no kernel to re-run the race: the learning-rate inputs are read-only
    lr = root.locator("input.tv-lr")
    assert lr.count() == len(race.paths)
    assert all(lr.nth(k).is_disabled() for k in range(lr.count()))
