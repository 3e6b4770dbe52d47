"""Timing helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``,
so this directory is on ``sys.path``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def paired_median_times(fns: list[Callable[[], Any]], repeats: int) -> list[float]:
    """Median seconds per call of each function, the calls interleaved (A B C A B C ...)
    so that a busy machine slows them alike: on shared cores the load changes within a
    run, and timing all of A before all of B turns that drift into a false ratio."""
    for fn in fns:
        fn()  # warm up (compiles, fills caches and recycled buffers)
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            samples[i].append(time.perf_counter() - t0)
    return [statistics.median(s) for s in samples]
