"""Eager float32 subnormals flushed to zero, as TensorFlow's CPU kernels flush them.

TensorFlow runs its kernels with the processor's flush-to-zero (a subnormal result becomes
a zero of the same sign) and denormals-are-zero (a subnormal input reads as zero) bits set
(measured with TF 2.21 eager and in ``tf.function``: ``tools/record_subnormals_tf.py``,
``tests/data/tf_subnormals.json``).  numpy keeps IEEE subnormals.  The one place where eager
ops run, :func:`tapeviz.ops._registry.apply`, therefore treats each op's forward so:

* an op whose first input is a float array runs with FTZ and DAZ set in the thread's SSE
  control register (MXCSR, x86-64), and the caller's register is loaded back exactly
  afterwards (also after an error) — TensorFlow's arithmetic on every element.  A pair of
  calls does it: ``enter()`` sets the bits and returns the register as it was, which the
  caller keeps on its own stack until ``leave(old)`` (so threads and nested ops need
  nothing more):

  - until numba is loaded, the C library's ``fegetenv``/``fesetenv`` through ctypes: three
    calls, ~1 µs per op (each thread has its own buffer for the environment);
  - once numba's eager loops are loaded (:func:`tapeviz._eigen_f32.load_compiled`), two
    functions of machine code (:func:`tapeviz._eigen_jit.flush_calls`, LLVM's
    ``stmxcsr``/``ldmxcsr``) that Python calls as built-in functions: one call each,
    ~0.05 µs per op (:func:`use_machine_code`);
  - eager ``exp``, ``log``, ``tanh``, ``sigmoid``, ``sin`` and ``cos`` (:data:`FLUSHING`)
    run compiled loops that set and restore the bits themselves, in machine code around
    their loop: no call at all (their numpy versions, before the loops are loaded, go
    through the pair).

  An array made from a scalar first input (``0.5 * x``) is flushed after the op: one more
  pass over it.
* an op on scalars (numpy scalars, the hot path of scalar training loops) has its float32
  result flushed if it is subnormal (its magnitude below :data:`TINY`): a comparison,
  some 30-50 ns.  A subnormal *input* to a scalar op (a number the user wrote, e.g.
  ``tv.constant(1e-40) * 1e10``) is not read as zero there, as TensorFlow reads it: ops
  never produce one, so only such literals differ.
* the sweeps of a tape (gradients) run with IEEE arithmetic (VJP rules call the plain
  forwards).

Only the SSE register matters (numpy's float32/float64 arithmetic does not use the x87
unit): the machine code leaves the x87 unit alone, the C library's pair puts back its
environment as the thread's latest op found it.  Where the C library's floating-point
environment is not the x86-64 one (other machines, no ``fesetenv``) arrays keep IEEE
subnormals, as compiled code does there, and the machine code is not used either.  The
user's own numpy code is never affected: the bits are set only while a tapeviz op runs.
"""

from __future__ import annotations

import ctypes
import platform
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["flushed", "flush_array", "FLUSHES_ARRAYS", "FLUSHING", "TINY", "use_machine_code"]

_FTZ_DAZ = 0x8040  # MXCSR bit 15 flush-to-zero, bit 6 denormals-are-zero
TINY = np.float32(1.1754943508222875e-38)
"""The smallest normal float32: a float32 of smaller magnitude is subnormal (or zero)."""
_ONE = np.float32(1.0)
_NO_ATTRS: dict[str, Any] = {}


def _fenv() -> tuple[Callable[..., int], Callable[..., int]] | None:
    """Glibc's ``fegetenv``/``fesetenv`` on x86-64 (``fenv_t``: 32 bytes, MXCSR last),
    called without releasing the GIL (they take nanoseconds; ctypes' call is most of the
    cost, so they get ``byref`` pointers and no argument conversion)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    # glibc's soname, loaded by name: ctypes.util.find_library would import subprocess and
    # run ldconfig at every `import tapeviz` (~10 ms of start-up)
    try:
        libm = ctypes.PyDLL("libm.so.6")
        get, put = libm.fegetenv, libm.fesetenv
    except (OSError, AttributeError):
        return None
    probe = (ctypes.c_uint32 * 8)()
    if get(ctypes.byref(probe)) != 0 or probe[7] & 0xFFFF0000 or not probe[7] & 0x1F80:
        return None  # not the layout expected (MXCSR: 16 bits, exceptions masked by default)
    return get, put


_env = _fenv()
FLUSHES_ARRAYS = _env is not None
"""Whether eager ops on arrays flush subnormals here (x86-64 with glibc)."""
_local = threading.local()


def _c_library_calls() -> tuple[Callable[[], int], Callable[[int], None]]:
    """The calling thread's ``(enter, leave)`` through the C library's ``fegetenv``/``fesetenv``
    (three calls per op), made on the thread's first op: each thread has its own buffer
    for the environment (the register is the thread's own, and forwards release the GIL)."""
    assert _env is not None
    get, put = _env
    env = (ctypes.c_uint32 * 8)()
    ref = ctypes.byref(env)

    def enter() -> int:
        """Set FTZ and DAZ; the SSE register (MXCSR) as it was."""
        get(ref)  # the caller's environment, installed again with FTZ/DAZ set
        mxcsr: int = env[7]
        env[7] = mxcsr | _FTZ_DAZ
        put(ref)
        return mxcsr

    def leave(mxcsr: int) -> None:
        """The environment as ``enter`` found it, with the SSE register ``mxcsr``."""
        env[7] = mxcsr
        put(ref)

    _local.calls = calls = (enter, leave)
    return calls


# how flushed() sets the bits: None (it does not), the C library's calls (_PER_THREAD: each
# thread its own pair), or one pair of machine code for all threads (use_machine_code)
_PER_THREAD: Any = object()
_calls: Any = None if _env is None else _PER_THREAD


def use_machine_code(enter: Callable[[], int], leave: Callable[[int], None]) -> None:
    """Switch :func:`flushed` to ``enter``/``leave`` (the same protocol as the C library's
    pair: ``enter()`` sets FTZ and DAZ and returns the SSE register as it was, ``leave(old)``
    loads it back) where arrays are flushed: :mod:`tapeviz._eigen_jit`'s two functions,
    once numba's loops are loaded (:func:`tapeviz._eigen_f32.load_compiled`)."""
    global _calls
    if _calls is _PER_THREAD:
        _calls = (enter, leave)


FLUSHING: dict[Callable[..., Any], Callable[..., Any]] = {}
"""Forwards that have a version of their own for :func:`flushed`, one that sets FTZ and DAZ
itself: eager ``exp``, ``log``, ``tanh``, ``sigmoid``, ``sin`` and ``cos``, whose compiled
loops set the bits in machine code around their loop (:mod:`tapeviz._eigen_jit`)."""


def flushed(forward: Callable[..., Any], vals: tuple[Any, ...], attrs: dict[str, Any]) -> Any:
    """``forward(*vals, **attrs)`` with FTZ and DAZ set; the caller's register restored
    exactly (also after an error; nested calls restore the outer call's bits).  Where
    :data:`FLUSHES_ARRAYS` is false: a plain call."""
    calls = _calls  # (one read: the pair may be switched meanwhile by another thread)
    if calls is _PER_THREAD:
        try:
            calls = _local.calls
        except AttributeError:
            calls = _c_library_calls()
    elif calls is None:
        return forward(*vals, **attrs) if attrs else forward(*vals)
    enter, leave = calls
    old = enter()  # (kept here, on this thread's stack: threads and nesting need no more)
    try:
        return forward(*vals, **attrs) if attrs else forward(*vals)
    finally:
        leave(old)


def flush_array(value: np.ndarray) -> np.ndarray:
    """A float32 array with its subnormals made zeros (DAZ reads them as 0 in ``x * 1``)."""
    if value.dtype != np.float32 or _env is None:
        return value
    if value.flags.writeable and value.flags.owndata:  # a new result: flushed in place
        flushed(np.multiply, (value, _ONE), {"out": value})
        return value
    return flushed(np.multiply, (value, _ONE), _NO_ATTRS)
