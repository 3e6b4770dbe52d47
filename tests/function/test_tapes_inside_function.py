"""Gradient tapes inside ``tv.function`` (values revived as the tracer's placeholders):
persistent tapes, second order and non-scalar targets give the eager numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapeviz as tv

F64 = "float64"


# --- inside tv.function (values revived as the tracer's placeholders) ----------------------------
def _tape_battery(x: Any, w: Any, b: Any) -> tuple[Any, ...]:
    with tv.GradientTape(persistent=True) as tape:
        tape.watch(x)
        h = tv.tanh(x * w + b)
        L = tv.reduce_sum(h * h) + b**2.0
    g1 = tape.gradient(L, [w, b])
    g2 = tape.gradient(L, [x, h])
    g3 = tape.gradient(h, b, output_gradients=tv.constant(np.array([2.0, -1.0])))
    g4 = tape.gradient(L, [b, x, w])
    z = tape.gradient(b * 1.0, x, unconnected_gradients="zero")
    return (*g1, *g2, g3, *g4, z)


def test_a_persistent_tape_inside_tv_function_equals_eager() -> None:
    w = tv.Variable(np.array([0.5, -1.0]), name="w")
    b = tv.Variable(0.25, dtype=F64, name="b")
    x = tv.constant(np.array([1.5, 2.0]))
    eager = [g.numpy() for g in _tape_battery(x, w, b)]
    compiled = [g.numpy() for g in tv.function(_tape_battery)(x, w, b)]
    for e, c in zip(eager, compiled, strict=True):
        np.testing.assert_array_equal(e, c)
    # analytic check of the first gradient: dL/dw = Σ 2h(1-h²)x
    h = np.tanh(np.array([1.5, 2.0]) * np.array([0.5, -1.0]) + 0.25)
    np.testing.assert_allclose(eager[0], 2 * h * (1 - h**2) * np.array([1.5, 2.0]), rtol=1e-14)
    np.testing.assert_allclose(eager[1], np.sum(2 * h * (1 - h**2)) + 0.5, rtol=1e-14)


def test_second_order_inside_tv_function_equals_eager() -> None:
    w = tv.Variable(np.array([0.5, -1.0]), name="w")
    x = tv.constant(np.array([1.5, 2.0]))

    def body(x: Any) -> tuple[Any, Any]:
        with tv.GradientTape() as t2:
            with tv.GradientTape() as t1:
                y = tv.reduce_sum(tv.sin(x * w) * x)
            g = t1.gradient(y, w)
        return g, t2.gradient(g, w)

    g, h = body(x)
    x0, w0 = np.array([1.5, 2.0]), np.array([0.5, -1.0])
    np.testing.assert_allclose(g.numpy(), np.cos(x0 * w0) * x0**2, rtol=1e-14)
    np.testing.assert_allclose(h.numpy(), -np.sin(x0 * w0) * x0**3, rtol=1e-14)
    gc, hc = tv.function(body)(x)
    np.testing.assert_array_equal(gc.numpy(), g.numpy())
    np.testing.assert_array_equal(hc.numpy(), h.numpy())


NON_SCALAR_TARGETS: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda s, c: tv.sin(s) * c + c,  # ValueError: cannot reshape size 1 into (3,)
    "broadcast_to": lambda s, c: tv.broadcast_to(tv.sin(s), [3]),  # silently cos(s), not 3cos(s)
    "concat": lambda s, c: tv.concat([tv.reshape(s, [1]), tv.reshape(s * 2.0, [1])], axis=0),
    "matmul": lambda s, c: tv.matmul(tv.reshape(c, [3, 1]), tv.reshape(s * 1.0, [1, 1])),
}


@pytest.mark.parametrize("case", list(NON_SCALAR_TARGETS))
def test_non_scalar_targets_eagerly(case: str) -> None:
    s = tv.Variable(0.5, dtype=F64, name="s")
    c = tv.constant(np.array([1.0, 2.0, 3.0]))
    with tv.GradientTape() as tape:
        y = NON_SCALAR_TARGETS[case](s, c)
    want = {"add": 6 * np.cos(0.5), "broadcast_to": 3 * np.cos(0.5), "concat": 3.0, "matmul": 6.0}
    np.testing.assert_allclose(float(tape.gradient(y, s)), want[case], rtol=1e-15)


@pytest.mark.parametrize("case", list(NON_SCALAR_TARGETS))
def test_non_scalar_targets_inside_tv_function(case: str) -> None:
    s = tv.Variable(0.5, dtype=F64, name="s")
    c = tv.constant(np.array([1.0, 2.0, 3.0]))

    def body(c: Any) -> Any:
        with tv.GradientTape() as tape:
            y = NON_SCALAR_TARGETS[case](s, c)
        return tape.gradient(y, s)

    want = {"add": 6 * np.cos(0.5), "broadcast_to": 3 * np.cos(0.5), "concat": 3.0, "matmul": 6.0}
    np.testing.assert_allclose(float(tv.function(body)(c)), want[case], rtol=1e-15)
