"""Clean-ups of a traced program before code generation.

* :func:`eliminate_dead_code` — drop equations whose results nobody uses (a traced tape
  computes the forward value of the loss even if only its gradient is used; loop
  boundaries re-read every Variable just in case).
* :func:`merge_duplicates` — common subexpressions: two equations with the same op, the
  same inputs and the same attrs in the same block compute the same value.

Both are single passes over the equation lists (no recursion; loop bodies are visited
with an explicit stack).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .ir import BLOCK_PRIMS, Const, Eqn, Program, Var, walk

__all__ = ["eliminate_dead_code", "merge_duplicates", "optimize"]

_SIDE_EFFECTS = frozenset({"assign", "print", "exit_unless"})


def eliminate_dead_code(prog: Program) -> Program:
    """Drop the equations no output needs (side effects such as assignments stay), in place."""
    live: set[int] = {a.id for a in prog.outputs if isinstance(a, Var)}
    keep: set[int] = set()  # id() of live equations
    order = list(walk(prog.eqns))
    # hidden storage of control flow that nothing reads back is not worth storing
    read_slots = {e.ins[0].index for e in order if e.prim == "read"}
    # a loop (if, while) equation precedes its body in `order`; reversed, the body is
    # decided first.  A `while` stays as long as it tests its condition (it may never end).
    for e in reversed(order):
        if e.prim in BLOCK_PRIMS:
            alive = any(id(b) in keep for b in e.body or ())
        elif e.prim == "assign" and e.ins[0].scratch and e.ins[0].index not in read_slots:
            alive = False
        else:
            alive = e.prim in _SIDE_EFFECTS or any(o.id in live for o in e.outs)
        if alive:
            keep.add(id(e))
            for a in e.ins:
                if isinstance(a, Var):
                    live.add(a.id)
    _filter(prog.eqns, keep)
    return prog


def _filter(eqns: list[Eqn], keep: set[int]) -> None:
    stack = [eqns]
    while stack:
        block = stack.pop()
        block[:] = [e for e in block if id(e) in keep]
        for e in block:
            if e.body is not None:
                stack.append(e.body)


def _key(e: Eqn, rename: dict[int, Var]) -> Any:
    ins: list[Any] = []
    for a in e.ins:
        if isinstance(a, Var):
            ins.append(("v", rename.get(a.id, a).id))
        elif isinstance(a, Const):
            v = a.value
            if np.ndim(v) == 0:
                ins.append(("c", np.asarray(v).dtype.str, repr(v)))
            else:
                ins.append(("a", id(a)))
        else:
            ins.append(("s", getattr(a, "index", id(a))))
    return (e.prim, tuple(ins), repr(sorted(e.attrs.items())))


def merge_duplicates(prog: Program) -> Program:
    """Reuse the first of two identical pure equations of one block (and its loop bodies);
    a ``read`` is reused only until the next ``assign`` to its Variable or loop."""
    rename: dict[int, Var] = {}

    def sub(a: Any) -> Any:
        return rename.get(a.id, a) if isinstance(a, Var) else a

    # explicit stack of (block, table of available expressions)
    stack: list[tuple[list[Eqn], dict[Any, Var]]] = [(prog.eqns, {})]
    while stack:
        block, seen = stack.pop()
        out: list[Eqn] = []
        for e in block:
            e.ins = tuple(sub(a) for a in e.ins)
            if e.prim in BLOCK_PRIMS:
                seen = {k: v for k, v in seen.items() if k[0] != "read"}
                out.append(e)
                assert e.body is not None
                stack.append((e.body, {}))
                continue
            if e.prim == "assign":
                slot = e.ins[0]
                seen = {
                    k: v
                    for k, v in seen.items()
                    if not (k[0] == "read" and k[1][0][1] == slot.index)
                }
                out.append(e)
                continue
            if e.prim in ("print", "random", "exit_unless") or len(e.outs) != 1:  # not pure
                out.append(e)
                continue
            k = _key(e, rename)
            prev = seen.get(k)
            if prev is not None:
                rename[e.outs[0].id] = prev
                continue
            seen[k] = e.outs[0]
            out.append(e)
        block[:] = out
    # loop bodies were processed after their successors in the parent block: rename again
    for e in walk(prog.eqns):
        e.ins = tuple(sub(a) for a in e.ins)
    prog.outputs = [sub(a) for a in prog.outputs]
    return prog


def optimize(prog: Program) -> Program:
    """The program after merging duplicate equations, then dropping dead ones."""
    return eliminate_dead_code(merge_duplicates(prog))
