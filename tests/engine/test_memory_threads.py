"""Memory and scale (issue 2, item 6): an iterative sweep, no growth over many steps, tapes
that belong to their thread, and non-persistent tapes that let go of what only the sweep needed.
"""

from __future__ import annotations

import gc
import sys
import threading
import tracemalloc
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz import _eigen_f32, _state

from .sweeps import F64, summary


def _depth() -> int:
    frame, n = sys._getframe(), 0
    while frame is not None:
        n += 1
        frame = frame.f_back  # type: ignore[assignment]
    return n


@contextmanager
def shallow_stack(margin: int = 80) -> Iterator[None]:
    """Allow only ``margin`` more Python frames: any recursion over the tape would fail."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(_depth() + margin)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


# --- scale -----------------------------------------------------------------------------------
def test_a_100000_op_chain_differentiates_iteratively() -> None:
    n = 100_000
    x = tv.Variable(0.5)
    with tv.GradientTape() as tape:
        y = x
        for _ in range(n):
            y = tv.sin(y)
    with shallow_stack():
        g = tape.gradient(y, x)

    # the same float32 arithmetic by hand (Eigen's sin and cos, as TensorFlow's): forward
    # values, then the adjoint from the end
    ys = [np.float32(0.5)]
    for _ in range(n):
        ys.append(_eigen_f32.sin(ys[-1]))
    adjoint = np.float32(1)
    for k in range(n - 1, -1, -1):
        adjoint = adjoint * _eigen_f32.cos(ys[k])
    assert y.numpy() == ys[-1]
    assert g.numpy() == adjoint
    assert g.numpy() > 0


def test_the_record_of_a_long_chain_is_built_iteratively() -> None:
    n = 10_000  # a recursive builder would fail at depth ~80 already
    x = tv.Variable(0.5)
    with tv.GradientTape() as tape:
        y = x
        for _ in range(n):
            y = y * 1.0
    g = tape.gradient(y, x)
    with shallow_stack():
        rec = tape.record()
        text = rec.to_json()
    assert len(rec.nodes) == 2 * n + 1  # x, and per step a constant and an op
    assert len(rec.sweep) == n and g.numpy() == 1.0
    assert len(type(rec).from_json(text).nodes) == 2 * n + 1


def test_a_long_chain_differentiates_twice_with_nested_tapes() -> None:
    n = 5_000
    x = tv.Variable(0.25, dtype=tv.float64)
    with tv.GradientTape() as outer:
        with tv.GradientTape() as inner:
            y = x
            for _ in range(n):
                y = y * 1.0 + 0.0001 * y * y  # dy_k/dy_{k-1} = 1 + 0.0002 y
        with shallow_stack():
            g = inner.gradient(y, x)
    with shallow_stack():
        h = outer.gradient(g, x)
    eps = 1e-6
    ys = []
    for x0 in (0.25 + eps, 0.25 - eps):
        xv = tv.Variable(x0, dtype=tv.float64)
        with tv.GradientTape() as tape:
            yv = xv
            for _ in range(n):
                yv = yv * 1.0 + 0.0001 * yv * yv
        ys.append(tape.gradient(yv, xv).numpy())
    np.testing.assert_allclose(h.numpy(), (ys[0] - ys[1]) / (2 * eps), rtol=1e-6)


# --- memory ----------------------------------------------------------------------------------
def _descent_step(x: tv.Variable, record: bool) -> None:
    with tv.GradientTape() as tape:
        z = 3.0 * x**2 + 2.0 * x - 1
    dz_x = tape.gradient(z, x)
    x.assign_sub(0.1 * dz_x)
    if record:
        tape.record()  # a display reads it; it goes with the tape


def _growth(steps: int, record: bool) -> tuple[int, str]:
    """Bytes still allocated after ``steps`` descent steps (after a warm-up)."""
    x = tv.Variable(0.0)
    tracemalloc.start()
    try:
        # warm up (traced too, so fixed-size caches count before and after alike): numpy's
        # small-array cache, the engine's deque of recent tapes, the last tape and its record
        for _ in range(300):
            _descent_step(x, record)
        gc.collect()
        before = tracemalloc.take_snapshot()
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(steps):
            _descent_step(x, record)
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - start
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert x.numpy() == np.float32(-0.3333333)
    return growth, "\n".join(str(s) for s in after.compare_to(before, "lineno")[:5])


def test_10000_tape_and_gradient_steps_do_not_grow_memory() -> None:
    growth, top = _growth(10_000, record=False)
    # keeping a single small object per step would add more than 500 kB
    assert growth < 64 * 1024, f"memory grew by {growth} bytes over 10 000 steps:\n{top}"


def test_building_records_in_a_loop_does_not_grow_memory() -> None:
    growth, top = _growth(1_000, record=True)
    assert growth < 16 * 1024, f"memory grew by {growth} bytes over 1 000 records:\n{top}"


def test_rebinding_the_tape_in_a_loop_holds_one_tape_at_a_time() -> None:
    x = tv.Variable(0.0)
    refs = []
    for _ in range(5):
        with tv.GradientTape() as tape:
            z = 3.0 * x**2
        x.assign_sub(0.1 * tape.gradient(z, x))
        tape.record()
        refs.append(weakref.ref(tape))
    # freed by reference counting alone: a tape makes no reference cycles
    assert [r() is not None for r in refs] == [False, False, False, False, True]


def test_the_record_outlives_the_sweep() -> None:
    x = tv.Variable(np.array([1.0, 2.0]))
    with tv.GradientTape() as tape:
        y = tv.reduce_sum(tv.exp(tv.sin(x)))
    g = tape.gradient(y, x)
    del y
    gc.collect()
    rec = tape.record()
    assert [n.op for n in rec.nodes] == [None, "sin", "exp", "reduce_sum"]
    np.testing.assert_array_equal(rec.gradients[0], g.numpy())
    assert len(rec.sweep) == 3


def test_a_non_persistent_tape_lets_go_of_intermediate_tensors() -> None:
    x = tv.Variable(np.ones(1000))
    with tv.GradientTape() as tape:
        a = tv.sin(x)
        y = tv.reduce_sum(tv.exp(a))
    intermediate = weakref.ref(a)
    del a
    tape.gradient(y, x)
    gc.collect()
    assert tape.record().nodes[1].value.shape == (1000,)  # the display keeps the values...
    assert intermediate() is None  # ...but not the tensor objects the sweep used


def test_a_non_persistent_tape_lets_go_of_vjp_closures() -> None:
    class Payload:
        pass

    alive: list[weakref.ReferenceType[Payload]] = []

    @tv.custom_gradient
    def double(t: tv.Tensor) -> tuple[tv.Tensor, Any]:
        payload = Payload()  # only grad_fn holds it
        alive.append(weakref.ref(payload))

        def grad_fn(dy: tv.Tensor) -> tv.Tensor:
            return dy * 2.0 if payload is not None else dy

        return t * 2.0, grad_fn

    x = tv.Variable(1.0)
    with tv.GradientTape() as tape:
        z = double(x)
    assert tape.gradient(z, x).numpy() == 2.0
    gc.collect()
    assert alive[0]() is None


# --- threads ---------------------------------------------------------------------------------
@pytest.fixture
def fast_thread_switching() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # make the two threads interleave op by op
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def test_two_threads_recording_at_once_do_not_see_each_others_tapes(
    fast_thread_switching: None,
) -> None:
    barrier = threading.Barrier(2, timeout=30)
    results: dict[str, Any] = {}
    errors: list[BaseException] = []

    def worker(name: str, factor: float) -> None:
        try:
            x = tv.Variable(1.0, name=name)
            with tv.GradientTape() as tape:
                barrier.wait()  # both tapes are open now
                depth = len(_state.local.tapes)
                y = x
                for _ in range(300):
                    y = y * factor
                barrier.wait()
            g = tape.gradient(y, x)
            rec = tape.record()
            variables = [n.name for n in rec.nodes if n.kind == "variable"]
            n_ops = sum(1 for n in rec.nodes if n.kind == "op")
            results[name] = (depth, variables, n_ops, g.numpy())
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
            barrier.abort()

    threads = [
        threading.Thread(target=worker, args=("a", 1.001)),
        threading.Thread(target=worker, args=("b", 0.999)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    for name, factor in (("a", 1.001), ("b", 0.999)):
        expected = np.float32(1)
        for _ in range(300):
            expected = expected * np.float32(factor)
        depth, variables, n_ops, grad = results[name]
        assert depth == 1  # only its own tape on this thread's stack
        assert variables == [f"{name}:0"]  # never the other thread's variable
        assert n_ops == 300
        assert grad == expected


def test_a_tape_does_not_record_ops_run_on_another_thread() -> None:
    x = tv.Variable(2.0)
    with tv.GradientTape() as tape:
        t = threading.Thread(target=lambda: tv.square(x))
        t.start()
        t.join()
    assert tape.record().nodes == ()
    assert tape.gradient(x * 1.0, x) is None


def test_name_scopes_are_per_thread() -> None:
    seen: list[str] = []
    with tv.name_scope("main"):
        t = threading.Thread(target=lambda: seen.append(_state.local.scope))
        t.start()
        t.join()
        assert _state.local.scope == "main/"
    assert seen == [""]


def test_the_sweep_lets_go_of_adjoints_it_has_used() -> None:
    # 40 ops on 1 MB arrays: a sweep that kept every adjoint would hold 40 MB more
    size = 1 << 17  # float64: 1 MiB per array
    x = tv.Variable(np.linspace(-1.0, 1.0, size))
    with tv.GradientTape() as tape:
        y = x
        for _ in range(40):
            y = tv.sin(y)
        loss = tv.reduce_sum(y)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        g = tape.gradient(loss, x)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    # a handful of arrays in flight (adjoint, cos, product, the result), not 40
    assert peak < 8 * size * 8, f"the sweep peaked at {peak / 2**20:.1f} MiB"
    # the same numbers as the chain rule written out (cosines multiplied outermost first)
    vs = [np.linspace(-1.0, 1.0, size)]
    for _ in range(40):
        vs.append(np.sin(vs[-1]))
    adj = np.ones(size)
    for v_in in reversed(vs[:-1]):
        adj = adj * np.cos(v_in)
    np.testing.assert_array_equal(g.numpy(), adj)


# --- threads recording at once (from the tape attacks) ---------------------------------------
def test_threads_recording_at_once_give_their_own_records() -> None:
    def work(i: int) -> tuple[Any, ...]:
        x = tv.Variable([0.1 * i, 1.0], dtype=F64, name=f"x{i}")
        with tv.name_scope(f"t{i}"), tv.GradientTape(persistent=True) as tape:
            y = x
            for _ in range(50):
                y = tv.sin(y) + x * 0.5
            L = tv.reduce_sum(y)
        g = tape.gradient(L, x)
        return g.numpy().tolist(), summary(tape.record())

    expected = {i: work(i) for i in range(4)}  # one thread at a time
    results: dict[int, Any] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(4, timeout=30)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    for i in range(4):
        g, rec = results[i]
        g0, rec0 = expected[i]
        assert g == g0
        # same record but for the variable name (a new Variable each run: same name)
        assert rec == rec0
        assert {n[9] for n in rec[0] if n[1] == "op"} == {f"t{i}"}
