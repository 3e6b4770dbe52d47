"""Eigen's float32 ``exp``, ``log``, ``tanh``, ``sigmoid``, ``sin``, ``cos`` and ``pow``
compiled by numba: the scalar kernels of :mod:`tapeviz._eigen_f32` and
:mod:`tapeviz._eigen_pow` (TensorFlow's arithmetic), for compiled code
(:mod:`tapeviz.compiler.kernels` re-exports them) and for eager code, whose float32 arrays
run the loops :data:`ARRAY_LOOPS` and :data:`PAIR_LOOPS` once they are loaded (see
:mod:`tapeviz._eigen_f32`: until then, and without numba, eager code runs the numpy
versions, the same bits).

No fast-math and no fused multiply-add: numba compiles with neither unless asked, so every
operation rounds to float32 as Eigen's does in TensorFlow's wheel, on every CPU.  The
loops vectorise (branch-free kernels, no table reads).  They are cached as tapeviz's other
kernels are (:func:`tapeviz._jit.cached_njit`: the checked folder, sealed files).

Run as a program (``python -m tapeviz._eigen_jit``), this module compiles the eager loops
into the cache folder: the helper process eager code starts (:func:`tapeviz._helper.start`).
This module sits outside :mod:`tapeviz.compiler`: eager code never loads the compiler.
"""

from __future__ import annotations

import ctypes
import inspect
import sys
from types import FunctionType
from typing import Any

import numpy as np
from llvmlite import ir as llvm_ir  # type: ignore[import-untyped]
from numba import types
from numba.core import sigutils
from numba.core.compiler_lock import global_compiler_lock
from numba.extending import intrinsic, overload, register_jitable

from . import _eigen_f32 as E
from . import _eigen_pow as P
from . import _symbols  # noqa: F401  (the C functions called by name: tapeviz_powf)
from ._jit import cached_njit
from ._mxcsr import FTZ_DAZ, X86_64, read_mxcsr, write_mxcsr

__all__ = [
    "jit",
    "inline_jit",
    "exp32",
    "log32",
    "tanh32",
    "sigmoid32",
    "sin32",
    "cos32",
    "KERNELS",
    "expf",
    "logf",
    "sinf",
    "cosf",
    "sigmoidf",
    "powf",
    "NUMBER_FUNCTIONS",
    "ARRAY_LOOPS",
    "array_entry_points",
    "ARRAY_SIGNATURE",
    "NUMBER_KERNELS",
    "NUMBER_SIGNATURE",
    "read_mxcsr",
    "write_mxcsr",
    "FLUSH_CALLS",
    "flush_calls",
    "NUMBER_CALLS",
    "number_calls",
    "load",
]

jit = cached_njit(error_model="numpy", nogil=True)
# inlined into the caller by numba itself: LLVM does not inline these kernels (they return
# tuples) into a caller's loop, and the call then keeps the loop from vectorising
inline_jit = cached_njit(error_model="numpy", nogil=True, inline="always")


@intrinsic
def _f32_from_bits(typingctx: Any, bits: Any) -> Any:
    """Reinterpret an int32 as a float32 (LLVM bitcast): builds 2**k without a call."""
    sig = types.float32(types.int32)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], llvm_ir.FloatType())

    return sig, codegen


@intrinsic
def _bits_of_f32(typingctx: Any, x: Any) -> Any:
    """The bits of a float32 as an int32 (LLVM bitcast)."""
    sig = types.int32(types.float32)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], llvm_ir.IntType(32))

    return sig, codegen


# The kernels are written once, in tapeviz._eigen_f32, as Python; here numba compiles them:
# the two bit casts they use become LLVM bitcasts, their helpers are compiled with them.
@overload(E.bits_of, inline="always")
def _bits_of_impl(x: Any) -> Any:
    def impl(x: Any) -> Any:
        return _bits_of_f32(np.float32(x))  # type: ignore[call-arg]

    return impl


# the bit steps of the kernels, in bits (their Python versions use float arithmetic and tables)
def _bits_impl(fn: Any) -> Any:
    """Register ``impl`` as numba's version of the kernels' helper ``fn``."""

    def register(impl: Any) -> Any:
        def typer(*args: Any) -> Any:
            return impl

        typer.__signature__ = inspect.signature(impl)  # type: ignore[attr-defined]
        overload(fn, inline="always")(typer)
        return impl

    return register


@register_jitable
def _pow2(k: Any) -> Any:
    """2.0**k for an integer k in [-126, 127], from its bits."""
    return _f32_from_bits(np.int32((k + np.int32(127)) << np.int32(23)))  # type: ignore[call-arg]


@_bits_impl(E.ldexp32)
def _ldexp32(y: Any, m: Any) -> Any:
    k = np.int32(m)
    k1 = k >> np.int32(1)
    return (y * _pow2(k1)) * _pow2(k - k1)


@_bits_impl(E.biased_pow2)
def _biased_pow2(k: Any) -> Any:
    return _f32_from_bits(np.int32(np.int32(k) << np.int32(23)))  # type: ignore[call-arg]


@_bits_impl(E.frexp32)
def _frexp32(x: Any) -> Any:
    bits: Any = _bits_of_f32(x)  # type: ignore[call-arg]
    e = np.float32((bits >> np.int32(23)) & np.int32(0xFF)) - np.float32(126.0)
    m = _f32_from_bits((bits & np.int32(-2139095041)) | np.int32(0x3F000000))
    return e, m


@_bits_impl(E.quadrant)
def _quadrant(yr: Any) -> Any:
    return _bits_of_f32(yr)  # type: ignore[call-arg]


@_bits_impl(E.sign_bits)
def _sign_bits(x: Any) -> Any:
    return _bits_of_f32(x)  # type: ignore[call-arg]


@_bits_impl(E.flip)
def _flip(v: Any, s: Any) -> Any:
    bits: Any = _bits_of_f32(v)  # type: ignore[call-arg]
    return _f32_from_bits(np.int32(bits ^ (s & np.int32(-(2**31)))))


def _with_helpers(fn: Any, **helpers: Any) -> Any:
    """``fn`` reading the given compiled ``helpers`` instead of the module's functions of the
    same names (numba resolves a function's globals when it compiles it)."""
    scope = {**fn.__globals__, **helpers}
    out = FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)
    out.__module__, out.__qualname__, out.__doc__ = fn.__module__, fn.__qualname__, fn.__doc__
    return out


# the polynomials (plain arithmetic) compiled where the kernels call them; the sin/cos
# helpers that return tuples are inlined by numba (LLVM would not inline them into a
# caller's loop, and the call would keep the loop from vectorising)
_POLYNOMIALS: tuple[Any, ...] = (E.exp_poly, E.sigmoid_exp_poly, E.log_ratio, E.tanh_ratio)
for _poly in (*_POLYNOMIALS, E.pio2_rest, E.cos_poly, E.sin_poly):
    register_jitable(_poly)
_word = inline_jit(E.word)
_reduce_huge32 = inline_jit(_with_helpers(E.reduce_huge32, word=_word))
_trig32 = inline_jit(_with_helpers(E.trig32, reduce_huge32=_reduce_huge32))

exp32 = jit(E.exp32)
"""float32 ``exp`` (:func:`tapeviz._eigen_f32.exp32`) in branch-free arithmetic, so that
LLVM vectorises loops calling it (numba's llvmlite has no SVML; ``math.exp`` in a loop is a
scalar libm call).  With subnormals flushed equal to TensorFlow 2.21's ``tf.exp`` bit for
bit; within 1 ulp of the correctly rounded value on the normal range."""
log32 = jit(E.log32)
"""float32 ``log`` (:func:`tapeviz._eigen_f32.log32`), TensorFlow's bits; within 3 ulps of
the correctly rounded value."""
tanh32 = jit(E.tanh32)
"""float32 ``tanh`` (:func:`tapeviz._eigen_f32.tanh32`), TensorFlow's bits; within 6 ulps of
the correctly rounded value."""
sigmoid32 = jit(E.sigmoid32)
"""float32 ``sigmoid`` (:func:`tapeviz._eigen_f32.sigmoid32`), TensorFlow's bits; within 6
ulps of the correctly rounded value."""
sin32 = inline_jit(_with_helpers(E.sin32, trig32=_trig32))
"""float32 ``sin`` (:func:`tapeviz._eigen_f32.sin32`, Eigen's reduction of huge arguments
included), TensorFlow's bits; within 2 ulps of the correctly rounded value below 25966."""
cos32 = inline_jit(_with_helpers(E.cos32, trig32=_trig32))
"""float32 ``cos`` (:func:`tapeviz._eigen_f32.cos32`), as :data:`sin32`."""


# Eigen's float32 pow: its double-word helpers return pairs, so numba inlines them (as the
# sin/cos helpers), and the kernel with them, into the loops that call it
_P_HELPERS = (P.split, P.two_prod, P.fast_two_sum, P.add_pairs, P.mul_pair, P.log2_pair)
for _helper in (*_P_HELPERS, P.exponent_parts, P.round_half_away, P.specials):
    _bits_impl(_helper)(_helper)
_pow_abs32 = inline_jit(_with_helpers(P.pow_abs32, exp32=inline_jit(E.exp32)))
pow32 = inline_jit(_with_helpers(P.pow32, pow_abs32=_pow_abs32))
"""float32 ``x ** y`` (:func:`tapeviz._eigen_pow.pow32`, Eigen's ``generic_pow``) in
branch-free arithmetic: with subnormals flushed equal to TensorFlow 2.21's packet results
(all but a tensor's last ``n % 8`` numbers, which take :data:`powf`) bit for bit."""

KERNELS = {"exp": exp32, "log": log32, "tanh": tanh32, "sigmoid": sigmoid32, "sin": sin32}
KERNELS["cos"] = cos32
"""The compiled scalar kernels by op name (:data:`tapeviz._eigen_f32.SCALAR_KERNELS`)."""


def _renamed(fn: Any, name: str, **helpers: Any) -> Any:
    """:func:`_with_helpers` under a name of its own (numba files each function's machine
    code under its name)."""
    out = _with_helpers(fn, **helpers)
    out.__name__ = out.__qualname__ = name
    return out


# --- the C library's functions: TensorFlow's scalar path, for a tensor's last n % 8 ----------
def _c_function(x: Any) -> Any:
    """The C library's float32 ``libm_function`` (a global of each copy: numba calls ``expf`` &
    co. for ``np.exp`` & co. of a float32 number)."""
    return libm_function(x)  # type: ignore[name-defined]  # noqa: F821


expf, logf, sinf, cosf = (
    jit(_renamed(_c_function, f"{name}f", libm_function=getattr(np, name)))
    for name in ("exp", "log", "sin", "cos")
)


@jit
def sigmoidf(x: Any) -> Any:
    """TensorFlow's float32 sigmoid of one number (Eigen's scalar path, not its packet code):
    ``e / (1 + e)`` with ``e = expf(min(x, 16.6355324))`` (:func:`tapeviz._eigen_f32.sigmoidf`)."""
    e = np.exp(min(x, E.SIGMOID_HI))
    return e / (np.float32(1.0) + e)


powf = types.ExternalFunction("tapeviz_powf", types.float32(types.float32, types.float32))
"""libm's ``powf`` (registered by :mod:`tapeviz._symbols`) under a name LLVM does not know (so
``x ** 2`` is not rewritten as ``x * x``, which rounds differently in a few cases): what
numpy's float32 scalar ``**`` calls, and TensorFlow's kernels for a tensor's last ``n % 8``
numbers."""

NUMBER_FUNCTIONS = {"exp": expf, "log": logf, "sigmoid": sigmoidf, "sin": sinf, "cos": cosf}
"""TensorFlow's function of one float32 number where it is not the kernel (tanh's is)."""


def _each(x: Any, out: Any) -> None:
    """``out[i] = kernel(x[i])`` over two 1-D arrays, the last ``n % 8`` then ``number(x[i])``
    as TensorFlow's kernels compute them (``kernel``, ``number``: globals of each copy)."""
    n = x.shape[0]
    for i in range(n):
        out[i] = kernel(x[i])  # type: ignore[name-defined]  # noqa: F821
    for i in range(n - n % E.PACKET, n):
        out[i] = number(x[i])  # type: ignore[name-defined]  # noqa: F821


def _each_trig(x: Any, out: Any) -> None:
    """:func:`_each` for sin and cos: the kernel without its reduction of huge arguments
    (``small``, four times faster: the reduction's 64-bit products in every vector lane)
    unless an entry needs it (``|x| ≥ huge``, inf included: ``kernel`` then) — the same
    bits either way."""
    n = x.shape[0]
    big = False
    for i in range(n):
        big |= abs(x[i]) >= huge  # type: ignore[name-defined]  # noqa: F821
    if big:
        for i in range(n):
            out[i] = kernel(x[i])  # type: ignore[name-defined]  # noqa: F821
    else:
        for i in range(n):
            out[i] = small(x[i])  # type: ignore[name-defined]  # noqa: F821
    for i in range(n - n % E.PACKET, n):  # (TensorFlow's last n % 8: the C library's function)
        out[i] = number(x[i])  # type: ignore[name-defined]  # noqa: F821


def _loop(name: str) -> Any:
    """The eager loop of kernel ``name``."""
    number = NUMBER_FUNCTIONS.get(name, KERNELS[name])
    if name not in ("sin", "cos"):
        return jit(_renamed(_each, f"each_{name}", kernel=KERNELS[name], number=number))
    kernel, huge = (E.sin32, "SIN_HUGE") if name == "sin" else (E.cos32, "COS_HUGE")
    # the kernel with ``huge`` at infinity: LLVM drops the reduction of huge arguments
    small = _renamed(kernel, f"{name}32_below_huge", trig32=_trig32, **{huge: np.float32(np.inf)})
    return jit(
        _renamed(
            _each_trig,
            f"each_{name}",
            kernel=KERNELS[name],
            number=number,
            small=inline_jit(small),
            huge=getattr(E, huge),
        )
    )


# --- the SSE control register, for eager code's flush-to-zero (tapeviz.subnormals) ----------
# Eager float32 arrays run with the register's FTZ and DAZ bits set, as TensorFlow's kernels.
# The C library's fegetenv/fesetenv set them for a whole environment (x87 included), three
# calls through ctypes per op; once numba is loaded anyway (these loops), two tiny
# functions do it on the SSE register alone: one call sets the bits and returns the
# register as it was, one puts it back.  Python calls them as built-in functions (a
# method table entry made with ctypes around the C entry point numba gives each
# function), which costs a third of a call through ctypes: they take and return Python
# objects themselves, through Python's C API (tapeviz._symbols registers its names).
_X86_64 = X86_64
_FTZ_DAZ = FTZ_DAZ
_int_from = types.ExternalFunction("tapeviz_PyLong_FromUnsignedLong", types.intp(types.uint64))
_int_value = types.ExternalFunction("tapeviz_PyLong_AsUnsignedLong", types.uint64(types.intp))
_take_reference = types.ExternalFunction("tapeviz_Py_IncRef", types.void(types.intp))
_NOT_AN_INT = np.uint64(0xFFFFFFFFFFFFFFFF)  # (PyLong_AsUnsignedLong's error: an exception set)


def _flush_enter(module: Any, unused: Any) -> Any:
    """Set FTZ and DAZ on this thread; the register as it was (a new Python int)."""
    old: Any = read_mxcsr()  # type: ignore[call-arg]
    write_mxcsr(old | _FTZ_DAZ)
    return _int_from(np.uint64(old))


def _flush_leave(module: Any, old: Any) -> Any:
    """Put the register back as the Python int ``old`` (exactly: control bits and exception
    flags); ``old`` back (a new reference), or NULL with Python's error if not an int."""
    value = _int_value(old)
    if value == _NOT_AN_INT:
        return 0
    write_mxcsr(np.uint32(value))  # type: ignore[call-arg]
    _take_reference(old)
    return old


FLUSH_CALLS = {"enter": jit(_flush_enter), "leave": jit(_flush_leave)} if _X86_64 else {}
"""The two functions of :func:`flush_calls` (x86-64 only), as numba dispatchers."""
_PYTHON_CALL = types.intp(types.intp, types.intp)  # C: PyObject *f(PyObject *, PyObject *)
_METH_NOARGS, _METH_O = 0x0004, 0x0008


class _MethodDef(ctypes.Structure):
    """CPython's ``PyMethodDef``: a built-in function's name, C function, calling convention."""

    _fields_ = [
        ("ml_name", ctypes.c_char_p),
        ("ml_meth", ctypes.c_void_p),
        ("ml_flags", ctypes.c_int),
        ("ml_doc", ctypes.c_char_p),
    ]


_METHOD_DEFS: list[_MethodDef] = []  # (kept alive: the functions point to them)


def _builtin(dispatcher: Any, name: str, flags: int) -> Any:
    """A Python built-in function ``name`` calling ``dispatcher``'s machine code for
    :data:`_PYTHON_CALL` (numba's C entry point, which takes and gives ``PyObject *``);
    None if it is not compiled (see :func:`load`)."""
    args, _ = sigutils.normalize_signature(_PYTHON_CALL)
    cres = dispatcher.overloads.get(tuple(args))
    if cres is None:
        return None
    pointer = cres.library.get_pointer_to_function(cres.fndesc.llvm_cfunc_wrapper_name)
    if not pointer:  # (compiled without numba's C entry point: jit() keeps it)
        return None
    make = ctypes.pythonapi.PyCFunction_NewEx
    make.restype = ctypes.py_object
    make.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.py_object]
    entry = _MethodDef(name.encode(), pointer, flags, None)
    _METHOD_DEFS.append(entry)
    return make(ctypes.addressof(entry), None, None)


def flush_calls() -> tuple[Any, Any] | None:
    """``(enter, leave)``: ``enter()`` sets FTZ and DAZ on the calling thread and returns
    the SSE register as it was, ``leave(old)`` loads ``old`` back — machine code that
    Python calls as built-in functions (~30 ns a call, a third of a call through ctypes),
    for :mod:`tapeviz.subnormals`.  None if they are not loaded (see :func:`load`) or not
    x86-64.  Made once; later calls return the same pair."""
    global _flush_builtins
    if not FLUSH_CALLS:
        return None
    if _flush_builtins is None:
        enter = _builtin(FLUSH_CALLS["enter"], "enter", _METH_NOARGS)
        leave = _builtin(FLUSH_CALLS["leave"], "leave", _METH_O)
        if enter is None or leave is None:
            return None
        _flush_builtins = (enter, leave)
    return _flush_builtins


_flush_builtins: tuple[Any, Any] | None = None  # (made once: flush_calls)

# --- TensorFlow's function of one float32 number, as a Python built-in function -------------
_float_value = types.ExternalFunction("tapeviz_PyFloat_AsDouble", types.float64(types.intp))
_float_from = types.ExternalFunction("tapeviz_PyFloat_FromDouble", types.intp(types.float64))
_error_set = types.ExternalFunction("tapeviz_PyErr_Occurred", types.intp())


def _number_call(module: Any, x: Any) -> Any:
    """``number`` (a global of each copy) of the Python number ``x`` (a numpy float32: exact
    as a double) as a new Python float; NULL with Python's error if ``x`` is not a number."""
    value = _float_value(x)
    if value == -1.0 and _error_set() != 0:
        return 0
    return _float_from(np.float64(number(np.float32(value))))  # type: ignore[name-defined]  # noqa: F821


NUMBER_CALLS = {
    name: jit(_renamed(_number_call, f"call_{name}", number=fn))
    for name, fn in NUMBER_FUNCTIONS.items()
}
""":data:`NUMBER_FUNCTIONS` that take and give Python objects, for :func:`number_calls`."""


def number_calls() -> dict[str, Any]:
    """:data:`NUMBER_FUNCTIONS` as Python built-in functions of one number (a float32 in, a
    Python float equal to a float32 out): the C library's ``sinf`` & co. (and TF's scalar
    sigmoid) for eager code's float32 numbers, ~0.05 µs a call where ctypes takes ~0.23 µs.
    Call after :func:`load`; made once."""
    if not _number_builtins:
        for name, dispatcher in NUMBER_CALLS.items():
            call = _builtin(dispatcher, name, _METH_O)
            if call is not None:
                _number_builtins[name] = call
    return _number_builtins


_number_builtins: dict[str, Any] = {}


def _with_bits(x: Any, out: Any, flush: Any) -> None:
    """``each(x, out)`` (a global of each copy), with FTZ and DAZ set on this thread while
    it runs if ``flush`` (an eager op on an array, as TensorFlow's kernels run), the
    register put back exactly afterwards: no call through ctypes for the bits.  LLVM keeps
    the loop between the two writes: ``ldmxcsr`` has side effects and may touch any memory,
    so the loads of ``x`` and the stores to ``out`` stay on their side of it."""
    if flush:
        old: Any = read_mxcsr()  # type: ignore[call-arg]
        write_mxcsr(old | _FTZ_DAZ)
        each(x, out)  # type: ignore[name-defined]  # noqa: F821
        write_mxcsr(old)
    else:
        each(x, out)  # type: ignore[name-defined]  # noqa: F821


def _without_bits(x: Any, out: Any, flush: Any) -> None:
    """:func:`_with_bits` where there is no SSE register (subnormals kept, as there)."""
    each(x, out)  # type: ignore[name-defined]  # noqa: F821


def _eager_loop(name: str) -> Any:
    """The eager loop of kernel ``name`` (:func:`_loop`, inlined) that sets the bits itself."""
    loop = _loop(name)
    each = inline_jit(getattr(loop, "py_func", loop))  # (not compiled on its own)
    return jit(_renamed(_with_bits if _X86_64 else _without_bits, f"loop_{name}", each=each))


ARRAY_LOOPS = {name: _eager_loop(name) for name in KERNELS}
"""Eager code's loops by op name: ``loop(x, out, flush)`` fills the float32 array ``out``
with the kernel of each entry of ``x`` (both 1-D and C-contiguous, ``x`` may be read-only),
with FTZ and DAZ set while it runs if ``flush`` (a bool)."""
_F32 = types.float32
ARRAY_SIGNATURE = types.void(
    types.Array(_F32, 1, "C", readonly=True), types.Array(_F32, 1, "C"), types.boolean
)
"""The one signature the loops are compiled for (a writeable ``x`` converts to it)."""


def array_entry_points() -> dict[str, Any]:
    """:data:`ARRAY_LOOPS`' compiled functions as Python calls them without numba's
    dispatcher (which first works out the arguments' types: ~0.15 µs a call): for callers
    that pass exactly :data:`ARRAY_SIGNATURE`'s types — two 1-D C-contiguous float32
    arrays and a bool; anything else is read as if it were those.  Call after :func:`load`."""
    args, _ = sigutils.normalize_signature(ARRAY_SIGNATURE)
    return {name: loop.overloads[tuple(args)].entry_point for name, loop in ARRAY_LOOPS.items()}


def _each_pair(x: Any, y: Any, out: Any) -> None:
    """``out[i] = kernel(x[i], y[i])`` over three 1-D arrays of one length, the last ``n % 8``
    then ``number(x[i], y[i])``, as :func:`_each`."""
    n = x.shape[0]
    for i in range(n):
        out[i] = kernel(x[i], y[i])  # type: ignore[name-defined]  # noqa: F821
    for i in range(n - n % E.PACKET, n):
        out[i] = number(x[i], y[i])  # type: ignore[name-defined]  # noqa: F821


PAIR_LOOPS = {"pow": jit(_renamed(_each_pair, "each_pow", kernel=pow32, number=powf))}
"""Eager code's loops of two arguments by op name: ``loop(x, y, out)`` (float32, 1-D,
C-contiguous, one length; ``x`` and ``y`` may be read-only)."""
PAIR_SIGNATURE = types.void(
    types.Array(_F32, 1, "C", readonly=True),
    types.Array(_F32, 1, "C", readonly=True),
    types.Array(_F32, 1, "C"),
)

NUMBER_KERNELS = {"tanh": jit(_renamed(E.tanh32, "number_tanh"))}
"""Eager code's tanh of a float32 number (a copy of the kernel: this one is compiled for one
signature only): the kernel compiled instead of run as Python."""
NUMBER_SIGNATURE = types.float32(_F32)


def _load_cached(dispatcher: Any, sig: Any) -> bool:
    """Load ``dispatcher``'s machine code for ``sig`` from the cache folder, never
    compiling; whether it was there (numba's ``compile`` without its last step)."""
    args, _ = sigutils.normalize_signature(sig)
    if tuple(args) in dispatcher.overloads:
        return True
    with global_compiler_lock:
        cres = dispatcher._cache.load_overload(sig, dispatcher.targetctx)
        if cres is None:
            return False
        dispatcher.targetctx.insert_user_function(cres.entry_point, cres.fndesc, [cres.library])
        dispatcher.add_overload(cres)
    return True


def load(compile: bool) -> bool:
    """Make :data:`ARRAY_LOOPS`, :data:`PAIR_LOOPS`, :data:`NUMBER_KERNELS` and
    :data:`FLUSH_CALLS` and :data:`NUMBER_CALLS` ready to call:
    loaded from the cache folder, else compiled here if ``compile`` (and saved in the
    folder).  Whether they are ready; once they are, none compiles again (a call of another
    type raises TypeError)."""
    todo = [(f, ARRAY_SIGNATURE) for f in ARRAY_LOOPS.values()]
    todo += [(f, PAIR_SIGNATURE) for f in PAIR_LOOPS.values()]
    todo += [(f, NUMBER_SIGNATURE) for f in NUMBER_KERNELS.values()]
    todo += [(f, _PYTHON_CALL) for f in [*FLUSH_CALLS.values(), *NUMBER_CALLS.values()]]
    for dispatcher, sig in todo:
        if not hasattr(dispatcher, "py_func"):
            return False  # NUMBA_DISABLE_JIT: Python loops, slower than numpy's
        if not _load_cached(dispatcher, sig):
            if not compile:
                return False
            dispatcher.compile(sig)
    for dispatcher, _ in todo:
        dispatcher.disable_compile()
    return True


if __name__ == "__main__":  # the helper process: compile the loops into the cache folder
    sys.exit(0 if load(compile=True) else 1)
