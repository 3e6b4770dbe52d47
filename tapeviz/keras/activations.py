"""Activation functions by name, as ``keras.activations``: relu, sigmoid, softmax, tanh, ...

Each one is made of tapeviz ops, so a tape records it (and a drawing shows it).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from .. import ops as _ops  # noqa: F401  (registers the ops)
from .._surface import module_getattr as _module_getattr
from ..ops import math as _math
from ..ops import nn as _nn
from ..tensor import Tensor

__all__ = [
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "linear",
    "exponential",
    "swish",
    "get",
    "serialize",
]


def relu(x: Any) -> Tensor:
    """``max(x, 0)``."""
    return _nn.relu(x)


def sigmoid(x: Any) -> Tensor:
    """``1 / (1 + exp(-x))``."""
    out = _math.sigmoid(x)
    if isinstance(x, Tensor):
        _remember(_SIGMOID_LOGITS, out, x)
    return out


# Keras 2 remembers the logits of a softmax output, so that a cross-entropy loss given the
# probabilities can work from the logits instead (exact and stable).  Tensors have no
# spare attribute, so the link is kept here, keyed by tensor id, while the output lives.
_SOFTMAX_LOGITS: dict[int, Tensor] = {}
_SIGMOID_LOGITS: dict[int, Tensor] = {}


def _remember(table: dict[int, Tensor], out: Tensor, x: Tensor) -> None:
    table[out._id] = x
    weakref.finalize(out, table.pop, out._id, None)


def softmax(x: Any, axis: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along the last axis (each row becomes a distribution)."""
    out = _nn.softmax(x, axis=axis)
    if isinstance(x, Tensor) and axis in (-1, x.ndim - 1):
        _remember(_SOFTMAX_LOGITS, out, x)
    return out


def softmax_logits(output: Any) -> Tensor | None:
    """The logits ``output`` was computed from by :func:`softmax`, if it was."""
    return _SOFTMAX_LOGITS.get(output._id) if isinstance(output, Tensor) else None


def sigmoid_logits(output: Any) -> Tensor | None:
    """The logits ``output`` was computed from by :func:`sigmoid`, if it was."""
    return _SIGMOID_LOGITS.get(output._id) if isinstance(output, Tensor) else None


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent."""
    return _math.tanh(x)


def linear(x: Any) -> Any:
    """The identity (no activation)."""
    return x


def exponential(x: Any) -> Tensor:
    """``exp(x)``."""
    return _math.exp(x)


def swish(x: Any) -> Tensor:
    """``x * sigmoid(x)``."""
    return _math.multiply(x, _math.sigmoid(x))


_BY_NAME: dict[str, Callable[..., Any]] = {
    "relu": relu,
    "sigmoid": sigmoid,
    "softmax": softmax,
    "tanh": tanh,
    "linear": linear,
    "exponential": exponential,
    "swish": swish,
}


def get(identifier: Any) -> Callable[..., Any]:
    """An activation from its name (``"relu"``), ``None`` (linear) or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier)
        if fn is None:
            raise ValueError(
                f"Unknown activation function: '{identifier}'. Known: {sorted(_BY_NAME)}"
            )
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(activation: Callable[..., Any]) -> str:
    """The name of an activation function (its ``__name__``)."""
    return getattr(activation, "__name__", repr(activation))


# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.keras.activations")
