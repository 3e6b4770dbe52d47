"""Shape ops: reshape, transpose, concat/stack, squeeze/expand_dims, broadcasting, slicing,
and the tensor factories (zeros, ones, fill, range, one_hot).

Slicing (``x[1:, ::2]``, ``x[0]``, ``x[..., None]``) is the differentiable op
``strided_slice``; its gradient places the incoming adjoint into zeros of the input's shape
(``strided_slice_grad``), whose own gradient is slicing again — so slicing works to any
order.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..tensor import Tensor, convert_to_tensor
from ._registry import Kernel, Op, apply, register

__all__ = [
    "reshape",
    "transpose",
    "concat",
    "stack",
    "unstack",
    "squeeze",
    "expand_dims",
    "broadcast_to",
    "strided_slice_key",
    "zeros",
    "ones",
    "zeros_like",
    "ones_like",
    "fill",
    "range",
    "one_hot",
    "shape",
    "size",
    "rank",
]


def _shape_tuple(shape: Any, opname: str) -> tuple[int, ...]:
    if isinstance(shape, Tensor):
        shape = shape._value.tolist()
    if isinstance(shape, int | np.integer):
        return (int(shape),)
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{opname}: shape must be a list of ints, got {shape!r}") from None


def _norm_axis(axis: int, ndim: int, opname: str) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{opname}: axis {axis} is out of range for a tensor of rank {ndim}")
    return axis % ndim


# --- reshape -------------------------------------------------------------------------------
reshape_op = register(
    Op(
        "reshape",
        lambda x, shape: np.reshape(x, shape),
        lambda k, g, out, x, shape: (k.reshape(g, shape=x.shape),),  # same entries
        "reshape",
        r"\mathrm{reshape}(x)",
        ("reshape({g})",),
        "Same entries, new shape.",
    )
)


def reshape(tensor: Any, shape: Any, name: str | None = None) -> Tensor:
    """``tensor`` with a new shape (one dimension may be -1).

    >>> import tapeviz as tv
    >>> tv.reshape(tv.constant([1., 2., 3., 4.]), [2, -1]).shape
    TensorShape([2, 2])
    """
    x = convert_to_tensor(tensor)
    s = _shape_tuple(shape, "reshape")
    size = x._value.size
    if s.count(-1) > 1:
        raise ValueError(f"reshape: at most one dimension may be -1, got {s}")
    if -1 in s:
        known = int(np.prod([d for d in s if d != -1], dtype=np.int64))
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape a tensor of {size} elements to {s}")
        s = tuple(size // known if d == -1 else d for d in s)
    if int(np.prod(s, dtype=np.int64)) != size:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({size} elements) to {s} "
            f"({int(np.prod(s, dtype=np.int64))} elements)"
        )
    return apply(reshape_op, (x,), {"shape": s}, name=name)


# --- transpose -----------------------------------------------------------------------------
def _transpose_vjp(k: Any, g: Any, out: Any, x: Any, perm: tuple[int, ...]) -> tuple[Any]:
    # transposing back with the inverse permutation
    return (k.transpose(g, perm=tuple(int(i) for i in np.argsort(perm))),)


transpose_op = register(
    Op(
        "transpose",
        lambda x, perm: np.transpose(x, perm),
        _transpose_vjp,
        "ᵀ",
        "x^T",
        ("{g}ᵀ",),
        "Permute the axes.",
    )
)


def transpose(a: Any, perm: Sequence[int] | None = None, name: str | None = None) -> Tensor:
    """Permute the axes of ``a`` (default: reverse them)."""
    x = convert_to_tensor(a)
    nd = x.ndim
    p = (
        tuple(builtins.range(nd))[::-1]
        if perm is None
        else tuple(int(i) % max(nd, 1) for i in perm)
    )
    if sorted(p) != list(builtins.range(nd)):
        raise ValueError(f"transpose: perm {perm} is not a permutation of the {nd} axes")
    return apply(transpose_op, (x,), {"perm": p}, name=name)


# --- broadcast_to --------------------------------------------------------------------------
broadcast_op = register(
    Op(
        "broadcast_to",
        lambda x, shape: np.broadcast_to(x, shape),
        lambda k, g, out, x, shape: (k.unbroadcast(g, x.shape),),  # sum back
        "bcast",
        r"\mathrm{broadcast}(x)",
        ("sum of {g} over the broadcast axes",),
        "Repeat x along new or size-1 axes.",
        # not elementwise (the output's shape is an attr), but each output element is x's
        # element at the broadcast index: it joins fused loops as that element
        kernel=Kernel("{x}"),
    )
)


def broadcast_to(input: Any, shape: Any, name: str | None = None) -> Tensor:
    """``input`` repeated to ``shape`` by numpy's broadcasting rules."""
    x = convert_to_tensor(input)
    s = _shape_tuple(shape, "broadcast_to")
    try:
        np.broadcast_shapes(x._value.shape, s)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {s}") from None
    return apply(broadcast_op, (x,), {"shape": s}, name=name)


# --- squeeze / expand_dims -------------------------------------------------------------------
squeeze_op = register(
    Op(
        "squeeze",
        lambda x, axis: np.squeeze(x, axis=axis),
        lambda k, g, out, x, axis: (k.reshape(g, shape=x.shape),),
        "squeeze",
        r"\mathrm{squeeze}(x)",
        ("reshape({g})",),
        "Remove size-1 axes.",
    )
)
expand_op = register(
    Op(
        "expand_dims",
        lambda x, axis: np.expand_dims(x, axis),
        lambda k, g, out, x, axis: (k.reshape(g, shape=x.shape),),
        "expand",
        r"\mathrm{expand\_dims}(x)",
        ("reshape({g})",),
        "Insert a size-1 axis.",
    )
)


def squeeze(input: Any, axis: Any = None, name: str | None = None) -> Tensor:
    """Remove size-1 axes (all of them, or those listed in ``axis``)."""
    x = convert_to_tensor(input)
    shp = x._value.shape
    if axis is None:
        ax = tuple(i for i, d in enumerate(shp) if d == 1)
    else:
        ax = tuple(_norm_axis(int(a), x.ndim, "squeeze") for a in np.atleast_1d(axis))
        for a in ax:
            if shp[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {x.shape} has size {shp[a]}, not 1")
    return apply(squeeze_op, (x,), {"axis": ax}, name=name)


def expand_dims(input: Any, axis: int, name: str | None = None) -> Tensor:
    """Insert a size-1 axis at position ``axis``."""
    x = convert_to_tensor(input)
    a = int(axis)
    if not -x.ndim - 1 <= a <= x.ndim:
        raise ValueError(f"expand_dims: axis {a} is out of range for rank {x.ndim}")
    return apply(expand_op, (x,), {"axis": a % (x.ndim + 1)}, name=name)


# --- concat / stack ------------------------------------------------------------------------
def _concat_vjp(k: Any, g: Any, out: Any, *xs: Any, axis: int) -> tuple[Any, ...]:
    # each input gets its own slice of g along the axis
    grads = []
    start = 0
    for x in xs:
        n = x.shape[axis]
        key = tuple(["all"] * axis + [["s", start, start + n, 1]])
        grads.append(k.strided_slice(g, key=key))
        start += n
    return tuple(grads)


def _concat_fwd(*xs: Any, axis: int) -> Any:
    return np.concatenate(xs, axis=axis)


concat_op = register(
    Op(
        "concat",
        _concat_fwd,
        _concat_vjp,
        "concat",
        r"[x_1, x_2, \dots]",
        ("slice of {g}",),
        "Join tensors along an existing axis.",
    )
)


def _stack_vjp(k: Any, g: Any, out: Any, *xs: Any, axis: int) -> tuple[Any, ...]:
    # input i gets g[..., i, ...] along the new axis
    return tuple(
        k.strided_slice(g, key=tuple(["all"] * axis + [i])) for i in builtins.range(len(xs))
    )


stack_op = register(
    Op(
        "stack",
        lambda *xs, axis: np.stack(xs, axis=axis),
        _stack_vjp,
        "stack",
        r"[x_1; x_2; \dots]",
        ("{g}[i]",),
        "Join tensors along a new axis.",
    )
)


def _same_dtype(values: Sequence[Any], opname: str) -> list[Tensor]:
    if not values:
        raise ValueError(f"{opname}: needs at least one tensor")
    ts = [convert_to_tensor(v) for v in values]
    first = next((t for t in ts if isinstance(t, Tensor)), ts[0])
    out = []
    for i, t in enumerate(ts):
        if t._value.dtype != first._value.dtype:
            raise TypeError(
                f"{opname}: input {i} is {t.dtype.name} but input 0 is {first.dtype.name}; "
                "cast them to one dtype"
            )
        out.append(t)
    return out


def concat(values: Sequence[Any], axis: int, name: str | None = None) -> Tensor:
    """Join ``values`` along the existing axis ``axis``."""
    ts = _same_dtype(values, "concat")
    nd = ts[0].ndim
    if nd == 0:
        raise ValueError("concat: scalars cannot be concatenated; use tv.stack")
    a = _norm_axis(int(axis), nd, "concat")
    for i, t in enumerate(ts):
        s0, s = ts[0]._value.shape, t._value.shape
        if len(s) != nd or s[:a] + s[a + 1 :] != s0[:a] + s0[a + 1 :]:
            raise ValueError(
                f"concat: input {i} has shape {t.shape} but input 0 has {ts[0].shape}; all "
                f"dimensions except axis {a} must match"
            )
    return apply(concat_op, ts, {"axis": a}, name=name)


def stack(values: Sequence[Any], axis: int = 0, name: str | None = None) -> Tensor:
    """Join same-shape ``values`` along a new axis."""
    ts = _same_dtype(values, "stack")
    for i, t in enumerate(ts):
        if t._value.shape != ts[0]._value.shape:
            raise ValueError(f"stack: input {i} has shape {t.shape} but input 0 has {ts[0].shape}")
    a = int(axis)
    nd = ts[0].ndim
    if not -nd - 1 <= a <= nd:
        raise ValueError(f"stack: axis {a} is out of range for rank {nd + 1}")
    return apply(stack_op, ts, {"axis": a % (nd + 1)}, name=name)


def unstack(value: Any, axis: int = 0, name: str | None = None) -> list[Tensor]:
    """Split along ``axis`` into a list of tensors (each differentiable)."""
    x = convert_to_tensor(value)
    a = _norm_axis(int(axis), x.ndim, "unstack")
    return [
        apply(slice_op, (x,), {"key": tuple(["all"] * a + [i])})
        for i in builtins.range(x._value.shape[a])
    ]


# --- slicing -------------------------------------------------------------------------------
def _np_key(key: Sequence[Any]) -> tuple[Any, ...]:
    out: list[Any] = []
    for item in key:
        if item == "all":
            out.append(slice(None))
        elif item == "new":
            out.append(None)
        elif item == "...":
            out.append(Ellipsis)
        elif isinstance(item, list | tuple):
            _, a, b, c = item
            out.append(slice(a, b, c))
        else:
            out.append(int(item))
    return tuple(out)


def _slice_fwd(x: Any, key: Sequence[Any]) -> Any:
    return np.asarray(x)[_np_key(key)]


def _slice_grad_fwd(g: Any, shape: tuple[int, ...], key: Sequence[Any]) -> Any:
    z = np.zeros(shape, dtype=np.asarray(g).dtype)
    z[_np_key(key)] = g
    return z


slice_op = register(
    Op(
        "strided_slice",
        _slice_fwd,
        lambda k, g, out, x, key: (k.strided_slice_grad(g, shape=x.shape, key=key),),
        "[ ]",
        "x[i]",
        ("{g} placed into zeros",),
        "Slicing x[...]: ints, slices with steps, ..., newaxis.",
    )
)
slice_grad_op = register(
    Op(
        "strided_slice_grad",
        _slice_grad_fwd,
        lambda k, g, out, x, shape, key: (k.strided_slice(g, key=key),),
        "[ ]ᵀ",
        r"\mathrm{scatter}(x)",
        ("{g}[i]",),
        "Zeros of a shape with x placed at a slice (the gradient of slicing).",
    )
)


def _normalize_key(key: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    if not isinstance(key, tuple):
        key = (key,)
    out: list[Any] = []
    dim = 0
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > len(shape):
        raise IndexError(f"too many indices: the tensor has shape {tuple(shape)}")
    for item in key:
        if isinstance(item, Tensor):
            if not item.dtype.is_integer or item.ndim != 0:
                raise TypeError(
                    "only integer scalars, slices, ..., and None (newaxis) can index a tensor; "
                    "for a list of indices use tv.gather"
                )
            item = int(item._value)
        if item is None:
            out.append("new")
        elif item is Ellipsis:
            out.append("...")
            dim = len(shape) - (n_real - dim)
        elif isinstance(item, slice):

            def _i(v: Any) -> int | None:
                return None if v is None else int(v)

            if item.step == 0:
                raise ValueError("slice step cannot be zero")
            out.append(["s", _i(item.start), _i(item.stop), _i(item.step)])
            dim += 1
        elif isinstance(item, int | np.integer) and not isinstance(item, bool):
            n = shape[dim]
            if not -n <= int(item) < n:
                raise IndexError(f"index {int(item)} is out of bounds for axis {dim} with size {n}")
            out.append(int(item) % n)
            dim += 1
        else:
            raise TypeError(
                f"cannot index a tensor with {item!r}: use ints, slices (a:b:c), ... or None; "
                "for lists of indices use tv.gather, for masks tv.boolean_mask"
            )
    return tuple(out)


def strided_slice_key(x: Tensor, key: Any) -> Tensor:
    """``x[key]`` as a recorded op (used by ``Tensor.__getitem__``)."""
    k = _normalize_key(key, x._value.shape)
    return apply(slice_op, (x,), {"key": k})


# --- factories -----------------------------------------------------------------------------
zeros_like_op = register(
    Op(
        "zeros_like",
        lambda x: np.zeros_like(x)[()],
        None,
        "0",
        "0",
        (),
        "Zeros of x's shape.",
        elementwise=True,
        kernel=Kernel("{zero}"),
    )
)
ones_like_op = register(
    Op(
        "ones_like",
        lambda x: np.ones_like(x)[()],
        None,
        "1",
        "1",
        (),
        "Ones of x's shape.",
        elementwise=True,
        kernel=Kernel("{one}"),
    )
)
one_hot_op = register(
    Op(
        "one_hot",
        lambda i, depth, dtype: np.eye(depth, dtype=dtype)[np.asarray(i)],
        None,
        "onehot",
        r"\mathrm{onehot}(i)",
        (),
        "One-hot rows for integer labels.",
    )
)


def zeros_like(input: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    """Zeros with the shape (and dtype) of ``input``."""
    x = convert_to_tensor(input)
    out = apply(zeros_like_op, (x,), {})
    return out if dtype is None else _cast_plain(out, dtype)


def ones_like(input: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    """Ones with the shape (and dtype) of ``input``."""
    x = convert_to_tensor(input)
    out = apply(ones_like_op, (x,), {})
    return out if dtype is None else _cast_plain(out, dtype)


def _cast_plain(t: Tensor, dtype: Any) -> Tensor:
    return Tensor._wrap(t._value.astype(dtypes.as_dtype(dtype).np))


def zeros(shape: Any, dtype: Any = dtypes.float32, name: str | None = None) -> Tensor:
    """A tensor of zeros (float32 by default)."""
    return Tensor._wrap(np.zeros(_shape_tuple(shape, "zeros"), dtype=dtypes.as_dtype(dtype).np))


def ones(shape: Any, dtype: Any = dtypes.float32, name: str | None = None) -> Tensor:
    """A tensor of ones (float32 by default)."""
    return Tensor._wrap(np.ones(_shape_tuple(shape, "ones"), dtype=dtypes.as_dtype(dtype).np))


def fill(dims: Any, value: Any, name: str | None = None) -> Tensor:
    """A tensor of shape ``dims`` filled with ``value`` (its dtype)."""
    v = convert_to_tensor(value)
    return Tensor._wrap(np.full(_shape_tuple(dims, "fill"), v._value, dtype=v._value.dtype))


def range(
    start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None, name: str = "range"
) -> Any:
    """``tf.range``: a 1-D tensor ``[start, start+delta, ...)``.

    Inside a :func:`tapeviz.function`, ``for i in tv.range(n)`` becomes a compiled loop.
    """
    from .. import _state

    tracer = _state.local.tracer
    if tracer is not None:
        return tracer.range(start, limit, delta, dtype)
    if limit is None:
        start, limit = 0, start
    vals = [v._value if isinstance(v, Tensor) else v for v in (start, limit, delta)]
    if dtype is None:
        is_float = any(np.asarray(v).dtype.kind == "f" for v in vals)
        d = np.float32 if is_float else np.int32
    else:
        d = dtypes.as_dtype(dtype).np
    return Tensor._wrap(np.arange(vals[0], vals[1], vals[2]).astype(d))


def one_hot(
    indices: Any, depth: int, dtype: Any = dtypes.float32, name: str | None = None
) -> Tensor:
    """One-hot rows: ``one_hot([0, 2], 3) = [[1,0,0],[0,0,1]]``."""
    i = convert_to_tensor(indices)
    if not i.dtype.is_integer:
        raise TypeError(f"one_hot: indices must be integers, got {i.dtype.name}")
    return apply(one_hot_op, (i,), {"depth": int(depth), "dtype": dtypes.as_dtype(dtype).name})


def shape(input: Any, out_type: Any = dtypes.int32, name: str | None = None) -> Tensor:
    """The shape of ``input`` as a 1-D int32 tensor."""
    x = convert_to_tensor(input)
    return Tensor._wrap(np.asarray(x._value.shape, dtype=dtypes.as_dtype(out_type).np))


def size(input: Any, out_type: Any = dtypes.int32, name: str | None = None) -> Tensor:
    """The number of elements of ``input``."""
    x = convert_to_tensor(input)
    return Tensor._wrap(np.asarray(x._value.size, dtype=dtypes.as_dtype(out_type).np))


def rank(input: Any, name: str | None = None) -> Tensor:
    """The rank of ``input`` as an int32 scalar."""
    return Tensor._wrap(np.int32(convert_to_tensor(input).ndim))
