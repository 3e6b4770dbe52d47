"""Subnormal floats in compiled code are flushed to zero, as TensorFlow's CPU kernels do.

Reference numbers measured with TensorFlow 2.21 (eager and ``tf.function`` agree): its
kernels run with the SSE bits FTZ (subnormal results become zero) and DAZ (subnormal
inputs read as zero) set.  The bits are set only around a compiled call: the caller's
numpy keeps IEEE subnormals.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.compiler import kernels as K

pytestmark = pytest.mark.skipif(
    not K.FLUSHES_SUBNORMALS or os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"),
    reason="compiled code flushes subnormals on x86-64 (the numpy interpreter keeps them)",
)

f32 = np.float32
SUB = f32(1e-40)  # a subnormal float32 (bits 71362)


def bits(x: object) -> int:
    return int(np.asarray(x, np.float32).view(np.int32))


def ieee_still_here() -> bool:
    """The caller's arithmetic keeps subnormals (numpy's float32 multiply)."""
    return bits(np.multiply(SUB, f32(1.0))) == 71362


def test_compiled_ops_flush_inputs_and_results_like_tensorflow() -> None:
    @tv.function
    def ops(x: tv.Tensor, tiny: tv.Tensor, half: tv.Tensor) -> tuple[tv.Tensor, ...]:
        return x * 1e10, x * 1.0, tiny * tiny, half * 0.5, tv.sqrt(x), x + 1e-38

    x, tiny, half = tv.constant(SUB), tv.constant(f32(1e-20)), tv.constant(f32(1.5e-38))
    got = [o.numpy() for o in ops(x, tiny, half)]
    # TF 2.21: 1e-40*1e10 -> 0 (DAZ: the input reads as zero, IEEE gives 1e-30), 1e-40*1 -> 0,
    # 1e-20*1e-20 -> 0 and 1.5e-38*0.5 -> 0 (FTZ), sqrt(1e-40) -> 0, 1e-40+1e-38 -> 0
    assert [bits(g) for g in got] == [0, 0, 0, 0, 0, 0]
    # eager scalar ops flush results but read a subnormal input as itself (a documented
    # trade-off: tests/engine/test_subnormals_eager.py)
    assert float(tv.constant(SUB) * 1e10) == pytest.approx(1e-30, rel=1e-4)
    assert ieee_still_here()


def test_converged_adam_slots_stop_where_tensorflow_stops() -> None:
    """With a zero gradient Adam's first moment decays by 0.9 a step; once the decrement
    is subnormal, FTZ makes it zero and the slot stops (TF: at -1.1088168e-37)."""
    x = tv.Variable(1.0, name="x")  # the minimum of (x-1)²: the gradient is exactly 0
    opt = tv.keras.optimizers.Adam(learning_rate=0.01)
    opt.apply_gradients([(tv.constant(0.0), x)])  # makes the slots (x stays 1)
    _, m, v = opt.variables()
    m.assign(f32(-1e-30))
    v.assign(f32(1e-33))

    @tv.function
    def steps(n: int) -> None:
        for _ in tv.range(n):
            with tv.GradientTape() as tape:
                y = x**2 - 2.0 * x + 1.0
            opt.apply_gradients([(tape.gradient(y, x), x)])

    # bits of (x, m, v) after 100, 200 and 3000 steps in TensorFlow 2.21 with
    # tf.keras.optimizers.legacy.Adam (ResourceApplyAdam), eager and tf.function alike:
    # m stops at -1.1088168e-37 (IEEE arithmetic would take it down to -6e-45)
    want = [
        (1065353216, -2045953687, 144070055),
        (1065353216, -2112426848, 143132050),
        (1065353216, -2112426848, 109324765),
    ]
    got = []
    for n in (100, 100, 2800):
        steps(n)
        got.append((bits(x.numpy()), bits(m.numpy()), bits(v.numpy())))
    assert got == want
    assert ieee_still_here()


def test_flush_bits_come_back_after_an_error_in_compiled_code() -> None:
    @tv.function
    def pick(labels: tv.Tensor, logits: tv.Tensor) -> tv.Tensor:
        return tv.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)

    logits = tv.constant(np.zeros((2, 3), np.float32))
    pick(tv.constant(np.array([0, 1], np.int32)), logits)
    with pytest.raises(Exception, match="label"):
        pick(tv.constant(np.array([0, 7], np.int32)), logits)
    assert ieee_still_here()


def test_flush_helpers_keep_the_callers_other_bits() -> None:
    old = K.flush_subnormals_enter()
    try:
        assert bits(np.multiply(SUB, f32(1.0))) == 0  # numpy under FTZ/DAZ
    finally:
        K.flush_subnormals_leave(old)
    assert ieee_still_here()
    # a caller that had set FTZ/DAZ itself keeps them set
    K.flush_subnormals_enter()
    K.flush_subnormals_leave(K.flush_subnormals_enter())
    try:
        assert bits(np.multiply(SUB, f32(1.0))) == 0
    finally:
        K.flush_subnormals_leave(np.uint32(0))
    assert ieee_still_here()
