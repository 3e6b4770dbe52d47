"""Weight initializers, as ``keras.initializers``: ``glorot_uniform`` (the Dense default),
``zeros``, ``ones``, ``Constant``, ``RandomNormal``, ``RandomUniform``, ``GlorotNormal``,
``HeNormal``, ``HeUniform``.

An initializer is called as ``init(shape, dtype)`` and returns a numpy array.  As in
Keras 2, an initializer created with a ``seed`` gives the same values every time it is
called; without a seed it draws from ``tv.random`` (reproducible after
``tv.random.set_seed``).

>>> import tapeviz as tv
>>> init = tv.keras.initializers.GlorotUniform(seed=0)
>>> w = init((2, 3))
>>> bool(abs(w).max() <= (6 / (2 + 3)) ** 0.5)
True
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .. import dtypes
from .. import random as _random
from .._surface import module_getattr as _module_getattr
from ..tensor import Tensor
from ._config import FromConfig

__all__ = [
    "Initializer",
    "Zeros",
    "Ones",
    "Constant",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "GlorotUniform",
    "GlorotNormal",
    "HeNormal",
    "HeUniform",
    "get",
]


def _np_dtype(dtype: Any) -> Any:
    return dtypes.as_dtype(dtype if dtype is not None else "float32").np


def _fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """(fan_in, fan_out) of a weight shape: (inputs, units) for a matrix."""
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = float(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer(FromConfig):
    """Base class: ``__call__(shape, dtype=None) -> numpy array``; ``get_config()``."""

    seed: int | None = None
    # The constructor arguments get_config returns, each kept as an attribute of that name.
    _CONFIG: ClassVar[tuple[str, ...]] = ()

    def __call__(self, shape: Any, dtype: Any = None, **kwargs: Any) -> np.ndarray:
        """A new array of ``shape`` and ``dtype`` (float32 by default) with the initial values."""
        raise NotImplementedError

    def _generator(self) -> np.random.Generator:
        if self.seed is not None:
            return np.random.default_rng([int(self.seed) & (2**31 - 1), 7])
        return _random.generator(None)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, so that ``from_config`` rebuilds an equal initializer."""
        return {name: getattr(self, name) for name in self._CONFIG}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape: Any, dtype: Any = None, **kwargs: Any) -> np.ndarray:
        """An array of zeros of ``shape`` and ``dtype``."""
        return np.zeros(tuple(shape), dtype=_np_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape: Any, dtype: Any = None, **kwargs: Any) -> np.ndarray:
        """An array of ones of ``shape`` and ``dtype``."""
        return np.ones(tuple(shape), dtype=_np_dtype(dtype))


class Constant(Initializer):
    """A given value (a number, broadcast, or an array of exactly the weight's shape)."""

    def __init__(self, value: Any = 0) -> None:
        self.value = value

    def __call__(self, shape: Any, dtype: Any = None, **kwargs: Any) -> np.ndarray:
        """The value broadcast to ``shape`` (an array must already have that shape)."""
        value = self.value._value if isinstance(self.value, Tensor) else self.value
        arr = np.asarray(value, dtype=_np_dtype(dtype))
        shape = tuple(shape)
        if arr.ndim == 0:
            return np.full(shape, arr, dtype=arr.dtype)
        if arr.shape != shape:
            if arr.size == int(np.prod(shape)):
                return arr.reshape(shape).copy()
            raise ValueError(
                f"Constant initializer: the value has shape {arr.shape} but the weight has "
                f"shape {shape}"
            )
        return arr.copy()

    def get_config(self) -> dict[str, Any]:
        """``{"value": ...}`` with an array value as nested lists."""
        value = self.value
        if isinstance(value, np.ndarray | Tensor):
            value = np.asarray(value).tolist()
        return {"value": value}


class RandomUniform(Initializer):
    """Uniform on ``[minval, maxval)``."""

    _CONFIG: ClassVar[tuple[str, ...]] = ("minval", "maxval", "seed")

    def __init__(
        self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None
    ) -> None:
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape: Any, dtype: Any = None, **kwargs: Any) -> np.ndarray:
        """Uniform draws on ``[minval, maxval)`` from the seeded generator."""
        d = _np_dtype(dtype)
        u = self._generator().random(tuple(shape))
        return (u * (self.maxval - self.minval) + self.minval).astype(d)


class _Normal(Initializer):
    """What RandomNormal and TruncatedNormal share: ``mean``, ``stddev`` and ``seed``."""

    _CONFIG: ClassVar[tuple[str, ...]] = ("mean", "stddev", "seed")

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed


class RandomNormal(_Normal):
    """Normal with the given mean and standard deviation."""

    def __call__(self, shape: Any, dtype: Any = None, **kwargs: Any) -> np.ndarray:
        """Normal draws ``mean + stddev * z`` from the seeded generator."""
        z = self._generator().standard_normal(tuple(shape))
        return (z * self.stddev + self.mean).astype(_np_dtype(dtype))


class TruncatedNormal(_Normal):
    """Normal, redrawn beyond two standard deviations."""

    def __call__(self, shape: Any, dtype: Any = None, **kwargs: Any) -> np.ndarray:
        """Normal draws, those beyond two standard deviations drawn again."""
        return _truncated(self._generator(), tuple(shape), self.stddev, self.mean, _np_dtype(dtype))


def _truncated(
    gen: np.random.Generator, shape: tuple[int, ...], stddev: float, mean: float, d: Any
) -> np.ndarray:
    z = gen.standard_normal(shape)
    bad = np.abs(z) > 2.0
    while np.any(bad):
        z[bad] = gen.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2.0
    return (z * stddev + mean).astype(d)


class VarianceScaling(Initializer):
    """Random values whose variance is ``scale / n`` (``n`` = fan_in, fan_out or their mean).

    ``distribution`` is ``"truncated_normal"``, ``"untruncated_normal"`` or ``"uniform"``
    (uniform on ``[-limit, limit]`` with ``limit = sqrt(3 * scale / n)``).
    """

    _CONFIG: ClassVar[tuple[str, ...]] = ("scale", "mode", "distribution", "seed")

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
    ) -> None:
        if scale <= 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode!r}; use fan_in, fan_out or fan_avg")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform", "normal"):
            raise ValueError(f"Invalid `distribution` argument: {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape: Any, dtype: Any = None, **kwargs: Any) -> np.ndarray:
        """Draws whose variance is ``scale`` divided by the fan chosen by ``mode``."""
        shape = tuple(shape)
        d = _np_dtype(dtype)
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        gen = self._generator()
        if self.distribution in ("truncated_normal", "normal"):
            # stddev of a unit normal truncated to [-2, 2]
            stddev = math.sqrt(scale) / 0.87962566103423978
            return _truncated(gen, shape, stddev, 0.0, d)
        if self.distribution == "untruncated_normal":
            return (gen.standard_normal(shape) * math.sqrt(scale)).astype(d)
        limit = math.sqrt(3.0 * scale)
        return (gen.random(shape) * (2 * limit) - limit).astype(d)


class _FixedVarianceScaling(VarianceScaling):
    """A :class:`VarianceScaling` whose scale, mode and distribution are fixed by the
    class (``_FIXED``): its only argument is ``seed``."""

    _FIXED: tuple[float, str, str]
    # the scale, mode and distribution are fixed by the class
    _CONFIG: ClassVar[tuple[str, ...]] = ("seed",)

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(*self._FIXED, seed)


class GlorotUniform(_FixedVarianceScaling):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))`` (Dense default)."""

    _FIXED = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal with ``stddev = sqrt(2 / (fan_in + fan_out))``."""

    _FIXED = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_FixedVarianceScaling):
    """Truncated normal with ``stddev = sqrt(2 / fan_in)`` (for relu layers)."""

    _FIXED = (2.0, "fan_in", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / fan_in)``."""

    _FIXED = (2.0, "fan_in", "uniform")


_BY_NAME: dict[str, type[Initializer]] = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "random_uniform": RandomUniform,
    "random_normal": RandomNormal,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_normal": HeNormal,
    "he_uniform": HeUniform,
}


def get(identifier: Any) -> Initializer:
    """An initializer from a name (``"glorot_uniform"``, ``"zeros"``), a class name, or
    an initializer (returned as is)."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        key = identifier
        if key not in _BY_NAME:
            # class names too: "GlorotUniform" -> glorot_uniform
            snake = "".join("_" + c.lower() if c.isupper() else c for c in key).lstrip("_")
            key = snake
        if key not in _BY_NAME:
            raise ValueError(f"Unknown initializer: '{identifier}'. Known: {sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    if isinstance(identifier, dict):
        cls = get(identifier["class_name"])
        return type(cls).from_config(identifier.get("config", {}))
    if callable(identifier):
        return _CallableInitializer(identifier)
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")


class _CallableInitializer(Initializer):
    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def __call__(self, shape: Any, dtype: Any = None, **kwargs: Any) -> np.ndarray:
        out = self.fn(tuple(shape), dtype=dtype) if dtype is not None else self.fn(tuple(shape))
        out = out._value if isinstance(out, Tensor) else out
        return np.asarray(out, dtype=_np_dtype(dtype))


# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.keras.initializers")
