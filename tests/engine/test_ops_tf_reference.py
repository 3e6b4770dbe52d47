"""Float32 forward values and gradients against numbers recorded from TensorFlow 2.21.

``tf_reference.json`` → ``ops_bitexact``: random float32 inputs, a random upstream adjoint,
TensorFlow's output and ``tape.gradient(out, inputs, output_gradients=upstream)``.  Each entry
below says how close we are, and why:

* ``EXACT`` — bit for bit (signed zeros included).  Elementwise arithmetic, slicing, shape ops,
  selections, and sums whose order numpy and Eigen happen to share.
* matmul — bit for bit against TensorFlow's Eigen kernel (``TF_ENABLE_ONEDNN_OPTS=0``);
  TensorFlow's default oneDNN kernel sums in another order, so there we are within
  ``NORMWISE`` (a rounding error of a dot product).
* ``ulps(n)`` — elementwise transcendental functions: Eigen evaluates exp/log/sin/cos/sigmoid/
  pow with its own vectorised polynomials, numpy with libm; they differ by a few units in the
  last place (the measured worst case is in the table).
* ``NORMWISE`` — reductions whose summation order differs (softmax, log_softmax,
  cross-entropies, ``reduce_mean`` of 21 values, the broadcast-sum in a division): the largest
  error is at most 8·eps32 of the largest value of the result (measured: below 6).
  ``tanh`` is here too: Eigen's tanh returns exactly ±1 for |x| ≳ 7.9 where numpy gives
  ±0.9999998, so its gradient there is 0 in TensorFlow and 1e-7 here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from ulp import assert_ulps

import tapeviz as tv

from .tfref import array, assert_bits, section

EPS32 = float(np.finfo(np.float32).eps)
EXACT = "exact"
NORMWISE = "normwise"


def ulps(n: int) -> str:
    return f"ulps:{n}"


# name -> (tapeviz version of the entry's code, differentiated inputs, closeness)
TABLE: dict[str, tuple[Callable[..., Any], tuple[str, ...], str]] = {
    "matmul": (lambda a, b: tv.matmul(a, b), ("a", "b"), "matmul"),
    "matmul_transpose_a": (lambda a, b: tv.matmul(a, b, transpose_a=True), ("a", "b"), "matmul"),
    "matmul_transpose_b": (lambda a, b: tv.matmul(a, b, transpose_b=True), ("a", "b"), "matmul"),
    "matmul_transpose_both": (
        lambda a, b: tv.matmul(a, b, transpose_a=True, transpose_b=True),
        ("a", "b"),
        "matmul",
    ),
    "matmul_at_operator": (lambda a, b: a @ b, ("a", "b"), "matmul"),
    "matmul_larger": (lambda a, b: tv.matmul(a, b), ("a", "b"), "matmul"),
    "softmax": (lambda x: tv.nn.softmax(x), ("x",), NORMWISE),
    "log_softmax": (lambda x: tv.nn.log_softmax(x), ("x",), NORMWISE),
    "softmax_cross_entropy_with_logits": (
        lambda labels, logits: tv.nn.softmax_cross_entropy_with_logits(
            labels=labels, logits=logits
        ),
        ("labels", "logits"),
        NORMWISE,
    ),
    "sparse_softmax_cross_entropy_with_logits": (
        lambda labels, logits: tv.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits
        ),
        ("logits",),
        NORMWISE,
    ),
    "reduce_mean_all": (lambda x: tv.reduce_mean(x), ("x",), NORMWISE),
    "reduce_mean_axis0": (lambda x: tv.reduce_mean(x, axis=0), ("x",), EXACT),
    "reduce_sum_axis1_keepdims": (lambda x: tv.reduce_sum(x, axis=1, keepdims=True), ("x",), EXACT),
    "reduce_sum_all_long": (lambda x: tv.reduce_sum(x), ("x",), EXACT),
    "reduce_mean_all_long": (lambda x: tv.reduce_mean(x), ("x",), EXACT),
    "sigmoid": (lambda x: tv.sigmoid(x), ("x",), ulps(8)),
    "tanh": (lambda x: tv.tanh(x), ("x",), NORMWISE),
    "exp": (lambda x: tv.exp(x), ("x",), ulps(2)),
    "log": (lambda x: tv.math.log(x), ("x",), ulps(2)),
    "sqrt": (lambda x: tv.sqrt(x), ("x",), ulps(2)),
    "sin_cos": (lambda x: tv.sin(x) * tv.cos(x), ("x",), ulps(8)),
    "square": (lambda x: tv.square(x), ("x",), EXACT),
    "pow_float": (lambda x, y: tv.pow(x, y), ("x", "y"), ulps(3)),
    "relu": (lambda x: tv.nn.relu(x), ("x",), EXACT),
    "broadcast_add_2x3_3": (lambda a, b: a + b, ("a", "b"), EXACT),
    "broadcast_mul_2x1_1x3": (lambda a, b: a * b, ("a", "b"), EXACT),
    "broadcast_sub_div": (lambda a, b, c: (a - b) / c, ("a", "b", "c"), NORMWISE),
    "strided_slice": (lambda x: x[1:, ::2], ("x",), EXACT),
    "slice_index_negative_step": (lambda x: x[::-1, 2], ("x",), EXACT),
    "gather_index": (lambda x: x[1], ("x",), EXACT),
    "concat_axis0": (lambda a, b: tv.concat([a, b], axis=0), ("a", "b"), EXACT),
    "concat_axis1": (lambda a, b: tv.concat([a, b], axis=1), ("a", "b"), EXACT),
    "stack_axis0": (lambda a, b: tv.stack([a, b]), ("a", "b"), EXACT),
    "stack_axis1": (lambda a, b: tv.stack([a, b], axis=1), ("a", "b"), EXACT),
    "squeeze": (lambda x: tv.squeeze(x), ("x",), EXACT),
    "squeeze_axis": (lambda x: tv.squeeze(x, axis=2), ("x",), EXACT),
    "expand_dims": (lambda x: tv.expand_dims(x, axis=1), ("x",), EXACT),
    "reshape": (lambda x: tv.reshape(x, (3, -1)), ("x",), EXACT),
    "transpose_default": (lambda x: tv.transpose(x), ("x",), EXACT),
    "transpose_perm": (lambda x: tv.transpose(x, perm=[1, 2, 0]), ("x",), EXACT),
    "dense_layer_like": (lambda x, w, b: tv.nn.relu(x @ w + b), ("x", "w", "b"), EXACT),
    "mse_like": (lambda p, t: tv.reduce_mean(tv.square(p - t)), ("p", "t"), EXACT),
    "where_select": (lambda c, a, b: tv.where(c > 0, a, b), ("a", "b"), EXACT),
    "maximum_minimum": (lambda a, b: tv.maximum(a, b) - tv.minimum(a, b), ("a", "b"), EXACT),
    "reduce_max_axis1": (lambda x: tv.reduce_max(x, axis=1), ("x",), EXACT),
    "clip_by_value": (lambda x: tv.clip_by_value(x, -0.5, 0.5), ("x",), EXACT),
}
# Keras losses are checked with tapeviz.keras (its own issue), not by the engine suite.
NOT_ENGINE = {"keras_mse_loss", "keras_sparse_cce_from_logits", "keras_sparse_cce_probs"}


def _run(name: str, entry: dict[str, Any]) -> list[tuple[str, tv.Tensor, np.ndarray]]:
    fn, diff, _ = TABLE[name]
    inputs = {k: tv.constant(array(v)) for k, v in entry["inputs"].items()}
    with tv.GradientTape() as tape:
        tape.watch([inputs[k] for k in diff])
        out = fn(**inputs)
    upstream = tv.constant(array(entry["upstream"]))
    grads = tape.gradient(out, [inputs[k] for k in diff], output_gradients=upstream)
    pairs = [("output", out, array(entry["output"]))]
    pairs += [(f"d/d{k}", g, array(entry["grads"][k])) for k, g in zip(diff, grads, strict=True)]
    return pairs


def _assert_normwise(actual: tv.Tensor, expected: np.ndarray, what: str, factor: float = 8) -> None:
    a = actual.numpy()
    assert a.dtype == expected.dtype and a.shape == expected.shape, what
    err = np.max(np.abs(a.astype(np.float64) - expected), initial=0.0)
    scale = np.max(np.abs(expected), initial=0.0)
    assert err <= factor * EPS32 * scale, (
        f"{what}: largest error {err:.3g} is more than {factor}·eps32·{scale:.3g}\n"
        f"got {a!r}\nTF  {expected!r}"
    )


def test_every_entry_is_checked() -> None:
    entries = set(section("ops_bitexact")["entries"])
    unknown = entries - set(TABLE) - NOT_ENGINE
    assert not unknown, f"new TensorFlow reference entries without a check in TABLE: {unknown}"
    assert not set(TABLE) - entries, "TABLE names entries that tf_reference.json lacks"


@pytest.mark.parametrize("name", sorted(TABLE))
def test_against_tensorflow(name: str) -> None:
    entry = section("ops_bitexact")["entries"][name]
    closeness = TABLE[name][2]
    for what, actual, expected in _run(name, entry):
        label = f"{name} {what}"
        assert actual.dtype == tv.as_dtype(expected.dtype), label
        if closeness == EXACT:
            assert_bits(actual, expected, label)
        elif closeness.startswith("ulps:"):
            assert_ulps(actual, expected, int(closeness[5:]), label)
        else:  # NORMWISE, and matmul against the default oneDNN kernel
            _assert_normwise(actual, expected, label)


@pytest.mark.parametrize("name", sorted(n for n in TABLE if TABLE[n][2] == "matmul"))
def test_matmul_is_bit_exact_against_the_eigen_kernel(name: str) -> None:
    # recorded a second time with TF_ENABLE_ONEDNN_OPTS=0 (TensorFlow's Eigen matmul); only
    # the entries where that changed a bit are stored again
    ops = section("ops_bitexact")
    differing = ops["onednn_off_values_for_differing_entries"]
    assert set(differing) <= set(ops["onednn_off_differs_in"])
    entry = differing[name] if name in ops["onednn_off_differs_in"] else ops["entries"][name]
    for what, actual, expected in _run(name, entry):
        assert_bits(actual, expected, f"{name} {what} (Eigen)")


def test_some_entries_really_are_not_bit_exact() -> None:
    # keeps the table honest: if numpy's libm changes and sigmoid becomes bit-exact, or an
    # EXACT entry starts differing, someone should look at the classification again
    entry = section("ops_bitexact")["entries"]["sigmoid"]
    _, actual, expected = _run("sigmoid", entry)[1]
    assert not np.array_equal(actual.numpy().view(np.uint32), expected.view(np.uint32))
