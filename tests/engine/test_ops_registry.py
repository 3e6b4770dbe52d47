"""Every op of the registry, checked automatically (STYLE rule 11).

For each op that has a VJP rule, :data:`CASES` says how to draw valid inputs (its domain:
positive for ``log``/``sqrt``, away from kinks for ``abs``/``relu``, no ties for
``maximum``/``reduce_max`` ...), how to call it and an independent numpy reference.  Three
hypothesis tests then run over the whole registry:

* forward: float64 result equals the numpy reference; float32 in gives float32 out;
* first order: the VJP ``uᵀ·J`` (``tape.gradient`` with ``output_gradients=u``) equals central
  differences of ``x ↦ Σ u·f(x)`` in float64, entry by entry; broadcasting shapes for the
  binary elementwise ops come from ``mutually_broadcastable_shapes``;
* second order: nested tapes give the Hessian-vector product ``∂/∂x Σ vᵢ·gᵢ(x)`` of the VJP
  ``g``; its projection on a random direction ``w`` equals the central difference of the
  (first-order) gradient along ``w``; and the first-order gradient computed under an outer
  tape (the tensor backend) equals the raw numpy fast path.

:func:`test_every_registered_op_has_a_case` fails when an op is registered without an entry.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tapeviz as tv
from tapeviz.ops import REGISTRY
from tapeviz.ops._registry import apply
from tapeviz.ops.shape import _normalize_key


def _import_all_tapeviz_modules() -> None:
    """Ops may be registered by any module (keras, function...): import them all first.

    A module that fails to import is left to its own tests.
    """
    for mod in pkgutil.walk_packages(tv.__path__, "tapeviz.", onerror=lambda name: None):
        with contextlib.suppress(Exception):  # a broken module fails its own tests
            importlib.import_module(mod.name)


_import_all_tapeviz_modules()

DIFF_OPS = sorted(name for name, op in REGISTRY.items() if op.vjp is not None)
NONDIFF_OPS = sorted(name for name, op in REGISTRY.items() if op.vjp is None)


# --- input domains ---------------------------------------------------------------------------
def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


REAL = _floats(-2.0, 2.0)
POSITIVE = _floats(0.25, 3.0)  # log, sqrt, pow base, reciprocal
NONZERO = st.one_of(_floats(0.25, 2.0), _floats(-2.0, -0.25))  # away from the kink at 0
EVEN_TENTHS = st.integers(-9, 9).map(lambda k: k * 0.2)  # ..., -0.2, 0, 0.2, ...
ODD_TENTHS = st.integers(-10, 9).map(lambda k: k * 0.2 + 0.1)  # never equal to an even one
FLOAT32_GRID = st.integers(-512, 512).map(lambda k: k / 256)  # exact in float32, ± 2**-12 too

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
NONSCALAR = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
PAIRS = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
TRIPLES = hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3)


def _array(data: st.DataObject, shape: tuple[int, ...], elements: Any, label: str) -> np.ndarray:
    return data.draw(hnp.arrays(np.float64, shape, elements=elements), label=label)


def _unique(data: st.DataObject, shape: tuple[int, ...], label: str) -> np.ndarray:
    """Distinct values at least 0.1 apart: no ties for max/min, no kinks within eps."""
    elements = st.integers(-60, 60).map(lambda k: k / 10)
    return data.draw(hnp.arrays(np.float64, shape, elements=elements, unique=True), label=label)


def _to(shape: tuple[int, ...]) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes that broadcast *to* ``shape`` (as clip bounds or broadcast_to inputs must)."""
    return hnp.broadcastable_shapes(shape, min_dims=0, max_dims=len(shape), max_side=3).filter(
        lambda s: np.broadcast_shapes(s, shape) == tuple(shape)
    )


# --- the table -------------------------------------------------------------------------------
@dataclass
class Drawn:
    """One drawn example: input arrays, the tapeviz call, the numpy reference."""

    arrays: list[np.ndarray]
    fn: Callable[..., Any]  # tapeviz tensors -> tensor
    ref: Callable[..., np.ndarray]  # numpy arrays -> array
    diff: tuple[int, ...]  # inputs that are differentiated
    eps: float = 1e-6  # central-difference step
    check_float32: bool = True  # float32 inputs give a float32 output


Case = Callable[[st.DataObject], Drawn]


def unary(
    elements: Any, fn: Callable[..., Any], ref: Callable[..., Any], shapes: Any = SHAPES
) -> Case:
    def draw(data: st.DataObject) -> Drawn:
        shape = data.draw(shapes, label="shape")
        return Drawn([_array(data, shape, elements, "x")], fn, ref, (0,))

    return draw


def binary(xs: Any, ys: Any, fn: Callable[..., Any], ref: Callable[..., Any]) -> Case:
    """Inputs x and y of mutually broadcastable shapes (e.g. (3, 1) and (2, 1, 3))."""

    def draw(data: st.DataObject) -> Drawn:
        sx, sy = data.draw(PAIRS, label="shapes").input_shapes
        x = _array(data, sx, xs, "x")
        y = _array(data, sy, ys, "y")
        return Drawn([x, y], fn, ref, (0, 1))

    return draw


def _axis(data: st.DataObject, ndim: int) -> Any:
    if ndim == 0:
        return None
    single = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
    return data.draw(st.one_of(st.none(), single, several), label="axis")


def _np_axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def reduction(
    tv_fn: Callable[..., Any], np_fn: Callable[..., Any], values: str, shapes: Any = SHAPES
) -> Case:
    def draw(data: st.DataObject) -> Drawn:
        shape = data.draw(shapes, label="shape")
        if values == "unique":
            x = _unique(data, shape, "x")
        else:
            x = _array(data, shape, NONZERO if values == "nonzero" else REAL, "x")
        axis = _axis(data, len(shape))
        keep = data.draw(st.booleans(), label="keepdims")
        return Drawn(
            [x],
            lambda t: tv_fn(t, axis=axis, keepdims=keep),
            lambda a: np.asarray(np_fn(a, axis=_np_axis(axis), keepdims=keep)),
            (0,),
        )

    return draw


def _where(data: st.DataObject) -> Drawn:
    sc, sx, sy = data.draw(TRIPLES, label="shapes").input_shapes
    c = data.draw(hnp.arrays(np.bool_, sc), label="condition")
    x = _array(data, sx, REAL, "x")
    y = _array(data, sy, REAL, "y")
    return Drawn([c, x, y], tv.where, np.where, (1, 2))


def _clip(data: st.DataObject) -> Drawn:
    shape = data.draw(SHAPES, label="shape")
    x = _array(data, shape, ODD_TENTHS, "x")  # never exactly on a bound
    lo = _array(data, data.draw(_to(shape), label="lo shape"), st.sampled_from([-1.2, -0.4]), "lo")
    hi = _array(data, data.draw(_to(shape), label="hi shape"), st.sampled_from([0.4, 1.2]), "hi")
    return Drawn(
        [x, lo, hi], tv.clip_by_value, lambda a, b, c: np.minimum(np.maximum(a, b), c), (0, 1, 2)
    )


def _cast(data: st.DataObject) -> Drawn:
    # float64 -> float32 -> float64: on the float32 grid both casts are exact, so central
    # differences with a step of 2**-12 are exact too (the derivative is 1).
    shape = data.draw(SHAPES, label="shape")
    x = _array(data, shape, FLOAT32_GRID, "x")
    return Drawn(
        [x],
        lambda t: tv.cast(tv.cast(t, tv.float32), tv.float64),
        lambda a: a.astype(np.float32).astype(np.float64),
        (0,),
        eps=2.0**-12,
        check_float32=False,
    )


def _matmul(data: st.DataObject) -> Drawn:
    ta = data.draw(st.booleans(), label="transpose_a")
    tb = data.draw(st.booleans(), label="transpose_b")
    n, k, m = (data.draw(st.integers(1, 3), label=label) for label in "nkm")
    batch = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=2)
    ba, bb = data.draw(batch, label="batch shapes").input_shapes
    a = _array(data, ba + ((k, n) if ta else (n, k)), REAL, "a")
    b = _array(data, bb + ((m, k) if tb else (k, m)), REAL, "b")

    def ref(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.matmul(np.swapaxes(x, -1, -2) if ta else x, np.swapaxes(y, -1, -2) if tb else y)

    return Drawn([a, b], lambda x, y: tv.matmul(x, y, transpose_a=ta, transpose_b=tb), ref, (0, 1))


def _np_log_softmax(x: np.ndarray) -> np.ndarray:
    return x - np.log(np.sum(np.exp(x), axis=-1, keepdims=True))


def _np_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x)
    return e / np.sum(e, axis=-1, keepdims=True)


def _xent(data: st.DataObject) -> Drawn:
    shape = data.draw(NONSCALAR, label="shape")
    # rows are probability distributions: TensorFlow's gradient for the logits is
    # softmax(logits) - labels, the derivative of the loss only where labels sum to 1
    raw = _array(data, shape, _floats(0.1, 1.0), "labels")
    labels = raw / np.sum(raw, axis=-1, keepdims=True)
    logits = _array(data, shape, REAL, "logits")
    return Drawn(
        [labels, logits],
        lambda y, z: tv.nn.softmax_cross_entropy_with_logits(labels=y, logits=z),
        lambda y, z: -np.sum(y * _np_log_softmax(z), axis=-1),
        (0, 1),
    )


def _sparse_xent(data: st.DataObject) -> Drawn:
    shape = data.draw(NONSCALAR, label="shape")
    logits = _array(data, shape, REAL, "logits")
    labels = data.draw(
        hnp.arrays(np.int32, shape[:-1], elements=st.integers(0, shape[-1] - 1)), label="labels"
    )

    def ref(y: np.ndarray, z: np.ndarray) -> np.ndarray:
        picked = np.take_along_axis(_np_log_softmax(z), y[..., None].astype(np.intp), axis=-1)
        return -picked[..., 0]

    return Drawn(
        [labels, logits],
        lambda y, z: tv.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=z),
        ref,
        (1,),
    )


def _reshape(data: st.DataObject) -> Drawn:
    shape = data.draw(SHAPES, label="shape")
    size = int(np.prod(shape))
    target = data.draw(
        st.sampled_from([(size,), tuple(reversed(shape)), (1, *shape), (-1, 1), (1, -1)]),
        label="new shape",
    )
    x = _array(data, shape, REAL, "x")
    return Drawn([x], lambda t: tv.reshape(t, target), lambda a: np.reshape(a, target), (0,))


def _transpose(data: st.DataObject) -> Drawn:
    shape = data.draw(SHAPES, label="shape")
    perm = data.draw(st.one_of(st.none(), st.permutations(list(range(len(shape))))), label="perm")
    x = _array(data, shape, REAL, "x")
    return Drawn([x], lambda t: tv.transpose(t, perm), lambda a: np.transpose(a, perm), (0,))


def _broadcast_to(data: st.DataObject) -> Drawn:
    target = data.draw(SHAPES, label="target")
    x = _array(data, data.draw(_to(target), label="shape"), REAL, "x")
    return Drawn(
        [x], lambda t: tv.broadcast_to(t, target), lambda a: np.broadcast_to(a, target), (0,)
    )


def _squeeze(data: st.DataObject) -> Drawn:
    shape = data.draw(
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=2), label="shape"
    )
    ones = [i for i, d in enumerate(shape) if d == 1]
    axis = None
    if ones and data.draw(st.booleans(), label="explicit axis"):
        picked = data.draw(st.lists(st.sampled_from(ones), min_size=1, unique=True), label="axis")
        axis = [a - len(shape) if data.draw(st.booleans(), label="negative") else a for a in picked]
    x = _array(data, shape, REAL, "x")
    np_axis = None if axis is None else tuple(a % len(shape) for a in axis)
    return Drawn([x], lambda t: tv.squeeze(t, axis), lambda a: np.squeeze(a, axis=np_axis), (0,))


def _expand_dims(data: st.DataObject) -> Drawn:
    shape = data.draw(SHAPES, label="shape")
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    x = _array(data, shape, REAL, "x")
    return Drawn([x], lambda t: tv.expand_dims(t, axis), lambda a: np.expand_dims(a, axis), (0,))


def _concat(data: st.DataObject) -> Drawn:
    shape = data.draw(NONSCALAR, label="shape")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    n = data.draw(st.integers(1, 3), label="how many")
    xs = []
    for i in range(n):
        s = list(shape)
        s[axis] = data.draw(st.integers(1, 3), label=f"size {i}")
        xs.append(_array(data, tuple(s), REAL, f"x{i}"))
    return Drawn(
        xs,
        lambda *ts: tv.concat(list(ts), axis=axis),
        lambda *a: np.concatenate(a, axis=axis),
        tuple(range(n)),
    )


def _stack(data: st.DataObject) -> Drawn:
    shape = data.draw(SHAPES, label="shape")
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    n = data.draw(st.integers(1, 3), label="how many")
    xs = [_array(data, shape, REAL, f"x{i}") for i in range(n)]
    return Drawn(
        xs,
        lambda *ts: tv.stack(list(ts), axis=axis),
        lambda *a: np.stack(a, axis=axis),
        tuple(range(n)),
    )


def _slice_key(data: st.DataObject, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """An index: per axis an int, a slice with a step (possibly negative) or ':'; newaxis/...."""
    items: list[Any] = []
    for n in shape:
        kind = data.draw(st.sampled_from(["int", "slice", "all"]), label="index kind")
        if kind == "int":
            items.append(data.draw(st.integers(-n, n - 1), label="index"))
        elif kind == "slice":
            bound = st.one_of(st.none(), st.integers(-n - 1, n + 1))
            step = st.sampled_from([None, 1, 2, -1, -2])
            items.append(slice(data.draw(bound), data.draw(bound), data.draw(step)))
        else:
            items.append(slice(None))
    if data.draw(st.booleans(), label="newaxis"):
        items.insert(data.draw(st.integers(0, len(items)), label="newaxis at"), None)
    if items and items[-1] == slice(None) and data.draw(st.booleans(), label="ellipsis"):
        items[-1] = Ellipsis
    return tuple(items)


def _strided_slice(data: st.DataObject) -> Drawn:
    shape = data.draw(SHAPES, label="shape")
    key = _slice_key(data, shape)
    x = _array(data, shape, REAL, "x")
    return Drawn([x], lambda t: t[key], lambda a: np.asarray(a[key]), (0,))


def _strided_slice_grad(data: st.DataObject) -> Drawn:
    # the gradient of slicing, as an op of its own (its gradient is slicing again)
    shape = data.draw(SHAPES, label="shape")
    key = _slice_key(data, shape)
    g = _array(data, np.zeros(shape)[key].shape, REAL, "g")
    attrs = {"shape": tuple(shape), "key": _normalize_key(key, tuple(shape))}

    def ref(a: np.ndarray) -> np.ndarray:
        z = np.zeros(shape, dtype=a.dtype)
        z[key] = a
        return z

    return Drawn([g], lambda t: apply(REGISTRY["strided_slice_grad"], (t,), attrs), ref, (0,))


@tv.custom_gradient
def _x_sin_x(x: Any) -> Any:
    def grad_fn(dy: Any) -> Any:
        return dy * (tv.sin(x) + x * tv.cos(x))  # d/dx x·sin x

    return x * tv.sin(x), grad_fn


def via_complex(
    f: Callable[..., Any],
    ref: Callable[..., Any],
    parts: tuple[tuple[Any, Any], ...] = ((REAL, REAL),),
    shapes: Any = None,
) -> Case:
    """A complex op checked through real numbers: each complex input is tv.complex(re, im)
    of two drawn float arrays, and a complex result is read back as re + 0.5·im.  Central
    differences in the real and imaginary parts then check TensorFlow's gradient convention
    (∂L/∂re + i·∂L/∂im) of every complex op on the way, to first and second order."""

    def real_of(out: Any) -> Any:
        if isinstance(out, tv.Tensor):
            return tv.math.real(out) + 0.5 * tv.math.imag(out) if out.dtype.is_complex else out
        return out.real + 0.5 * out.imag if np.iscomplexobj(out) else out

    def draw(data: st.DataObject) -> Drawn:
        n = len(parts)
        if shapes is not None:
            drawn = data.draw(shapes, label="shapes")
        elif n == 1:
            drawn = (data.draw(SHAPES, label="shape"),)
        else:
            drawn = data.draw(PAIRS, label="shapes").input_shapes
        arrays = []
        for i, (re, im) in enumerate(parts):
            arrays.append(_array(data, drawn[i], re, f"re{i}"))
            arrays.append(_array(data, drawn[i], im, f"im{i}"))

        def fn(*ts: Any) -> Any:
            zs = [tv.complex(ts[2 * i], ts[2 * i + 1]) for i in range(n)]
            return real_of(f(*zs))

        def np_ref(*xs: np.ndarray) -> np.ndarray:
            return real_of(ref(*[xs[2 * i] + 1j * xs[2 * i + 1] for i in range(n)]))

        return Drawn(arrays, fn, np_ref, tuple(range(2 * n)))

    return draw


def _solve(data: st.DataObject) -> Drawn:
    """A well-conditioned matrix (identity·3 plus small entries), batch and adjoint drawn."""
    batch = data.draw(st.sampled_from([(), (2,)]), label="batch")
    m = data.draw(st.integers(1, 3), label="m")
    k = data.draw(st.integers(1, 2), label="k")
    adjoint = data.draw(st.booleans(), label="adjoint")
    a = _array(data, (*batch, m, m), _floats(-0.5, 0.5), "a") + 3 * np.eye(m)
    b = _array(data, (*batch, m, k), REAL, "b")

    def ref(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.linalg.solve(np.swapaxes(x, -1, -2) if adjoint else x, y)

    return Drawn([a, b], lambda x, y: tv.linalg.solve(x, y, adjoint=adjoint), ref, (0, 1))


CASES: dict[str, Case] = {
    # elementwise binary, broadcasting
    "add": binary(REAL, REAL, tv.add, np.add),
    "subtract": binary(REAL, REAL, tv.subtract, np.subtract),
    "multiply": binary(REAL, REAL, tv.multiply, np.multiply),
    "divide": binary(REAL, NONZERO, tv.divide, lambda x, y: x / y),
    "pow": binary(POSITIVE, REAL, tv.pow, lambda x, y: np.exp(y * np.log(x))),
    "maximum": binary(EVEN_TENTHS, ODD_TENTHS, tv.maximum, lambda x, y: np.where(x > y, x, y)),
    "minimum": binary(EVEN_TENTHS, ODD_TENTHS, tv.minimum, lambda x, y: np.where(x < y, x, y)),
    "where": _where,
    "clip_by_value": _clip,
    # elementwise unary
    "negative": unary(REAL, tv.negative, lambda x: -x),
    "square": unary(REAL, tv.square, lambda x: x * x),
    "sqrt": unary(POSITIVE, tv.sqrt, lambda x: x**0.5),
    "exp": unary(REAL, tv.exp, np.exp),
    "reciprocal": unary(NONZERO, tv.reciprocal, lambda x: 1 / x),
    "log": unary(POSITIVE, tv.math.log, np.log),
    "expm1": unary(REAL, tv.math.expm1, lambda x: np.exp(x) - 1),
    "log1p": unary(POSITIVE, tv.math.log1p, lambda x: np.log(1 + x)),
    "sin": unary(REAL, tv.sin, np.sin),
    "cos": unary(REAL, tv.cos, np.cos),
    "tanh": unary(REAL, tv.tanh, lambda x: (np.exp(2 * x) - 1) / (np.exp(2 * x) + 1)),
    "sigmoid": unary(REAL, tv.sigmoid, lambda x: 0.5 * (1 + np.tanh(x / 2))),
    "sign": unary(NONZERO, tv.sign, np.sign),
    "abs": unary(NONZERO, tv.abs, lambda x: np.where(x < 0, -x, x)),
    "relu": unary(NONZERO, tv.nn.relu, lambda x: np.where(x > 0, x, 0.0)),
    "identity": unary(REAL, tv.identity, lambda x: x),
    "cast": _cast,
    # linear algebra and nn
    "matmul": _matmul,
    "matrix_solve": _solve,
    "softmax": unary(REAL, tv.nn.softmax, _np_softmax, NONSCALAR),
    "log_softmax": unary(REAL, tv.nn.log_softmax, _np_log_softmax, NONSCALAR),
    "softmax_cross_entropy_with_logits": _xent,
    "sparse_softmax_cross_entropy_with_logits": _sparse_xent,
    # reductions
    "reduce_sum": reduction(tv.reduce_sum, np.sum, "real"),
    "reduce_mean": reduction(tv.reduce_mean, np.mean, "real"),
    "reduce_max": reduction(tv.reduce_max, np.max, "unique"),
    "reduce_min": reduction(tv.reduce_min, np.min, "unique"),
    "reduce_prod": reduction(
        tv.reduce_prod, np.prod, "nonzero", hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)
    ),
    # shapes
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _broadcast_to,
    "squeeze": _squeeze,
    "expand_dims": _expand_dims,
    "concat": _concat,
    "stack": _stack,
    "strided_slice": _strided_slice,
    "strided_slice_grad": _strided_slice_grad,
    # user-defined gradients
    "custom_gradient": unary(REAL, _x_sin_x, lambda x: x * np.sin(x)),
    # complex numbers (the parts of tv.complex(re, im), read back through real and imag)
    "complex": via_complex(lambda z: z, lambda z: z),
    "real": via_complex(tv.math.real, np.real),
    "imag": via_complex(tv.math.imag, np.imag),
    "conj": via_complex(tv.math.conj, np.conj),
    "complex_abs": via_complex(tv.abs, np.abs, ((NONZERO, REAL),)),
    "angle": via_complex(tv.math.angle, np.angle, ((POSITIVE, REAL),)),
}

# Ops that take complex tensors, checked the same way with complex inputs (TensorFlow's
# gradient convention; "name[complex]" runs the three tests below for the op "name").
_MATMUL_SHAPES = st.integers(1, 3).flatmap(
    lambda n: st.integers(1, 3).flatmap(lambda k: st.integers(1, 3).map(lambda m: ((n, k), (k, m))))
)
_C = (REAL, REAL)
_C_NONZERO = (NONZERO, REAL)
COMPLEX_CASES: dict[str, Case] = {
    "add": via_complex(tv.add, np.add, (_C, _C)),
    "subtract": via_complex(tv.subtract, np.subtract, (_C, _C)),
    "multiply": via_complex(tv.multiply, np.multiply, (_C, _C)),
    "divide": via_complex(tv.divide, np.divide, (_C, _C_NONZERO)),
    "pow": via_complex(tv.pow, lambda x, y: np.exp(y * np.log(x)), ((POSITIVE, REAL), _C)),
    "negative": via_complex(tv.negative, np.negative),
    "square": via_complex(tv.square, lambda z: z * z),
    "sqrt": via_complex(tv.sqrt, np.sqrt, ((POSITIVE, REAL),)),
    "exp": via_complex(tv.exp, np.exp),
    "log": via_complex(tv.math.log, np.log, ((POSITIVE, REAL),)),
    "reciprocal": via_complex(tv.reciprocal, lambda z: 1 / z, (_C_NONZERO,)),
    "expm1": via_complex(tv.math.expm1, np.expm1),
    "log1p": via_complex(tv.math.log1p, np.log1p, ((POSITIVE, REAL),)),
    "sin": via_complex(tv.sin, np.sin),
    "cos": via_complex(tv.cos, np.cos),
    # (tanh has poles at ±iπ/2: imaginary parts within ±1 keep the differences accurate)
    "tanh": via_complex(tv.tanh, np.tanh, ((REAL, _floats(-1.0, 1.0)),)),
    "sigmoid": via_complex(tv.sigmoid, lambda z: 1 / (1 + np.exp(-z))),
    "matmul": via_complex(tv.matmul, np.matmul, (_C, _C), _MATMUL_SHAPES),
    "reduce_sum": via_complex(tv.reduce_sum, np.sum),
    "reduce_mean": via_complex(tv.reduce_mean, np.mean),
    "reduce_prod": via_complex(tv.reduce_prod, np.prod, (_C_NONZERO,)),
    "transpose": via_complex(tv.transpose, np.transpose),
    "reshape": via_complex(lambda z: tv.reshape(z, [-1]), np.ravel),
    "concat": via_complex(
        lambda z: tv.concat([z, z * 2.0], axis=-1),
        lambda z: np.concatenate([z, z * 2.0], axis=-1),
        shapes=st.tuples(NONSCALAR),
    ),
}


# --- helpers ---------------------------------------------------------------------------------
def _case(name: str, data: st.DataObject) -> Drawn:
    if name.endswith("[complex]"):
        return COMPLEX_CASES[name.removesuffix("[complex]")](data)
    if name not in CASES:
        pytest.fail(f"op {name!r} has a VJP but no entry in CASES: add its input generator")
    return CASES[name](data)


def _consts(arrays: list[np.ndarray]) -> list[tv.Tensor]:
    return [tv.constant(a) for a in arrays]


def _forward(d: Drawn, arrays: list[np.ndarray]) -> np.ndarray:
    return np.asarray(d.fn(*_consts(arrays)).numpy())


def _vjp(d: Drawn, arrays: list[np.ndarray], u: np.ndarray) -> list[np.ndarray]:
    """uᵀJ for every differentiated input (zeros where the tape says None)."""
    ts = _consts(arrays)
    with tv.GradientTape() as tape:
        tape.watch([ts[i] for i in d.diff])
        out = d.fn(*ts)
    grads = tape.gradient(out, [ts[i] for i in d.diff], output_gradients=tv.constant(u))
    return [
        np.zeros_like(arrays[i]) if g is None else g.numpy()
        for i, g in zip(d.diff, grads, strict=True)
    ]


def _numeric_vjp(d: Drawn, arrays: list[np.ndarray], u: np.ndarray, i: int) -> np.ndarray:
    """Central differences of x ↦ Σ u·f(x) with respect to input i, entry by entry."""
    x = arrays[i]
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += d.eps
        minus[idx] -= d.eps
        fp = _forward(d, [plus if j == i else a for j, a in enumerate(arrays)])
        fm = _forward(d, [minus if j == i else a for j, a in enumerate(arrays)])
        grad[idx] = np.sum(u * (fp - fm)) / (2 * d.eps)
    return grad


def _close(actual: np.ndarray, expected: np.ndarray, what: str, rtol: float = 1e-5) -> None:
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-6 * scale, err_msg=what)


def _rng(data: st.DataObject) -> np.random.Generator:
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


# --- the tests -------------------------------------------------------------------------------
def test_every_registered_op_has_a_case() -> None:
    missing = [n for n in DIFF_OPS if n not in CASES]
    assert not missing, f"ops with a VJP but no input generator in CASES: {missing}"
    stale = [n for n in CASES if n not in REGISTRY]
    assert not stale, f"CASES lists ops that are not registered: {stale}"
    assert len(DIFF_OPS) >= 44  # the registry is really being walked


def test_ops_without_gradient_are_listed_and_never_recorded() -> None:
    assert set(NONDIFF_OPS) == set(NONDIFF_EXAMPLES), (
        "ops without a VJP must be listed in NONDIFF_EXAMPLES: "
        f"{sorted(set(NONDIFF_OPS) ^ set(NONDIFF_EXAMPLES))}"
    )
    x = tv.Variable([1.5, -2.0, 3.0])
    with tv.GradientTape() as tape:
        for name in NONDIFF_OPS:
            NONDIFF_EXAMPLES[name][0](x)
    assert tape.record().nodes == ()  # a tape never records an op that has no gradient


@pytest.mark.parametrize("name", DIFF_OPS + [f"{n}[complex]" for n in sorted(COMPLEX_CASES)])
@given(data=st.data())
def test_forward_matches_numpy(name: str, data: st.DataObject) -> None:
    d = _case(name, data)
    out = d.fn(*_consts(d.arrays))
    expected = np.asarray(d.ref(*d.arrays))
    assert out.dtype == tv.float64
    assert tuple(out.shape) == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    if d.check_float32:
        arrays32 = [a.astype(np.float32) if a.dtype == np.float64 else a for a in d.arrays]
        out32 = d.fn(*_consts(arrays32))
        assert out32.dtype == tv.float32, f"{name} turned float32 inputs into {out32.dtype}"
        np.testing.assert_allclose(out32.numpy(), expected, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", DIFF_OPS + [f"{n}[complex]" for n in sorted(COMPLEX_CASES)])
@given(data=st.data())
def test_vjp_matches_central_differences(name: str, data: st.DataObject) -> None:
    d = _case(name, data)
    out_shape = _forward(d, d.arrays).shape
    u = _rng(data).standard_normal(out_shape)
    grads = _vjp(d, d.arrays, u)
    for i, g in zip(d.diff, grads, strict=True):
        assert g.shape == d.arrays[i].shape, f"{name}: gradient shape of input {i}"
        _close(g, _numeric_vjp(d, d.arrays, u, i), f"{name}: d/d input {i}")


@pytest.mark.parametrize("name", DIFF_OPS + [f"{n}[complex]" for n in sorted(COMPLEX_CASES)])
@given(data=st.data())
def test_second_order_from_nested_tapes(name: str, data: st.DataObject) -> None:
    d = _case(name, data)
    rng = _rng(data)
    u = rng.standard_normal(_forward(d, d.arrays).shape)
    vs = [rng.standard_normal(d.arrays[i].shape) for i in d.diff]
    ws = [rng.standard_normal(d.arrays[i].shape) for i in d.diff]

    ts = _consts(d.arrays)
    sources = [ts[i] for i in d.diff]
    with tv.GradientTape() as outer:
        outer.watch(sources)
        with tv.GradientTape() as inner:
            inner.watch(sources)
            out = d.fn(*ts)
        g1 = inner.gradient(out, sources, output_gradients=tv.constant(u))
    # the tensor backend (an outer tape is recording) agrees with the numpy fast path
    fast = _vjp(d, d.arrays, u)
    for g, f in zip(g1, fast, strict=True):
        np.testing.assert_allclose(0 if g is None else g.numpy(), f, rtol=1e-12, atol=1e-14)

    connected = [(g, tv.constant(v)) for g, v in zip(g1, vs, strict=True) if g is not None]
    if connected:
        targets, seeds = zip(*connected, strict=True)
        hv = outer.gradient(list(targets), sources, output_gradients=list(seeds))
    else:
        hv = [None] * len(sources)
    terms = [w * h.numpy() for w, h in zip(ws, hv, strict=True) if h is not None]
    analytic = sum(float(np.sum(t)) for t in terms)  # wᵀ·H·v

    def v_dot_gradient(t: float) -> float:  # vᵀ·g(x + t·w), g from the numpy fast path
        moved = list(d.arrays)
        for i, w in zip(d.diff, ws, strict=True):
            moved[i] = d.arrays[i] + t * w
        return sum(float(np.sum(v * g)) for v, g in zip(vs, _vjp(d, moved, u), strict=True))

    step = 1e-5 if d.eps < 1e-4 else d.eps
    numeric = (v_dot_gradient(step) - v_dot_gradient(-step)) / (2 * step)
    scale = max(1.0, sum(float(np.sum(np.abs(t))) for t in terms))
    assert abs(analytic - numeric) <= 1e-5 * scale, (
        f"{name}: wᵀ·H·v from nested tapes is {analytic}, central differences give {numeric}"
    )


# --- ops without a gradient: forward only ----------------------------------------------------
_X = np.array([1.5, -2.0, 3.0], dtype=np.float32)
NONDIFF_EXAMPLES: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "equal": (lambda x: tv.equal(x, 1.5), _X == 1.5),
    "not_equal": (lambda x: tv.not_equal(x, 1.5), _X != 1.5),
    "greater": (lambda x: tv.greater(x, 1.5), _X > 1.5),
    "greater_equal": (lambda x: tv.greater_equal(x, 1.5), _X >= 1.5),
    "less": (lambda x: tv.less(x, 1.5), _X < 1.5),
    "less_equal": (lambda x: tv.less_equal(x, 1.5), _X <= 1.5),
    "logical_and": (lambda x: tv.logical_and(x > 0, x < 2), np.array([True, False, False])),
    "logical_or": (lambda x: tv.logical_or(x > 2, x < 0), np.array([False, True, True])),
    "logical_not": (lambda x: tv.logical_not(x > 0), np.array([False, True, False])),
    "floordiv": (lambda x: x // 2.0, np.floor_divide(_X, np.float32(2))),
    "mod": (lambda x: x % 2.0, np.mod(_X, np.float32(2))),
    "reduce_any": (lambda x: tv.reduce_any(x > 2), np.True_),
    "reduce_all": (lambda x: tv.reduce_all(x > 0), np.False_),
    "argmax": (lambda x: tv.argmax(x), np.int64(2)),
    "argmin": (lambda x: tv.argmin(x), np.int64(1)),
    "zeros_like": (lambda x: tv.zeros_like(x), np.zeros(3, np.float32)),
    "ones_like": (lambda x: tv.ones_like(x), np.ones(3, np.float32)),
    "one_hot": (lambda x: tv.one_hot([2, 0], 3), np.array([[0, 0, 1], [1, 0, 0]], np.float32)),
}


@pytest.mark.parametrize("name", sorted(NONDIFF_EXAMPLES))
def test_forward_of_ops_without_gradient(name: str) -> None:
    fn, expected = NONDIFF_EXAMPLES[name]
    out = fn(tv.constant(_X))
    expected = np.asarray(expected)
    assert out.numpy().dtype == expected.dtype
    np.testing.assert_array_equal(out.numpy(), expected)
