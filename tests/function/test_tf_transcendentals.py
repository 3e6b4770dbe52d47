"""float32 exp, log, tanh, sigmoid, sin and cos kernels with Eigen's arithmetic, bit for bit
equal to TensorFlow 2.21 on CPU; the numpy versions of eager code equal to them.

``tests/data/tf_transcendentals.npz`` (written by ``tools/record_transcendentals_tf.py``)
holds, per function, 4096 inputs (special values, then a random sample of the 1e6 values
the README's ulp table was measured on) and ``tf.math.<name>`` of them as TensorFlow 2.21
computed them (eager; the recorder checks that tf.function gives the same).  TensorFlow's
kernels flush subnormals, so the kernels run the same way here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest

from tapeviz import _eigen_f32 as E
from tapeviz.compiler import kernels as K

pytestmark = pytest.mark.skipif(
    os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0") or not K.FLUSHES_SUBNORMALS,
    reason="numba kernels, compared with subnormals flushed (x86-64)",
)

DATA = np.load(Path(__file__).parent.parent / "data" / "tf_transcendentals.npz")


_loop = K.elementwise


@pytest.mark.parametrize(
    ("name", "kernel"),
    [
        ("exp", K.exp32),
        ("log", K.log32),
        ("tanh", K.tanh32),
        ("sigmoid", K.sigmoid32),
        ("sin", K.sin32),
        ("cos", K.cos32),
    ],
)
def test_equal_to_tensorflow_bit_for_bit(name: str, kernel: Any) -> None:
    x, want = DATA[name + "_x"], DATA[name + "_tf"]
    fp = K.flush_subnormals_enter()
    try:
        got = _loop(kernel)(x)
    finally:
        K.flush_subnormals_leave(fp)
    assert got.dtype == np.float32
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)  # (NaN payloads aside)
    same = got[~nan].view(np.int32) == want[~nan].view(np.int32)
    assert same.all(), x[~nan][~same][:10]


def test_specials_as_tensorflow_gives_them() -> None:
    x = DATA["exp_x"][:5]  # nan, inf, -inf, 0, -0
    fp = K.flush_subnormals_enter()
    try:
        e, t = _loop(K.exp32)(x), _loop(K.tanh32)(x)
    finally:
        K.flush_subnormals_leave(fp)
    assert np.isnan(e[0]) and e[1] == np.inf and e[2] == 0 and e[3] == e[4] == 1
    assert np.isnan(t[0]) and list(t[1:3]) == [1, -1] and np.signbit(t[4])


def _flushed(x: np.ndarray) -> np.ndarray:
    """``x`` with subnormals replaced by zeros of their sign (what DAZ reads)."""
    out = x.copy()
    tiny = np.abs(out) < np.finfo(np.float32).tiny
    out[tiny] = out[tiny] * 0
    return out


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_numpy_sincos_equals_the_kernels_and_tensorflow(name: str) -> None:
    """Eager code's numpy version of Eigen's sin/cos gives the numba kernel's bits (one
    rounding per operation in both), hence TensorFlow's."""
    x, want = DATA[name + "_x"], DATA[name + "_tf"]
    got = _flushed(E.sincos(_flushed(x), name == "sin"))
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    assert np.array_equal(got[~nan].view(np.int32), want[~nan].view(np.int32))
    rng = np.random.default_rng(5)
    wide = np.concatenate(
        [rng.uniform(-3e4, 3e4, 20_000), np.exp(rng.uniform(9, 88, 20_000))]
    ).astype(np.float32)
    kernel = _loop(K.sin32 if name == "sin" else K.cos32)(wide)
    assert np.array_equal(kernel.view(np.int32), E.sincos(wide, name == "sin").view(np.int32))


def test_huge_argument_reduction_without_a_table() -> None:
    """The vectorised kernel reads 2/π from 64-bit words; Eigen's table gives the same."""
    rng = np.random.default_rng(6)
    lo, hi = np.float32(16384).view(np.int32), np.finfo(np.float32).max.view(np.int32)
    x = rng.integers(lo, hi, 200_000, endpoint=True).astype(np.int32).view(np.float32)

    @numba.njit(error_model="numpy")
    def reduce_all(x: Any) -> Any:
        r = np.empty_like(x)
        q = np.empty(x.shape[0], np.int32)
        for i in range(x.shape[0]):
            r[i], q[i] = K._reduce_huge32(x[i])
        return r, q

    r, q = reduce_all(x)
    r_table, q_table = E.reduce_huge(x)
    assert np.array_equal(r.view(np.int32), r_table.view(np.int32))
    assert np.array_equal(q, q_table)
