"""Print the README's ``pow`` row: tapeviz's float32 ``pow`` against TensorFlow 2.21, and
what it costs.

    python tools/pow_ulps.py FULL.npz

``FULL.npz`` is the second file ``tools/record_pow_tf.py`` writes (1e6 pairs and TF's
results, arrays of a multiple of 8: TensorFlow's packet code on every pair).  Kernels run with
subnormals flushed, as TensorFlow runs its own; "correctly rounded" is float64's ``pow``
rounded to float32.  Times are medians over 1e6 pairs against numpy's ``np.power`` and the
compiled loop tapeviz had before (numba's ``np.power`` of two float32 numbers: libm's
``powf``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from ulp_table import median_ms, ulps  # (tools/ is the script's folder)

import tapeviz as tv
from tapeviz import _eigen_pow as P
from tapeviz.compiler import kernels as K


def flushed(fn: Callable[[], Any]) -> Any:
    fp = K.flush_subnormals_enter()
    try:
        return fn()
    finally:
        K.flush_subnormals_leave(fp)


@numba.njit(error_model="numpy")
def powf_loop(x: Any, y: Any) -> Any:
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = np.power(x[i], y[i])
    return out


def describe(d: np.ndarray) -> str:
    return f"{int(d.max())} / {100 * np.mean(d == 0):.1f} %"


def main() -> None:
    d = np.load(sys.argv[1])
    x, y, want = d["x"], d["y"], d["tf"]
    with np.errstate(all="ignore"):
        exact = np.power(x.astype(np.float64), y.astype(np.float64)).astype(np.float32)
        numpy32 = flushed(lambda: np.power(x, y))
        libm = flushed(lambda: powf_loop(x, y))
    compiled = flushed(lambda: K.pow32_loop(x, y))
    eager = (tv.constant(x) ** tv.constant(y)).numpy()
    normal = np.abs(exact) >= np.finfo(np.float32).tiny  # (TF flushes subnormal results)
    print(f"{len(x)} pairs; TensorFlow 2.21 packet results\n")
    print("| compiled vs TF | eager vs TF | vs correctly rounded | numpy vs TF | powf vs TF |")
    print(
        f"| {describe(ulps(compiled, want))} | {describe(ulps(eager, want))} "
        f"| {int(ulps(compiled[normal], exact[normal]).max())} "
        f"| {describe(ulps(numpy32, want))} | {describe(ulps(libm, want))} |"
    )
    print(f"\npowf vs correctly rounded: {int(ulps(libm[normal], exact[normal]).max())} ulps")
    times = {
        "compiled K.pow32 loop": lambda: K.pow32_loop(x, y),
        "compiled powf loop (before)": lambda: powf_loop(x, y),
        "numpy np.power": lambda: np.power(x, y),
        "eager numpy version": lambda: P.pow(x, y),
    }
    for name, fn in times.items():
        print(f"{name}: {flushed(lambda fn=fn: median_ms(fn)):.2f} ms per 1e6")


if __name__ == "__main__":
    main()
