"""Data types, named as TensorFlow names them, and the rules for converting Python values.

TensorFlow does **not** promote between tensors: ``float32 + float64`` is an error, and a
Python number takes the dtype of the tensor it meets.  Free-standing Python values convert
as ``tf.constant`` converts them: ``3.0 -> float32``, ``3 -> int32``, ``True -> bool``, while
a numpy array keeps its own dtype (``np.array([1.0])`` stays float64).

>>> import tapeviz as tv
>>> tv.constant(3.0).dtype, tv.constant(3).dtype, tv.constant([1, 2]).dtype
(tv.float32, tv.int32, tv.int32)
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ._surface import module_getattr as _module_getattr

__all__ = [
    "DType",
    "as_dtype",
    "bfloat16",
    "bool",
    "float16",
    "float32",
    "float64",
    "half",
    "double",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "string",
]


class DType:
    """A tensor's element type (``tv.float32``, ``tv.int32``...)."""

    __slots__ = ("name", "np", "is_floating", "is_integer", "is_bool")

    def __init__(self, name: str, np_dtype: Any) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating = self.np.kind == "f"
        self.is_integer = self.np.kind in "iu"
        self.is_bool = self.np.kind == "b"

    @property
    def as_numpy_dtype(self) -> type:
        """The numpy scalar type (``np.float32`` for ``tv.float32``)."""
        return self.np.type

    @property
    def base_dtype(self) -> DType:
        """The dtype itself (tapeviz has no reference dtypes)."""
        return self

    @property
    def min(self) -> Any:
        """The smallest value of the dtype (the most negative finite one for floats)."""
        return np.finfo(self.np).min if self.is_floating else np.iinfo(self.np).min

    @property
    def max(self) -> Any:
        """The largest finite value of the dtype."""
        return np.finfo(self.np).max if self.is_floating else np.iinfo(self.np).max

    def __repr__(self) -> str:
        return f"tv.{self.name}"

    def __str__(self) -> str:
        return f"<dtype: '{self.name}'>"  # print(x.dtype), as TensorFlow prints it

    def __eq__(self, other: object) -> builtins.bool:
        if isinstance(other, DType):
            return self.np == other.np
        try:
            return self.np == as_dtype(other).np
        except TypeError:
            return False

    def __hash__(self) -> int:
        return hash(self.np)


float16 = half = DType("float16", np.float16)
float32 = DType("float32", np.float32)
float64 = double = DType("float64", np.float64)
bfloat16 = float32  # not emulated: bfloat16 maps to float32 on this engine
int8 = DType("int8", np.int8)
int16 = DType("int16", np.int16)
int32 = DType("int32", np.int32)
int64 = DType("int64", np.int64)
uint8 = DType("uint8", np.uint8)
bool = DType("bool", np.bool_)  # TensorFlow's name
string = DType("string", np.object_)

_BY_NP: dict[np.dtype, DType] = {
    d.np: d for d in (float16, float32, float64, int8, int16, int32, int64, uint8, bool)
}


def as_dtype(value: Any) -> DType:
    """Turn ``tv.float32``, ``"float32"``, ``np.float32`` or ``np.dtype`` into a DType."""
    if isinstance(value, DType):
        return value
    if value is float:
        return float32
    if value is int:
        return int32
    try:
        npd = np.dtype(value)
    except TypeError:
        raise TypeError(
            f"cannot interpret {value!r} as a dtype; use tv.float32, tv.float64, tv.int32, ..."
        ) from None
    try:
        return _BY_NP[npd]
    except KeyError:
        raise TypeError(f"dtype {npd} is not supported by tapeviz") from None


def from_numpy(npd: np.dtype) -> DType:
    """The DType of a numpy dtype (fast path for the engine)."""
    try:
        return _BY_NP[npd]
    except KeyError:
        raise TypeError(f"dtype {npd} is not supported by tapeviz") from None


def default_numpy_dtype(value: Any) -> np.dtype | None:
    """The dtype ``tv.constant(value)`` gives for a Python value (None: keep numpy's).

    Python floats become float32 and ints int32, as in TensorFlow; numpy arrays and numpy
    scalars keep their dtype.
    """
    if isinstance(value, np.ndarray | np.generic):
        return None
    probe = np.asarray(value)
    kind = probe.dtype.kind
    if kind == "f":
        return np.dtype(np.float32)
    if kind in "iu":
        return np.dtype(np.int32)
    if kind == "b":
        return np.dtype(np.bool_)
    if kind == "c":
        raise TypeError("complex values are not supported by tapeviz")
    raise TypeError(
        f"cannot convert {value!r} to a tensor: expected numbers, nested lists of numbers "
        "or numpy arrays"
    )


# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.dtypes")
