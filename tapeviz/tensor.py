"""Values: the immutable :class:`Tensor`, the mutable :class:`Variable`, and conversions.

A Tensor wraps a numpy value (a numpy scalar for rank 0, an ``ndarray`` otherwise) and an
id from a counter.  Tensors are never changed in place; a Variable's ``assign*`` methods
replace its value with a new array, so anything a tape saved earlier stays valid.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _state, dtypes
from ._readonly import ReadOnly
from ._state import Tracer
from .dtypes import DType
from .ops import _registry

__all__ = [
    "Tensor",
    "Variable",
    "TensorShape",
    "constant",
    "convert_to_tensor",
    "is_tensor",
]

_next_id = _state.next_id


class TensorShape(tuple[int, ...]):
    """A tensor's shape: a tuple of ints that prints as TensorFlow prints it."""

    def __repr__(self) -> str:
        return f"TensorShape({list(self)})"

    def __str__(self) -> str:
        return tuple.__repr__(tuple(self))

    def as_list(self) -> list[int]:
        """The dimensions as a list of ints."""
        return list(self)

    @property
    def rank(self) -> int:
        """The number of dimensions."""
        return len(self)

    @property
    def ndims(self) -> int:
        """The number of dimensions (TensorFlow's older name for ``rank``)."""
        return len(self)

    def num_elements(self) -> int:
        """The number of entries (the product of the dimensions)."""
        return int(np.prod(self, dtype=np.int64))


def _as_value(value: Any) -> Any:
    """Normalise: rank 0 becomes a numpy scalar (fast arithmetic), arrays stay arrays."""
    if isinstance(value, np.ndarray):
        return value[()] if value.ndim == 0 else value
    return value


class Tensor:
    """An immutable n-dimensional value, as ``tf.Tensor``.

    Create tensors with :func:`tapeviz.constant` or as results of ops.  Arithmetic
    operators (``+ - * / ** @``, unary ``-``, comparisons) and indexing call tapeviz ops,
    so a recording tape sees them.

    >>> import tapeviz as tv
    >>> tv.constant([[1., 2.], [3., 4.]]) @ tv.constant([[1.], [2.]])
    <tv.Tensor: shape=(2, 1), dtype=float32, numpy=
    array([[ 5.],
           [11.]], dtype=float32)>
    """

    __slots__ = ("_value", "_id", "_name", "__weakref__")
    __array_priority__ = 100

    _value: Any
    _id: int
    _name: str | None

    def __init__(self, value: Any, dtype: Any = None, name: str | None = None) -> None:
        t = convert_to_tensor(value, dtype=dtype)
        self._value = t._value
        self._id = _next_id()
        self._name = name

    @classmethod
    def _wrap(cls, value: Any) -> Tensor:
        t = object.__new__(Tensor)
        t._value = _as_value(value)
        t._id = _next_id()
        t._name = None
        return t

    # -- basic properties ------------------------------------------------------------
    @property
    def shape(self) -> TensorShape:
        """The dimensions, as a ``TensorShape`` (a tuple of ints)."""
        return TensorShape(self._value.shape)

    @property
    def dtype(self) -> DType:
        """The element type (``tv.float32``, ...)."""
        return dtypes.from_numpy(self._value.dtype)

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return int(self._value.ndim)

    name = ReadOnly[str | None](
        "_name", "The name the tensor was given (None if none), shown in drawings."
    )

    def numpy(self) -> Any:
        """The value as a numpy array (a numpy scalar for rank 0); a copy, safe to modify."""
        v = self._value
        return v.copy() if isinstance(v, np.ndarray) else v

    def get_shape(self) -> TensorShape:
        """The same as :attr:`shape`."""
        return self.shape

    def ref(self) -> _Ref:
        """A hashable handle (Tensors compare elementwise, so they are not hashable)."""
        return _Ref(self)

    # -- printing, as TensorFlow prints -------------------------------------------------
    def _numpy_text(self, is_repr: bool) -> str:
        v = self._value
        if isinstance(v, np.generic):
            text = str(v)
            if isinstance(v, np.bool_):
                text = "True" if v else "False"
        else:
            text = repr(v) if is_repr else str(v)
        return "\n" + text if "\n" in text else text

    def __repr__(self) -> str:
        return (
            f"<tv.Tensor: shape={self.shape}, dtype={self.dtype.name}, "
            f"numpy={self._numpy_text(True)}>"
        )

    def __str__(self) -> str:
        return f"tv.Tensor({self._numpy_text(False)}, shape={self.shape}, dtype={self.dtype.name})"

    def __format__(self, spec: str) -> str:
        """As TensorFlow: the numpy value formatted (``f"{t:.2f}"`` for a scalar tensor;
        ``f"{t}"`` gives the numpy text, ``[1. 2.]``)."""
        v = self._value
        if spec and isinstance(v, np.ndarray):
            raise TypeError(
                f"format spec {spec!r} applies to scalar tensors only (as in TensorFlow); "
                f"this tensor has shape {self.shape}. Format its elements, e.g. "
                f"np.array2string(t.numpy(), precision=2) or [f'{{e:{spec}}}' for e in t]"
            )
        return format(v, spec)

    # -- Python protocol ------------------------------------------------------------------
    def __hash__(self) -> int:
        raise TypeError(
            "Tensor is unhashable (== compares elementwise). Use tensor.ref() as the key."
        )

    def __bool__(self) -> bool:
        local = _state.local
        if local.tracer is not None:
            local.tracer.python_bool(self)
        if self._value.size != 1:
            raise ValueError(
                f"The truth value of a tensor of shape {self.shape} is ambiguous; "
                "use tv.reduce_any / tv.reduce_all or compare elements explicitly"
            )
        return builtins.bool(self._value)

    def __len__(self) -> int:
        if self._value.ndim == 0:
            raise TypeError("len() of a scalar tensor (shape ())")
        return int(self._value.shape[0])

    def __iter__(self) -> Iterator[Tensor]:
        if self._value.ndim == 0:
            raise TypeError("iterating over a scalar tensor (shape ()) is not possible")
        for i in range(len(self)):
            yield self[i]

    def __float__(self) -> float:
        return float(self._value)

    def __complex__(self) -> complex:
        return complex(self._value)

    def __int__(self) -> int:
        return int(self._value)

    def __index__(self) -> int:
        if not self.dtype.is_integer:
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype!r}")
        return int(self._value)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # numpy code on a tensor gets a plain array, as in TensorFlow (the tape cannot see
        # it); while a tape records, one warning says so.  Operators (array + tensor) are
        # not affected: numpy defers them to the Tensor by its __array_priority__.
        if _state.local.tapes:
            from .ops.numpy_dispatch import warn_if_recording

            warn_if_recording(None)
        arr = np.asarray(self._value)
        return arr.astype(dtype) if dtype is not None else arr

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        from .ops.numpy_dispatch import call_function

        return call_function(func, args, kwargs)

    # -- operators (installed by tapeviz.ops.operators; declared here for type checkers) --
    if TYPE_CHECKING:

        def __add__(self, other: Any) -> Tensor: ...
        def __radd__(self, other: Any) -> Tensor: ...
        def __sub__(self, other: Any) -> Tensor: ...
        def __rsub__(self, other: Any) -> Tensor: ...
        def __mul__(self, other: Any) -> Tensor: ...
        def __rmul__(self, other: Any) -> Tensor: ...
        def __truediv__(self, other: Any) -> Tensor: ...
        def __rtruediv__(self, other: Any) -> Tensor: ...
        def __pow__(self, other: Any) -> Tensor: ...
        def __rpow__(self, other: Any) -> Tensor: ...
        def __matmul__(self, other: Any) -> Tensor: ...
        def __rmatmul__(self, other: Any) -> Tensor: ...
        def __floordiv__(self, other: Any) -> Tensor: ...
        def __mod__(self, other: Any) -> Tensor: ...
        def __neg__(self) -> Tensor: ...
        def __pos__(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def __lt__(self, other: Any) -> Tensor: ...
        def __le__(self, other: Any) -> Tensor: ...
        def __gt__(self, other: Any) -> Tensor: ...
        def __ge__(self, other: Any) -> Tensor: ...
        def __eq__(self, other: Any) -> Tensor: ...  # type: ignore[override]
        def __ne__(self, other: Any) -> Tensor: ...  # type: ignore[override]
        def __and__(self, other: Any) -> Tensor: ...
        def __or__(self, other: Any) -> Tensor: ...
        def __invert__(self) -> Tensor: ...

    def __getitem__(self, key: Any) -> Tensor:
        from .ops.shape import strided_slice_key

        return strided_slice_key(self, key)


class _Ref:
    __slots__ = ("_t",)

    def __init__(self, t: Tensor) -> None:
        self._t = t

    def deref(self) -> Tensor:
        return self._t

    def __hash__(self) -> int:
        return self._t._id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ref) and other._t is self._t


class Variable(Tensor):
    """A mutable, trainable tensor, as ``tf.Variable``.

    Parameters
    ----------
    initial_value : array-like
        The first value; Python floats become float32.
    trainable : bool
        Trainable float variables are watched automatically by a tape that sees them read.
    name : str, optional
        Printed with TensorFlow's ``:0`` suffix (``Variable(1.0, name="w")`` is ``w:0``).
    dtype : dtype, optional

    >>> import tapeviz as tv
    >>> x = tv.Variable(3.0, name="x")
    >>> x
    <tv.Variable 'x:0' shape=() dtype=float32, numpy=3.0>
    >>> x.assign_sub(0.5)
    <tv.Variable 'x:0' shape=() dtype=float32, numpy=2.5>
    """

    __slots__ = ("_trainable", "_vname", "_on_assign")

    def __init__(
        self,
        initial_value: Any = None,
        trainable: bool = True,
        name: str | None = None,
        dtype: Any = None,
        shape: Any = None,
    ) -> None:
        if initial_value is None:
            raise ValueError("Variable needs an initial_value, e.g. tv.Variable(0.0)")
        if callable(initial_value):
            initial_value = initial_value()
        t = convert_to_tensor(initial_value, dtype=dtype)
        local = _state.local
        if local.tracer is not None:
            local.tracer.variable_created(self)
        value = t._value
        if isinstance(value, np.ndarray):
            value = value.copy()
            value.flags.writeable = False
        self._value = value
        self._id = _next_id()
        self._name = None
        self._trainable = builtins.bool(trainable)
        base = name if name is not None else "Variable"
        if not isinstance(base, str):
            raise TypeError(f"Variable name must be a string, got {type(base).__name__}")
        self._vname = base if ":" in base else f"{_state.local.scope}{base}:0"
        self._on_assign: Any = None

    name = ReadOnly[str](
        "_vname", 'The name with its scope and output index (``"dense/w:0"``), as in TensorFlow 2.'
    )
    trainable = ReadOnly[bool](
        "_trainable", "Whether optimizers and ``trainable_variables`` take it (and tapes watch it)."
    )

    def __repr__(self) -> str:
        return (
            f"<tv.Variable '{self._vname}' shape={self.shape} dtype={self.dtype.name}, "
            f"numpy={self._numpy_text(True)}>"
        )

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        # TensorFlow: f"{v}" is str(v); a format spec (which TF rejects for a Variable)
        # formats its value, as for a tensor
        return str(self) if not spec else Tensor.__format__(self, spec)

    def value(self) -> Tensor:
        """The current value as a Tensor (recorded as a read, like ``read_value``)."""
        return self.read_value()

    def read_value(self) -> Tensor:
        """The current value as a new tensor (recorded as an identity op)."""
        from .ops.math import identity

        return identity(self)

    def _new_value(self, value: Any, what: str) -> Any:
        t = convert_to_tensor(value, dtype=self.dtype)
        new = t._value
        if new.shape != self._value.shape:
            raise ValueError(
                f"Cannot {what} variable '{self._vname}': its shape is {self.shape} but the "
                f"value has shape {t.shape}. Reshape the value (tv.reshape) or create a new "
                "Variable."
            )
        return new

    def _set(self, new: Any) -> Variable:
        local = _state.local
        if local.tracer is not None:
            local.tracer.assign(self, new)
            return self
        if isinstance(new, np.ndarray):
            new = new.copy() if new.base is not None or new.flags.writeable else new
            new.flags.writeable = False
        self._value = _as_value(new)
        return self

    def assign(self, value: Any, use_locking: bool = False, name: Any = None) -> Variable:
        """Replace the value (same shape and dtype)."""
        tracer: Tracer | None = _state.local.tracer
        if tracer is not None:  # inside tv.function: an equation of the program
            return tracer.assign(self, value, "assign")
        return self._set(self._new_value(value, "assign to"))

    def assign_add(self, delta: Any, use_locking: bool = False, name: Any = None) -> Variable:
        """``self = self + delta`` in the variable's dtype."""
        tracer: Tracer | None = _state.local.tracer
        if tracer is not None:
            return tracer.assign(self, delta, "assign_add")
        return self._set(self._value + self._new_value(delta, "add to"))

    def assign_sub(self, delta: Any, use_locking: bool = False, name: Any = None) -> Variable:
        """``self = self - delta`` in the variable's dtype."""
        tracer: Tracer | None = _state.local.tracer
        if tracer is not None:
            return tracer.assign(self, delta, "assign_sub")
        value = self._value
        if type(delta) is Tensor and type(value) is not np.ndarray:
            d = delta._value  # the common case: a scalar step x.assign_sub(lr * g)
            if type(d) is type(value):
                self._value = value - d
                return self
        return self._set(value - self._new_value(delta, "subtract from"))


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a tapeviz Tensor (a Variable is one)."""
    return isinstance(x, Tensor)


def _python_to_numpy(value: Any, dtype: DType | None) -> Any:
    if dtype is not None:
        probe = np.asarray(value)
        fractional = dtype.is_integer and probe.dtype.kind == "f"
        if fractional and (not np.all(np.isfinite(probe)) or np.any(probe != np.round(probe))):
            raise TypeError(
                f"Cannot convert {value!r} to a tensor of dtype {dtype.name}: it has a "
                "fractional part. Use a float dtype or tv.cast explicitly."
            )
        if dtype.is_bool and probe.dtype.kind != "b":
            raise TypeError(f"Cannot convert {value!r} to a bool tensor")
        if probe.dtype.kind == "c" and not dtype.is_complex:
            raise TypeError(
                f"Cannot convert {value!r} to a tensor of dtype {dtype.name}: it is complex. "
                "Use tv.complex64 / tv.complex128, or take its part with tv.math.real / "
                "tv.math.imag"
            )
        return np.asarray(value, dtype=dtype.np)
    npd = dtypes.default_numpy_dtype(value)
    try:
        return np.asarray(value, dtype=npd)
    except ValueError as e:
        raise ValueError(
            f"Cannot convert {value!r} to a tensor: nested lists must be rectangular ({e})"
        ) from None


def convert_to_tensor(
    value: Any, dtype: Any = None, dtype_hint: Any = None, name: Any = None
) -> Tensor:
    """A Tensor for ``value`` (returned unchanged if it already is one).

    Python floats become float32 and ints int32; numpy values keep their dtype unless
    ``dtype`` is given.  A Tensor of another dtype than ``dtype`` is an error, as in
    TensorFlow: convert it with :func:`tapeviz.cast`.
    """
    want = dtypes.as_dtype(dtype) if dtype is not None else None
    if isinstance(value, Tensor):
        if want is not None and value._value.dtype != want.np:
            raise ValueError(
                f"Tensor conversion requested dtype {want.name} for a Tensor with dtype "
                f"{value.dtype.name}; use tv.cast(x, tv.{want.name})"
            )
        return value
    if isinstance(value, list | tuple) and any(isinstance(v, Tensor) for v in _flat(value)):
        from .ops.shape import stack

        return stack([convert_to_tensor(v, dtype=want) for v in value])
    if want is None and dtype_hint is not None and not isinstance(value, np.ndarray | np.generic):
        hint = dtypes.as_dtype(dtype_hint)
        probe = np.asarray(value)
        if probe.dtype.kind in "iuf" and hint.is_floating:
            want = hint
    if isinstance(value, np.ndarray | np.generic):
        if want is not None and value.dtype != want.np:
            if value.dtype.kind == "c" and not want.is_complex:
                raise TypeError(
                    f"Cannot convert a numpy {value.dtype} array to a tensor of dtype "
                    f"{want.name}: it is complex; take its part with np.real / np.imag, or "
                    "convert it and use tv.cast (which discards the imaginary part)"
                )
            if value.dtype.kind == "f" and want.is_integer:
                raise TypeError(
                    f"Cannot convert a numpy {value.dtype} array to a tensor of dtype "
                    f"{want.name}; use np.round / astype first"
                )
            value = value.astype(want.np)
        elif isinstance(value, np.ndarray):
            value = value.copy()
        if value.dtype.kind not in "biufc":
            raise TypeError(f"numpy dtype {value.dtype} is not supported by tapeviz")
        return Tensor._wrap(value)
    return Tensor._wrap(_python_to_numpy(value, want))


def _flat(value: Any) -> Iterator[Any]:
    for v in value:
        if isinstance(v, list | tuple):
            yield from _flat(v)
        else:
            yield v


def constant(value: Any, dtype: Any = None, shape: Any = None, name: str | None = None) -> Tensor:
    """A constant tensor, as ``tf.constant``.

    >>> import tapeviz as tv
    >>> print(tv.constant([[1., 2.], [3., 4.]]))
    tv.Tensor(
    [[1. 2.]
     [3. 4.]], shape=(2, 2), dtype=float32)
    """
    if isinstance(value, Tensor):
        t = value if dtype is None else _cast_tensor(value, dtypes.as_dtype(dtype))
        t = Tensor._wrap(t._value)
    else:
        t = convert_to_tensor(value, dtype=dtype)
    if shape is not None:
        shape = tuple(int(s) for s in shape)
        v = t._value
        if v.size == 1:
            t = Tensor._wrap(np.full(shape, v.reshape(()) if isinstance(v, np.ndarray) else v))
        elif int(np.prod(shape)) == v.size:
            t = Tensor._wrap(np.reshape(v, shape))
        else:
            raise ValueError(f"constant: cannot reshape a value of {v.size} elements to {shape}")
    t._name = name
    return t


def _cast_tensor(t: Tensor, dtype: DType) -> Tensor:
    return Tensor._wrap(t._value.astype(dtype.np))


def convert_like(x: Any, peers: Any) -> Tensor:
    """Convert ``x`` for a VJP rule: Python numbers take the dtype of a float (or complex)
    peer tensor."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray | np.generic):
        return Tensor._wrap(x)
    for p in peers:
        if isinstance(p, Tensor) and p._value.dtype.kind in "fc":
            return Tensor._wrap(_python_to_numpy(x, p.dtype))
    return convert_to_tensor(x)


def binary_args(x: Any, y: Any, opname: str) -> tuple[Tensor, Tensor]:
    """Convert the two operands of a binary op; dtypes must agree (no promotion)."""
    xt = isinstance(x, Tensor)
    yt = isinstance(y, Tensor)
    if not yt and xt and type(y) in (float, int) and x._value.dtype.kind == "f":
        return x, Tensor._wrap(x._value.dtype.type(y))  # fast path: x * 2.0, x ** 2
    if xt and yt:
        if x._value.dtype != y._value.dtype:
            raise TypeError(
                f"{opname}: x is {x.dtype.name} but y is {y.dtype.name}; tapeviz (like "
                f"TensorFlow) does not promote between tensors. Cast one side, e.g. "
                f"tv.cast(y, tv.{x.dtype.name})"
            )
        return x, y
    if xt:
        return x, _operand_like(y, x, opname)
    if yt:
        return _operand_like(x, y, opname), y
    x = convert_to_tensor(x)
    return x, _operand_like(y, x, opname)


def _operand_like(v: Any, peer: Tensor, opname: str) -> Tensor:
    pv = peer._value
    if type(v) is float and pv.dtype.kind == "f":
        return Tensor._wrap(pv.dtype.type(v))  # the common case: 0.01 * g, 3. * x
    dt = peer.dtype
    if isinstance(v, np.ndarray | np.generic):
        if v.dtype == dt.np:
            return Tensor._wrap(v)
        if v.dtype.kind in "iuf" and (dt.is_floating or dt.is_complex):
            return Tensor._wrap(np.asarray(v).astype(dt.np))
        raise TypeError(
            f"{opname}: cannot combine a {dt.name} tensor with a numpy {v.dtype} value; "
            f"convert it with tv.constant(value, dtype=tv.{dt.name})"
        )
    try:
        return Tensor._wrap(_python_to_numpy(v, dt))
    except (TypeError, ValueError) as e:
        raise TypeError(f"{opname}: cannot combine a {dt.name} tensor with {v!r}: {e}") from None


# The registry creates output tensors through this hook (avoids an import cycle).
_registry._TensorClass = Tensor
