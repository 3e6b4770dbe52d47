"""``tv.random`` inside ``tv.function``: new draws on every call and in every iteration of a
compiled loop (as ``tf.function``), reproducible after ``tv.random.set_seed``, and the
compiled draws equal the numpy interpreter's (numba reproduces numpy's legacy generator)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.compiler import interp


def _many_draws() -> tuple[tv.Variable, tv.Variable, Any]:
    acc = tv.Variable(tv.zeros([4]))
    last = tv.Variable(tv.zeros([3], dtype=tv.int32), trainable=False)

    @tv.function
    def f(n: tv.Tensor) -> Any:
        for _ in tv.range(n):
            acc.assign_add(tv.random.normal([4], mean=1.0, stddev=0.5))
            last.assign(tv.random.uniform([3], minval=-3, maxval=7, dtype=tv.int32))
        u = tv.random.uniform([2, 3], minval=-1.0, maxval=2.0)
        t = tv.random.truncated_normal([5], stddev=2.0)
        s = tv.random.normal([])
        return u, t, s

    return acc, last, f


def test_each_call_draws_new_values_and_set_seed_makes_calls_reproducible() -> None:
    runs = []
    for _ in range(2):
        tv.random.set_seed(123)
        acc, last, f = _many_draws()
        calls = []
        for _ in range(2):
            u, t, s = f(tv.constant(3))
            calls.append([u.numpy(), t.numpy(), s.numpy(), acc.numpy().copy(), last.numpy().copy()])
        runs.append(calls)
    first, second = runs[0]
    for a, b in zip(first[:3], second[:3], strict=True):
        assert a.shape == b.shape and not np.array_equal(a, b)  # a new draw per call
    assert not np.array_equal(first[3] * 2, second[3])  # the second call added new draws
    for call_a, call_b in zip(runs[0], runs[1], strict=True):  # the same after set_seed
        for a, b in zip(call_a, call_b, strict=True):
            np.testing.assert_array_equal(a, b)
    tv.random.set_seed(None)


def test_draws_have_the_requested_distribution_dtype_and_range() -> None:
    @tv.function
    def f() -> Any:
        return (
            tv.random.normal([20000], mean=2.0, stddev=0.5),
            tv.random.uniform([20000], minval=-1.0, maxval=3.0),
            tv.random.uniform([20000], minval=2, maxval=5, dtype=tv.int32),
            tv.random.truncated_normal([20000], stddev=1.0, dtype=tv.float64),
        )

    n, u, i, t = (x.numpy() for x in f())
    assert n.dtype == np.float32 and abs(n.mean() - 2.0) < 0.02 and abs(n.std() - 0.5) < 0.02
    assert u.dtype == np.float32 and u.min() >= -1.0 and u.max() < 3.0
    assert abs(u.mean() - 1.0) < 0.05
    assert i.dtype == np.int32 and set(np.unique(i)) == {2, 3, 4}
    assert t.dtype == np.float64 and np.abs(t).max() <= 2.0 and 0.8 < t.std() < 0.9


def test_every_loop_iteration_draws_anew() -> None:
    x = tv.Variable(0.0)

    @tv.function
    def f() -> tv.Tensor:
        for _ in tv.range(1000):
            x.assign_add(tv.random.uniform([]))
        return x

    total = float(f())
    assert 450 < total < 550  # the same draw each time would give 1000 * u


def test_compiled_draws_equal_the_interpreter_for_the_same_seed() -> None:
    _acc, _last, f = _many_draws()
    cf = f.get_concrete_function(tv.constant(4))
    f(tv.constant(4))  # compile
    if cf._compiled is None:
        pytest.skip("nothing is compiled (NUMBA_DISABLE_JIT)")
    slots = [v._value for v in cf.variables]  # type: ignore[union-attr]
    for seed in (0, 7, 2**32 - 1):
        outs, assigned, _ = cf._compiled([np.int32(4)], slots, seed)
        ref_outs, store = interp.run(cf.program, [np.int32(4)], slots, seed)
        for a, b in zip(outs, ref_outs, strict=True):
            np.testing.assert_array_equal(a, b)
        for i, value in zip(cf._assigned, assigned, strict=True):
            np.testing.assert_array_equal(value, store[i])


def test_gradient_flows_through_mean_and_stddev() -> None:
    m = tv.Variable(1.0)
    s = tv.Variable(2.0)

    @tv.function
    def f() -> Any:
        with tv.GradientTape() as tape:
            z = tv.random.normal([8], mean=m, stddev=s)
            loss = tv.reduce_sum(z)
        gm, gs = tape.gradient(loss, [m, s])
        return gm, gs, z

    gm, gs, z = f()
    assert float(gm) == 8.0
    # d/ds sum(s * e + m) = sum(e), e = (z - m) / s
    assert abs(float(gs) - float(np.sum((z.numpy() - 1.0) / 2.0))) < 1e-4


def test_shuffle_and_symbolic_bounds_inside_a_function_are_clear_errors() -> None:
    @tv.function
    def shuffled(x: tv.Tensor) -> tv.Tensor:
        return tv.random.shuffle(x)

    with pytest.raises(NotImplementedError, match=r"shuffle is not supported inside tv.function"):
        shuffled(tv.constant([1, 2, 3]))

    @tv.function
    def bounded(hi: tv.Tensor) -> tv.Tensor:
        return tv.random.uniform([3], maxval=hi)

    with pytest.raises(ValueError, match="minval and maxval must be Python numbers"):
        bounded(tv.constant(2.0))


def test_the_trace_shows_random_draws_and_can_be_drawn() -> None:
    @tv.function
    def f(x: tv.Tensor) -> tv.Tensor:
        return x + tv.random.normal([3])

    cf = f.get_concrete_function(tv.zeros([3]))
    assert "random[dist='normal', shape=(3,), dtype='float32']" in str(cf.program)
    record = cf.record()
    assert [n.op for n in record.nodes if n.op is not None] == ["random", "add", "add"]
    assert "random" in tv.viz.graph(record).source
