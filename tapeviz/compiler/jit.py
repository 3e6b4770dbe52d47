"""Compile generated source with numba, caching across processes.

``numba.njit(cache=True)`` needs a real source file, so the generated module is written
to the cache folder (:func:`tapeviz._diskcache.cache_dir`: ``$TAPEVIZ_CACHE_DIR``, else
``~/.cache/tapeviz``, used only if it is the user's own) under a name that is a hash of its
text.  numba keeps the machine code beside it in ``__pycache__``; a new process that traces
the same program finds both and skips compilation (and, see :mod:`tapeviz._jit`, numba's
own start-up work that only compilation needs).

The module that runs is always compiled from the text generated in this process, never
read back from the file: the file only anchors numba's cache (numba keys machine code by
the file's content).  A file whose text differs from what it should hold was damaged: it
is reported, written again, and its machine code compiled again.  With no usable folder
the module is compiled in memory (and compiled again in every process).
"""

from __future__ import annotations

import linecache
import sys
import threading
import types
from typing import Any

import numpy as np

from .. import _diskcache as diskcache
from .._diskcache import cache_dir
from . import codegen, printing
from .fpenv import switch_subnormals as _switch
from .ir import Program

__all__ = ["cache_dir", "compile_program", "Compiled", "FLUSH_SUBNORMALS"]

FLUSH_SUBNORMALS = 0x8040
"""The bits of the SSE control register that compiled code runs with: FTZ and DAZ,
subnormals flushed to zero as TensorFlow's kernels flush them (0: IEEE subnormals; the
benchmarks set it to show what subnormal arithmetic costs)."""

_lock = threading.Lock()
_modules: dict[str, types.ModuleType] = {}


def _module_file(folder: str, gen: codegen.Generated) -> str | None:
    """The path of ``gen``'s module in ``folder`` (see :func:`tapeviz._diskcache.module_file`)."""
    return diskcache.module_file(folder, gen.module, gen.source)


def _load(gen: codegen.Generated) -> types.ModuleType:
    with _lock:
        mod = _modules.get(gen.module)
        if mod is not None:
            return mod
        folder = cache_dir()
        path = _module_file(folder, gen) if folder is not None else None
        filename = path or f"<tapeviz generated {gen.module}>"
        if path is None:  # (tracebacks can still show the lines)
            lines = gen.source.splitlines(keepends=True)
            linecache.cache[filename] = (len(gen.source), None, lines, filename)
        code = compile(gen.source, filename, "exec")
        mod = types.ModuleType(gen.module)
        mod.__file__ = filename
        sys.modules[gen.module] = mod
        exec(code, mod.__dict__)  # the text generated above, not the file's
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
        bufs = self._take_buffers() if self._pool else []
        # subnormals flushed to zero, as TensorFlow's kernels do; the caller's bits come back
        fp = _switch(FLUSH_SUBNORMALS)
        try:
            res = self.dispatcher(*args, *slots, *self._consts, *bufs, *extra)
        finally:
            _switch(fp)
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
