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

import tapeviz as tv
from tapeviz.compiler import kernels as K


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
KERNELS = {name: getattr(K, name + "32") for name in EXACT}
EAGER = {name: getattr(tv.math, name) for name in EXACT}


def main() -> None:
    d = np.load(sys.argv[1])
    print(f"TensorFlow {d['tensorflow']}; 1e6 float32 values per function\n")
    print("| function | compiled vs TF: max ulps / bit-equal | eager vs TF: max ulps / "
          "bit-equal | max ulps vs correctly rounded | numpy float32 vs TF: max ulps / "
          "bit-equal |")  # fmt: skip
    print("|---|---|---|---|---|")
    tiny = np.finfo(np.float32).tiny
    for name, kernel in KERNELS.items():
        x, tf = d[name + "_x"], d[name + "_tf"]
        with np.errstate(all="ignore"):
            exact = EXACT[name](x.astype(np.float64)).astype(np.float32)
            np32 = flushed(NUMPY32[name](flushed(x)))
        normal = np.isfinite(exact) & (np.abs(exact) >= tiny) & ((np.abs(x) >= tiny) | (x == 0))
        u_np = ulps(np32, tf)
        got = loop(kernel)(x)
        u_tf = ulps(got, tf)
        u_eager = ulps(EAGER[name](tv.constant(x)).numpy(), tf)
        print(
            f"| {name} | {u_tf.max()} / {np.mean(u_tf == 0):.1%} | {u_eager.max()} / "
            f"{np.mean(u_eager == 0):.1%} | {ulps(got, exact)[normal].max()} | "
            f"{u_np.max()} / {np.mean(u_np == 0):.1%} |"
        )
    x, y, tf = d["pow_x"], d["pow_y"], d["pow_tf"]
    with np.errstate(all="ignore"):
        u_np = ulps(flushed(np.power(x, y)), tf)
    print(f"| pow | (tools/pow_ulps.py) | | | {u_np.max()} / {np.mean(u_np == 0):.1%} |")
    print("\nEager cost (tv.math.<name> of a float32 tensor) against numpy's own function")
    rng = np.random.default_rng(0)
    for n in (1, 10_000, 1_000_000):
        v = rng.uniform(-80, 80, n).astype(np.float32)
        if n == 1:
            v = v[0]
        t = tv.constant(v)
        for name, fn in EAGER.items():
            own_fn = NUMPY32[name]
            with np.errstate(all="ignore"):
                mine = median_ms(lambda fn=fn, t=t: fn(t), 21 if n < 1e6 else 5)
                own = median_ms(lambda own_fn=own_fn, v=v: own_fn(v), 21 if n < 1e6 else 5)
            print(f"  {name}, {n} values: {mine * 1e3:.1f} us vs numpy {own * 1e3:.1f} us")


if __name__ == "__main__":
    main()
