"""In-place fused loops of ``tv.function``: loops writing into arrays the compiled code
allocated (matmul results, earlier loops' arrays), Variables storing such arrays, small
returned arrays allocated inside compiled code, chains over dtypes, shapes and layouts.
Compiled results equal eager ones bit for bit.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapeviz as tv

from .compiled import generated_source

JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


# --- in-place fused loops and Variables storing their arrays -------------------------------------
def _dense_step(w: tv.Variable, x: Any) -> tv.Tensor:
    """One step of a linear layer with a relu: ``d`` is written into the matmul's array,
    the new ``w`` into the second matmul's array (the case the change targets)."""
    d = tv.nn.relu(x @ w) - 0.5
    # (transpose_a: tv.transpose(x) @ d of float64 hits the cache bug pinned below)
    w.assign_sub(0.125 * tv.matmul(x, d, transpose_a=True))
    return d


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [8, 200])  # small arrays (allocated) and >= 64 KiB (pool)
def test_in_place_step_equals_eager_and_keeps_every_held_value(dtype: Any, rows: int) -> None:
    """Compiled steps give eager's numbers bit for bit (relu, products, sums: no
    transcendental), and every value a user held from earlier steps (``read_value``
    tensors, ``w._value`` references, returned outputs) keeps its numbers."""
    rng = np.random.default_rng(0)
    cols = 3 if rows == 8 else 90
    x = rng.standard_normal((rows, cols)).astype(dtype)
    w0 = (rng.standard_normal((cols, cols)) * 0.1).astype(dtype)
    w_c, w_e = tv.Variable(w0), tv.Variable(w0)
    f = tv.function(_dense_step)
    held: list[tuple[Any, Any, Any, np.ndarray, np.ndarray]] = []
    for k in range(4):
        read, ref, snapshot = w_c.read_value(), w_c._value, w_c.numpy()
        d_c = f(w_c, x)
        d_e = _dense_step(w_e, x)
        assert np.array_equal(d_c.numpy(), d_e.numpy()), k
        assert np.array_equal(w_c.numpy(), w_e.numpy()), k
        held.append((read, ref, d_c, snapshot, d_e.numpy()))
    for read, ref, d_c, snapshot, d_want in held:
        assert np.array_equal(read.numpy(), snapshot)
        assert np.array_equal(ref, snapshot)
        assert np.array_equal(d_c.numpy(), d_want)
    assert not w_c._value.flags.writeable  # a Variable's value never changes in place
    if not JIT_DISABLED and rows == 8:
        assert "# its array, overwritten" in generated_source(f, w_c, x)  # the path under test ran


def test_a_value_defined_before_a_loop_is_not_overwritten_inside_it() -> None:
    """``m`` (a matmul result, only read by one fused loop inside ``tv.range``) must keep
    its numbers on every iteration: overwriting it in place would add 2m, 4m... instead
    of m each time."""

    def fn(v: tv.Variable, x: Any) -> tv.Tensor:
        m = x @ tv.ones((3, 3))
        for _ in tv.range(4):
            v.assign(m + v)
        return v.read_value()

    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    v_c, v_e = tv.Variable(np.ones((4, 3), np.float32)), tv.Variable(np.ones((4, 3), np.float32))
    got = tv.function(fn)(v_c, x)
    want = fn(v_e, x)
    assert np.array_equal(got.numpy(), want.numpy())
    assert np.array_equal(v_c.numpy(), 1.0 + 4.0 * x.sum(axis=1, keepdims=True) * np.ones((1, 3)))


def test_in_place_inside_a_loop_body_over_a_value_the_body_reads_again() -> None:
    """In a loop body ``t = v @ v`` is overwritten by ``t * 0.5 + v`` (which reads the
    Variable, defined outside the group): each iteration must use the new ``v``."""

    def fn(v: tv.Variable) -> tv.Tensor:
        for _ in tv.range(3):
            t = v @ v
            v.assign(t * 0.5 + v.read_value())
        return v.read_value()

    w0 = np.array([[0.5, -0.25], [0.125, 0.75]], np.float32)
    v_c, v_e = tv.Variable(w0), tv.Variable(w0)
    assert np.array_equal(tv.function(fn)(v_c).numpy(), fn(v_e).numpy())
    assert np.array_equal(v_c.numpy(), v_e.numpy())


def test_one_fresh_array_assigned_to_two_variables_and_returned() -> None:
    """``y`` goes to two Variables and is returned: all three keep ``y``'s numbers after
    later calls with other inputs (nothing recycles or overwrites a held array)."""

    def fn(v: tv.Variable, u: tv.Variable, x: Any) -> tv.Tensor:
        y = (x @ x) * 2.0
        v.assign(y)
        u.assign(y)
        return y

    f = tv.function(fn)
    v, u = tv.Variable(np.zeros((3, 3), np.float32)), tv.Variable(np.zeros((3, 3), np.float32))
    x1 = np.arange(9, dtype=np.float32).reshape(3, 3)
    out1 = f(v, u, x1)
    want1 = (x1 @ x1) * np.float32(2.0)
    v1, u1 = v.read_value(), u.read_value()
    for k in range(2, 5):
        out = f(v, u, x1 * np.float32(k))
        assert np.array_equal(out.numpy(), (x1 * k) @ (x1 * k) * np.float32(2.0))
    for t in (out1, v1, u1):
        assert np.array_equal(t.numpy(), want1)
    assert not v._value.flags.writeable and not u._value.flags.writeable


@pytest.mark.parametrize("n", [3, 160])
def test_writing_into_a_returned_array_does_not_change_a_variable(n: int) -> None:
    """Eager ``u.assign(y); return y`` gives ``u`` its own copy; whatever a user does to the
    returned tensor's array (``np.asarray``), ``u`` keeps its value."""

    def fn(v: tv.Variable, u: tv.Variable) -> tv.Tensor:
        y = (v @ v) * 2.0
        u.assign(y)
        return y

    v, u = tv.Variable(np.ones((n, n), np.float32)), tv.Variable(np.zeros((n, n), np.float32))
    out = tv.function(fn)(v, u)
    want = u.numpy()
    arr = np.asarray(out)
    if arr.flags.writeable:
        arr[0, 0] = -1.0
    assert np.array_equal(u.numpy(), want)


def test_assigning_an_argument_or_its_view_copies_it() -> None:
    """Values that are (views of) the caller's numpy arrays are copied into the Variable:
    changing the caller's array later does not change the Variable."""

    def fn(v: tv.Variable, u: tv.Variable, x: Any) -> tv.Tensor:
        v.assign(x)
        u.assign(tv.reshape(x, (3, 2)))
        return tv.reduce_sum(x)

    f = tv.function(fn)
    v, u = tv.Variable(np.zeros((2, 3), np.float32)), tv.Variable(np.zeros((3, 2), np.float32))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    f(v, u, x)
    x[:] = -7.0
    assert np.array_equal(v.numpy(), np.arange(6, dtype=np.float32).reshape(2, 3))
    assert np.array_equal(u.numpy(), np.arange(6, dtype=np.float32).reshape(3, 2))


CHAINS: dict[str, tuple[Callable[..., Any], Callable[[np.random.Generator], list[Any]]]] = {
    # int32: matmul_loops' array, then integer arithmetic (cast back per element)
    "int32": (
        lambda a, b: (a @ b) * 3 - a[:, :1],
        lambda r: [r.integers(-5, 5, (4, 4)).astype(np.int32)] * 2,
    ),
    # a 3-d batched product, its array overwritten by a broadcast bias and relu
    "batched 3-d": (
        lambda a, b: tv.nn.relu(tv.matmul(a, b) + tv.constant([1.0, -2.0, 0.5], tv.float32)),
        lambda r: [
            r.standard_normal((2, 4, 5)).astype(np.float32),
            r.standard_normal((2, 5, 3)).astype(np.float32),
        ],
    ),
    # two loops in a row: the second writes into the first's array
    "chained loops": (
        lambda a, b: tv.reduce_sum(tv.square((a @ b) * 2.0), axis=0) + (a @ b)[0],
        lambda r: [r.standard_normal((6, 3)).astype(np.float64), np.eye(3)],
    ),
    # transposed (non-contiguous) arguments
    "non-contiguous": (
        lambda a, b: (a @ b - 1.0) * a[:, :1],
        lambda r: [
            r.standard_normal((4, 4)).astype(np.float32).T,
            r.standard_normal((4, 4)).astype(np.float32).T,
        ],
    ),
    # a dead use of the product next to the live one; a full sum of the overwritten array
    "dead code and a full sum": (
        lambda a, b: _with_dead_code(a, b),
        lambda r: [r.standard_normal((5, 5)).astype(np.float32)] * 2,
    ),
    # 1-d: a vector times a matrix (reshaped), then elementwise
    "1-d": (
        lambda a, b: tv.reshape(tv.reshape(a, (1, 4)) @ b, (4,)) * a + 1.0,
        lambda r: [r.standard_normal(4).astype(np.float32), np.eye(4, dtype=np.float32)],
    ),
}


def _with_dead_code(a: Any, b: Any) -> Any:
    m = a @ b
    _unused = m * 3.0
    y = m - 1.0
    return y, tv.reduce_sum(y)


@pytest.mark.parametrize("name", list(CHAINS))
def test_in_place_chains_over_dtypes_shapes_and_layouts(name: str) -> None:
    """Products followed by elementwise work equal eager bit for bit (no transcendental
    involved), and the caller's arrays keep their numbers."""
    fn, make = CHAINS[name]
    args = make(np.random.default_rng(3))
    before = [a.copy() for a in args]
    got = tv.function(fn)(*args)
    want = fn(*[tv.constant(a) for a in args])
    got_l = got if isinstance(got, tuple) else (got,)
    want_l = want if isinstance(want, tuple) else (want,)
    for g, w in zip(got_l, want_l, strict=True):
        assert g.dtype == w.dtype and np.array_equal(g.numpy(), w.numpy()), name
    for a, b in zip(args, before, strict=True):
        assert np.array_equal(a, b)
