"""Small datasets made on the spot (no download), and a tiny ``tf.data``-style pipeline.

* :func:`spirals` — points on interleaved spiral arms, one class per arm (the classic
  "not linearly separable" toy problem of CS231n);
* :func:`blobs` — Gaussian clusters, one class per cluster;
* :class:`Dataset` — ``Dataset.from_tensor_slices((x, y)).shuffle(1024).batch(64)``, to
  run the training loops of the Keras guides as written.

>>> import tapeviz as tv
>>> x, y = tv.datasets.spirals(100, classes=3, seed=0)
>>> x.shape, y.shape, x.dtype, y.dtype
((300, 2), (300,), dtype('float32'), dtype('int32'))
>>> batches = tv.datasets.Dataset.from_tensor_slices((x, y)).shuffle(1024, seed=0).batch(64)
>>> len(batches)
5
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ._surface import module_getattr as _module_getattr
from .tensor import Tensor

__all__ = ["spirals", "blobs", "Dataset"]


def spirals(
    n: int = 100,
    classes: int = 3,
    seed: int | None = 0,
    noise: float = 0.2,
    turns: float = 4.0,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` spiral arms of ``n`` points each, in the plane.

    Point ``i`` of arm ``k`` sits at radius ``r = i / (n - 1)`` and angle
    ``t = turns * (k + r) + noise * N(0, 1)``: ``(r sin t, r cos t)``.  The arms wind
    around each other, so a linear classifier gets about ``1 / classes`` right and a small
    MLP (two hidden layers) gets nearly all.

    Parameters
    ----------
    n : int
        Points per class.
    classes : int
    seed : int or None
        Seed of the noise and of the shuffle (``None``: different each call).
    noise : float
        Standard deviation of the angle noise (radians).
    turns : float
        Angle covered by each arm (radians).
    shuffle : bool
        Shuffle the rows (otherwise class 0 comes first, then class 1, ...).

    Returns
    -------
    x : float32 array of shape (n * classes, 2)
    y : int32 array of shape (n * classes,)
        The class (arm) of each point.
    """
    if n < 2 or classes < 1:
        raise ValueError(
            f"spirals: need n >= 2 points per class and classes >= 1, got n={n}, classes={classes}"
        )
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k in range(classes):
        r = np.linspace(0.0, 1.0, n)
        t = turns * (k + r) + rng.standard_normal(n) * noise
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n, k))
    x = np.concatenate(xs).astype(np.float32)
    y = np.concatenate(ys).astype(np.int32)
    if shuffle:
        perm = rng.permutation(len(y))
        x, y = x[perm], y[perm]
    return x, y


def blobs(
    n: int = 100,
    centers: int | Any = 3,
    seed: int | None = 0,
    std: float = 1.0,
    dim: int = 2,
    box: float = 5.0,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters: ``n`` points around each center, labelled by cluster.

    Parameters
    ----------
    n : int
        Points per cluster.
    centers : int or array of shape (k, dim)
        How many clusters (centers drawn uniformly in ``[-box, box]``), or the centers.
    std : float
        Standard deviation of each cluster.

    Returns
    -------
    x : float32 array of shape (n * k, dim), y : int32 array of shape (n * k,)
    """
    rng = np.random.default_rng(seed)
    if isinstance(centers, int | np.integer):
        c = rng.uniform(-box, box, size=(int(centers), dim))
    else:
        c = np.asarray(centers, dtype=np.float64)
        dim = c.shape[1]
    x = np.concatenate([ck + std * rng.standard_normal((n, dim)) for ck in c]).astype(np.float32)
    y = np.repeat(np.arange(len(c)), n).astype(np.int32)
    if shuffle:
        perm = rng.permutation(len(y))
        x, y = x[perm], y[perm]
    return x, y


def _rows(data: Any) -> Any:
    if isinstance(data, Tensor):
        return np.asarray(data._value)
    if isinstance(data, tuple | list):
        return tuple(_rows(d) for d in data)
    if isinstance(data, dict):
        return {k: _rows(v) for k, v in data.items()}
    return np.asarray(data)


def _length(data: Any) -> int:
    if isinstance(data, tuple):
        sizes = {_length(d) for d in data}
        if len(sizes) != 1:
            raise ValueError(
                f"from_tensor_slices: the components have different lengths {sorted(sizes)}"
            )
        return sizes.pop()
    if isinstance(data, dict):
        return _length(tuple(data.values()))
    if data.ndim == 0:
        raise ValueError("from_tensor_slices: a component is a scalar; it needs a first dimension")
    return int(data.shape[0])


def _take(data: Any, index: Any) -> Any:
    if isinstance(data, tuple):
        return tuple(_take(d, index) for d in data)
    if isinstance(data, dict):
        return {k: _take(v, index) for k, v in data.items()}
    return data[index]


def _to_tensors(data: Any) -> Any:
    if isinstance(data, tuple):
        return tuple(_to_tensors(d) for d in data)
    if isinstance(data, dict):
        return {k: _to_tensors(v) for k, v in data.items()}
    return Tensor._wrap(np.array(data))


class Dataset:
    """A re-iterable pipeline of examples, after ``tf.data.Dataset`` (a small subset).

    Build it with :meth:`from_tensor_slices`, then chain :meth:`shuffle`, :meth:`batch`,
    :meth:`take`, :meth:`repeat`, :meth:`map`.  Iterating yields tapeviz Tensors (tuples
    of them if the data was a tuple), a new shuffle each pass.
    """

    def __init__(self, make: Callable[[], Iterator[Any]], length: int | None) -> None:
        self._make = make
        self._length = length

    @staticmethod
    def from_tensor_slices(tensors: Any) -> Dataset:
        """One example per row of ``tensors`` (an array, or a tuple/dict of arrays)."""
        data = _rows(tensors)
        n = _length(data)

        def make() -> Iterator[Any]:
            for i in range(n):
                yield _take(data, i)

        return Dataset(make, n)

    def shuffle(
        self, buffer_size: int, seed: int | None = None, reshuffle_each_iteration: bool = True
    ) -> Dataset:
        """Shuffle with a buffer of ``buffer_size`` examples (as tf.data: a buffer at least
        as large as the dataset gives a uniform permutation)."""
        if buffer_size < 1:
            raise ValueError(f"shuffle: buffer_size must be >= 1, got {buffer_size}")
        parent = self
        base = np.random.default_rng(seed)
        fixed_seed = int(base.integers(2**31))
        passes = [0]

        def make() -> Iterator[Any]:
            if reshuffle_each_iteration:
                passes[0] += 1
            rng = np.random.default_rng([fixed_seed, passes[0]])
            buffer: list[Any] = []
            for item in parent._make():
                if len(buffer) < buffer_size:
                    buffer.append(item)
                    continue
                j = int(rng.integers(len(buffer)))
                yield buffer[j]
                buffer[j] = item
            while buffer:
                j = int(rng.integers(len(buffer)))
                buffer[j], buffer[-1] = buffer[-1], buffer[j]
                yield buffer.pop()

        return Dataset(make, self._length)

    def batch(self, batch_size: int, drop_remainder: bool = False) -> Dataset:
        """Group ``batch_size`` consecutive examples (stacked along a new first axis)."""
        if batch_size < 1:
            raise ValueError(f"batch: batch_size must be >= 1, got {batch_size}")
        parent = self

        def stack(items: list[Any]) -> Any:
            first = items[0]
            if isinstance(first, tuple):
                return tuple(stack([it[i] for it in items]) for i in range(len(first)))
            if isinstance(first, dict):
                return {k: stack([it[k] for it in items]) for k in first}
            if isinstance(first, Tensor):
                return np.stack([np.asarray(it._value) for it in items])
            return np.stack(items)

        def make() -> Iterator[Any]:
            group: list[Any] = []
            for item in parent._make():
                group.append(item)
                if len(group) == batch_size:
                    yield stack(group)
                    group = []
            if group and not drop_remainder:
                yield stack(group)

        length = None
        if self._length is not None:
            length = (
                self._length // batch_size if drop_remainder else -(-self._length // batch_size)
            )
        return Dataset(make, length)

    def take(self, count: int) -> Dataset:
        """The first ``count`` elements."""
        parent = self

        def make() -> Iterator[Any]:
            for i, item in enumerate(parent._make()):
                if i >= count:
                    return
                yield item

        length = None if self._length is None else min(self._length, count)
        return Dataset(make, length)

    def repeat(self, count: int | None = None) -> Dataset:
        """The dataset ``count`` times over (forever if None)."""
        parent = self

        def make() -> Iterator[Any]:
            k = 0
            while count is None or k < count:
                yield from parent._make()
                k += 1

        length = None if count is None or self._length is None else self._length * count
        return Dataset(make, length)

    def map(self, fn: Callable[..., Any]) -> Dataset:
        """Apply ``fn`` to each element (a tuple element is passed as separate arguments)."""
        parent = self

        def make() -> Iterator[Any]:
            for item in parent._make():
                tensors = _to_tensors(item)
                out = fn(*tensors) if isinstance(tensors, tuple) else fn(tensors)
                yield _rows(out)

        return Dataset(make, self._length)

    def __iter__(self) -> Iterator[Any]:
        for item in self._make():
            yield _to_tensors(item)

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError("The dataset length is unknown (or infinite).")
        return self._length

    def cardinality(self) -> int:
        """The number of elements (-1 if infinite)."""
        return -1 if self._length is None else self._length

    def __repr__(self) -> str:
        return f"<tv.datasets.Dataset length={self._length}>"


# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.data")
