"""What a tape watches: op outputs watched explicitly, tensors watched after their use, the
"sources cover the watched tensors" shortcut against an explicit walk, targets that are
their own sources, fan-out, and the record of watched Variables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.graph import Record

from .sweeps import F64, fd, values


# --- watched op outputs and tensors watched after their use --------------------------------------
def _watched_intermediate(outer: bool) -> tuple[list[Any], Record]:
    ctx = tv.GradientTape() if outer else None
    if ctx is not None:
        ctx.__enter__()
    try:
        x = tv.constant(2.0, dtype=F64)
        with tv.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = x * x
            tape.watch(y)  # an op output, watched explicitly (as TF allows)
            z = y * 3.0 + y
        grads = values([tape.gradient(z, y), *tape.gradient(z, [x, y])])
        return grads, tape.record()
    finally:
        if ctx is not None:
            ctx.__exit__(None, None, None)


def test_an_explicitly_watched_op_output_under_an_outer_tape() -> None:
    # the tensor-mode sweep keeps every adjoint: dz/dy = 4, dz/dx = 4 · 2x = 16
    grads, rec = _watched_intermediate(outer=True)
    assert grads == [4.0, 16.0, 4.0]
    y_node = rec.nodes[1]
    assert y_node.op == "multiply" and y_node.watched
    assert rec.gradients[y_node.id].tolist() == 4.0


def test_an_explicitly_watched_op_output_gets_its_gradient() -> None:
    grads, _ = _watched_intermediate(outer=False)
    assert grads == [4.0, 16.0, 4.0]


def test_an_op_output_source_that_is_not_watched_keeps_its_adjoint() -> None:
    x = tv.Variable(1.5, dtype=F64)
    with tv.GradientTape(persistent=True) as tape:
        y = tv.exp(x)
        z = y * y + tv.sin(y)
    gy, gx = tape.gradient(z, [y, x])
    e = np.exp(1.5)
    np.testing.assert_allclose(float(gy), 2 * e + np.cos(e), rtol=1e-14)
    np.testing.assert_allclose(float(gx), (2 * e + np.cos(e)) * e, rtol=1e-14)
    rec = tape.record()
    assert rec.sources == (1, 0)
    np.testing.assert_allclose(rec.gradients[1], 2 * e + np.cos(e), rtol=1e-14)
    # the target as its own source: exactly the seed
    assert float(tape.gradient(z, z)) == 1.0
    assert tape.gradient(y, [y, x, z])[2] is None  # z does not lead to y
    np.testing.assert_allclose(values(tape.gradient(y, [y, x])), [1.0, e], rtol=1e-14)


def _late_watch(op: Callable[[Any, Any], Any], sources: str) -> list[Any]:
    v = tv.Variable(2.0, dtype=F64, name="v")
    c = tv.constant(5.0, dtype=F64, name="c")
    with tv.GradientTape(persistent=True) as tape:
        y = op(v, c)  # recorded because v is watched; c is not watched yet
        tape.watch(c)  # ... but is when gradient runs: TF then differentiates by c too
    if sources == "both":
        return values(tape.gradient(y, [v, c]))
    return values([tape.gradient(y, c)])


def test_a_tensor_watched_after_its_use_gets_a_gradient_when_asked_alone() -> None:
    # TensorFlow (tape.h ComputeGradient): an input is "unneeded" only if it is neither on
    # the tensor tape (watched, at gradient time) nor a source
    assert _late_watch(lambda a, b: a * b, "c") == [2.0]
    assert _late_watch(lambda a, b: a + b, "c") == [1.0]
    assert _late_watch(lambda a, b: a + b, "both") == [1.0, 1.0]
    assert _late_watch(lambda a, b: a / b, "c") == [pytest.approx(-2.0 / 25.0, rel=1e-15)]


@pytest.mark.parametrize(
    ("op", "want"),
    [(lambda a, b: a * b, [5.0, 2.0]), (lambda a, b: a / b, [0.2, -2.0 / 25.0])],
    ids=["multiply", "divide"],
)
def test_a_tensor_watched_after_its_use_with_every_watched_source(
    op: Callable[[Any, Any], Any], want: list[float]
) -> None:
    assert _late_watch(op, "both") == pytest.approx(want, rel=1e-15)


def test_watching_after_use_does_not_reach_back_through_ops_recorded_without_it() -> None:
    # an op none of whose inputs was tracked when it ran is not on the tape at all
    c = tv.constant(3.0, dtype=F64)
    with tv.GradientTape() as tape:
        y = c * c  # nothing tracked: not recorded
        tape.watch(c)
        z = y * c
    assert tape.gradient(z, c).numpy() == 9.0  # only through the last op (y counts as constant)
    assert [n.op for n in tape.record().nodes if n.kind == "op"] == ["multiply"]


# --- the sources-cover-watched shortcut against an explicit walk ---------------------------------
def test_covered_and_uncovered_reach_agree_for_every_subset_of_sources() -> None:
    a = tv.Variable(0.5, dtype=F64, name="a")
    b = tv.Variable(-1.5, dtype=F64, name="b")
    c = tv.constant(2.0, dtype=F64, name="c")
    with tv.GradientTape(persistent=True) as tape:
        tape.watch(c)
        u = a * b
        v = u / c + tv.exp(b)
        w = v * v * a
    want = {
        "a": fd(lambda t: (t * -1.5 / 2.0 + np.exp(-1.5)) ** 2 * t, 0.5),
        "b": fd(lambda t: (0.5 * t / 2.0 + np.exp(t)) ** 2 * 0.5, -1.5),
        "c": fd(lambda t: (0.5 * -1.5 / t + np.exp(-1.5)) ** 2 * 0.5, 2.0),
    }
    named = {"a": a, "b": b, "c": c}
    import itertools

    for r in (1, 2, 3):
        for combo in itertools.permutations("abc", r):
            got = tape.gradient(w, [named[k] for k in combo])
            for k, g in zip(combo, got, strict=True):
                np.testing.assert_allclose(float(g), want[k], rtol=1e-8, err_msg=str(combo))
    # intermediate sources mixed in
    gu, ga = tape.gradient(w, [u, a])
    vv = 0.5 * -1.5 / 2.0 + np.exp(-1.5)
    np.testing.assert_allclose(float(gu), 2 * vv * 0.5 / 2.0, rtol=1e-14)
    np.testing.assert_allclose(float(ga), want["a"], rtol=1e-8)


def test_watch_accessed_variables_false_and_explicit_watch_of_a_variable() -> None:
    a = tv.Variable(2.0, dtype=F64, name="a")
    b = tv.Variable(3.0, dtype=F64, name="b")
    with tv.GradientTape(watch_accessed_variables=False, persistent=True) as tape:
        y = a * b  # nothing watched: not recorded
        tape.watch(b)
        z = a * b * y  # recorded with b only
    assert values(tape.gradient(z, [a, b])) == [None, 12.0]  # a·y, y a constant
    assert tape.gradient(z, b).numpy() == 12.0
    assert [n.name for n in tape.record().nodes if n.kind == "variable"] == ["b:0", "a:0"]
    assert tape.watched_variables() == (b,)


# --- targets that are sources, fan-out, and the record of watched Variables ----------------------
def test_targets_that_are_their_own_sources() -> None:
    v = tv.Variable(2.0, name="v")
    with tv.GradientTape(persistent=True) as tape:
        y = v * 3.0
    assert float(tape.gradient(v, v)) == 1.0
    assert float(tape.gradient([y, v], v)) == 4.0  # 3 + the seed of v itself
    assert float(tape.gradient(y, y)) == 1.0
    c = tv.constant([1.0, 2.0])
    with tv.GradientTape() as tape:
        tape.watch(c)
    assert tape.gradient(c, c).numpy().tolist() == [1.0, 1.0]
    rec = tape.record()
    assert rec.sweep == () and rec.sources == rec.targets == (0,)
    assert rec.gradients[0].tolist() == [1.0, 1.0]


def test_fan_out_of_one_source_into_many_ops() -> None:
    x = tv.Variable(1.5, dtype=F64, name="x")
    with tv.GradientTape() as tape:
        y = x * x + x * x * x + x / x + tv.sin(x) * x
    g = float(tape.gradient(y, x))
    assert g == pytest.approx(2 * 1.5 + 3 * 1.5**2 + np.cos(1.5) * 1.5 + np.sin(1.5), rel=1e-15)
    rec = tape.record()
    assert rec.gradients[0].tolist() == g
    # every contribution to x in the sweep adds up to its gradient
    total = sum(float(s.contributions[0]) for s in rec.sweep if 0 in s.contributions)
    assert total == pytest.approx(g, rel=1e-15)


def test_the_record_of_an_explicitly_watched_variable_keeps_the_recorded_value() -> None:
    v = tv.Variable(2.0, name="v")
    with tv.GradientTape(persistent=True) as tape:
        tape.watch(v)
        y = v * v
    v.assign(5.0)
    assert float(tape.gradient(y, v)) == 4.0  # the recorded value is used (TF)
    assert tape.record().find("v").value.tolist() == 2.0
