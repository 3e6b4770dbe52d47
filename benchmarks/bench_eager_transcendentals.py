"""Eager float32 transcendentals: the numpy versions, the compiled loops, numpy's own.

Run: ``.venv/bin/python benchmarks/bench_eager_transcendentals.py``.  Same run, medians:

* per function and size (1, 10 000, 1e6 values): ``tv.math.<name>`` of a float32 tensor
  on the numpy versions of Eigen's arithmetic (what runs before the compiled loops are
  loaded), on the compiled loops (after), and numpy's own float32 function with no op
  around it (a different arithmetic: not TensorFlow's bits);
* a fresh interpreter running ``tv.sin`` of 10 000 values in a loop: when numba's loops
  take over, and the slowest single call meanwhile (the loading runs in a thread, and a
  helper process compiles the loops if the cache folder does not hold them).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import tapeviz as tv
from tapeviz import _eigen_f32 as E

NUMPY = {
    "exp": np.exp,
    "log": np.log,
    "tanh": np.tanh,
    "sigmoid": lambda x: np.float32(1) / (np.float32(1) + np.exp(-x)),
    "sin": np.sin,
    "cos": np.cos,
}


def median_us(fn: Callable[[], Any], number: int) -> float:
    fn()
    times = []
    for _ in range(9):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times) * 1e6


SWITCH = """
import json, sys, time
import numpy as np
import tapeviz as tv
from tapeviz import _eigen_f32 as E
x = tv.constant(np.random.default_rng(0).uniform(-10, 10, 10_000).astype(np.float32))
t0 = time.perf_counter()
worst, calls = 0.0, 0
while not E.LOOPS and time.perf_counter() - t0 < 120:
    t = time.perf_counter()
    tv.sin(x)
    worst = max(worst, time.perf_counter() - t)
    calls += 1
print(json.dumps([time.perf_counter() - t0, worst, calls, bool(E.LOOPS)]))
"""


def main() -> None:
    assert E.load_compiled(wait=True), "the compiled loops could not be loaded"
    loops = dict(E.LOOPS)
    rng = np.random.default_rng(0)
    print("function, values: numpy versions | compiled loops | numpy's own (µs per call)")
    for n in (1, 10_000, 1_000_000):
        v = rng.uniform(-80, 80, n).astype(np.float32)
        v = v[0] if n == 1 else v
        t = tv.constant(v)
        number = 200 if n < 1e6 else 1
        for name, own in NUMPY.items():
            op = getattr(tv.math, name)
            E.LOOPS.clear()
            E._load["started"] = True  # (no loading meanwhile)
            with np.errstate(all="ignore"):
                slow = median_us(lambda op=op, t=t: op(t), max(1, number // 10))
                E.LOOPS.update(loops)
                fast = median_us(lambda op=op, t=t: op(t), number)
                base = median_us(lambda own=own, v=v: own(v), number)
            print(f"  {name:8s}{n:>9}: {slow:9.1f} | {fast:8.1f} | {base:8.1f}")
    out = subprocess.run(
        [sys.executable, "-c", SWITCH], capture_output=True, text=True, check=True, timeout=300
    )
    took, worst, calls, switched = json.loads(out.stdout)
    print(
        f"\nfresh interpreter, tv.sin of 10 000 values in a loop: compiled loops after "
        f"{took * 1e3:.0f} ms ({calls} calls; switched: {switched}), slowest call "
        f"{worst * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
