"""A cross-entropy and the later softmax of the same logits computed by one kernel inside
``tv.function``: special logits, a training step and a loop body, against eager results.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from ulp import within_ulps

import tapeviz as tv
from tapeviz.compiler import kernels as K

from .compiled import generated_source

JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


# --- a cross-entropy and the softmax of its logits from one kernel -------------------------------
def _sparse_pair(labels: Any, logits: Any) -> Any:
    return tv.nn.sparse_softmax_cross_entropy_with_logits(labels, logits), tv.nn.softmax(logits)


def _dense_pair(labels: Any, logits: Any) -> Any:
    return tv.nn.softmax_cross_entropy_with_logits(labels, logits), tv.nn.softmax(logits)


def _special_logits() -> np.ndarray:
    lg = np.random.default_rng(1).standard_normal((6, 4)).astype(np.float32)
    lg[1, 2] = np.nan  # a NaN row
    lg[2, 0] = np.inf  # +inf: inf - inf = NaN
    lg[3, :] = -np.inf  # all -inf
    lg[4, 1] = -np.inf  # one -inf: a zero probability
    lg[5] = [80.0, -80.0, 0.0, 80.0]  # exponentials that underflow
    return lg


PAIR_CASES: dict[str, tuple[Any, np.ndarray]] = {
    "nan and inf rows": (np.array([0, 1, 2, 3, 1, 3], np.int32), _special_logits()),
    "scalar label": (np.int32(2), np.array([0.5, -1.0, 3.0, 0.25], np.float32)),
    "3-d float64": (
        np.array([[0, 1], [2, 3]], np.int64),
        np.random.default_rng(2).standard_normal((2, 2, 4)),
    ),
    "transposed logits": (
        np.array([1, 0, 2], np.int32),
        np.random.default_rng(4).standard_normal((4, 3)).astype(np.float32).T,
    ),
    "long rows": (
        np.array([0, 199], np.int32),
        np.random.default_rng(5).standard_normal((2, 200)).astype(np.float32) * 30,
    ),
}


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
# each case wraps the same two functions anew: TensorFlow's retracing warning is expected
@pytest.mark.filterwarnings("ignore:.*triggered tv.function retracing")
@pytest.mark.parametrize("dense", [False, True], ids=["sparse", "dense"])
@pytest.mark.parametrize("name", list(PAIR_CASES))
def test_paired_cross_entropy_and_softmax(name: str, dense: bool) -> None:
    """Compiled: the paired kernel ran, and each result is bit for bit its own kernel's
    (what ``K.softmax_rows`` and ``K.(sparse_)xent_rows`` give alone).  Both modes: within a
    few spacings of eager (exp32 against numpy's exp), NaN where eager has NaN."""
    labels, logits = PAIR_CASES[name]
    k = logits.shape[-1]
    if dense:
        labels = np.eye(k, dtype=logits.dtype)[np.asarray(labels)]
    fn = _dense_pair if dense else _sparse_pair
    f = tv.function(fn)
    loss, sm = f(labels, logits)
    want_loss, want_sm = fn(tv.constant(labels), tv.constant(logits))
    assert within_ulps(loss.numpy(), want_loss.numpy(), 4, flush=True), (loss, want_loss)
    assert within_ulps(sm.numpy(), want_sm.numpy(), 4, flush=True), (sm, want_sm)
    if JIT_DISABLED:
        return
    assert ("K.xent_softmax_rows" if dense else "K.sparse_xent_softmax_rows") in generated_source(
        f, labels, logits
    )
    rows = np.ascontiguousarray(logits).reshape(-1, k)
    lab = np.ascontiguousarray(labels).reshape((-1, k) if dense else (-1,))
    # alone, as compiled code runs them: subnormals flushed to zero
    fp = K.flush_subnormals_enter()
    try:
        alone = K.xent_rows(lab, rows) if dense else K.sparse_xent_rows(lab, rows)
        alone_sm = K.softmax_rows(rows)
    finally:
        K.flush_subnormals_leave(fp)
    assert np.array_equal(loss.numpy().reshape(-1), alone, equal_nan=True)
    assert np.array_equal(sm.numpy(), alone_sm.reshape(logits.shape), equal_nan=True)


def test_paired_kernel_in_a_training_step_and_in_a_loop_body() -> None:
    """The gradient of a classifier's loss (its softmax pairs with the loss) inside
    ``tv.range``: weights within a few spacings of eager after three steps."""

    def train(w: tv.Variable, x: Any, labels: Any) -> tv.Tensor:
        for _ in tv.range(3):
            with tv.GradientTape() as tape:
                logits = x @ w
                loss = tv.reduce_mean(
                    tv.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
                )
            w.assign_sub(0.5 * tape.gradient(loss, w))
        return loss

    rng = np.random.default_rng(6)
    x = rng.standard_normal((16, 5)).astype(np.float32)
    labels = rng.integers(0, 4, 16).astype(np.int32)
    w0 = (rng.standard_normal((5, 4)) * 0.1).astype(np.float32)
    w_c, w_e = tv.Variable(w0), tv.Variable(w0)
    loss_c = tv.function(train)(w_c, x, labels)
    loss_e = train(w_e, x, labels)
    assert within_ulps(loss_c.numpy(), loss_e.numpy(), 16, flush=True)
    np.testing.assert_allclose(w_c.numpy(), w_e.numpy(), rtol=1e-5, atol=1e-6)
