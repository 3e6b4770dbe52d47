"""Eager float32 subnormals flushed to zero, as TensorFlow's CPU kernels flush them.

TensorFlow runs its kernels with the processor's flush-to-zero (a subnormal result becomes
a zero of the same sign) and denormals-are-zero (a subnormal input reads as zero) bits set
(measured with TF 2.21 eager and in ``tf.function``: ``tools/record_subnormals_tf.py``,
``tests/data/tf_subnormals.json``).  numpy keeps IEEE subnormals.  The one place where eager
ops run, :func:`tapeviz.ops._registry.apply`, therefore treats each op's forward so:

* an op whose first input is a float array runs with FTZ and DAZ set (x86-64: the SSE
  control register MXCSR, through the C library's ``fegetenv``/``fesetenv``; the caller's
  register comes back exactly as it was, even after an error) — TensorFlow's arithmetic
  on every element, for 1–2 µs per op whatever the size (an array made from a scalar
  first input, ``0.5 * x``, is flushed after the op: one more pass over it);
* an op on scalars (numpy scalars, the hot path of scalar training loops) has its float32
  result flushed if it is subnormal (its magnitude below :data:`TINY`): a comparison,
  some 30-50 ns.  A subnormal *input* to a scalar op (a number the user wrote, e.g.
  ``tv.constant(1e-40) * 1e10``) is not read as zero there, as TensorFlow reads it: ops
  never produce one, so only such literals differ.
* the sweeps of a tape (gradients) run with IEEE arithmetic.

Where the C library's floating-point environment is not the x86-64 one (other machines,
no ``fesetenv``) arrays keep IEEE subnormals, as compiled code does there.  The user's own
numpy code is never affected: the bits are set only while a tapeviz op runs.
"""

from __future__ import annotations

import ctypes
import platform
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["flushed", "flush_array", "FLUSHES_ARRAYS", "TINY"]

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
_get: Any = None
_put: Any = None
if _env is not None:
    _get, _put = _env
_local = threading.local()


def _thread_state() -> list[Any]:
    """The calling thread's buffer for the environment, a pointer to it, and whether
    :func:`flushed` is running (the register is the thread's own, and forwards release the
    GIL: threads must not share these)."""
    env = (ctypes.c_uint32 * 8)()
    state = [env, ctypes.byref(env), False]
    _local.state = state
    return state


def flushed(forward: Callable[..., Any], vals: tuple[Any, ...], attrs: dict[str, Any]) -> Any:
    """``forward(*vals, **attrs)`` with FTZ and DAZ set; the caller's environment restored
    (also after an error).  Where :data:`FLUSHES_ARRAYS` is false: a plain call."""
    try:
        state = _local.state
    except AttributeError:
        state = _thread_state()
    if _get is None or state[2]:  # (nested: the register is set already)
        return forward(*vals, **attrs) if attrs else forward(*vals)
    env, ref, _ = state
    _get(ref)  # the caller's environment, installed again with FTZ/DAZ, then kept to restore
    mxcsr = env[7]
    env[7] = mxcsr | _FTZ_DAZ
    _put(ref)
    env[7] = mxcsr
    state[2] = True
    try:
        return forward(*vals, **attrs) if attrs else forward(*vals)
    finally:
        state[2] = False
        _put(ref)


def flush_array(value: np.ndarray) -> np.ndarray:
    """A float32 array with its subnormals made zeros (DAZ reads them as 0 in ``x * 1``)."""
    if value.dtype != np.float32 or _env is None:
        return value
    if value.flags.writeable and value.flags.owndata:  # a new result: flushed in place
        flushed(np.multiply, (value, _ONE), {"out": value})
        return value
    return flushed(np.multiply, (value, _ONE), _NO_ATTRS)
