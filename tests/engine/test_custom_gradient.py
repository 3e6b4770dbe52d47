"""``tv.custom_gradient``: Variables inside it under outer tapes, numpy and tensor sweeps
agreeing, and second derivatives through it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.graph import Record

from .sweeps import F64, summary, values


# --- custom_gradient -----------------------------------------------------------------------------
def test_custom_gradient_with_a_variable_inside_outer_tapes() -> None:
    w = tv.Variable(2.0, dtype=F64, name="w")

    @tv.custom_gradient
    def f(a: tv.Tensor) -> Any:
        out = a * w

        def grad_fn(dy: tv.Tensor, variables: Any = None) -> Any:
            return dy * w * 10.0, [dy * a]  # deliberately not the true gradient in a

        return out, grad_fn

    x = tv.Variable(3.0, dtype=F64, name="x")
    with tv.GradientTape(persistent=True) as outer:
        with tv.GradientTape(persistent=True) as inner:
            z = f(x * x)
        gx, gw = inner.gradient(z, [x, w])
    assert float(gx) == 2 * 3.0 * 2.0 * 10.0  # da/dx · w · 10
    assert float(gw) == 9.0  # dy · a
    ox, ow = outer.gradient(gx, [x, w])  # gx = 20 w x
    assert (float(ox), float(ow)) == (40.0, 60.0)
    rec = inner.record()
    step = rec.sweep[0]
    assert rec.nodes[step.node].op == "custom_gradient"
    assert sorted((k, v.tolist()) for k, v in step.contributions.items()) == [(1, 20.0), (2, 9.0)]
    # a second gradient from the persistent inner tape gives the same numbers again
    assert values(inner.gradient(z, [x, w])) == [120.0, 9.0]


def test_custom_gradient_without_variables_numpy_and_tensor_sweeps_agree() -> None:
    calls: list[float] = []

    @tv.custom_gradient
    def softclip(t: tv.Tensor) -> Any:
        def grad_fn(dy: tv.Tensor) -> tv.Tensor:
            calls.append(float(tv.reduce_sum(dy)))
            return dy * (1.0 - tv.tanh(t) ** 2)

        return tv.tanh(t), grad_fn

    def run(outer: bool) -> tuple[Any, Record]:
        x = tv.Variable([0.3, -0.7], dtype=F64, name="x")
        ctx = tv.GradientTape() if outer else None
        if ctx is not None:
            ctx.__enter__()
        with tv.GradientTape() as tape:
            y = tv.reduce_sum(softclip(x * 2.0) * x)
        g = tape.gradient(y, x)
        if ctx is not None:
            ctx.__exit__(None, None, None)
        return g, tape.record()

    g1, r1 = run(False)
    g2, r2 = run(True)
    x0 = np.array([0.3, -0.7])
    want = np.tanh(2 * x0) + x0 * 2 * (1 - np.tanh(2 * x0) ** 2)
    np.testing.assert_allclose(g1.numpy(), want, rtol=1e-14)
    np.testing.assert_array_equal(g1.numpy(), g2.numpy())
    assert summary(r1)[1:] == summary(r2)[1:]
    assert len(calls) == 2  # once per sweep; the records did not call grad_fn again


def test_second_derivative_through_a_custom_gradient_under_an_outer_tape() -> None:
    @tv.custom_gradient
    def cube(t: tv.Tensor) -> Any:
        def grad_fn(dy: tv.Tensor) -> tv.Tensor:
            return dy * 3.0 * t * t

        return t * t * t, grad_fn

    x = tv.Variable(1.5, dtype=F64)
    with tv.GradientTape() as outer:
        with tv.GradientTape() as inner:
            y = cube(x) * x  # x^4
        g = inner.gradient(y, x)
    h = outer.gradient(g, x)
    assert float(g) == pytest.approx(4 * 1.5**3, rel=1e-15)
    assert float(h) == pytest.approx(12 * 1.5**2, rel=1e-15)
