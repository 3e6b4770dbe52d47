"""``numba.njit(cache=True)`` for tapeviz's kernels and generated code: a cheaper load, a
private folder, files that check themselves.

This module sits outside :mod:`tapeviz.compiler`: eager code compiles its float32
transcendentals with it (:mod:`tapeviz._eigen_jit`) without loading the compiler, which
uses it for the kernels of generated code and for the generated modules themselves
(:func:`tapeviz.compiler.numba_cache.njit`).

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

The cache below is a numba ``FunctionCache`` that

* loads without that refresh and initialises only the NRT;
* keeps its files only in the folder :func:`._diskcache.cache_dir` checked (the user's own,
  nobody else may write to it) — never in numba's other places (``NUMBA_CACHE_DIR``,
  ``~/.cache/numba``), which nobody checked;
* *seals* numba's index and data files (:func:`._diskcache.seal`): a damaged file is
  reported by name, removed, and the function compiled again, instead of an
  ``EOFError``/``UnpicklingError`` on every later call.  (The payloads are numba's own
  pickles; they are read only from the checked folder, and only once their checksum holds.)

It is used for the functions ``tv.function`` generates and for tapeviz's own kernels
(:func:`cached_njit`: eager code's and compiled code's) — other numba code in the process
keeps numba's behaviour.  If numba's internals change so that this cannot be set up, that
code is compiled in memory in every process.

The NRT itself is a few LLVM functions that numba compiles in every process (~15 ms, a
tenth of such a first call).  We keep their machine code in the cache folder as plain
bytes (object code and bitcode, sealed; nothing is unpickled), under a name made of
numba's version and the machine (numba's own cache key for machine code), and link it
instead; anything unexpected falls back to numba's initialisation.

numba compiles these functions with Python's cyclic garbage collector paused
(:func:`collector_paused`): the first compilation in a process allocates some 100 000
long-lived objects (numba's registries of implementations, types), which set off a dozen
collections of the middle generation and a full pass over every object of the process
(together ~60 ms of a ~300 ms compilation).  What is still alive when the compiler is done
goes straight to the oldest generation, where the next full collection finds the few
cycles of garbage the compilation left — instead of one more traversal of it all by the
next collection of the youngest generation (~20 ms).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import os
import pickle
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numba

from . import _diskcache as diskcache

__all__ = [
    "cached_njit",
    "cached",
    "collector_paused",
    "compiled_with_collector_paused",
    "FAST_LOAD",
    "initialize_nrt",
    "extensions_load_when_compiling",
]

try:
    from numba.core import environment as _environment
    from numba.core.caching import (
        CompileResultCacheImpl,
        FunctionCache,
        IndexDataCacheFile,
        InTreeCacheLocator,
        NullCache,
    )
    from numba.core.runtime.nrt import rtsys

    _checked: set[str] = set()  # folders checked in this process

    class _CheckedFolder(InTreeCacheLocator):
        """Where numba's files go, always inside the folder :func:`._diskcache.cache_dir`
        checked: for a generated module, ``__pycache__`` beside it; for a module of tapeviz
        itself (``kernels.py``), ``modules/<its folder>_<hash of its path>`` — never beside
        the installed package, in ``NUMBA_CACHE_DIR`` or ``~/.cache/numba``."""

        def __init__(self, py_func: Any, py_file: str) -> None:
            super().__init__(py_func, py_file)
            folder = diskcache.cache_dir()
            if folder is None:
                raise PermissionError("no folder for compiled code")
            if os.path.dirname(os.path.realpath(py_file)) != folder:
                subpath = self.get_suitable_cache_subpath(py_file)
                self._cache_path = os.path.join(folder, "modules", subpath)

        def ensure_cache_path(self) -> None:
            path = self._cache_path
            if path in _checked:
                return
            diskcache.make_private(path)
            problem = diskcache.folder_problem(path)
            if problem is not None:
                raise PermissionError(f"{path}: {problem}")
            _checked.add(path)

    class _CheckedImpl(CompileResultCacheImpl):
        # numba's CacheImpl declares this class attribute a list, which it only reads
        _locator_classes = [_CheckedFolder]  # noqa: RUF012

    class _SealedFiles(IndexDataCacheFile):
        """numba's index (``.nbi``) and data (``.nbc``) files, sealed."""

        def _load_index(self) -> dict[Any, str]:
            path = self._index_path
            data = diskcache.read_bytes(path)
            if data is None:
                return {}
            try:
                version, stamp, overloads = pickle.loads(diskcache.unseal(data, path))
            except diskcache.DamagedFile:
                raise
            except Exception as e:  # sealed but unreadable
                raise diskcache.DamagedFile(path, diskcache.describe(e)) from e
            if version != self._version or stamp != self._source_stamp:
                return {}  # another numba, or the source changed: compiled again
            return dict(overloads)

        def _save_index(self, overloads: dict[Any, str]) -> None:
            payload = self._dump((self._version, self._source_stamp, overloads))
            with self._open_for_write(self._index_path) as fh:
                fh.write(diskcache.seal(payload))

        def _load_data(self, name: str) -> Any:
            path = self._data_path(name)
            data = diskcache.read_bytes(path)
            if data is None:
                raise FileNotFoundError(path)
            try:
                return _Unpickler(io.BytesIO(diskcache.unseal(data, path))).load()
            except diskcache.DamagedFile:
                raise
            except Exception as e:  # sealed but unreadable
                raise diskcache.DamagedFile(path, diskcache.describe(e)) from e

        def _save_data(self, name: str, data: Any) -> None:
            with self._open_for_write(self._data_path(name)) as fh:
                fh.write(diskcache.seal(self._dump(data)))

    class _FastLoadCache(FunctionCache):
        """numba's on-disk cache of one function, loaded without the context refresh, kept
        in the checked folder, in sealed files."""

        _impl_class = _CheckedImpl

        def __init__(self, py_func: Any) -> None:
            super().__init__(py_func)
            plain = self._cache_file
            # the source's stamp, and the sources of the kernels it may call (numba keys
            # machine code by the stamp of the function's own file only)
            self._cache_file = _SealedFiles(
                self._cache_path,
                self._impl.filename_base,
                (plain._source_stamp, diskcache.code_digest()),
            )

        def load_overload(self, sig: Any, target_context: Any) -> Any:
            initialize_nrt(target_context)  # the memory manager compiled code calls
            from . import _symbols  # noqa: F401  (the C functions it calls by name)

            try:
                return self._load_overload(sig, target_context)
            except diskcache.DamagedFile as e:
                diskcache.discard(e.path, e.reason)
                return None  # compiled again, and saved

        def _load_overload(self, sig: Any, target_context: Any) -> Any:
            if not self._enabled:
                return None
            files = self._cache_file
            name = files._load_index().get(self._index_key(sig, target_context.codegen()))
            if name is None:
                return None
            try:
                data = files._load_data(name)
            except FileNotFoundError:
                return None
            try:
                return self._impl.rebuild(target_context, data)
            except Exception as e:  # sealed, yet not machine code numba takes
                raise diskcache.DamagedFile(files._data_path(name), diskcache.describe(e)) from e

        def save_overload(self, sig: Any, data: Any) -> None:
            # without numba's listing of the typed source (what ``inspect_types()`` prints
            # for machine code loaded from the cache): writing it out re-reads and annotates
            # the source, two thirds of a save (~4 ms)
            with contextlib.suppress(AttributeError, TypeError, ValueError):
                data = data._replace(type_annotation=None)
            for _ in range(2):  # (a second time if a damaged index was in the way)
                try:
                    self._save_overload(sig, data)
                    return
                except diskcache.DamagedFile as e:
                    diskcache.discard(e.path, e.reason)
                except OSError as e:  # full disk, the folder changed hands: run anyway
                    diskcache.warn_once(
                        f"save {self._cache_path}",
                        f"tapeviz: compiled code could not be saved in {self._cache_path} "
                        f"({diskcache.describe(e)}); it is compiled again in the next process.",
                    )
                    return

    class _Unpickler(pickle.Unpickler):
        """numba's pickles, with the environments of tapeviz's kernels made without
        importing their modules (:func:`_kernel_environment`)."""

        def find_class(self, module: str, name: str) -> Any:
            if (module, name) == ("numba.core.environment", "_rebuild_env"):
                return _kernel_environment
            return super().find_class(module, name)

    # tapeviz's modules of numba kernels: what a program's machine code links of them is in
    # its own cached library, and their environments are needed only in name
    _KERNEL_MODULES = frozenset({"tapeviz.compiler.kernels", "tapeviz._eigen_jit"})

    def _kernel_environment(modname: str, consts: Any, env_name: str) -> Any:
        """Numba's ``_rebuild_env``, but for a function of tapeviz's kernels whose module is
        not imported: an environment of the same name and constants whose globals are not
        the module's (they serve only code compiled in object mode, which none of the
        kernels is), instead of importing the kernels (~10 ms: some 80 dispatchers) to
        load a program that calls a few of them."""
        if modname not in _KERNEL_MODULES or modname in sys.modules:
            return _environment._rebuild_env(modname, consts, env_name)
        env = _environment.lookup_environment(env_name)
        if env is None:
            env = _environment.Environment({"__name__": modname})
            env.consts[:] = consts
            env.env_name = env_name
            _environment.Environment._memo[env_name] = env
        return env

    FAST_LOAD = all(
        callable(getattr(cls, name, None))
        for cls, name in (
            (FunctionCache, "_save_overload"),
            (FunctionCache, "_index_key"),
            (IndexDataCacheFile, "_open_for_write"),
            (IndexDataCacheFile, "_dump"),
            (CompileResultCacheImpl, "rebuild"),
            (numba.core.dispatcher.Dispatcher, "_compilation_chain_init_hook"),
            (_environment, "_rebuild_env"),
            (_environment, "lookup_environment"),
        )
    ) and hasattr(_environment.Environment, "_memo")
except ImportError:  # pragma: no cover - a numba without these internals
    FAST_LOAD = False


class _LazyCache:
    """A dispatcher's :class:`_FastLoadCache`, set up when numba first uses it (to load or
    to compile): importing tapeviz's kernels makes some 70 dispatchers, of which a program
    calls a few, and setting up a cache (its folder, its index's name, the source's stamp)
    costs ~0.1 ms each."""

    def __init__(self, dispatcher: Any) -> None:
        self._dispatcher = dispatcher

    def __getattr__(self, name: str) -> Any:
        dispatcher = self._dispatcher
        try:
            cache: Any = _FastLoadCache(dispatcher.py_func)
        except (OSError, RuntimeError) as e:  # the folder changed since it was checked
            diskcache.warn_once(
                f"cache {dispatcher.py_func.__code__.co_filename}",
                f"tapeviz: compiled code is not cached ({diskcache.describe(e)}); it is "
                "compiled in memory.",
            )
            cache = NullCache()
        dispatcher._cache = cache
        return getattr(cache, name)


def cached(dispatcher: Any) -> Any:
    """``dispatcher`` with our cache, if there is a folder for it (else: in memory)."""
    if FAST_LOAD and hasattr(dispatcher, "py_func") and diskcache.cache_dir() is not None:
        dispatcher._cache = _LazyCache(dispatcher)
    return dispatcher  # (NUMBA_DISABLE_JIT=1: the Python function itself)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (unless someone else turned it
    off: then it stays off), and the objects made in it moved to the oldest generation (if
    nobody froze objects: ``gc.unfreeze`` would release theirs too)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()  # every tracked object, into the permanent generation ...
            gc.unfreeze()  # ... and from there into the oldest one
        gc.enable()


def compiled_with_collector_paused(
    dispatcher: Any, before: Callable[[], None] | None = None
) -> bool:
    """Make numba compile ``dispatcher`` with :func:`collector_paused` (calling ``before``
    first, in the pause); whether numba's internals allowed it."""
    compiler: Any = getattr(dispatcher, "_compiler", None)
    plain = getattr(compiler, "compile", None)
    if not callable(plain):  # pragma: no cover - numba's internals changed
        return False

    def compile(args: Any, return_type: Any) -> Any:
        with collector_paused():
            if before is not None:
                before()
            return plain(args, return_type)

    compiler.compile = compile
    return True


def cached_njit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(cache=True, **options)`` for tapeviz's own modules (``kernels.py``), with
    the cache of generated code: in the checked folder, sealed files, a fast load."""

    def decorate(fn: Callable[..., Any]) -> Any:
        dispatcher: Any = numba.njit(**options)(fn)
        if hasattr(dispatcher, "py_func"):
            dispatcher._compilation_chain_init_hook = extensions_load_when_compiling
            compiled_with_collector_paused(dispatcher)
        return cached(dispatcher)

    return decorate


def extensions_load_when_compiling() -> None:
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
    except Exception:  # any surprise: numba's own initialisation
        NRT_SOURCE = "numba"
    rtsys.initialize(ctx)  # (does nothing if the NRT is set up)


def nrt_file(folder: str, codegen: Any) -> tuple[str, str]:
    """The path of the NRT's machine code in ``folder`` and the key it is stored under."""
    from llvmlite import binding as ll  # type: ignore[import-untyped]

    key = repr((numba.__version__, ll.llvm_version_info, codegen.magic_tuple()))
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return os.path.join(folder, f"nrt-{digest}.bin"), key


def _nrt_from_cache(ctx: Any) -> str:
    """Set up the NRT as ``_Runtime.initialize`` does, its library from the cache."""
    from llvmlite import binding as ll
    from numba.core.runtime import _nrt_python, nrtdynmod  # type: ignore[attr-defined]

    codegen = ctx.codegen()
    folder = diskcache.cache_dir()
    path, key = nrt_file(folder, codegen) if folder is not None else (None, "")
    # the C functions the NRT's LLVM code calls (as _Runtime.initialize registers them)
    for name, address in _nrt_python.c_helpers.items():
        ll.add_symbol(name if name.startswith("_") else "NRT_" + name, address)
    library, source = None, "compiled"
    data = diskcache.read_bytes(path) if path is not None else None
    if path is not None and data is not None:
        try:
            stored_key, name, obj, bitcode = diskcache.unpack(diskcache.unseal(data, path), 4, path)
            if stored_key == key.encode():  # (else another numba's: compiled again)
                state = (name.decode(), "object", (obj, bitcode))
                library, source = codegen.unserialize_library(state), "cache"
        except diskcache.DamagedFile as e:
            diskcache.discard(e.path, e.reason)
        except Exception as e:  # sealed, yet not code LLVM takes
            diskcache.discard(path, diskcache.describe(e))
    if library is None:
        module, library = nrtdynmod.create_nrt_module(ctx)
        library.enable_object_caching()
        library.add_ir_module(module)
        library.finalize()
        if path is not None:
            name, _, (obj, bitcode) = library.serialize_using_object_code()
            parts = [key.encode(), name.encode(), obj, bitcode]
            with contextlib.suppress(OSError):  # (then compiled again by the next process)
                diskcache.write_atomic(path, diskcache.seal(diskcache.pack(parts)))
    rtsys._library = library
    rtsys._init = True
    return source
