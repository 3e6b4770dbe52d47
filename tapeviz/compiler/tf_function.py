"""``tv.function``: trace a Python function once per input signature, compile it with numba.

>>> import tapeviz as tv
>>> x = tv.Variable(0.0, name="x")
>>> @tv.function
... def descend(lr):
...     for _ in tv.range(100):             # a real, compiled loop
...         with tv.GradientTape() as tape:
...             y = (x - 3.0) ** 2
...         x.assign_sub(lr * tape.gradient(y, x))
...     return y
>>> _ = descend(0.1)
>>> round(float(x.numpy()), 4)
3.0

How it works (``tapeviz/compiler/``): calling the function with a new *signature* —
shapes and dtypes of tensor arguments, values of Python arguments — runs the Python code
once on symbolic tensors (:mod:`tapeviz.compiler.tracer`).  Every op, the reverse sweeps of
tapes inside, and every Variable update become equations of one program
(:mod:`tapeviz.compiler.ir`); ``for i in tv.range(n)`` becomes a loop equation whose body
was traced once.  The program is turned into Python source in a cache directory and
compiled by ``numba.njit(cache=True)``, so a new process reuses the machine code.  Later
calls with the same signature run the compiled code directly.

``get_concrete_function(...)`` returns the trace: ``.program`` (printable IR),
``.record()`` (a :class:`tapeviz.graph.Record` the graphviz emitter can draw) and
``.source`` (the generated code).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _helper, _state
from .._nest import flatten as _flatten
from .._nest import positional_names
from .._nest import unflatten as _unflatten
from ..subnormals import flushed
from ..tensor import Tensor, Variable, convert_to_tensor
from . import interp, passes, printing
from .ir import Const, Program, Var, walk
from .tracer import (
    OperatorNotAllowedInGraphError,
    SymbolicValueError,
    Tracer,
)

__all__ = [
    "function",
    "print",
    "Function",
    "ConcreteFunction",
    "RetracingWarning",
    "OperatorNotAllowedInGraphError",
    "SymbolicValueError",
]


# Above this many equations numba's compile time (superlinear in the size of one function)
# gets out of hand: such traces run on the numpy interpreter, with a warning.
MAX_COMPILED_EQUATIONS = 6000


class RetracingWarning(UserWarning):
    """Emitted when a ``tv.function`` is traced again and again (TensorFlow's warning)."""


# --- nested structures of arguments and results ------------------------------------------
def _leaf_paths(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
    """Names of the leaves of ``(args, kwargs)`` in :func:`_flatten`'s order: parameter
    names (``x``, ``batch[0]``, ``config['lr']``)."""
    params = positional_names(fn)
    tops = [(a, params[i] if i < len(params) else f"arg{i}") for i, a in enumerate(args)]
    tops += [(kwargs[k], str(k)) for k in sorted(kwargs, key=repr)]
    names: list[str] = []
    stack = list(reversed(tops))
    while stack:
        x, path = stack.pop()
        if isinstance(x, list | tuple) and not isinstance(x, Tensor):
            stack.extend((x[i], f"{path}[{i}]") for i in range(len(x) - 1, -1, -1))
        elif isinstance(x, dict):
            keys = sorted(x, key=repr)
            stack.extend((x[k], f"{path}[{k!r}]") for k in reversed(keys))
        else:
            names.append(path)
    return names


def _spec_key(spec: Any) -> Any:
    if isinstance(spec, int):
        return spec
    if spec[0] == "dict":
        return ("dict", tuple(repr(k) for k in spec[1]), tuple(_spec_key(s) for s in spec[2]))
    kind, children = spec
    return (
        kind if isinstance(kind, str) else kind.__qualname__,
        tuple(_spec_key(s) for s in children),
    )


def _leaf_key(x: Any) -> Any:
    if isinstance(x, Variable):
        return ("V", x._value.shape, x._value.dtype.str, x._trainable)
    if isinstance(x, Tensor):
        v = x._value
        return ("T", v.shape, v.dtype.str)
    if isinstance(x, np.ndarray | np.generic):
        return ("T", x.shape, x.dtype.str)
    if x is None or isinstance(x, bool | int | float | str | bytes | complex):
        return ("P", type(x).__name__, x)
    return ("O", id(x))


_PY_LEAVES = (int, float, bool, str, type(None))


def _fast_key(args: tuple[Any, ...]) -> Any:
    """The signature of a call whose arguments are all tensors or Python scalars (the
    common case, keyed without walking structures), or None."""
    key: list[Any] = []
    for x in args:
        t = type(x)
        if t is Tensor:
            v = x._value
            key.append((v.shape, v.dtype))
        elif t is Variable:
            v = x._value
            key.append(("V", v.shape, v.dtype, x._trainable))
        elif t in _PY_LEAVES:
            key.append((t, x))
        else:
            return None
    return tuple(key)


# --- TensorFlow's frequent-retracing detector --------------------------------------------
_HISTORY = 10
_THRESHOLD = 5
_MAX_WARNINGS = 2


class _RetraceDetector:
    """Counts, over the last calls, how many traced; warns as TensorFlow does."""

    def __init__(self) -> None:
        self.calls_per_trace: list[int] = []
        self.calls = 0
        self.warnings = 0
        self.lock = threading.Lock()

    def traced(self, fn_name: str) -> None:
        with self.lock:
            self.calls += 1
            self.calls_per_trace.append(1)
            while self.calls_per_trace and self.calls - self.calls_per_trace[0] > _HISTORY:
                self.calls -= self.calls_per_trace.pop(0)
            if self.warnings >= _MAX_WARNINGS or len(self.calls_per_trace) < _THRESHOLD:
                return
            self.warnings += 1
            n, calls = len(self.calls_per_trace), self.calls
        warnings.warn(
            f"{n} out of the last {calls} calls to {fn_name} triggered tv.function "
            "retracing. Tracing is expensive, and so many traces usually come from (1) "
            "creating a @tv.function again and again in a loop, (2) passing tensors of "
            "different shapes, or (3) passing Python numbers or objects instead of tensors "
            "(each new value is a new signature). For (1), define the @tv.function once, "
            "outside the loop; for (2) and (3), pass tensors of one shape and dtype "
            "(tv.constant(...)) for values that change between calls.",
            RetracingWarning,
            stacklevel=4,
        )

    def not_traced(self) -> None:
        # no lock: a lost count under races only delays the warning
        if not self.calls_per_trace:
            self.calls_per_trace = [0]
        self.calls_per_trace[-1] += 1
        self.calls += 1


_detectors: weakref.WeakKeyDictionary[Any, _RetraceDetector] = weakref.WeakKeyDictionary()
_detectors_lock = threading.Lock()


def _detector_for(fn: Any) -> _RetraceDetector:
    with _detectors_lock:
        try:
            d = _detectors.get(fn)
        except TypeError:
            return _RetraceDetector()
        if d is None:
            d = _RetraceDetector()
            with contextlib.suppress(TypeError):
                _detectors[fn] = d
        return d


# --- tracing ---------------------------------------------------------------------------------
def _use_jit() -> bool:
    return os.environ.get("NUMBA_DISABLE_JIT", "0") in ("", "0")


_numba_problem: str | None = None  # why numba cannot be imported ("" once it imported)


def _numba_missing() -> bool:
    """True if numba cannot be imported (said once per process, in a warning): compiled
    functions then run on the numpy interpreter, with the same results."""
    global _numba_problem
    if _numba_problem is None:
        try:
            import numba  # noqa: F401
        except Exception as e:  # not installed, or broken (e.g. numpy too new)
            _numba_problem = f"{type(e).__name__}: {e}"
            warnings.warn(
                f"tv.function: numba cannot be imported ({_numba_problem}), so functions run "
                "on tapeviz's numpy interpreter instead of being compiled: the same results, "
                "more slowly. Install numba (pip install numba) to compile them.",
                RuntimeWarning,
                stacklevel=5,
            )
        else:
            _numba_problem = ""
    return bool(_numba_problem)


class ConcreteFunction:
    """One trace of a :class:`Function`: the program and the code compiled from it.

    Attributes
    ----------
    program : tapeviz.compiler.ir.Program
        The traced program (print it to read it).
    variables : list of tv.Variable
        The Variables the program reads or writes, one per slot of the program.
    """

    def __init__(
        self,
        name: str,
        program: Program,
        variables: list[Variable | None],
        arg_slots: dict[int, int],
        in_spec: Any,
        out_spec: Any,
        out_leaves: list[Any],
        tensor_positions: list[int],
    ) -> None:
        self.name = name
        self.program = program
        self.variables = variables
        self._arg_slots = arg_slots  # slot index -> position of the Variable argument
        self._in_spec = in_spec
        self._out_spec = out_spec
        self._out_leaves = out_leaves  # ("out", k) or ("py", value)
        self._tensor_positions = tensor_positions
        self._assigned = sorted({e.ins[0].index for e in _walk_eqns(program) if e.prim == "assign"})
        # an array output may be (a view of) a Variable's new array: see _call_leaves
        self._outputs_may_share = any(o.shape != () for o in program.outputs) and any(
            program.slots[i].shape != () for i in self._assigned
        )
        self._single_output = out_spec == 0 and out_leaves == [("out", 0)]
        self.input_names: list[str] = []
        self._compiled: Any = None
        self._interpreted = False
        self._job: Any = None  # a compilation under way (tapeviz.compiler.tiered)
        self.source: str | None = None
        # seeds each run's random draws (tv.random inside the function), else None
        self.random_stream: np.random.Generator | None = None

    # -- running ------------------------------------------------------------------------
    def _runner(self, args: list[Any], slot_values: list[Any]) -> Any:
        if self._compiled is None and _use_jit() and not self._interpreted:
            job = self._job
            if job is None:
                if _computes_with_complex(self.program):
                    # the numba code generator has no complex kernels: the numpy interpreter
                    # runs the program (same numbers as eager; no compiled speed-up)
                    self._interpreted = True
                    return None
                n = self.program.num_eqns()
                if n > MAX_COMPILED_EQUATIONS:
                    self._interpreted = True
                    warnings.warn(
                        f"tv.function: the trace of {self.name} has {n} equations (a Python "
                        "loop was unrolled while tracing); numba would take minutes to compile "
                        "it, so it runs on the numpy interpreter instead. Write the loop as "
                        "`for _ in tv.range(n)` to get one compiled loop.",
                        RuntimeWarning,
                        stacklevel=4,
                    )
                    return None
                if _helper.enabled():
                    from . import tiered

                    # interpreted while numba compiles out of the way (None: load it now)
                    job = self._job = tiered.start(self.program, self.name, args, slot_values)
            if job is not None and not job.ready():
                return None
            if _numba_missing():
                self._interpreted = True
                self._job = None
                return None
            if job is not None:
                return self._switch(job.take())
            from . import jit

            return self._switch(jit.compile_program(self.program, self.name))
        return self._compiled

    def _switch(self, compiled: Any) -> Any:
        """From now on run ``compiled`` (None: not ready yet)."""
        if compiled is not None:
            self._compiled = compiled
            self.source = compiled.source
            self._job = None
        return compiled

    def _call_leaves(self, leaves: Any) -> Any:
        args = []
        for pos in self._tensor_positions:
            x = leaves[pos]
            args.append(x._value if isinstance(x, Tensor) else _as_value(x))
        variables = self.variables
        if self._arg_slots:
            variables = list(variables)
            for slot_index, pos in self._arg_slots.items():
                variables[slot_index] = leaves[pos]
        slot_values = [v._value for v in variables]  # type: ignore[union-attr]
        seed = 0
        if self.random_stream is not None:
            seed = int(self.random_stream.integers(0, 2**32))
        compiled = self._compiled or self._runner(args, slot_values)
        if compiled is not None:
            outs, assigned, fresh = compiled(args, slot_values, seed)
            fresh_ids = {id(b) for b in fresh}
            for i, value, own in zip(self._assigned, assigned, compiled.gen.own_arrays):  # noqa: B905
                # an array the compiled code allocated, or a recycled buffer it filled:
                # it shares memory with nothing
                if own or id(value) in fresh_ids:
                    value.flags.writeable = False
                    variables[i]._value = value
                else:
                    _store(variables[i], value, args, slot_values)
            if self._outputs_may_share:
                _protect_shared_outputs(outs, [variables[i]._value for i in self._assigned])
        else:
            # with subnormals flushed, as the compiled code flushes them
            outs, store = flushed(interp.run, (self.program, args, slot_values, seed), {})
            for i in self._assigned:
                _store(variables[i], store[i], args, slot_values)
        if self._single_output:
            return Tensor._wrap(outs[0])
        results = []
        for kind, v in self._out_leaves:
            results.append(Tensor._wrap(outs[v]) if kind == "out" else v)
        return _unflatten(self._out_spec, results)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the compiled program on these arguments (of the traced shapes and dtypes)."""
        leaves, _ = _flatten((args, kwargs))
        return self._call_leaves(leaves)

    # -- looking at it ---------------------------------------------------------------------
    def record(self) -> Any:
        """The trace as a public :class:`tapeviz.graph.Record` (``tv.viz.graph`` draws it).

        Variables carry their current values; everything else a trace does not know yet
        (NaN).  Ops inside ``tv.range`` loops have the loop in their ``scope``."""
        from .record import program_record

        values = [None if v is None else v._value for v in self.variables]
        known = None if any(v is None for v in values) else values
        return program_record(self.program, known, self.input_names)

    @property
    def python_source(self) -> str:
        """The Python module generated for numba from this trace (generated, not run)."""
        from . import codegen

        return codegen.generate(self.program, self.name).source

    def __repr__(self) -> str:
        return f"<tv.ConcreteFunction {self.name}: {self.program.num_eqns()} equations>"


def _walk_eqns(prog: Program) -> Any:
    from .ir import walk

    return walk(prog.eqns)


def _as_value(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x[()] if x.ndim == 0 else x
    return x


def _protect_shared_outputs(outs: list[Any], values: list[Any]) -> None:
    """Make an output array read-only if it shares memory with a Variable's new value
    (``v.assign(y); return y``: numba hands back two array objects over one buffer), so
    that writing into the returned tensor cannot change the Variable."""
    for out in outs:
        if type(out) is np.ndarray and out.flags.writeable:
            for value in values:
                if type(value) is np.ndarray and np.may_share_memory(out, value):
                    out.flags.writeable = False
                    break


def _computes_with_complex(prog: Program) -> bool:
    """Whether a traced program has complex values (arguments, Variables, results)."""
    if any(v.dtype.kind == "c" for v in prog.inputs) or any(
        np.dtype(s.dtype).kind == "c" for s in prog.slots
    ):
        return True
    for e in walk(prog.eqns):
        for a in (*e.ins, *e.outs):
            if isinstance(a, Const):
                if np.iscomplexobj(a.value):
                    return True
            elif isinstance(a, Var) and a.dtype.kind == "c":
                return True
    return False


def _store(var: Any, value: Any, args: list[Any], slots: list[Any]) -> None:
    """Write a computed value into a Variable, read-only (values never change in place).

    A value that may share memory with an argument (``w.assign(x)`` returns ``x``'s array)
    is copied, as eager ``assign`` copies.  (Arrays the compiled code filled, its recycled
    buffers, are stored by the caller without this check.)"""
    if type(value) is np.ndarray:
        if value.ndim == 0:
            value = value[()]
        else:
            for a in (*args, *slots):
                if isinstance(a, np.ndarray) and np.may_share_memory(value, a):
                    value = value.copy()
                    break
            value.flags.writeable = False
    var._value = value


class Function:
    """A Python function compiled by tracing; see :func:`function`."""

    def __init__(
        self, python_function: Callable[..., Any], name: str | None = None, autograph: bool = True
    ) -> None:
        self.python_function = python_function
        self._autograph = autograph
        self._converted: Callable[..., Any] | None = None
        self.__name__ = str(name or getattr(python_function, "__name__", "function"))
        functools.update_wrapper(self, python_function)
        self._cache: dict[Any, ConcreteFunction] = {}
        self._fast: dict[Any, ConcreteFunction] = {}  # flat positional calls
        self._keepalive: dict[Any, list[Any]] = {}
        self._traces = 0
        self._lock = threading.RLock()
        self._detector = _detector_for(python_function)

    @property
    def experimental_get_tracing_count(self) -> Callable[[], int]:
        """A function that returns how many times this function has been traced."""
        return lambda: self._traces

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return functools.partial(self.__call__, instance)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the compiled program for these arguments, tracing it first if needed."""
        local = _state.local
        if local.tracer is not None:
            # called from traced code: its ops join the caller's program
            return self._traced_function()(*args, **kwargs)
        for tape in local.tapes:
            if tape._recording:
                # an outer tape differentiates through the call: run it eagerly
                return self.python_function(*args, **kwargs)
        fast = None if kwargs else _fast_key(args)
        cf: ConcreteFunction | None
        if fast is not None:
            cf = self._fast.get(fast)
            if cf is not None:
                self._detector.not_traced()
                return cf._call_leaves(args)
        leaves, spec = _flatten((args, kwargs))
        key = (_spec_key(spec), tuple(_leaf_key(x) for x in leaves))
        cf = self._cache.get(key)
        if cf is None:
            cf = self._trace(args, kwargs, leaves, spec, key)
        else:
            self._detector.not_traced()
        if fast is not None:
            self._fast[fast] = cf
        return cf._call_leaves(leaves)

    def get_concrete_function(self, *args: Any, **kwargs: Any) -> ConcreteFunction:
        """The trace for these arguments (traced now if it is not cached yet)."""
        leaves, spec = _flatten((args, kwargs))
        key = (_spec_key(spec), tuple(_leaf_key(x) for x in leaves))
        cf = self._cache.get(key)
        if cf is None:
            cf = self._trace(args, kwargs, leaves, spec, key)
        return cf

    def _trace(
        self, args: Any, kwargs: Any, leaves: list[Any], spec: Any, key: Any
    ) -> ConcreteFunction:
        with self._lock:
            cf = self._cache.get(key)
            if cf is not None:
                return cf
            cf = trace(
                self._traced_function(),
                self.__name__,
                leaves,
                spec,
                allow_variable_creation=self._traces == 0,
            )
            self._traces += 1
            self._cache[key] = cf
            self._keepalive[key] = [x for x in leaves if _leaf_key(x)[0] == "O"]
        self._detector.traced(repr(self.python_function))
        return cf

    def _traced_function(self) -> Callable[..., Any]:
        """The function that is traced: autograph's conversion (tapeviz.compiler.autograph)
        of the Python function, or the function itself with autograph=False."""
        if self._converted is None:
            if self._autograph:
                from .autograph import convert

                self._converted = convert(self.python_function).fn
            else:
                self._converted = self.python_function
        return self._converted

    def __repr__(self) -> str:
        return f"<tv.function {self.__name__}: {self._traces} trace(s)>"


def trace(
    fn: Callable[..., Any],
    name: str,
    leaves: list[Any],
    spec: Any,
    allow_variable_creation: bool = True,
) -> ConcreteFunction:
    """Trace ``fn`` on symbolic versions of ``leaves`` into a :class:`ConcreteFunction`."""
    tracer = Tracer(name, allow_variable_creation)
    local = _state.local
    saved = (local.tracer, local.tapes, local.group)
    sym_leaves: list[Any] = []
    tensor_positions: list[int] = []
    args0, kwargs0 = _unflatten(spec, leaves)
    paths = _leaf_paths(fn, args0, kwargs0)
    input_names: list[str] = []
    try:
        local.tracer = tracer
        local.tapes = [tracer.marker]
        local.group = None
        for pos, x in enumerate(leaves):
            if isinstance(x, Variable):
                tracer.bind_argument_variable(x, pos)
                sym_leaves.append(x)
            elif isinstance(x, Tensor | np.ndarray | np.generic):
                v = x._value if isinstance(x, Tensor) else np.asarray(x)
                name_ = x._name if isinstance(x, Tensor) else None
                sym_leaves.append(tracer.input(tuple(v.shape), v.dtype, name_))
                tensor_positions.append(pos)
                input_names.append(paths[pos] if pos < len(paths) else f"arg{pos}")
            else:
                sym_leaves.append(x)
        args, kwargs = _unflatten(spec, sym_leaves)
        result = fn(*args, **kwargs)
        if tracer.open_loops():
            raise NotImplementedError(
                "tv.function: `break` or `return` inside a `for ... in tv.range(...)` loop "
                "is not supported: the compiled loop runs all its iterations. Compute a "
                "mask with tv.where instead, or loop with Python's range (unrolled)."
            )
        out_leaves_py, out_spec = _flatten(result)
        outputs: list[Any] = []
        out_leaves: list[Any] = []
        for x in out_leaves_py:
            if isinstance(x, Tensor):
                a = tracer.atom(x)
                if isinstance(a, Const):
                    out_leaves.append(("py", Tensor._wrap(a.value)))
                else:
                    out_leaves.append(("out", len(outputs)))
                    outputs.append(a)
            elif isinstance(x, bool | int | float | np.ndarray | np.generic):
                # numbers computed in Python come back as tensors, as tf.function returns them
                out_leaves.append(("py", convert_to_tensor(x)))
            else:
                out_leaves.append(("py", x))
        program = passes.optimize(tracer.program(outputs))
        variables: list[Variable | None] = list(tracer.variables())
        arg_slots: dict[int, int] = {}
        for slot in program.slots:
            where = tracer.argument_position(slot)
            if where is not None:
                arg_slots[slot.index] = where
                variables[slot.index] = None
    finally:
        tracer.restore_variables()
        local.tracer, local.tapes, local.group = saved
    cf = ConcreteFunction(
        name, program, variables, arg_slots, spec, out_spec, out_leaves, tensor_positions
    )
    cf.input_names = input_names
    if any(e.prim == "random" for e in _walk_eqns(program)):
        cf.random_stream = tracer.random_stream
    return cf


def function(
    func: Callable[..., Any] | None = None,
    input_signature: Any = None,
    autograph: bool = True,
    jit_compile: Any = None,
    reduce_retracing: bool = False,
    experimental_compile: Any = None,
    name: str | None = None,
) -> Any:
    """Compile a Python function: ``tf.function`` for tapeviz.

    Use as ``@tv.function``, ``@tv.function()`` or ``tv.function(f)``.  The function is
    traced on symbolic tensors once per input signature (shapes and dtypes of tensor
    arguments, values of Python arguments); the trace — forward ops, the reverse sweeps of
    tapes inside it, Variable updates and optimizer steps — is compiled with numba into one
    function.  ``for i in tv.range(n)`` compiles to a real loop; Python loops are unrolled.

    Inside the function tensors are symbolic.  With ``autograph=True`` (the default, as in
    TensorFlow) the function's own ``if``/``while``/``for`` statements on tensors become
    ``tv.cond`` / ``tv.while_loop`` (:mod:`tapeviz.compiler.autograph`); with
    ``autograph=False`` such a statement raises.  ``print`` runs only while tracing (use
    :func:`print`, which prints every time the function runs).  Variables may be created
    only on the first call.

    The other arguments are accepted for compatibility with ``tf.function`` and ignored.

    >>> import tapeviz as tv
    >>> @tv.function
    ... def f(x):
    ...     return x * x + 1.0
    >>> f(tv.constant(2.0))
    <tv.Tensor: shape=(), dtype=float32, numpy=5.0>
    """
    if func is None:
        return lambda f: Function(f, name, autograph=autograph)
    return Function(func, name, autograph=autograph)


def print(
    *inputs: Any,
    output_stream: Any = None,
    summarize: int = 3,
    sep: str = " ",
    end: str = "\n",
    name: Any = None,
) -> None:
    """Print tensors (and Python values) the way ``tf.print`` does; default: to stderr.

    Inside :func:`function` the print becomes part of the compiled code and runs every
    time the function runs (Python's ``print`` would only run while tracing).

    >>> import tapeviz as tv, sys
    >>> tv.print("x =", tv.constant([1.5, 2.0]), output_stream=sys.stdout)
    x = [1.5 2]
    """
    stream = printing.stream_key(output_stream)
    parts, tensors = printing.template(inputs, lambda x: isinstance(x, Tensor))
    tracer = _state.local.tracer
    if tracer is not None:
        attrs = {"summarize": summarize, "sep": sep, "end": end, "stream": stream}
        tracer.print(parts, tensors, attrs)
        return
    values = [t._value for t in tensors]
    printing.write(printing.render(parts, values, summarize, sep, end), stream)
