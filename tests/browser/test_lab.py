"""End to end in JupyterLab: open a notebook as a student does, run it, click the widgets.

Each test opens one notebook of a private JupyterLab (fixture ``lab``) in headless Chromium,
runs all cells from the menu (Run > Run All Cells), waits until every cell ran and the
kernel is idle, and clicks the widgets (``_pages.py`` says what is checked).  It fails on a
console error of our front-end code, on an error output, and on any request that leaves
127.0.0.1.  Screenshots go to ``tests/artifacts/browser/``.

* ``widgets_e2e.ipynb`` (next to this file) builds a SweepPlayer of the first document's
  linear regression and a small OptimizerRace; the expected frames, gradients and positions
  come from the same code run in this process.
* ``notebooks/05_reverse_sweep_step_by_step.ipynb`` and ``notebooks/07_optimizer_race.ipynb``:
  the first SweepPlayer / OptimizerRace a student meets; the last frame must show what the
  committed notebook's static picture shows.
* every other notebook: Run All reaches the last code cell (cells tagged
  ``raises-exception`` show their error and Run All goes on), the exercises stay undone
  (each checker says "not done yet") and each solution opens with one click.
* the start page at Binder's path ``lab/tree/notebooks/00_start_here.ipynb``, with the
  project's lab settings: no news pop-up.
* ``notebooks/zh/01_autodiff_basics.ipynb``: the Chinese edition's SweepPlayer has Chinese
  controls (播放, 上一步, 正向传播, 反向传播) and no English word of its interface.

Every Run All here checks that the last code cell got its execution count.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import NOTEBOOKS, VIEWPORT, Lab, failed, require_playwright

require_playwright()  # skip here, fail under CI, when playwright is missing

from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import Locator, Page  # noqa: E402

from ._pages import (  # noqa: E402
    check_player,
    check_player_steps,
    check_race,
    same_numbers,
    scroll_to,
    wait_attr,
    watched_page,
)

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 90_000
SWEEP_NOTEBOOK = "05_reverse_sweep_step_by_step.ipynb"
RACE_NOTEBOOK = "07_optimizer_race.ipynb"
START_NOTEBOOK = "00_start_here.ipynb"
# the notebooks that no other test here runs (those two are run by their own tests)
OTHER_NOTEBOOKS = sorted(
    p.name
    for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")
    if p.name not in (SWEEP_NOTEBOOK, RACE_NOTEBOOK)
)


@pytest.fixture
def page(browser: Any, lab: Lab, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context on the lab; checks its console and requests afterwards."""
    context = browser.new_context(viewport=VIEWPORT)
    outside: list[str] = []
    local = (lab.url, lab.url.replace("http:", "ws:"), "blob:", "data:")
    name = request.node.name.replace("test_", "", 1)
    with watched_page(
        context,
        name,
        artifacts,
        lambda: failed(request),
        timeout_ms=15_000,
        local=local,
        outside=outside,
    ) as (pg, console):
        yield pg
    ours = console.ours()
    assert not ours, "console errors of the tapeviz front end:\n" + "\n".join(ours)
    assert not outside, f"JupyterLab made requests outside 127.0.0.1: {outside}"


# Done when every code cell of the notebook shown has an execution count, none is running or
# queued, and the kernel is idle; or as soon as a cell shows an error (unless it is tagged
# raises-exception): then the kernel skips the cells queued after it.  Read from the
# notebook's model (window.jupyterapp): JupyterLab renders no prompt for a collapsed cell.
# Also returns the execution counts and what each code cell printed.
CELLS_RAN = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!panel || !panel.content || !panel.content.model || !panel.sessionContext) return null;
    const code = [...panel.content.model.cells].filter((c) => c.type === "code");
    const errors = [];
    const cells = [];
    for (const cell of code) {
        const { source, outputs, metadata } = cell.toJSON();
        const text = Array.isArray(source) ? source.join("") : source;
        const expected = ((metadata || {}).tags || []).includes("raises-exception");
        let printed = "";
        for (const out of outputs || []) {
            if (out.output_type === "error" && !expected) {
                errors.push(`${out.ename}: ${out.evalue}\n--- in the cell ---\n${text}`);
            }
            if (out.output_type === "stream") {
                printed += Array.isArray(out.text) ? out.text.join("") : out.text;
            }
        }
        cells.push({ source: text, count: cell.executionCount, printed });
    }
    if (errors.length) return { errors, cells };
    const done = code.length > 0
        && code.every((c) => c.executionCount !== null && c.executionState !== "running")
        && panel.sessionContext.kernelDisplayStatus === "idle";
    return done ? { errors, cells } : null;
}"""


def open_and_run(page: Page, lab: Lab, notebook: str) -> list[dict[str, Any]]:
    """Open ``notebook`` (a path under the served root) in JupyterLab, Run > Run All Cells,
    wait until every cell ran; check that Run All reached the last code cell, in order.
    Returns each code cell's ``source``, execution ``count`` and ``printed`` text."""
    page.goto(lab.notebook_url(notebook))
    # The status bar says "Python 3 (ipykernel) | Idle" once the kernel is connected (the
    # toolbar's indicator says idle already while it is "No Kernel | Initializing", and
    # Run All does nothing then).
    connected = page.locator(
        ".jp-StatusBar-TextItem", has_text=re.compile(r"^(?!No Kernel).* \| Idle$")
    )
    connected.wait_for(timeout=30_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    try:
        state = page.wait_for_function(CELLS_RAN, timeout=RUN_TIMEOUT_MS).json_value()
    except PlaywrightError as exc:
        raise AssertionError(f"{notebook}: the cells did not all run") from exc
    assert not state["errors"], f"{notebook}: error output\n" + "\n\n".join(state["errors"])
    cells: list[dict[str, Any]] = state["cells"]
    # one Run All ran every code cell once, in order, up to the last one (the counts start
    # at 1 in a fresh kernel; later, when a test opens the notebook again, where its kernel
    # left off)
    counts = [c["count"] for c in cells]
    first = counts[0] if cells and isinstance(counts[0], int) else 1
    expected = list(range(first, first + len(cells)))
    assert counts == expected, f"{notebook}: execution counts {counts}"
    return cells


def live_widgets(page: Page, kind: str) -> Locator:
    """The live widgets of a kind ("player", "race"), not their static fallback pictures."""
    return page.locator(f".jp-NotebookPanel .tv-widget.tv-{kind}:not(.tv-static)")


# --- the dedicated notebook --------------------------------------------------------------------
def test_widgets_notebook(page: Page, lab: Lab, e2e_widgets: dict[str, Any], shot: Any) -> None:
    open_and_run(page, lab, "widgets_e2e.ipynb")
    player, race = live_widgets(page, "player"), live_widgets(page, "race")
    assert player.count() == 1 and race.count() == 1
    shot("lab-window", page.locator("#main"))

    # the first document's regression: dL/dw = [[70],[100]], dL/db = 30
    gradients = {"w": "[[70],[100]]", "b": "30"}
    check_player(page, player, e2e_widgets["player"], gradients=gradients, shot=shot)
    check_race(page, race, e2e_widgets["race"], shot=shot)

    # with a kernel, a new learning rate re-runs the race
    scroll_to(race)
    lr = race.locator("input.tv-lr").first
    assert lr.is_enabled()
    before = race.locator("polyline.tv-path").first.get_attribute("points")
    lr.fill("0.15")
    # Enter commits the number (race.js handles it and keeps it from JupyterLab's notebook
    # shortcuts, where Enter would edit the cell instead).
    lr.press("Enter")
    page.wait_for_function(
        """([el, before]) => !el.dataset.running
            && el.querySelector("polyline.tv-path").getAttribute("points") !== before""",
        arg=[race.element_handle(), before],
        timeout=15_000,
    )
    assert race.locator(".tv-error").inner_text().strip() == ""
    shot("race-3-new-learning-rate", race)


# --- the students' notebooks -------------------------------------------------------------------
def stored_picture(name: str, kind: str) -> str:
    """The static picture (text/html) of the notebook's first ``kind`` widget, as committed."""
    path = NOTEBOOKS / name
    if not path.exists():
        pytest.fail(f"notebooks/{name} is missing")
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("data", {}).get("text/html", "")
            text = "".join(text) if isinstance(text, list) else text
            if f"tv-static tv-{kind}" in text:
                return str(text)
    widget = {"player": "SweepPlayer", "race": "OptimizerRace"}[kind]
    pytest.fail(f"notebooks/{name} shows no {widget} (or was not rebuilt with its outputs)")


def test_sweep_notebook(page: Page, lab: Lab, shot: Any) -> None:
    picture = stored_picture(SWEEP_NOTEBOOK, "player")
    (last_node,) = re.findall(r'data-current-node="(\d+)"', picture)
    rows = {
        i: (html.unescape(name), html.unescape(total))
        for i, name, total in re.findall(
            r'<tr data-node="(\d+)"[^>]*><th scope="row">(.*?)</th><td>(.*?)</td></tr>', picture
        )
    }
    assert rows, "the stored picture has no adjoint table"
    exercises_undone(open_and_run(page, lab, f"notebooks/{SWEEP_NOTEBOOK}"))
    players = live_widgets(page, "player")
    assert players.count() >= 1
    check_player_steps(page, players.first, last_node=last_node, last_rows=rows, shot=shot)


def test_race_notebook(page: Page, lab: Lab, shot: Any) -> None:
    picture = stored_picture(RACE_NOTEBOOK, "race")
    stored = [
        html.unescape(p) for p in re.findall(r'<td class="tv-num tv-pos">(.*?)</td>', picture)
    ]
    exercises_undone(open_and_run(page, lab, f"notebooks/{RACE_NOTEBOOK}"))
    races = live_widgets(page, "race")
    assert races.count() >= 1
    race = races.first
    check_race(page, race, None, shot=shot, play_to_end=False)
    # the last step shows what the committed notebook's static picture shows
    race.locator("button.tv-last").click()
    wait_attr(page, race, "data-index", attr_max(race))
    shown = race.locator("table.tv-race-table td.tv-pos").all_inner_texts()
    assert len(shown) == len(stored), (shown, stored)
    for a, b in zip(shown, stored, strict=True):
        assert same_numbers(a, b, rel=2e-3, abs_=1e-4), (a, b)


def attr_max(race: Locator) -> str:
    return race.locator("input.tv-slider").get_attribute("max") or ""


# --- Run All on every notebook; the exercises; the start page as Binder opens it ---------------
def exercises_undone(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run All ran no solution: every checker says "not done yet", none "correct!".
    Returns the checker cells."""
    checkers = [c for c in cells if "not done yet" in c["source"]]
    for cell in checkers:
        assert "not done yet" in cell["printed"], cell["source"][:300]
    assert not [c for c in cells if "correct!" in c["printed"]], "a solution ran"
    return checkers


@pytest.mark.parametrize("notebook", OTHER_NOTEBOOKS)
def test_run_all_reaches_the_end(page: Page, lab: Lab, notebook: str, shot: Any) -> None:
    checkers = exercises_undone(open_and_run(page, lab, f"notebooks/{notebook}"))
    # each solution is one click away: a closed box whose summary opens it
    boxes = page.locator(".jp-NotebookPanel .jp-RenderedMarkdown details")
    assert boxes.count() == len(checkers)
    for i in range(boxes.count()):
        box = boxes.nth(i)
        code = box.locator("pre")
        assert box.get_attribute("open") is None and not code.is_visible()
        if i == 0:
            shot(
                "solution-closed",
                box.locator("xpath=ancestor::div[contains(@class, 'jp-Cell ')][1]"),
            )
        box.locator("summary").click()
        code.wait_for(state="visible", timeout=5_000)
        assert "check_" in code.inner_text()
        if i == 0:
            shot("solution-open", box)


NEWS_QUESTION = re.compile(r"news", re.IGNORECASE)


def test_start_page_at_binders_path_without_news(page: Page, lab: Lab, shot: Any) -> None:
    """``lab/tree/notebooks/00_start_here.ipynb`` — the path of the Binder link, of ``make
    lab`` and of an nbgitpuller link — opens the start page, and JupyterLab asks nothing
    about news (the project's overrides.json) in the first seconds."""
    page.goto(f"{lab.url}/lab/tree/notebooks/{START_NOTEBOOK}?token={lab.token}")
    page.locator(".jp-NotebookPanel .jp-RenderedMarkdown h1").first.wait_for(timeout=30_000)
    title = page.locator(".jp-NotebookPanel .jp-RenderedMarkdown h1").first.inner_text()
    assert "Start here" in title or "tapeviz" in title, title
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).wait_for(
        timeout=30_000
    )
    page.wait_for_timeout(3_000)  # the news question comes as a toast soon after start-up
    toasts = page.locator(".Toastify__toast")
    texts = [toasts.nth(i).inner_text() for i in range(toasts.count())]
    assert not [t for t in texts if NEWS_QUESTION.search(t)], texts
    shot("start-page", page.locator("#main"))
    settings = lab.api("/lab/api/settings/@jupyterlab/apputils-extension:notification")
    defaults = {k: v.get("default") for k, v in settings["schema"]["properties"].items()}
    assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults


# --- the Chinese edition -----------------------------------------------------------------------
ZH_NOTEBOOK = "zh/01_autodiff_basics.ipynb"
# words a Chinese player may show that are not interface words: key caps, the ops and names
# of the recorded graph (code), units
NOT_INTERFACE = re.compile(
    r"\b(?:Home|End|Ctrl|Variable|matmul|add|subtract|square|reduce_sum)\b|"
    r"[tc]\d+|#\d+"
)


def test_chinese_notebook_has_chinese_controls(page: Page, lab: Lab, shot: Any) -> None:
    cells = open_and_run(page, lab, f"notebooks/{ZH_NOTEBOOK}")
    assert 'tf.viz.set_language("zh")' in cells[0]["source"]
    players = live_widgets(page, "player")
    assert players.count() >= 1
    root = players.first
    scroll_to(root)
    play = root.locator("button.tv-play")
    assert play.get_attribute("aria-label") == "播放"
    assert play.get_attribute("title") == "播放 (空格)"
    assert play.inner_text().strip() == "播放"
    assert root.locator("button.tv-step-back").get_attribute("aria-label") == "上一步"
    assert root.locator("button.tv-step-forward").get_attribute("aria-label") == "下一步"
    assert root.locator("button.tv-zoom-fit").get_attribute("aria-label") == "显示整张图"
    assert "正向传播" in root.locator(".tv-frame-label").inner_text()
    # on to the reverse sweep
    root.focus()
    page.keyboard.press("End")
    wait_attr(page, root, "data-phase", "backward")
    label = root.locator(".tv-frame-label").inner_text()
    assert "反向传播" in label and "帧" in label, label
    assert "目前累积的伴随值" in root.locator("table.tv-adjoint-table caption").inner_text()
    # every visible word of the widget (the graph's SVG aside) is Chinese, numbers or code
    text = root.evaluate(
        """(el) => {
            const copy = el.cloneNode(true);
            copy.querySelectorAll("svg, .tv-formula").forEach((n) => n.remove());
            const titles = [...el.querySelectorAll("[title], [aria-label]")]
                .map((n) => [n.getAttribute("title"), n.getAttribute("aria-label")].join(" "));
            return [copy.innerText, ...titles].join("\\n");
        }"""
    )
    english = set(re.findall(r"[A-Za-z]{3,}", NOT_INTERFACE.sub("", text)))
    assert not english, (english, text)
    shot("zh-player", root)
