"""TensorFlow functions built from registered ops: ``linspace``, ``eye``, ``norm``,
``clip_by_norm``, ``tensordot``, ``einsum``.

None of them is a primitive: each calls ops of the registry, so the tape records those ops,
their gradients (of any order) come from the ops' rules, and ``tv.function`` compiles them
like any other code.  Where TensorFlow itself composes the function from ops (``tensordot``
is a transpose, a reshape and a ``matmul``; ``clip_by_norm`` guards the zero norm with
``where``), the same ops are used in the same order.

>>> import tapeviz as tv
>>> print(tv.norm(tv.constant([3.0, 4.0])))
tv.Tensor(5.0, shape=(), dtype=float32)
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import dtypes
from ..tensor import Tensor, convert_to_tensor
from .complex import conj
from .linalg import matmul
from .math import cast, maximum, multiply, reject_complex, sqrt, where
from .reduce import reduce_max, reduce_sum
from .shape import expand_dims, range, reshape, squeeze, transpose

__all__ = ["linspace", "eye", "norm", "clip_by_norm", "tensordot", "einsum"]
__all__ += ["reduce_variance", "reduce_std", "reduce_logsumexp", "log_sigmoid"]


def linspace(start: Any, stop: Any, num: Any, name: str | None = None, axis: int = 0) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (both included).

    As TensorFlow: ``start + i · (stop − start) / (num − 1)``; float32 for Python floats;
    differentiable in ``start`` and ``stop``.

    >>> import tapeviz as tv
    >>> print(tv.linspace(0.0, 1.0, 5))
    tv.Tensor([0.   0.25 0.5  0.75 1.  ], shape=(5,), dtype=float32)
    """
    a = convert_to_tensor(start)
    b = convert_to_tensor(stop, dtype=a.dtype) if not isinstance(stop, Tensor) else stop
    if not a.dtype.is_floating:
        a, b = cast(a, dtypes.float32), cast(b, dtypes.float32)
    n = int(num)
    if n < 1:
        raise ValueError(f"linspace: num must be at least 1, got {num}")
    if a.ndim or b.ndim or axis != 0:
        raise ValueError(
            "linspace: tapeviz supports scalar start and stop (axis=0); got shapes "
            f"{a.shape} and {b.shape}"
        )
    if n == 1:
        return reshape(a, (1,), name=name)
    step = (b - a) / float(n - 1)
    i = cast(range(n - 1), a.dtype)
    head = a + i * step
    from .shape import concat

    return concat([head, reshape(b, (1,))], axis=0, name=name)  # the last value is stop


def eye(
    num_rows: int,
    num_columns: int | None = None,
    batch_shape: Any = None,
    dtype: Any = dtypes.float32,
    name: str | None = None,
) -> Tensor:
    """An identity matrix (ones on the diagonal), as ``tf.eye``."""
    cols = num_rows if num_columns is None else int(num_columns)
    value = np.eye(int(num_rows), cols, dtype=dtypes.as_dtype(dtype).np)
    if batch_shape is not None:
        value = np.broadcast_to(value, (*tuple(batch_shape), *value.shape)).copy()
    t = Tensor._wrap(value)
    t._name = name
    return t


def _named(out: Tensor, name: str | None) -> Tensor:
    """``out``, named ``name`` when a name is given (the ``name=`` of the ops below)."""
    if name is not None:
        out._name = name
    return out


def _norm_axes(axis: Any, ndim: int) -> tuple[int, ...] | None:
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim if ndim else a for a in axes)


def norm(
    tensor: Any,
    ord: Any = "euclidean",
    axis: Any = None,
    keepdims: Any = None,
    name: str | None = None,
) -> Tensor:
    """The vector norm of ``tensor`` (all entries, or along ``axis``), as ``tf.norm``.

    ``ord``: ``"euclidean"``/``2`` (``sqrt(Σ x²)``, TensorFlow's default; over a pair of axes
    it is the Frobenius norm, ``"fro"``), ``1`` (``Σ|x|``) or ``np.inf`` (``max|x|``).  Its
    gradient at 0 is NaN, as TensorFlow's.
    """
    x = convert_to_tensor(tensor)
    axes = _norm_axes(axis, x.ndim)
    keep = builtins.bool(keepdims)
    if ord in ("euclidean", "fro", 2, 2.0) and (ord != 2 or axes is None or len(axes) == 1):
        # a complex tensor: sqrt(Σ z·conj(z)), complex-typed with a zero imaginary part (TF)
        xx = x * conj(x) if x.dtype.is_complex else x * x
        out = sqrt(reduce_sum(xx, axis=axes, keepdims=True))
    elif ord in (1, 1.0) and (axes is None or len(axes) == 1):
        from .math import abs as abs_

        out = reduce_sum(abs_(x), axis=axes, keepdims=True)
    elif ord == np.inf and (axes is None or len(axes) == 1):
        from .math import abs as abs_

        out = reduce_max(abs_(x), axis=axes, keepdims=True)
    else:
        raise ValueError(
            f"norm: tapeviz supports ord='euclidean' (2), 'fro', 1 and np.inf on vectors, "
            f"got ord={ord!r} with axis={axis!r}"
        )
    if not keep:
        out = squeeze(out, axis=axes) if axes is not None else reshape(out, ())
    return _named(out, name)


def clip_by_norm(t: Any, clip_norm: Any, axes: Any = None, name: str | None = None) -> Tensor:
    """Scale ``t`` so that its L2 norm (over ``axes``) is at most ``clip_norm``.

    TensorFlow's recipe: ``t · clip_norm / max(‖t‖, clip_norm)``, with a zero norm kept away
    from ``sqrt`` (so that the gradient at ``t = 0`` is finite).
    """
    x = convert_to_tensor(t)
    if x.dtype.is_complex:
        reject_complex("clip_by_norm", x.dtype.name)
    c = (
        convert_to_tensor(clip_norm, dtype=x.dtype)
        if not isinstance(clip_norm, Tensor)
        else clip_norm
    )
    ax = _norm_axes(axes, x.ndim)
    l2sum = reduce_sum(x * x, axis=ax, keepdims=True)
    pred = l2sum > 0
    from .shape import ones_like

    l2sum_safe = where(pred, l2sum, ones_like(l2sum))
    l2norm = where(pred, sqrt(l2sum_safe), l2sum)
    out = (x * c) / maximum(l2norm, c)
    return _named(out, name)


def tensordot(a: Any, b: Any, axes: Any, name: str | None = None) -> Tensor:
    """Sum of products over ``axes`` of ``a`` and ``b``, as ``tf.tensordot``.

    ``axes`` is an int ``N`` (the last N axes of ``a`` with the first N of ``b``) or a pair of
    lists of axes.  Computed as TensorFlow does: both operands transposed and reshaped into
    matrices, one ``matmul``, then reshaped to the free axes.
    """
    x = convert_to_tensor(a)
    y = convert_to_tensor(b)
    if isinstance(axes, int | np.integer):
        n = int(axes)
        if n < 0 or n > min(x.ndim, y.ndim):
            raise ValueError(
                f"tensordot: axes={n} must be between 0 and the smaller rank ({x.ndim}, {y.ndim})"
            )
        ax_a = list(builtins.range(x.ndim - n, x.ndim))
        ax_b = list(builtins.range(n))
    else:
        pair = list(axes)
        if len(pair) != 2:
            raise ValueError(f"tensordot: axes must be an int or a pair of lists, got {axes!r}")
        ax_a = [pair[0]] if isinstance(pair[0], int) else list(pair[0])
        ax_b = [pair[1]] if isinstance(pair[1], int) else list(pair[1])
        ax_a = [i % x.ndim for i in ax_a]
        ax_b = [i % y.ndim for i in ax_b]
    for i, j in zip(ax_a, ax_b, strict=False):
        if x.shape[i] != y.shape[j]:
            raise ValueError(
                f"tensordot: axis {i} of a (size {x.shape[i]}) and axis {j} of b (size "
                f"{y.shape[j]}) must have the same size"
            )
    if len(ax_a) != len(ax_b):
        raise ValueError(f"tensordot: {len(ax_a)} axes of a but {len(ax_b)} of b")
    free_a = [i for i in builtins.range(x.ndim) if i not in ax_a]
    free_b = [i for i in builtins.range(y.ndim) if i not in ax_b]
    k = int(np.prod([x.shape[i] for i in ax_a], dtype=np.int64))
    m = int(np.prod([x.shape[i] for i in free_a], dtype=np.int64))
    n2 = int(np.prod([y.shape[i] for i in free_b], dtype=np.int64))
    xm = reshape(transpose(x, free_a + ax_a), (m, k))
    ym = reshape(transpose(y, ax_b + free_b), (k, n2))
    shape = tuple(x.shape[i] for i in free_a) + tuple(y.shape[i] for i in free_b)
    return reshape(matmul(xm, ym), shape, name=name)


def einsum(equation: str, *inputs: Any, name: str | None = None, **kwargs: Any) -> Tensor:
    """Einstein summation, as ``tf.einsum`` (e.g. ``"ij,jk->ik"``, ``"bi,bi->b"``, ``"ij->ji"``).

    Each operand is transposed and expanded to a common index order, the operands are
    multiplied (with broadcasting) and the indices missing from the output are summed.
    An index repeated within one operand (a diagonal, ``"ii->i"``) and ``...`` are not
    supported.
    """
    eq = equation.replace(" ", "")
    if "..." in eq:
        raise ValueError("einsum: tapeviz does not support '...' (ellipsis) in the equation")
    lhs, arrow, rhs = eq.partition("->")
    specs = lhs.split(",")
    if len(specs) != len(inputs):
        raise ValueError(f"einsum: {equation!r} names {len(specs)} operands, got {len(inputs)}")
    xs = [convert_to_tensor(t) for t in inputs]
    sizes: dict[str, int] = {}
    for spec, t in zip(specs, xs, strict=True):
        if len(spec) != t.ndim:
            raise ValueError(f"einsum: operand {spec!r} has rank {t.ndim}, not {len(spec)}")
        if len(set(spec)) != len(spec):
            raise ValueError(
                f"einsum: an index repeated in one operand ({spec!r}) is not supported"
            )
        for c, s in zip(spec, t.shape, strict=True):
            if sizes.setdefault(c, s) != s:
                raise ValueError(f"einsum: index {c!r} has sizes {sizes[c]} and {s}")
    if not arrow:  # implicit output: the indices used once, in alphabetical order
        rhs = "".join(sorted(c for c in sizes if lhs.count(c) == 1))
    order = rhs + "".join(c for c in sizes if c not in rhs)
    prod: Tensor | None = None
    for spec, t in zip(specs, xs, strict=True):
        present = [c for c in order if c in spec]
        t = transpose(t, [spec.index(c) for c in present]) if present != list(spec) else t
        shape = tuple(sizes[c] if c in spec else 1 for c in order)
        t = reshape(t, shape) if tuple(t.shape) != shape else t
        prod = t if prod is None else multiply(prod, t)
    assert prod is not None
    summed = tuple(builtins.range(len(rhs), len(order)))
    out = reduce_sum(prod, axis=summed) if summed else prod
    return _named(out, name)


_ = expand_dims


def reduce_variance(
    input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None
) -> Tensor:
    """The variance over ``axis``, as TensorFlow computes it: ``mean(|x − mean(x)|²)``
    (population variance; of a complex tensor a real one)."""
    x = convert_to_tensor(input_tensor)
    if not (x.dtype.is_floating or x.dtype.is_complex):
        raise TypeError(f"reduce_variance expects a float tensor, got {x.dtype.name}")
    from .math import abs as abs_
    from .reduce import reduce_mean

    deviation = x - reduce_mean(x, axis=axis, keepdims=True)
    if x.dtype.is_complex:
        deviation = abs_(deviation)
    out = reduce_mean(deviation * deviation, axis=axis, keepdims=keepdims)
    return _named(out, name)


def reduce_std(
    input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None
) -> Tensor:
    """The standard deviation ``sqrt(reduce_variance(x))`` over ``axis``."""
    out = sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))
    return _named(out, name)


def reduce_logsumexp(
    input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None
) -> Tensor:
    """``log(Σ exp(x))`` over ``axis`` without overflow, as TensorFlow: the (finite) maximum
    is taken out first and held constant, ``m + log(Σ exp(x − m))``."""
    x = convert_to_tensor(input_tensor)
    if not x.dtype.is_floating:
        if x.dtype.is_complex:
            reject_complex("reduce_logsumexp", x.dtype.name)
        raise TypeError(f"reduce_logsumexp expects a float tensor, got {x.dtype.name}")
    from .math import abs as abs_
    from .math import exp, log, stop_gradient
    from .reduce import reduce_sum as sum_
    from .shape import zeros_like

    raw_max = reduce_max(x, axis=axis, keepdims=True)
    finite = abs_(raw_max) < np.inf
    m = stop_gradient(where(finite, raw_max, zeros_like(raw_max)))
    out = log(sum_(exp(x - m), axis=axis, keepdims=keepdims))
    out = out + (m if keepdims else reshape(m, out.shape))
    return _named(out, name)


def log_sigmoid(x: Any, name: str | None = None) -> Tensor:
    """``log(sigmoid(x)) = −softplus(−x)``, as ``tf.math.log_sigmoid`` (no underflow)."""
    from .nn import softplus

    out = -softplus(-convert_to_tensor(x))
    return _named(out, name)
