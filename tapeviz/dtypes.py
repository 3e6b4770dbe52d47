"""Data types, named as TensorFlow names them, and the rules for converting Python values.

TensorFlow does **not** promote between tensors: ``float32 + float64`` is an error, and a
Python number takes the dtype of the tensor it meets.  Free-standing Python values convert
as ``tf.constant`` converts them: ``3.0 -> float32``, ``3 -> int32``, ``True -> bool``, while
a numpy array keeps its own dtype (``np.array([1.0])`` stays float64).  A Python complex
number becomes complex128 (``tv.constant(1+2j)``), as in TensorFlow; ``complex64`` holds two
float32 parts, ``complex128`` two float64 parts.

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
    "complex64",
    "complex128",
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

    __slots__ = ("name", "np", "kind", "is_floating", "is_integer", "is_bool", "is_complex")

    def __init__(self, name: str, np_dtype: Any) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.kind = self.np.kind  # numpy's letter ("f", "c", "i"...): rules test x.dtype.kind
        self.is_floating = self.np.kind == "f"  # (False for complex, as in TensorFlow)
        self.is_integer = self.np.kind in "iu"
        self.is_bool = self.np.kind == "b"
        self.is_complex = self.np.kind == "c"

    @property
    def as_numpy_dtype(self) -> type:
        """The numpy scalar type (``np.float32`` for ``tv.float32``)."""
        return self.np.type

    @property
    def base_dtype(self) -> DType:
        """The dtype itself (tapeviz has no reference dtypes)."""
        return self

    @property
    def real_dtype(self) -> DType:
        """The dtype of the real and imaginary parts (``complex64 -> float32``); itself
        for the other dtypes."""
        if self.is_complex:
            return float32 if self.np == np.complex64 else float64
        return self

    @property
    def size(self) -> int:
        """Bytes per element."""
        return int(self.np.itemsize)

    def _unordered(self, what: str) -> None:
        if self.is_complex:
            raise TypeError(
                f"{self!r} has no {what} value: complex numbers are not ordered (as in "
                f"TensorFlow); use {self.real_dtype!r}.{what} for its parts"
            )

    @property
    def min(self) -> Any:
        """The smallest value of the dtype (the most negative finite one for floats)."""
        self._unordered("min")
        return np.finfo(self.np).min if self.is_floating else np.iinfo(self.np).min

    @property
    def max(self) -> Any:
        """The largest finite value of the dtype."""
        self._unordered("max")
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
complex64 = DType("complex64", np.complex64)
complex128 = DType("complex128", np.complex128)
string = DType("string", np.object_)

_BY_NP: dict[np.dtype, DType] = {
    d.np: d
    for d in (
        float16,
        float32,
        float64,
        int8,
        int16,
        int32,
        int64,
        uint8,
        bool,
        complex64,
        complex128,
    )
}


def as_dtype(value: Any) -> DType:
    """Turn ``tv.float32``, ``"float32"``, ``np.float32`` or ``np.dtype`` into a DType."""
    if isinstance(value, DType):
        return value
    if value is float:
        return float32
    if value is int:
        return int32
    if value is complex:
        return complex128
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

    Python floats become float32, ints int32 and complex numbers complex128, as in
    TensorFlow; numpy arrays and numpy scalars keep their dtype.
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
        return np.dtype(np.complex128)
    raise TypeError(
        f"cannot convert {value!r} to a tensor: expected numbers, nested lists of numbers "
        "or numpy arrays"
    )


# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.dtypes")
