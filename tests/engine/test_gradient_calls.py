"""Calling ``gradient`` many times: persistent tapes with sources in subsets and records
between the calls, the record cache, output gradients, unconnected zeros, structured
targets and sources, and Variables assigned between recording and ``gradient``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tapeviz as tv

from .sweeps import F64, fd, summary, values


# --- persistent tapes: many gradient calls, records between them ---------------------------------
def test_persistent_tape_many_sources_subsets_and_records_between() -> None:
    a = tv.Variable([0.5, -1.0, 2.0], dtype=F64, name="a")
    b = tv.Variable(1.25, dtype=F64, name="b")
    c = tv.constant([[1.0], [2.0]], dtype=F64, name="c")

    def f(av: np.ndarray, bv: np.ndarray, cv: np.ndarray) -> Any:
        return np.sum(np.tanh(cv * av) * bv + np.exp(av / (bv + 2.0)) ** 2)

    with tv.GradientTape(persistent=True) as tape:
        tape.watch(c)
        h = tv.tanh(c * a) * b
        L = tv.reduce_sum(h + tv.exp(a / (b + 2.0)) ** 2)
    a0, b0, c0 = a.numpy(), b.numpy(), c.numpy()
    ga = fd(lambda v: f(v, b0, c0), a0)
    gb = fd(lambda v: f(a0, v, c0), b0)
    gc = fd(lambda v: f(a0, b0, v), c0)
    seen = []
    for srcs, want in [
        ([a, b, c], [ga, gb, gc]),
        ([b], [gb]),
        ([c, a], [gc, ga]),
        ([a], [ga]),
        ([b, b], [gb, gb]),
    ]:
        got = tape.gradient(L, srcs)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-7, atol=1e-9)
        rec = tape.record()
        # the record's gradients for the sources are what gradient returned, bit for bit
        for s, g in zip(srcs, got, strict=True):
            node = rec.node_of(s)
            assert node is not None
            np.testing.assert_array_equal(rec.gradients[node.id], g.numpy())
        assert rec.sources == tuple(rec.node_of(s).id for s in srcs)  # type: ignore[union-attr]
        seen.append(summary(rec))
    # asking again for a previous set of sources gives the very same record as before
    tape.gradient(L, [a, b, c])
    assert summary(tape.record()) == seen[0]
    assert seen[1] != seen[0]  # the record follows the most recent sweep


def test_record_cache_follows_sweeps_watches_and_new_ops() -> None:
    x = tv.Variable(2.0, dtype=F64, name="x")
    k = tv.constant(4.0, dtype=F64, name="k")
    with tv.GradientTape(persistent=True) as tape:
        y = x * x
        r0 = tape.record()
        assert tape.record() is r0  # nothing changed
        z = y * k
        r1 = tape.record()
    assert r1 is not r0 and len(r1.nodes) == 4 and r1.sweep == ()
    tape.gradient(z, x)
    r2 = tape.record()
    assert [s.adjoint.tolist() for s in r2.sweep] == [1.0, 4.0]
    tape.gradient(y, x)  # same numbers of entries and watched tensors: only a sweep more
    r3 = tape.record()
    assert r3 is not r2 and [s.adjoint.tolist() for s in r3.sweep] == [1.0]
    assert r3.gradients[r3.node_of(x).id].tolist() == 4.0  # type: ignore[union-attr]
    assert tape.record() is r3
    tape.jacobian(z, x)  # not a traced sweep: the record still shows gradient(y, x)
    assert summary(tape.record()) == summary(r3)
    with tape:
        tape.watch(k)
    r4 = tape.record()
    assert r4.node_of(k).watched  # type: ignore[union-attr]
    assert tape.gradient(z, k).numpy() == 4.0
    tape.reset()
    assert tape.record().nodes == () and tape.record().sweep == ()


def test_output_gradients_in_the_record_and_a_seed_changed_afterwards() -> None:
    x = tv.Variable([1.0, -2.0, 0.5], dtype=F64, name="x")
    with tv.GradientTape() as tape:
        y = tv.sin(x) * x
    seed = np.array([2.0, -1.0, 0.5])
    g = tape.gradient(y, x, output_gradients=tv.constant(seed))
    x0 = x.numpy()
    want = seed * (np.cos(x0) * x0 + np.sin(x0))
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-15)
    seed[:] = 100.0  # the caller's array changes after the call
    rec = tape.record()
    assert rec.sweep[0].adjoint.tolist() == [2.0, -1.0, 0.5]
    np.testing.assert_array_equal(rec.gradients[rec.node_of(x).id], g.numpy())  # type: ignore[union-attr]


def test_unconnected_zero_has_the_source_shape_and_dtype() -> None:
    a = tv.Variable([[1.0, 2.0]], dtype=F64)
    b = tv.Variable(np.float32(3.0))
    c = tv.constant([1.0, 2.0, 3.0], dtype="float16")
    with tv.GradientTape(persistent=True) as tape:
        tape.watch(c)
        y = tv.reduce_sum(a * 2.0)
    ga, gb, gc, gy = tape.gradient(
        y, [a, b, c, y], unconnected_gradients=tv.UnconnectedGradients.ZERO
    )
    assert ga.numpy().tolist() == [[2.0, 2.0]]
    assert gb.numpy() == 0.0 and gb.dtype == tv.float32 and gb.shape == ()
    assert gc.numpy().tolist() == [0.0, 0.0, 0.0] and gc.dtype == tv.float16
    assert gy.numpy() == 1.0
    assert tape.gradient(y, [b, c]) == [None, None]
    assert tape.gradient(y, b, unconnected_gradients="zero").numpy() == 0.0
    rec = tape.record()
    assert rec.sweep == () and rec.gradients == {}  # the target reaches no source


def test_targets_listed_twice_and_structured_sources() -> None:
    x = tv.Variable(0.3, dtype=F64, name="x")
    w = tv.Variable([1.0, 2.0], dtype=F64, name="w")
    with tv.GradientTape(persistent=True) as tape:
        y = tv.exp(x) * w
        s = tv.reduce_sum(y)
    ex = np.exp(0.3)
    g = tape.gradient([s, s, y], {"w": w, "inner": [y, (x,)]})
    assert list(g) == ["w", "inner"]
    np.testing.assert_allclose(g["w"].numpy(), 3 * ex * np.ones(2), rtol=1e-15)
    np.testing.assert_allclose(g["inner"][0].numpy(), [3.0, 3.0])
    np.testing.assert_allclose(g["inner"][1][0].numpy(), 3 * ex * 3.0, rtol=1e-15)
    assert isinstance(g["inner"][1], tuple)


# --- Variables assigned between recording and gradient -------------------------------------------
def test_a_variable_assigned_before_gradient_uses_the_recorded_value() -> None:
    v = tv.Variable([1.0, 2.0], dtype=F64, name="v")
    s = tv.Variable(3.0, dtype=F64, name="s")
    with tv.GradientTape(persistent=True) as tape:
        y = tv.reduce_sum(v * v * s)
    v.assign([10.0, 20.0])
    s.assign_sub(tv.constant(1.0, dtype=F64))  # the scalar fast path
    assert float(s) == 2.0
    gv, gs = tape.gradient(y, [v, s])
    assert gv.numpy().tolist() == [6.0, 12.0]  # 2 v s with the recorded v, s
    assert gs.numpy() == 5.0  # Σ v²
    rec = tape.record()
    assert rec.node_of(v).value.tolist() == [1.0, 2.0]  # type: ignore[union-attr]
    # under an outer tape (tensor sweep) the recorded values are used as well
    with tv.GradientTape():
        assert values(tape.gradient(y, [v, s])) == [[6.0, 12.0], 5.0]


def test_assign_sub_scalar_fast_path_and_its_errors() -> None:
    v = tv.Variable(np.float32(1.0))
    v.assign_sub(tv.constant(np.float32(0.25)))
    assert v.numpy() == np.float32(0.75) and v.dtype == tv.float32
    v.assign_sub(0.25)  # a Python number
    assert v.numpy() == np.float32(0.5)
    v.assign_sub(tv.Variable(np.float32(0.5)))  # a Variable delta (slow path)
    assert v.numpy() == 0.0
    with pytest.raises((TypeError, ValueError)):
        v.assign_sub(tv.constant(1.0, dtype=F64))  # another dtype
    with pytest.raises(ValueError):
        v.assign_sub(tv.constant([1.0]))  # another shape
    assert v.numpy() == 0.0  # unchanged by the failed calls
    before = v._value
    v.assign_sub(tv.constant(np.float32(-2.0)))
    assert before == 0.0 and v.numpy() == 2.0  # a new value, the old one untouched
    # an optimizer step through assign_sub equals the arithmetic
    w = tv.Variable(np.float32(3.0))
    opt = tv.keras.optimizers.SGD(learning_rate=0.1)
    with tv.GradientTape() as tape:
        loss = w * w
    opt.apply_gradients([(tape.gradient(loss, w), w)])
    assert w.numpy() == np.float32(3.0) - np.float32(0.1) * np.float32(6.0)
