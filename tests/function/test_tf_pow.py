"""float32 ``pow`` with Eigen's ``generic_pow``, bit for bit equal to TensorFlow 2.21 on CPU:
eager, compiled (fused and whole), on the numpy interpreter.

``tests/data/tf_pow.npz`` (written by ``tools/record_pow_tf.py``) holds 4096 (base,
exponent) pairs — C's special cases, then random pairs — and ``tf.pow`` of them, arrays of a
multiple of 8 numbers (TensorFlow's packet path); a scalar exponent; a broadcast grid; and 13
pairs as one tensor, whose last 5 TensorFlow computes with the C library's ``powf``.
TensorFlow's kernels flush subnormals, so the kernels run the same way here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz import _eigen_pow as P
from tapeviz.compiler import interp
from tapeviz.compiler import kernels as K

pytestmark = pytest.mark.skipif(
    os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0") or not K.FLUSHES_SUBNORMALS,
    reason="numba kernels, compared with subnormals flushed (x86-64)",
)

DATA = np.load(Path(__file__).parent.parent / "data" / "tf_pow.npz")


def _same(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Per entry: the same bits, or both NaN (payloads aside)."""
    got = np.asarray(got, np.float32)
    return (got.view(np.int32) == want.view(np.int32)) | (np.isnan(got) & np.isnan(want))


def _assert_tf(got: Any, want: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    same = _same(got, want)
    assert same.all(), list(zip(x[~same][:5], y[~same][:5], strict=True))


def _flushed(run: Any) -> Any:
    fp = K.flush_subnormals_enter()
    try:
        return run()
    finally:
        K.flush_subnormals_leave(fp)


def test_numpy_version_equals_tensorflow() -> None:
    x, y = DATA["x"], DATA["y"]
    _assert_tf(_flushed(lambda: P.pow(x, y)), DATA["tf"], x, y)


def test_compiled_kernel_equals_tensorflow() -> None:
    x, y = DATA["x"], DATA["y"]
    _assert_tf(_flushed(lambda: K.pow32_loop(x, y)), DATA["tf"], x, y)


def test_special_cases() -> None:
    """A few of C's rules, as TensorFlow's packet code gives them (read from its data)."""
    x, y, want = DATA["x"], DATA["y"], DATA["tf"]
    table = {(float(a), float(b)): w for a, b, w in zip(x[:528], y[:528], want[:528], strict=True)}

    def at(a: float, b: float) -> Any:
        return table[(float(np.float32(a)), float(np.float32(b)))]

    assert at(0.0, -2.0) == np.inf and at(-2.0, 3.0) == -8.0
    assert np.isnan(at(-2.0, 0.5)) and at(np.inf, -1.0) == 0
    assert at(-1.0, np.inf) == 1 and at(2.0, 1e9) == np.inf and at(0.5, 1e9) == 0
    xs, ys, ws = x[:528], y[:528], want[:528]
    assert (ws[(ys == 0) | (xs == 1)] == 1).all()  # x**0 = 1**y = 1, even for NaN
    assert np.isnan(ws[np.isnan(ys) & (xs != 1)]).all()
    square = (y == 2) & np.isfinite(want)
    assert (want[square] != x[square] * x[square]).sum() >= 3  # x**2 is not always x * x


def test_eager_pow_and_operator_equal_tensorflow() -> None:
    x, y = tv.constant(DATA["x"]), tv.constant(DATA["y"])
    _assert_tf((x**y).numpy(), DATA["tf"], DATA["x"], DATA["y"])
    _assert_tf(tv.pow(x, y).numpy(), DATA["tf"], DATA["x"], DATA["y"])


@pytest.mark.filterwarnings("error")  # (no FutureWarning from numba reading a broadcast view)
@pytest.mark.parametrize("loaded", [False, True], ids=["numpy-version", "compiled-loop"])
def test_eager_arrays_before_and_after_the_loops_are_loaded(loaded: bool, monkeypatch: Any) -> None:
    """Eager float32 arrays take the numpy version until numba's loops are loaded, then the
    compiled loop (:data:`tapeviz._eigen_jit.PAIR_LOOPS`): TensorFlow's bits either way, for
    two arrays, a scalar exponent (broadcast), a strided base and a (64, 1) ** (1, 8) grid."""
    from tapeviz import _eigen_f32 as E

    assert E.load_compiled(wait=True), "numba could not load or compile the eager loops"
    loop = E.LOOPS["pow"]
    calls: list[int] = []

    def counted(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
        loop(x, y, out)  # (a TypeError here would send eager code to numpy)
        calls.append(x.size)

    monkeypatch.setitem(E._load, "started", True)  # (no loading meanwhile)
    monkeypatch.setattr(E, "LOOPS", {"pow": counted} if loaded else {})
    x, y, want = DATA["x"], DATA["y"], DATA["tf"]
    _assert_tf(_flushed(lambda: (tv.constant(x) ** tv.constant(y)).numpy()), want, x, y)
    base = np.abs(x[:512])
    scalar = _flushed(lambda: (tv.constant(base) ** 2.5).numpy())
    _assert_tf(scalar, DATA["scalar_tf"], x[:512], y[:512])
    wide = np.repeat(base, 2)[::2]  # (a strided view of the same numbers)
    strided = _flushed(lambda: P.pow(wide, np.float32(2.5)))
    _assert_tf(strided, DATA["scalar_tf"], x[:512], y[:512])
    col, row = DATA["grid_x"], DATA["grid_y"]
    grid = _flushed(lambda: (tv.constant(col) ** tv.constant(row)).numpy())
    _assert_tf(grid, DATA["grid_tf"], *np.broadcast_arrays(col, row))
    assert len(calls) == (4 if loaded else 0)


def test_scalar_exponent_and_broadcasting() -> None:
    """A 0-d exponent and a (64, 1) ** (1, 8) grid take the packet code in TensorFlow."""
    base = tv.constant(np.abs(DATA["x"][:512]))
    e = tv.constant(np.float32(2.5))
    _assert_tf((base**e).numpy(), DATA["scalar_tf"], DATA["x"][:512], DATA["y"][:512])
    _assert_tf((base**2.5).numpy(), DATA["scalar_tf"], DATA["x"][:512], DATA["y"][:512])
    col, row = tv.constant(DATA["grid_x"]), tv.constant(DATA["grid_y"])
    grid = DATA["grid_tf"]
    _assert_tf((col**row).numpy(), grid, *np.broadcast_arrays(DATA["grid_x"], DATA["grid_y"]))
    f = tv.function(lambda a, b: a**b)
    _assert_tf(f(col, row).numpy(), grid, *np.broadcast_arrays(DATA["grid_x"], DATA["grid_y"]))
    g = tv.function(lambda a: a**2.5)
    _assert_tf(g(base).numpy(), DATA["scalar_tf"], DATA["x"][:512], DATA["y"][:512])


def test_single_numbers_take_powf_as_tensorflow() -> None:
    """A 0-d tensor is TensorFlow's C library ``powf``: eager and compiled give its bits."""
    tx, ty, want = DATA["tail_x"], DATA["tail_y"], DATA["single_tf"]
    f = tv.function(lambda a, b: a**b)
    for a, b, w in zip(tx, ty, want, strict=True):
        for got in (tv.constant(a) ** tv.constant(b), f(tv.constant(a), tv.constant(b))):
            assert _same(got.numpy(), np.float32(w)), (a, b)


def test_a_tensors_last_n_mod_8_numbers() -> None:
    """TensorFlow computes a tensor's last ``n % 8`` numbers with ``powf`` (its packet code
    the rest): tapeviz too, eagerly and compiled — 13 numbers: 8 by ``generic_pow``, 5 by
    ``powf`` (more lengths and shapes: ``test_tf_tails.py``)."""
    tx, ty, tail = DATA["tail_x"], DATA["tail_y"], DATA["tail_tf"]
    assert _same(tail[8:], DATA["single_tf"][8:]).all()  # TensorFlow's tail is powf
    got = (tv.constant(tx) ** tv.constant(ty)).numpy()
    assert _same(got, tail).all()
    f = tv.function(lambda a, b: a**b)
    assert _same(f(tv.constant(tx), tv.constant(ty)).numpy(), tail).all()
    packet = _flushed(lambda: P.pow(tx[:8], ty[:8]))
    assert _same(packet, tail[:8]).all()  # the first 8: the packet code


@pytest.mark.parametrize("mode", ["fused", "whole"])
def test_compiled_and_interpreted_equal_tensorflow(mode: str) -> None:
    x, y = tv.constant(DATA["x"]), tv.constant(DATA["y"])

    def fn(a: tv.Tensor, b: tv.Tensor) -> tv.Tensor:
        return -(a**b) if mode == "fused" else a**b  # (negation keeps every bit but the sign)

    want = -DATA["tf"] if mode == "fused" else DATA["tf"]
    f = tv.function(fn)
    _assert_tf(f(x, y).numpy(), want, DATA["x"], DATA["y"])
    cf = f.get_concrete_function(x, y)
    outs, _ = _flushed(lambda: interp.run(cf.program, [x._value, y._value], []))
    interpreted = [outs[v] for kind, v in cf._out_leaves if kind == "out"]
    _assert_tf(interpreted[0], want, DATA["x"], DATA["y"])


def test_python_kernel_is_what_numba_compiles() -> None:
    """The scalar kernel run as Python on numpy scalars gives the compiled kernel's bits
    (normal results; Python's scalars here do not flush subnormals)."""
    x, y = DATA["x"][::8], DATA["y"][::8]
    compiled = _flushed(lambda: K.pow32_loop(x, y))
    with np.errstate(all="ignore"):
        python = np.array([P.pow32(a, b) for a, b in zip(x, y, strict=True)], np.float32)
    tiny = np.finfo(np.float32).tiny
    normal = ~((np.abs(python) < tiny) & (python != 0))
    normal &= ~((np.abs(x) < tiny) & (x != 0)) & ~((np.abs(y) < tiny) & (y != 0))
    assert normal.sum() > 400
    assert _same(python[normal], compiled[normal]).all()


def test_float32_pow_programs_may_be_tiered() -> None:
    """The interpreter and compiled code give the same bits for float32 ``pow`` of arrays
    (Eigen's in both), so tiered execution may switch; float64 arrays keep numpy's power in
    the interpreter, which compiled code does not reproduce for every exponent."""
    from tapeviz.compiler import tiered

    f = tv.function(lambda a, b: a**b)
    x32, y32 = tv.constant(DATA["x"][:64]), tv.constant(DATA["y"][:64])
    assert tiered.interpreted_alike(f.get_concrete_function(x32, y32).program)
    x64, y64 = tv.cast(x32, tv.float64), tv.cast(y32, tv.float64)
    assert not tiered.interpreted_alike(f.get_concrete_function(x64, y64).program)


def test_nine_squared_as_tensorflow_computes_it() -> None:
    """TF 2.21: ``tf.constant([9.0] * 8) ** 2`` is 81.00001 in every entry (its packet code),
    ``tf.constant(9.0) ** 2`` is 81.0 (``powf``); in a ``tf.function`` the graph optimizer
    makes ``x ** 2`` a Square: 81.0."""
    nine = np.float32(81.00001)
    assert (tv.constant([9.0] * 8) ** 2).numpy().tolist() == [nine] * 8
    assert tv.function(lambda a: a**2)(tv.constant([9.0] * 8)).numpy().tolist() == [81.0] * 8
    assert (tv.constant(9.0) ** 2).numpy() == np.float32(81.0)


GRAPH = {2.0: lambda r: r * r, 3.0: lambda r: r * (r * r), 1.0: lambda r: r}
GRAPH |= {0.5: np.sqrt, -1.0: lambda r: np.float32(1.0) / r}


@pytest.mark.parametrize("mode", ["fused", "whole"])
@pytest.mark.parametrize("c", sorted(GRAPH))
def test_graph_rewrite_of_constant_exponents_as_tf_function(c: float, mode: str) -> None:
    """TF 2.21's grappler (ConvertPow) turns ``x ** c`` in a ``tf.function`` into Square
    (c = 2), x·Square(x) (3), Identity (1), Sqrt (0.5), Reciprocal (-1): measured, 4096
    values uniform in (0, 10) (seed 0), ``tf.function(lambda x: x**2)`` equals ``x * x``
    in every entry while eager ``x ** 2`` does in 72.02 % (2950 of 4096) — generic_pow.
    tv.function does the same, compiled and on its interpreter; eager keeps generic_pow;
    other exponents (2.5, -2) keep generic_pow in tv.function too."""
    r = np.random.default_rng(0).uniform(0, 10, 4096).astype(np.float32)
    x = tv.constant(r)
    f = tv.function((lambda a: -(a**c)) if mode == "fused" else (lambda a: a**c))
    sign = np.float32(-1.0 if mode == "fused" else 1.0)
    want = sign * GRAPH[c](r)
    assert np.array_equal(f(x).numpy().view(np.int32), want.view(np.int32))
    cf = f.get_concrete_function(x)
    outs, _ = _flushed(lambda: interp.run(cf.program, [x._value], []))
    interpreted = next(outs[v] for kind, v in cf._out_leaves if kind == "out")
    assert np.array_equal(interpreted.view(np.int32), want.view(np.int32))
    eager = (x**c).numpy()
    assert np.array_equal(
        eager.view(np.int32), _flushed(lambda: P.pow(r, np.float32(c))).view(np.int32)
    )
    if c == 2.0:
        assert int((eager == r * r).sum()) == 2950  # TF 2.21's eager x ** 2: 72.02 % equal
    for other in (2.5, -2.0):  # not rewritten: generic_pow
        g = tv.function(lambda a, e=other: a**e)
        assert np.array_equal(g(x).numpy().view(np.int32), (x**other).numpy().view(np.int32))
