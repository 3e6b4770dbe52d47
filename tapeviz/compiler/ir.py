"""The intermediate representation: a program of equations, in the spirit of a jaxpr.

A :class:`Program` has

* ``inputs`` — one :class:`Var` per tensor argument of the traced function;
* ``slots`` — one :class:`Slot` per ``tv.Variable`` the function touches (its storage);
* ``eqns`` — :class:`Eqn` s in execution order;
* ``outputs`` — the atoms (``Var`` or ``Const``) the function returns.

Every value is defined once (a ``Var``, single assignment).  Variables are the only
mutable state: ``read`` copies a Variable's current value into a ``Var``, ``assign``
stores a value into it.  That keeps loops simple — a ``loop`` equation runs its ``body``
(a list of equations) once per index value, and whatever must survive from one iteration
to the next lives in Variables, exactly as in the traced Python code.

Equations (``prim``):

========================  ==========================================================
registry op name          ``outs[0] = REGISTRY[prim].forward(*ins, **attrs)``
``read``                  ``outs[0] = value of Variable ins[0]`` (a :class:`Slot`)
``assign``                ``Variable ins[0] = ins[1]``
``loop``                  ``for outs[0] in range(ins[0], ins[1], ins[2]): body``
``print``                 print ``ins`` with the template in ``attrs`` (``tv.print``)
``random``                ``outs[0]`` = fresh draws (``attrs``: dist, shape, dtype)
``if``                    ``if ins[0]: body`` (``attrs["negate"]``: ``if not ins[0]``)
``while``                 ``while True: body`` (left by an ``exit_unless`` of its body)
``exit_unless``           ``if not ins[0]: break`` (leaves the innermost ``while``)
========================  ==========================================================

Control flow (``tv.cond``, ``tv.while_loop``, and the Python ``if``/``while``/``for``
that autograph converts) keeps the same rule: a ``cond`` is two ``if`` equations on one
predicate (``if p`` and ``if not p``), each branch storing its results into hidden
Variables (*scratch* slots) that are read after them; a ``while`` loop stores its
loop-carried values into scratch slots and tests its condition at the top of its body.

>>> import tapeviz as tv
>>> @tv.function
... def f(x):
...     return tv.exp(x) * 2.0
>>> print(f.get_concrete_function(tv.constant([1.0, 2.0])).program)
def f(t1: f32[2]):
  t2: f32[2] = exp t1
  t3: f32[2] = multiply t2 2.0
  return t3
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Var",
    "Const",
    "Slot",
    "Eqn",
    "Program",
    "walk",
    "short_dtype",
    "BLOCK_PRIMS",
]

SPECIAL_PRIMS = frozenset(
    {"read", "assign", "loop", "print", "random", "if", "while", "exit_unless"}
)
# equations that own a body of equations
BLOCK_PRIMS = frozenset({"loop", "if", "while"})


def short_dtype(dtype: np.dtype[Any]) -> str:
    """``f32``, ``i64``, ``bool`` — the short dtype names of the printed IR."""
    d = np.dtype(dtype)
    if d.kind == "b":
        return "bool"
    return {"f": "f", "i": "i", "u": "u"}.get(d.kind, d.kind) + str(8 * d.itemsize)


def type_text(shape: tuple[int, ...], dtype: np.dtype[Any]) -> str:
    return f"{short_dtype(dtype)}[{','.join(str(s) for s in shape)}]"


class Var:
    """A value computed by an equation (or passed as an argument), named ``t<id>``."""

    __slots__ = ("id", "shape", "dtype")

    def __init__(self, id: int, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self.id = id
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)

    @property
    def name(self) -> str:
        """The variable's name in printed programs and generated code (``t7``)."""
        return f"t{self.id}"

    @property
    def size(self) -> int:
        """The number of entries (1 for a scalar)."""
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self) -> str:
        return f"{self.name}: {type_text(self.shape, self.dtype)}"


class Const:
    """A value known while tracing (a constant tensor, a Python number)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        if isinstance(value, np.ndarray):
            if value.ndim == 0:
                value = value[()]
            else:
                value = np.array(value, copy=True)
                value.flags.writeable = False
        self.value = value

    @property
    def shape(self) -> tuple[int, ...]:
        """The constant's shape."""
        return tuple(np.shape(self.value))

    @property
    def dtype(self) -> np.dtype[Any]:
        """The constant's numpy dtype."""
        return np.asarray(self.value).dtype

    @property
    def size(self) -> int:
        """The number of entries of the constant."""
        return int(np.size(self.value))

    def __repr__(self) -> str:
        v = self.value
        if np.ndim(v) == 0:
            if isinstance(v, np.floating):
                return repr(float(v))
            if isinstance(v, np.bool_):
                return "True" if v else "False"
            return str(v)
        return f"const{type_text(self.shape, self.dtype)}"


class Slot:
    """The storage of one ``tv.Variable`` inside a program (``x:0``)."""

    __slots__ = ("index", "name", "shape", "dtype", "created", "scratch")

    def __init__(
        self,
        index: int,
        name: str,
        shape: tuple[int, ...],
        dtype: np.dtype[Any],
        created: bool,
        scratch: bool = False,
    ) -> None:
        self.index = index
        self.name = name
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        # True for Variables created while tracing (optimizer slots on the first call)
        self.created = created
        # True for the hidden storage of control flow (a branch's results, loop-carried
        # values): not a tv.Variable of the user's
        self.scratch = scratch

    def __repr__(self) -> str:
        return self.name


Atom = Var | Const


@dataclass(eq=False)
class Eqn:
    """One equation: ``outs = prim(ins, **attrs)`` (``body`` only for ``loop``)."""

    prim: str
    ins: tuple[Any, ...]
    outs: tuple[Var, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    body: list[Eqn] | None = None
    scope: str = ""
    group: str | None = None

    def text(self, indent: str = "  ") -> list[str]:
        """The equation as lines of the printed program."""
        ins = " ".join(_atom_text(a) for a in self.ins)
        if self.prim == "read":
            return [f"{indent}{self.outs[0]!r} = read {self.ins[0]!r}"]
        if self.prim == "assign":
            return [f"{indent}{self.ins[0]!r} <- {_atom_text(self.ins[1])}"]
        if self.prim == "print":
            return [f"{indent}print {ins}"]
        if self.prim in ("if", "while"):
            if self.prim == "while":
                head = f"{indent}while True:"
            else:
                neg = "not " if self.attrs.get("negate") else ""
                head = f"{indent}if {neg}{_atom_text(self.ins[0])}:"
            lines = [head]
            for e in self.body or ():
                lines.extend(e.text(indent + "  "))
            return lines
        if self.prim == "exit_unless":
            return [f"{indent}if not {_atom_text(self.ins[0])}: break"]
        if self.prim == "loop":
            start, limit, delta = self.ins
            bounds = ", ".join(_atom_text(a) for a in (start, limit, delta))
            head = f"{indent}for {self.outs[0]!r} in range({bounds}):"
            lines = [head]
            for e in self.body or ():
                lines.extend(e.text(indent + "  "))
            return lines
        attrs = _attrs_text(self.attrs)
        outs = ", ".join(repr(o) for o in self.outs)
        return [f"{indent}{outs} = {self.prim}{attrs} {ins}".rstrip()]


def _atom_text(a: Any) -> str:
    return a.name if isinstance(a, Var) else repr(a)


def _attrs_text(attrs: dict[str, Any]) -> str:
    shown = {k: v for k, v in attrs.items() if k not in ("grad_fn",)}
    if not shown:
        return ""
    return "[" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + "]"


@dataclass(eq=False)
class Program:
    """A traced function: inputs, Variable slots, equations, outputs."""

    name: str
    inputs: list[Var]
    slots: list[Slot]
    eqns: list[Eqn]
    outputs: list[Any]

    def __str__(self) -> str:
        args = ", ".join(repr(v) for v in self.inputs)
        lines = [f"def {self.name}({args}):"]
        for e in self.eqns:
            lines.extend(e.text("  "))
        outs = ", ".join(_atom_text(o) for o in self.outputs)
        lines.append(f"  return {outs}" if outs else "  return")
        return "\n".join(lines)

    def num_eqns(self) -> int:
        """How many equations the program has, loop bodies included."""
        return sum(1 for _ in walk(self.eqns))


def walk(eqns: list[Eqn]) -> Iterator[Eqn]:
    """Every equation, loop bodies included, in program order (iterative, no recursion)."""
    stack: list[Iterator[Eqn]] = [iter(eqns)]
    while stack:
        e = next(stack[-1], None)
        if e is None:
            stack.pop()
            continue
        yield e
        if e.body is not None:
            stack.append(iter(e.body))
