"""What happens when numpy meets a tapeviz Tensor: the same as in TensorFlow.

A numpy function turns tensors into numpy arrays and computes on raw numbers, so the tape
cannot see it: ``np.mean(t)`` is a numpy value and a gradient through it is ``None``.  The
TensorFlow guides teach exactly this lesson, so tapeviz keeps it.  Operators stay tensor
operators, as in TensorFlow: ``np_array + t`` and ``np.float32(2) * t`` are recorded ops
that give Tensors (numpy hands them to the Tensor, which has the higher
``__array_priority__``).

What tapeviz adds: while a tape records, the first numpy call on a tensor warns (once per
tape) that the tape cannot see numpy code, and names the tapeviz op to use instead.

>>> import numpy as np, tapeviz as tv
>>> x = tv.Variable(2.0)
>>> with tv.GradientTape() as tape:  # doctest: +SKIP
...     y = tv.constant(np.square(x))   # NumpyOnTensorWarning: the tape cannot see numpy.square
>>> print(tape.gradient(y, x))  # doctest: +SKIP
None
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import _state

__all__ = ["NumpyOnTensorWarning", "warn_if_recording", "call_function"]


class NumpyOnTensorWarning(UserWarning):
    """numpy computed on a tensor while a GradientTape was recording (the tape cannot see it)."""


# numpy function -> the tapeviz op that does the same and is recorded
_INSTEAD: dict[str, str] = {
    "sum": "tv.reduce_sum",
    "mean": "tv.reduce_mean",
    "max": "tv.reduce_max",
    "amax": "tv.reduce_max",
    "min": "tv.reduce_min",
    "amin": "tv.reduce_min",
    "prod": "tv.reduce_prod",
    "argmax": "tv.argmax",
    "argmin": "tv.argmin",
    "reshape": "tv.reshape",
    "transpose": "tv.transpose",
    "concatenate": "tv.concat",
    "stack": "tv.stack",
    "squeeze": "tv.squeeze",
    "expand_dims": "tv.expand_dims",
    "where": "tv.where",
    "clip": "tv.clip_by_value",
    "dot": "tv.matmul or tv.tensordot",
    "matmul": "tv.matmul",
    "tensordot": "tv.tensordot",
    "einsum": "tv.einsum",
    "linspace": "tv.linspace",
    "eye": "tv.eye",
    "zeros_like": "tv.zeros_like",
    "ones_like": "tv.ones_like",
}


def _recording_tapes() -> list[Any]:
    return [t for t in _state.local.tapes if t._recording]


def warn_if_recording(what: str | None, stacklevel: int = 3) -> None:
    """Warn once per recording tape that numpy code is invisible to it."""
    tapes = [t for t in _recording_tapes() if not t._numpy_warned]
    if not tapes:
        return
    for t in tapes:
        t._numpy_warned = True
    if what is None:
        call = "A numpy function converted a Tensor to a numpy array"
        instead = "the tapeviz op of the same name (tv.exp, tv.square, tv.reduce_mean, ...)"
    else:
        call = f"numpy.{what} converted a Tensor to a numpy array"
        instead = _INSTEAD.get(what, "a tapeviz op (tv.reduce_mean, tv.exp, tv.matmul, ...)")
    warnings.warn(
        f"{call} while a GradientTape is recording. The tape cannot see numpy code: "
        f"gradients through this value will be None. Use {instead} instead, or wrap numpy "
        "code in tv.numpy_function (no gradient) or tv.custom_gradient (your own gradient).",
        NumpyOnTensorWarning,
        stacklevel=stacklevel,
    )


def _plain(x: Any) -> Any:
    from ..tensor import Tensor

    if isinstance(x, Tensor):
        v = x._value
        return np.asarray(v) if isinstance(v, np.ndarray) else v
    if isinstance(x, list | tuple):
        return type(x)(_plain(e) for e in x)
    return x


# read only shapes and dtypes: nothing a gradient could flow through
_SHAPE_ONLY = {"shape", "ndim", "size", "result_type", "zeros_like", "ones_like", "empty_like"}


def call_function(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``np.<func>(...)`` with tensors as numpy arrays, as TensorFlow (no gradient)."""
    name = getattr(func, "__name__", None)
    if name not in _SHAPE_ONLY:
        warn_if_recording(name, stacklevel=4)
    return func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
