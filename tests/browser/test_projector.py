"""The widgets on a projector: JupyterLab at 1280×720 with the file browser open (issue 14).

A teacher projects ``notebooks/01_autodiff_basics.ipynb`` at 1280×720 with JupyterLab's file
browser open, scrolls the SweepPlayer to the top of the screen and steps it to the reverse
step that sends the gradient to ``w``.  Then the node labelled ``w`` and the formula with the
numbers of the product (``[[1,3],[2,4]] · [[10],[20]]``) must both be on screen, and every
text of the graph at least 14 px high.  The same at 1400×1000.

``notebooks/07_optimizer_race.ipynb``: every race shows its contours with a colour bar, and
the learning-rate race, where SGD with η = 0.21 diverges, says so ("diverged at step k"), its
path cut at the frame of the plot.

Screenshots of the whole window go to ``tests/artifacts/browser/projector-*.png``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Lab, require_playwright

require_playwright()  # skip here, fail under CI, when playwright is missing

from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import Locator, Page  # noqa: E402

from . import test_lab  # noqa: E402
from ._pages import scroll_to, wait_attr  # noqa: E402
from .test_lab import live_widgets, open_and_run  # noqa: E402

# The fixture `page` of test_lab: a window on the lab whose console and requests are checked.
window_on_the_lab = test_lab.page

pytestmark = pytest.mark.browser

SIZES = {"1280x720": {"width": 1280, "height": 720}, "1400x1000": {"width": 1400, "height": 1000}}
BASICS = "notebooks/01_autodiff_basics.ipynb"  # under the served root, as on Binder
RACE = "notebooks/07_optimizer_race.ipynb"
PRODUCT = "[[1,3],[2,4]] · [[10],[20]]"  # Xᵀ · ∂L/∂t, with the numbers
MIN_TEXT_PX = 14.0


def widgets_on_a_projector(page: Page, lab: Lab, size: str, notebook: str, kind: str) -> Locator:
    """The window at ``size``; ``notebook`` opened and run, the file browser open in the
    left sidebar, as a teacher has it; returns the notebook's live widgets of ``kind``."""
    page.set_viewport_size(SIZES[size])
    open_and_run(page, lab, notebook)
    browser_panel = page.locator("#filebrowser")
    if not browser_panel.is_visible():
        page.locator('.jp-SideBar.jp-mod-left [data-id="filebrowser"]').click()
    browser_panel.wait_for(state="visible")
    box = browser_panel.bounding_box()
    assert box is not None and box["width"] >= 200, f"the file browser is not open: {box}"
    page.wait_for_timeout(300)  # the notebook takes the width that is left
    widgets = live_widgets(page, kind)
    assert widgets.count() >= 1, f"{notebook} shows no {kind} widget"
    return widgets


def settle(page: Page, root: Locator) -> None:
    """Scroll the widget to the top of the notebook's view, as a teacher does, and wait
    until it stays there: JupyterLab renders the outputs above it lazily, which can move it
    for a moment after a scroll."""
    root.evaluate("el => { delete el.__tvTop; }")
    page.wait_for_function(
        """(el) => {
            const top = el.getBoundingClientRect().top;
            if (el.__tvTop !== undefined && Math.abs(el.__tvTop - top) < 0.5
                && performance.now() - el.__tvSince > 500) return true;
            if (el.__tvTop === undefined || Math.abs(el.__tvTop - top) >= 0.5) {
                el.__tvTop = top;
                el.__tvSince = performance.now();
                el.scrollIntoView({block: "start"});
                el.__tvTop = el.getBoundingClientRect().top;
            }
            return false;
        }""",
        arg=root.element_handle(),
        polling=100,
        timeout=10_000,
    )


def screenshot(page: Page, artifacts: Path, name: str) -> Path:
    path = artifacts / f"projector-{name}.png"
    page.screenshot(path=str(path))
    return path


# --- the SweepPlayer of notebook 01 ----------------------------------------------------------
# Where things are on screen: the visible part of the notebook (the window, the notebook's
# scroller), of the graph's viewport within it, the node labelled `w`, the formula; and the
# on-screen size of every text of the graph (its font size in user units times the scale of
# its coordinate system on screen).
GEOMETRY = """(root) => {
    const rect = (r) => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom});
    const cut = (a, b) => ({left: Math.max(a.left, b.left), top: Math.max(a.top, b.top),
                            right: Math.min(a.right, b.right),
                            bottom: Math.min(a.bottom, b.bottom)});
    const win = {left: 0, top: 0, right: window.innerWidth, bottom: window.innerHeight};
    const scroller = root.closest(".jp-WindowedPanel-outer") || root.closest(".jp-Notebook");
    const visible = cut(win, rect(scroller.getBoundingClientRect()));
    const graphBox = root.querySelector("div.tv-graph");
    const graph = cut(visible, rect(graphBox.getBoundingClientRect()));
    const svg = graphBox.querySelector("svg");
    const texts = [...svg.querySelectorAll("text")];
    const label = texts.find((t) => t.textContent.trim() === "w");
    const node = label ? (label.closest("g.node") || label) : null;
    const sizes = texts.map((t) =>
        parseFloat(t.getAttribute("font-size") || getComputedStyle(t).fontSize)
        * Math.abs(t.getScreenCTM().a));
    return {
        visible, graph,
        node: node ? rect(node.getBoundingClientRect()) : null,
        formula: rect(root.querySelector(".tv-formula").getBoundingClientRect()),
        formulaText: root.querySelector(".tv-formula").innerText,
        labels: [...new Set(texts.map((t) => t.textContent.trim()))].slice(0, 40),
        smallestText: Math.min(...sizes),
    };
}"""


def inside(inner: dict[str, float], outer: dict[str, float], slack: float = 0.5) -> bool:
    return (
        inner["left"] >= outer["left"] - slack
        and inner["top"] >= outer["top"] - slack
        and inner["right"] <= outer["right"] + slack
        and inner["bottom"] <= outer["bottom"] + slack
    )


def step_to_the_gradient_of(page: Page, root: Locator, label: str) -> int:
    """Press "Step forward" until the step that sends a contribution to the node ``label``
    (its row in the adjoint table is the updated one); returns the frame index."""
    last = int(root.locator("input.tv-slider").get_attribute("max") or "0")
    row = root.locator("table.tv-adjoint-table tr.tv-updated th", has_text=f"∂L/∂{label}")
    for i in range(1, last + 1):
        root.locator("button.tv-step-forward").click()
        wait_attr(page, root, "data-index", str(i))
        if row.count() and row.first.inner_text().strip() == f"∂L/∂{label}":
            return i
    shown = root.locator("table.tv-adjoint-table th").all_inner_texts()
    raise AssertionError(
        f"no step sends a gradient to a node labelled {label!r}; the adjoint table names {shown}"
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_player_node_and_formula_on_one_screen(
    window_on_the_lab: Page, lab: Lab, artifacts: Path, size: str
) -> None:
    page = window_on_the_lab
    root = widgets_on_a_projector(page, lab, size, BASICS, "player").last  # least squares
    scroll_to(root)
    assert root.get_attribute("data-index") == "0"
    settle(page, root)
    step_to_the_gradient_of(page, root, "w")
    settle(page, root)

    # the view follows the step (an animation of a quarter second): wait until it rests
    with contextlib.suppress(PlaywrightError):  # the assertions below say what is wrong
        page.wait_for_function(
            f"""(root) => {{ const g = ({GEOMETRY})(root);
                const ok = (a, b) => a && a.left >= b.left - 0.5 && a.top >= b.top - 0.5
                    && a.right <= b.right + 0.5 && a.bottom <= b.bottom + 0.5;
                return ok(g.node, g.graph) && ok(g.formula, g.visible); }}""",
            arg=root.element_handle(),
            timeout=3_000,
        )
    geometry = root.evaluate(GEOMETRY)
    shot = screenshot(page, artifacts, f"{size}-player-gradient-of-w")
    assert geometry["node"] is not None, f"no node labelled 'w' in {geometry['labels']}"
    assert inside(geometry["node"], geometry["graph"]), (
        f"the node labelled w is not in view ({shot.name}): {geometry}"
    )
    assert PRODUCT in geometry["formulaText"], geometry["formulaText"]
    assert inside(geometry["formula"], geometry["visible"]), (
        f"the formula is not on screen ({shot.name}): {geometry}"
    )
    assert geometry["smallestText"] >= MIN_TEXT_PX - 1e-6, geometry["smallestText"]

    # zoom out and back: the readable size comes back, and the node stays in view
    root.locator("button.tv-zoom-out").click()
    wait_attr(page, root, "data-zoom", "80")  # an animation of a quarter second
    root.locator("button.tv-zoom-reset").click()
    wait_attr(page, root, "data-zoom", "100")
    settle(page, root)
    again = root.evaluate(GEOMETRY)
    assert again["smallestText"] >= MIN_TEXT_PX - 1e-6
    assert inside(again["node"], again["graph"]), again


# --- the races of notebook 07 -----------------------------------------------------------------
@pytest.mark.parametrize("size", list(SIZES))
def test_race_notebook_colour_bars_and_divergence(
    window_on_the_lab: Page, lab: Lab, artifacts: Path, size: str
) -> None:
    page = window_on_the_lab
    races = widgets_on_a_projector(page, lab, size, RACE, "race")
    assert races.count() >= 3, "notebook 07 shows three races"
    diverged: list[str] = []
    for k in range(races.count()):
        race = races.nth(k)
        scroll_to(race)
        assert race.locator("svg.tv-race-plot g#tv-colourbar").count() == 1, f"race {k}"
        race.locator("button.tv-last").click()
        last = race.locator("input.tv-slider").get_attribute("max") or ""
        wait_attr(page, race, "data-index", last)
        settle(page, race)
        screenshot(page, artifacts, f"{size}-race-{k}-last-step")
        race.screenshot(path=str(artifacts / f"projector-{size}-race-{k}-widget.png"))
        check_paths_inside_the_frame(race, k)
        diverged += race.locator(".tv-race-table .tv-status").all_inner_texts()
    said = [s for s in diverged if re.fullmatch(r"diverged at step \d+", s.strip())]
    assert said, f"no optimizer is marked as diverged: {diverged}"


def check_paths_inside_the_frame(race: Locator, k: int) -> None:
    """Every path and marker lies within the plot's frame (clipped there, never beyond)."""
    frame = race.locator("svg.tv-race-paths rect.tv-frame").bounding_box()
    assert frame is not None, f"race {k}: no frame"
    outer = {
        "left": frame["x"],
        "top": frame["y"],
        "right": frame["x"] + frame["width"],
        "bottom": frame["y"] + frame["height"],
    }
    boxes: Callable[[str], list[Any]] = lambda sel: [  # noqa: E731
        race.locator(sel).nth(i).bounding_box() for i in range(race.locator(sel).count())
    ]
    for box in boxes("polyline.tv-path"):
        if box is None or (box["width"] == 0 and box["height"] == 0):
            continue
        r = {
            "left": box["x"],
            "top": box["y"],
            "right": box["x"] + box["width"],
            "bottom": box["y"] + box["height"],
        }
        assert inside(r, outer, slack=2.0), f"race {k}: a path leaves the frame: {r} {outer}"
