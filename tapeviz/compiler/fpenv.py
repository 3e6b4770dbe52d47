"""Subnormals as TensorFlow treats them in compiled code: flushed to zero.

TensorFlow runs its CPU kernels with the SSE control bits FTZ (subnormal results become
zero) and DAZ (subnormal inputs read as zero) set; measured on TF 2.21, eager and
tf.function alike: 1e-40 * 1e10 == 0, 1e-20 * 1e-20 == 0.  Compiled code does the same:
the caller (:class:`tapeviz.compiler.jit.Compiled`) sets both bits around the call and puts
the caller's bits back afterwards, so the user's other code keeps IEEE arithmetic.
Exception flags raised inside stay raised.

The switch is a function of its own, called from Python around the compiled program: set
inside the program's code, LLVM would be free to move its arithmetic across the switch
(it does not model the control register).  It lives apart from the kernels so that a
program loaded from the cache needs one small cached function besides its own code,
not the ~80 dispatchers of :mod:`tapeviz.compiler.kernels`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._jit import cached_njit
from .._mxcsr import FTZ_DAZ, X86_64, read_mxcsr, write_mxcsr

__all__ = ["FTZ_DAZ", "FLUSHES_SUBNORMALS", "switch_subnormals", "read_mxcsr", "write_mxcsr"]

FLUSHES_SUBNORMALS = X86_64
"""Whether compiled code flushes subnormals here (x86-64: MXCSR; elsewhere they are kept)."""


if FLUSHES_SUBNORMALS:

    @cached_njit(error_model="numpy", nogil=True)
    def switch_subnormals(bits: Any) -> Any:
        """Set this thread's FTZ and DAZ bits as ``bits`` has them (``FTZ_DAZ``: flushed;
        0: IEEE subnormals; the value returned earlier: as they were); returns the
        register as it was.  The rest of the register (exception flags) is kept."""
        old: Any = read_mxcsr()  # type: ignore[call-arg]
        write_mxcsr((old & ~FTZ_DAZ) | (np.uint32(bits) & FTZ_DAZ))
        return old

else:  # pragma: no cover - other processors keep IEEE subnormals

    @cached_njit(error_model="numpy", nogil=True)
    def switch_subnormals(bits: Any) -> Any:
        """Nothing to switch on this processor: a placeholder for the saved state."""
        return np.uint32(0)
