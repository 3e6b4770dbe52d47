"""``tv.TensorArray``: a list of tensors written one at a time, as ``tf.TensorArray`` in
eager code (``ta = ta.write(i, value)`` in a loop, then ``ta.stack()``).

The elements are the tensors written, so gradients flow through ``read`` and ``stack``
(``stack`` is a recorded ``tv.stack``).

>>> import tapeviz as tv
>>> ta = tv.TensorArray(tv.float32, size=0, dynamic_size=True)
>>> for i in range(3):
...     ta = ta.write(i, tv.constant(float(i * i)))
>>> print(ta.stack())
tv.Tensor([0. 1. 4.], shape=(3,), dtype=float32)
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from . import dtypes
from ._readonly import ReadOnly
from .errors import OutOfRangeError
from .tensor import Tensor, convert_to_tensor

__all__ = ["TensorArray"]


class TensorArray:
    """A growable (``dynamic_size=True``) or fixed-size array of same-dtype tensors."""

    def __init__(
        self,
        dtype: Any,
        size: Any = None,
        dynamic_size: Any = None,
        clear_after_read: Any = None,
        tensor_array_name: Any = None,
        handle: Any = None,
        flow: Any = None,
        infer_shape: bool = True,
        element_shape: Any = None,
        colocate_with_first_write_call: bool = True,
        name: Any = None,
    ) -> None:
        self._dtype = dtypes.as_dtype(dtype)
        self._size = 0 if size is None else self._index(size, "size")
        self._dynamic = bool(dynamic_size)
        self._items: list[Tensor | None] = [None] * self._size
        self._element_shape = None if element_shape is None else tuple(element_shape)
        self._infer_shape = infer_shape

    @staticmethod
    def _index(i: Any, what: str) -> int:
        try:
            return operator.index(i.numpy() if isinstance(i, Tensor) else i)
        except TypeError:
            raise TypeError(f"TensorArray: {what} must be an integer, got {i!r}") from None

    dtype = ReadOnly[dtypes.DType]("_dtype", "The element type.")
    dynamic_size = ReadOnly[bool]("_dynamic", "Whether writing past the end grows the array.")
    element_shape = ReadOnly[Any](
        "_element_shape", "The shape every element must have (None: set by the first write)."
    )

    def size(self, name: Any = None) -> Tensor:
        """The number of elements (written or not), an int32 scalar."""
        return Tensor._wrap(np.int32(len(self._items)))

    def write(self, index: Any, value: Any, name: Any = None) -> TensorArray:
        """Store ``value`` at ``index``; returns the array (use ``ta = ta.write(...)``)."""
        i = self._index(index, "index")
        t = convert_to_tensor(value, dtype=self._dtype) if not isinstance(value, Tensor) else value
        if t.dtype != self._dtype:
            raise TypeError(
                f"TensorArray dtype is {self._dtype.name} but the value written at index {i} "
                f"is {t.dtype.name}; cast it with tv.cast"
            )
        if i < 0:
            raise ValueError(f"TensorArray.write: index must be >= 0, got {i}")
        if i >= len(self._items):
            if not self._dynamic:
                raise OutOfRangeError(
                    f"Tried to write to index {i} but array is not resizeable and size is: "
                    f"{len(self._items)}. Create it with dynamic_size=True to let it grow."
                )
            self._items += [None] * (i + 1 - len(self._items))
        shape = tuple(t.shape)
        if self._infer_shape:
            if self._element_shape is None:
                self._element_shape = shape
            elif self._element_shape != shape:
                raise ValueError(
                    f"TensorArray: the value at index {i} has shape {shape}, the others "
                    f"{self._element_shape}; all elements must have one shape"
                )
        self._items[i] = t
        return self

    def read(self, index: Any, name: Any = None) -> Tensor:
        """The tensor at ``index`` (the one written: its gradient flows)."""
        i = self._index(index, "index")
        if not 0 <= i < len(self._items):
            raise IndexError(f"TensorArray.read: index {i} out of range [0, {len(self._items)})")
        t = self._items[i]
        if t is None:
            if self._element_shape is None:
                raise ValueError(
                    f"Could not read from TensorArray index {i} because it has not yet been "
                    "written to."
                )
            return Tensor._wrap(np.zeros(self._element_shape, self._dtype.np))
        return t

    def stack(self, name: Any = None) -> Tensor:
        """All elements stacked on a new first axis (unwritten ones as zeros)."""
        from .ops.shape import stack

        if not self._items:
            shape = (0, *(self._element_shape or ()))
            return Tensor._wrap(np.zeros(shape, self._dtype.np))
        return stack([self.read(i) for i in range(len(self._items))], axis=0)

    def gather(self, indices: Any, name: Any = None) -> Tensor:
        """The elements at ``indices``, stacked."""
        from .ops.shape import stack

        idx = indices.numpy() if isinstance(indices, Tensor) else indices
        return stack([self.read(int(i)) for i in np.asarray(idx).reshape(-1)], axis=0)

    def concat(self, name: Any = None) -> Tensor:
        """All elements joined along their first axis."""
        from .ops.shape import concat

        return concat([self.read(i) for i in range(len(self._items))], axis=0)

    def unstack(self, value: Any, name: Any = None) -> TensorArray:
        """Write the slices ``value[0], value[1], ...`` as elements."""
        t = convert_to_tensor(value)
        n = int(t.shape[0])
        if n > len(self._items) and not self._dynamic and self._items:
            raise OutOfRangeError(
                f"TensorArray.unstack: {n} slices for an array of size {len(self._items)}"
            )
        if n > len(self._items):
            self._items += [None] * (n - len(self._items))
        for i in range(n):
            self.write(i, t[i])
        return self

    def __repr__(self) -> str:
        return f"<tv.TensorArray dtype={self._dtype.name} size={len(self._items)}>"
