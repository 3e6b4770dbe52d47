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

import platform
from typing import Any

import numpy as np
from llvmlite import ir as llvm_ir  # type: ignore[import-untyped]
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .._jit import cached_njit

__all__ = ["FTZ_DAZ", "FLUSHES_SUBNORMALS", "switch_subnormals", "read_mxcsr", "write_mxcsr"]

FTZ_DAZ = np.uint32(0x8040)  # MXCSR bit 15 flush-to-zero, bit 6 denormals-are-zero
FLUSHES_SUBNORMALS = platform.machine().lower() in ("x86_64", "amd64")
"""Whether compiled code flushes subnormals here (x86-64: MXCSR; elsewhere they are kept)."""


def _mxcsr_intrinsic(name: str) -> Any:
    return llvm_ir.FunctionType(llvm_ir.VoidType(), [llvm_ir.IntType(8).as_pointer()]), name


@intrinsic
def read_mxcsr(typingctx: Any) -> Any:
    """The SSE control and status register of this thread (x86-64 only)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        slot = cgutils.alloca_once(builder, llvm_ir.IntType(32))
        fnty, name = _mxcsr_intrinsic("llvm.x86.sse.stmxcsr")
        fn = cgutils.get_or_insert_function(builder.module, fnty, name)
        builder.call(fn, [builder.bitcast(slot, llvm_ir.IntType(8).as_pointer())])
        return builder.load(slot)

    return types.uint32(), codegen


@intrinsic
def write_mxcsr(typingctx: Any, value: Any) -> Any:
    """Load ``value`` into this thread's SSE control and status register (x86-64 only)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        slot = cgutils.alloca_once(builder, llvm_ir.IntType(32))
        builder.store(args[0], slot)
        fnty, name = _mxcsr_intrinsic("llvm.x86.sse.ldmxcsr")
        fn = cgutils.get_or_insert_function(builder.module, fnty, name)
        builder.call(fn, [builder.bitcast(slot, llvm_ir.IntType(8).as_pointer())])
        return context.get_dummy_value()

    return types.void(types.uint32), codegen


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
