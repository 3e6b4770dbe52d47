"""Compile generated source with numba, caching across processes.

``numba.njit(cache=True)`` needs a real source file, so the generated module is written
to the cache directory — ``$TAPEVIZ_CACHE_DIR`` if set, else ``~/.cache/tapeviz`` (or
``$XDG_CACHE_HOME/tapeviz``) — under a name that is a hash of its text.  numba keeps the
machine code beside it in ``__pycache__``; a new process that traces the same program
finds both and skips compilation (and, see :mod:`.numba_cache`, numba's own start-up work
that only compilation needs).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import threading
from types import ModuleType
from typing import Any

import numpy as np

from . import codegen, printing
from .ir import Program

__all__ = ["cache_dir", "compile_program", "Compiled"]

_lock = threading.Lock()
_modules: dict[str, ModuleType] = {}


def cache_dir() -> str:
    """The directory of generated modules (created if needed)."""
    d = os.environ.get("TAPEVIZ_CACHE_DIR")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "tapeviz")
    try:
        os.makedirs(d, exist_ok=True)
        if not os.access(d, os.W_OK):
            raise PermissionError(d)
    except OSError:
        d = os.path.join(tempfile.gettempdir(), f"tapeviz-{os.getuid()}")
        os.makedirs(d, exist_ok=True)
    return d


def _write(path: str, text: str) -> None:
    """Write ``text`` unless the file already holds it (its timestamp keys numba's cache)."""
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _load(gen: codegen.Generated) -> ModuleType:
    with _lock:
        mod = _modules.get(gen.module)
        if mod is not None:
            return mod
        path = os.path.join(cache_dir(), gen.module + ".py")
        _write(path, gen.source)
        spec = importlib.util.spec_from_file_location(gen.module, path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[gen.module] = mod
        spec.loader.exec_module(mod)
        _modules[gen.module] = mod
        return mod


class Compiled:
    """The compiled function of one program, with the calling convention around it."""

    def __init__(self, prog: Program, gen: codegen.Generated, dispatcher: Any) -> None:
        self.program = prog
        self.gen = gen
        self.source = gen.source
        self.dispatcher = dispatcher
        self._consts = tuple(gen.const_arrays)
        # numba returns Python numbers for scalars: (position in its result tuple, numpy
        # type to convert back to) of each scalar output and assigned slot
        returned = [*prog.outputs, *(prog.slots[i] for i in gen.returned_slots)]
        self._scalar_results = [(k, v.dtype.type) for k, v in enumerate(returned) if v.shape == ()]
        self._n = gen.n_outputs
        self._n_ret = len(returned)
        self._pool: list[list[np.ndarray]] = [[] for _ in gen.buffers]
        self._pools = list(zip(self._pool, gen.buffers, strict=True))
        self._lock = threading.Lock()

    def _take_buffers(self) -> list[np.ndarray]:
        """Arrays for the returned values: one handed out earlier that nobody references
        any more (the pool's reference, getrefcount's argument and the loop variable:
        refcount 3), else a new one.  Recycling skips the page faults of fresh memory."""
        out = []
        getrefcount = sys.getrefcount
        with self._lock:
            for pool, (shape, dtype) in self._pools:
                for arr in pool:
                    if getrefcount(arr) == 3:
                        arr.flags.writeable = True
                        break
                else:
                    arr = np.empty(shape, dtype)
                    if len(pool) < 3:
                        pool.append(arr)
                out.append(arr)
        return out

    def __call__(
        self, args: list[Any], slots: list[Any], seed: int = 0
    ) -> tuple[list[Any], list[Any], list[np.ndarray]]:
        """Run: returns (outputs, new values of the assigned slots in slot order, and the
        recycled buffers that received results).  ``seed`` seeds random draws."""
        extra = (np.int64(seed),) if self.gen.random_seed else ()
        if self._pool:
            bufs = self._take_buffers()
            res = self.dispatcher(*args, *slots, *self._consts, *bufs, *extra)
        else:
            bufs = []
            res = self.dispatcher(*args, *slots, *self._consts, *extra)
        results = list(res[: self._n_ret])
        for k, scalar in self._scalar_results:
            results[k] = scalar(results[k])
        n = self._n
        outs, assigned = results[:n], results[n:]
        if self.gen.deferred_prints:
            self._print_deferred(res[self._n_ret :])
        return outs, assigned, bufs

    def _print_deferred(self, values: Any) -> None:
        pos = 0
        for attrs, count in self.gen.deferred_prints:
            typed = [
                v if isinstance(v, np.ndarray) else np.dtype(d).type(v)
                for v, d in zip(values[pos : pos + count], attrs["dtypes"], strict=True)
            ]
            pos += count
            text = printing.render(
                attrs["parts"], typed, attrs["summarize"], attrs["sep"], attrs["end"]
            )
            printing.write(text, attrs["stream"])


def compile_program(prog: Program, name: str) -> Compiled:
    """Generate, write, import and wrap the numba function of ``prog``."""
    gen = codegen.generate(prog, name)
    mod = _load(gen)
    mod.PRINTS[:] = gen.immediate_prints
    return Compiled(prog, gen, getattr(mod, gen.fn))
