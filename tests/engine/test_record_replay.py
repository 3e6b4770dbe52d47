"""The record of a numpy-mode sweep (replayed by ``record()``) equals the same sweep kept
under an outer tape, on random programs and a long graph (and finite differences).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.graph import Record

from .sweeps import F64, fd, summary


# --- replayed record == the same sweep kept under an outer tape ----------------------------------
def _random_op(kind: int, a: Any, b: Any) -> Any:
    if kind == 0:
        return a + b
    if kind == 1:
        return a * b
    if kind == 2:
        return a - 0.5 * b
    if kind == 3:
        return a / (b + 1.0)
    if kind == 4:
        return tv.exp(a * 0.1)
    if kind == 5:
        return a**2
    if kind == 6:
        return 2.0**a
    if kind == 7:
        return tv.reduce_sum(a) * b
    if kind == 8:
        return tv.sin(a) * b - a
    return tv.maximum(a, b) * tv.sqrt(b)


def _random_program(seed: int, outer: bool) -> list[Any]:
    """A random graph on a persistent tape, several gradient calls with random sources,
    seeds and targets, and records between them.  Run once as is (numpy sweep, replayed by
    the record) and once under an outer tape (tensor sweep, steps kept)."""
    rnd = random.Random(seed)
    out: list[Any] = []
    dt = rnd.choice(["float32", F64])
    shape = rnd.choice([(), (3,)])
    rs = np.random.RandomState(seed)

    def val() -> Any:
        return np.round(rs.uniform(0.5, 2.0, size=shape), 2).tolist()

    vs = [tv.Variable(val(), dtype=dt, name=f"v{i}") for i in range(rnd.randint(0, 2))]
    cs = [tv.constant(val(), dtype=dt, name=f"c{i}") for i in range(rnd.randint(1, 3))]
    pool: list[Any] = vs + cs
    outer_tape = tv.GradientTape(persistent=True) if outer else None
    if outer_tape is not None:
        outer_tape.__enter__()
        outer_tape.watch(cs)
    try:
        tape = tv.GradientTape(persistent=True, watch_accessed_variables=rnd.random() < 0.8)
        with tape:
            tape.watch([c for c in cs if rnd.random() < 0.7])
            for _ in range(rnd.randint(1, 9)):
                a, b = rnd.choice(pool), rnd.choice(pool)
                kind = rnd.randrange(10)
                with tv.name_scope(f"s{kind % 3}"):
                    t = _random_op(kind, a, b)
                pool.append(t)
                if rnd.random() < 0.2:
                    out.append(summary(tape.record()))
        for _ in range(3):
            srcs = rnd.sample(pool, rnd.randint(1, min(4, len(pool))))
            r = rnd.random()
            target = pool[-1]
            if r < 0.2:
                gs = tape.gradient([target, rnd.choice(pool)], srcs)
            elif r < 0.4:
                og = tv.constant(np.full(target.shape, 0.5), dtype=dt)
                gs = tape.gradient(target, srcs, output_gradients=og)
            elif r < 0.55:
                gs = tape.gradient(target, srcs, unconnected_gradients="zero")
            else:
                gs = tape.gradient(rnd.choice(pool[len(vs) :]), srcs)
            out.append([None if g is None else (g.numpy().tolist(), g.dtype.name) for g in gs])
            if rnd.random() < 0.8:
                out.append(summary(tape.record()))
    finally:
        if outer_tape is not None:
            outer_tape.__exit__(None, None, None)
    return out


@pytest.mark.parametrize("block", range(4))
def test_replayed_records_equal_kept_records_on_random_programs(block: int) -> None:
    for seed in range(block * 40, block * 40 + 40):
        replayed = _random_program(seed, outer=False)
        kept = _random_program(seed, outer=True)
        assert repr(replayed) == repr(kept), f"seed {seed}"  # repr: nan equals nan


def test_a_long_graph_sweep_replayed_equals_kept_and_finite_differences() -> None:
    # more than 32 ops: the sweep runs inside np.errstate; the record replays it
    def build(outer: bool) -> tuple[Any, Record]:
        x = tv.Variable([0.1, 0.2, -0.3], dtype=F64, name="x")
        ctx = tv.GradientTape() if outer else None
        if ctx is not None:
            ctx.__enter__()
        with tv.GradientTape() as tape:
            y = x
            for i in range(40):
                y = tv.sin(y) * 1.01 + x * (0.01 * i)
            L = tv.reduce_sum(y * y)
        g = tape.gradient(L, x)
        if ctx is not None:
            ctx.__exit__(None, None, None)
        return g, tape.record()

    def f(xv: np.ndarray) -> float:
        y = xv
        for i in range(40):
            y = np.sin(y) * 1.01 + xv * (0.01 * i)
        return float(np.sum(y * y))

    g1, r1 = build(False)
    g2, r2 = build(True)
    np.testing.assert_array_equal(g1.numpy(), g2.numpy())
    np.testing.assert_allclose(g1.numpy(), fd(f, [0.1, 0.2, -0.3]), rtol=1e-7)
    assert len(r1.sweep) == 40 * 4 + 2  # sin, ×, ×, + per step; y·y, Σ
    assert summary(r1)[1:] == summary(r2)[1:]
    # nodes equal except the group of the gradient ops (none here: the outer tape does not
    # record the inner tape's forward, it only sees the sweep)
    assert summary(r1)[0] == summary(r2)[0]
