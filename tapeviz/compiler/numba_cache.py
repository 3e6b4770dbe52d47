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

The NRT itself is a few LLVM functions that numba compiles in every process (~15 ms, a
tenth of such a first call).  We keep their machine code in the cache directory, under a
name made of numba's version and the machine (numba's own cache key for machine code),
and link it instead; anything unexpected falls back to numba's initialisation.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from typing import Any

import numba

__all__ = ["njit", "FAST_LOAD", "initialize_nrt"]

try:
    from numba.core.caching import FunctionCache
    from numba.core.runtime.nrt import rtsys

    class _FastLoadCache(FunctionCache):
        """numba's on-disk cache of one function, loaded without the context refresh."""

        def load_overload(self, sig: Any, target_context: Any) -> Any:
            initialize_nrt(target_context)  # the memory manager compiled code calls
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


# how the NRT was set up in this process: "cache", "compiled" (and cached) or "numba"
NRT_SOURCE: str | None = None


def initialize_nrt(ctx: Any) -> None:
    """``rtsys.initialize(ctx)``, linking the NRT's machine code from our cache if we have
    it (and caching it if we do not)."""
    global NRT_SOURCE
    if rtsys._init:
        return
    try:
        from numba.core import config
        from numba.core.compiler_lock import global_compiler_lock

        if getattr(config, "NRT_STATS", False):  # numba's statistics mode: its own set-up
            raise LookupError
        with global_compiler_lock:
            if not rtsys._init:
                NRT_SOURCE = _nrt_from_cache(ctx)
    except Exception:  # noqa: BLE001 - any surprise: numba's own initialisation
        NRT_SOURCE = "numba"
    rtsys.initialize(ctx)  # (does nothing if the NRT is set up)


def _nrt_from_cache(ctx: Any) -> str:
    """Set up the NRT as ``_Runtime.initialize`` does, its library from the cache."""
    from llvmlite import binding as ll  # type: ignore[import-untyped]
    from numba.core.runtime import _nrt_python, nrtdynmod  # type: ignore[attr-defined]

    from .jit import cache_dir

    codegen = ctx.codegen()
    key = repr((numba.__version__, ll.llvm_version_info, codegen.magic_tuple()))
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = os.path.join(cache_dir(), f"nrt-{digest}.pkl")
    # the C functions the NRT's LLVM code calls (as _Runtime.initialize registers them)
    for name, address in _nrt_python.c_helpers.items():
        ll.add_symbol(name if name.startswith("_") else "NRT_" + name, address)
    try:
        with open(path, "rb") as fh:
            cached = pickle.load(fh)
    except Exception:  # noqa: BLE001 - missing or damaged: compiled again below
        cached = None
    library = None
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == key:
        try:
            library, source = codegen.unserialize_library(cached[1]), "cache"
        except Exception:  # noqa: BLE001 - a damaged file: compiled again below
            library = None
    if library is None:
        module, library = nrtdynmod.create_nrt_module(ctx)
        library.enable_object_caching()
        library.add_ir_module(module)
        library.finalize()
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump((key, library.serialize_using_object_code()), fh)
        os.replace(tmp, path)  # whole or not at all
        source = "compiled"
    rtsys._library = library
    rtsys._init = True
    return source
