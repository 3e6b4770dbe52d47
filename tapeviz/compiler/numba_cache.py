"""``numba.njit(cache=True)`` for generated code, with a cheaper load from the cache.

Before numba looks in its cache it *refreshes* its typing and lowering contexts: it imports
and registers every implementation it has (numpy, math, typed containers, jitclass,
third-party extensions) — about 0.1 s, the larger part of a first call whose machine code
is already cached.  Loading cached machine code needs none of it: the code is linked, the
types of the arguments are read by numba's C dispatcher, and the only runtime service
it calls is numba's memory manager (NRT), which we initialise.  Compiling still needs the
registries, and numba's compiler refreshes the contexts itself on a cache miss.

Likewise, before a dispatcher's first call numba loads the ``numba_extensions`` entry points
of every installed package (extension types for the compiler); compiling loads them too,
in the refresh, so our dispatchers skip that hook.

The loader below is a numba ``FunctionCache`` whose ``load_overload`` skips that refresh
and initialises only the NRT.  It is used only for the functions ``tv.function`` generates
— other numba code in the process keeps numba's behaviour.  If numba's internals change
so that this cannot be set up, generated code falls back to plain ``cache=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba

__all__ = ["njit", "FAST_LOAD"]

try:
    from numba.core.caching import FunctionCache
    from numba.core.runtime.nrt import rtsys

    class _FastLoadCache(FunctionCache):
        """numba's on-disk cache of one function, loaded without the context refresh."""

        def load_overload(self, sig: Any, target_context: Any) -> Any:
            rtsys.initialize(target_context)  # the memory manager compiled code calls
            with self._guard_against_spurious_io_errors():
                return self._load_overload(sig, target_context)

    FAST_LOAD = all(
        callable(getattr(cls, name, None))
        for cls, name in (
            (FunctionCache, "_load_overload"),
            (FunctionCache, "_guard_against_spurious_io_errors"),
            (numba.core.dispatcher.Dispatcher, "_compilation_chain_init_hook"),
        )
    )
except ImportError:  # pragma: no cover - a numba without these internals
    FAST_LOAD = False


def njit(fn: Callable[..., Any]) -> Any:
    """``numba.njit(cache=True, error_model="numpy")(fn)``, loaded fast from the cache."""
    if not FAST_LOAD:  # pragma: no cover - see the module docstring
        return numba.njit(cache=True, error_model="numpy")(fn)
    dispatcher: Any = numba.njit(error_model="numpy")(fn)
    if not hasattr(dispatcher, "py_func"):
        return dispatcher  # NUMBA_DISABLE_JIT=1: the Python function itself
    dispatcher._cache = _FastLoadCache(dispatcher.py_func)
    dispatcher._compilation_chain_init_hook = _extensions_load_when_compiling
    return dispatcher


def _extensions_load_when_compiling() -> None:
    """Our dispatchers' first-call hook: nothing (see the module docstring)."""
