"""Values at kinks, ties and singularities: what TensorFlow does, we do (issue 2, item 3).

Derivatives do not exist at a kink (|x| at 0) or a tie (max(x, y) with x == y); TensorFlow's
gradient kernels still return a number there, and textbook examples print it.  The numbers
below were recorded from TensorFlow 2.21 (``tf_reference.json`` → ``kinks``); each case is
compared bit for bit (signed zeros, inf and NaN included).  The first tests spell the rules
out with literal numbers, for readers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from ulp import assert_ulps

import tapeviz as tv

from .tfref import array, assert_bits, section

INF = np.inf
NAN = np.nan
# TensorFlow returns inf and NaN silently; so must we (no numpy RuntimeWarning)
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def grad(f: Callable[..., tv.Tensor], *values: Any) -> tuple[tv.Tensor, list[Any]]:
    """f(*xs) and d sum(f)/d xs for float32 constants made from ``values``."""
    xs = [tv.constant(np.asarray(v, dtype=np.float32)) for v in values]
    with tv.GradientTape() as tape:
        tape.watch(xs)
        y = f(*xs)
    return y, tape.gradient(y, xs)


def f32(*v: float) -> np.ndarray:
    return np.array(v, dtype=np.float32)


# --- the rules, in words and numbers ---------------------------------------------------------
def test_abs_and_relu_have_gradient_zero_at_zero() -> None:
    _, (g,) = grad(tv.abs, [0.0, -0.0, 2.0, -2.0])
    assert_bits(g, f32(0, 0, 1, -1))
    _, (g,) = grad(tv.nn.relu, [0.0, -0.0, 2.0, -2.0])
    assert_bits(g, f32(0, 0, 1, 0))


def test_maximum_and_minimum_ties_send_the_gradient_to_the_first_argument() -> None:
    _, (gx, gy) = grad(tv.maximum, [1.0, 2.0], [1.0, 3.0])
    assert_bits(gx, f32(1, 0))
    assert_bits(gy, f32(0, 1))
    _, (gx, gy) = grad(tv.minimum, [1.0, 2.0], [1.0, 0.0])
    assert_bits(gx, f32(1, 0))
    assert_bits(gy, f32(0, 1))
    # swapping the arguments moves the tie's gradient with the first one
    _, (gx, gy) = grad(lambda x, y: tv.maximum(y, x), 2.0, 2.0)
    assert (gx.numpy(), gy.numpy()) == (0.0, 1.0)


def test_reduce_max_splits_the_gradient_evenly_among_tied_maxima() -> None:
    _, (g,) = grad(tv.reduce_max, [1.0, 3.0, 3.0, 3.0])
    assert_bits(g, f32(0, 1 / 3, 1 / 3, 1 / 3))
    _, (g,) = grad(lambda x: tv.reduce_min(x, axis=1), [[1.0, 1.0], [0.0, 2.0]])
    assert_bits(g, np.array([[0.5, 0.5], [1, 0]], np.float32))


def test_clip_by_value_passes_the_gradient_at_the_bounds() -> None:
    _, (g,) = grad(lambda x: tv.clip_by_value(x, 0.0, 1.0), [-0.5, 0.0, 0.5, 1.0, 1.5])
    assert_bits(g, f32(0, 1, 1, 1, 0))


def test_sqrt_log_and_power_one_half_at_zero_give_inf() -> None:
    for f in (tv.sqrt, tv.math.log, lambda x: x**0.5, lambda x: tv.pow(x, 0.5)):
        _, (g,) = grad(f, [0.0])
        assert_bits(g, f32(INF))


def test_where_does_not_mask_nan_from_the_log_branch() -> None:
    # the unselected branch is still differentiated: 0 · (1/0) = 0 · inf = NaN leaks in
    y, (g,) = grad(lambda x: tv.where(x > 0, tv.math.log(x), 0.0), [0.0, -1.0, 2.0])
    assert_bits(y, f32(0, 0, np.log(np.float32(2))))
    assert_bits(g, f32(NAN, -0.0, 0.5))
    # the fix that notebooks teach: make the unselected input safe first
    safe = lambda x: tv.where(x > 0, tv.math.log(tv.where(x > 0, x, 1.0)), 0.0)  # noqa: E731
    _, (g,) = grad(safe, [0.0, -1.0, 2.0])
    assert_bits(g, f32(0, 0, 0.5))


def test_sqrt_and_reciprocal_gradients_are_zero_where_the_adjoint_is_zero() -> None:
    # TensorFlow's SqrtGrad and ReciprocalGrad return 0 for a zero adjoint (no 0·inf), so
    # where + sqrt does not leak; log, pow and division do.  Recorded by running TF 2.21:
    # grads of tf.where(x > 0, f(x), 0.) at x = [0, -1, 4].
    x = [0.0, -1.0, 4.0]
    expected = {
        "sqrt": (tv.sqrt, f32(0, 0, 0.25)),
        "reciprocal": (tv.reciprocal, f32(0, 0, -0.0625)),
        "log": (tv.math.log, f32(NAN, -0.0, 0.25)),
        "1/x": (lambda t: 1.0 / t, f32(NAN, -0.0, -0.0625)),
        "x**0.5": (lambda t: t**0.5, f32(NAN, NAN, 0.25)),
        "x/x": (lambda t: t / t, f32(NAN, 0, 0)),
    }
    for name, (f, want) in expected.items():
        _, (g,) = grad(lambda t, f=f: tv.where(t > 0, f(t), 0.0), x)
        assert_bits(g, want, name)


def test_softmax_cross_entropy_gradient_assumes_label_rows_sum_to_one() -> None:
    # TensorFlow's kernel returns softmax(logits) - labels as the gradient for the logits:
    # the derivative of the loss only when each row of labels sums to 1.  Recorded by running
    # TF 2.21 with labels [[0.2, 0.3, 0.1]] (sum 0.6) and logits [[0.5, -1, 2]].
    labels = tv.constant([[0.2, 0.3, 0.1]])
    _, (g,) = grad(
        lambda z: tv.nn.softmax_cross_entropy_with_logits(labels=labels, logits=z), [[0.5, -1, 2]]
    )
    tf_grad = np.array([[-0.02470961, -0.26088744, 0.685597]], np.float32)  # as printed
    np.testing.assert_allclose(g.numpy(), tf_grad, rtol=0, atol=1e-6)
    true_derivative = (tv.nn.softmax(tv.constant([[0.5, -1, 2]])) * 0.6 - labels).numpy()
    assert np.max(np.abs(g.numpy() - true_derivative)) > 0.3


def test_integer_mean_truncates_like_tensorflow() -> None:
    note = section("kinks")["reduce_mean_int_note"]
    assert_bits(tv.reduce_mean(tv.constant([1, 2])), array(note["value"]))
    # TF 2.21 (run by hand): reduce_mean([-1, -2]) = -1 and [-3, 0] -> -1 (toward zero)
    assert_bits(tv.reduce_mean(tv.constant([-1, -2])), np.int32(-1))
    assert_bits(tv.reduce_mean(tv.constant([[-3, 0], [4, 5]]), axis=1), np.array([-1, 4], np.int32))
    assert tv.reduce_sum(tv.constant([1, 2])).dtype == tv.int32


# --- every recorded case ---------------------------------------------------------------------
CASES: dict[str, Callable[..., tv.Tensor]] = {
    "abs_at_0": lambda x: tv.abs(x),
    "relu_at_0": lambda x: tv.nn.relu(x),
    "maximum_tie": lambda x, y: tv.maximum(x, y),
    "minimum_tie": lambda x, y: tv.minimum(x, y),
    "maximum_tie_scalar": lambda x, y: tv.maximum(x, y),
    "reduce_max_ties_1d": lambda x: tv.reduce_max(x),
    "reduce_max_ties_2d_axis1": lambda x: tv.reduce_max(x, axis=1),
    "reduce_max_ties_2d_axis1_keepdims": lambda x: tv.reduce_max(x, axis=1, keepdims=True),
    "reduce_max_ties_2d_axis0": lambda x: tv.reduce_max(x, axis=0),
    "reduce_max_ties_2d_all": lambda x: tv.reduce_max(x),
    "reduce_min_ties": lambda x: tv.reduce_min(x),
    "clip_by_value_edges": lambda x: tv.clip_by_value(x, 0.0, 1.0),
    "clip_by_value_grad_wrt_bounds": lambda x, lo, hi: tv.clip_by_value(x, lo, hi),
    "sqrt_at_0": lambda x: tv.sqrt(x),
    "log_at_0": lambda x: tv.math.log(x),
    "pow_half_at_0": lambda x: x**0.5,
    "where_log_nan_leak": lambda x: tv.where(x > 0, tv.math.log(x), 0.0),
    "where_log_safe_pattern": lambda x: tv.where(x > 0, tv.math.log(tv.where(x > 0, x, 1.0)), 0.0),
    "where_sqrt_no_leak": lambda x: tv.where(x > 0, tv.sqrt(x), 0.0),
    "sigmoid": lambda x: tv.sigmoid(x),
    "nn_sigmoid": lambda x: tv.nn.sigmoid(x),
    "tanh": lambda x: tv.tanh(x),
    "pow2_at_0_and_negative": lambda x: tv.pow(x, 2.0),
    "square_at_0_and_negative": lambda x: tv.square(x),
    "x_starstar_3": lambda x: x**3,
    "pow_xy_grad_both": lambda x, y: tv.pow(x, y),
    "pow_x_int_exponent_python": lambda x: x**2,
    "divide_by_zero": lambda x, y: x / y,
    "reciprocal_at_0": lambda x: 1.0 / x,
    "exp_large": lambda x: tv.exp(x),
    "sign_grad": lambda x: tv.sign(x),
    "cast_to_int_grad": lambda x: tv.cast(x, tv.int32),
    "stop_gradient": lambda x: tv.stop_gradient(x) * x,
}
# sigmoid/tanh use numpy's exp/tanh where TensorFlow uses Eigen's polynomials: a few ulps.
ULPS = {"sigmoid": 8, "nn_sigmoid": 8, "tanh": 2}
# TensorFlow functions that tapeviz does not offer (not in DESIGN's API); the int mean is
# checked above.
NOT_IN_API = {"divide_no_nan", "norm_at_0", "round_grad", "softplus_large", "reduce_mean_int_note"}


def test_every_recorded_case_is_checked() -> None:
    recorded = set(section("kinks"))
    assert not recorded - set(CASES) - NOT_IN_API, "new kink cases need an entry in CASES"
    assert set(CASES) <= recorded


@pytest.mark.parametrize("name", sorted(CASES))
def test_kink_against_tensorflow(name: str) -> None:
    entry = section("kinks")[name]
    names = list(entry["inputs"])
    xs = [tv.constant(array(entry["inputs"][k])) for k in names]
    with tv.GradientTape() as tape:
        tape.watch(xs)
        y = CASES[name](*xs)
    grads = tape.gradient(y, xs)
    expected = entry["grads"]
    pairs = [("output", y, array(entry["output"]))]
    for k, g in zip(names, grads, strict=True):
        want = None if expected is None else array(expected[k])
        if want is None:
            assert g is None, f"{name}: TensorFlow gives no gradient for {k}, we give {g}"
            continue
        pairs.append((f"d/d{k}", g, want))
    for what, actual, want in pairs:
        if name in ULPS:
            assert_ulps(actual, want, ULPS[name], f"{name} {what}")
        else:
            assert_bits(actual, want, f"{name} {what}")
