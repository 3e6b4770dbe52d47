"""Loss functions, as ``keras.losses``: ``MeanSquaredError``, ``MeanAbsoluteError``,
``SparseCategoricalCrossentropy``, ``CategoricalCrossentropy``, ``BinaryCrossentropy``.

A loss object is called as ``loss_fn(y_true, y_pred, sample_weight=None)``: it computes
one loss per sample with tapeviz ops (so a tape records them, grouped under the loss's
name in drawings) and reduces them to their mean over the batch (Keras'
``"sum_over_batch_size"``; ``reduction="sum"`` or ``"none"`` also work).

>>> import tapeviz as tv
>>> mse = tv.keras.losses.MeanSquaredError()
>>> print(mse([[1., 0.], [0., 1.]], tv.constant([[4., 3.], [0., -2.5]])))
tv.Tensor(7.5625, shape=(), dtype=float32)
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import _state
from .._surface import module_getattr as _module_getattr
from ..custom import name_scope
from ..ops import math as _math
from ..ops import nn as _nn
from ..ops import reduce as _reduce
from ..ops import shape as _shape_ops
from ..tensor import Tensor, convert_to_tensor
from . import activations, backend
from ._config import FromConfig

__all__ = [
    "Reduction",
    "Loss",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "SparseCategoricalCrossentropy",
    "CategoricalCrossentropy",
    "BinaryCrossentropy",
    "mean_squared_error",
    "mean_absolute_error",
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "binary_crossentropy",
    "get",
]

_REDUCTIONS = ("auto", "sum_over_batch_size", "sum", "none")


def _as_pred(y_pred: Any) -> Tensor:
    t = y_pred if isinstance(y_pred, Tensor) else convert_to_tensor(y_pred)
    if not t.dtype.is_floating:
        t = _math.cast(t, "float32")
    return t


def _as_true(y_true: Any, like: Tensor) -> Tensor:
    """``tf.cast(y_true, y_pred.dtype)``."""
    if isinstance(y_true, Tensor):
        return y_true if y_true.dtype == like.dtype else _math.cast(y_true, like.dtype)
    return Tensor._wrap(
        np.asarray(y_true._value if isinstance(y_true, Tensor) else y_true, dtype=like._value.dtype)
    )


def _match_ranks(y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor]:
    """Squeeze a trailing axis of size 1 so that (N, 1) and (N,) do not broadcast to (N, N)."""
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = _shape_ops.squeeze(y_pred, axis=-1)
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = _shape_ops.squeeze(y_true, axis=-1)
    return y_true, y_pred


def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per sample: ``mean((y_pred - y_true) ** 2, axis=-1)``."""
    y_pred = _as_pred(y_pred)
    y_true = _as_true(y_true, y_pred)
    return _reduce.reduce_mean(_math.square(_math.subtract(y_pred, y_true)), axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per sample: ``mean(|y_pred - y_true|, axis=-1)``."""
    y_pred = _as_pred(y_pred)
    y_true = _as_true(y_true, y_pred)
    return _reduce.reduce_mean(_math.abs(_math.subtract(y_pred, y_true)), axis=-1)


def _logits_of(output: Tensor, from_logits: bool, fn_name: str, op: str) -> tuple[Tensor, bool]:
    """Keras 2's shortcut: a softmax/sigmoid output remembers its logits; use them."""
    logits = (
        activations.softmax_logits(output)
        if op == "Softmax"
        else activations.sigmoid_logits(output)
    )
    if logits is None:
        return output, from_logits
    if from_logits:
        warnings.warn(
            f'"`{fn_name}` received `from_logits=True`, but the `output` argument was produced '
            f"by a {op} activation and thus does not represent logits. Was this intended?",
            stacklevel=4,
        )
    return logits, True


def _int_labels(y_true: Any, rank: int) -> Tensor:
    if _state.local.tracer is not None and isinstance(y_true, Tensor):
        # inside tv.function: no values to check; convert with ops
        t = y_true if y_true.dtype.is_integer else _math.cast(y_true, "int64")
        if t.ndim == rank and t.ndim > 0 and t.shape[-1] == 1:
            t = _shape_ops.reshape(t, list(t.shape)[:-1])
        return t
    value = y_true._value if isinstance(y_true, Tensor) else y_true
    arr = np.asarray(value)
    if arr.dtype.kind == "f" and (not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr))):
        raise ValueError("sparse categorical labels must be whole numbers (class indices)")
    arr = arr.astype(np.int64)
    if arr.ndim == rank and arr.ndim > 0 and arr.shape[-1] == 1:
        arr = arr.reshape(arr.shape[:-1])
    return Tensor._wrap(arr)


def sparse_categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, axis: int = -1
) -> Tensor:
    """Per sample: ``-log p[label]`` where ``p`` is ``y_pred`` (probabilities) or
    ``softmax(y_pred)`` when ``from_logits=True``; ``y_true`` holds class indices."""
    output = _as_pred(y_pred)
    output, from_logits = _logits_of(
        output, from_logits, "sparse_categorical_crossentropy", "Softmax"
    )
    if not from_logits:
        eps = backend.epsilon()
        output = _math.clip_by_value(output, eps, 1.0 - eps)
        output = _math.log(output)
    labels = _int_labels(y_true, output.ndim)
    if labels.ndim != output.ndim - 1:
        raise ValueError(
            f"sparse_categorical_crossentropy: labels of shape {tuple(labels.shape)} do not fit "
            f"predictions of shape {tuple(output.shape)} (expected labels of shape "
            f"{tuple(output.shape)[:-1]})"
        )
    n_classes = output.shape[-1]
    bad = (
        None
        if _state.local.tracer is not None
        else ((labels._value < 0) | (labels._value >= n_classes))
    )
    if bad is not None and np.any(bad):
        raise ValueError(
            f"sparse_categorical_crossentropy: a label is outside [0, {n_classes}) "
            f"(got {labels._value[bad].ravel()[:3].tolist()}); labels must be class indices"
        )
    return _nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=output)


def categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, axis: int = -1
) -> Tensor:
    """Per sample: ``-sum(y_true * log p)`` with ``p`` = ``y_pred`` or ``softmax(y_pred)``;
    ``y_true`` holds one-hot rows (or probabilities)."""
    output = _as_pred(y_pred)
    target = _as_true(y_true, output)
    output, from_logits = _logits_of(output, from_logits, "categorical_crossentropy", "Softmax")
    if from_logits:
        return _nn.softmax_cross_entropy_with_logits(labels=target, logits=output)
    output = _math.divide(output, _reduce.reduce_sum(output, axis=-1, keepdims=True))
    eps = backend.epsilon()
    output = _math.clip_by_value(output, eps, 1.0 - eps)
    return _math.negative(_reduce.reduce_sum(_math.multiply(target, _math.log(output)), axis=-1))


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False) -> Tensor:
    """Per sample: mean over the last axis of ``-(y log p + (1 - y) log(1 - p))``."""
    output = _as_pred(y_pred)
    target = _as_true(y_true, output)
    target, output = _match_ranks(target, output)
    output, from_logits = _logits_of(output, from_logits, "binary_crossentropy", "Sigmoid")
    if from_logits:
        # max(x, 0) - x z + log(1 + exp(-|x|)): the stable form of the logistic loss
        x = output
        bce = _math.add(
            _math.subtract(_math.maximum(x, 0.0), _math.multiply(x, target)),
            _math.log(_math.add(_math.exp(_math.negative(_math.abs(x))), 1.0)),
        )
    else:
        eps = backend.epsilon()
        p = _math.clip_by_value(output, eps, 1.0 - eps)
        pos = _math.multiply(target, _math.log(_math.add(p, eps)))
        neg = _math.multiply(
            _math.subtract(1.0, target), _math.log(_math.add(_math.subtract(1.0, p), eps))
        )
        bce = _math.negative(_math.add(pos, neg))
    if bce.ndim == 0:
        return bce
    return _reduce.reduce_mean(bce, axis=-1)


class Reduction:
    """The names of the ways a loss reduces per-sample values (Keras 2's ``ReductionV2``):
    ``Reduction.SUM_OVER_BATCH_SIZE`` is the string ``"sum_over_batch_size"``, etc."""

    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls) -> tuple[str, ...]:
        """The four reduction keys."""
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)

    @classmethod
    def validate(cls, key: str) -> None:
        """Raise ValueError, as Keras does, unless ``key`` is one of :meth:`all`."""
        if key not in cls.all():
            raise ValueError(f'Invalid Reduction Key: {key}. Expected keys are "{cls.all()}"')


class Loss(FromConfig):
    """Base class: ``__call__(y_true, y_pred, sample_weight=None)`` reduces ``call``'s
    per-sample losses.

    Parameters
    ----------
    reduction : {"auto", "sum_over_batch_size", "sum", "none"}
        ``auto`` = ``sum_over_batch_size``: the sum divided by the number of losses.
    name : str
    """

    def __init__(self, reduction: str = "auto", name: str | None = None) -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f'Invalid Reduction Key: {reduction}. Expected keys are "{", ".join(_REDUCTIONS)}"'
            )
        self.reduction = reduction
        self.name = name

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        """The loss of each example (subclasses define it; ``__call__`` reduces it)."""
        raise NotImplementedError("Loss subclasses must define call(y_true, y_pred)")

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """The reduced loss of ``call(y_true, y_pred)``, weighted by ``sample_weight``."""
        with name_scope(self.name or _default_scope(self)):
            losses = self.call(y_true, y_pred)
            return _reduce_losses(losses, sample_weight, self.reduction)

    def get_config(self) -> dict[str, Any]:
        """``reduction`` and ``name``; subclasses add their own arguments."""
        return {"reduction": self.reduction, "name": self.name}

    def __repr__(self) -> str:
        return f"<tv.keras.losses.{type(self).__name__} name={self.name!r}>"


def _default_scope(loss: Loss) -> str:
    return type(loss).__name__.lower()


def _reduce_losses(losses: Tensor, sample_weight: Any, reduction: str) -> Tensor:
    if sample_weight is not None:
        sw = (
            sample_weight
            if isinstance(sample_weight, Tensor)
            else Tensor._wrap(np.asarray(sample_weight, dtype=losses._value.dtype))
        )
        if sw.dtype != losses.dtype:
            sw = _math.cast(sw, losses.dtype)
        if sw.ndim == losses.ndim + 1 and sw.shape[-1] == 1:
            sw = _shape_ops.squeeze(sw, axis=-1)
        losses = _math.multiply(losses, sw)
    if reduction == "none":
        return losses
    total = _reduce.reduce_sum(losses)
    if reduction == "sum":
        return total
    n = max(int(np.size(losses._value)), 1)
    return _math.divide(total, Tensor._wrap(losses._value.dtype.type(n)))


class _FunctionLoss(Loss):
    _fn: Any = None
    _default_name = ""

    def __init__(self, reduction: str = "auto", name: str | None = None) -> None:
        super().__init__(reduction=reduction, name=name or self._default_name)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        y_pred = _as_pred(y_pred)
        y_true = _as_true(y_true, y_pred)
        y_true, y_pred = _match_ranks(y_true, y_pred)
        out: Tensor = type(self)._fn(y_true, y_pred)
        return out


class MeanSquaredError(_FunctionLoss):
    r"""The mean of :math:`(y_\text{pred} - y_\text{true})^2` (per sample over the last axis,
    then over the batch)."""

    _fn = staticmethod(mean_squared_error)
    _default_name = "mean_squared_error"


class MeanAbsoluteError(_FunctionLoss):
    r"""The mean of :math:`|y_\text{pred} - y_\text{true}|`."""

    _fn = staticmethod(mean_absolute_error)
    _default_name = "mean_absolute_error"


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy for integer class labels.

    Parameters
    ----------
    from_logits : bool
        True if ``y_pred`` are raw scores (logits); False if they are probabilities.
    """

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: Any = None,
        reduction: str = "auto",
        name: str = "sparse_categorical_crossentropy",
    ) -> None:
        if ignore_class is not None:
            raise NotImplementedError("ignore_class is not supported by tapeviz")
        super().__init__(reduction=reduction, name=name)
        self.from_logits = bool(from_logits)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        """The cross-entropy of each example from integer labels."""
        return sparse_categorical_crossentropy(y_true, y_pred, from_logits=self.from_logits)

    def get_config(self) -> dict[str, Any]:
        """The base arguments plus ``from_logits``."""
        return {**super().get_config(), "from_logits": self.from_logits}


class _SmoothedCrossentropy(Loss):
    """What CategoricalCrossentropy and BinaryCrossentropy share: ``from_logits`` and
    ``label_smoothing`` ``s``, which moves the labels towards uniform ones:
    ``y_true * (1 - s) + _smoothing_shift(s, y_pred)``."""

    _fn: Any = None
    _default_name = ""

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str = "auto",
        name: str | None = None,
    ) -> None:
        super().__init__(reduction=reduction, name=name or self._default_name)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    @staticmethod
    def _smoothing_shift(s: float, y_pred: Tensor) -> float:
        """What smoothing by ``s`` adds to every label."""
        raise NotImplementedError

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        """The cross-entropy of each example (from smoothed labels if asked)."""
        y_pred = _as_pred(y_pred)
        y_true = _as_true(y_true, y_pred)
        if self.label_smoothing:
            s = self.label_smoothing
            y_true = _math.add(_math.multiply(y_true, 1.0 - s), self._smoothing_shift(s, y_pred))
        out: Tensor = type(self)._fn(y_true, y_pred, from_logits=self.from_logits)
        return out

    def get_config(self) -> dict[str, Any]:
        """The base arguments plus ``from_logits`` and ``label_smoothing``."""
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
        }


class CategoricalCrossentropy(_SmoothedCrossentropy):
    """Cross-entropy for one-hot labels (``from_logits`` as above); smoothing by ``s``
    spreads ``s`` over the ``k`` classes: ``y_true * (1 - s) + s / k``."""

    _fn = staticmethod(categorical_crossentropy)
    _default_name = "categorical_crossentropy"

    @staticmethod
    def _smoothing_shift(s: float, y_pred: Tensor) -> float:
        return s / y_pred.shape[-1]


class BinaryCrossentropy(_SmoothedCrossentropy):
    """Cross-entropy for 0/1 labels and one probability (or logit) per output, averaged
    over the last axis; smoothing by ``s`` gives ``y_true * (1 - s) + 0.5 * s``."""

    _fn = staticmethod(binary_crossentropy)
    _default_name = "binary_crossentropy"

    @staticmethod
    def _smoothing_shift(s: float, y_pred: Tensor) -> float:
        return 0.5 * s


_BY_NAME: dict[str, Any] = {
    "mean_squared_error": mean_squared_error,
    "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error,
    "mae": mean_absolute_error,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "MeanSquaredError": MeanSquaredError,
    "MeanAbsoluteError": MeanAbsoluteError,
    "SparseCategoricalCrossentropy": SparseCategoricalCrossentropy,
    "CategoricalCrossentropy": CategoricalCrossentropy,
    "BinaryCrossentropy": BinaryCrossentropy,
}

# Keras' short aliases
MSE = mse = mean_squared_error
MAE = mae = mean_absolute_error


def get(identifier: Any) -> Any:
    """A loss from its name (``"mse"``, ``"sparse_categorical_crossentropy"``), or a callable."""
    if isinstance(identifier, str):
        found = _BY_NAME.get(identifier)
        if found is None:
            raise ValueError(f"Unknown loss function: '{identifier}'. Known: {sorted(_BY_NAME)}")
        return found() if isinstance(found, type) else found
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss function identifier: {identifier!r}")


# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.keras.losses")
