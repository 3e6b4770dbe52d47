"""Eager float32 subnormals flushed to zero, as TensorFlow 2.21's kernels flush them.

The reference is ``tests/data/tf_subnormals.json``, recorded by
``tools/record_subnormals_tf.py`` (TF 2.21, eager and ``tf.function``): bit patterns of
every input and result.  Eager tapeviz runs ops on arrays with the processor's FTZ/DAZ
bits set, and flushes subnormal scalar results (:mod:`tapeviz.subnormals`); the user's
own numpy arithmetic keeps IEEE subnormals before, between and after.

The bits are set by one of two pairs of calls (the C library's ``fegetenv``/``fesetenv``,
or machine code once numba's eager loops are loaded), and eager ``exp`` & co. run either
their numpy versions or the compiled loops, which set the bits themselves: the fixture
``way`` runs a test under each combination, and the caller's register is read with the C
library, independently of both.
"""

from __future__ import annotations

import ctypes
import json
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz import _eigen_f32 as E
from tapeviz import subnormals
from tapeviz.ops import Op, register, unregister

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "tf_subnormals.json")
with open(DATA) as fh:
    TF = json.load(fh)

pytestmark = pytest.mark.skipif(
    not subnormals.FLUSHES_ARRAYS, reason="eager arrays flush subnormals on x86-64 with glibc"
)
f32 = np.float32
SUB = f32(1e-40)


def bits(x: Any) -> list[int]:
    return np.asarray(x, np.float32).view(np.int32).ravel().tolist()


def ieee_still_here() -> bool:
    """The caller's numpy keeps subnormals (scalar and array arithmetic)."""
    return bits(np.multiply(SUB, f32(1.0))) == [71362] and bits(
        np.multiply(np.array([SUB]), f32(1.0))
    ) == [71362]


WAYS = [
    ("c-library", "numpy-versions"),
    ("c-library", "compiled-loops"),
    ("machine-code", "numpy-versions"),
    ("machine-code", "compiled-loops"),
]


@pytest.fixture(params=WAYS, ids=["/".join(w) for w in WAYS])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """How eager ops set the bits: with the C library's calls or with machine code, and
    eager ``exp`` & co. through their numpy versions or numba's compiled loops."""
    calls, loops = request.param
    assert E.load_compiled(wait=True), "numba could not load or compile the eager loops"
    from tapeviz import _eigen_jit

    machine = _eigen_jit.flush_calls()
    assert machine is not None
    # (switched to when the loops were loaded)
    assert subnormals._calls == machine
    if calls == "c-library":
        monkeypatch.setattr(subnormals, "_calls", subnormals._PER_THREAD)
    if loops == "numpy-versions":
        monkeypatch.setattr(E, "LOOPS", {})
        monkeypatch.setitem(E._load, "started", True)  # (no loading meanwhile)
    yield "/".join(request.param)


def mxcsr() -> int:
    """The calling thread's SSE register, read with the C library's ``fegetenv``."""
    assert subnormals._env is not None
    env = (ctypes.c_uint32 * 8)()
    subnormals._env[0](ctypes.byref(env))
    return int(env[7])


def set_mxcsr(value: int) -> None:
    """Load ``value`` into the calling thread's SSE register (with ``fesetenv``)."""
    assert subnormals._env is not None
    get, put = subnormals._env
    env = (ctypes.c_uint32 * 8)()
    get(ctypes.byref(env))
    env[7] = value
    put(ctypes.byref(env))


def grad_exp(x: tv.Tensor) -> Any:
    with tv.GradientTape() as tape:
        tape.watch(x)
        y = tv.exp(x)
    return tape.gradient(y, x)


def grad_mul(x: tv.Tensor, y: tv.Tensor) -> Any:
    with tv.GradientTape() as tape:
        tape.watch(x)
        z = x * y
    return tape.gradient(z, x)


# the cases of tools/record_subnormals_tf.py, in tapeviz
OPS: dict[str, Callable[..., Any]] = {
    "half_of_min_normal": lambda x: x * 0.5,
    "tiny_times_tiny": lambda x: x * x,
    "subnormal_times_1e10": lambda x: x * 1e10,
    "subnormal_times_1": lambda x: x * 1.0,
    "subnormal_plus_normal": lambda x: x + 1e-38,
    "subnormal_plus_subnormal": lambda x, y: x + y,
    "difference_subnormal": lambda x, y: x - y,
    "divide": lambda x, y: x / y,
    "negate_subnormal": lambda x: -x,
    "identity_subnormal": tv.identity,
    "abs_subnormal": tv.abs,
    "exp_-88": tv.exp,
    "exp_-87.4": tv.exp,
    "exp_-100": tv.exp,
    "sigmoid_-88": tv.sigmoid,
    "sqrt_subnormal": tv.sqrt,
    "square": tv.square,
    "tanh_subnormal": tv.tanh,
    "sin_subnormal": tv.sin,
    "maximum_subnormal_zero": tv.maximum,
    "relu_subnormal": tv.nn.relu,
    "cast_to_float64": lambda x: tv.cast(x, tv.float64),
    "matmul_result": tv.matmul,
    "matmul_input": tv.matmul,
    "reduce_sum": tv.reduce_sum,
    "reduce_sum_subnormals": tv.reduce_sum,
    "reduce_mean": tv.reduce_mean,
    "reduce_max_subnormal": tv.reduce_max,
    "vector_times_half": lambda x: x * 0.5,
    "vector_minus_1e-38": lambda x: x - 1e-38,
    "ramp_times_1": lambda x: x * 1.0,
    "ramp_times_1e10": lambda x: x * 1e10,
    "grad_exp_-88": grad_exp,
    "grad_mul": grad_mul,
}


def inputs(case: dict[str, Any], as_arrays: bool) -> list[Any]:
    out = []
    for b, shape in zip(case["inputs"], case["shapes"], strict=True):
        a = np.array(b, np.int32).view(np.float32)
        if shape or not as_arrays:  # (scalars as scalars, or as arrays of one value)
            a = a.reshape(shape)[()]
        out.append(tv.constant(a))
    return out


def run(name: str, as_arrays: bool) -> list[int]:
    out = OPS[name](*inputs(TF["cases"][name], as_arrays))
    return bits(out.numpy().astype(np.float32) if out.dtype == tv.float64 else out.numpy())


# Where eager tapeviz differs from TF's eager result, and the value it gives instead.
# Ops on arrays: numpy's maximum (relu) reads a subnormal input as zero under DAZ, TF's
# kernel passes it through (sin of this array of one number: TF's scalar code, sinf, which
# gives a subnormal back, as tapeviz's last n % 8 numbers); gradients are computed without
# the FTZ/DAZ bits (only the forward ops and optimizer updates run with them), so y's
# subnormal comes back as x*y's gradient.
ARRAY_DIFFERENCES = {
    "relu_subnormal": [0],  # TF: 1e-40
    "grad_mul": [71362],  # TF: 0
}
# Ops on scalars (the fast path): subnormal results are zeros, but a subnormal input (only
# a number the user wrote can be one) is not read as zero, and a result that merely passes
# an input through (identity, abs, negation) is flushed too.
SCALAR_DIFFERENCES = {
    **ARRAY_DIFFERENCES,
    "sin_subnormal": [0],  # TF: 1e-40
    "subnormal_times_1e10": bits(f32(1e-40) * f32(1e10)),  # TF: 0 (DAZ)
    "sqrt_subnormal": bits(np.sqrt(f32(1e-40))),  # TF: 0 (DAZ)
    "cast_to_float64": [71362],  # the float64 1e-40, back in float32; TF: 0 (DAZ)
    "negate_subnormal": bits(f32(-0.0)),  # TF: -1e-40
    "identity_subnormal": [0],  # TF: 1e-40
    "abs_subnormal": [0],  # TF: 1e-40
}


def test_the_reference_is_tensorflow_2_21() -> None:
    assert TF["tensorflow"] == "2.21.0"
    assert sorted(TF["cases"]) == sorted(OPS)
    # TF's eager and tf.function agree except where grappler removes `x * 1.0` / `x + 0`
    # (1e-38 is itself subnormal: flushed to 0 when the constant is folded)
    graph_only = {k for k, c in TF["cases"].items() if c["eager"] != c["tf_function"]}
    assert graph_only == {
        "subnormal_times_1",
        "subnormal_plus_normal",
        "vector_minus_1e-38",
        "ramp_times_1",
        "grad_mul",
    }


@pytest.mark.parametrize("name", sorted(OPS))
def test_ops_on_arrays_flush_like_tensorflow_eager(name: str, way: str) -> None:
    want = ARRAY_DIFFERENCES.get(name, TF["cases"][name]["eager"])
    assert run(name, as_arrays=True) == want
    assert ieee_still_here()


@pytest.mark.parametrize("name", sorted(OPS))
def test_ops_on_scalars_flush_subnormal_results(name: str) -> None:
    want = SCALAR_DIFFERENCES.get(name, TF["cases"][name]["eager"])
    assert run(name, as_arrays=False) == want
    assert ieee_still_here()


def test_differences_are_only_subnormal_inputs_or_gradients() -> None:
    """Every listed difference has a subnormal input (a user's literal) or is a gradient:
    results of ops on normal numbers are flushed exactly as TensorFlow flushes them."""
    tiny = float(np.finfo(np.float32).tiny)
    for name in SCALAR_DIFFERENCES:
        case = TF["cases"][name]
        values = np.array([v for part in case["inputs"] for v in part], np.int32).view(np.float32)
        has_subnormal = bool(np.any((values != 0) & (np.abs(values) < tiny)))
        assert has_subnormal or name.startswith("grad_"), name


def test_a_scalar_zero_keeps_its_sign() -> None:
    assert bits(tv.constant(f32(-1.5e-38)) * 0.5) == bits(f32(-0.0))
    assert bits(tv.constant(f32(1.5e-38)) * 0.5) == [0]
    assert bits(tv.constant(f32(-0.0)) * 1.0) == bits(f32(-0.0))


def test_an_array_made_from_a_scalar_first_input_is_flushed_after() -> None:
    x = tv.constant(np.array([1.5e-38, 3.0, -2e-38], np.float32))
    assert bits(0.5 * x) == bits(np.array([0.0, 1.5, -0.0], np.float32))
    assert bits(tv.constant(f32(0.5)) * x) == bits(np.array([0.0, 1.5, -0.0], np.float32))
    assert ieee_still_here()


def test_eager_adam_slots_stop_where_tensorflow_eager_stops() -> None:
    """The converged Adam of tests/function/test_subnormals.py, eagerly: TF's eager bits."""
    x = tv.Variable(1.0, name="x")
    opt = tv.keras.optimizers.Adam(learning_rate=0.01)
    opt.apply_gradients([(tv.constant(0.0), x)])
    _, m, v = opt.variables()
    m.assign(f32(-1e-30))
    v.assign(f32(1e-33))
    got, done = [], 0
    for n in (100, 200, 3000):
        for _ in range(n - done):
            with tv.GradientTape() as tape:
                y = x**2 - 2.0 * x + 1.0
            opt.apply_gradients([(tape.gradient(y, x), x)])
        done = n
        got.append([bits(x.numpy())[0], bits(m.numpy())[0], bits(v.numpy())[0]])
    assert got == TF["adam"]["eager"]
    assert ieee_still_here()


def test_the_callers_bits_come_back_after_an_error_in_an_op() -> None:
    with pytest.raises(Exception, match=r"(?i)matmul|shape|dimension"):
        a = tv.constant(np.ones((2, 3), np.float32))
        tv.matmul(a, a)
    assert ieee_still_here()


def test_the_callers_other_bits_stay_as_they_were() -> None:
    """A caller that set FTZ/DAZ itself keeps them; one that did not never gets them."""
    import ctypes

    assert subnormals._env is not None
    get, put = subnormals._env
    env = (ctypes.c_uint32 * 8)()
    get(ctypes.byref(env))
    before = env[7]
    tv.constant(np.ones(3, np.float32)) * 0.5
    get(ctypes.byref(env))
    assert env[7] == before
    on = (ctypes.c_uint32 * 8)(*env)
    on[7] |= 0x8040
    put(ctypes.byref(on))
    try:
        tv.constant(np.ones(3, np.float32)) * 0.5
        get(ctypes.byref(env))
        assert env[7] == before | 0x8040
    finally:
        env[7] = before
        put(ctypes.byref(env))
    assert ieee_still_here()


# --- the ways the bits are set: each gives the same bits and the caller's register back -------
FLAGS = 0x3F  # the register's exception flags (sticky)
SUBS = np.array([1e-40, -1e-40, 3e-39, -3e-39, 0.0, -0.0, 2.0, -1.5e-38], np.float32)


def test_subnormal_inputs_read_as_zeros_with_their_signs(way: str) -> None:
    """DAZ: a subnormal input is a zero of its sign, to every op (exp & co. included)."""
    x = tv.constant(SUBS)
    zeros = np.where(np.abs(SUBS) < subnormals.TINY, SUBS * np.float32(0), SUBS)  # (signed)
    for fn in (lambda t: t * 1.0, tv.exp, tv.sin, tv.cos, tv.tanh, tv.sigmoid, tv.math.log):
        got = fn(x).numpy()
        want = fn(tv.constant(zeros)).numpy()
        assert bits(got) == bits(want), way
    assert bits(tv.sin(x).numpy()[:2]) == bits([0.0, -0.0])  # sin(-0) is -0
    assert bits(tv.tanh(x).numpy()[:2]) == bits([0.0, -0.0])
    assert bits(tv.math.log(x).numpy()[:2]) == bits([-np.inf, -np.inf])  # log(±0): -inf
    assert ieee_still_here()


def test_subnormal_results_are_zeros_with_their_signs(way: str) -> None:
    """FTZ: a result below the normal range is a zero of its sign (products, exp & co.)."""
    x = tv.constant(np.array([1e-30, -1e-30, 3e-20, 1.0], np.float32))
    assert bits(x * 1e-10) == bits([0.0, -0.0, 3e-30, 1e-10])
    assert bits(x * x) == bits([0.0, 0.0, 0.0, 1.0])  # (1e-60, 9e-40: below the range)
    e = tv.exp(tv.constant(np.array([-87.0, -88.0, -95.0, -103.0, 0.0], np.float32))).numpy()
    ieee = np.exp(np.array([-87.0, -88.0, -95.0, -103.0], np.float64)).astype(np.float32)
    assert np.abs(ieee[1:]).max() < subnormals.TINY < ieee[0]  # (IEEE: subnormal results)
    assert e[0] > 0 and bits(e[1:]) == bits([0.0, 0.0, 0.0, 1.0]), way
    t = tv.tanh(tv.constant(np.array([-1e-30, 1e-30], np.float32)) * 1e-9).numpy()
    assert bits(t) == bits([-0.0, 0.0])
    assert ieee_still_here()


def test_the_sweep_of_a_tape_stays_ieee(way: str) -> None:
    """Gradients run without the bits, also through sin's compiled cos: a subnormal
    adjoint times cos(x) stays subnormal (TensorFlow would flush it; see grad_mul)."""
    x = tv.constant(np.array([0.5, -0.25], np.float32))
    with tv.GradientTape() as tape:
        tape.watch(x)
        y = tv.sin(x) * 1e-39  # (1e-39: a subnormal number, x's adjoint through cos)
    g = tape.gradient(y, x).numpy()
    want = np.float32(1e-39) * np.cos(np.array([0.5, -0.25], np.float32))
    assert 0 < g[0] < subnormals.TINY and abs(bits(g)[0] - bits(want)[0]) <= 1, way
    assert ieee_still_here()


def boom(x: Any) -> Any:
    raise RuntimeError("boom inside the forward")


@pytest.fixture
def boom_op() -> Iterator[Op]:
    op = register(Op("_test_boom", boom, vjp=lambda k, g, out, x: (g,)))
    yield op
    unregister(op)


@pytest.mark.parametrize("caller", [0x1F80, 0x1F80 | 0x8040, 0x1F80 | 0x8040 | 0x3F, 0x3F80])
def test_the_callers_register_comes_back_exactly(caller: int, way: str, boom_op: Op) -> None:
    """IEEE callers, callers that set FTZ and DAZ themselves, with exception flags raised,
    rounding toward -inf: the register's control bits as they were after every op, also
    after an error raised inside a forward, its raised flags still raised; and ops run
    with FTZ and DAZ set whatever the caller's bits."""
    x = tv.constant(np.array([1.5e-38, 2.0], np.float32))
    before = mxcsr()
    set_mxcsr(caller)
    try:
        results = [bits(x * 0.5), bits(tv.sin(x)), bits(tv.exp(x - 90.0))]
        after_ops = mxcsr()
        with pytest.raises(RuntimeError, match="boom inside"):
            boom_op(x)
        after_error = mxcsr()
    finally:
        set_mxcsr(before)
    for after in (after_ops, after_error):  # (flags: tapeviz's own Python arithmetic
        # outside the ops, its timing of the numpy versions, may raise "inexact")
        assert after & ~FLAGS == caller & ~FLAGS and after & caller == caller, hex(after)
    assert results[0] == bits([0.0, 1.0])
    assert results[1][0] == bits(np.float32(1.5e-38))[0]  # (sin of a normal number: itself)
    assert results[2] == [0, 0]  # exp(-90), exp(-88): subnormal, flushed
    assert mxcsr() == before and ieee_still_here()


def test_nested_flushed_calls_keep_the_outer_bits(way: str) -> None:
    """A forward that runs ops itself: the inner op leaves the bits set for the rest of
    the outer one, and the outer one restores the caller's register."""
    seen = []

    def outer(v: np.ndarray) -> np.ndarray:
        seen.append(mxcsr() & ~FLAGS)
        inner = tv.sin(tv.constant(v)) * 1.0
        seen.append(mxcsr() & ~FLAGS)
        return v * np.float32(1.0) + inner.numpy()

    args = (np.array([1e-40, 1.0], np.float32),)
    before = mxcsr()
    out = subnormals.flushed(outer, args, {})
    assert seen == [(before | 0x8040) & ~FLAGS] * 2
    assert mxcsr() == before  # (exactly: flags included)
    assert bits(out[0]) == [0]


def test_threads_with_their_own_registers(way: str) -> None:
    """Threads running array ops at once (exp & co. included), one of them with FTZ and DAZ
    set by itself: each gets flushed results, and its own register back."""
    errors: list[str] = []
    x = tv.constant(np.full(1000, 1.5e-38, np.float32))
    y = tv.constant(np.full(1000, -1e-40, np.float32))
    negzero = bits(np.float32(-0.0))[0]

    def work(own_bits: bool) -> None:
        if own_bits:
            set_mxcsr(mxcsr() | 0x8040)
        mine = mxcsr()
        for _ in range(150):
            if bits(x * 0.5) != [0] * 1000 or bits(tv.sin(y)) != [negzero] * 1000:
                errors.append("not flushed")
            if mxcsr() != mine:
                errors.append("register changed")
        if own_bits:
            set_mxcsr(mine & ~0x8040)
        elif not ieee_still_here():
            errors.append("IEEE lost")

    threads = [threading.Thread(target=work, args=(i == 0,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ieee_still_here()


def test_machine_code_pair_sets_and_restores_exactly() -> None:
    """``enter()`` sets FTZ and DAZ and returns the register as it was (flags included),
    ``leave(old)`` loads it back exactly — the protocol of the C library's pair."""
    assert E.load_compiled(wait=True)
    from tapeviz import _eigen_jit

    calls = _eigen_jit.flush_calls()
    assert calls is not None
    before = mxcsr()
    for caller in (0x1F80, 0x1F80 | 0x21, 0x9FC0, 0x5F80):
        set_mxcsr(caller)
        enter, leave = calls
        old = enter()
        inside = mxcsr()
        leave(old)
        assert (old, inside, mxcsr()) == (caller, caller | 0x8040, caller)
        with pytest.raises(TypeError):  # (Python's error, the register left alone)
            leave("0x1F80")
        assert mxcsr() == caller
        enter, leave = subnormals._c_library_calls()
        old = enter()
        inside = mxcsr()
        leave(old)
        assert (old, inside, mxcsr()) == (caller, caller | 0x8040, caller)
    set_mxcsr(before)
    assert ieee_still_here()
