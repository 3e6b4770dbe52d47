"""``numba.njit`` for the modules ``tv.function`` generates, with the compiled-code cache of
:mod:`tapeviz._jit` (checked folder, sealed files, a load without numba's context refresh;
its docstring tells the whole story)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numba

from .._jit import cached, extensions_load_when_compiling

__all__ = ["njit"]


def njit(fn: Callable[..., Any]) -> Any:
    """``numba.njit(error_model="numpy")(fn)`` for a generated module: cached in the checked
    folder if the module was written there (else compiled in memory), loaded fast."""
    dispatcher: Any = numba.njit(error_model="numpy")(fn)
    if hasattr(dispatcher, "py_func"):
        dispatcher._compilation_chain_init_hook = extensions_load_when_compiling
    if os.path.isabs(fn.__code__.co_filename):  # a module file in the checked folder
        cached(dispatcher)
    return dispatcher
