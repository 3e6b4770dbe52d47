"""Random tensors, as ``tf.random``: ``set_seed``, ``normal``, ``uniform``, ``truncated_normal``,
``shuffle``.

Seeds work as in TensorFlow 2 (eager): after ``tv.random.set_seed(s)`` the sequence of
random ops is reproducible — every call draws from a generator determined by the global
seed and the position of the call since ``set_seed`` (or by its own ``seed=`` argument,
whose successive calls continue one stream).  Without a global seed the results differ
from run to run.  The numbers come from numpy's PCG64 generator, so they are not
TensorFlow's numbers — only the rules of reproducibility are the same.

Inside :func:`tapeviz.function` a random op draws new values every time the compiled
function runs (and in every iteration of a ``tv.range`` loop), as in ``tf.function``: each
trace takes its own stream from the rules above (so ``set_seed`` before the first call
makes the calls reproducible), and each call seeds numba's generator (numpy's legacy
Mersenne Twister) from that stream.  ``shuffle`` is not supported there.

>>> import tapeviz as tv
>>> tv.random.set_seed(42)
>>> a = tv.random.uniform([2])
>>> tv.random.set_seed(42)
>>> b = tv.random.uniform([2])
>>> bool(tv.reduce_all(a == b))
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _state, dtypes
from ._surface import module_getattr as _module_getattr
from .tensor import Tensor, convert_to_tensor

__all__ = ["set_seed", "get_global_seed", "normal", "uniform", "truncated_normal", "shuffle"]

# TensorFlow's default graph seed, used when only an op seed is given.
_DEFAULT_GLOBAL_SEED = 87654321
_MAXINT = 2**31 - 1


class _SeedState:
    """The global seed is process-wide, as in TensorFlow."""

    def __init__(self) -> None:
        self.global_seed: int | None = None
        self.counter = 0
        self.streams: dict[tuple[int, int], np.random.Generator] = {}


_seeds = _SeedState()


def set_seed(seed: int | None) -> None:
    """Set the global random seed; the random ops after it give the same values each run.

    ``set_seed(None)`` returns to unseeded (different values each run).
    """
    if seed is not None:
        seed = int(seed)
    _seeds.global_seed = seed
    _seeds.counter = 0
    _seeds.streams = {}


def get_global_seed() -> int | None:
    """The seed given to :func:`set_seed` (None if unseeded)."""
    return _seeds.global_seed


def generator(seed: int | None = None) -> np.random.Generator:
    """The numpy generator the next random op with op seed ``seed`` draws from.

    Used by ``tv.random`` and by Keras initializers; see the module docstring for the rules.
    """
    g = _seeds.global_seed
    if g is None and seed is None:
        return np.random.default_rng()
    if g is None:
        g = _DEFAULT_GLOBAL_SEED
    if seed is None:
        _seeds.counter += 1
        return np.random.default_rng([g & _MAXINT, _seeds.counter, 1])
    key = (g, int(seed))
    stream = _seeds.streams.get(key)
    if stream is None:
        stream = _seeds.streams[key] = np.random.default_rng([g & _MAXINT, int(seed) & _MAXINT, 2])
    return stream


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, Tensor):
        shape = shape._value.tolist()
    if isinstance(shape, int | np.integer):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _float_dtype(dtype: Any, fn: str) -> dtypes.DType:
    d = dtypes.as_dtype(dtype)
    if not d.is_floating:
        raise ValueError(f"tv.random.{fn}: dtype must be a floating type, got {d.name}")
    return d


def _traced(dist: str, shape: Any, dtype: Any, seed: int | None, **attrs: Any) -> Any:
    """Inside ``tv.function``: a symbolic tensor of draws made at run time, else None."""
    tracer = _state.local.tracer
    if tracer is None:
        return None
    return tracer.random(dist, _shape(shape), np.dtype(dtype), seed, attrs)


def _concrete_bound(x: Any, np_dtype: Any, fn: str) -> Any:
    symbolic = isinstance(x, Tensor) and not isinstance(x._value, np.ndarray | np.generic)
    if symbolic and _state.local.tracer is not None:
        raise ValueError(
            f"tv.random.{fn} inside tv.function: minval and maxval must be Python numbers "
            "or tensors computed outside the function (their values shape the draws)"
        )
    return _scalar(x, np_dtype)


def _scalar(x: Any, np_dtype: Any) -> Any:
    if isinstance(x, Tensor):
        return np.asarray(x._value, dtype=np_dtype)
    return np.asarray(x, dtype=np_dtype)


def normal(
    shape: Any,
    mean: Any = 0.0,
    stddev: Any = 1.0,
    dtype: Any = dtypes.float32,
    seed: int | None = None,
    name: str | None = None,
) -> Tensor:
    r"""Samples of a normal distribution :math:`\mathcal N(\text{mean}, \text{stddev}^2)`.

    >>> import tapeviz as tv
    >>> tv.random.set_seed(0)
    >>> tv.random.normal([2, 3]).shape
    TensorShape([2, 3])
    """
    return _scaled_normal("normal", shape, mean, stddev, dtype, seed, name, _draw_normal)


def truncated_normal(
    shape: Any,
    mean: Any = 0.0,
    stddev: Any = 1.0,
    dtype: Any = dtypes.float32,
    seed: int | None = None,
    name: str | None = None,
) -> Tensor:
    """Normal samples redrawn until they lie within two standard deviations of the mean."""
    return _scaled_normal(
        "truncated_normal", shape, mean, stddev, dtype, seed, name, _draw_truncated
    )


def _draw_normal(gen: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return gen.standard_normal(shape, dtype=np.float64)


def _draw_truncated(gen: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    z = gen.standard_normal(shape)
    bad = np.abs(z) > 2.0
    while np.any(bad):
        z[bad] = gen.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2.0
    return z


def _scaled_normal(
    kind: str,
    shape: Any,
    mean: Any,
    stddev: Any,
    dtype: Any,
    seed: int | None,
    name: str | None,
    draw: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray],
) -> Tensor:
    """``mean + stddev * z`` for float64 standard-normal draws ``z``, in ``dtype``."""
    d = _float_dtype(dtype, kind)
    z = _traced(kind, shape, d.np, seed)
    if z is not None:
        t = z * convert_to_tensor(stddev, dtype=d) + convert_to_tensor(mean, dtype=d)
    else:
        out = draw(generator(seed), _shape(shape)).astype(d.np)
        out = out * _scalar(stddev, d.np) + _scalar(mean, d.np)
        t = Tensor._wrap(np.asarray(out, dtype=d.np))
    t._name = name
    return t


def uniform(
    shape: Any,
    minval: Any = 0,
    maxval: Any = None,
    dtype: Any = dtypes.float32,
    seed: int | None = None,
    name: str | None = None,
) -> Tensor:
    """Samples of a uniform distribution on ``[minval, maxval)`` (``maxval`` 1 for floats).

    Integer dtypes need ``maxval``.

    >>> import tapeviz as tv
    >>> tv.random.set_seed(1)
    >>> x = tv.random.uniform([1000], minval=-1.0, maxval=1.0)
    >>> bool(tv.reduce_all(x >= -1.0)) and bool(tv.reduce_all(x < 1.0))
    True
    """
    d = dtypes.as_dtype(dtype)
    if _state.local.tracer is not None:
        return _traced_uniform(shape, minval, maxval, d, seed, name)
    gen = generator(seed)
    shp = _shape(shape)
    if d.is_integer:
        if maxval is None:
            raise ValueError("tv.random.uniform: an integer dtype needs maxval")
        lo, hi = int(_scalar(minval, np.int64)), int(_scalar(maxval, np.int64))
        if lo >= hi:
            raise ValueError(f"tv.random.uniform: need minval < maxval, got {lo} >= {hi}")
        out: Any = gen.integers(lo, hi, size=shp).astype(d.np)
    elif d.is_floating:
        lo_f = _scalar(minval, d.np)
        hi_f = _scalar(1.0 if maxval is None else maxval, d.np)
        u = gen.random(shp, dtype=np.float64).astype(d.np)
        out = u * (hi_f - lo_f) + lo_f
        # rounding may reach maxval in float32; keep the interval half open
        out = np.where(out >= hi_f, np.nextafter(hi_f, lo_f), out).astype(d.np)
    else:
        raise ValueError(f"tv.random.uniform: unsupported dtype {d.name}")
    t = Tensor._wrap(np.asarray(out, dtype=d.np))
    t._name = name
    return t


def _traced_uniform(
    shape: Any, minval: Any, maxval: Any, d: dtypes.DType, seed: int | None, name: str | None
) -> Tensor:
    """:func:`uniform` inside ``tv.function``: the same arithmetic on run-time draws."""
    from .ops.math import where

    if d.is_integer:
        if maxval is None:
            raise ValueError("tv.random.uniform: an integer dtype needs maxval")
        lo = int(_concrete_bound(minval, np.int64, "uniform"))
        hi = int(_concrete_bound(maxval, np.int64, "uniform"))
        if lo >= hi:
            raise ValueError(f"tv.random.uniform: need minval < maxval, got {lo} >= {hi}")
        t: Tensor = _traced("randint", shape, d.np, seed, lo=lo, hi=hi)
    elif d.is_floating:
        lo_f = _concrete_bound(minval, d.np, "uniform")
        hi_f = _concrete_bound(1.0 if maxval is None else maxval, d.np, "uniform")
        u = _traced("uniform", shape, d.np, seed)
        out = u * (hi_f - lo_f) + lo_f
        # rounding may reach maxval in float32; keep the interval half open
        t = where(out >= hi_f, np.nextafter(hi_f, lo_f), out)
    else:
        raise ValueError(f"tv.random.uniform: unsupported dtype {d.name}")
    t._name = name
    return t


def shuffle(value: Any, seed: int | None = None, name: str | None = None) -> Tensor:
    """``value`` with its first dimension randomly permuted."""
    if _state.local.tracer is not None:
        raise NotImplementedError(
            "tv.random.shuffle is not supported inside tv.function. Shuffle outside the "
            "function and pass the shuffled tensor in (or pass tv.random.shuffle of the "
            "indices and select rows with them outside)."
        )
    t = convert_to_tensor(value)
    arr = np.asarray(t._value)
    if arr.ndim == 0:
        raise ValueError("tv.random.shuffle: the value must have at least one dimension")
    perm = generator(seed).permutation(arr.shape[0])
    out = Tensor._wrap(arr[perm])
    out._name = name
    return out


# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.random")
