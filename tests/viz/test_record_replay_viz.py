"""Drawings and the step-through player on records whose sweep was replayed.

Since the numpy-mode sweep keeps no adjoints, ``tape.record()`` replays it; the drawing
(``tv.viz.graph``) and the player (``tv.viz.SweepPlayer``) read that record.  Here they must
show the numbers the sweep computed, be identical to the drawing of the same graph swept on
tensors under an outer tape (steps kept), and follow the latest of several sweeps of a
persistent tape.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import tapeviz as tv

F64 = "float64"


def _grad_cells(dot: str) -> dict[str, str]:
    """Each node id -> the text of its 'grad' cell in the DOT source."""
    cells = re.findall(r'ID="(\w+)-grad" HREF="#\w+-grad"><B><FONT [^>]*>([^<]*)</FONT>', dot)
    return dict(cells)


def _value_cells(dot: str) -> dict[str, str]:
    cells = re.findall(r'ID="(\w+)-value" HREF="#\w+-value"><FONT [^>]*>([^<]*)</FONT>', dot)
    return dict(cells)


def _tape(outer: bool) -> tuple[tv.GradientTape, list[Any]]:
    ctx = tv.GradientTape() if outer else None
    if ctx is not None:
        ctx.__enter__()
    try:
        x = tv.Variable(1.5, dtype=F64, name="x")
        w = tv.Variable(-0.5, dtype=F64, name="w")
        with tv.GradientTape() as tape:
            with tv.name_scope("layer"):
                h = tv.tanh(x * w + 0.25)
            L = h * h + tv.exp(w) / x
        grads = tape.gradient(L, [x, w])
    finally:
        if ctx is not None:
            ctx.__exit__(None, None, None)
    return tape, grads


def test_the_drawing_of_a_replayed_sweep_shows_the_gradients() -> None:
    tape, (gx, gw) = _tape(outer=False)
    xv, wv = 1.5, -0.5
    h = np.tanh(xv * wv + 0.25)
    want_x = 2 * h * (1 - h**2) * wv - np.exp(wv) / xv**2
    want_w = 2 * h * (1 - h**2) * xv + np.exp(wv) / xv
    np.testing.assert_allclose([float(gx), float(gw)], [want_x, want_w], rtol=1e-14)
    dot = tv.viz.graph(tape).source
    grads = _grad_cells(dot)
    values = _value_cells(dot)
    rec = tape.record()
    fmt = tv.graph.format_value
    assert grads["n0"] == fmt(rec.gradients[0]) == fmt(np.float64(want_x))
    w_id = rec.find("w").id
    assert grads[f"n{w_id}"] == fmt(np.float64(want_w))
    assert values["n0"] == "1.5" and values[f"n{w_id}"] == "-0.5"
    # every step of the sweep is in the drawing, with its formula
    for i, step in enumerate(rec.sweep, start=1):
        assert f"reverse sweep, step {i}: {step.formula}" in dot
    assert "layer" in dot  # the name scope's cluster


def test_replayed_and_kept_sweeps_draw_and_play_the_same() -> None:
    t1, g1 = _tape(outer=False)
    t2, g2 = _tape(outer=True)
    np.testing.assert_array_equal([float(g) for g in g1], [float(g) for g in g2])
    assert tv.viz.graph(t1).source == tv.viz.graph(t2).source
    f1, f2 = tv.viz.SweepPlayer(t1).frames, tv.viz.SweepPlayer(t2).frames
    assert len(f1) == len(f2) == 2 * sum(1 for n in t1.record().nodes if n.kind == "op")
    for a, b in zip(f1, f2, strict=True):
        assert (a.phase, a.node, a.formula, a.edges, a.updated) == (
            b.phase,
            b.node,
            b.formula,
            b.edges,
            b.updated,
        )
        assert a.accumulation == b.accumulation
        assert a.adjoints.keys() == b.adjoints.keys()
        for k in a.adjoints:
            np.testing.assert_array_equal(a.adjoints[k], b.adjoints[k])
    last = f1[-1].adjoints
    rec = t1.record()
    assert set(last) == set(rec.gradients)
    np.testing.assert_array_equal(last[0], g1[0].numpy())


def test_a_persistent_tape_draws_its_latest_sweep() -> None:
    x = tv.Variable([1.0, 2.0], dtype=F64, name="x")
    c = tv.constant(3.0, dtype=F64, name="c")
    with tv.GradientTape(persistent=True) as tape:
        tape.watch(c)
        y = tv.reduce_sum(x * x) * c
    tape.gradient(y, x)
    rec = tape.record()
    c_id, x_id = rec.find("c").id, rec.find("x").id
    assert (c_id, x_id) == (0, 1)  # c was watched before the first op
    first = _grad_cells(tv.viz.graph(tape).source)
    assert first[f"n{x_id}"] == "[6,12]"
    assert f"n{c_id}" not in first  # c is not a source of this sweep
    tape.gradient(y, c)
    second = _grad_cells(tv.viz.graph(tape).source)
    assert second[f"n{c_id}"] == "5"  # Σ x²
    assert f"n{x_id}" not in second  # x is not a source of this sweep, nor reached by it
    player = tv.viz.SweepPlayer(tape)
    assert player.frames[-1].adjoints[c_id] == 5.0
    assert x_id not in player.frames[-1].adjoints
    tape.gradient(y, [x, c])
    third = _grad_cells(tv.viz.graph(tape).source)
    assert third[f"n{x_id}"] == "[6,12]" and third[f"n{c_id}"] == "5"


def test_drawing_an_op_output_source_shows_its_kept_adjoint() -> None:
    x = tv.Variable(0.5, dtype=F64, name="x")
    with tv.GradientTape() as tape:
        y = tv.exp(x)
        z = y * 4.0
    gy, gx = tape.gradient(z, [y, x])
    assert float(gy) == 4.0
    np.testing.assert_allclose(float(gx), 4 * np.exp(0.5), rtol=1e-15)
    rec = tape.record()
    assert rec.gradients[1].tolist() == 4.0
    cells = _grad_cells(tv.viz.graph(tape).source)
    assert cells["v1"] == "4"
    frames = tv.viz.SweepPlayer(tape).frames
    assert frames[-1].adjoints[1] == 4.0


@pytest.mark.parametrize("outer", [False, True])
def test_player_frames_of_a_second_order_inner_tape(outer: bool) -> None:
    x = tv.Variable(2.0, dtype=F64, name="x")
    with tv.GradientTape() as t2:
        with tv.GradientTape() as t1:
            y = x * x * x
        g = t1.gradient(y, x)
    h = t2.gradient(g, x)
    assert (float(g), float(h)) == (12.0, 12.0)
    tape = t2 if outer else t1
    frames = tv.viz.SweepPlayer(tape).frames
    rec = tape.record()
    x_id = rec.node_of(x).id  # type: ignore[union-attr]
    assert frames[-1].adjoints[x_id] == 12.0  # 3x² and d(3x²)/dx = 6x at x = 2
    back = [f for f in frames if f.phase == "backward"]
    assert [f.formula for f in back] == [s.formula for s in rec.sweep]
    dot = tv.viz.graph(tape).source
    assert _grad_cells(dot)[f"n{x_id}"] == "12"
