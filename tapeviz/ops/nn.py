"""Neural-network ops (``tv.nn``): relu, sigmoid, softmax, log_softmax and the two
softmax cross-entropies, computed the numerically stable way TensorFlow computes them
(subtract the row maximum before ``exp``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._surface import module_getattr as _module_getattr
from ..tensor import Tensor, binary_args, convert_to_tensor
from ._registry import Kernel, Op, apply, register
from ._tf_cpu import softmax_f32
from .math import (
    _quiet,
    _require_float,
    exp,
    expm1,
    log1p,
    minimum,
    reject_complex,
    sigmoid,
    tanh,
    where,
)
from .reduce import reduce_sum

__all__ = [
    "leaky_relu",
    "l2_loss",
    "moments",
    "batch_normalization",
    "elu",
    "softplus",
    "tanh",
    "relu",
    "sigmoid",
    "softmax",
    "log_softmax",
    "softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits",
]


def _relu_vjp(k: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    # d/dx max(x, 0) = 1 for x > 0, else 0 (0 at the kink, as TensorFlow).  Like
    # TensorFlow's ReluGrad, g is multiplied by the 0/1 mask, so a negative g gives -0.0.
    return (g * k.cast(k.greater(out, 0), dtype=_dtype_name(out)),)


relu_op = register(
    Op(
        "relu",
        lambda x: np.maximum(x.dtype.type(0), x),  # ties return x: relu(-0.0) = -0.0, as TF
        _relu_vjp,
        "relu",
        r"\max(x, 0)",
        ("{g} where {x} > 0",),
        "Rectified linear unit max(x, 0).",
        elementwise=True,
        kernel=Kernel("np.maximum({x}, {zero})"),
    )
)


def relu(features: Any, name: str | None = None) -> Tensor:
    """``max(features, 0)`` elementwise; its gradient at 0 is 0."""
    x = convert_to_tensor(features)
    if x.dtype.is_complex:
        reject_complex("relu", x.dtype.name)
    return apply(relu_op, (x,), {}, name=name)


def moments(
    x: Any, axes: Any, shift: Any = None, keepdims: bool = False, name: str | None = None
) -> tuple[Tensor, Tensor]:
    """Mean and (biased) variance of ``x`` over ``axes``, as ``tf.nn.moments``:
    ``variance = mean((x − stop_gradient(mean))²)`` — exact first derivatives; second
    derivatives are TensorFlow's (the stop_gradient drops a term of the true Hessian)."""
    from .math import stop_gradient
    from .reduce import reduce_mean
    from .shape import squeeze

    t = convert_to_tensor(x)
    ax = tuple(axes) if isinstance(axes, list | tuple) else (int(axes),)
    mean = reduce_mean(t, axis=ax, keepdims=True)
    d = t - stop_gradient(mean)
    variance = reduce_mean(d * d, axis=ax, keepdims=True)
    if not keepdims:
        mean, variance = squeeze(mean, axis=ax), squeeze(variance, axis=ax)
    return mean, variance


def batch_normalization(
    x: Any,
    mean: Any,
    variance: Any,
    offset: Any,
    scale: Any,
    variance_epsilon: float,
    name: str | None = None,
) -> Tensor:
    """``(x − mean) / sqrt(variance + ε) · scale + offset``, arranged as TensorFlow does:
    ``x · inv + (offset − mean · inv)`` with ``inv = scale / sqrt(variance + ε)``."""
    from .math import reciprocal, sqrt

    t = convert_to_tensor(x)
    inv = reciprocal(sqrt(variance + variance_epsilon))
    if scale is not None:
        inv = inv * scale
    shift = offset - mean * inv if offset is not None else -(mean * inv)
    out = t * inv + shift
    if name is not None:
        out._name = name
    return out


def elu(features: Any, name: str | None = None) -> Tensor:
    """Exponential linear unit: ``x`` for ``x ≥ 0``, else ``expm1(x) = eˣ − 1`` (TensorFlow's
    formula).

    Built from registered ops (its gradient ``1`` or ``eˣ`` comes from theirs); ``expm1``
    sees ``min(x, 0)`` so that a large ``x`` cannot overflow into the gradient.
    """
    x = convert_to_tensor(features)
    _require_float("elu", x)
    neg = expm1(minimum(x, 0.0))
    return where(x < 0.0, neg, x, name=name)


def softplus(features: Any, name: str | None = None) -> Tensor:
    """``log1p(exp(x))``, as TensorFlow computes it: ``x`` itself above ``-log(ε) − 2``
    and ``exp(x)`` below ``log(ε) + 2`` (``ε`` the dtype's machine epsilon), where the
    formula would overflow or lose every digit.  Its gradient is ``sigmoid(x)`` (beyond the
    thresholds, that of the branch taken: 1 or ``exp(x)``, within 1e-6 of it)."""
    x = convert_to_tensor(features)
    _require_float("softplus", x)
    threshold = float(np.log(np.finfo(x.dtype.np).eps) + 2.0)
    e = exp(minimum(x, -threshold))  # bounded: no overflow in the unselected branch
    mid = log1p(e)
    return where(x > -threshold, x, where(x < threshold, e, mid), name=name)


def leaky_relu(features: Any, alpha: float = 0.2, name: str | None = None) -> Tensor:
    """``x`` where ``x > 0``, else ``alpha · x`` (TensorFlow's default ``alpha`` is 0.2); the
    gradient at 0 is ``alpha``, as TensorFlow's LeakyReluGrad."""
    x = convert_to_tensor(features)
    _require_float("leaky_relu", x)
    return where(x > 0, x, x * float(alpha), name=name)


def l2_loss(t: Any, name: str | None = None) -> Tensor:
    """``Σ x² / 2`` over all entries (a scalar), as ``tf.nn.l2_loss``."""
    x = convert_to_tensor(t)
    _require_float("l2_loss", x)
    out = reduce_sum(x * x * 0.5)
    if name is not None:
        out._name = name
    return out


def _softmax_fwd(x: Any) -> Any:
    if x.dtype == np.float32:
        return softmax_f32(x)  # TensorFlow's CPU kernel step by step: its exact digits
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _log_softmax_fwd(x: Any) -> Any:
    shifted = x - np.max(x, axis=-1, keepdims=True)
    with _quiet():
        return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _softmax_vjp(k: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    # ∂L/∂x = (g − Σⱼ gⱼ sⱼ) · s   (TensorFlow's SoftmaxGrad)
    return ((g - k.reduce_sum(g * out, axis=(_last(k, x),), keepdims=True)) * out,)


def _log_softmax_vjp(k: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    # ∂L/∂x = g − Σⱼ gⱼ · softmax(x)
    return (g - k.reduce_sum(g, axis=(_last(k, x),), keepdims=True) * k.exp(out),)


def _last(k: Any, x: Any) -> int:
    return len(x.shape) - 1


softmax_op = register(
    Op(
        "softmax",
        _softmax_fwd,
        _softmax_vjp,
        "softmax",
        r"\frac{e^{x_i}}{\sum_j e^{x_j}}",
        ("({g} − Σ {g}·{out}) · {out}",),
        "Softmax over the last axis.",
    )
)
log_softmax_op = register(
    Op(
        "log_softmax",
        _log_softmax_fwd,
        _log_softmax_vjp,
        "logsoftmax",
        r"x_i - \log\sum_j e^{x_j}",
        ("{g} − Σ{g} · e^{out}",),
        "Log of the softmax over the last axis.",
    )
)


def _last_axis_only(axis: int, x: Tensor, opname: str) -> None:
    if x.ndim == 0:
        # TensorFlow: "logits must have >= 1 dimension"; numpy would quietly give 1.0
        raise ValueError(
            f"{opname}: logits must have rank >= 1 (class scores on the last axis), got a scalar"
        )
    if axis not in (-1, x.ndim - 1):
        raise ValueError(f"{opname}: only the last axis is supported (axis=-1), got {axis}")


def softmax(logits: Any, axis: int = -1, name: str | None = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along the last axis."""
    x = convert_to_tensor(logits)
    _require_float("softmax", x)
    _last_axis_only(axis, x, "softmax")
    return apply(softmax_op, (x,), {}, name=name)


def log_softmax(logits: Any, axis: int = -1, name: str | None = None) -> Tensor:
    """``x - log(sum(exp(x)))`` along the last axis."""
    x = convert_to_tensor(logits)
    _require_float("log_softmax", x)
    _last_axis_only(axis, x, "log_softmax")
    return apply(log_softmax_op, (x,), {}, name=name)


def _xent_fwd(labels: Any, logits: Any) -> Any:
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    sum_exp = np.sum(np.exp(shifted), axis=-1, keepdims=True)
    with _quiet():
        return np.sum(labels * (np.log(sum_exp) - shifted), axis=-1)


def _xent_vjp(k: Any, g: Any, out: Any, labels: Any, logits: Any) -> tuple[Any, Any]:
    # ∂loss/∂logits = softmax(logits) − labels;  ∂loss/∂labels = −log_softmax(logits)
    ge = k.expand_dims(g, axis=-1)
    return ge * -k.log_softmax(logits), ge * (k.softmax(logits) - labels)


xent_op = register(
    Op(
        "softmax_cross_entropy_with_logits",
        _xent_fwd,
        _xent_vjp,
        "xent",
        r"-\sum_i y_i \log \mathrm{softmax}(z)_i",
        ("−{g} · log softmax({y})", "{g} · (softmax({y}) − {x})"),
        "Cross-entropy between label distributions and softmax(logits), per row.",
    )
)


def softmax_cross_entropy_with_logits(
    labels: Any, logits: Any, axis: int = -1, name: str | None = None
) -> Tensor:
    """Per-row cross-entropy ``-Σ labels · log softmax(logits)``.

    Both arguments are differentiable.  ``labels`` rows should be probability
    distributions (one-hot for hard labels).
    """
    z = convert_to_tensor(logits)
    _require_float("softmax_cross_entropy_with_logits", z)
    y, z = binary_args(labels, z, "softmax_cross_entropy_with_logits")
    if y._value.shape != z._value.shape:
        raise ValueError(
            f"softmax_cross_entropy_with_logits: labels {y.shape} and logits {z.shape} must "
            "have the same shape (use the sparse version for integer class labels)"
        )
    _last_axis_only(axis, z, "softmax_cross_entropy_with_logits")
    return apply(xent_op, (y, z), {}, name=name)


def _check_labels(labels: Any, n: int) -> None:
    """Class indices in [0, n), as TensorFlow requires (in eager code, in the numpy
    interpreter of tv.function, and — by the kernels — in compiled code)."""
    lv = np.asarray(labels)
    if lv.size and (lv.min() < 0 or lv.max() >= n):
        raise ValueError(
            f"sparse_softmax_cross_entropy_with_logits: labels must be in [0, {n}), got "
            f"values from {int(lv.min())} to {int(lv.max())}"
        )


def _sparse_xent_fwd(labels: Any, logits: Any) -> Any:
    _check_labels(labels, logits.shape[-1])
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    with _quiet():
        lse = np.log(np.sum(np.exp(shifted), axis=-1))
    picked = np.take_along_axis(shifted, np.asarray(labels)[..., None].astype(np.intp), axis=-1)
    return lse - picked[..., 0]


def _sparse_xent_vjp(k: Any, g: Any, out: Any, labels: Any, logits: Any) -> tuple[Any, Any]:
    # ∂loss/∂logits = softmax(logits) − one_hot(labels); labels get no gradient
    depth = logits.shape[-1]
    onehot = k.one_hot(labels, depth=depth, dtype=_dtype_name(logits))
    return None, k.expand_dims(g, axis=-1) * (k.softmax(logits) - onehot)


def _dtype_name(x: Any) -> str:
    return str(getattr(x.dtype, "name", x.dtype))


sparse_xent_op = register(
    Op(
        "sparse_softmax_cross_entropy_with_logits",
        _sparse_xent_fwd,
        _sparse_xent_vjp,
        "sxent",
        r"-\log \mathrm{softmax}(z)_{y}",
        ("", "{g} · (softmax({y}) − onehot({x}))"),
        "Cross-entropy of integer class labels against softmax(logits), per row.",
        nondiff_inputs=(0,),
    )
)


def sparse_softmax_cross_entropy_with_logits(
    labels: Any, logits: Any, name: str | None = None
) -> Tensor:
    """Per-row ``-log softmax(logits)[label]``; ``labels`` are ints shaped ``logits.shape[:-1]``."""
    y = convert_to_tensor(labels)
    z = convert_to_tensor(logits)
    _require_float("sparse_softmax_cross_entropy_with_logits", z)
    if not y.dtype.is_integer:
        raise TypeError(
            f"sparse_softmax_cross_entropy_with_logits: labels must be integers, got "
            f"{y.dtype.name}; for one-hot/probability labels use "
            "softmax_cross_entropy_with_logits"
        )
    if y._value.shape != z._value.shape[:-1]:
        raise ValueError(
            f"sparse_softmax_cross_entropy_with_logits: labels {y.shape} must have the shape "
            f"of logits {z.shape} without its last axis"
        )
    return apply(sparse_xent_op, (y, z), {}, name=name)  # (its forward checks the labels)


__all__ += []
_ = sigmoid, tanh  # tv.nn.sigmoid is tv.sigmoid, tv.nn.tanh is tv.tanh

# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.nn")
