"""The C functions that tapeviz's compiled code calls by name, made known to LLVM.

Machine code that calls a C function through a ``numba.types.ExternalFunction`` names a
symbol (``tapeviz_powf``) that must be registered (``llvmlite.binding.add_symbol``) before
the code is linked: an unknown one crashes the process when cached machine code is linked.
All of them are registered here, by importing this module — which
:mod:`tapeviz._jit` does before it loads any cached machine code, and
:mod:`tapeviz.compiler.kernels` before it declares them — so that cached code can be loaded
without importing the kernels.  (Register new symbols here, nowhere else: a test checks.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from typing import Any

import llvmlite.binding as llvm  # type: ignore[import-untyped]
import numpy as np

__all__ = ["HAVE_BLAS", "BLAS_ROUTINES"]


def _libm() -> Any:
    try:
        return ctypes.CDLL("libm.so.6")  # glibc: no need to search (find_library forks)
    except OSError:
        return ctypes.CDLL(ctypes.util.find_library("m") or "libm.dylib")


def _register(symbol: str, fn: Any) -> None:
    llvm.add_symbol(symbol, ctypes.cast(fn, ctypes.c_void_p).value)


_m = _libm()
_register("tapeviz_powf", _m.powf)
_register("tapeviz_pow", _m.pow)

# Python's own C API, for machine code that Python calls as a built-in function
# (tapeviz._eigen_jit.flush_calls, number_calls): ints and floats made and read, a
# reference taken, an error looked for
for _name in (
    "PyLong_FromUnsignedLong",
    "PyLong_AsUnsignedLong",
    "Py_IncRef",
    "PyFloat_AsDouble",
    "PyFloat_FromDouble",
    "PyErr_Occurred",
):
    _register(f"tapeviz_{_name}", getattr(ctypes.pythonapi, _name))

BLAS_ROUTINES = ("sgemm", "dgemm", "sgemv", "dgemv", "sdot", "ddot", "ssyrk", "dsyrk")


def _find_blas() -> dict[str, Any] | None:
    """NumPy's own OpenBLAS (the one eager matmul calls), or None."""
    libdir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libdir, "*openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for pattern in ("scipy_cblas_{}64_", "cblas_{}64_"):
            found = {r: getattr(lib, pattern.format(r), None) for r in BLAS_ROUTINES}
            if all(f is not None for f in found.values()):
                return found
    return None


_blas = _find_blas()
HAVE_BLAS = _blas is not None
"""Whether numpy's OpenBLAS was found: its routines are ``tapeviz_<routine>``."""
if _blas is not None:
    for _routine, _fn in _blas.items():
        _register(f"tapeviz_{_routine}", _fn)
