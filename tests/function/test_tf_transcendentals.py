"""float32 exp, log, tanh, sigmoid, sin and cos kernels with Eigen's arithmetic, bit for bit
equal to TensorFlow 2.21 on CPU; the numpy versions of eager code equal to them.

``tests/data/tf_transcendentals.npz`` (written by ``tools/record_transcendentals_tf.py``)
holds, per function, 4096 inputs (special values, then a random sample of the 1e6 values
the README's ulp table was measured on) and ``tf.math.<name>`` of them as TensorFlow 2.21
computed them (eager; the recorder checks that tf.function gives the same).  TensorFlow's
kernels flush subnormals, so the kernels run the same way here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest

import tapeviz as tv
from tapeviz import _eigen_f32 as E
from tapeviz import _eigen_jit as J
from tapeviz.compiler import interp, tiered
from tapeviz.compiler import kernels as K

pytestmark = pytest.mark.skipif(
    os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0") or not K.FLUSHES_SUBNORMALS,
    reason="numba kernels, compared with subnormals flushed (x86-64)",
)

DATA = np.load(Path(__file__).parent.parent / "data" / "tf_transcendentals.npz")


_loop = K.elementwise


@pytest.mark.parametrize(
    ("name", "kernel"),
    [
        ("exp", K.exp32),
        ("log", K.log32),
        ("tanh", K.tanh32),
        ("sigmoid", K.sigmoid32),
        ("sin", K.sin32),
        ("cos", K.cos32),
    ],
)
def test_equal_to_tensorflow_bit_for_bit(name: str, kernel: Any) -> None:
    x, want = DATA[name + "_x"], DATA[name + "_tf"]
    fp = K.flush_subnormals_enter()
    try:
        got = _loop(kernel)(x)
    finally:
        K.flush_subnormals_leave(fp)
    assert got.dtype == np.float32
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)  # (NaN payloads aside)
    same = got[~nan].view(np.int32) == want[~nan].view(np.int32)
    assert same.all(), x[~nan][~same][:10]


def test_specials_as_tensorflow_gives_them() -> None:
    x = DATA["exp_x"][:5]  # nan, inf, -inf, 0, -0
    fp = K.flush_subnormals_enter()
    try:
        e, t = _loop(K.exp32)(x), _loop(K.tanh32)(x)
    finally:
        K.flush_subnormals_leave(fp)
    assert np.isnan(e[0]) and e[1] == np.inf and e[2] == 0 and e[3] == e[4] == 1
    assert np.isnan(t[0]) and list(t[1:3]) == [1, -1] and np.signbit(t[4])


def _flushed(x: np.ndarray) -> np.ndarray:
    """``x`` with subnormals replaced by zeros of their sign (what DAZ reads)."""
    out = x.copy()
    tiny = np.abs(out) < np.finfo(np.float32).tiny
    out[tiny] = out[tiny] * 0
    return out


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_numpy_sincos_equals_the_kernels_and_tensorflow(name: str) -> None:
    """Eager code's numpy version of Eigen's sin/cos gives the numba kernel's bits (one
    rounding per operation in both), hence TensorFlow's."""
    x, want = DATA[name + "_x"], DATA[name + "_tf"]
    got = _flushed(E.sincos(_flushed(x), name == "sin"))
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    assert np.array_equal(got[~nan].view(np.int32), want[~nan].view(np.int32))
    rng = np.random.default_rng(5)
    wide = np.concatenate(
        [rng.uniform(-3e4, 3e4, 20_000), np.exp(rng.uniform(9, 88, 20_000))]
    ).astype(np.float32)
    kernel = _loop(K.sin32 if name == "sin" else K.cos32)(wide)
    assert np.array_equal(kernel.view(np.int32), E.sincos(wide, name == "sin").view(np.int32))


def test_huge_argument_reduction_without_a_table() -> None:
    """The vectorised kernel reads 2/π from 64-bit words; Eigen's table gives the same."""
    rng = np.random.default_rng(6)
    lo, hi = np.float32(16384).view(np.int32), np.finfo(np.float32).max.view(np.int32)
    x = rng.integers(lo, hi, 200_000, endpoint=True).astype(np.int32).view(np.float32)

    @numba.njit(error_model="numpy")
    def reduce_all(x: Any) -> Any:
        r = np.empty_like(x)
        q = np.empty(x.shape[0], np.int32)
        for i in range(x.shape[0]):
            r[i], q[i] = J._reduce_huge32(x[i])
        return r, q

    r, q = reduce_all(x)
    r_table, q_table = E.reduce_huge(x)
    assert np.array_equal(r.view(np.int32), r_table.view(np.int32))
    assert np.array_equal(q, q_table)


# --- eager code: the same arithmetic ---------------------------------------------------------
EAGER_OPS = {
    "exp": tv.exp,
    "log": tv.math.log,
    "tanh": tv.tanh,
    "sigmoid": tv.sigmoid,
    "sin": tv.sin,
    "cos": tv.cos,
}


@pytest.mark.parametrize("name", sorted(EAGER_OPS))
def test_eager_ops_equal_tensorflow_bit_for_bit(name: str) -> None:
    """``tv.exp`` & co. of a float32 tensor give TensorFlow's bits (eager float32 arrays
    run with subnormals flushed, as TensorFlow's kernels)."""
    x, want = DATA[name + "_x"], DATA[name + "_tf"]
    got = EAGER_OPS[name](tv.constant(x)).numpy()
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    assert np.array_equal(got[~nan].view(np.int32), want[~nan].view(np.int32))


def _wide_sample(seed: int) -> np.ndarray:
    """Values over the whole float32 range: uniform, exponential, any bit pattern, specials."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(-(2**31), 2**31 - 1, 20_000).astype(np.int32).view(np.float32)
    special = [0.0, -0.0, 1e-40, -1e-40, np.inf, -np.inf, np.nan, 88.72, 88.723, 88.73]
    special += [-104.0, -103.99, -87.5, 7.91, 16.64, 25965.9, 25966.0, 18837.9, 18838.0, 3.4e38]
    values = np.concatenate(
        [rng.uniform(-120, 120, 20_000), np.exp(rng.uniform(-87, 88, 10_000)), special]
    ).astype(np.float32)
    return np.concatenate([values, -values[-len(special) :], bits])


C_LIBRARY = {"exp": K.expf, "log": K.logf, "sin": K.sinf, "cos": K.cosf, "sigmoid": K.sigmoidf}


@pytest.mark.parametrize("loaded", [False, True], ids=["numpy-versions", "compiled"])
@pytest.mark.parametrize("name", sorted(E.SCALAR_KERNELS))
def test_eager_scalars_arrays_and_kernels_agree(name: str, loaded: bool, monkeypatch: Any) -> None:
    """The forms of each function give the same bits: the kernel compiled by numba
    (subnormals flushed) and eager code's numpy array version (flushed); for single
    numbers, eager code and compiled code both take TensorFlow's scalar code: the C library's
    ``expf``, ``logf``, ``sinf``, ``cosf``, sigmoid's ``e / (1 + e)`` and Eigen's ``tanh``
    (the kernel run as Python on numpy scalars until numba's loops are loaded, then
    compiled: IEEE, its result flushed).  Eager arrays: the numpy versions, or once loaded
    the compiled loops.  Subnormal inputs to a single number are read as numbers (compiled
    code reads them as zero), so they are left out."""
    if loaded:
        assert E.load_compiled(wait=True)
        assert set(E.NUMBERS) == {"tanh"}
        assert set(E.LOOPS) == {*E.SCALAR_KERNELS, "pow"}
    else:
        monkeypatch.setattr(E, "LOOPS", {})
        monkeypatch.setattr(E, "NUMBERS", {})
        monkeypatch.setitem(E._load, "started", True)  # (no loading meanwhile)
    x = _wide_sample(7)
    number = C_LIBRARY.get(name, getattr(K, name + "32"))
    fp = K.flush_subnormals_enter()
    try:
        kernel = _loop(getattr(K, name + "32"))(x)
        array = E.FUNCTIONS[name](x)
        compiled_numbers = _loop(number)(x)
    finally:
        K.flush_subnormals_leave(fp)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # (else: arrays)
        scalar = _flushed(np.array([E.FUNCTIONS[name](v) for v in x], np.float32))
    subnormal = (np.abs(x) < np.finfo(np.float32).tiny) & (x != 0)
    for got, want, skip in (
        (array, kernel, np.zeros_like(subnormal)),
        (scalar, compiled_numbers, subnormal),
    ):
        nan = np.isnan(want)
        assert np.array_equal(np.isnan(got)[~skip], nan[~skip])
        same = (got.view(np.int32) == want.view(np.int32)) | nan | skip
        assert same.all(), x[~same][:10]
    assert type(E.FUNCTIONS[name](np.float32(0.5))) is np.float32


@pytest.mark.parametrize("name", sorted(J.NUMBER_FUNCTIONS))
def test_number_calls_are_the_c_library_s_functions(name: str) -> None:
    """Eager code's float32 numbers, once numba is loaded, call the C library's ``expf`` &
    co. (and TF's scalar sigmoid) as Python built-in functions of machine code: the same
    bits as through ctypes (the C library itself) on every kind of number, subnormals,
    NaN and infinities included; a wrong argument is Python's TypeError."""
    assert E.load_compiled(wait=True)
    call = J.number_calls()[name]
    by_ctypes = E._PARTS[name][0]  # (before loading: the C library through ctypes)
    assert E._PARTS[name][1] is None  # (glibc: every float32 number takes it)
    x = _wide_sample(11)[::3]
    got = np.array([call(v) for v in x], np.float32)
    want = np.array([by_ctypes(v) for v in x], np.float32)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan) and 0 < nan.sum() < len(x) // 2
    assert np.array_equal(got[~nan].view(np.int32), want[~nan].view(np.int32))
    assert type(call(np.float32(0.5))) is float
    assert E.FUNCTIONS[name](np.float32(0.5)) == np.float32(call(np.float32(0.5)))
    with pytest.raises(TypeError):
        call("0.5")


@pytest.mark.parametrize("name", sorted(EAGER_OPS))
def test_single_numbers_as_tensorflow_computes_them(name: str) -> None:
    """TensorFlow computes a 0-d tensor (a tensor's last n % 8 elements) with the C
    library's ``expf``/``logf``/``sinf``/``cosf``, Eigen's ``tanh`` and its scalar sigmoid
    ``e / (1 + e)``: eager tapeviz gives its bits.  Subnormal inputs are left out
    (TensorFlow's scalar path does not flush them; tapeviz's scalar ops flush a subnormal
    result)."""
    x, want = DATA[name + "_scalar_x"], DATA[name + "_scalar_tf"]
    got = np.array([EAGER_OPS[name](tv.constant(v)).numpy() for v in x], np.float32)
    nan = np.isnan(want)
    tiny = np.finfo(np.float32).tiny
    keep = ((np.abs(want) >= tiny) | (want == 0) | nan) & ~((np.abs(x) < tiny) & (x != 0))
    assert np.array_equal(np.isnan(got), nan)
    same = (got.view(np.int32) == want.view(np.int32)) | nan | ~keep
    assert same.all(), x[~same][:10]
    assert (~keep).sum() <= 1  # (1e-40)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_eager_compiled_and_interpreted_agree(dtype: Any) -> None:
    """A tv.function with the six functions and their gradients: compiled code, the numpy
    interpreter and eager code give the same bits in float32 (Eigen's arithmetic in all
    three); float64 keeps numpy's functions eagerly and in the interpreter."""
    x = tv.constant(_wide_sample(8)[:30_000].astype(dtype) % 30)
    s = tv.constant(dtype(0.75))

    def both(x: tv.Tensor, s: tv.Tensor) -> list[tv.Tensor]:
        with tv.GradientTape() as tape:
            tape.watch([x, s])
            y = tv.tanh(x) * tv.exp(-x) + tv.sigmoid(x) * tv.sin(x) + tv.cos(x)
            y = y + tv.math.log(tv.abs(x) + 1.0) + tv.sin(s) * tv.exp(s) * tv.sigmoid(s)
            loss = tv.reduce_sum(y)
        return [y, *tape.gradient(loss, [x, s])]

    eager = [t.numpy() for t in both(x, s)]
    f = tv.function(both)
    compiled = [t.numpy() for t in f(x, s)]
    cf = f.get_concrete_function(x, s)
    outs, _ = interp.run(cf.program, [x._value, s._value], [])
    interpreted = [outs[v] for kind, v in cf._out_leaves if kind == "out"]
    assert len(interpreted) == 3
    for e, i in zip(eager, interpreted, strict=True):
        assert np.array_equal(np.asarray(e), np.asarray(i), equal_nan=True)
    if dtype == np.float32:
        for e, c in zip(eager, compiled, strict=True):
            assert np.array_equal(np.asarray(e).view(np.int32), np.asarray(c).view(np.int32))
    assert tiered.interpreted_alike(cf.program) == (dtype == np.float32)


def test_whole_values_take_the_kernels_too() -> None:
    """``K.map32`` (generated code's form for a single number or an array outside a fused
    loop): the kernel's bits for each entry of a strided 2-D array, the C library's
    function for a single number."""
    x = _wide_sample(9)[:20_000].reshape(100, 200)[:, ::3]

    @numba.njit(error_model="numpy")
    def whole(x: Any, s: Any) -> Any:
        return K.map32(K.tanh32, K.tanh32, x), K.map32(K.exp32, K.expf, s)

    arr, one = whole(x, x[3, 4])
    want = _loop(K.tanh32)(np.ascontiguousarray(x).reshape(-1)).reshape(x.shape)
    assert arr.shape == x.shape and arr.dtype == np.float32
    assert np.array_equal(arr, want, equal_nan=True)
    assert np.float32(one).view(np.int32) == _loop(K.expf)(x[3:4, 4]).view(np.int32)[0]


# --- eager arrays: the numpy versions and the loops compiled by numba, the same bits --------
def _shapes(x: np.ndarray) -> list[np.ndarray]:
    """``x`` in the shapes eager code meets: 0-d, empty, n % 8 != 0, strided, F-ordered."""
    square = x[: 150 * 150].reshape(150, 150)
    return [
        np.asarray(x[5]),
        x[:0],
        x[:0].reshape(0, 3),
        x[:13],
        x,
        x[::3],
        square[:, 1::2],
        np.asfortranarray(square),
        square.T[:7, :9],
    ]


@pytest.mark.parametrize("name", sorted(E.SCALAR_KERNELS))
def test_eager_arrays_compiled_and_numpy_agree(name: str, monkeypatch: Any) -> None:
    """``tv.exp`` & co. of float32 arrays give the same bits before the compiled loops are
    loaded (the numpy versions) and after (numba's vector loops): every shape, a wide
    sample with specials, NaN, ±inf, subnormals and huge sin/cos arguments."""
    assert E.load_compiled(wait=True), "numba could not load or compile the eager loops"
    loops = dict(E.LOOPS)
    calls: list[int] = []

    def counted(flat: np.ndarray, out: np.ndarray, flush: bool) -> None:
        loops[name](flat, out, flush)  # (a TypeError here would send eager code to numpy)
        calls.append(flat.size)

    x = _wide_sample(10)
    assert (np.abs(x) >= 25966).sum() > 1000 and np.isnan(x).any()
    fn = E.FUNCTIONS[name]
    fp = K.flush_subnormals_enter()
    try:
        monkeypatch.setattr(E, "LOOPS", {})  # the numpy versions
        monkeypatch.setitem(E._load, "started", True)  # (and no loading meanwhile)
        numpy_path = [fn(v) for v in _shapes(x)]
        monkeypatch.setattr(E, "LOOPS", {name: counted})
        compiled = [fn(v) for v in _shapes(x)]
    finally:
        K.flush_subnormals_leave(fp)
    assert len(calls) == len(numpy_path)  # every shape went through the compiled loop
    for v, a, b in zip(_shapes(x), numpy_path, compiled, strict=True):
        assert type(a) is type(b) is np.ndarray and a.shape == b.shape == v.shape
        assert a.dtype == b.dtype == np.float32
        nan = np.isnan(a)  # (NaN payloads aside: numpy's maximum keeps another NaN)
        assert np.array_equal(np.isnan(b), nan), name
        assert np.array_equal(a[~nan].view(np.int32), b[~nan].view(np.int32)), name
    # and the compiled loops are the kernels of compiled code (NaN payloads aside)
    kernel = _flushed_loop(name, x)
    nan = np.isnan(kernel)
    assert np.array_equal(np.isnan(compiled[4]), nan)
    assert np.array_equal(compiled[4][~nan].view(np.int32), kernel[~nan].view(np.int32))


def _flushed_loop(name: str, x: np.ndarray) -> np.ndarray:
    fp = K.flush_subnormals_enter()
    try:
        return _loop(getattr(K, name + "32"))(x)
    finally:
        K.flush_subnormals_leave(fp)


def test_a_float32_number_skips_the_compiled_loops(monkeypatch: Any) -> None:
    """A float32 number takes the C library (or the kernel as Python): no loop is called."""
    monkeypatch.setattr(E, "LOOPS", {})
    monkeypatch.setitem(E._load, "started", True)
    for name, fn in E.FUNCTIONS.items():
        out = fn(np.float32(0.25))
        assert type(out) is np.float32, name
        want = _loop(C_LIBRARY.get(name, getattr(K, name + "32")))(np.float32([0.25]))[0]
        assert out.view(np.int32) == want.view(np.int32), name
