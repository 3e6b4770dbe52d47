"""tf.math / tf.nn neighbours of issue 16's names: reduce_variance, reduce_std,
reduce_logsumexp, log_sigmoid, leaky_relu, l2_loss.

Values and gradients against TensorFlow 2.21 (tests/data/tf_neighbours.json, written by
tools/record_neighbours_tf.py); second order by central differences of the gradient.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tapeviz as tv

DATA = Path(__file__).resolve().parents[1] / "data" / "tf_neighbours.json"


@functools.cache
def _tf() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


FUNCTIONS: dict[str, Any] = {
    "reduce_variance": lambda v: tv.math.reduce_variance(v),
    "reduce_variance_axis1": lambda v: tv.math.reduce_variance(v, axis=1),
    "reduce_std_axis0_keepdims": lambda v: tv.math.reduce_std(v, axis=0, keepdims=True),
    "reduce_logsumexp": lambda v: tv.reduce_logsumexp(v),
    "reduce_logsumexp_axis1": lambda v: tv.reduce_logsumexp(v, axis=1),
    "reduce_logsumexp_keepdims": lambda v: tv.math.reduce_logsumexp(v, 0, keepdims=True),
    "log_sigmoid": lambda v: tv.math.log_sigmoid(v),
    "leaky_relu": lambda v: tv.nn.leaky_relu(v),
    "leaky_relu_alpha": lambda v: tv.nn.leaky_relu(v, alpha=0.01),
    "l2_loss": lambda v: tv.nn.l2_loss(v),
}


def _weighted(y: Any) -> Any:
    w = np.arange(1, int(np.prod(y.shape)) + 1, dtype=y.dtype.np).reshape(tuple(y.shape))
    return tv.reduce_sum(y * tv.constant(w))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_value_and_gradient_match_tensorflow(name: str) -> None:
    entry = _tf()[name]
    v = tv.Variable(np.array(entry["input"], np.float32))
    with tv.GradientTape() as tape:
        y = FUNCTIONS[name](v)
        s = _weighted(y)
    g = tape.gradient(s, v)
    assert y.dtype == tv.float32
    np.testing.assert_allclose(y.numpy(), np.float32(entry["value"]), rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(g.numpy(), np.float32(entry["grad"]), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_second_order_by_central_differences(name: str) -> None:
    # wᵀ·H·u from nested tapes equals the central difference of uᵀ·∇f along w (float64,
    # at a point away from the kinks of leaky_relu)
    rng = np.random.default_rng(7)
    x0 = np.array([[1.0, 2.0, 4.0], [-1.0, 0.5, 3.0]]) + rng.uniform(-0.2, 0.2, (2, 3))
    u, w = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    f = FUNCTIONS[name]

    def grad(x: np.ndarray) -> np.ndarray:
        t = tv.constant(x)
        with tv.GradientTape() as tape:
            tape.watch(t)
            s = _weighted(f(t))
        return tape.gradient(s, t).numpy()

    t = tv.constant(x0)
    with tv.GradientTape() as outer:
        outer.watch(t)
        with tv.GradientTape() as inner:
            inner.watch(t)
            s = _weighted(f(t))
        g = inner.gradient(s, t)
        ug = tv.reduce_sum(g * tv.constant(u))
    hu = outer.gradient(ug, t)
    analytic = 0.0 if hu is None else float(np.sum(w * hu.numpy()))
    eps = 1e-5
    numeric = float(np.sum(u * (grad(x0 + eps * w) - grad(x0 - eps * w)))) / (2 * eps)
    assert abs(analytic - numeric) <= 1e-6 * max(1.0, abs(numeric))


def test_reduce_logsumexp_does_not_overflow_and_variance_of_complex_is_real() -> None:
    big = tv.constant([1000.0, 1000.0])
    np.testing.assert_allclose(tv.reduce_logsumexp(big).numpy(), 1000 + np.log(2), rtol=1e-7)
    z = tv.constant([1 + 1j, -1 - 1j], tv.complex64)
    var = tv.math.reduce_variance(z)
    assert var.dtype == tv.float32  # mean |z - 0|² = |1+1j|² = 2 (|z| = √2 in float32)
    np.testing.assert_allclose(var.numpy(), 2.0, rtol=1e-6)
    with pytest.raises(TypeError, match="leaky_relu does not take complex"):
        tv.nn.leaky_relu(z)
