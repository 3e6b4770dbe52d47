"""float32 exp, log, tanh and sigmoid kernels with Eigen's arithmetic, bit for bit equal to
TensorFlow 2.21 on CPU.

``tests/data/tf_transcendentals.npz`` holds, per function, 4096 inputs (22 special values,
then a random sample of the 1e6 values the README's ulp table was measured on) and
``tf.math.<name>`` of them as TensorFlow 2.21 computed them (eager; tf.function gives the
same).  TensorFlow's kernels flush subnormals, so the kernels run the same way here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest

from tapeviz.compiler import kernels as K

pytestmark = pytest.mark.skipif(
    os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0") or not K.FLUSHES_SUBNORMALS,
    reason="numba kernels, compared with subnormals flushed (x86-64)",
)

DATA = np.load(Path(__file__).parent.parent / "data" / "tf_transcendentals.npz")


def _loop(kernel: Any) -> Any:
    @numba.njit(error_model="numpy")
    def run(x: Any) -> Any:
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = kernel(x[i])
        return out

    return run


@pytest.mark.parametrize(
    ("name", "kernel"),
    [("exp", K.exp32), ("log", K.log32), ("tanh", K.tanh_tf32), ("sigmoid", K.sigmoid_tf32)],
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
        e, t = _loop(K.exp32)(x), _loop(K.tanh_tf32)(x)
    finally:
        K.flush_subnormals_leave(fp)
    assert np.isnan(e[0]) and e[1] == np.inf and e[2] == 0 and e[3] == e[4] == 1
    assert np.isnan(t[0]) and list(t[1:3]) == [1, -1] and np.signbit(t[4])
