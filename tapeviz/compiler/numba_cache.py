"""``numba.njit`` for the modules ``tv.function`` generates, with the compiled-code cache of
:mod:`tapeviz._jit` (checked folder, sealed files, a load without numba's context refresh;
its docstring tells the whole story).

A generated module calls tapeviz's kernels as ``K.<kernel>``, but its ``K`` is set only when
numba compiles one of its functions (:mod:`tapeviz.compiler.kernels` makes some 80
dispatchers when imported, ~10 ms): loading a program's machine code from the cache reads
none of its globals.

numba compiles them with Python's garbage collector paused
(:func:`tapeviz._jit.compiled_with_collector_paused`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numba

from .._jit import cached, compiled_with_collector_paused, extensions_load_when_compiling

__all__ = ["njit"]


def _import_kernels(namespace: dict[str, Any]) -> None:
    """Set the generated module's ``K`` (see the module docstring)."""
    if namespace.get("K") is None:
        from . import kernels

        namespace["K"] = kernels


def _kernels_when_compiling(dispatcher: Any) -> bool:
    """Import the kernels for ``dispatcher``'s module before numba compiles it (with the
    garbage collector paused); whether numba's internals allowed it."""
    namespace = dispatcher.py_func.__globals__
    return compiled_with_collector_paused(dispatcher, lambda: _import_kernels(namespace))


def njit(fn: Callable[..., Any]) -> Any:
    """``numba.njit(error_model="numpy")(fn)`` for a generated module: cached in the checked
    folder if the module was written there (else compiled in memory), loaded fast.  Without
    the C-callable wrapper numba adds for calls from other compiled code through a function
    pointer (first-class functions): the generated function is only called from Python,
    and the wrapper is one more function to optimise and translate (~5 ms)."""
    options: dict[str, Any] = {"error_model": "numpy", "no_cfunc_wrapper": True}
    dispatcher: Any = numba.njit(**options)(fn)
    if not hasattr(dispatcher, "py_func") or not _kernels_when_compiling(dispatcher):
        _import_kernels(fn.__globals__)  # (NUMBA_DISABLE_JIT=1: the Python function itself)
    if hasattr(dispatcher, "py_func"):
        dispatcher._compilation_chain_init_hook = extensions_load_when_compiling
    if os.path.isabs(fn.__code__.co_filename):  # a module file in the checked folder
        cached(dispatcher)
    return dispatcher
