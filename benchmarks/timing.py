"""Timing helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``,
so this directory is on ``sys.path``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def paired_median_times(
    fns: list[Callable[[], Any]], repeats: int, *, rotate: bool = False
) -> list[float]:
    """Median seconds per call of each function, the calls interleaved (A B C A B C ...)
    so that a busy machine slows them alike: on shared cores the load changes within a
    run, and timing all of A before all of B turns that drift into a false ratio.

    ``rotate``: each round starts one function later (A B C, B C A, C A B, ...), so that
    every function follows every other equally often — for calls whose time depends on
    what the one before left in the processor's caches (arrays of a few MB)."""
    for fn in fns:
        fn()  # warm up (compiles, fills caches and recycled buffers)
    samples: list[list[float]] = [[] for _ in fns]
    n = len(fns)
    for r in range(repeats):
        for k in range(n):
            i = (k + r) % n if rotate else k
            t0 = time.perf_counter()
            fns[i]()
            samples[i].append(time.perf_counter() - t0)
    return [statistics.median(s) for s in samples]
