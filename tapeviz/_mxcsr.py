"""The SSE control and status register (MXCSR) in numba code: read it, write it.

TensorFlow runs its CPU kernels with the register's FTZ (a subnormal result becomes zero)
and DAZ (a subnormal input reads as zero) bits set; tapeviz sets them around eager ops on
arrays (:mod:`tapeviz.subnormals`, :mod:`tapeviz._eigen_jit`) and around compiled programs
(:mod:`tapeviz.compiler.fpenv`) and puts the caller's register back afterwards.  numba has
no word for the register; these two intrinsics call LLVM's ``stmxcsr``/``ldmxcsr``.  Only
modules that load numba import this one.
"""

from __future__ import annotations

import platform
from typing import Any

import numpy as np
from llvmlite import ir as llvm_ir  # type: ignore[import-untyped]
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["FTZ_DAZ", "X86_64", "read_mxcsr", "write_mxcsr"]

FTZ_DAZ = np.uint32(0x8040)
"""MXCSR bit 15 (flush-to-zero) and bit 6 (denormals-are-zero)."""
X86_64 = platform.machine().lower() in ("x86_64", "amd64")
"""Whether this processor has the register (elsewhere subnormals are kept)."""


def _mxcsr_op(builder: Any, name: str, slot: Any) -> None:
    """Call LLVM's ``stmxcsr``/``ldmxcsr`` intrinsic ``name`` on the 32-bit ``slot``."""
    i8p = llvm_ir.IntType(8).as_pointer()
    fnty = llvm_ir.FunctionType(llvm_ir.VoidType(), [i8p])
    fn = cgutils.get_or_insert_function(builder.module, fnty, name)
    builder.call(fn, [builder.bitcast(slot, i8p)])


@intrinsic
def read_mxcsr(typingctx: Any) -> Any:
    """The SSE control and status register of this thread (x86-64 only)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        slot = cgutils.alloca_once(builder, llvm_ir.IntType(32))
        _mxcsr_op(builder, "llvm.x86.sse.stmxcsr", slot)
        return builder.load(slot)

    return types.uint32(), codegen


@intrinsic
def write_mxcsr(typingctx: Any, value: Any) -> Any:
    """Load ``value`` into this thread's SSE control and status register (x86-64 only)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        slot = cgutils.alloca_once(builder, llvm_ir.IntType(32))
        builder.store(args[0], slot)
        _mxcsr_op(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()

    return types.void(types.uint32), codegen
