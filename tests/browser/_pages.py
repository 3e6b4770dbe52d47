"""What the browser tests do on a page: watch the console, and click through the widgets.

The same checks run on a widget inside JupyterLab (``test_lab.py``) and on a page written by
``save_html`` (``test_export.py``).  They use only the DOM hooks documented in
``tapeviz/viz/player.py`` and ``tapeviz/viz/trajectories.py``:

* SweepPlayer: root ``div.tv-widget.tv-player`` with ``data-index``, ``data-phase``,
  ``data-current-node`` and ``data-adjoints``; the toolbar ``button.tv-first``,
  ``.tv-step-back``, ``.tv-play`` (``aria-pressed``), ``.tv-step-forward``, ``.tv-last``,
  ``input.tv-slider``, ``select.tv-speed``, ``.tv-frame-label``; ``.tv-formula``;
  ``table.tv-adjoint-table`` rows ``tr[data-node]``; in the SVG ``g#n<id>`` (an op node) and
  ``g#<value box id>-grad`` (the gradient cell of a value box).
* OptimizerRace: root ``div.tv-widget.tv-race`` with ``data-index``; the same toolbar;
  ``polyline.tv-path``, ``path.tv-head`` (moved with ``transform``), ``line.tv-cursor``;
  ``table.tv-race-table`` rows ``tr[data-series]`` with ``td.tv-pos``; ``input.tv-lr``.

Expected values come from the Python objects (``player.frames``, ``race.paths``) built from
the same code the notebook runs, or, for the students' notebooks, from the static picture
stored in the committed notebook.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import ConsoleMessage, Locator, Page
from playwright.sync_api import Error as PlaywrightError

# A console error of *our* front end: the widget modules run from a blob: URL (anywidget) or
# inline in a saved page, with functions named renderPlayer/renderRace/makeControls...;
# anywidget re-logs a render error with console.error; ipywidgets complains when it cannot
# create a view or a model.
OUR_CODE = re.compile(
    r"tapeviz|anywidget|renderPlayer|renderRace|makeControls|tvModel|TV_WIDGET|\btv-|blob:"
    r"|Could not create (a )?view|Failed to (create|render|load|initialize) (a )?(view|model)"
    r"|Error rendering view|Error setting state|Class \S+ not found in module",
    re.IGNORECASE,
)

TIMEOUT_MS = 5_000  # for one step of a widget to show

Shot = Callable[[str, Locator], None]  # shot("player-0-first-frame", locator): a screenshot


# --- the console -------------------------------------------------------------------------------
@dataclass
class Console:
    """Collects a page's console messages, errors and uncaught exceptions.

    ``errors`` has every console error and uncaught exception; ``ours()`` those of our
    front-end code (``OUR_CODE``).  ``save`` writes the whole log (an artifact).
    """

    page: Page
    log: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", self._on_pageerror)

    def _on_console(self, msg: ConsoleMessage) -> None:
        where = msg.location.get("url", "") if msg.location else ""
        line = f"[{msg.type}] {msg.text} ({where})"
        self.log.append(line)
        if msg.type == "error":
            self.errors.append(line)

    def _on_pageerror(self, exc: PlaywrightError) -> None:
        line = f"[pageerror] {exc.name}: {exc.message}\n{exc.stack or ''}"
        self.log.append(line)
        self.errors.append(line)

    def ours(self) -> list[str]:
        return [e for e in self.errors if OUR_CODE.search(e)]

    def save(self, path: Path) -> None:
        path.write_text("\n".join(self.log) + "\n", encoding="utf-8")


# --- small DOM helpers -----------------------------------------------------------------------
def attr(loc: Locator, name: str) -> str:
    value = loc.get_attribute(name)
    return "" if value is None else value


@contextlib.contextmanager
def watched_page(
    context: Any,
    name: str,
    artifacts: Path,
    failed: Callable[[], bool],
    *,
    timeout_ms: int,
    local: tuple[str, ...],
    outside: list[str],
) -> Iterator[tuple[Page, Console]]:
    """A new page of ``context`` whose console is collected and whose requests to URLs
    not starting with ``local`` are appended to ``outside``; afterwards a screenshot if the
    test failed, the console log in ``artifacts``, and the context closed."""
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
    console = Console(page)
    try:
        yield page, console
        if failed():
            page.screenshot(path=str(artifacts / f"{name}--failed.png"))
    finally:
        console.save(artifacts / f"{name}--console.log")
        context.close()


def wait_attr(page: Page, loc: Locator, name: str, value: str, timeout: int = TIMEOUT_MS) -> None:
    """Wait until the element's attribute ``name`` is ``value``."""
    try:
        page.wait_for_function(
            "([el, name, value]) => el.getAttribute(name) === value",
            arg=[loc.element_handle(), name, value],
            timeout=timeout,
        )
    except PlaywrightError as exc:
        raise AssertionError(f"{name} is {loc.get_attribute(name)!r}, expected {value!r}") from exc


def scroll_to(root: Locator) -> None:
    """Scroll the widget to the top of the view, as a student does before using it."""
    root.evaluate("el => el.scrollIntoView({block: 'start'})")
    root.locator(".tv-controls").wait_for(state="visible")


def record_indices(root: Locator) -> None:
    """Record every value ``data-index`` takes from now on (read them with ``recorded``)."""
    root.evaluate(
        """(el) => {
            el.__tvSeen = [el.dataset.index];
            if (el.__tvObserver) el.__tvObserver.disconnect();
            el.__tvObserver = new MutationObserver(() => {
                const v = el.dataset.index;
                if (el.__tvSeen[el.__tvSeen.length - 1] !== v) el.__tvSeen.push(v);
            });
            el.__tvObserver.observe(el, {attributes: true, attributeFilter: ["data-index"]});
        }"""
    )


def recorded(root: Locator) -> list[int]:
    seen = root.evaluate("el => { el.__tvObserver.disconnect(); return el.__tvSeen; }")
    return [int(v) for v in seen]


def play_at_fastest(page: Page, root: Locator) -> Locator:
    """Choose the fastest speed, start recording the frames shown, press Play."""
    speeds = root.locator("select.tv-speed option").evaluate_all("os => os.map(o => o.value)")
    root.locator("select.tv-speed").select_option(max(speeds, key=float))
    play = root.locator("button.tv-play")
    record_indices(root)
    play.click()
    assert attr(play, "aria-pressed") == "true", "Play is not shown as pressed"
    return play


def play_to_the_end(page: Page, root: Locator, last: int) -> None:
    """Play from the first frame: every frame in turn, then it stops on the last one."""
    if attr(root, "data-index") != "0":
        root.locator("button.tv-first").click()
        wait_attr(page, root, "data-index", "0")
    play = play_at_fastest(page, root)
    wait_attr(page, root, "data-index", str(last), timeout=last * 500 + TIMEOUT_MS)
    wait_attr(page, play, "aria-pressed", "false")
    seen = recorded(root)
    assert seen == list(range(last + 1)), f"Play showed {seen}"


def is_highlighted(el: Locator) -> bool:
    # tv-highlight: the theme's class for the current node (player.py's DOM hooks)
    return bool(el.evaluate("e => e.classList.contains('tv-highlight')"))


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?", re.IGNORECASE)


def same_numbers(shown: str, expected: str, *, rel: float, abs_: float) -> bool:
    """The same text with the same numbers, up to a tolerance (another CPU may differ in
    the last printed digit of a float32 sin or exp)."""
    if _NUMBER.sub("#", shown) != _NUMBER.sub("#", expected):
        return False
    pairs = zip(_NUMBER.findall(shown), _NUMBER.findall(expected), strict=True)
    return all(math.isclose(float(a), float(b), rel_tol=rel, abs_tol=abs_) for a, b in pairs)


# --- SweepPlayer -------------------------------------------------------------------------------
def check_player(
    page: Page, root: Locator, player: Any, *, gradients: Mapping[str, str], shot: Shot
) -> None:
    """Click through a SweepPlayer and compare every frame shown with ``player.frames``.

    ``gradients`` maps a source's label to the text its adjoint must show in the last frame
    (``{"w": "[[70],[100]]", "b": "30"}``).
    """
    frames = player.frames
    n = len(frames)
    n_forward = sum(f.phase == "forward" for f in frames)
    record = player.record

    def shows(i: int) -> None:
        wait_attr(page, root, "data-index", str(i))
        f = frames[i]
        assert attr(root, "data-phase") == f.phase, f"frame {i}"
        assert attr(root, "data-current-node") == str(f.node), f"frame {i}: highlighted node"
        if record.node(f.node).kind == "op":
            assert is_highlighted(root.locator(f"svg g#n{f.node}")), f"frame {i}: g#n{f.node}"
        assert root.locator(".tv-formula").inner_text().strip() == f.formula, f"frame {i}"
        adjoints = [line for line in attr(root, "data-adjoints").split("\n") if line]
        assert sorted(adjoints) == sorted(f.accumulation.values()), f"frame {i}: adjoints"
        assert f"{i + 1} / {n}" in root.locator(".tv-frame-label").inner_text()

    scroll_to(root)
    shows(0)  # the first op of the forward pass
    assert root.locator("button.tv-first").is_disabled()
    assert root.locator("button.tv-step-back").is_disabled()
    shot("player-0-first-frame", root)

    # one step forward: the next op is highlighted, the first one no longer
    root.locator("button.tv-step-forward").click()
    shows(1)
    assert frames[1].node != frames[0].node
    assert not is_highlighted(root.locator(f"svg g#n{frames[0].node}"))
    shot("player-1-step-forward", root)

    # on to the first reverse step: the seed and the first contribution appear
    for i in range(2, n_forward + 1):
        root.locator("button.tv-step-forward").click()
        shows(i)
    assert "(seed)" in attr(root, "data-adjoints")
    updated = root.locator("table.tv-adjoint-table tr.tv-updated")
    assert updated.count() == len(frames[n_forward].updated)
    shot("player-2-first-reverse-step", root)

    # one step back: the forward pass again, no adjoints
    root.locator("button.tv-step-back").click()
    shows(n_forward - 1)

    # keys while the widget has the focus
    root.focus()
    page.keyboard.press("End")
    shows(n - 1)
    page.keyboard.press("Home")
    shows(0)

    play_to_the_end(page, root, n - 1)
    shows(n - 1)

    # the last frame shows the gradients: in the text, in the table and on the graph
    adjoints = attr(root, "data-adjoints").split("\n")
    row_of = {line.partition(" = ")[0]: i for i, line in frames[-1].accumulation.items()}
    for label, value in gradients.items():
        assert f"∂L/∂{label} = {value}" in adjoints, (label, adjoints)
        node = record.node(row_of[f"∂L/∂{label}"])
        row = root.locator(f'table.tv-adjoint-table tr[data-node="{node.id}"] td')
        assert row.inner_text().strip() == value
        grad = root.locator(f"svg g#{_value_box_id(node)}-grad")
        assert "tv-hidden" not in attr(grad, "class")
        cell = "".join(grad.locator("text").all_text_contents())
        assert _NUMBER.findall(cell) == _NUMBER.findall(value), f"{label}'s grad cell: {cell}"
    shot("player-3-last-frame", root)


def _value_box_id(node: Any) -> str:
    from tapeviz.viz.dot import value_box_id

    return value_box_id(node)


def check_player_steps(
    page: Page,
    root: Locator,
    *,
    last_node: str,
    last_rows: Mapping[str, tuple[str, str]],
    shot: Shot,
) -> None:
    """A notebook's SweepPlayer, without its Python object.

    Steps move the highlight, Play shows every frame once and stops on the last one, and the
    last frame shows ``last_node`` highlighted and the adjoint table ``last_rows``
    (``{node id: ("∂L/∂x", "1 + 6 = 7")}``, from the notebook's stored static picture).
    """
    scroll_to(root)
    if attr(root, "data-index") != "0":
        root.locator("button.tv-first").click()
    wait_attr(page, root, "data-index", "0")
    assert attr(root, "data-phase") == "forward"
    assert attr(root, "data-adjoints") == ""
    last = int(attr(root.locator("input.tv-slider"), "max"))
    node0 = attr(root, "data-current-node")
    assert is_highlighted(root.locator(f"svg g#n{node0}"))
    shot("player-0-first-frame", root)

    root.locator("button.tv-step-forward").click()
    wait_attr(page, root, "data-index", "1")
    node1 = attr(root, "data-current-node")
    assert node1 != node0
    assert is_highlighted(root.locator(f"svg g#n{node1}"))
    assert not is_highlighted(root.locator(f"svg g#n{node0}"))
    assert root.locator(".tv-formula").inner_text().strip()

    play_to_the_end(page, root, last)
    assert attr(root, "data-phase") == "backward"
    assert attr(root, "data-current-node") == last_node
    shown = sorted(line for line in attr(root, "data-adjoints").split("\n") if line)
    stored = sorted(f"{name} = {total}" for name, total in last_rows.values())
    assert len(shown) == len(stored), (shown, stored)
    for a, b in zip(shown, stored, strict=True):
        assert same_numbers(a, b, rel=1e-4, abs_=1e-6), (a, b)
    for i, (name, total) in last_rows.items():
        row = root.locator(f'table.tv-adjoint-table tr[data-node="{i}"]')
        assert row.locator("th").inner_text().strip() == name
        assert same_numbers(row.locator("td").inner_text().strip(), total, rel=1e-4, abs_=1e-6)
    shot("player-1-last-frame", root)


# --- OptimizerRace -----------------------------------------------------------------------------
_TRANSLATE = re.compile(r"translate\(\s*([-\d.e]+)[ ,]+([-\d.e]+)\s*\)")


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=2e-3, abs_tol=2e-3)


@dataclass
class RaceView:
    """What an OptimizerRace shows: per optimizer its path, marker and position text."""

    index: int
    points: list[list[tuple[float, float]]]
    markers: list[tuple[float, float] | None]
    positions: list[str]
    cursor: str


def race_view(root: Locator) -> RaceView:
    def points(text: str) -> list[tuple[float, float]]:
        out = []
        for p in text.split():
            x, y = p.split(",")
            out.append((float(x), float(y)))
        return out

    def marker(transform: str) -> tuple[float, float] | None:
        m = _TRANSLATE.search(transform)
        return (float(m.group(1)), float(m.group(2))) if m else None

    return RaceView(
        index=int(attr(root, "data-index")),
        points=[points(p or "") for p in root.locator("polyline.tv-path").evaluate_all(
            "ps => ps.map(p => p.getAttribute('points'))")],
        markers=[marker(t or "") for t in root.locator("path.tv-head").evaluate_all(
            "hs => hs.map(h => h.getAttribute('transform'))")],
        positions=root.locator("table.tv-race-table td.tv-pos").all_inner_texts(),
        cursor=attr(root.locator("line.tv-cursor").first, "x1"),
    )  # fmt: skip


def check_step(root: Locator, race: Any | None, series: int, i: int) -> RaceView:
    """The race shows step ``i``: paths cut there, each marker on its path's end, and (with
    ``race``) the positions of ``race.paths``."""
    view = race_view(root)
    assert view.index == i
    assert len(view.points) == series and len(view.markers) == series
    for k in range(series):
        pts, marker = view.points[k], view.markers[k]
        assert 1 <= len(pts) <= i + 1, f"path {k} at step {i}: {len(pts)} points"
        assert marker is not None, f"marker {k} is not placed"
        assert _close(marker[0], pts[-1][0]) and _close(marker[1], pts[-1][1]), (marker, pts[-1])
    if race is not None:
        for k, path in enumerate(race.paths.values()):
            assert len(view.points[k]) == i + 1, f"path {k}: {len(view.points[k])} points"
            x, y = (float(v) for v in _NUMBER.findall(view.positions[k]))
            assert _close(x, float(path[i][0])) and _close(y, float(path[i][1])), (
                view.positions[k],
                path[i],
            )
    return view


def check_race(
    page: Page, root: Locator, race: Any | None, *, shot: Shot, play_to_end: bool = True
) -> None:
    """Click through an OptimizerRace: paths drawn, the slider moves the markers, Play plays.

    With ``race`` (the Python object) the positions in the table and the points of the paths
    are compared with ``race.paths``; without it (a notebook's race) the drawing is checked
    for consistency.  ``play_to_end=False``: play a few steps, then pause.
    """
    scroll_to(root)
    wait_attr(page, root, "data-index", "0")
    series = root.locator("table.tv-race-table tr[data-series]").count()
    steps = int(attr(root.locator("input.tv-slider"), "max"))
    assert series >= 1 and steps >= 4, (series, steps)
    if race is not None:
        assert (series, steps) == (len(race.paths), race.steps)
    start = check_step(root, race, series, 0)
    shot("race-0-start", root)

    # the last step: every path drawn in full
    root.locator("button.tv-last").click()
    wait_attr(page, root, "data-index", str(steps))
    end = check_step(root, race, series, steps)
    paths = root.locator("polyline.tv-path")
    for k in range(series):
        assert len(end.points[k]) > 1, f"path {k} is not drawn"
        box = paths.nth(k).bounding_box()
        assert box is not None and (box["width"] > 1 or box["height"] > 1), f"path {k}: {box}"
    assert end.markers != start.markers, "the markers did not move"
    shot("race-1-last-step", root)

    # drag the slider back to a third: the markers move back along the paths
    slider = root.locator("input.tv-slider")
    box = slider.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 0.95 * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 3, y, steps=8)
    page.mouse.up()
    mid = check_step(root, race, series, int(attr(root, "data-index")))
    assert abs(mid.index - steps / 3) <= steps / 8 + 1, f"the slider at 1/3 shows {mid.index}"
    assert any(m != e for m, e in zip(mid.markers, end.markers, strict=True)), "no marker moved"
    assert mid.cursor != end.cursor, "the loss plot's cursor did not move"
    shot("race-2-slider", root)

    if play_to_end:
        play_to_the_end(page, root, steps)
        check_step(root, race, series, steps)
    else:  # play a few steps, then pause
        root.locator("button.tv-first").click()
        wait_attr(page, root, "data-index", "0")
        play = play_at_fastest(page, root)
        page.wait_for_function(
            "el => +el.dataset.index >= 5", arg=root.element_handle(), timeout=TIMEOUT_MS
        )
        play.click()
        assert attr(play, "aria-pressed") == "false"
        paused = int(attr(root, "data-index"))
        page.wait_for_timeout(300)
        assert int(attr(root, "data-index")) == paused, "Pause did not stop the race"
        assert recorded(root) == list(range(paused + 1))
        check_step(root, race, series, paused)
