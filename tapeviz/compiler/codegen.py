"""Code generation: a program becomes the Python source of one numba function.

Each equation becomes one or a few lines of numpy-style Python (``t7 = t5 * t6``), with
the heavy parts (reductions, softmax, matrix products) calling :mod:`tapeviz.compiler.kernels`.
Rank-0 values are numpy scalars, so scalar code (the documents' optimisation loops)
compiles to plain register arithmetic.  A Variable is a local name (``v0``) that the
function receives and returns; a ``loop`` equation is a Python ``for`` loop.

The lowering of each op is one entry of :data:`LOWER` (``op name -> function``), a table
derived from the registry: an elementwise op's comes from the :class:`~tapeviz.ops.Kernel`
of its ``Op`` entry; the ops lowered whole (reductions, matmul, shapes, and elementwise ops
whose arrays need more than the element, like ``where``) have a hand-written lowering here.
A test walks the registry and checks that every op has one and that it computes what the
eager op computes.

>>> import tapeviz as tv
>>> from tapeviz.compiler import codegen
>>> @tv.function
... def f(x, y):
...     return tv.exp(x) * y + 1.0
>>> print(codegen.generate(f.get_concrete_function(tv.ones([2, 4]), tv.ones([4])).program,
...                        "f").body)
def tv_f(t1, t2):
    k0 = np.float32(1.0)
    t5 = np.empty((2, 4), np.float32)
    for _i0 in range(2):
        for _i1 in range(4):
            e3 = K.exp32(t1[_i0, _i1])
            e4 = e3 * t2[_i1]
            e5 = e4 + k0
            t5[_i0, _i1] = e5
    return (t5,)

(``b0`` is an array the caller passes in and recycles; see :mod:`tapeviz.compiler.fusion`.
Over 2 × 3 numbers ``exp`` would run whole, ``K.map32(K.exp32, K.expf, t1)``, before the
loop: TensorFlow computes a tensor's last ``n % 8`` numbers with the C library's ``expf``,
so a loop takes it only over a multiple of 8 numbers.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _eigen_pow
from ..ops._registry import Op, OpTable
from ..ops.linalg import fixed_order
from ..ops.math import integer_division_by_zero
from . import fusion
from .ir import BLOCK_PRIMS, Const, Eqn, Program, Slot, Var

__all__ = ["generate", "Generated", "LOWER", "CODEGEN_VERSION"]

CODEGEN_VERSION = "9"
# returned arrays smaller than this are allocated by the compiled code, not recycled
SMALL_ARRAY_BYTES = 1 << 16


@dataclass
class Generated:
    """The generated source and how to call it."""

    source: str  # the whole module
    body: str  # the function alone
    module: str  # module name (also the file name)
    fn: str  # function name
    const_arrays: list[np.ndarray]
    returned_slots: list[int]
    # per returned slot: its value is an array the function allocated (shares no memory)
    own_arrays: list[bool]
    n_outputs: int
    deferred_prints: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    immediate_prints: list[dict[str, Any]] = field(default_factory=list)
    # arrays the caller passes in to receive returned values: (shape, dtype) each
    buffers: list[tuple[tuple[int, ...], np.dtype[Any]]] = field(default_factory=list)
    # the last parameter is the seed of the random draws (``tv.random`` inside)
    random_seed: bool = False


def np_dtype(dtype: Any) -> str:
    d = np.dtype(dtype)
    return "np.bool_" if d.kind == "b" else f"np.{d.name}"


def literal(value: Any, dtype: Any) -> str:
    """A scalar constant as typed Python source: ``np.float32(0.5)``, ``np.int32(3)``."""
    d = np.dtype(dtype)
    v = np.asarray(value, dtype=d)[()]
    if d.kind == "b":
        return "True" if v else "False"
    if d.kind == "f":
        f = float(v)
        if f != f:
            text = "np.nan"
        elif f in (float("inf"), float("-inf")):
            text = "np.inf" if f > 0 else "-np.inf"
        else:
            text = repr(f)
        return f"{np_dtype(d)}({text})"
    return f"{np_dtype(d)}({int(v)})"


def _shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(s) for s in shape) + ")"


class Gen:
    """State of one generation: names, constants, the lines written so far."""

    def __init__(self, prog: Program) -> None:
        self.prog = prog
        self.lines: list[str] = []
        self.depth = 1
        self.const_arrays: list[np.ndarray] = []
        self._const_names: dict[int, str] = {}
        self.scalar_consts: dict[str, str] = {}  # literal text -> local name
        self._tmp = 0
        # values the function returns, computed at top level: written into arrays the
        # caller passes in (``b0``, ...) and recycles once nobody uses them any more
        self.returned: set[int] = set()
        self.top_level = True
        self.buffers: list[Var] = []
        # cross-entropy equations whose logits' softmax the same block computes later: one
        # kernel gives both; logits id -> the name of that softmax array once written
        self.paired_xent: set[int] = set()
        self.softmax_of: dict[int, str] = {}
        # values whose array this function allocated and nobody else holds (matmul
        # results, arrays of fused loops): a fused loop may write its result into one
        self.fresh: set[int] = set()
        # functions the generated one calls (module-level source): the loops of streaming
        # sums (see fusion.emit_group)
        self.helpers: list[str] = []

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def tmp(self) -> str:
        self._tmp += 1
        return f"_u{self._tmp}"

    def a(self, atom: Any) -> str:
        """Source text for an atom."""
        if isinstance(atom, Var):
            return atom.name
        if isinstance(atom, Const):
            if np.ndim(atom.value) == 0:
                return self.scalar(atom.value, atom.dtype)
            key = id(atom)
            name = self._const_names.get(key)
            if name is None:
                name = f"c{len(self.const_arrays)}"
                self._const_names[key] = name
                self.const_arrays.append(np.ascontiguousarray(atom.value))
            return name
        if isinstance(atom, Slot):
            return f"v{atom.index}"
        raise TypeError(f"not an atom: {atom!r}")

    def scalar(self, value: Any, dtype: Any) -> str:
        """A scalar constant, bound once at the top of the function (``k3``)."""
        text = literal(value, dtype)
        if np.dtype(dtype).kind == "b":
            return text
        name = self.scalar_consts.get(text)
        if name is None:
            name = self.scalar_consts[text] = f"k{len(self.scalar_consts)}"
        return name

    def buffer_for(self, v: Var) -> str | None:
        """A recycled array for a returned value (``b3``), or None: values inside loops,
        scalars, and small arrays (malloc serves those without page faults, and passing
        and checking a buffer costs more than allocating one)."""
        if not self.top_level or v.id not in self.returned or v.shape == ():
            return None
        if int(np.prod(v.shape, dtype=np.int64)) * v.dtype.itemsize < SMALL_ARRAY_BYTES:
            return None
        self.buffers.append(v)
        return f"b{len(self.buffers) - 1}"

    def const_array(self, value: np.ndarray) -> str:
        """An array the generated code needs (passed as an argument, ``c2``)."""
        name = f"c{len(self.const_arrays)}"
        self.const_arrays.append(np.ascontiguousarray(value))
        return name

    def contiguous(self, atom: Any) -> str:
        return f"np.ascontiguousarray({self.a(atom)})"


Lowering = Callable[[Gen, Eqn], None]
# the ops lowered whole, written by hand (each name is a registry op: a test checks it)
LOWERINGS: dict[str, Lowering] = {}


def lowers(*names: str) -> Callable[[Lowering], Lowering]:
    def deco(fn: Lowering) -> Lowering:
        for n in names:
            LOWERINGS[n] = fn
        return fn

    return deco


def _kernel_lowering(op: Op) -> Lowering:
    """An elementwise op on whole values, from its kernel: ``t7 = t5 / (k0 + np.abs(t5))``."""
    kernel = op.kernel
    assert kernel is not None

    def lower(g: Gen, e: Eqn) -> None:
        call = fusion.kernel_call(g, e, [g.a(v) for v in e.ins])
        _set(g, e, kernel.whole(call), scalar_cast=not kernel.predicate)

    return lower


def _lowering(op: Op) -> Lowering | None:
    hand_written = LOWERINGS.get(op.name)
    if hand_written is not None:
        return hand_written
    return None if op.kernel is None else _kernel_lowering(op)


# op name -> lowering, for every registered op that has one (read-only, derived)
LOWER: OpTable[Lowering] = OpTable(_lowering)
# equations of a program that are not registry ops (random draws), by kind
EQUATIONS: dict[str, Lowering] = {}


def _out(e: Eqn) -> Var:
    return e.outs[0]


def _set(g: Gen, e: Eqn, expr: str, *, scalar_cast: bool = True) -> None:
    """``out = expr``; integer rank-0 results are cast to the output dtype (numba widens
    integer scalars to 64 bits; float32 arithmetic stays float32)."""
    o = _out(e)
    if o.shape == () and scalar_cast and o.dtype.kind in "iub":
        g.emit(f"{o.name} = {np_dtype(o.dtype)}({expr})")
    else:
        g.emit(f"{o.name} = {expr}")


# --- elementwise (most come from their kernels; these need more than the element) -----------
def _integer_division(fn: str, symbol: str) -> Lowering:
    """``floordiv``/``mod``: of integers, a zero divisor raises as the eager op does."""

    def lower(g: Gen, e: Eqn) -> None:
        x, y = e.ins
        if _out(e).dtype.kind in "iu" and not (isinstance(y, Const) and np.all(y.value != 0)):
            test = f"{g.a(y)} == 0" if y.shape == () else f"np.any({g.a(y)} == 0)"
            message = integer_division_by_zero(e.prim, symbol, "a divisor is 0")
            g.emit(f"if {test}:")
            g.emit(f"    raise _InvalidArgument({message!r})")
        _set(g, e, f"{fn}({g.a(x)}, {g.a(y)})")

    return lower


LOWERINGS["floordiv"] = _integer_division("np.floor_divide", "//")
LOWERINGS["mod"] = _integer_division("np.mod", "%")


@lowers("identity")
def _identity(g: Gen, e: Eqn) -> None:
    g.emit(f"{_out(e).name} = {g.a(e.ins[0])}")


@lowers("pow")
def _pow(g: Gen, e: Eqn) -> None:
    x_atom, y_atom = e.ins
    o = _out(e)
    x, y = g.a(x_atom), g.a(y_atom)
    if o.dtype.kind != "f":
        _set(g, e, f"{x} ** {y}")
        return
    if o.shape == ():
        # libm's pow, the function eager numpy calls for scalars: bit for bit equal
        fn = "K.powf" if o.dtype == np.float32 else "K.pow64"
        _set(g, e, f"{fn}({x}, {y})")
        return
    if o.dtype == np.float32:  # Eigen's generic_pow, TensorFlow's (and eager arrays')
        graph = graph_pow(e)
        if graph is not None:  # (as tf.function: TensorFlow's graph rewrite of x ** c)
            _set(g, e, graph.replace("{x}", x).replace("{one}", g.scalar(1, o.dtype)))
            return
        _set(g, e, f"K.pow32_whole({_bcast(g, x_atom, o)}, {_bcast(g, y_atom, o)})")
        return
    if isinstance(y_atom, Const) and np.ndim(y_atom.value) == 0:
        c = float(y_atom.value)
        short = {
            1.0: f"{x} * {g.scalar(1, o.dtype)}",
            2.0: f"{x} * {x}",
            3.0: f"{x} * {x} * {x}",
            0.5: f"np.sqrt({x})",
            -1.0: f"{g.scalar(1, o.dtype)} / {x}",
            -2.0: f"{g.scalar(1, o.dtype)} / ({x} * {x})",
        }.get(c)
        if short is not None and x_atom.shape == o.shape:
            _set(g, e, short)
            return
    _set(g, e, f"np.power({_bcast(g, x_atom, o)}, {_bcast(g, y_atom, o)})")


def graph_pow(e: Eqn) -> str | None:
    """The source of a float32 ``pow`` equation that TensorFlow's graph optimizer rewrites
    (a constant scalar exponent of :data:`tapeviz._eigen_pow.GRAPH_POW_SOURCE`, an output
    of the base's shape); None for the others (Eigen's generic_pow)."""
    x_atom, y_atom = e.ins
    c = _eigen_pow.graph_pow_exponent(
        y_atom.value if isinstance(y_atom, Const) else None, x_atom.shape, _out(e).shape
    )
    return None if c is None else _eigen_pow.GRAPH_POW_SOURCE[c]


def _bcast(g: Gen, atom: Any, o: Var) -> str:
    """``atom`` broadcast to the output's shape (scalars stay scalars)."""
    if atom.shape == o.shape or atom.shape == ():
        return g.a(atom)
    return f"np.broadcast_to({g.a(atom)}, {_shape_text(o.shape)})"


def _full(g: Gen, atom: Any, o: Var) -> str:
    """``atom`` as an array of the output's shape (materialised)."""
    if atom.shape == o.shape:
        return g.a(atom)
    if atom.shape == ():
        return f"np.full({_shape_text(o.shape)}, {g.a(atom)})"
    return f"np.broadcast_to({g.a(atom)}, {_shape_text(o.shape)})"


@lowers("where")
def _where(g: Gen, e: Eqn) -> None:
    c, x, y = e.ins
    o = _out(e)
    if o.shape == ():
        # a call, not `x if c else y`: branches make numba's compile time explode
        _set(g, e, f"K.select({g.a(c)}, {g.a(x)}, {g.a(y)})")
        return
    _set(g, e, f"np.where({_full(g, c, o)}, {_full(g, x, o)}, {_full(g, y, o)})")


@lowers("cast")
def _cast(g: Gen, e: Eqn) -> None:
    o = _out(e)
    x = g.a(e.ins[0])
    if o.dtype.kind == "b":
        _set(g, e, f"{x} != 0", scalar_cast=False)
    elif o.shape == ():
        g.emit(f"{o.name} = {np_dtype(o.dtype)}({x})")
    else:
        _set(g, e, f"{x}.astype({np_dtype(o.dtype)})")


@lowers("zeros_like", "ones_like")
def _fill_like(g: Gen, e: Eqn) -> None:
    o = _out(e)
    v = 0 if e.prim == "zeros_like" else 1
    if o.shape == ():
        g.emit(f"{o.name} = {g.scalar(v, o.dtype)}")
    else:
        fn = "np.zeros" if v == 0 else "np.ones"
        g.emit(f"{o.name} = {fn}({_shape_text(o.shape)}, {np_dtype(o.dtype)})")


# --- shapes ----------------------------------------------------------------------------------
def _reshape_to(g: Gen, atom: Any, shape: tuple[int, ...]) -> str:
    x = g.a(atom)
    if atom.shape == shape:
        return x
    if atom.shape == ():
        return f"np.full({_shape_text(shape)}, {x})"
    if shape == ():
        return f"np.ascontiguousarray({x}).reshape((1,))[0]"
    return f"np.ascontiguousarray({x}).reshape({_shape_text(shape)})"


@lowers("reshape", "squeeze", "expand_dims")
def _reshape(g: Gen, e: Eqn) -> None:
    g.emit(f"{_out(e).name} = {_reshape_to(g, e.ins[0], _out(e).shape)}")


@lowers("transpose")
def _transpose(g: Gen, e: Eqn) -> None:
    perm = tuple(e.attrs["perm"])
    x = e.ins[0]
    if x.shape == () or perm == tuple(range(len(perm))):
        g.emit(f"{_out(e).name} = {g.a(x)}")
    else:
        g.emit(f"{_out(e).name} = np.transpose({g.a(x)}, {_shape_text(perm)})")


@lowers("broadcast_to")
def _broadcast_to(g: Gen, e: Eqn) -> None:
    g.emit(f"{_out(e).name} = {_full(g, e.ins[0], _out(e))}")


def _index_text(key: Any) -> str:
    parts = []
    for item in key:
        if item == "all":
            parts.append(":")
        elif item == "new":
            parts.append("None")
        elif item == "...":
            parts.append("...")
        elif isinstance(item, list | tuple):
            _, a, b, c = item
            parts.append(
                f"{'' if a is None else a}:{'' if b is None else b}{'' if c is None else f':{c}'}"
            )
        else:
            parts.append(str(int(item)))
    if not parts:
        return "..."
    return ", ".join(parts) + ("," if len(parts) == 1 else "")


def _key_without_new(key: Any) -> tuple[Any, bool]:
    stripped = [k for k in key if k != "new"]
    return stripped, len(stripped) != len(key)


def _sliced_shape(shape: tuple[int, ...], key: Any) -> tuple[int, ...]:
    """The shape of ``x[key]`` for an ``x`` of ``shape`` (computed on a stride-0 dummy)."""
    from ..ops.shape import _np_key

    return tuple(np.broadcast_to(np.zeros((), np.int8), shape)[_np_key(key)].shape)


@lowers("strided_slice")
def _strided_slice(g: Gen, e: Eqn) -> None:
    # numba indexes without `None`: slice without it, then reshape to insert the axes
    o = _out(e)
    x = e.ins[0]
    key, had_new = _key_without_new(e.attrs["key"])
    text = f"{g.a(x)}[{_index_text(key)}]"
    if not had_new:
        g.emit(f"{o.name} = {text}")
        return
    inner = _sliced_shape(x.shape, key)
    t = g.tmp()
    g.emit(f"{t} = {text}")
    if inner == ():
        g.emit(f"{o.name} = np.full({_shape_text(o.shape)}, {t})")
    else:
        g.emit(f"{o.name} = np.ascontiguousarray({t}).reshape({_shape_text(o.shape)})")


@lowers("strided_slice_grad")
def _strided_slice_grad(g: Gen, e: Eqn) -> None:
    o = _out(e)
    src = e.ins[0]
    key, had_new = _key_without_new(e.attrs["key"])
    g.emit(f"{o.name} = np.zeros({_shape_text(o.shape)}, {np_dtype(o.dtype)})")
    value = _reshape_to(g, src, _sliced_shape(o.shape, key)) if had_new else g.a(src)
    g.emit(f"{o.name}[{_index_text(key)}] = {value}")


@lowers("concat")
def _concat(g: Gen, e: Eqn) -> None:
    o = _out(e)
    axis = int(e.attrs["axis"])
    g.emit(f"{o.name} = np.empty({_shape_text(o.shape)}, {np_dtype(o.dtype)})")
    start = 0
    for x in e.ins:
        n = x.shape[axis]
        idx = [":"] * axis + [f"{start}:{start + n}"]
        g.emit(f"{o.name}[{', '.join(idx)}] = {g.a(x)}")
        start += n


@lowers("stack")
def _stack(g: Gen, e: Eqn) -> None:
    o = _out(e)
    axis = int(e.attrs["axis"])
    g.emit(f"{o.name} = np.empty({_shape_text(o.shape)}, {np_dtype(o.dtype)})")
    for i, x in enumerate(e.ins):
        idx = [":"] * axis + [str(i)]
        g.emit(f"{o.name}[{', '.join(idx)}{',' if len(idx) == 1 else ''}] = {g.a(x)}")


@lowers("one_hot")
def _one_hot(g: Gen, e: Eqn) -> None:
    o = _out(e)
    i = e.ins[0]
    flat = f"np.array([{g.a(i)}])" if i.shape == () else f"{g.contiguous(i)}.reshape(-1)"
    depth = int(e.attrs["depth"])
    g.emit(
        f"{o.name} = K.one_hot({flat}, {depth}, {np_dtype(o.dtype)})"
        f".reshape({_shape_text(o.shape)})"
    )


# --- reductions ------------------------------------------------------------------------------
def _canonical(g: Gen, atom: Any, axes: tuple[int, ...] | None) -> tuple[str, tuple[int, ...]]:
    """Source for a ``(P, R, Q)`` view of ``atom`` with the ``axes`` reduced as ``R``.

    Returns the text and the (P, Q) shape the kernel returns."""
    shape = atom.shape
    nd = len(shape)
    ax = tuple(range(nd)) if axes is None else tuple(sorted(axes))
    x = g.a(atom)
    if ax and ax == tuple(range(ax[0], ax[-1] + 1)):
        p = int(np.prod(shape[: ax[0]], dtype=np.int64))
        r = int(np.prod(shape[ax[0] : ax[-1] + 1], dtype=np.int64))
        q = int(np.prod(shape[ax[-1] + 1 :], dtype=np.int64))
        return f"np.ascontiguousarray({x}).reshape({_shape_text((p, r, q))})", (p, q)
    kept = tuple(i for i in range(nd) if i not in ax)
    perm = kept + ax
    p = int(np.prod([shape[i] for i in kept], dtype=np.int64))
    r = int(np.prod([shape[i] for i in ax], dtype=np.int64))
    text = f"np.ascontiguousarray(np.transpose({x}, {_shape_text(perm)})).reshape(({p}, {r}, 1))"
    return text, (p, 1)


def _reduction(kernel: str) -> Lowering:
    def lower(g: Gen, e: Eqn) -> None:
        o = _out(e)
        x = e.ins[0]
        axes = e.attrs.get("axis")
        if isinstance(axes, int):
            axes = (axes % max(len(x.shape), 1),)
        if x.shape == ():
            if e.prim in ("argmax", "argmin"):
                g.emit(f"{o.name} = np.int64(0)")
            else:
                _set(g, e, g.a(x))
            return
        text, _ = _canonical(g, x, axes)
        res = f"K.{kernel}({text})"
        if o.shape == ():
            g.emit(f"{o.name} = {res}[0, 0]")
        else:
            g.emit(f"{o.name} = {res}.reshape({_shape_text(o.shape)})")

    return lower


for _name, _kernel in {
    "reduce_sum": "sum_axis",
    "reduce_mean": "mean_axis",
    "reduce_prod": "prod_axis",
    "reduce_max": "max_axis",
    "reduce_min": "min_axis",
    "reduce_any": "any_axis",
    "reduce_all": "all_axis",
    "argmax": "argmax_axis",
    "argmin": "argmin_axis",
}.items():
    LOWERINGS[_name] = _reduction(_kernel)


# --- nn ----------------------------------------------------------------------------------------
def _rows(g: Gen, atom: Any) -> str:
    shape = atom.shape
    k = shape[-1]
    n = int(np.prod(shape[:-1], dtype=np.int64))
    return f"{g.contiguous(atom)}.reshape(({n}, {k}))"


@lowers("softmax", "log_softmax")
def _softmax(g: Gen, e: Eqn) -> None:
    o = _out(e)
    x = e.ins[0]
    if e.prim == "softmax" and isinstance(x, Var) and x.id in g.softmax_of:
        g.emit(f"{o.name} = {g.softmax_of[x.id]}.reshape({_shape_text(o.shape)})")
        return
    kernel = "softmax_rows" if e.prim == "softmax" else "log_softmax_rows"
    g.emit(f"{o.name} = K.{kernel}({_rows(g, x)}).reshape({_shape_text(o.shape)})")


def _xent_rows(g: Gen, e: Eqn, kernel: str, labels: str) -> None:
    """Emit a cross-entropy kernel over rows; paired with a later softmax of the same
    logits (the gradient's), the kernel that returns both."""
    o, logits = _out(e), e.ins[1]
    args = f"{labels}, {_rows(g, logits)}"
    res = f"K.{kernel}_rows({args})"
    if id(e) in g.paired_xent:
        rows, sm = g.tmp(), g.tmp()
        g.emit(f"{rows}, {sm} = K.{kernel}_softmax_rows({args})")
        g.softmax_of[logits.id] = sm
        res = rows
    g.emit(
        f"{o.name} = {res}[0]"
        if o.shape == ()
        else f"{o.name} = {res}.reshape({_shape_text(o.shape)})"
    )


def _pair_xent_with_softmax(g: Gen, block: list[Eqn]) -> None:
    """Mark the cross-entropy equations of ``block`` followed in it by a softmax of the
    same logits (see :attr:`Gen.paired_xent`)."""
    xents: dict[int, Eqn] = {}
    for e in block:
        if e.prim in _XENT and isinstance(e.ins[1], Var):
            xents.setdefault(e.ins[1].id, e)
        elif e.prim == "softmax" and isinstance(e.ins[0], Var) and e.ins[0].id in xents:
            g.paired_xent.add(id(xents[e.ins[0].id]))


_XENT = ("softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits")


@lowers("softmax_cross_entropy_with_logits")
def _xent(g: Gen, e: Eqn) -> None:
    _xent_rows(g, e, "xent", _rows(g, e.ins[0]))


@lowers("sparse_softmax_cross_entropy_with_logits")
def _sparse_xent(g: Gen, e: Eqn) -> None:
    labels = e.ins[0]
    lab = (
        f"np.array([{g.a(labels)}])"
        if labels.shape == ()
        else f"{g.contiguous(labels)}.reshape(-1)"
    )
    _xent_rows(g, e, "sparse_xent", lab)


@lowers("matmul")
def _matmul(g: Gen, e: Eqn) -> None:
    o = _out(e)
    a, b = e.ins
    ta, tb = bool(e.attrs["transpose_a"]), bool(e.attrs["transpose_b"])
    # the eager op's choice: a fixed order (the same bits on every CPU) or numpy's BLAS call
    m, k = (a.shape[-1], a.shape[-2]) if ta else (a.shape[-2], a.shape[-1])
    order = fixed_order(o.dtype, m, k, b.shape[-2] if tb else b.shape[-1])
    if order is not None:
        kernel = f"K.{order}_matmul"
    else:
        kernel = {np.dtype(np.float32): "K.matmul_f32", np.dtype(np.float64): "K.matmul_f64"}.get(
            o.dtype, "K.matmul_loops"
        )
    g.fresh.add(o.id)  # a new array either way
    if len(a.shape) == 2 and len(b.shape) == 2:
        g.emit(f"{o.name} = {kernel}({g.a(a)}, {g.a(b)}, {ta}, {tb})")
        return
    batch = o.shape[:-2]
    nb = int(np.prod(batch, dtype=np.int64))
    aa = f"np.ascontiguousarray(np.broadcast_to({g.a(a)}, {_shape_text(batch + a.shape[-2:])}))"
    bb = f"np.ascontiguousarray(np.broadcast_to({g.a(b)}, {_shape_text(batch + b.shape[-2:])}))"
    ta_, tb_ = g.tmp(), g.tmp()
    g.emit(f"{ta_} = {aa}.reshape({_shape_text((nb, *a.shape[-2:]))})")
    g.emit(f"{tb_} = {bb}.reshape({_shape_text((nb, *b.shape[-2:]))})")
    g.emit(f"{o.name} = np.empty({_shape_text((nb, *o.shape[-2:]))}, {np_dtype(o.dtype)})")
    i = g.tmp()
    g.emit(f"for {i} in range({nb}):")
    g.emit(f"    {o.name}[{i}] = {kernel}({ta_}[{i}], {tb_}[{i}], {ta}, {tb})")
    g.emit(f"{o.name} = {o.name}.reshape({_shape_text(o.shape)})")


@lowers("matrix_solve")
def _matrix_solve(g: Gen, e: Eqn) -> None:
    o = _out(e)
    a, b = e.ins
    m, k = a.shape[-1], b.shape[-1]
    nb = int(np.prod(a.shape[:-2], dtype=np.int64))
    g.fresh.add(o.id)
    aa = f"np.ascontiguousarray({g.a(a)}).reshape({_shape_text((nb, m, m))})"
    bb = f"np.ascontiguousarray({g.a(b)}).reshape({_shape_text((nb, m, k))})"
    adj = bool(e.attrs["adjoint"])
    g.emit(f"{o.name} = K.solve({aa}, {bb}, {adj}).reshape({_shape_text(o.shape)})")


# --- random draws (the seed parameter ``rs`` seeds numba's generator at the top) -----------
def _random(g: Gen, e: Eqn) -> None:
    o = _out(e)
    a = e.attrs
    dist, shape, dt = a["dist"], tuple(a["shape"]), np_dtype(o.dtype)
    size = "" if shape == () else _shape_text(shape)
    if dist == "normal":
        draw = f"np.random.standard_normal({size})"
    elif dist == "uniform":
        draw = f"np.random.random({size})"
    elif dist == "randint":
        draw = f"np.random.randint({int(a['lo'])}, {int(a['hi'])}{', ' + size if size else ''})"
    elif dist == "truncated_normal":
        n = int(np.prod(shape, dtype=np.int64))
        draw = f"K.truncated_normal({max(n, 1)})" + (
            "[0]" if shape == () else f".reshape({_shape_text(shape)})"
        )
    else:
        raise NotImplementedError(f"tv.function: no random distribution {dist!r}")
    g.emit(f"{o.name} = {dt}({draw})" if shape == () else f"{o.name} = {draw}.astype({dt})")


EQUATIONS["random"] = _random


# --- the program -----------------------------------------------------------------------------
def _escaping(prog: Program) -> dict[int, Var]:
    """Values defined inside a loop body and used after the loop (Python keeps the last
    iteration's value; they get a zero before the loop for numba's sake)."""
    depth_of: dict[int, tuple[int, ...]] = {}
    esc: dict[int, Var] = {}
    # explicit stack: (block, path of loop ids)
    stack: list[tuple[list[Eqn], tuple[int, ...]]] = [(prog.eqns, ())]
    uses: list[tuple[Var, tuple[int, ...]]] = []
    while stack:
        block, path = stack.pop()
        for e in block:
            for a in e.ins:
                if isinstance(a, Var):
                    uses.append((a, path))
            for o in e.outs:
                inner = (*path, id(e)) if e.prim in BLOCK_PRIMS else path
                depth_of[o.id] = inner
            if e.body is not None:
                stack.append((e.body, (*path, id(e))))
    for a in prog.outputs:
        if isinstance(a, Var):
            uses.append((a, ()))
    for v, path in uses:
        d = depth_of.get(v.id, ())
        if path[: len(d)] != d:
            esc[v.id] = v
    return esc


def _returned_at_top_level(prog: Program) -> set[int]:
    """Values the function returns that are computed outside loops: the outputs and the
    last value assigned to each Variable at top level (if no loop assigns it later)."""
    ids = {a.id for a in prog.outputs if isinstance(a, Var)}
    last: dict[int, Any] = {}
    for e in prog.eqns:
        if e.prim == "assign":
            last[e.ins[0].index] = e.ins[1]
        elif e.prim in BLOCK_PRIMS:
            for inner in _walk_block(e.body or []):
                if inner.prim == "assign":
                    last[inner.ins[0].index] = None
    ids |= {a.id for a in last.values() if isinstance(a, Var)}
    return ids


def _consumers(prog: Program) -> dict[int, list[Eqn | None]]:
    """For each value, the equations that use it (None: a program output)."""
    uses: dict[int, list[Eqn | None]] = {}
    for e in _walk_block(prog.eqns):
        for a in e.ins:
            if isinstance(a, Var):
                uses.setdefault(a.id, []).append(e)
    for a in prog.outputs:
        if isinstance(a, Var):
            uses.setdefault(a.id, []).append(None)
    return uses


def _zero(v: Var) -> str:
    if v.shape == ():
        return f"{np_dtype(v.dtype)}(0)"
    return f"np.zeros({_shape_text(v.shape)}, {np_dtype(v.dtype)})"


# the last program generated, its name and its code: a new trace's first call generates it
# twice with tiered execution (to look for its machine code, then to load it)
_last: tuple[Program, str, Generated] | None = None


def generate(prog: Program, name: str) -> Generated:
    """The Python source of ``prog`` as one function for ``numba.njit``."""
    global _last
    last = _last
    if last is not None and last[0] is prog and last[1] == name:
        return last[2]
    gen = _generate(prog, name)
    _last = (prog, name, gen)
    return gen


def _generate(prog: Program, name: str) -> Generated:
    g = Gen(prog)
    fn = "tv_" + "".join(c if c.isalnum() else "_" for c in name)
    prints_in_loops = any(
        e.prim == "print" for loop in _loops(prog.eqns) for e in _walk_block(loop.body or [])
    )
    deferred: list[tuple[dict[str, Any], int]] = []
    deferred_names: list[str] = []
    immediate: list[dict[str, Any]] = []
    for v in _escaping(prog).values():
        g.emit(f"{v.name} = {_zero(v)}")

    consumers = _consumers(prog)
    g.returned = _returned_at_top_level(prog)
    for block in [prog.eqns, *(loop.body or [] for loop in _loops(prog.eqns))]:
        _pair_xent_with_softmax(g, block)

    # iterative walk with explicit (plan, index) frames, so nesting needs no recursion
    # frames: the block's plan, the position in it, the values the block defines
    stack: list[list[Any]] = [[fusion.plan(prog.eqns), 0, _defined(prog.eqns)]]
    # slot -> its final value is an array this function allocated (assigned at top level,
    # never inside a loop): the caller stores it without looking for shared memory
    own: dict[int, bool] = {}
    while stack:
        frame = stack[-1]
        items, pos, _ = frame
        if pos >= len(items):
            stack.pop()
            if stack:
                g.depth -= 1
            continue
        frame[1] = pos + 1
        kind, item = items[pos]
        if kind == "group":
            members = {id(m) for m in item.members}
            stored = {
                m.outs[0].id
                for m in item.members
                if any(c is None or id(c) not in members for c in consumers.get(m.outs[0].id, ()))
            }
            g.top_level = len(stack) == 1
            reusable = {
                a.id
                for m in item.members
                for a in m.ins
                if isinstance(a, Var)
                and a.id in g.fresh
                and a.id in frame[2]
                and all(c is not None and id(c) in members for c in consumers.get(a.id, ()))
            }
            fusion.emit_group(g, item, stored, reusable)
            continue
        e: Eqn = item
        p = e.prim
        if p == "read":
            g.emit(f"{e.outs[0].name} = v{e.ins[0].index}")
        elif p == "assign":
            g.emit(f"v{e.ins[0].index} = {g.a(e.ins[1])}")
            value = e.ins[1]
            own[e.ins[0].index] = (
                len(stack) == 1
                and isinstance(value, Var)
                and value.id in g.fresh
                and value.shape != ()
            ) and own.get(e.ins[0].index, True)
        elif p in BLOCK_PRIMS:
            if p == "loop":
                _loop_head(g, e)
            elif p == "while":
                g.emit("while True:")
            else:
                g.emit(f"if {'not ' if e.attrs.get('negate') else ''}{g.a(e.ins[0])}:")
            g.depth += 1
            if p != "loop":
                g.emit("pass")  # (a branch whose equations were all removed as dead)
            stack.append([fusion.plan(e.body or []), 0, _defined(e.body or [])])
        elif p == "exit_unless":
            g.emit(f"if not {g.a(e.ins[0])}:")
            g.emit("    break")
        elif p == "print":
            names = [g.a(x) for x in e.ins]
            if prints_in_loops:
                k = len(immediate)
                immediate.append({**e.attrs, "dtypes": [x.dtype for x in e.ins]})
                g.emit("with numba.objmode():")
                g.emit(f"    _print({k}, ({', '.join(names)}{',' if len(names) == 1 else ''}))")
            else:
                deferred.append(({**e.attrs, "dtypes": [x.dtype for x in e.ins]}, len(names)))
                deferred_names.extend(names)
        else:
            lower = LOWER.get(p) or EQUATIONS.get(p)
            if lower is None:
                raise NotImplementedError(
                    f"tv.function: no code generation for op {p!r}: its Op entry has no "
                    "kernel (tapeviz.ops.Kernel, for an elementwise op) and the compiler no "
                    "lowering for it; call the function without tv.function, or give the "
                    "op a kernel (see CONTRIBUTING.md, 'Adding an op')"
                )
            lower(g, e)

    slots = [s for s in prog.slots]
    assigned = sorted({e.ins[0].index for e in _walk_block(prog.eqns) if e.prim == "assign"})
    rets = [g.a(a) for a in prog.outputs] + [f"v{i}" for i in assigned] + deferred_names
    if not rets:
        rets = ["0"]
    g.emit(f"return ({', '.join(rets)}{',' if len(rets) == 1 else ''})")

    params = [v.name for v in prog.inputs] + [f"v{s.index}" for s in slots]
    params += [f"c{i}" for i in range(len(g.const_arrays))]
    params += [f"b{i}" for i in range(len(g.buffers))]
    consts = [f"    {name} = {text}" for text, name in g.scalar_consts.items()]
    random_seed = any(e.prim == "random" for e in _walk_block(prog.eqns))
    if random_seed:
        params.append("rs")
        consts.insert(0, "    np.random.seed(rs)")
    body = f"def {fn}({', '.join(params)}):\n" + "\n".join(consts + g.lines)
    helpers = "".join(f"\n\n@_njit\n{h}\n" for h in g.helpers)
    source = (
        _HEADER.format(name=name, version=CODEGEN_VERSION) + helpers + "\n\n@_njit\n" + body + "\n"
    )
    # the file name: a hash of the whole text (two traces with one body but different names
    # must not share a file) and of the kernels it calls
    digest = hashlib.sha256((_kernels_digest() + source).encode()).hexdigest()[:16]
    module = f"{fn}_{digest}"
    return Generated(
        source=source,
        body=body,
        module=module,
        fn=fn,
        const_arrays=g.const_arrays,
        returned_slots=assigned,
        own_arrays=[own.get(i, False) for i in assigned],
        n_outputs=len(prog.outputs),
        deferred_prints=deferred,
        immediate_prints=immediate,
        buffers=[(v.shape, v.dtype) for v in g.buffers],
        random_seed=random_seed,
    )


def _defined(block: list[Eqn]) -> set[int]:
    """The values a block defines itself (not those of its loop bodies)."""
    return {o.id for e in block for o in e.outs if e.prim not in BLOCK_PRIMS}


def _loop_head(g: Gen, e: Eqn) -> None:
    start, limit, delta = (g.a(a) for a in e.ins)
    idx = e.outs[0]
    if idx.dtype.kind in "iu":
        i = g.tmp()
        g.emit(f"for {i} in range({start}, {limit}, {delta}):")
        g.emit(f"    {idx.name} = {np_dtype(idx.dtype)}({i})")
        return
    # float ranges: step the index as TensorFlow's while loop does
    i = g.tmp()
    g.emit(f"{i} = {start}")
    g.emit(f"while ({i} < {limit}) if {delta} > 0 else ({i} > {limit}):")
    g.emit(f"    {idx.name} = {i}")
    g.emit(f"    {i} = {np_dtype(idx.dtype)}({i} + {delta})")


def _walk_block(eqns: list[Eqn]) -> list[Eqn]:
    from .ir import walk

    return list(walk(eqns))


def _loops(eqns: list[Eqn]) -> list[Eqn]:
    """Equations with a body (loops, and the branches and loops of control flow)."""
    return [e for e in _walk_block(eqns) if e.prim in BLOCK_PRIMS]


_HEADER = '''"""Generated by tapeviz.function (code generator version {version}) from the trace of
`{name}`. Do not edit: the file name is a hash of this text, and numba caches the machine
code beside it (__pycache__)."""

import numba
import numpy as np

from tapeviz.compiler.numba_cache import njit as _njit
from tapeviz.errors import InvalidArgumentError as _InvalidArgument
from tapeviz.compiler.runtime import print_values as _print_values

# tapeviz.compiler.kernels, imported by _njit when numba compiles this module: loading its
# machine code from the cache needs none of it
K = None
PRINTS: list = []


def _print(k, values):
    _print_values(PRINTS[k], values)
'''


def _kernels_digest() -> str:
    """A hash of the kernels' sources (and of the modules they call): cached code is
    regenerated when they change."""
    from .._diskcache import code_digest

    return code_digest()
