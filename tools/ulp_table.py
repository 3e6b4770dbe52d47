"""Print the README's ulp table: tapeviz's float32 kernels against TensorFlow 2.21.

    python tools/ulp_table.py FULL.npz

``FULL.npz`` is the second file ``tools/record_transcendentals_tf.py`` writes (1e6 inputs
per function and TensorFlow's results).  Kernels run with subnormals flushed, as TensorFlow
runs its own; "correctly rounded" is the float64 function rounded to float32.  Also prints
what the numpy versions of eager code cost against numpy's own functions.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeviz import _eigen_f32 as E
from tapeviz.compiler import kernels as K
from tapeviz.ops._tf_cpu import _packet_exp


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in float32 steps; both NaN: 0, one NaN: a large number."""
    ai = a.astype(np.float32).view(np.int32).astype(np.int64)
    bi = b.astype(np.float32).view(np.int32).astype(np.int64)
    ai = np.where(ai < 0, -(ai & 0x7FFFFFFF), ai)
    bi = np.where(bi < 0, -(bi & 0x7FFFFFFF), bi)
    d = np.abs(ai - bi)
    d = np.where(np.isnan(a) != np.isnan(b), 1 << 40, d)
    return np.where(np.isnan(a) & np.isnan(b), 0, d)


def flushed(x: np.ndarray) -> np.ndarray:
    out = x.copy()
    tiny = np.abs(out) < np.finfo(np.float32).tiny
    out[tiny] = out[tiny] * 0
    return out


def loop(kernel: Any) -> Any:
    run = K.elementwise(kernel)

    def call(x: np.ndarray) -> np.ndarray:
        fp = K.flush_subnormals_enter()
        try:
            return run(x)
        finally:
            K.flush_subnormals_leave(fp)

    return call


def median_ms(fn: Callable[[], Any], n: int = 7) -> float:
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


EXACT = {
    "exp": np.exp,
    "log": np.log,
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "sin": np.sin,
    "cos": np.cos,
}
NUMPY32 = {**EXACT, "sigmoid": lambda x: np.float32(1) / (np.float32(1) + np.exp(-x))}
KERNELS = {
    "exp": [("exp32", K.exp32)],
    "log": [("log32", K.log32)],
    "tanh": [("tanh32", K.tanh32), ("tanh_tf32", K.tanh_tf32)],
    "sigmoid": [("sigmoid32", K.sigmoid32), ("sigmoid_tf32", K.sigmoid_tf32)],
    "sin": [("sin32", K.sin32)],
    "cos": [("cos32", K.cos32)],
}
EAGER = {
    "exp": lambda x: _packet_exp(x),
    "sin": lambda x: E.sincos(x, True),
    "cos": lambda x: E.sincos(x, False),
}


def main() -> None:
    d = np.load(sys.argv[1])
    print(f"TensorFlow {d['tensorflow']}; 1e6 float32 values per function\n")
    print("| function | kernel | max ulps vs TF | bit-equal to TF | max ulps vs correctly "
          "rounded | numpy float32 vs TF (max ulps / equal) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, kernels in KERNELS.items():
        x, tf = d[name + "_x"], d[name + "_tf"]
        with np.errstate(all="ignore"):
            exact = EXACT[name](x.astype(np.float64)).astype(np.float32)
            np32 = flushed(NUMPY32[name](flushed(x)))
        tiny = np.finfo(np.float32).tiny
        normal = np.isfinite(exact) & (np.abs(exact) >= tiny) & ((np.abs(x) >= tiny) | (x == 0))
        u_np = ulps(np32, tf)
        for kname, kernel in kernels:
            got = loop(kernel)(x)
            u_tf = ulps(got, tf)
            print(
                f"| {name} | `{kname}` | {u_tf.max()} | {np.mean(u_tf == 0):.1%} | "
                f"{ulps(got, exact)[normal].max()} | {u_np.max()} / {np.mean(u_np == 0):.1%} |"
            )
    x, y, tf = d["pow_x"], d["pow_y"], d["pow_tf"]
    with np.errstate(all="ignore"):
        u_np = ulps(flushed(np.power(x, y)), tf)
    print(
        f"| pow | numpy / libm (no kernel) | — | — | — | {u_np.max()} / {np.mean(u_np == 0):.1%} |"
    )
    print("\nEager cost, 1e6 values: numpy version of Eigen's kernel vs numpy's own function")
    rng = np.random.default_rng(0)
    v = rng.uniform(-80, 80, 1_000_000).astype(np.float32)
    for name, fn in EAGER.items():
        own_fn = NUMPY32[name]
        with np.errstate(all="ignore"):
            mine = median_ms(lambda fn=fn: fn(v))
            own = median_ms(lambda own_fn=own_fn: own_fn(v))
        print(f"  {name}: {mine:.2f} ms vs {own:.2f} ms ({mine / own:.0f}x)")


if __name__ == "__main__":
    main()
