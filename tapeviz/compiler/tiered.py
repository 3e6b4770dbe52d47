"""Tiered execution: a new trace runs on the numpy interpreter while numba compiles it.

Compiling a trace takes numba a few hundred milliseconds; the interpreter
(:mod:`.interp`, float32 subnormals flushed like compiled code) needs none of it.  So the
first calls of a new trace are interpreted while its machine code is compiled out of the
caller's way, and the calls after it is ready run the compiled code — for a program whose
interpreted results are the compiled ones bit for bit (:func:`interpreted_alike`: no
transcendental function, whose numpy loops differ from the C library's in the last bits;
such a program is compiled on its first call, as without tiering):

* with a cache folder (:func:`tapeviz._diskcache.cache_dir`), a **helper process** (this module
  run as a program, at a lower priority) compiles the generated module into the folder —
  through the same code as in this process, so the folder's checks and the sealed files
  hold for what it writes — and this process loads the machine code from there (some
  20 ms, on the call that switches).  numba holds the GIL while it compiles, so a thread
  would stop the caller's interpreter for most of that time; a process only shares the
  processor.
* with code kept in memory only (no usable folder), a **thread** compiles it (a process
  could not hand the machine code over).

Machine code already in the folder is loaded at once, on the first call, and so is code
this process compiled before.  The helper is killed and reaped if Python exits before it
is done (nothing is left half-written: numba writes its files under temporary names); a
compiling thread is waited for at exit.

Set ``TAPEVIZ_TIERED=0`` in the environment to compile on the first call instead (the
first call then waits for numba); :func:`wait` waits for the compilations under way.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import types
from typing import Any

import numpy as np

from .. import _diskcache as diskcache
from .. import _eigen_f32
from .. import _helper as helpers
from .ir import Const, Program, walk

__all__ = ["enabled", "start", "wait", "Job", "ENV"]

ENV = helpers.ENV
enabled = helpers.enabled
_lock = threading.Lock()
_jobs: dict[Any, Job] = {}  # by (module, signature): one compilation per program and types


def value_type(v: Any) -> list[Any] | None:
    """What numba needs to know of an argument to compile for it (its ``typeof``), as
    JSON: ``["a", dtype, ndim, layout, readonly, aligned]`` or ``["s", dtype]``."""
    if type(v) is np.ndarray:
        flags = v.flags
        layout = "C" if flags.c_contiguous else "F" if flags.f_contiguous else "A"
        return ["a", v.dtype.str, v.ndim, layout, not flags.writeable, bool(flags.aligned)]
    if isinstance(v, np.generic) and v.dtype.kind in "biuf":
        return ["s", v.dtype.str]
    return None


def numba_signature(spec: list[list[Any]]) -> tuple[Any, ...]:
    """Numba types of :func:`value_type` descriptions (what ``numba.typeof`` gives)."""
    from numba.core import types as nt
    from numba.np.numpy_support import from_dtype

    sig: list[Any] = []
    for d in spec:
        if d[0] == "a":
            _, dtype, ndim, layout, readonly, aligned = d
            sig.append(
                nt.Array(
                    from_dtype(np.dtype(dtype)), ndim, layout, readonly=readonly, aligned=aligned
                )
            )
        else:
            sig.append(from_dtype(np.dtype(d[1])))
    return tuple(sig)


class Job:
    """The compilation of one program for one signature (see the module docstring)."""

    def __init__(self, prog: Program, name: str, spec: list[list[Any]]) -> None:
        self.program = prog
        self.name = name
        self.spec = spec
        self.error: BaseException | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.started = time.perf_counter()
        self.seconds: float | None = None  # how long the compilation took

    # -- starting ------------------------------------------------------------------------
    def begin(self, gen: Any) -> None:
        """Compile in a helper process if the code goes to a folder, else in a thread."""
        folder = diskcache.cache_dir()
        path = diskcache.module_file(folder, gen.module, gen.source) if folder else None
        if path is not None and self._spawn(folder, gen):  # type: ignore[arg-type]
            return
        self._thread = threading.Thread(
            target=self._compile_here, name=f"tapeviz compile {self.name}", daemon=True
        )
        self._thread.start()

    def _spawn(self, folder: str, gen: Any) -> bool:
        request = json.dumps(
            {
                "folder": folder,
                "module": gen.module,
                "fn": gen.fn,
                "source": gen.source,
                "spec": self.spec,
            }
        ).encode()
        try:
            self._proc = helpers.start("tapeviz.compiler.tiered", folder, stdin=subprocess.PIPE)
        except OSError:
            return False
        # a thread hands the request over (a large one would fill the pipe before the
        # helper reads it) and reaps the helper when it ends: no zombie, even if the
        # function is never called again
        self._thread = threading.Thread(
            target=self._serve, args=(request,), name=f"tapeviz helper {self.name}", daemon=True
        )
        self._thread.start()
        return True

    def _serve(self, request: bytes) -> None:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        try:
            with contextlib.suppress(OSError):  # (a helper that died early)
                proc.stdin.write(request)
                proc.stdin.close()
            proc.wait()
        finally:
            self.seconds = time.perf_counter() - self.started
            self._done.set()

    def _compile_here(self) -> None:
        try:
            self._compiled_here = _compile(self.program, self.name, self.spec)
        except BaseException as e:
            self.error = e
        finally:
            self.seconds = time.perf_counter() - self.started
            self._done.set()

    # -- finishing -----------------------------------------------------------------------
    def ready(self) -> bool:
        """Whether the compilation has ended (without waiting)."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the compilation to end; whether it has."""
        return self._done.wait(timeout)

    def take(self) -> Any:
        """The :class:`.jit.Compiled` once the compilation has ended, else None.

        After a helper process this loads the machine code it saved; if the helper failed
        (or its code is not found) the program is compiled here, so that an error in it
        is raised as without tiering."""
        if not self.ready():
            return None
        with _lock:
            _jobs.pop(self.key, None)
        if self.error is not None:
            raise self.error
        compiled = getattr(self, "_compiled_here", None)
        if compiled is None:
            from . import jit

            compiled = jit.compile_program(self.program, self.name)
        return compiled

    def _stop(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    key: Any = None


def _compile(prog: Program, name: str, spec: list[list[Any]]) -> Any:
    """Compile ``prog`` for the signature ``spec`` in this process (no call to it)."""
    from . import jit

    compiled = jit.compile_program(prog, name)
    compiled.dispatcher.compile(numba_signature(spec))
    return compiled


def _cached(gen: Any) -> bool:
    """Whether ``gen``'s machine code is in this process or the folder already."""
    jit = sys.modules.get(__package__ + ".jit")
    if jit is not None and gen.module in jit._modules:
        return True
    folder = diskcache.cache_dir()
    if folder is None:
        return False
    return bool(glob.glob(os.path.join(folder, "__pycache__", glob.escape(gen.module) + "*.nbi")))


# Ops whose numpy results (the interpreter's) and compiled results may differ in the last
# bits: numpy's SIMD transcendental loops are not the C library's functions that numba
# calls (float32 exp, log, sin, cos, tanh and sigmoid excepted: Eigen's arithmetic in both,
# :func:`_eigen_f32_alike`), LAPACK's solve is not numba's, and numpy's float64 power on
# arrays is vectorised (float32 power: Eigen's in both, :func:`_pow_alike`).
# A program with one of them is compiled on its first call, so that its results never
# change when the compiled code takes over.
NOT_ALIKE = frozenset(
    {
        "exp",
        "expm1",
        "log",
        "log1p",
        "sin",
        "cos",
        "tanh",
        "sigmoid",
        "softmax",
        "log_softmax",
        "softmax_cross_entropy_with_logits",
        "sparse_softmax_cross_entropy_with_logits",
        "matrix_solve",
    }
)


def interpreted_alike(prog: Program) -> bool:
    """Whether the interpreter gives ``prog``'s compiled results bit for bit (no op of
    :data:`NOT_ALIKE`, no ``pow`` of arrays but the shortcuts ``x**2``, ``x**0.5``...)."""
    for e in walk(prog.eqns):
        if (e.prim in NOT_ALIKE and not _eigen_f32_alike(e)) or (
            e.prim == "pow" and not _pow_alike(e)
        ):
            return False
    return True


def _eigen_f32_alike(e: Any) -> bool:
    """float32 exp, log, sin, cos, tanh and sigmoid: Eigen's arithmetic in both (the numpy
    versions of :mod:`tapeviz._eigen_f32` and the kernels, equal bit for bit)."""
    return e.prim in _eigen_f32.FUNCTIONS and e.outs[0].dtype == np.float32


def _pow_alike(e: Any) -> bool:
    """Scalars: libm's pow in both; float32 arrays: Eigen's ``generic_pow`` in both
    (:mod:`tapeviz._eigen_pow`).  Other arrays: numpy's own shortcuts (``x**2`` is ``x*x``,
    ``x**0.5`` a square root, ...) are the code generator's; other exponents differ."""
    x, y = e.ins
    out = e.outs[0]
    if out.shape == () or out.dtype.kind != "f" or out.dtype == np.float32:
        return True
    return (
        isinstance(y, Const)
        and np.ndim(y.value) == 0
        and float(y.value) in (1.0, 2.0, 0.5, -1.0)
        and x.shape == out.shape
    )


def start(prog: Program, name: str, args: list[Any], slots: list[Any]) -> Job | None:
    """Begin compiling ``prog`` for the types of these arguments and Variable values.

    Returns a :class:`Job` (take its code when ready), or None when the code should be
    compiled (or loaded) now: its machine code is cached already, numba is not installed,
    the interpreter's results could differ (:func:`interpreted_alike`), or an argument is
    of a kind this module does not describe."""
    from . import codegen

    if importlib.util.find_spec("numba") is None or not interpreted_alike(prog):
        return None
    gen = codegen.generate(prog, name)
    values = [*args, *slots, *gen.const_arrays]
    values += [np.empty(shape, dtype) for shape, dtype in gen.buffers]
    if gen.random_seed:
        values.append(np.int64(0))
    spec = [value_type(v) for v in values]
    if any(s is None for s in spec) or _cached(gen):
        return None
    key = (gen.module, json.dumps(spec))
    with _lock:
        job = _jobs.get(key)
        if job is not None:
            return job
        job = Job(prog, name, spec)  # type: ignore[arg-type]
        job.key = key
        _jobs[key] = job
    job.begin(gen)
    return job


def wait(timeout: float | None = None) -> bool:
    """Wait until the compilations under way have ended (the calls after it run compiled
    code); whether they all have within ``timeout`` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with _lock:
        jobs = list(_jobs.values())
    for job in jobs:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not job.wait(left):
            return False
    return True


@atexit.register
def _at_exit() -> None:
    """No helper outlives Python, none is left a zombie, no thread is cut off mid-compile."""
    with _lock:
        jobs = list(_jobs.values())
        _jobs.clear()
    for job in jobs:
        job._stop()
        if job._thread is not None:
            job._thread.join(60)


def _helper() -> int:
    """The helper process: compile the module described on stdin into the folder."""
    request = json.loads(sys.stdin.buffer.read())
    folder = request["folder"]
    if diskcache.cache_dir() != folder:
        sys.stderr.write(f"tapeviz helper: the folder {folder} was not accepted\n")
        return 1
    from . import jit

    gen = types.SimpleNamespace(
        module=request["module"], fn=request["fn"], source=request["source"]
    )
    mod = jit._load(gen)  # type: ignore[arg-type]
    getattr(mod, gen.fn).compile(numba_signature(request["spec"]))
    return 0


if __name__ == "__main__":
    sys.exit(_helper())
