"""Tracing: run a Python function on *symbolic* tensors and write down what it does.

While a :class:`Tracer` is active (``tapeviz._state.local.tracer``), every op goes through
:meth:`Tracer.apply` instead of computing: it appends an equation to the program and
returns a :class:`SymbolicTensor` — a real ``tv.Tensor`` whose value is a
:class:`Placeholder` of the right shape and dtype but without numbers.  Everything that
only needs shapes and dtypes (the checks of the public op functions, broadcasting rules,
``GradientTape`` bookkeeping) works unchanged; anything that needs the numbers raises a
clear error.

Gradient tapes record the symbolic tensors as usual.  Their reverse sweep runs in the
``TENSOR`` backend (the tracer keeps a marker on the tape stack that counts as a recording
tape), so the VJP rules call ops, and the gradient becomes equations of the same program.

Variables are storage: the first time the trace touches one, the tracer emits a ``read``
and gives the Variable a placeholder value bound to it; ``assign`` stores.  At each loop
boundary every Variable is read again, so a loop body always sees the value of the
current iteration.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _state, dtypes
from ..errors import OperatorNotAllowedInGraphError
from ..ops._registry import REGISTRY, Op, OpTable, record
from ..tensor import Tensor, Variable, convert_to_tensor
from .ir import Atom, Const, Eqn, Program, Slot, Var, walk

__all__ = [
    "Placeholder",
    "SymbolicTensor",
    "SymbolicValueError",
    "OperatorNotAllowedInGraphError",
    "Tracer",
    "VARIABLE_CREATION_MSG",
]

VARIABLE_CREATION_MSG = (
    "tv.function only supports Variables created on the first call of the function "
    "(its first trace). This call traced the function again and tried to create a new "
    "tv.Variable. Create the Variable once, outside the function (or let an object keep "
    "it and create it only if it does not exist yet), and pass it in or use it from there."
)


class SymbolicValueError(TypeError):
    """Raised when traced code asks for the numbers of a symbolic tensor."""


def _no_value(what: str) -> SymbolicValueError:
    return SymbolicValueError(
        f"{what}: inside tv.function tensors are symbolic — their values exist only when "
        "the compiled function runs. Use tapeviz ops on them (and tv.print to see values at "
        "run time), or compute with .numpy() outside the tv.function."
    )


# Engine code that may look at stand-in numbers: the op wrappers validate their inputs
# (label ranges, ...) and tapes build records; a zero in place of a value is harmless there.
_TOLERANT = (
    os.path.join("tapeviz", "ops", ""),
    os.path.join("tapeviz", "tape.py"),
    os.path.join("tapeviz", "graph.py"),
)


_INT_MESSAGE = (
    "int() of a symbolic tensor, for example a tensor used as an index or a slice bound "
    "(x[i], x[i:j]), which tv.function does not support: compiled code needs indices known "
    "while tracing. Index with Python ints (a Python `for i in range(n)` loop is unrolled), "
    "or select with ops, e.g. tv.reduce_sum(x * tv.one_hot(i, n), axis=0) for row i"
)


class Placeholder:
    """The value of a symbolic tensor: a shape and a dtype, and no numbers.

    It answers ``.shape``, ``.dtype``, ``.ndim``, ``.size`` and numpy's shape-only
    functions (``np.shape``, ``np.zeros_like``), so checks of shapes and dtypes work while
    tracing.  Reading numbers — ``float()``, ``np.asarray()``, numpy arithmetic — raises
    :class:`SymbolicValueError` instead of silently computing with made-up values (only the
    op wrappers' own input checks get zeros).
    """

    __slots__ = ("shape", "dtype", "__weakref__")

    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """The number of entries."""
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a rank-0 value")
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        frame = sys._getframe(1)
        if any(p in frame.f_code.co_filename for p in _TOLERANT):
            return np.zeros(self.shape, dtype=dtype or self.dtype)
        raise _no_value("numpy.asarray() of the value of a symbolic tensor")

    def __getitem__(self, key: Any) -> Any:
        raise _no_value("indexing the value of a symbolic tensor")

    def __float__(self) -> float:
        raise _no_value("float() of a symbolic tensor")

    def __int__(self) -> int:
        raise _no_value(_INT_MESSAGE)

    def __index__(self) -> int:
        raise _no_value(_INT_MESSAGE)

    def __bool__(self) -> bool:
        raise _no_value("the truth value of a symbolic tensor")

    def tolist(self) -> Any:
        """Raise the error that explains a traced tensor has no value yet."""
        raise _no_value("the value of a symbolic tensor (tolist)")

    def item(self, *args: Any) -> Any:
        """Raise the error that explains a traced tensor has no value yet."""
        raise _no_value("the value of a symbolic tensor (item)")

    def astype(self, *args: Any, **kwargs: Any) -> Any:
        """Raise the error that points to ``tv.cast`` instead."""
        raise _no_value("converting the value of a symbolic tensor (use tv.cast)")

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        """Raise the error that explains a traced tensor has no value to copy."""
        raise _no_value("copying the value of a symbolic tensor")

    def reshape(self, *args: Any, **kwargs: Any) -> Any:
        """Raise the error that points to ``tv.reshape`` instead."""
        raise _no_value("reshaping the value of a symbolic tensor (use tv.reshape)")

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        raise _no_value(f"numpy.{ufunc.__name__} on the value of a symbolic tensor")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func in _SHAPE_ONLY:
            plain = [np.zeros(a.shape, a.dtype) if isinstance(a, Placeholder) else a for a in args]
            return func(*plain, **kwargs)
        raise _no_value(f"numpy.{func.__name__} on the value of a symbolic tensor")

    def __repr__(self) -> str:
        return f"<symbolic value shape={self.shape} dtype={self.dtype}>"

    __str__ = __repr__


# numpy functions whose result depends only on shape and dtype
_SHAPE_ONLY = {
    np.zeros_like,
    np.ones_like,
    np.empty_like,
    np.full_like,
    np.shape,
    np.ndim,
    np.size,
    np.result_type,
}


def placeholder(shape: tuple[int, ...], dtype: Any) -> Placeholder:
    """A placeholder value of ``shape`` and ``dtype`` (no memory for entries)."""
    return Placeholder(shape, dtype)


class SymbolicTensor(Tensor):
    """A tensor inside ``tv.function``: a name in the program, not numbers."""

    __slots__ = ()

    def numpy(self) -> Any:
        """Raise the error that explains ``.numpy()`` has no value while tracing."""
        raise _no_value(".numpy() of a symbolic tensor")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise _no_value("numpy.asarray() of a symbolic tensor")

    def __repr__(self) -> str:
        tracer = _state.local.tracer
        label = self._name or (tracer.name_of(self) if tracer is not None else "symbolic")
        return f"<tv.Tensor '{label}' shape={self.shape} dtype={self.dtype.name}>"

    __str__ = __repr__


class _TraceMarker:
    """Sits on the tape stack while tracing so that reverse sweeps use the TENSOR
    backend (their VJPs become equations); records nothing itself."""

    _recording = True
    _id = 0

    def _record(self, *args: Any) -> None:
        return None

    def _record_custom(self, *args: Any) -> None:
        return None


class _VarState:
    __slots__ = ("var", "slot", "real")

    def __init__(self, var: Variable, slot: Slot, real: Any) -> None:
        self.var = var
        self.slot = slot
        self.real = real


# Elementwise ops (``Op.elementwise``): the output shape is the broadcast of the inputs'
# shapes (read-only, derived from the registry)
ELEMENTWISE: OpTable[bool] = OpTable(lambda op: True if op.elementwise else None)


def _dummy(shape: tuple[int, ...], dtype: np.dtype[Any]) -> Any:
    """A stand-in value for shape inference: ones (zeros for ints: valid indices)."""
    fill = 0 if dtype.kind in "iu" else 1
    if not shape:
        return dtype.type(fill)
    return np.full(shape, fill, dtype=dtype)


class Tracer:
    """Builds a :class:`~tapeviz.compiler.ir.Program` while a Python function runs.

    It implements the engine's hooks, :class:`tapeviz._state.Tracer`: while it traces it is
    ``_state.local.tracer``, and ops, Variables and optimizers hand their work to it."""

    symbolic_tensor: type[Tensor] = SymbolicTensor
    value_error: type[Exception] = SymbolicValueError

    @staticmethod
    def has_side_effects(eqns: list[Eqn]) -> bool:
        """Whether a traced block assigns a user's Variable, prints or draws random numbers."""
        return any(
            e.prim in ("print", "random") or (e.prim == "assign" and not e.ins[0].scratch)
            for e in walk(eqns)
        )

    @staticmethod
    def is_symbolic(value: Any) -> bool:
        """Whether ``value`` is a traced placeholder (known only when the code runs)."""
        return type(value) is Placeholder

    @staticmethod
    def scalars(opt: Any) -> Any:
        """The optimizer's hyperparameters as traced scalars of the compiled step."""
        from .optimizers import TracedScalars

        return TracedScalars(opt)

    def __init__(self, name: str, allow_variable_creation: bool) -> None:
        self.name = name
        self.allow_variable_creation = allow_variable_creation
        self.marker = _TraceMarker()
        self._count = itertools.count(1)
        self.inputs: list[Var] = []
        self.slots: list[Slot] = []
        self.eqns: list[Eqn] = []
        self._regions: list[list[Eqn]] = [self.eqns]
        self._loops: list[Eqn] = []
        # id(placeholder) -> (placeholder, atom); keeps the placeholders alive
        self._bind: dict[int, tuple[Placeholder, Atom]] = {}
        self._errors: dict[int, str] = {}  # id(placeholder) -> message (dynamic ranges)
        self._vars: dict[int, _VarState] = {}
        self._created: list[Variable] = []
        self._arg_vars: dict[int, int] = {}  # Variable._id -> argument position
        self._shape_cache: dict[Any, tuple[tuple[int, ...], np.dtype[Any]]] = {}
        # per open tv.range loop: id() of every tensor its body uses (loop-carried checks)
        self._loop_reads: list[set[int]] = []
        # the stream that seeds each call's random draws (taken at the first random op)
        self.random_stream: np.random.Generator | None = None
        # control flow (tapeviz.control_flow): per open block, the ids of the values it
        # defines and the tensors from outside that its ops use (what it *captures*)
        self._defined: list[set[int]] = []
        self._captures: list[dict[int, Tensor]] = []
        self._scratch: list[tuple[Slot, _Scratch]] = []
        self._assigns = 0  # how many assign equations so far (a branch with side effects)

    # -- values --------------------------------------------------------------------------
    def new_var(self, shape: tuple[int, ...], dtype: Any) -> Var:
        """A new program variable of this shape and dtype, numbered in order."""
        return Var(next(self._count), tuple(shape), np.dtype(dtype))

    def symbolic(self, atom: Atom, name: str | None = None) -> Tensor:
        """A fresh tensor standing for ``atom`` (constants stay concrete tensors)."""
        if isinstance(atom, Const):
            t = Tensor._wrap(atom.value)
            t._name = name
            return t
        ph = placeholder(atom.shape, atom.dtype)
        self._bind[id(ph)] = (ph, atom)
        t = object.__new__(SymbolicTensor)
        t._value = ph
        t._id = _state.next_id()
        t._name = name
        return t

    def input(self, shape: tuple[int, ...], dtype: Any, name: str | None = None) -> Tensor:
        """A new input of the program, as a symbolic tensor."""
        v = self.new_var(shape, dtype)
        self.inputs.append(v)
        return self.symbolic(v, name)

    def atom(self, x: Tensor) -> Atom:
        """The program value that tensor ``x`` stands for."""
        for reads in self._loop_reads:
            reads.add(id(x))
        if isinstance(x, Variable) and x._id not in self._vars:
            if type(x._value) is Placeholder:
                raise SymbolicValueError(
                    f"tv.Variable '{x.name}' was created inside tv.function from a symbolic "
                    "tensor; a Variable needs a concrete initial value (a number, an array, "
                    "or a tensor computed outside the function; tv.random values inside "
                    "tv.function are drawn at run time, so draw an initial value outside "
                    "or use a keras initializer)"
                )
            self._use_variable(x)
        v = x._value
        if type(v) is Placeholder:
            b = self._bind.get(id(v))
            if b is not None:
                return b[1]
            msg = self._errors.get(id(v))
            if msg is not None:
                raise SymbolicValueError(msg)
            raise SymbolicValueError(
                "a tensor inside tv.function was computed from the value of a symbolic "
                "tensor by plain numpy code, not by a tapeviz op; use tapeviz ops only"
            )
        return Const(v)

    def name_of(self, t: Tensor) -> str:
        """The program variable's name of ``t`` (``"symbolic"`` if it has none)."""
        b = self._bind.get(id(t._value))
        return b[1].name if b is not None and isinstance(b[1], Var) else "symbolic"

    # -- equations -------------------------------------------------------------------------
    def emit(
        self,
        prim: str,
        ins: tuple[Any, ...],
        outs: tuple[Var, ...],
        attrs: dict[str, Any] | None = None,
        body: list[Eqn] | None = None,
    ) -> Eqn:
        """Append an equation to the innermost open region (a loop body, else the program)."""
        local = _state.local
        e = Eqn(prim, ins, outs, dict(attrs or {}), body, local.scope.rstrip("/"), local.group)
        self._regions[-1].append(e)
        for defined in self._defined:
            defined.update(o.id for o in outs)
        return e

    def compute(self, op: Op, atoms: list[Atom], attrs: dict[str, Any]) -> Atom:
        """Emit ``op`` on ``atoms`` (or compute it now if every input is a constant)."""
        consts = [a for a in atoms if isinstance(a, Const)]
        if len(consts) == len(atoms):
            value = _normalize(op.forward(*[a.value for a in consts], **attrs))
            # fold, unless the result is a big array made from small ones (a broadcast
            # seed of ones, zeros of a gradient's shape): those stay cheap equations
            if np.size(value) <= max(64, *(np.size(a.value) for a in consts)):
                return Const(value)
        shape, dtype = self._infer(op, atoms, attrs)
        same = _simplify(op.name, atoms, shape, dtype)
        if same is not None:
            return same
        out = self.new_var(shape, dtype)
        self.emit(op.name, tuple(atoms), (out,), attrs)
        return out

    def _infer(
        self, op: Op, atoms: list[Atom], attrs: dict[str, Any]
    ) -> tuple[tuple[int, ...], np.dtype[Any]]:
        """Output shape and dtype: run the numpy forward on stand-in values (cached)."""
        key = (op.name, tuple((a.shape, a.dtype.str) for a in atoms), repr(attrs))
        hit = self._shape_cache.get(key)
        if hit is not None:
            return hit
        with np.errstate(all="ignore"):
            if op.name == "matrix_solve":  # (ones would be a singular matrix)
                shape, dtype = tuple(atoms[1].shape), atoms[1].dtype
            elif op.elementwise:  # (ones: an integer floordiv by 0 would raise)
                small = [a.dtype.type(1) for a in atoms]
                dtype = np.asarray(op.forward(*small, **attrs)).dtype
                shape = tuple(np.broadcast_shapes(*[a.shape for a in atoms]))
            else:
                vals = [
                    a.value if isinstance(a, Const) else _dummy(a.shape, a.dtype) for a in atoms
                ]
                out = np.asarray(op.forward(*vals, **attrs))
                shape, dtype = tuple(out.shape), out.dtype
        self._shape_cache[key] = (shape, dtype)
        return shape, dtype

    def apply(self, op: Op, xs: Any, attrs: dict[str, Any]) -> Tensor:
        """The hook of ``tapeviz.ops._registry.apply`` while tracing."""
        atoms = [self.atom(x) for x in xs]
        if self._captures:
            self._note_captures(xs, atoms)
        out = self.symbolic(self.compute(op, atoms, attrs))
        if op.vjp is not None:
            record(op, xs, out, attrs)  # (the marker records nothing)
        return out

    # -- Variables -------------------------------------------------------------------------
    def variable_created(self, var: Variable) -> None:
        """Record a Variable created while tracing; an error unless creation is allowed."""
        if not self.allow_variable_creation:
            raise ValueError(VARIABLE_CREATION_MSG)
        self._created.append(var)

    def _use_variable(self, var: Variable) -> _VarState:
        st = self._vars.get(var._id)
        if st is None:
            created = any(v is var for v in self._created)
            slot = Slot(len(self.slots), var.name, var._value.shape, var._value.dtype, created)
            self.slots.append(slot)
            st = _VarState(var, slot, var._value)
            self._vars[var._id] = st
            self._read(st)
        return st

    def _read(self, st: _VarState) -> None:
        out = self.new_var(st.slot.shape, st.slot.dtype)
        self.emit("read", (st.slot,), (out,))
        self._rebind(st, out)

    def _rebind(self, st: _VarState, atom: Atom) -> None:
        ph = placeholder(st.slot.shape, st.slot.dtype)
        self._bind[id(ph)] = (ph, atom)
        st.var._value = ph

    def _refresh_variables(self) -> None:
        for st in self._vars.values():
            self._read(st)

    def assign(self, var: Variable, value: Any, mode: str = "assign") -> Variable:
        """``var.assign*`` while tracing: store into the Variable's slot."""
        st = self._use_variable(var)
        what = {"assign": "assign to", "assign_add": "add to", "assign_sub": "subtract from"}
        if isinstance(value, Tensor):
            if value._value.dtype != st.slot.dtype:
                dt = dtypes.from_numpy(st.slot.dtype).name
                raise ValueError(
                    f"Cannot {what[mode]} variable '{var.name}' ({dt}) a tensor of dtype "
                    f"{value.dtype.name}; cast it with tv.cast"
                )
            a = self.atom(value)
        else:
            a = Const(convert_to_tensor(value, dtype=dtypes.from_numpy(st.slot.dtype))._value)
        if a.shape != st.slot.shape:
            raise ValueError(
                f"Cannot {what[mode]} variable '{var.name}': its shape is {st.slot.shape} but "
                f"the value has shape {a.shape}. Reshape the value (tv.reshape) or create a "
                "new Variable."
            )
        if mode != "assign":
            cur = self._bind[id(var._value)][1]
            op = REGISTRY["add" if mode == "assign_add" else "subtract"]
            a = self.compute(op, [cur, a], {})
        self.emit("assign", (st.slot, a), ())
        self._assigns += 1
        self._rebind(st, a)
        return var

    def bind_argument_variable(self, var: Variable, position: int) -> None:
        """Note that ``var`` was passed as argument ``position`` of the traced function."""
        self._use_variable(var)
        self._arg_vars[var._id] = position

    def argument_position(self, slot: Slot) -> int | None:
        """The argument position of the Variable behind ``slot`` (None if not an argument)."""
        for st in self._vars.values():
            if st.slot is slot:
                return self._arg_vars.get(st.var._id)
        return None

    def variables(self) -> list[Any]:
        """The Variables of the program, one per slot, in slot order (the hidden storage
        of control flow for scratch slots)."""
        by_slot: list[Any] = [None] * len(self.slots)
        for st in self._vars.values():
            by_slot[st.slot.index] = st.var
        for slot, storage in self._scratch:
            by_slot[slot.index] = storage
        return by_slot

    def restore_variables(self) -> None:
        """Give every Variable its real value back (tracing swapped in placeholders)."""
        for st in self._vars.values():
            st.var._value = st.real

    # -- hooks of the public API -----------------------------------------------------------
    def python_bool(self, t: Tensor) -> None:
        """Explain why a symbolic tensor cannot decide a Python ``if``/``while``."""
        if type(t._value) is Placeholder or isinstance(t, Variable):
            raise OperatorNotAllowedInGraphError(
                "Using a symbolic tensor as a Python bool is not allowed inside tv.function: "
                "its value is only known when the compiled function runs, so a Python "
                "`if`, `while`, `and`/`or`/`not` or bool() cannot decide on it while "
                "tracing. Supported: Python control flow on Python values (it is unrolled "
                "while tracing), `for i in tv.range(n)` loops (compiled as a real loop), "
                "tv.cond / tv.while_loop, and tv.where(condition, x, y) to choose values "
                "elementwise. With tv.function's default autograph=True, a Python `if` or "
                "`while` on a tensor in the function's own code is converted to them."
            )

    def optimizer_apply(self, opt: Any, grads_and_vars: Any) -> Any:
        """``optimizer.apply_gradients`` while tracing (tapeviz.keras.optimizers calls it)."""
        from .optimizers import apply_gradients

        return apply_gradients(self, opt, grads_and_vars)

    def stop_gradient(self, t: Tensor) -> Tensor:
        """``t`` as a new symbolic tensor that no gradient flows through."""
        return self.symbolic(self.atom(t))

    def random(
        self,
        dist: str,
        shape: tuple[int, ...],
        dtype: np.dtype[Any],
        seed: int | None,
        attrs: dict[str, Any],
    ) -> Tensor:
        """``tv.random.*`` while tracing: draws made each time the program runs.

        The function's first random op takes a stream from ``tv.random``'s seeding rules
        (as an eager op would); every call seeds the program's draws from that stream."""
        if self.random_stream is None:
            from .. import random as tv_random

            self.random_stream = tv_random.generator(seed)
        out = self.new_var(shape, dtype)
        self.emit(
            "random", (), (out,), {"dist": dist, "shape": shape, "dtype": dtype.name, **attrs}
        )
        return self.symbolic(out)

    def print(self, parts: list[Any], tensors: list[Tensor], attrs: dict[str, Any]) -> None:
        """Emit a ``print`` equation for ``tv.print`` of these parts and tensors."""
        atoms = tuple(self.atom(t) for t in tensors)
        self.emit("print", atoms, (), {**attrs, "parts": parts})

    def custom_gradient(self, f: Callable[..., Any], args: Any, kwargs: Any) -> Tensor:
        """``tv.custom_gradient`` while tracing: f's ops are traced but hidden from the
        tapes, which record one ``custom_gradient`` op whose VJP calls grad_fn."""
        from ..custom import run_custom_gradient

        return run_custom_gradient(
            f, args, kwargs, lambda y: self.symbolic(self.atom(y)), exclude=self.marker
        )

    # -- control flow (tapeviz.control_flow) ---------------------------------------------
    def scratch_slot(self, shape: tuple[int, ...], dtype: Any, name: str) -> Slot:
        """Hidden storage for a branch result or a loop-carried value."""
        if any(s.name == name for s in self.slots):
            name = f"{name}.{sum(s.name.split('.')[0] == name for s in self.slots)}"
        slot = Slot(len(self.slots), name, shape, dtype, created=True, scratch=True)
        self.slots.append(slot)
        self._scratch.append((slot, _Scratch(slot)))
        return slot

    def store(self, slot: Slot, x: Tensor) -> None:
        """Emit the assignment of ``x`` to the (scratch) slot."""
        self.emit("assign", (slot, self.atom(x)), ())

    def load(self, slot: Slot) -> Tensor:
        """Emit a read of the slot; its value as a new symbolic tensor."""
        out = self.new_var(slot.shape, slot.dtype)
        self.emit("read", (slot,), (out,))
        return self.symbolic(out)

    def begin_block(
        self, prim: str, ins: tuple[Any, ...], attrs: dict[str, Any], outs: tuple[Var, ...] = ()
    ) -> Eqn:
        """Open an ``if``/``while``/``loop`` equation: the equations emitted until
        :meth:`end_block` form its body.  Variables are read afresh on both sides."""
        e = self.emit(prim, ins, outs, attrs, body=[])
        assert e.body is not None
        self._regions.append(e.body)
        self._defined.append(set())
        self._captures.append({})
        self._refresh_variables()
        return e

    def end_block(self, e: Eqn) -> dict[int, Tensor]:
        """Close the block ``e``; return the tensors from outside that it used."""
        if self._regions[-1] is not e.body:
            raise RuntimeError("tv.function: control-flow blocks closed out of order")
        self._regions.pop()
        self._defined.pop()
        captured = self._captures.pop()
        if self._captures:  # what an inner block captured, its parent may capture too
            self._note_captures(list(captured.values()), None)
        self._refresh_variables()
        return captured

    def side_effects(self) -> int:
        """How many assignments to user Variables were traced so far."""
        return self._assigns

    def exit_unless(self, pred: Tensor) -> None:
        """Emit a loop exit taken when ``pred`` is false."""
        self.emit("exit_unless", (self.atom(pred),), ())

    def _note_captures(self, xs: Any, atoms: list[Atom] | None) -> None:
        for k, x in enumerate(xs):
            if not isinstance(x, Tensor):
                continue
            if isinstance(x, Variable):
                for caps in self._captures:
                    caps[x._id] = x
                continue
            a = atoms[k] if atoms is not None else self.atom(x)
            if isinstance(a, Var):
                for defined, caps in zip(self._defined, self._captures, strict=True):
                    if a.id not in defined:
                        caps[x._id] = x

    # -- loops -----------------------------------------------------------------------------
    def range(self, start: Any, limit: Any, delta: Any, dtype: Any) -> Tensor:
        """``tv.range`` while tracing: a tensor that, iterated, becomes a compiled loop."""
        if limit is None:
            start, limit = 0, start
        items = [start, limit, delta]
        if dtype is None:
            is_float = any(
                (isinstance(v, Tensor) and v.dtype.is_floating) or isinstance(v, float)
                for v in items
            )
            d = np.dtype(np.float32 if is_float else np.int32)
        else:
            d = np.dtype(dtypes.as_dtype(dtype).np)
        atoms = []
        for v in items:
            if isinstance(v, Tensor):
                a = self.atom(v)
                if a.shape != ():
                    raise ValueError(
                        f"tv.range: start, limit and delta must be scalars, got {a.shape}"
                    )
                if a.dtype != d:
                    a = self.compute(REGISTRY["cast"], [a], {"dtype": d.name})
            else:
                a = Const(np.asarray(v).astype(d)[()])
            atoms.append(a)
        rt = object.__new__(_RangeTensor)
        if all(isinstance(a, Const) for a in atoms):
            s, lim, dl = (a.value for a in atoms if isinstance(a, Const))
            rt._value = np.arange(s, lim, dl).astype(d)
        else:
            ph = placeholder((0,), d)
            self._errors[id(ph)] = (
                "tv.range(n) with a tensor n has no static length: inside tv.function it can "
                "only drive a loop, `for i in tv.range(n): ...`"
            )
            rt._value = ph
        rt._id = _state.next_id()
        rt._name = None
        rt._loop = (self, atoms, d)
        return rt

    def begin_loop(self, atoms: list[Atom], dtype: np.dtype[Any]) -> tuple[Tensor, Eqn]:
        """Open a compiled loop over ``atoms``; its body collects the equations that follow."""
        index = self.new_var((), dtype)
        e = self.emit("loop", tuple(atoms), (index,), {}, body=[])
        assert e.body is not None
        self._regions.append(e.body)
        self._loops.append(e)
        self._loop_reads.append(set())
        self._refresh_variables()
        return self.symbolic(index), e

    def check_carried(self, before: dict[str, Tensor], after: dict[str, Any]) -> None:
        """Python names that a loop body reads and binds to a new tensor: values carried
        from one iteration to the next, which a loop traced once cannot carry."""
        reads = self._loop_reads[-1] if self._loop_reads else set()
        carried = [
            name
            for name, t in before.items()
            if id(t) in reads and isinstance(after.get(name), Tensor) and after[name] is not t
        ]
        if carried:
            names = ", ".join(f"`{n}`" for n in carried)
            first = carried[0]
            verb = "is" if len(carried) == 1 else "are"
            raise NotImplementedError(
                f"tv.function: {names} {verb} carried from one iteration of a `for ... in "
                "tv.range(...)` loop to the next (the loop body reads it and binds it to a "
                "new tensor). The body is traced once and compiled as a loop, so a Python "
                "variable is not updated between iterations (TensorFlow's AutoGraph makes "
                "it a loop variable; tapeviz does not), and the result would be wrong. Keep "
                f"the value in a tv.Variable created outside the function ({first}.assign(...),"
                f" {first}.assign_add(...) in the loop), or loop with Python's range (unrolled)."
            )

    def end_loop(self, e: Eqn) -> None:
        """Close the loop ``e`` (a loop left by ``break`` is reported when tracing ends)."""
        if not self._loops or self._loops[-1] is not e:
            return  # an inner loop was left by `break`: reported when tracing ends
        self._loops.pop()
        self._regions.pop()
        self._loop_reads.pop()
        self._refresh_variables()

    def open_loops(self) -> int:
        """How many compiled loops are open."""
        return len(self._loops)

    def program(self, outputs: list[Atom]) -> Program:
        """The traced program with these outputs."""
        return Program(self.name, self.inputs, self.slots, self.eqns, outputs)


class _Scratch:
    """The storage of a scratch slot between calls (a branch result, a loop-carried
    value): what a tv.Variable is to an ordinary slot."""

    __slots__ = ("_value", "name")

    def __init__(self, slot: Slot) -> None:
        self.name = slot.name
        self._value: Any = np.zeros(slot.shape, slot.dtype)
        if not slot.shape:
            self._value = self._value[()]


class _RangeTensor(Tensor):
    """What ``tv.range`` returns inside ``tv.function``: iterate it for a compiled loop."""

    __slots__ = ("_loop",)
    _loop: Any

    def __iter__(self) -> Iterator[Tensor]:
        tracer, atoms, dtype = self._loop
        if _state.local.tracer is not tracer:
            yield from Tensor.__iter__(self)
            return
        frame = sys._getframe(1)  # the traced function, running the `for` statement
        before = {
            k: v
            for k, v in frame.f_locals.items()
            if isinstance(v, Tensor) and not isinstance(v, Variable)
        }
        index, eqn = tracer.begin_loop(atoms, dtype)
        yield index
        # the body ran once (traced); after a `break` or `return` we never get here
        after = dict(frame.f_locals)
        del frame
        if tracer._loops and tracer._loops[-1] is eqn:
            tracer.check_carried(before, after)
        tracer.end_loop(eqn)


def _is_scalar(a: Atom, value: float, dtype: np.dtype[Any]) -> bool:
    if not isinstance(a, Const) or a.dtype != dtype or np.ndim(a.value) != 0:
        return False
    v = a.value
    return bool(v == value) and (value != 0 or not np.signbit(v))


def _simplify(name: str, atoms: list[Atom], shape: Any, dtype: np.dtype[Any]) -> Atom | None:
    """An input that the op would return unchanged, bit for bit (``x * 1``, ``x - 0``,
    ``x ** 1``, ``identity``), or None.  Fewer equations compile faster."""

    def keeps(a: Atom) -> bool:
        return a.shape == shape and a.dtype == dtype

    if name == "identity" and keeps(atoms[0]):
        return atoms[0]
    if len(atoms) != 2:
        cond = atoms[0]
        if name == "where" and isinstance(cond, Const) and np.ndim(cond.value) == 0:
            pick = atoms[1] if cond.value else atoms[2]
            return pick if keeps(pick) else None
        return None
    x, y = atoms
    if name == "multiply":
        if _is_scalar(x, 1, dtype) and keeps(y):
            return y
        if _is_scalar(y, 1, dtype) and keeps(x):
            return x
    elif name in ("divide", "pow") and dtype.kind == "f":
        if _is_scalar(y, 1, dtype) and keeps(x):
            return x
    elif name == "subtract" and _is_scalar(y, 0, dtype) and keeps(x):
        return x
    return None


def _normalize(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


if TYPE_CHECKING:  # the tracer implements the engine's hooks (checked by mypy)

    def _implements_hooks(tracer: Tracer) -> _state.Tracer:
        return tracer
