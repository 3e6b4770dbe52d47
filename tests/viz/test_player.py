"""SweepPlayer: frames and adjoints of the reference documents' tapes, and the widget itself.

The frames are checked against the tape: forward frames in recording order, reverse frames
in the order of the sweep (reverse recording order), formulas taken from the record, and the
adjoints of the last frame equal to what ``tape.gradient`` returned, bit for bit.  The widget
is constructed and stepped without a browser; one test opens the saved HTML page in headless
Chromium (marked ``browser``).
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tapeviz as tf
from tapeviz.graph import Record
from tapeviz.viz.player import Frame, SweepPlayer, build_frames


def final(frames: list[Frame]) -> Frame:
    return frames[-1]


def check_frames(tape: Any, sources: dict[str, Any], grads: dict[str, Any]) -> list[Frame]:
    """The invariants every player must satisfy, for one tape after one gradient call."""
    rec = tape.record()
    frames = build_frames(rec)
    ops = [n.id for n in rec.nodes if n.kind == "op"]
    fwd = [f for f in frames if f.phase == "forward"]
    bwd = [f for f in frames if f.phase == "backward"]
    assert frames == fwd + bwd, "forward frames come first"
    assert [f.node for f in fwd] == ops  # recording order
    assert [f.node for f in bwd] == [s.node for s in rec.sweep]
    assert [f.formula for f in bwd] == [s.formula for s in rec.sweep]
    order = [f.node for f in bwd]
    assert order == sorted(order, reverse=True), "reverse frames visit ops in reverse order"
    assert all(f.adjoints == {} for f in fwd)
    last = final(frames).adjoints
    for name, var in sources.items():
        node = rec.find(name).id if isinstance(name, str) and not name.isdigit() else int(name)
        np.testing.assert_array_equal(last[node], np.asarray(grads[name]))
        assert np.asarray(last[node]).dtype == np.asarray(grads[name]).dtype
        del var
    # every adjoint the sweep computed, not just the sources'
    assert set(last) == set(rec.gradients)
    for i, g in rec.gradients.items():
        np.testing.assert_array_equal(last[i], g)
    # adjoints only grow: a frame keeps every adjoint of the frame before
    for before, after in itertools.pairwise(bwd):
        assert set(before.adjoints) <= set(after.adjoints)
    return frames


# --- document 000 ----------------------------------------------------------------------------
def test_doc000_square() -> None:
    x = tf.Variable(initial_value=3.0, name="x")
    with tf.GradientTape() as tape:
        y = tf.square(x)
    y_grad = tape.gradient(y, x)
    frames = check_frames(tape, {"x": x}, {"x": y_grad.numpy()})
    assert [(f.phase, f.formula) for f in frames] == [  # y: the name the code bound
        ("forward", "y = x² = 9"),
        ("backward", "∂L/∂x += ∂L/∂y · 2·x = 1 · 2·3 = 6"),
    ]
    assert frames[-1].accumulation == {1: "∂L/∂y = 1 (seed)", 0: "∂L/∂x = 6"}


def test_doc000_linear_regression() -> None:
    X = tf.constant([[1.0, 2.0], [3.0, 4.0]], name="X")
    y = tf.constant([[1.0], [2.0]])
    w = tf.Variable(initial_value=[[1.0], [2.0]], name="w")
    b = tf.Variable(initial_value=1.0, name="b")
    with tf.GradientTape() as tape:
        L = tf.reduce_sum(tf.square(tf.matmul(X, w) + b - y))
    w_grad, b_grad = tape.gradient(L, [w, b])
    frames = check_frames(tape, {"w": w, "b": b}, {"w": w_grad.numpy(), "b": b_grad.numpy()})
    assert len(frames) == 10
    assert frames[0].formula == "t2 = X @ w = [[5],[11]]"
    assert frames[4].formula == "L = reduce_sum(t7) = 125"
    assert frames[-1].formula == "∂L/∂w += Xᵀ · ∂L/∂t2 = [[1,3],[2,4]] · [[10],[20]] = [[70],[100]]"
    np.testing.assert_array_equal(frames[-1].adjoints[1], [[70.0], [100.0]])
    assert frames[-1].adjoints[3] == 30.0
    # the reverse step through matmul highlights the edge from w only (X is a constant)
    assert frames[-1].edges == ((1, 2, 1),)
    assert frames[-2].updated == (2, 3)  # add sends to t2 and b


# --- document 001 ----------------------------------------------------------------------------
def g(x1: Any, x2: Any) -> Any:
    return (x1 + 5) * (x2**2)


def test_doc001_persistent_two_sources() -> None:
    x1 = tf.Variable(2.0, name="x1")
    x2 = tf.Variable(3.0, name="x2")
    with tf.GradientTape(persistent=True) as tape:
        z = g(x1, x2)
    dz = tape.gradient(z, [x1, x2])
    assert [float(d) for d in dz] == [9.0, 42.0]
    check_frames(tape, {"x1": x1, "x2": x2}, {"x1": dz[0].numpy(), "x2": dz[1].numpy()})


def test_doc001_watched_constants() -> None:
    x1 = tf.constant(2.0)
    x2 = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x1)
        tape.watch(x2)
        z = g(x1, x2)
    dz = tape.gradient(z, [x1, x2])
    rec = tape.record()
    ids = {str(i): i for i in rec.sources}
    frames = check_frames(
        tape,
        {str(rec.sources[0]): x1, str(rec.sources[1]): x2},
        {str(rec.sources[0]): dz[0].numpy(), str(rec.sources[1]): dz[1].numpy()},
    )
    assert [float(frames[-1].adjoints[i]) for i in ids.values()] == [9.0, 42.0]


def test_doc001_list_target_has_two_seeds() -> None:
    x = tf.Variable(5.0, name="x")
    with tf.GradientTape() as tape:
        z1 = 3 * x
        z2 = x**2
    dx = tape.gradient([z1, z2], x)
    assert float(dx) == 13.0
    frames = check_frames(tape, {"x": x}, {"x": dx.numpy()})
    rec = tape.record()
    first = next(f for f in frames if f.phase == "backward")
    for t in rec.targets:  # both targets start at 1
        assert first.adjoints[t] == 1.0
        assert first.accumulation[t].endswith("= 1 (seed)")
    x_id = rec.find("x").id
    assert frames[-1].accumulation[x_id] in ("∂L/∂x = 10 + 3 = 13", "∂L/∂x = 3 + 10 = 13")


def test_doc001_second_order_outer_tape() -> None:
    x1 = tf.Variable(2.0, name="x1")
    x2 = tf.Variable(3.0, name="x2")
    with tf.GradientTape(persistent=True) as outer:
        with tf.GradientTape(persistent=True) as inner:
            z = g(x1, x2)
        inner_grads = inner.gradient(z, [x1, x2])
    outer_grads = outer.gradient(inner_grads, [x1, x2])
    assert [float(v) for v in outer_grads] == [6.0, 20.0]
    frames = check_frames(
        outer, {"x1": x1, "x2": x2}, {"x1": outer_grads[0].numpy(), "x2": outer_grads[1].numpy()}
    )
    player = SweepPlayer(outer)
    assert len(player.frames) == len(frames)


# --- document 002 ----------------------------------------------------------------------------
def test_doc002_quadratic_with_watched_constants() -> None:
    x = tf.Variable(0.0, name="x", dtype=tf.float32)
    a = tf.constant(1.0, name="a")
    b = tf.constant(-2.0, name="b")
    c = tf.constant(1.0, name="c")
    with tf.GradientTape() as tape:
        tape.watch([a, b, c])
        y = a * x**2 + b * x + c
    dy_dx, dy_da, dy_db, dy_dc = tape.gradient(y, [x, a, b, c])
    frames = check_frames(
        tape,
        {"x": x, "a": a, "b": b, "c": c},
        {"x": dy_dx.numpy(), "a": dy_da.numpy(), "b": dy_db.numpy(), "c": dy_dc.numpy()},
    )
    rec = tape.record()
    assert float(frames[-1].adjoints[rec.find("x").id]) == -2.0
    assert float(frames[-1].adjoints[rec.find("c").id]) == 1.0


# --- document 003: fan-out ---------------------------------------------------------------------
def test_doc003_cubic_fan_out_is_summed_explicitly() -> None:
    x = tf.Variable(3.0, trainable=True, name="x")
    with tf.GradientTape() as tape:
        y = x**3 + x**2 + x + 5
    dx = tape.gradient(y, x)
    assert float(dx) == 34.0
    frames = check_frames(tape, {"x": x}, {"x": dx.numpy()})
    x_id = tape.record().find("x").id
    sums = [f.accumulation[x_id] for f in frames if x_id in f.accumulation]
    assert sums == ["∂L/∂x = 1", "∂L/∂x = 1", "∂L/∂x = 1 + 6 = 7", "∂L/∂x = 1 + 6 + 27 = 34"]
    # x reaches three ops: three reverse frames update it
    assert sum(x_id in f.updated for f in frames) == 3


def test_negative_parts_of_a_sum_are_subtracted() -> None:
    """A fan-out sum reads "7.38906 − 0.909297 = 6.47976", not "+ -0.909297"."""
    x = tf.Variable(2.0, name="x")
    with tf.GradientTape() as tape:
        y = tf.cos(x) + tf.exp(x)
    dx = tape.gradient(y, x)
    frames = check_frames(tape, {"x": x}, {"x": dx.numpy()})
    assert frames[-1].accumulation[0] == "∂L/∂x = 7.38906 − 0.909297 = 6.47976"
    # the player still says that x fans out, and its table shows the sum
    player = SweepPlayer(tape)
    last = player._frames[-1]
    assert "x feeds more than one op" in last["note"]
    assert [r["sum"] for r in last["set"] if r["id"] == 0] == ["7.38906 − 0.909297 = 6.47976"]
    # arrays keep "+ [..]": the sign is inside the brackets
    v = tf.Variable([1.0, -2.0], name="v")
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.cos(v) + tf.exp(v))
    tape.gradient(y, v)
    text = build_frames(tape.record())[-1].accumulation[0]
    assert text == "∂L/∂v = [2.71828,0.135335] + [-0.841471,0.909297] = [1.87681,1.04463]"


def test_docstring_names_the_classes_the_front_end_sets() -> None:
    """The DOM hooks of player.py's docstring are the classes player.js really toggles."""
    from tapeviz.viz import player, static

    doc = player.__doc__ or ""
    hooks = doc[doc.index("In the graph,") :]
    named = set(re.findall(r"``(tv-[a-z-]+)``", hooks))
    assert {"tv-highlight", "tv-pending", "tv-updated"} <= named
    assert "tv-current" not in named and "tv-active" not in named
    js = static.asset("player.js")
    for cls in named:
        assert f'"{cls}"' in js, f"player.py's docstring names {cls}, which player.js never sets"


def test_repeated_input_contributions_add_up() -> None:
    """For x * x one op sends two contributions to x; the frame shows their sum."""
    x = tf.Variable(3.0, name="x")
    with tf.GradientTape() as tape:
        y = x * x
    dx = tape.gradient(y, x)
    frames = check_frames(tape, {"x": x}, {"x": dx.numpy()})
    assert float(frames[-1].adjoints[0]) == float(dx) == 6.0


# --- other records -------------------------------------------------------------------------------
def test_without_gradient_only_forward_frames() -> None:
    x = tf.Variable(3.0, name="x")
    with tf.GradientTape() as tape:
        tf.exp(tf.sin(x))
    frames = build_frames(tape.record())
    assert [f.phase for f in frames] == ["forward", "forward"]
    assert frames[0].formula == "t1 = sin(x) = 0.14112"


def test_record_from_json() -> None:
    x = tf.Variable(3.0, name="x")
    with tf.GradientTape() as tape:
        y = x**3 + x
    tape.gradient(y, x)
    rec = Record.from_json(tape.record().to_json())
    player = SweepPlayer(rec)
    assert float(player.frames[-1].adjoints[0]) == 28.0


def test_empty_tape_is_an_error() -> None:
    with tf.GradientTape() as tape:
        pass
    with pytest.raises(ValueError, match="nothing to step through"):
        SweepPlayer(tape)
    with pytest.raises(TypeError, match="GradientTape or its record"):
        SweepPlayer(42)


# --- the widget, without a browser ------------------------------------------------------------
@pytest.fixture
def linreg_player() -> SweepPlayer:
    X = tf.constant([[1.0, 2.0], [3.0, 4.0]], name="X")
    w = tf.Variable([[1.0], [2.0]], name="w")
    b = tf.Variable(1.0, name="b")
    with tf.GradientTape() as tape:
        L = tf.reduce_sum(tf.square(X @ w + b - tf.constant([[1.0], [2.0]])))
    tape.gradient(L, [w, b])
    return SweepPlayer(tape)


def test_widget_index_and_steps(linreg_player: SweepPlayer) -> None:
    p = linreg_player
    assert p.index == 0 and p.frame.phase == "forward"
    assert p.step().node == 4
    p.index = 7
    assert p.frame.phase == "backward" and p.frame.node == 6
    p.index = 1000
    assert p.index == len(p.frames) - 1
    p.index = -3
    assert p.index == 0
    assert p.step(-1) is p.frames[0]
    assert repr(p) == ("<tv.viz.SweepPlayer: 10 frames (5 forward, 5 backward), showing frame 1>")


def test_widget_state_is_json_and_names_svg_ids(linreg_player: SweepPlayer) -> None:
    p = linreg_player
    state = {k: getattr(p, k) for k in ("_svg", "_nodes", "_edges", "_frames")}
    json.dumps(state)  # syncable
    svg = p._svg
    assert svg.startswith("<svg")  # no XML prolog / DOCTYPE (inlined in HTML)
    for node in p._nodes:
        assert f'id="{node["box"]}"' in svg
        if node["circle"]:
            assert f'id="{node["circle"]}"' in svg
    svg_ids = set(re.findall(r'id="([^"]+)"', svg.replace("&#45;", "-")))
    for frame in p._frames:
        assert set(frame["edges"]) <= svg_ids
    assert "v2-grad-caption" in svg_ids  # the "grad" caption can be hidden with its cell
    last = p._frames[-1]
    assert last["edges"] == ["e1-2-1", "o2"]


def test_frame_svg_restyles_without_moving(linreg_player: SweepPlayer) -> None:
    p = linreg_player
    geometry = re.compile(r'\s(?:points|d|cx|cy|x|y)="[^"]*"')
    base = geometry.findall(p._svg)
    for k in range(len(p.frames)):
        assert geometry.findall(p.frame_svg(k)) == base  # nothing moves
    first = p.frame_svg(0)
    assert re.search(r'<g id="n4" class="[^"]*tv-pending', first)  # add not evaluated yet
    assert re.search(r'<g id="v2" class="[^"]*tv-highlight', first)
    assert re.search(r'<g id="v2-grad" class="[^"]*tv-hidden', first)
    mid = p.frame_svg(6)  # reverse step 2: through x², t7's adjoint is [[1],[1]]
    assert re.search(r'<g id="n7" class="[^"]*tv-highlight', mid)
    assert re.search(r'<g id="n8-step" class="tv-cell tv-cell-step"', mid)
    assert re.search(r'<g id="n2-step" class="[^"]*tv-hidden', mid)
    last = p.frame_svg()
    w_grad = r'<g id="n1-grad" class="tv-cell tv-cell-grad">\n<text[^>]*>\[\[\s70\],</text>'
    assert re.search(w_grad, last)
    assert re.search(r'<g id="n1-grad" class="[^"]*tv-hidden', p.frame_svg(8))


def test_play_widget_is_linked_in_the_browser(linreg_player: SweepPlayer) -> None:
    import ipywidgets

    play = linreg_player.play_widget()
    assert isinstance(play, ipywidgets.Play)
    assert (play.min, play.max, play.interval) == (0, 9, 1000)
    assert play.link.source == (play, "value")
    assert play.link.target == (linreg_player, "index")


def test_mimebundle_has_widget_and_static_fallback(linreg_player: SweepPlayer) -> None:
    data, _meta = linreg_player._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"].startswith("<tv.viz.SweepPlayer")
    html = data["text/html"]
    assert (
        "<svg" in html
        and "∂L/∂w += Xᵀ · ∂L/∂t2 = [[1,3],[2,4]] · [[10],[20]] = [[70],[100]]" in html
    )
    assert 'data-current-node="2"' in html
    assert "[[70],[100]]" in html  # the adjoint table of the last frame


EXTERNAL = re.compile(r"""(?:https?:|ftp:)?//[^\s"'<>)]+""")
NAMESPACES = {"//www.w3.org/2000/svg", "//www.w3.org/1999/xlink"}


def external_urls(text: str) -> list[str]:
    """URLs in a page other than the SVG/XLink namespace names (which are never fetched);
    ``data:`` URIs (an image inlined in an SVG) are content, not addresses."""
    found = []
    for m in EXTERNAL.finditer(
        re.sub(r"data:[\w/+.-]+;base64,(?:[A-Za-z0-9+/=\s]|\\n)+", "", text)
    ):
        url = m.group(0).rstrip("\\")
        if url.split(":", 1)[-1] in NAMESPACES or url in NAMESPACES:
            continue
        found.append(url)
    return found


def test_save_html_is_self_contained(linreg_player: SweepPlayer, tmp_path: Path) -> None:
    out = linreg_player.save_html(tmp_path / "sweep.html")
    page = out.read_text(encoding="utf-8")
    assert external_urls(page) == []
    assert "<script src" not in page and "@import" not in page and "<link" not in page
    assert "export default" not in page  # the module is inlined, not imported
    assert 'class="tv-player' in page  # the static picture for readers without scripts
    state = json.loads(
        re.search(
            r'<script type="application/json" id="tv-state">(.*?)</script>', page, re.S
        ).group(1)  # type: ignore[union-attr]
    )
    assert len(state["_frames"]) == 10


# --- in a browser ----------------------------------------------------------------------------
# Without Chromium or playwright these skip, except under CI (CI=true), where they fail: the
# rule of tests/browser/conftest.py, reused here.
from browser.conftest import CHROMIUM_ARGS, find_chromium, playwright_sync_api  # noqa: E402


@pytest.mark.browser
def test_saved_page_plays_in_chromium(linreg_player: SweepPlayer, tmp_path: Path) -> None:
    chromium = find_chromium()
    sync_api = playwright_sync_api()
    page_file = linreg_player.save_html(tmp_path / "sweep.html")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        root = page.locator(".tv-player")
        assert root.get_attribute("data-index") == "0"
        assert root.get_attribute("data-current-node") == "2"
        page.click("button.tv-step-forward")
        assert root.get_attribute("data-index") == "1"
        page.click("button.tv-last")
        assert root.get_attribute("data-phase") == "backward"
        assert root.get_attribute("data-current-node") == "2"
        assert "∂L/∂w = [[70],[100]]" in (root.get_attribute("data-adjoints") or "")
        assert (
            page.locator(".tv-formula").inner_text()
            == "∂L/∂w += Xᵀ · ∂L/∂t2 = [[1,3],[2,4]] · [[10],[20]] = [[70],[100]]"
        )
        # keyboard: focus the widget, Home, then Space plays
        root.focus()
        page.keyboard.press("Home")
        assert root.get_attribute("data-index") == "0"
        page.select_option("select.tv-speed", "30")
        page.click("button.tv-play")
        assert page.locator("button.tv-play").get_attribute("aria-pressed") == "true"
        page.wait_for_function(
            "document.querySelector('.tv-player').dataset.index === '9'", timeout=5000
        )
        assert page.locator("button.tv-play").get_attribute("aria-pressed") == "false"
        browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:", "blob:"))] == []


def _rgb(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _pending_edges(svg: str) -> set[str]:
    return {
        m.group(1)
        for m in re.finditer(r'<g id="([^"]+)" class="([^"]*)"', svg)
        if "tv-edge" in m.group(2).replace("&#45;", "-") and "tv-pending" in m.group(2)
    }


def _text_px(graph: Any) -> list[float]:
    """On-screen size of every text of the graph: font size times the scale on screen."""
    return list(
        graph.locator("svg text").evaluate_all(
            "ts => ts.map(t => parseFloat(t.getAttribute('font-size')) * t.getScreenCTM().a)"
        )
    )


def _in_view(element: Any) -> bool:
    """Whether an element of the graph lies within the graph's view (its viewport box)."""
    return bool(
        element.evaluate(
            """e => { const g = e.closest("div.tv-graph").getBoundingClientRect();
                      const r = e.getBoundingClientRect();
                      return r.left >= g.left && r.right <= g.right
                          && r.top >= g.top && r.bottom <= g.bottom; }"""
        )
    )


def _wait_zoom(page: Any, percent: str) -> None:
    """Wait until the player shows the zoom ``percent`` (zooming is animated)."""
    page.wait_for_function(
        "z => document.querySelector('.tv-player').dataset.zoom === z", arg=percent, timeout=3000
    )


def _whole_graph_in_view(graph: Any) -> bool:
    return _in_view(graph.locator("svg.tv-svg > g").first)  # the graph, not an icon


@pytest.mark.browser
def test_wide_graph_fits_and_nodes_are_found_by_id(tmp_path: Path) -> None:
    """A graph larger than its view is shown at a readable size, zoomed and moved, and
    follows the step; record ids need not be list positions."""
    from tapeviz.viz import static, theme

    x = tf.Variable(1.5, name="x")
    with tf.GradientTape() as tape:
        y = x
        for _ in range(6):
            y = tf.sin(y) * 2.0 + x
    tape.gradient(y, x)
    player = SweepPlayer(tape, rankdir="LR")  # a chain laid out left to right: wide
    state = {
        "index": 0,
        "fps": 30.0,
        "_svg": player._svg,
        "_nodes": list(reversed(player._nodes)),  # not in id order: looked up by id
        "_edges": player._edges,
        "_frames": player._frames,
        "_text": player._text,
    }
    page_file = static.write_html(
        tmp_path / "wide.html", title="wide", module=static.esm("player.js"), state=state,
        fallback=player.static_html(),
    )  # fmt: skip
    chromium = find_chromium()
    sync_api = playwright_sync_api()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 700, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        graph = page.locator(".tv-player div.tv-graph")
        root = page.locator(".tv-player")
        # starts at the readable size: the smallest text 14.5 px on screen, the view
        # clipped to its box (no scroll bars), the whole graph not in view
        assert root.get_attribute("data-zoom") == "100"
        assert graph.evaluate("g => g.scrollWidth <= g.clientWidth")
        assert min(_text_px(graph)) == pytest.approx(14.5, abs=0.05)
        assert not _whole_graph_in_view(graph), "the test needs a graph larger than its view"
        # every frame fades the edges of the ops not evaluated yet, as frame_svg does
        for k in range(len(player.frames)):
            if k:
                page.click("button.tv-step-forward")
            shown = set(
                page.eval_on_selector_all(
                    ".tv-graph .tv-edge.tv-pending", "els => els.map(e => e.id)"
                )
            )
            assert shown == _pending_edges(player.frame_svg(k)), f"frame {k}"
        # the theme's rules reach the op's circle inside its tooltip link, not the step badge
        node = player.frames[-1].node
        circle = page.locator(f"#n{node} ellipse")
        assert circle.evaluate("e => getComputedStyle(e).fill") == _rgb(theme.HIGHLIGHT.fill)
        assert circle.evaluate("e => getComputedStyle(e).stroke") == _rgb(theme.HIGHLIGHT.stroke)
        badge = page.locator(f"#n{node}-step path")
        assert badge.evaluate("e => getComputedStyle(e).fill") == _rgb(theme.STEP.fill)
        visited = player.frames[-2].node
        assert page.locator(f"#n{visited} ellipse").evaluate(
            "e => getComputedStyle(e).stroke"
        ) == _rgb(theme.GRADIENT)
        # each step brings its op into view (looked up by id)
        page.click("button.tv-first")
        n_forward = sum(f.phase == "forward" for f in player.frames)
        for k in range(1, len(player.frames)):
            page.click("button.tv-step-forward")
            current = page.locator(f"#n{player.frames[k].node} ellipse")
            assert _in_view(current), f"frame {k}: the current op is not in view"
        assert _in_view(page.locator(f"#n{player.frames[n_forward - 1].node} ellipse")) is False
        # zoom: out, the whole graph, back to the readable size; Ctrl + wheel; drag
        page.click("button.tv-zoom-out")
        _wait_zoom(page, "80")
        page.click("button.tv-zoom-fit")
        page.wait_for_function("document.querySelector('.tv-player').dataset.zoom < 80")
        page.wait_for_timeout(400)  # the animation ends
        assert _whole_graph_in_view(graph)
        page.click("button.tv-zoom-reset")
        _wait_zoom(page, "100")
        assert _in_view(page.locator(f"#n{player.frames[-1].node} ellipse"))
        box = graph.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.keyboard.down("Control")
        page.mouse.wheel(0, -150)
        page.keyboard.up("Control")
        assert int(root.get_attribute("data-zoom") or "0") > 100
        before = graph.locator("svg").get_attribute("viewBox")
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 + 30)
        page.mouse.up()
        after = graph.locator("svg").get_attribute("viewBox")
        dx = float(before.split()[0]) - float(after.split()[0])  # type: ignore[union-attr]
        scale = int(root.get_attribute("data-zoom") or "0") / 100 * 14.5 / min(
            float(t) for t in graph.locator("svg text").evaluate_all(
                "ts => ts.map(t => t.getAttribute('font-size'))")
        )  # fmt: skip
        assert dx == pytest.approx(60 / scale, rel=0.02), "a drag moves the graph with the mouse"
        # the keys of the widget: + zooms in, 0 back to the readable size
        root.focus()
        page.keyboard.press("0")
        _wait_zoom(page, "100")
        page.keyboard.press("+")
        _wait_zoom(page, "125")
        # the static picture (no scripts) is styled by the same rules
        page.set_content(player.static_html())
        circle = page.locator(f".tv-static #n{node} ellipse")
        assert circle.evaluate("e => getComputedStyle(e).fill") == _rgb(theme.HIGHLIGHT.fill)
        browser.close()
    assert errors == []


def test_widgets_read_only_the_public_record() -> None:
    """The widget modules import nothing from the engine but the record and public names."""
    import ast

    root = Path(tf.__file__).parent / "viz"
    for name in ("player.py", "trajectories.py", "static.py", "surfaces.py"):
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 2:  # tapeviz.<module>
                assert node.module == "graph", f"{name} imports tapeviz.{node.module}"
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert not node.module.startswith("tapeviz."), f"{name}: {node.module}"
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("tapeviz", "tv")
            ):
                assert not node.attr.startswith("_"), f"{name} uses tapeviz.{node.attr}"
