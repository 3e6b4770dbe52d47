"""Loop fusion: chains of elementwise equations on arrays become one loop.

Eager numpy runs ``tanh(x * w + b) ** 2 * exp(-x)`` as five passes over memory with four
temporary arrays; the same chain in a forward *and* its reverse sweep is a dozen passes.
Here consecutive elementwise equations of one iteration shape are *grouped*, and a group
is generated as one nest of ``for`` loops whose body computes every member on scalars::

    for _i0 in range(256):
        for _i1 in range(256):
            e6 = t4[_i0, _i1] + t5[_i1]           # the bias broadcasts by its index
            e7 = np.maximum(e6, k0)                 # relu
            t7[_i0, _i1] = e7                       # stored: used outside the group

Only values used outside the group are stored; the rest live in registers.  A
``reduce_sum`` over leading axes of a member (the bias gradient of a dense layer) joins the
group as an accumulation ``t24[_i1] += e23``, in the order numpy adds rows, so it stays bit
for bit equal to numpy.  ``exp``, ``log``, ``sin``, ``cos``, ``tanh`` and ``sigmoid`` of
float32 use :func:`tapeviz.compiler.kernels.exp32` & co., which vectorise (TensorFlow's own
arithmetic, and eager code's).

Planning keeps the program's meaning: equations that do not depend on the group may run
before its loop; those that do (and every later equation that is not a member, so that
Variable reads, writes and prints keep their order) run after it.
"""

from __future__ import annotations

import ast
import builtins
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._eigen_f32 import PACKET
from ..ops._registry import KernelCall, Op, OpTable
from .ir import BLOCK_PRIMS, Const, Eqn, Var

__all__ = ["Group", "plan", "FUSIBLE", "emit_group", "kernel_call"]


# scalar expression of each fusible op, from the (scalar) texts of its inputs
ScalarRule = Callable[[Any, Eqn, list[str]], str]


def kernel_call(g: Any, e: Eqn, args: list[str]) -> KernelCall:
    """What the kernel of ``e``'s op sees: its inputs' source ``args``, its dtype..."""
    dtype = e.outs[0].dtype
    return KernelCall(
        args=args,
        dtype=dtype,
        consts=[a.value if isinstance(a, Const) else None for a in e.ins],
        scalar=lambda v: str(g.scalar(v, dtype)),
    )


def _scalar_rule(op: Op) -> ScalarRule | None:
    kernel = op.kernel
    if kernel is None:
        return None
    return lambda g, e, args: kernel.element(kernel_call(g, e, args))


# the fusible ops: those with a kernel (op name -> scalar rule; read-only, derived)
FUSIBLE: OpTable[ScalarRule] = OpTable(_scalar_rule)
# ops whose float32 arrays end in TensorFlow's scalar code (Kernel.scalar_tail)
_SCALAR_TAIL: OpTable[bool] = OpTable(
    lambda op: True if op.kernel is not None and op.kernel.scalar_tail else None
)
# ops whose scalar rule numba would widen (integer arithmetic): cast back per element
_INT_WIDENING: OpTable[bool] = OpTable(
    lambda op: True if op.kernel is not None and op.kernel.widens_ints else None
)


class Group:
    """Elementwise equations over one iteration shape, generated as one loop nest."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.members: list[Eqn] = []
        self.values: set[int] = set()  # ids of Vars computed by members
        self.reductions: dict[int, str] = {}  # id() of fused reduce_sum -> "lead" | "full"

    def add(self, e: Eqn, reduction: str | None = None) -> None:
        """Add an equation to the group (``reduction``: the kind, for a reducing equation)."""
        self.members.append(e)
        self.values.add(e.outs[0].id)
        if reduction:
            self.reductions[id(e)] = reduction

    def roles(self) -> Iterator[tuple[Eqn, Var, str | None, int]]:
        """Each member with its output, its kind of fused sum ("lead", "full" or None) and,
        for a "lead" sum, how many leading axes it adds up (else 0)."""
        for e in self.members:
            kind = self.reductions.get(id(e))
            lead = len(e.ins[0].shape) - len(_kept(e)) if kind == "lead" else 0
            yield e, e.outs[0], kind, lead

    def streams(self) -> bool:
        """Full sums are accumulated while the loop runs, in numpy's pairwise order: the
        loop walks the flat index in numpy's leaves (needs inputs of the group's shape)."""
        kinds = set(self.reductions.values())
        if "full" not in kinds or "lead" in kinds:
            return False
        for e in self.members:
            if id(e) in self.reductions:
                continue
            for a in e.ins:
                if a.shape != self.shape and any(d != 1 for d in a.shape):
                    return False
        return True


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(reversed(shape), reversed(target), strict=False))


def _fusible(e: Eqn) -> tuple[int, ...] | None:
    """The iteration shape of an elementwise equation on arrays, else None."""
    if e.prim not in FUSIBLE or len(e.outs) != 1:
        return None
    out = e.outs[0]
    if out.shape == () or out.size == 0:
        return None
    if out.size % PACKET and out.dtype == np.float32 and _SCALAR_TAIL.get(e.prim):
        return None  # (TensorFlow's last n % 8 numbers: the op's whole form computes them)
    if e.prim == "cast" and e.ins[0].dtype.kind not in "biuf":
        return None
    for a in e.ins:
        if not _broadcasts_to(a.shape, out.shape):
            return None
    return out.shape


def _fused_sum(e: Eqn, group: Group | None) -> str | None:
    """A reduce_sum of a member that can join the group: over leading axes ("lead": rows
    added in order, as numpy does) or over everything ("full": numpy's pairwise sum)."""
    if group is None or e.prim != "reduce_sum":
        return None
    x = e.ins[0]
    if not isinstance(x, Var) or x.id not in group.values or x.shape != group.shape:
        return None
    if x.dtype.kind != "f":
        return None
    axis = e.attrs.get("axis")
    nd = len(x.shape)
    axes = tuple(range(nd)) if axis is None else tuple(sorted(axis))
    kept = [d for i, d in enumerate(x.shape) if i not in axes]
    if axes == tuple(range(nd)) or int(np.prod(kept, dtype=np.int64)) == 1:
        return "full"  # (numpy drops axes of length 1: one kept entry is a full sum)
    if 0 < len(axes) < nd and axes == tuple(range(len(axes))):
        return "lead"
    return None


def plan(block: list[Eqn]) -> list[Any]:
    """Items to generate for a block: ``("eqn", e)`` or ``("group", Group)``, in an order
    that keeps the program's meaning (see the module docstring)."""
    items: list[Any] = []
    group: Group | None = None
    after: list[Eqn] = []  # equations that must run after the group's loop
    after_values: set[int] = set()

    def close() -> None:
        nonlocal group, after, after_values
        if group is not None:
            items.append(("group", group))
            items.extend(("eqn", d) for d in after)
        group, after, after_values = None, [], set()

    for e in block:
        shape = _fusible(e)
        kind = _fused_sum(e, group) if shape is None else None
        if kind is not None:
            assert group is not None
            group.add(e, reduction=kind)
            continue
        if shape is not None:
            needs_after = any(isinstance(a, Var) and a.id in after_values for a in e.ins)
            if group is not None and (group.shape != shape or needs_after):
                close()
            if group is None:
                group = Group(shape)
            group.add(e)
            continue
        if e.prim in BLOCK_PRIMS or e.prim == "exit_unless":  # control flow: a barrier
            close()
            items.append(("eqn", e))
            continue
        if group is not None and (
            after
            or any(
                isinstance(a, Var) and (a.id in group.values or a.id in after_values) for a in e.ins
            )
        ):
            after.append(e)
            after_values.update(o.id for o in e.outs)
        else:
            items.append(("eqn", e))
    close()
    return items


def _index(atom: Any, shape: tuple[int, ...], idx: list[str]) -> str:
    """Indexing of an input of ``atom.shape`` broadcast to the group's ``shape``."""
    ash = atom.shape
    lead = len(shape) - len(ash)
    parts = ["0" if d == 1 and shape[lead + j] != 1 else idx[lead + j] for j, d in enumerate(ash)]
    return ", ".join(parts)


def pairwise_schedule(n: int) -> tuple[list[int], list[int]]:
    """NumPy's pairwise summation of ``n`` numbers as leaves and merges.

    numpy splits a range in two halves (the first a multiple of 8) until at most 128 remain,
    sums each leaf with 8 accumulators and adds the halves back.  Returns the leaf lengths
    in order and, after each leaf, how many times to replace the top two partial sums by
    their sum (a post-order walk, with an explicit stack)."""
    leaves: list[int] = []
    merges: list[int] = []
    stack: list[list[int]] = [[n, 0]]
    while stack:
        top = stack[-1]
        m, stage = top
        if m <= 128:
            leaves.append(m)
            merges.append(0)
            stack.pop()
            continue
        half = m // 2
        half -= half % 8
        if stage == 0:
            top[1] = 1
            stack.append([half, 0])
        elif stage == 1:
            top[1] = 2
            stack.append([m - half, 0])
        else:
            stack.pop()
            merges[-1] += 1
    return leaves, merges


BLOCK = 16384
"""Elements per pass of a streaming loop: the leaves of numpy's pairwise sum (≤ 128
numbers) are taken together up to this many, so that the vector loop runs long and its
scalar remainder comes once per block, not once per leaf; the block's summands wait in a
buffer (64 KB of float32, in the L2 cache) and :func:`tapeviz.compiler.kernels.leaf_sums`
then sums its leaves.  (numpy's 8 accumulators of a leaf add numbers 8 apart in order: a
loop that does so runs 8 numbers a step, the elementwise loop 16 with AVX-512, so the
sums are a pass of their own.)  Each pass over the buffer pauses the streams of memory
that the processor prefetches: with arrays out of the cache, W5 at 1e6 took 1.24 ms with
blocks of 2048 and 1.12 with 16384 (fused kernel 0.86; 1.47 with buffers of 1 MB)."""


def _blocks(leaves: list[int]) -> list[list[int]]:
    """Consecutive leaves grouped into blocks of at most :data:`BLOCK` numbers: the blocks'
    lengths and, for each, the index of the leaf after its last one."""
    lengths: list[int] = []
    ends: list[int] = []
    total = 0
    for k, n in enumerate(leaves):
        if total and total + n > BLOCK:
            lengths.append(total)
            ends.append(k)
            total = 0
        total += n
    lengths.append(total)
    ends.append(len(leaves))
    return [lengths, ends]


def _in_place(group: Group, stored: set[int], reusable: set[int]) -> dict[int, Any]:
    """Stored members that may be written into the array of an input of the group: one
    of the group's shape and dtype that only this group reads (``reusable``) and whose
    last reader in the loop body is that member or an earlier one (so each element is
    read, then overwritten, in the same iteration)."""
    last_reader: dict[int, int] = {}
    for k, e in enumerate(group.members):
        for a in e.ins:
            if isinstance(a, Var):
                last_reader[a.id] = k
    taken: set[int] = set()
    out: dict[int, Any] = {}
    for k, e in enumerate(group.members):
        o = e.outs[0]
        if id(e) in group.reductions or o.id not in stored:
            continue
        for m in group.members[: k + 1]:
            a = next(
                (
                    a
                    for a in m.ins
                    if isinstance(a, Var)
                    and a.id in reusable
                    and a.id not in taken
                    and a.shape == o.shape == group.shape
                    and a.dtype == o.dtype
                    and last_reader[a.id] <= k
                ),
                None,
            )
            if a is not None:
                out[o.id] = a
                taken.add(a.id)
                break
    return out


def _emit_total(g: Any, o: Any, value: str) -> None:
    """Bind a full sum's result to ``o`` (a kept-dims sum fills its shape): ``value``, the
    pairwise sum, added to +0.0 as ``np.add.reduce`` adds it to its identity (so that a
    sum of negative zeros is +0.0, as in numpy)."""
    value = f"{g.scalar(0.0, o.dtype)} + {value}"
    g.emit(
        f"{o.name} = {value}"
        if o.shape == ()
        else f"{o.name} = np.full({_shape(o.shape)}, {value})"
    )


def emit_group(g: Any, group: Group, stored: set[int], reusable: set[int] | None = None) -> None:
    """Write the loop nest of ``group``; ``stored``: ids of member values needed as arrays;
    ``reusable``: inputs whose arrays a stored member may overwrite (see :func:`_in_place`)."""
    from .codegen import np_dtype

    shape = group.shape
    streaming = group.streams()
    full_sums = [e for e in group.members if group.reductions.get(id(e)) == "full"]
    if full_sums and not streaming:
        stored = stored | {e.ins[0].id for e in full_sums}
    r = 1 if streaming else len(shape)
    single = False
    idx = ["_j"] if streaming else [f"_i{k}" for k in range(r)]
    local: dict[int, str] = {}  # member Var id -> scalar name in the loop body
    flat: dict[int, str] = {}  # array -> its flat view, then its slice for the leaf

    hoisted: dict[int, str] = {}  # single numbers broadcast by a streaming loop

    def element(a: Any) -> str:
        if streaming and a.shape != shape:  # a single number, read once before the loop
            if id(a) not in hoisted:
                hoisted[id(a)] = g.tmp()
                g.emit(f"{hoisted[id(a)]} = {g.a(a)}[{', '.join(['0'] * len(a.shape))}]")
            return hoisted[id(a)]
        if streaming:
            return f"{flat[id(a)]}_[_j]"
        return f"{g.a(a)}[{_index(a, shape, idx)}]"

    def scalar_of(a: Any) -> str:
        if isinstance(a, Var) and a.id in local:
            return local[a.id]
        if np.ndim(a.value if isinstance(a, Const) else np.empty(a.shape)) == 0:
            return str(g.a(a))
        return element(a)

    # arrays: stored members, accumulators of fused sums
    in_place = _in_place(group, stored, reusable or set())
    for _e, o, kind, k in group.roles():
        if kind == "lead":
            g.emit(f"{o.name} = np.zeros({_shape(shape[k:])}, {np_dtype(o.dtype)})")
        elif kind is None and o.id in stored:
            # an array this function allocated and no longer needs, else (a returned
            # value) one the caller recycles (see jit.Compiled), else a new one
            buf = None if o.id in in_place else g.buffer_for(o)
            if o.id in in_place:
                g.emit(f"{o.name} = {g.a(in_place[o.id])}  # its array, overwritten")
                g.fresh.add(o.id)
            elif buf is not None:
                g.emit(f"{o.name} = {buf}")
            else:
                g.emit(f"{o.name} = np.empty({_shape(o.shape)}, {np_dtype(o.dtype)})")
                g.fresh.add(o.id)
    out_view: dict[int, str] = {}
    for e in group.members:
        o = e.outs[0]
        if id(e) not in group.reductions and o.id in stored:
            if streaming:
                flat[id(o)] = g.tmp()
                g.emit(f"{flat[id(o)]} = {o.name}.reshape(-1)")
                out_view[o.id] = f"{flat[id(o)]}_"
            else:
                out_view[o.id] = o.name
    if streaming:
        # flat views of the inputs; each leaf of numpy's pairwise sum slices them, so the
        # inner loop indexes from 0 (numba then needs no negative-index check: it vectorises)
        for e in group.members:
            for a in e.ins:
                own = isinstance(a, Var) and a.id in group.values
                if a.shape == shape and not own and id(a) not in flat:
                    flat[id(a)] = g.tmp()
                    g.emit(f"{flat[id(a)]} = np.ascontiguousarray({g.a(a)}).reshape(-1)")
        for e in group.members:  # (read before the loop: numba cannot tell that the
            for a in e.ins:  # loop's stores leave them unchanged)
                own = isinstance(a, Var) and a.id in group.values
                if not own and a.shape != shape and len(a.shape) > 0:
                    element(a)
        size = int(np.prod(shape, dtype=np.int64))
        leaves, merges = pairwise_schedule(size)
        single = len(leaves) == 1  # up to 128 numbers: one leaf, no merges
        assert single or min(leaves) >= 64, leaves  # (halves of more than 128)
        blocks = _blocks(leaves)
        for e in full_sums:
            d = np_dtype(e.outs[0].dtype)
            g.emit(f"_buf{e.outs[0].id} = np.empty({size if single else max(blocks[0])}, {d})")
            if not single:
                g.emit(f"_acc{e.outs[0].id} = np.empty(64, {d})")
                g.emit(f"_w{e.outs[0].id} = np.empty(136, {d})")
        if single:
            for view in sorted(set(flat.values())):
                g.emit(f"{view}_ = {view}")
            g.emit(f"for _j in range({size}):")
            g.depth += 1
        else:
            # (bytes, a leaf's length and merges side by side: see K.leaf_sums)
            sched = g.const_array(np.array([leaves, merges], dtype=np.uint8).T)
            spans = g.const_array(np.array(blocks, dtype=np.int64).T)  # (a block's two together)
            g.emit("_sp = 0")
            g.emit("_lo = 0")
            g.emit("_leaf = 0")
            g.emit(f"for _blk in range({len(blocks[0])}):")
            g.emit(f"    _nb = {spans}[_blk, 0]")
            g.emit("    _hi = _lo + _nb")
            for view in sorted(set(flat.values())):
                g.emit(f"    {view}_ = {view}[_lo:_hi]")
            g.depth += 1
            loop_start = len(g.lines)
            g.emit("for _j in range(_nb):")
            g.depth += 1
    else:
        for k in range(r):
            g.emit(f"for {idx[k]} in range({shape[k]}):")
            g.depth += 1
    for e, o, kind, k in group.roles():
        if kind == "lead":
            g.emit(f"{o.name}[{', '.join(idx[k:])}] += {scalar_of(e.ins[0])}")
            continue
        if kind == "full":
            if streaming:
                g.emit(f"_buf{o.id}[_j] = {scalar_of(e.ins[0])}")
            continue
        args = [scalar_of(a) for a in e.ins]
        expr = FUSIBLE[e.prim](g, e, args)
        if o.dtype.kind in "iu" and e.prim in _INT_WIDENING:
            expr = f"{np_dtype(o.dtype)}({expr})"
        name = f"e{o.id}"
        g.emit(f"{name} = {expr}")
        local[o.id] = name
        if o.id in stored:
            g.emit(f"{out_view[o.id]}[{', '.join(idx)}] = {name}")
    if streaming and single:
        g.depth -= 1
        for e in full_sums:
            o = e.outs[0]
            _emit_total(g, o, f"K.block_sum(_buf{o.id}, 0, {size})")
    elif streaming:
        g.depth -= 1
        _outline(g, loop_start)
        for e in full_sums:
            oid = e.outs[0].id
            g.emit(
                f"_top = K.leaf_sums(_buf{oid}, {sched}, _leaf, {spans}[_blk, 1], _acc{oid}, "
                f"_sp, _w{oid})"
            )
        g.emit("_sp = _top")
        g.emit(f"_leaf = {spans}[_blk, 1]")
        g.emit("_lo = _hi")
        g.depth -= 1
        for e in full_sums:
            o = e.outs[0]
            _emit_total(g, o, f"_acc{o.id}[0]")
    else:
        g.depth -= r
    for e, o, kind, k in group.roles():
        if kind == "lead":  # accumulators to the reduction's own shape (keepdims)
            if tuple(shape[k:]) != o.shape:
                g.emit(f"{o.name} = {o.name}.reshape({_shape(o.shape)})")
        elif kind == "full" and not streaming:
            x = e.ins[0]
            size = int(np.prod(x.shape, dtype=np.int64))
            res = f"K.sum_axis({x.name}.reshape((1, {size}, 1)))"
            g.emit(
                f"{o.name} = {res}[0, 0]"
                if o.shape == ()
                else f"{o.name} = {res}.reshape({_shape(o.shape)})"
            )


# names a generated module defines or Python provides (not locals of the function)
_MODULE_NAMES = frozenset(dir(builtins)) | {
    "numba",
    "np",
    "K",
    "_njit",
    "_InvalidArgument",
    "_print_values",
    "PRINTS",
    "_print",
}


def _outline(g: Any, start: int) -> None:
    """Move the loop written since line ``start`` (a streaming loop's pass over one block)
    into a function of its own, called with the names it reads.

    In one function with the block loop around it, LLVM keeps the polynomial constants of
    ``exp32``/``tanh32`` & co. out of registers and reloads them in the vector loop (W5:
    0.13 ms of 1.6 at 1e6); compiled on its own, the loop is the whole function and they
    are set up once per call.  The arithmetic is the same, so are the bits."""
    lines = textwrap.dedent("\n".join(g.lines[start:]))
    tree = ast.parse(lines)
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
    stored = {n.id for n in names if isinstance(n.ctx, ast.Store)}
    free = sorted(
        {n.id for n in names if isinstance(n.ctx, ast.Load) and n.id not in stored} - _MODULE_NAMES
    )
    fn = f"_loop{len(g.helpers)}"
    body = textwrap.indent(lines, "    ")
    g.helpers.append(f"def {fn}({', '.join(free)}):\n{body}")
    del g.lines[start:]
    g.emit(f"{fn}({', '.join(free)})")


def _kept(e: Eqn) -> tuple[int, ...]:
    axis = e.attrs.get("axis")
    nd = len(e.ins[0].shape)
    axes = tuple(range(nd)) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(d for i, d in enumerate(e.ins[0].shape) if i not in axes)


def _shape(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(s) for s in shape) + ")"
