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

    ``rotate``: the calls follow a cycle in which every function comes right after every
    other equally often (A C B C A B ...; see :func:`_every_pair`) — for calls whose time
    depends on what the one before left in the processor's caches (arrays of a few MB).
    (Rounds that each start one function later, A B C, B C A, ..., do not do that: there
    B follows A twice as often as A follows B.)"""
    for fn in fns:
        fn()  # warm up (compiles, fills caches and recycled buffers)
    samples: list[list[float]] = [[] for _ in fns]
    n = len(fns)
    order = list(range(n))
    if rotate and n > 2:
        cycle = _every_pair(n)
        order = [cycle[k % len(cycle)] for k in range(-(-repeats * n // len(cycle)) * len(cycle))]
        repeats = 1
    for _ in range(repeats):
        for i in order:
            t0 = time.perf_counter()
            fns[i]()
            samples[i].append(time.perf_counter() - t0)
    return [statistics.median(s) for s in samples]


def _every_pair(n: int) -> list[int]:
    """A closed walk through 0..n-1 in which each ordered pair (a, b), a != b, is a step
    exactly once (an Euler circuit of the complete directed graph; Hierholzer's
    algorithm): its n·(n-1) entries hold each number n-1 times."""
    unused = {a: [b for b in range(n) if b != a] for a in range(n)}
    stack, circuit = [0], []
    while stack:
        a = stack[-1]
        if unused[a]:
            stack.append(unused[a].pop())
        else:
            circuit.append(stack.pop())
    circuit.reverse()
    return circuit[:-1]  # (the walk ends where it began)
