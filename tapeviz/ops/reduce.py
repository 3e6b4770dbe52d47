"""Reductions: reduce_sum, reduce_mean, reduce_max/min (differentiable), and the
non-differentiable reduce_any/all, argmax/argmin.

The gradient of a reduction spreads the adjoint back over the reduced axes: evenly
copied for a sum, divided by the count for a mean, and — for a max — split evenly among
the entries that tie for the maximum (TensorFlow's rule).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor, convert_to_tensor
from ._registry import Op, apply, register
from .math import conjugate_rule, reject_bool, reject_complex

__all__ = [
    "reduce_sum",
    "reduce_mean",
    "reduce_max",
    "reduce_min",
    "reduce_prod",
    "reduce_any",
    "reduce_all",
    "argmax",
    "argmin",
]


def _axes(axis: Any, ndim: int, opname: str) -> tuple[int, ...] | None:
    if axis is None:
        return None
    if isinstance(axis, Tensor):
        axis = axis._value.tolist()
    items = [axis] if isinstance(axis, int | np.integer) else list(axis)
    out = []
    for a in items:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{opname}: axis {a} is out of range for a tensor of rank {ndim}")
        out.append(a % max(ndim, 1))
    return tuple(sorted(set(out)))


def _kept_shape(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else d for i, d in enumerate(shape))


def _spread(k: Any, g: Any, x: Any, axis: Any) -> Any:
    # reshape g to the keepdims shape, then copy it over the reduced axes
    xs = x.shape
    kept = _kept_shape(xs, axis)
    if tuple(g.shape) != kept:
        g = k.reshape(g, shape=kept)
    return k.broadcast_to(g, shape=xs)


def _int_dtype(x: Any) -> Any:
    # numpy sums int32 into int64; TensorFlow keeps the input's integer dtype
    return x.dtype if x.dtype.kind in "iu" else None


def _sum_fwd(x: Any, axis: Any, keepdims: bool) -> Any:
    return np.sum(x, axis=axis, keepdims=keepdims, dtype=_int_dtype(x))


def _mean_fwd(x: Any, axis: Any, keepdims: bool) -> Any:
    if x.dtype.kind in "iu":
        # TensorFlow's integer mean stays an integer: the sum divided by the count,
        # truncated toward zero (reduce_mean([-1, -2]) is -1)
        s = np.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype)
        n = x.dtype.type(max(_count(x.shape, axis), 1))
        return (np.sign(s) * (np.abs(s) // n)).astype(x.dtype)
    return np.mean(x, axis=axis, keepdims=keepdims)


def _count(x_shape: tuple[int, ...], axis: Any) -> int:
    if axis is None:
        return int(np.prod(x_shape, dtype=np.int64))
    return int(np.prod([x_shape[a] for a in axis], dtype=np.int64))


def _max_vjp(k: Any, g: Any, out: Any, x: Any, axis: Any, keepdims: bool) -> tuple[Any]:
    # the maximal entries share the gradient evenly (TensorFlow: indicators / count)
    xs = x.shape
    kept = _kept_shape(xs, axis)
    y = k.reshape(out, shape=kept)
    ind = k.cast(k.equal(y, x), dtype=_dtype_of(x))
    num = k.reshape(k.reduce_sum(ind, axis=axis, keepdims=False), shape=kept)
    return ((ind / num) * k.reshape(g, shape=kept),)


def _dtype_of(x: Any) -> str:
    d = x.dtype
    return str(getattr(d, "name", d))


sum_op = register(
    Op(
        "reduce_sum",
        _sum_fwd,
        lambda k, g, out, x, axis, keepdims: (_spread(k, g, x, axis),),  # ∂Σx/∂xᵢ = 1
        "Σ",
        r"\sum_i x_i",
        ("{g} copied over the summed axes",),
        "Sum over axes.",
    )
)
mean_op = register(
    Op(
        "reduce_mean",
        _mean_fwd,
        # ∂mean/∂xᵢ = 1/n  (TensorFlow: broadcast g, then divide by n)
        lambda k, g, out, x, axis, keepdims: (_spread(k, g, x, axis) / _count(x.shape, axis),),
        "mean",
        r"\frac{1}{n}\sum_i x_i",
        ("{g} / n copied over the averaged axes",),
        "Mean over axes.",
    )
)


def _extremum(name: str, reduce: Callable[..., Any], entries: str, doc: str) -> Op:
    """``reduce_max`` or ``reduce_min``: one rule for both — the entries equal to the
    result share g."""
    return register(
        Op(
            f"reduce_{name}",
            lambda x, axis, keepdims: reduce(x, axis=axis, keepdims=keepdims),
            _max_vjp,
            name,
            rf"\{name}_i x_i",
            (f"{{g}} shared by the {entries} entries",),
            doc,
        )
    )


max_op = _extremum("max", np.max, "maximal", "Maximum over axes.")
min_op = _extremum("min", np.min, "minimal", "Minimum over axes.")


def _prod_vjp(k: Any, g: Any, out: Any, x: Any, axis: Any, keepdims: bool) -> tuple[Any]:
    # ∂Πx/∂xᵢ = Πx / xᵢ  (entries must be nonzero for this form)
    kept = _kept_shape(x.shape, axis)
    return (_spread(k, g, x, axis) * k.broadcast_to(k.reshape(out, shape=kept), shape=x.shape) / x,)


prod_op = register(
    Op(
        "reduce_prod",
        lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims, dtype=_int_dtype(x)),
        conjugate_rule(_prod_vjp, unary=False),
        "Π",
        r"\prod_i x_i",
        ("{g} · {out} / {x}",),
        "Product over axes.",
        may_warn=True,
    )
)


def _reduction(op: Op) -> Any:
    def fn(
        input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None
    ) -> Tensor:
        x = convert_to_tensor(input_tensor)
        kind = x._value.dtype.kind
        if kind == "b":
            reject_bool(op.name, "use tv.reduce_any / tv.reduce_all")
        if kind == "c" and op.name in ("reduce_max", "reduce_min"):
            reject_complex(op.name, x.dtype.name)
        ax = _axes(axis, x.ndim, op.name)
        if op.name in ("reduce_max", "reduce_min") and x._value.size == 0:
            raise ValueError(f"{op.name} of an empty tensor has no value")
        return apply(op, (x,), {"axis": ax, "keepdims": bool(keepdims)}, name=name)

    fn.__name__ = op.name
    fn.__doc__ = (
        f"{op.doc}\n\n``axis``: None (all), an int or a list; ``keepdims`` keeps reduced axes "
        f"with size 1.\nVJP: {op.texts(n_inputs=1)[0]}."
    )
    return fn


reduce_sum = _reduction(sum_op)
reduce_mean = _reduction(mean_op)
reduce_max = _reduction(max_op)
reduce_min = _reduction(min_op)
reduce_prod = _reduction(prod_op)


def _nondiff(name: str, f: Any) -> Any:
    op = register(Op(name, f, None, name, name, (), f"{name} (no gradient)."))

    def fn(
        input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None
    ) -> Tensor:
        x = convert_to_tensor(input_tensor)
        return apply(op, (x,), {"axis": _axes(axis, x.ndim, op.name), "keepdims": bool(keepdims)})

    fn.__name__ = name
    return fn


reduce_any = _nondiff(
    "reduce_any", lambda x, axis, keepdims: np.any(x, axis=axis, keepdims=keepdims)
)
reduce_all = _nondiff(
    "reduce_all", lambda x, axis, keepdims: np.all(x, axis=axis, keepdims=keepdims)
)
_argmax_op = register(
    Op("argmax", lambda x, axis: np.argmax(x, axis=axis).astype(np.int64), None, "argmax")
)
_argmin_op = register(
    Op("argmin", lambda x, axis: np.argmin(x, axis=axis).astype(np.int64), None, "argmin")
)


def _index_of(op: Op, input: Any, axis: int | None) -> Tensor:
    """``op`` (argmax or argmin) of a real tensor along ``axis`` (default 0)."""
    x = convert_to_tensor(input)
    if x.dtype.is_complex:
        reject_complex(op.name, x.dtype.name)
    return apply(op, (x,), {"axis": 0 if axis is None else int(axis)})


def argmax(
    input: Any, axis: int | None = None, output_type: Any = None, name: str | None = None
) -> Tensor:
    """Index of the largest entry along ``axis`` (default 0), int64."""
    return _index_of(_argmax_op, input, axis)


def argmin(
    input: Any, axis: int | None = None, output_type: Any = None, name: str | None = None
) -> Tensor:
    """Index of the smallest entry along ``axis`` (default 0), int64."""
    return _index_of(_argmin_op, input, axis)
