"""A traced program as the public :class:`tapeviz.graph.Record`, so that the readers of
tapes (the graphviz emitter, the widgets) can draw what ``tv.function`` traced.

Nodes, in program order:

* ``"variable"`` — one per Variable the program touches (its value when the record was
  made); reading a Variable refers to this node, or to the last ``assign`` before it;
* ``"constant"`` — the function's tensor arguments (named after the parameters), the loop
  index of each ``tv.range`` loop (in its loop's scope; the bounds are in the scope's text),
  and the constants the trace captured;
* ``"op"`` — one per equation: registry ops (``op`` is the registry name), and three
  program-only kinds: ``"assign"`` (symbol ``←``; named like its Variable), ``"print"``,
  ``"exit_unless"`` (the test of a ``while`` loop, symbol ``break if not``).

Control flow is drawn with scopes too: a ``tv.cond`` (or an ``if`` on a tensor) is the
scope ``tv.cond(t2)`` with one sub-scope per branch (``if t2``, ``else``); a while loop is
the scope ``tv.while_loop #1``.  Values that leave a branch or are carried by a loop are
``"variable"`` nodes named after the Python variable, with ``attrs["role"]`` =
``"control flow"``: the branches and the loop body assign them, and what follows reads
them.  After a ``cond`` a ``"merge"`` op joins what the two branches stored.  A loop's
storage node lists in ``attrs`` the values that enter the loop (``"enters_from"``) and
those its body passes to the next iteration (``"next_iteration"``, drawn as back edges).

A trace has no values yet: op nodes, arguments and loop indices are ``symbolic`` (their
``value`` is a NaN placeholder, 0 for integers), and pictures show their type, ``f32[2,1]``,
"known at run time".  Ops inside a
``for ... in tv.range(...)`` loop carry the loop in their ``scope``
(``"for t1 in tv.range(0, 1000, 1)"``); the ops of a reverse sweep keep their ``group``
(``"gradient of tape 3"``), and the record's ``groups`` title them "gradient (tape.gradient
inside the function)".
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

import numpy as np

from ..graph import Node, Record
from ..ops._registry import REGISTRY, sanitize_attrs
from .ir import Const, Eqn, Program, Var, walk

__all__ = ["program_record"]


def _unknown(shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    fill: Any = np.nan if dtype.kind == "f" else 0
    arr = np.full(shape, fill, dtype=dtype)
    arr.flags.writeable = False
    return arr


def _frozen(value: Any) -> np.ndarray:
    arr = np.array(value, copy=True)
    arr.flags.writeable = False
    return arr


def _text(a: Any) -> str:
    return a.name if isinstance(a, Var) else repr(a)


def program_record(
    prog: Program,
    variable_values: list[Any] | None = None,
    input_names: list[str] | None = None,
) -> Record:
    """The :class:`~tapeviz.graph.Record` of a traced program (see the module docstring)."""
    nodes: list[Node] = []
    node_of: dict[int, int] = {}  # Var id -> node id
    const_node: dict[int, int] = {}  # id(Const) -> node id
    var_node: dict[int, int] = {}  # slot index -> the Variable's node
    current: dict[int, int] = {}  # slot index -> node holding its latest value

    def add(**kw: Any) -> int:
        nid = len(nodes)
        nodes.append(Node(id=nid, **kw))
        return nid

    def leaf_node(kind: str, x: Any, value: np.ndarray, name: str | None, **more: Any) -> int:
        """A node with no inputs (an argument, a Variable or a constant) for the atom or
        slot ``x`` (its shape and dtype)."""
        return add(
            kind=kind,
            op=None,
            inputs=(),
            shape=x.shape,
            dtype=x.dtype.name,
            value=value,
            name=name,
            **more,
        )

    for k, v in enumerate(prog.inputs):
        name = input_names[k] if input_names and k < len(input_names) else f"arg{k}"
        node_of[v.id] = leaf_node(
            "constant",
            v,
            _unknown(v.shape, v.dtype),
            name,
            attrs=MappingProxyType({"role": "argument"}),
            symbolic=True,
        )

    def slot_node(slot: Any) -> int:
        nid = var_node.get(slot.index)
        if nid is None:
            known = variable_values is not None
            value = (
                _frozen(variable_values[slot.index])
                if variable_values is not None
                else _unknown(slot.shape, slot.dtype)
            )
            nid = leaf_node(
                "variable",
                slot,
                value if not slot.scratch else _unknown(slot.shape, slot.dtype),
                slot.name,
                watched=False,
                symbolic=not known or slot.scratch,
                attrs=MappingProxyType({"role": "control flow"} if slot.scratch else {}),
            )
            var_node[slot.index] = nid
            current.setdefault(slot.index, nid)
        return nid

    def atom_node(a: Any) -> int:
        if isinstance(a, Var):
            return node_of[a.id]
        if isinstance(a, Const):
            nid = const_node.get(id(a))
            if nid is None:
                nid = leaf_node("constant", a, _frozen(a.value), None)
                const_node[id(a)] = nid
            return nid
        raise TypeError(f"not an atom: {a!r}")

    n_while = 0
    preds: list[int] = []  # the predicates of the branches being read
    chosen_by: dict[int, int | None] = {}  # scratch slot -> predicate of its last store
    pending: dict[int, list[int]] = {}  # scratch slot -> its assigns since it was last read
    slot_scratch = {s.index: s.scratch for s in prog.slots}
    entry: dict[int, list[int]] = {}  # scratch variable node -> values entering its loop
    back: dict[int, list[int]] = {}  # scratch variable node -> values of the next iteration

    def control_node(
        e: Eqn, op: str, inputs: tuple[int, ...], symbol: str, scope: str, slot: Any = None
    ) -> int:
        """A symbolic op node of a control-flow equation: a new value of ``slot`` (merge,
        assign), or, with no slot, a bool that has no value of its own (print, exit_unless)."""
        if slot is None:
            shape, dtype, name = (), np.dtype(bool), None
        else:
            shape, dtype, name = slot.shape, slot.dtype, slot.name
        return add(
            kind="op",
            op=op,
            inputs=inputs,
            shape=shape,
            dtype=dtype.name,
            value=_unknown(shape, dtype),
            name=name,
            symbol=symbol,
            symbolic=True,
            scope=scope,
            group=e.group,
        )

    def _enter_loop(e: Eqn, loop_scope: str, text: str) -> None:
        for x in walk(e.body or []):
            if x.prim == "read" and x.ins[0].scratch and x.ins[0].index in current:
                slot = x.ins[0]
                before = current[slot.index]
                nid = slot_node(slot)
                if before != nid and before not in entry.get(nid, ()):
                    entry.setdefault(nid, []).append(before)
        for slot_index, nid in var_node.items():
            current[slot_index] = nid  # loop-carried: the Variable (or storage) itself
            pending.pop(slot_index, None)
        end = Eqn("__end_loop__", (), ())
        stack.append([[*(e.body or []), end], 0, "/".join(s for s in (loop_scope, text) if s)])

    # explicit stack of (equations, position, loop scope text) frames: no recursion
    stack: list[list[Any]] = [[prog.eqns, 0, ""]]
    while stack:
        frame = stack[-1]
        eqns, pos, loop_scope = frame
        if pos >= len(eqns):
            stack.pop()
            continue
        frame[1] = pos + 1
        e: Eqn = eqns[pos]
        scope = "/".join(s for s in (e.scope, loop_scope) if s)
        if e.prim == "__end_if__":
            preds.pop()
            continue
        if e.prim == "__end_loop__":
            # values the body stored into a loop's hidden storage feed the next iteration
            for slot_index, nid in var_node.items():
                if nid != current[slot_index] and slot_scratch.get(slot_index):
                    back.setdefault(nid, []).append(current[slot_index])
            continue
        if e.prim == "read":
            slot = e.ins[0]
            if slot.index not in current:
                slot_node(slot)
            stored = pending.pop(slot.index, [])
            if slot.scratch and len(stored) > 1:
                # after a cond: the value comes from whichever branch its predicate chose
                pred = chosen_by.get(slot.index)
                inputs = tuple(stored) if pred is None else (pred, *stored)
                current[slot.index] = control_node(e, "merge", inputs, "merge", scope, slot)
            node_of[e.outs[0].id] = current[slot.index]
        elif e.prim == "assign":
            slot = e.ins[0]
            if not slot.scratch:
                slot_node(slot)
            nid = control_node(e, "assign", (atom_node(e.ins[1]),), "←", scope, slot)
            current[slot.index] = nid
            if slot.scratch:
                pending.setdefault(slot.index, []).append(nid)
                chosen_by[slot.index] = preds[-1] if preds else None
        elif e.prim == "print":
            control_node(e, "print", tuple(atom_node(a) for a in e.ins), "print", scope)
        elif e.prim in ("if", "while"):
            # a cond: a cluster `tv.cond(p)` holding one cluster per branch; a while loop:
            # a cluster holding its body (its test is the `exit unless` node in it)
            if e.prim == "if":
                p = _text(e.ins[0])
                branch = "else" if e.attrs.get("negate") else f"if {p}"
                text = f"tv.cond({p})/{branch}"
            else:
                n_while += 1
                text = f"tv.while_loop #{n_while}"
                _enter_loop(e, loop_scope, text)
            if e.prim == "if":
                preds.append(atom_node(e.ins[0]))
                body = [*(e.body or []), Eqn("__end_if__", (), ())]
                stack.append([body, 0, "/".join(s for s in (loop_scope, text) if s)])
        elif e.prim == "exit_unless":
            control_node(e, "exit_unless", (atom_node(e.ins[0]),), "break if not", scope)
        elif e.prim == "loop":
            idx = e.outs[0]
            bounds = ", ".join(a.name if isinstance(a, Var) else repr(a) for a in e.ins)
            text = f"for {idx.name} in tv.range({bounds})"
            node_of[idx.id] = add(
                kind="constant",
                op=None,
                inputs=(),
                shape=(),
                dtype=idx.dtype.name,
                value=_unknown((), idx.dtype),
                name=idx.name,
                symbolic=True,
                attrs=MappingProxyType({"role": "loop index", "loop": text}),
                scope="/".join(s for s in (scope, text) if s),
            )
            _enter_loop(e, loop_scope, text)
        else:
            out = e.outs[0]
            op = REGISTRY.get(e.prim)
            node_of[out.id] = add(
                kind="op",
                op=e.prim,
                inputs=tuple(atom_node(a) for a in e.ins),
                shape=out.shape,
                dtype=out.dtype.name,
                value=_unknown(out.shape, out.dtype),
                symbol=op.symbol if op is not None else e.prim,
                symbolic=True,
                attrs=MappingProxyType(sanitize_attrs(e.attrs)),
                scope=scope,
                group=e.group,
            )
    for nid in set(entry) | set(back):
        links = {
            "enters_from": tuple(entry.get(nid, ())),
            "next_iteration": tuple(back.get(nid, ())),
        }
        nodes[nid] = replace(nodes[nid], attrs=MappingProxyType({**nodes[nid].attrs, **links}))
    groups = {n.group: "gradient (tape.gradient inside the function)" for n in nodes if n.group}
    return Record(nodes=tuple(nodes), tape_id=0, groups=MappingProxyType(groups))
