"""The builder of ``tape.record()``: a tape's entries as the read-only graph of :mod:`.graph`.

The record is built in two layers, both lazy enough for a million-op tape:

* :class:`RecordData` (one per state of the tape: entries, watches, sweeps) numbers the
  values in forward order, replays the last sweep's adjoints when the sweep did not keep
  them, and makes a node or a sweep step only when the record's reader asks for it;
* :class:`RecordView` (one per set of user names) gives each node its label — the name the
  user's code bound the tensor to, found in the caller's variables when ``record()`` runs —
  and writes the formulas with those labels.

It reads a tape's entries (:class:`~tapeviz.ops._registry.TapeEntry`) and replays sweeps
with the tape's own sweep (:func:`tapeviz.tape._run_sweep`); it never changes the tape.
"""

from __future__ import annotations

import array
import os
import re
import sys
import types
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from . import tape as _tape
from .graph import FrozenSequence, Node, Record, SweepStep, format_value
from .ops._registry import NUMPY, TapeEntry, sanitize_attrs
from .tensor import Tensor, Variable

if TYPE_CHECKING:
    from .tape import GradientTape

__all__ = ["RecordData", "RecordView", "user_names"]

# tapeviz's own code: frames of files in this package (doctests, which run with a tapeviz
# module's globals, are user code)
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_names() -> tuple[dict[int, str], dict[int, str]]:
    """The Python names the user's code bound tensors and tapes to, by their ids.

    Walks out of tapeviz's own frames to the first frame of user code (a notebook cell, a
    test, a script) and looks in its local variables, then its global ones (a notebook's
    namespace); then, for what is still unnamed, in the frames that called it (a helper
    function called from a notebook cell).  Names starting with ``_`` (IPython's ``_``,
    ``_5``...) are skipped.  Returns (tensor id -> name, tape id -> name); the innermost
    binding wins.
    """
    tensors: dict[int, str] = {}
    tapes: dict[int, str] = {}
    seen: dict[int, Any] = {}  # namespaces already read (kept, so their ids stay theirs)
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.startswith(_PACKAGE):
            frame = frame.f_back
            continue
        spaces = [frame.f_globals]
        if frame.f_code.co_flags & _CO_NEWLOCALS:  # a function: its locals come first
            spaces.insert(0, frame.f_locals)
        for space in spaces:
            if id(space) in seen:
                continue
            seen[id(space)] = space
            for name, value in list(space.items()):
                if not isinstance(name, str) or name[:1] == "_":
                    continue
                kind = type(value)  # not isinstance: a proxy's __class__ may run code
                if issubclass(kind, Tensor):
                    tensors.setdefault(value._id, name)
                elif issubclass(kind, _tape.GradientTape):
                    tapes.setdefault(value._id, name)
        frame = frame.f_back
    return tensors, tapes


_CO_NEWLOCALS = 0x0002  # inspect.CO_NEWLOCALS, without importing inspect
_DTYPE_NAMES: dict[Any, str] = {}


def _dtype_name(value: Any) -> str:
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        dtype = np.asarray(value).dtype
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = dtype.name
    return name


def _source_name(t: Any) -> tuple[str | None, bool]:
    """A source's name without ``:0``, and whether the user gave it (``name=``).

    A Variable created without a name is called ``Variable`` (TensorFlow's default): a name
    of last resort, which the name the code bound it to replaces.
    """
    if isinstance(t, Variable):
        base = t.name.split(":")[0]
        return base, base.rsplit("/", 1)[-1] != "Variable"
    name = getattr(t, "_name", t)
    return (name.split(":")[0], True) if isinstance(name, str) and name else (None, False)


class RecordData:
    """Everything a record of one state of the tape needs, without the user's names.

    Holds the tape's entries list (never the tape: a tape makes no reference cycles), the
    node number of every tensor id, and the replayed adjoints of the last sweep.
    """

    def __init__(self, tape: GradientTape) -> None:
        entries = tape._entries
        self.entries = entries
        self.tape_id = tape._id
        watched = tape._watched
        self.watched_ids = frozenset(watched)
        local_id: dict[int, int] = {}
        tids: list[int] = []  # per node: the id of its tensor
        # per node: the index of its entry (op nodes), or -1 - k for the k-th source
        where = array.array("q")
        sources: list[tuple[Any, Any]] = []  # (Variable, _Kept or input name; value)
        self.explicit: dict[int, str] = {}  # node -> name given by the user
        self.defaults: dict[int, str] = {}  # node -> "Variable" (unnamed Variables)
        groups: dict[str, None] = {}

        def add_source(tid: int, t: Any, value: Any) -> None:
            nid = len(where)
            local_id[tid] = nid
            tids.append(tid)
            where.append(-1 - len(sources))
            sources.append((t, value))
            name, given = _source_name(t)
            if name is not None:
                (self.explicit if given else self.defaults)[nid] = name

        watched_order = sorted(watched.values(), key=lambda p: p[1])
        wi = 0
        n_watched = len(watched_order)
        for idx, e in enumerate(entries):
            while wi < n_watched and watched_order[wi][1] < idx:
                wt, _, wv = watched_order[wi]
                if wt._id not in local_id:
                    add_source(wt._id, wt, wv)
                wi += 1
            for xid, x, v in zip(e.input_ids, e.inputs, e.input_values, strict=True):
                if xid not in local_id:
                    add_source(xid, x, v)
            nid = len(where)
            local_id[e.output_id] = nid
            tids.append(e.output_id)
            where.append(idx)
            if e.output_name:
                self.explicit[nid] = e.output_name.split(":")[0]
            group = e.where[1]
            if group is not None:
                groups[group] = None
        for wt, _, wv in watched_order[wi:]:
            if wt._id not in local_id:
                add_source(wt._id, wt, wv)
        self.local_id = local_id
        self.where = where
        self.sources = sources
        self.groups = tuple(groups)
        self.tensor_ids = tuple(tids)
        # the last sweep: its steps (entry indices, in sweep order) and every adjoint
        self.order = array.array("q")
        self.kept_steps: dict[int, tuple[Any, Any]] = {}  # entry index -> (g, grads)
        self.adj: dict[int, Any] = {}
        self.targets: tuple[int, ...] = ()
        self.source_ids: tuple[int, ...] = ()
        if tape._last is not None:
            self._replay(tape._last)

    def _replay(self, last: tuple[Any, ...]) -> None:
        n, t_ids, s_ids, reach, covered, kept = last
        local_id = self.local_id
        self.reach, self.covered = reach, covered
        self.targets = tuple(local_id[i] for i in t_ids if i in local_id)
        self.source_ids = tuple(local_id[i] for i in s_ids if i in local_id)
        entries = self.entries
        if isinstance(kept, tuple):  # the sweep kept its steps (tensors, or custom grad_fns)
            steps, adj = kept
            self.order = array.array("q", [idx for idx, _, _ in steps])
            self.kept_steps = {idx: (g, grads) for idx, g, grads in steps}
        else:
            # replay on numpy, keeping every adjoint but no steps: a step's contributions
            # are worked out again (a pure function of the recorded values) when it is read
            adj = dict(kept)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                _tape._run_sweep(entries, n, adj, reach, covered, NUMPY, False, None, True)
            self.order = array.array(
                "q", (i for i in range(n - 1, -1, -1) if entries[i].output_id in adj)
            )
        self.adj = adj

    def inner_tapes(self) -> list[GradientTape]:
        """The live tapes whose sweeps this tape recorded (its groups)."""
        out = []
        for group in self.groups:
            for _, _, ref in _tape.GROUP_SWEEPS.get(group, ()):
                inner = ref()
                if inner is not None:
                    out.append(inner)
        return out

    # -- nodes -----------------------------------------------------------------------------
    def node(self, nid: int, label: str) -> Node:
        k = self.where[nid]
        if k < 0:
            t, value = self.sources[-1 - k]
            is_var = isinstance(t, Variable)
            return Node(
                id=nid,
                kind="variable" if is_var else "constant",
                op=None,
                inputs=(),
                shape=tuple(np.shape(value)),
                dtype=_dtype_name(value),
                value=_frozen(value),
                name=t.name if is_var else getattr(t, "_name", t),
                watched=self.tensor_ids[nid] in self.watched_ids,
                label=label,
            )
        e = self.entries[k]
        scope, group = e.where
        attrs = e.attrs
        local_id = self.local_id
        return Node(
            id=nid,
            kind="op",
            op=e.op.name,
            inputs=tuple([local_id[xid] for xid in e.input_ids]),
            shape=tuple(np.shape(e.output_value)),
            dtype=_dtype_name(e.output_value),
            value=_frozen(e.output_value),
            name=e.output_name,
            watched=e.output_id in self.watched_ids,
            symbol=e.op.symbol,
            attrs=MappingProxyType(sanitize_attrs(attrs)) if attrs else _NO_ATTRS_VIEW,
            scope=scope.rstrip("/"),
            group=group,
            label=label,
        )

    def auto_label(self, nid: int) -> str:
        """The short symbol of a node nobody named: ``t7``, ``2`` (a scalar), ``c5``."""
        k = self.where[nid]
        if k >= 0:
            return f"t{nid}"
        value = self.sources[-1 - k][1]
        return format_value(value) if np.ndim(value) == 0 else f"c{nid}"

    def is_constant(self, nid: int) -> bool:
        k = self.where[nid]
        return k < 0 and not isinstance(self.sources[-1 - k][0], Variable)

    # -- sweep steps -----------------------------------------------------------------------
    def step(self, k: int) -> tuple[TapeEntry, Any, list[tuple[int, Any]]]:
        """Entry, adjoint and contributions ``[(input id, part)]`` of sweep step ``k``."""
        idx = self.order[k]
        e = self.entries[idx]
        kept = self.kept_steps.get(idx)
        if kept is not None:
            g, grads = kept
        else:
            g = self.adj[e.output_id]
            steps: list[tuple[int, Any, Any]] = []
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                _tape._run_sweep(
                    [e], 1, {e.output_id: g}, self.reach, self.covered, NUMPY, False, steps
                )
            grads = steps[0][2]
        reach = self.reach
        # what the VJP sent to inputs that lead back to a source, in input order
        contrib = [
            (xid, c)
            for xid, c in zip(e.input_ids, grads)  # noqa: B905 (grads may be longer)
            if c is not None and xid in reach
        ]
        return e, g, contrib


_NO_ATTRS_VIEW: Any = MappingProxyType({})


class RecordView:
    """A record of one RecordData with the labels of one set of user names."""

    def __init__(self, data: RecordData, names: dict[int, str], tapes: dict[int, str]) -> None:
        self.data = data
        self.names = names
        local_id = data.local_id
        # explicit names win over the names the code bound, which win over "Variable"
        named = dict(data.defaults)
        named.update({local_id[tid]: name for tid, name in names.items() if tid in local_id})
        named.update(data.explicit)
        counts: dict[str, int] = {}
        for text in named.values():
            counts[text] = counts.get(text, 0) + 1
        for nid, text in named.items():
            if data.is_constant(nid):
                continue
            clash = counts[text] > 1
            if not clash and text[:1] in "tc" and text[1:].isdigit():  # like a short symbol
                other = int(text[1:])
                clash = other != nid and other < len(data.where) and other not in named
            if clash:
                named[nid] = f"{text}#{nid}"
        self.named = named
        self.tape_names = tapes

    def label(self, nid: int) -> str:
        text = self.named.get(nid)
        return text if text is not None else self.data.auto_label(nid)

    def node(self, nid: int) -> Node:
        return self.data.node(nid, self.label(nid))

    def sweep_step(self, k: int) -> SweepStep:
        data = self.data
        e, g, contrib = data.step(k)
        local_id = data.local_id
        summed: dict[int, Any] = {}
        for xid, c in contrib:  # an input used twice (x * x) receives both parts
            nid = local_id[xid]
            summed[nid] = _val(c) if nid not in summed else summed[nid] + _val(c)
        gv = _val(g)
        return SweepStep(
            node=local_id[e.output_id],
            adjoint=_frozen(gv),
            contributions=MappingProxyType({nid: _frozen(v) for nid, v in summed.items()}),
            formula=_formula(e, gv, contrib, local_id, self.label),
        )

    def group_titles(self) -> dict[str, str]:
        """A title for each group: which gradient its ops computed, in the user's names."""
        titles = {}
        for group in self.data.groups:
            parts = []
            tape_name = None
            for t_ids, s_ids, ref in _tape.GROUP_SWEEPS.get(group, ()):
                parts.append(f"∂{self._names_of(t_ids)}/∂{self._names_of(s_ids)}")
                inner = ref()
                if inner is not None:
                    tape_name = self.tape_names.get(inner._id, tape_name)
            title = "gradient " + ", ".join(parts) if parts else "gradient"
            if tape_name is not None:
                title += f" by {tape_name}"
            elif not parts:  # too long ago to be known
                title = "gradient, by an inner tape"
            titles[group] = title
        return titles

    def _names_of(self, tids: tuple[int, ...]) -> str:
        local_id = self.data.local_id
        labels = [
            self.label(local_id[t]) if t in local_id else self.names.get(t, "?") for t in tids
        ]
        if len(labels) > 3:
            labels = [*labels[:2], f"… {len(labels) - 2} more"]
        return labels[0] if len(labels) == 1 else "(" + ", ".join(labels) + ")"

    def record(self) -> Record:
        data = self.data
        nodes = FrozenSequence(len(data.where), self.node)
        sweep = _Steps(len(data.order), self.sweep_step)
        sweep.node_ids = _EntryNodes(data.order, data.entries, data.local_id)
        return Record(
            nodes=nodes,
            sweep=sweep,
            targets=data.targets,
            sources=data.source_ids,
            gradients=_Gradients(data),
            tape_id=data.tape_id,
            tensor_ids=data.tensor_ids,
            groups=MappingProxyType(self.group_titles()),
        )


class _Steps(FrozenSequence[SweepStep]):
    """The record's sweep; ``node_ids`` gives each step's node without making the step."""

    __slots__ = ("node_ids",)
    node_ids: Any


class _EntryNodes:
    """The node of each sweep step, worked out when read."""

    __slots__ = ("_order", "_local_id", "_entries")

    def __init__(self, order: Any, entries: Any, local_id: dict[int, int]) -> None:
        self._order = order
        self._entries = entries
        self._local_id = local_id

    def __iter__(self) -> Iterator[int]:
        entries, local_id = self._entries, self._local_id
        return (local_id[entries[i].output_id] for i in self._order)

    def __len__(self) -> int:
        return len(self._order)


class _Gradients(Mapping[int, np.ndarray]):
    """Final adjoint of every node the sweep reached, made read-only when first read."""

    def __init__(self, data: RecordData) -> None:
        self._adj = data.adj
        self._tids = data.tensor_ids
        local_id = data.local_id
        self._ids = sorted(local_id[t] for t in data.adj if t in local_id)
        self._made: dict[int, np.ndarray] = {}

    def __getitem__(self, nid: int) -> np.ndarray:
        arr = self._made.get(nid)
        if arr is None:
            if not (isinstance(nid, int) and 0 <= nid < len(self._tids)):
                raise KeyError(nid)
            arr = self._made[nid] = _frozen(_val(self._adj[self._tids[nid]]))
        return arr

    def __contains__(self, nid: object) -> bool:
        return isinstance(nid, int) and 0 <= nid < len(self._tids) and self._tids[nid] in self._adj

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return repr(dict(self))


def _val(x: Any) -> Any:
    return x._value if isinstance(x, Tensor) else x


def _frozen(value: Any) -> np.ndarray:
    if type(value) is np.ndarray and not value.flags.writeable and value.base is None:
        return value  # already a read-only array nobody can change (a Variable's value)
    arr = np.array(value, copy=True)
    arr.flags.writeable = False
    return arr


# --- formulas -----------------------------------------------------------------------------------
_PLACEHOLDERS = ("x", "y", "z")
_TRANSPOSED = re.compile(r"\{(g|out|x|y|z)\}ᵀ")


def _number(value: Any, bare: bool) -> str:
    """A value as a formula writes it: a negative scalar inside an expression in brackets."""
    text = format_value(value)
    if not bare and text.startswith("-") and np.ndim(value) == 0:
        return f"({text})"
    return text


def _transposed(value: Any) -> Any:
    arr = np.asarray(value)
    return np.swapaxes(arr, -1, -2) if arr.ndim >= 2 else arr


def _formula(
    e: TapeEntry,
    g: Any,
    contrib: list[tuple[int, Any]],
    local_id: dict[int, int],
    label: Any,
) -> str:
    """The VJP rule of one step in the user's names, then with the numbers filled in.

    ``∂L/∂w += Xᵀ · ∂L/∂t2 = [[1,3],[2,4]] · [[10],[20]] = [[70],[100]]``: each input's
    part, in symbols, then the same expression with the values (``Xᵀ`` is written as the
    transposed matrix), then the result.  Big arrays are shortened by :func:`format_value`;
    a part that broadcasting stretched is summed back, ``Σ(...)``.
    """
    op, vals, out, attrs, ids = e.op, e.input_values, e.output_value, e.attrs, e.input_ids
    out_label = label(local_id[e.output_id])
    gname = f"∂L/∂{out_label}"
    names = {"g": gname, "out": out_label}
    values = {"g": g, "out": out}
    for i, xid in enumerate(ids[: len(_PLACEHOLDERS)]):
        names[_PLACEHOLDERS[i]] = label(local_id[xid])
        values[_PLACEHOLDERS[i]] = _val(vals[i])
    texts = op.texts(attrs, len(ids))
    if np.iscomplexobj(out):  # the rules use the conjugated values (TensorFlow's convention)
        from .ops.complex import conjugated_texts

        texts = conjugated_texts(texts)
    clauses = []
    pending = list(contrib)  # in input order, one item per input position that got a part
    for i, xid in enumerate(ids):
        if not pending or pending[0][0] != xid:
            continue
        c = _val(pending.pop(0)[1])
        tmpl = _in_language(texts[i] if i < len(texts) and texts[i] else "{g}")
        try:
            sym, num = _fill(tmpl, names, values)
        except (KeyError, IndexError, ValueError):
            sym, num = tmpl, None
        if op.broadcasts and np.shape(c) != np.shape(g):
            # broadcasting: the input's part is summed over the axes it was stretched along
            sym = f"Σ({sym})"
            num = None if num is None else f"Σ({num})"
        text = f"∂L/∂{label(local_id[xid])} += {sym}"
        value = format_value(c)
        if num is not None and num != value and num != sym:
            text += f" = {num}"
        clauses.append(f"{text} = {value}")
    return "; ".join(clauses) if clauses else _in_language("{g} reaches no source").format(g=gname)


def _in_language(template: str) -> str:
    """A rule's words in the language of the pictures (``tv.viz.set_language``).  Without
    ``tapeviz.viz`` loaded nobody chose one: English, and the engine does not load it."""
    messages = sys.modules.get("tapeviz.viz.messages")
    return template if messages is None else messages.rule_text(template)


class _Filled(dict[str, str]):
    """Placeholder texts made when a template asks for them; ``xT`` is ``x`` transposed."""

    def __init__(self, make: Any, source: dict[str, Any]) -> None:
        super().__init__()
        self.make = make
        self.source = source

    def __missing__(self, key: str) -> str:
        transposed = key.endswith("T") and key[:-1] in self.source
        base = key[:-1] if transposed else key
        text: str = self.make(self.source[base], transposed)
        self[key] = text
        return text


def _fill(tmpl: str, names: dict[str, str], values: dict[str, Any]) -> tuple[str, str | None]:
    """``tmpl`` in symbols and in numbers; ``{x}ᵀ`` (or ``{xT}``) is x transposed."""
    tmpl = _TRANSPOSED.sub(r"{\1T}", tmpl)
    sym = tmpl.format_map(_Filled(lambda name, t: name + ("ᵀ" if t else ""), names))
    bare = tmpl.strip() in {"{" + k + "}" for k in values}
    num = tmpl.format_map(_Filled(lambda v, t: _number(_transposed(v) if t else v, bare), values))
    return sym, num
