"""Streaming metrics, as ``keras.metrics``: ``Mean``, ``Sum``, ``SparseCategoricalAccuracy``,
``CategoricalAccuracy``, ``Accuracy``.

A metric accumulates over many batches: ``update_state(...)`` adds a batch, ``result()``
returns the value so far (a float32 scalar Tensor) and ``reset_state()`` starts over.
Its state lives in float32 Variables (``total:0``, ``count:0``), updated with numpy —
metrics are bookkeeping, so tapes never record them.

>>> import tapeviz as tv
>>> acc = tv.keras.metrics.SparseCategoricalAccuracy()
>>> acc.update_state([0, 2], [[0.9, 0.1, 0.0], [0.2, 0.5, 0.3]])
>>> print(acc.result())
tv.Tensor(0.5, shape=(), dtype=float32)
>>> acc.reset_state()
>>> float(acc.result())
0.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._surface import module_getattr as _module_getattr
from ..tensor import Tensor, Variable

__all__ = [
    "Metric",
    "Mean",
    "Sum",
    "MeanMetricWrapper",
    "SparseCategoricalAccuracy",
    "CategoricalAccuracy",
    "Accuracy",
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "accuracy",
]


def _values(x: Any, owner: str = "metric", arg: str = "values") -> np.ndarray:
    """``x`` (a tensor, array, nested list or number) as a numpy array of numbers (bools
    count as 0 and 1); a TypeError/ValueError naming ``owner``'s argument ``arg`` for
    anything else: None, strings, ragged lists, objects, complex numbers."""
    v = x._value if isinstance(x, Tensor) else x
    fix = " Pass numbers: a tensor, a numpy array, a list of numbers or a number."
    if v is None or isinstance(v, str | bytes | dict | set):
        what = "None" if v is None else f"a {type(v).__name__} ({v!r:.40})"
        raise TypeError(f"{owner}: {arg} must be numbers, got {what}.{fix}")
    try:
        a = np.asarray(v)
    except ValueError:  # numpy refuses lists of rows of different lengths
        raise ValueError(
            f"{owner}: {arg} is ragged: its rows have different lengths ({v!r:.60}). "
            "Pad them to one length, or pass each row in its own call."
        ) from None
    if a.dtype.kind not in "biuf":
        kinds = {"U": "strings", "S": "bytes", "c": "complex numbers", "O": "Python objects"}
        what = kinds.get(a.dtype.kind, f"values of dtype {a.dtype}")
        first = a.flat[0] if a.size else None
        raise TypeError(f"{owner}: {arg} must be numbers, got {what} (e.g. {first!r:.40}).{fix}")
    return a


class Metric:
    """Base class: ``update_state``, ``result``, ``reset_state``; calling the metric does
    ``update_state`` and returns ``result()``."""

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(
                f"{type(self).__name__}: name must be a string, got {name!r:.40} "
                f"({type(name).__name__})."
            )
        self.name = name or type(self).__name__.lower()
        try:
            self._dtype = np.dtype(
                str(getattr(dtype, "name", dtype)) if dtype is not None else "float32"
            )
        except TypeError:
            raise TypeError(
                f"{type(self).__name__}: dtype {dtype!r:.40} is not a dtype; use e.g. "
                "dtype=tv.float32 or dtype='float64'."
            ) from None
        self._variables: list[Variable] = []

    def add_weight(
        self, name: str, shape: Any = (), initializer: str = "zeros", dtype: Any = None
    ) -> Variable:
        """A non-trainable zero Variable holding part of the metric's state."""
        value = np.zeros(tuple(shape), dtype=dtype or self._dtype)
        var = Variable(value[()] if value.ndim == 0 else value, name=name, trainable=False)
        self._variables.append(var)
        return var

    @property
    def variables(self) -> list[Variable]:
        """The state Variables (totals, counts)."""
        return list(self._variables)

    @property
    def weights(self) -> list[Variable]:
        """The state Variables (the same list as ``variables``)."""
        return list(self._variables)

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Add a batch to the accumulated state (subclasses define it)."""
        raise NotImplementedError

    def result(self) -> Tensor:
        """The metric's value from the accumulated state (subclasses define it)."""
        raise NotImplementedError

    def reset_state(self) -> None:
        """Set the accumulated state back to zero."""
        for v in self._variables:
            v.assign(np.zeros_like(v._value))

    def reset_states(self) -> None:
        """Old name of :meth:`reset_state`."""
        self.reset_state()

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        """Update the state with one batch and return the result so far."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        """``name`` and ``dtype``."""
        return {"name": self.name, "dtype": self._dtype.name}

    def __repr__(self) -> str:
        value = float(self.result())
        return f"<tv.keras.metrics.{type(self).__name__} name={self.name!r} result={value!r}>"


class _Reduce(Metric):
    _mean = True

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_weight("total")
        if self._mean:
            self.count = self.add_weight("count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Add ``values`` (weighted by ``sample_weight``, if given) to the running total."""
        dt = self._dtype.type
        owner = f"{type(self).__name__}.update_state"
        v = _values(values, owner, "values").astype(self._dtype, copy=False)
        if sample_weight is not None:
            w = _values(sample_weight, owner, "sample_weight").astype(self._dtype, copy=False)
            if w.ndim > v.ndim and w.shape[-1] == 1:
                w = w.reshape(w.shape[:-1])
            elif w.ndim == v.ndim - 1:
                w = w[..., None]  # one weight per sample: Keras expands it on the last axis
            try:
                w = np.broadcast_to(w, v.shape)
            except ValueError:
                raise ValueError(
                    f"{owner}: sample_weight of shape {w.shape} does not fit values of shape "
                    f"{v.shape}; give one weight per value (or one for all)."
                ) from None
            v = v * w
            count = dt(np.sum(w, dtype=self._dtype))
        else:
            count = dt(v.size)
        self.total.assign(self.total._value + dt(np.sum(v, dtype=self._dtype)))
        if self._mean:
            self.count.assign(self.count._value + count)

    def result(self) -> Tensor:
        """The mean so far (0 before any update)."""
        total = self.total._value
        if not self._mean:
            return Tensor._wrap(np.asarray(total)[()])
        count = self.count._value
        out = total / count if count != 0 else self._dtype.type(0)
        return Tensor._wrap(np.asarray(out, dtype=self._dtype)[()])


class Mean(_Reduce):
    """The running mean of the values given to ``update_state`` (e.g. the loss per batch).

    >>> import tapeviz as tv
    >>> m = tv.keras.metrics.Mean()
    >>> m.update_state([1.0, 2.0]); m.update_state(6.0)
    >>> float(m.result())
    3.0
    """

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)


class Sum(_Reduce):
    """The running sum of the values given to ``update_state``."""

    _mean = False

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)


def _pair(owner: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    return _values(y_true, owner, "y_true"), _values(y_pred, owner, "y_pred")


def _mismatch(owner: str, t: np.ndarray, p: np.ndarray, wanted: str) -> ValueError:
    return ValueError(
        f"{owner}: y_true of shape {t.shape} and y_pred of shape {p.shape} do not match: {wanted}."
    )


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """1.0 where ``argmax(y_pred)`` equals the integer label, else 0.0 (per sample)."""
    owner = "sparse_categorical_accuracy"
    t, p = _pair(owner, y_true, y_pred)
    if t.ndim == p.ndim and t.ndim > 0 and t.shape[-1] == 1:
        t = t.reshape(t.shape[:-1])
    if p.ndim == 0 or t.shape != p.shape[:-1]:
        raise _mismatch(
            owner,
            t,
            p,
            "y_pred needs one row of class scores per label, shape y_true.shape + (classes,)",
        )
    pred = np.argmax(p, axis=-1)
    return (t.astype(np.float64) == pred).astype(np.float32)


def categorical_accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """1.0 where ``argmax(y_pred)`` equals ``argmax(y_true)`` (one-hot labels)."""
    owner = "categorical_accuracy"
    t, p = _pair(owner, y_true, y_pred)
    if t.shape != p.shape or p.ndim == 0:
        raise _mismatch(owner, t, p, "both need the shape (samples, classes)")
    return (np.argmax(t, axis=-1) == np.argmax(p, axis=-1)).astype(np.float32)


def accuracy(y_true: Any, y_pred: Any) -> np.ndarray:
    """1.0 where ``y_pred`` equals ``y_true`` exactly."""
    t, p = _pair("accuracy", y_true, y_pred)
    if t.shape != p.shape:  # (a trailing axis of 1 on one side is dropped, as Keras does)
        if t.shape == (*p.shape, 1):
            t = t.reshape(p.shape)
        elif p.shape == (*t.shape, 1):
            p = p.reshape(t.shape)
        else:
            raise _mismatch("accuracy", t, p, "they need the same shape")
    return (t == p).astype(np.float32)


class MeanMetricWrapper(Mean):
    """The running mean of ``fn(y_true, y_pred)``."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name or str(getattr(fn, "__name__", "mean")), dtype=dtype)
        self._fn = fn

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        """Add one batch: labels ``y_true`` and predictions ``y_pred``."""
        super().update_state(self._fn(y_true, y_pred), sample_weight=sample_weight)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """The fraction of samples whose highest-scoring class is the integer label."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class CategoricalAccuracy(MeanMetricWrapper):
    """The fraction of samples whose highest-scoring class is the one-hot label's."""

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class Accuracy(MeanMetricWrapper):
    """The fraction of predictions equal to the labels."""

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(accuracy, name=name, dtype=dtype)


# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.keras.metrics")
