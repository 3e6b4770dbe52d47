"""The public, read-only record of what a tape saw.

Everything that *reads* a tape — the graphviz emitter, the widgets, the notebooks — reads
this data model and nothing else.  It is built from plain values (ints, strings, tuples,
read-only numpy arrays), so it can be frozen, compared and written to JSON.

A :class:`Record` holds

* ``nodes``: every value the tape saw, in forward (recording) order.  Sources come first
  where they are first used: a ``"variable"`` (a :class:`tapeviz.Variable`), a
  ``"constant"`` (any other tensor that no recorded op produced) or an ``"op"`` node (the
  output of one recorded op, with the ids of its ``inputs``).
* ``sweep``: after ``tape.gradient(...)``, one :class:`SweepStep` per op that the reverse
  sweep visited, in the order it visited them: the adjoint that came into the op's output
  and the contribution it sent to each input, with the vector-Jacobian rule written out.

Node ids are small integers local to the record (0, 1, 2, ... in forward order), so the same
program gives the same record every time it runs.

Every node has a ``label``: the name the formulas and pictures use for it.  It is the name
the user gave (``tv.Variable(..., name="w")``, ``tv.constant(..., name="X")``, an op's
``name=``), else the Python name the user's code bound the tensor to when the record was
made (``w = tv.Variable(...)`` gives ``"w"``; the tape keeps ids, not tensors, so the
tensor is found by its id in the caller's local and global variables), else a short
symbol: ``t7`` for the output of op node 7, the value of a scalar constant (``"2"``),
``c5`` for other constants.  A name several nodes share gets ``#id`` (``"Variable#3"``).

A record is built lazily: ``nodes`` and ``sweep`` are read-only sequences whose items are
made when first read (then kept), so that ``tape.record()`` of a million-op tape is quick
and small; reading every item costs what a tuple of them would.

Example
-------
>>> import tapeviz as tv
>>> x = tv.Variable(3.0, name="x")
>>> with tv.GradientTape() as tape:
...     y = tv.square(x)
>>> _ = tape.gradient(y, x)
>>> rec = tape.record()
>>> [(n.id, n.kind, n.op, n.name, n.label) for n in rec.nodes]
[(0, 'variable', None, 'x:0', 'x'), (1, 'op', 'square', None, 'y')]
>>> rec.sweep[0].formula
'∂L/∂x += ∂L/∂y · 2·x = 1 · 2·3 = 6'
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar, overload

import numpy as np

__all__ = ["Node", "SweepStep", "Record", "FrozenSequence", "format_value", "short_type"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
T = TypeVar("T")


def _frozen_array(value: Any) -> np.ndarray:
    arr = np.array(value, copy=True)
    arr.flags.writeable = False
    return arr


class FrozenSequence(Sequence[T], Generic[T]):
    """A read-only sequence whose items are made on first access, then kept.

    It behaves like a tuple: indexing (a slice gives a tuple), ``len``, iteration, ``in``,
    equality with any sequence of equal items, hashing.  ``tape.record()`` gives its nodes
    and sweep steps this way, so that a record of a million ops costs only what is read.
    """

    __slots__ = ("_items", "_make", "_n")

    def __init__(self, n: int, make: Callable[[int], T]) -> None:
        self._n = n
        self._make = make
        self._items: list[T | None] = [None] * n

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...

    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(self._n)))
        i = operator.index(index)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"index {index} out of range for {self._n} items")
        item = self._items[i]
        if item is None:
            item = self._make(i)
            self._items[i] = item
        return item

    def __iter__(self) -> Iterator[T]:
        items, make = self._items, self._make
        for i in range(self._n):
            item = items[i]
            if item is None:
                item = items[i] = make(i)
            yield item

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(other) == self._n and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (tuple, (tuple(self),))


def short_type(dtype: str, shape: Sequence[int]) -> str:
    """A value's type in the compact notation of compilers: ``f32[2,1]``, ``i32[]``.

    >>> short_type("float32", (2, 1)), short_type("int64", ()), short_type("bool", (3,))
    ('f32[2,1]', 'i64[]', 'bool[3]')
    """
    kind = {"float": "f", "int": "i", "uint": "u", "complex": "c"}
    for prefix, letter in kind.items():
        if dtype.startswith(prefix) and dtype[len(prefix) :].isdigit():
            dtype = letter + dtype[len(prefix) :]
            break
    return f"{dtype}[{','.join(str(d) for d in shape)}]"


def default_label(node: Node) -> str:
    """The label of a node nobody named: its TF name, ``t{id}``, a scalar's value, ``c{id}``."""
    if node.name:
        return node.name.split(":")[0]
    if node.kind == "op":
        return f"t{node.id}"
    if node.value.ndim == 0 and not node.symbolic:
        return format_value(node.value)
    return f"c{node.id}"


@dataclass(frozen=True)
class Node:
    """One value on the tape.

    Attributes
    ----------
    id : int
        Position in forward order; inputs always have smaller ids than the op using them.
    kind : str
        ``"variable"``, ``"constant"`` or ``"op"``.
    op : str or None
        The op's registry name (``"matmul"``, ``"add"``...) for op nodes.
    inputs : tuple of int
        Ids of the op's inputs (empty for variables and constants).
    shape, dtype : the value's shape (tuple) and dtype name (``"float32"``).
    value : numpy.ndarray
        The value at the time it was recorded (read-only).  When ``symbolic`` is true the
        value is not known yet and this is a placeholder (NaN, or 0 for integers).
    name : str or None
        TensorFlow-style name: a Variable's (``"w:0"``), a tensor's or op's ``name=``;
        ``None`` otherwise.
    watched : bool
        True for sources the tape watched (trainable variables it saw read, tensors passed to
        ``tape.watch``).
    symbol : str or None
        A short symbol of the op for drawings (``"×"``, ``"x²"``, ``"@"``).
    attrs : mapping
        Static parameters of the op (``axis``, ``keepdims``, ``perm``...), JSON-friendly.
    scope : str
        ``tv.name_scope`` path active when the value was recorded ("" for none).
    group : str or None
        Set on ops that were recorded while *another* tape ran its reverse sweep (the graph
        of a gradient): a key naming that sweep, e.g. ``"gradient of tape 1"``;
        :attr:`Record.groups` gives its title for people (``"gradient ∂y/∂x by t1"``).
    label : str
        What formulas and pictures call the value: the user's name for it (``"w"``,
        ``"X"``, ``"L"``) or a short symbol (``"t7"``, ``"2"``, ``"c5"``); see the module
        docstring.  Given ``""``, the name without ``:0`` or a symbol is used.
    symbolic : bool
        True in a traced program (``tv.function``): the value is only known at run time;
        pictures show its type, ``f32[2,1]``.
    """

    id: int
    kind: str
    op: str | None
    inputs: tuple[int, ...]
    shape: tuple[int, ...]
    dtype: str
    value: np.ndarray = field(compare=False)
    name: str | None = None
    watched: bool = False
    symbol: str | None = None
    attrs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False)
    scope: str = ""
    group: str | None = None
    label: str = ""
    symbolic: bool = False

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", default_label(self))

    @property
    def type_text(self) -> str:
        """The value's type in compact notation, ``f32[2,1]`` (see :func:`short_type`)."""
        return short_type(self.dtype, self.shape)

    def to_dict(self) -> dict[str, Any]:
        """The node as plain JSON-ready data (arrays as nested lists)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "op": self.op,
            "inputs": list(self.inputs),
            "shape": list(self.shape),
            "dtype": self.dtype,
            "value": _jsonable(self.value),
            "name": self.name,
            "label": self.label,
            "watched": self.watched,
            "symbol": self.symbol,
            "attrs": {k: _jsonable(v) for k, v in self.attrs.items()},
            "scope": self.scope,
            "group": self.group,
            "symbolic": self.symbolic,
        }


@dataclass(frozen=True)
class SweepStep:
    """One step of the reverse sweep: an op node and what its VJP rule sent back.

    Attributes
    ----------
    node : int
        The op node whose output adjoint is being propagated.
    adjoint : numpy.ndarray
        ∂L/∂(node), the adjoint that had accumulated on the op's output.
    contributions : mapping int -> numpy.ndarray
        For each input that needs a gradient, what this step *added* to its adjoint.
        Contributions to one input from several steps are summed (fan-out).
    formula : str
        The VJP rule with the numbers filled in, one clause per input, e.g.
        ``"∂L/∂w += Xᵀ · ∂L/∂t2 = [[1,3],[2,4]] · [[10],[20]] = [[70],[100]]"``.
    """

    node: int
    adjoint: np.ndarray = field(compare=False)
    contributions: Mapping[int, np.ndarray] = field(compare=False)
    formula: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The step as plain JSON-ready data (arrays as nested lists)."""
        return {
            "node": self.node,
            "adjoint": _jsonable(self.adjoint),
            "contributions": {str(k): _jsonable(v) for k, v in self.contributions.items()},
            "formula": self.formula,
        }


@dataclass(frozen=True)
class Record:
    """What a tape recorded, and (after ``gradient``) how the reverse sweep walked it.

    Attributes
    ----------
    nodes : sequence of Node
        In forward order; ``nodes[i].id == i``.  A tuple, or (from ``tape.record()``) a
        :class:`FrozenSequence` that makes each node when it is first read.
    sweep : sequence of SweepStep
        Steps of the most recent reverse sweep (empty before ``gradient`` was called).
    targets, sources : tuple of int
        Node ids of the most recent sweep's targets and sources (sources the tape never
        saw are left out).
    gradients : mapping int -> numpy.ndarray
        Final adjoint of every node the most recent sweep reached.  For sources this is what
        ``tape.gradient`` returned.
    tape_id : int
        Number of the tape (tapes are numbered 1, 2, ... in creation order).
    groups : mapping str -> str
        For each :attr:`Node.group` key, a title that says which gradient those ops
        computed, in the user's names: ``"gradient ∂y/∂x by t1"``.
    """

    nodes: Sequence[Node]
    sweep: Sequence[SweepStep] = ()
    targets: tuple[int, ...] = ()
    sources: tuple[int, ...] = ()
    gradients: Mapping[int, np.ndarray] = field(
        default_factory=lambda: MappingProxyType({}), compare=False
    )
    tape_id: int = 0
    # Engine id of the tensor behind each node (index = node id); used by node_of().
    tensor_ids: Sequence[int] = field(default=(), compare=False, repr=False)
    groups: Mapping[str, str] = field(default_factory=lambda: _EMPTY, compare=False)

    def node_of(self, tensor: Any) -> Node | None:
        """The node that holds ``tensor`` (a tv.Tensor or Variable), or None if not on it."""
        tid = getattr(tensor, "_id", None)
        if tid is None:
            return None
        try:
            return self.nodes[self.tensor_ids.index(tid)]
        except ValueError:
            return None

    def node(self, node_id: int) -> Node:
        """The node with this id."""
        return self.nodes[node_id]

    def find(self, name: str) -> Node:
        """The first node with this name or label (``"w"``, ``"w:0"``, ``"L"``)."""
        for n in self.nodes:
            if n.name is not None and (n.name == name or n.name.split(":")[0] == name):
                return n
        for n in self.nodes:
            if n.label == name:
                return n
        raise KeyError(f"no node named {name!r} on this tape")

    @property
    def sweep_nodes(self) -> tuple[int, ...]:
        """The op node of each sweep step, in sweep order (without making the steps)."""
        order = getattr(self.sweep, "node_ids", None)
        if order is not None:
            return tuple(order)
        return tuple(s.node for s in self.sweep)

    @property
    def edges(self) -> tuple[tuple[int, int, int], ...]:
        """``(src, dst, position)`` for every input edge, in forward order."""
        return tuple((src, n.id, pos) for n in self.nodes for pos, src in enumerate(n.inputs))

    def to_dict(self) -> dict[str, Any]:
        """The whole record as plain JSON-ready data (arrays as nested lists)."""
        return {
            "tape_id": self.tape_id,
            "nodes": [n.to_dict() for n in self.nodes],
            "sweep": [s.to_dict() for s in self.sweep],
            "targets": list(self.targets),
            "sources": list(self.sources),
            "gradients": {str(k): _jsonable(v) for k, v in self.gradients.items()},
            "groups": dict(self.groups),
        }

    def to_json(self, **kwargs: Any) -> str:
        """The record as JSON text (arrays as nested lists, ``"nan"``/``"inf"`` as strings;
        a complex number as the pair ``[re, im]``, read back by the node's dtype)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    @classmethod
    def from_json(cls, text: str) -> Record:
        """Rebuild a record written by :meth:`to_json`."""
        d = json.loads(text)
        nodes = tuple(
            Node(
                id=n["id"],
                kind=n["kind"],
                op=n["op"],
                inputs=tuple(n["inputs"]),
                shape=tuple(n["shape"]),
                dtype=n["dtype"],
                value=_frozen_array(_from_jsonable(n["value"], n["dtype"])),
                name=n["name"],
                watched=n["watched"],
                symbol=n["symbol"],
                attrs=MappingProxyType(dict(n["attrs"])),
                scope=n["scope"],
                group=n["group"],
                label=n.get("label", ""),
                symbolic=n.get("symbolic", False),
            )
            for n in d["nodes"]
        )
        dtype_of = {n.id: n.dtype for n in nodes}
        sweep = tuple(
            SweepStep(
                node=s["node"],
                adjoint=_frozen_array(_from_jsonable(s["adjoint"], dtype_of[s["node"]])),
                contributions=MappingProxyType(
                    {
                        int(k): _frozen_array(_from_jsonable(v, dtype_of[int(k)]))
                        for k, v in s["contributions"].items()
                    }
                ),
                formula=s["formula"],
            )
            for s in d["sweep"]
        )
        grads = {
            int(k): _frozen_array(_from_jsonable(v, dtype_of[int(k)]))
            for k, v in d["gradients"].items()
        }
        return cls(
            nodes=nodes,
            sweep=sweep,
            targets=tuple(d["targets"]),
            sources=tuple(d["sources"]),
            gradients=MappingProxyType(grads),
            tape_id=d["tape_id"],
            groups=MappingProxyType(dict(d.get("groups", {}))),
        )


def _jsonable(value: Any) -> Any:
    # a complex number is written as the pair [re, im] (JSON has no complex numbers); the
    # node's dtype (complex64/complex128) tells from_json to read the last axis back
    if isinstance(value, np.ndarray | np.generic):
        return _jsonable(value.tolist())
    if isinstance(value, complex):
        return [_jsonable(value.real), _jsonable(value.imag)]
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _from_jsonable(value: Any, dtype: str) -> np.ndarray:
    def conv(v: Any) -> Any:
        if isinstance(v, list):
            return [conv(x) for x in v]
        if isinstance(v, str) and v in ("nan", "inf", "-inf"):
            return float(v)
        return v

    if np.dtype(dtype).kind == "c":  # pairs [re, im] (see _jsonable)
        pairs = np.asarray(conv(value), dtype=np.float64)
        return (pairs[..., 0] + 1j * pairs[..., 1]).astype(dtype)
    return np.asarray(conv(value), dtype=dtype)


def format_value(value: Any, *, max_items: int = 12, precision: int = 6) -> str:
    """Compact text for a value: ``6``, ``-0.333333``, ``[[70],[100]]``, or a summary.

    Used in formulas and labels; arrays with more than ``max_items`` entries are summarised
    by shape and their first entries.
    """
    arr = np.asarray(value)

    def scalar(v: Any) -> str:
        if arr.dtype == np.bool_:
            return "true" if v else "false"
        if isinstance(v, float | np.floating):
            f = float(v)
            if f != f:
                return "nan"
            if f in (float("inf"), float("-inf")):
                return "inf" if f > 0 else "-inf"
            text = f"{f:.{precision}g}"
            return text
        if isinstance(v, complex | np.complexfloating):  # 1+2j, -0.5-1.25j (as numpy, no
            re, im = scalar(float(v.real)), scalar(float(v.imag))  # parentheses)
            return f"{re}{'' if im[0] in '+-' else '+'}{im}j"
        return str(v)

    if arr.ndim == 0:
        return scalar(arr.item())
    if arr.size > max_items:
        flat = ", ".join(scalar(v) for v in arr.ravel()[:3].tolist())
        shape = "×".join(str(d) for d in arr.shape)
        return f"[{flat}, …] ({shape})"

    def nested(a: np.ndarray) -> str:
        if a.ndim == 1:
            return "[" + ",".join(scalar(v) for v in a.tolist()) + "]"
        return "[" + ",".join(nested(sub) for sub in a) + "]"

    return nested(arr)
