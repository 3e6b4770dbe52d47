"""``tv.Module`` (``tf.Module``) and TensorFlow's core initializers (``tf.zeros_initializer``...).

A Module is a named container of Variables: ``variables`` and ``trainable_variables`` find
them by walking the object's attributes (sorted by attribute name, then the sub-modules'),
as TensorFlow does, so a hand-written model needs no bookkeeping.

>>> import tapeviz as tf
>>> class Linear(tf.Module):
...     def __init__(self, name=None):
...         super().__init__(name=name)
...         self.w = tf.Variable(2.0, name="w")
...         self.b = tf.Variable(0.5, name="b", trainable=False)
...     def __call__(self, x):
...         return self.w * x + self.b
>>> m = Linear(name="linear")
>>> m.trainable_variables
(<tv.Variable 'w:0' shape=() dtype=float32, numpy=2.0>,)
>>> [v.name for v in m.variables]
['b:0', 'w:0']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import dtypes
from ._readonly import ReadOnly
from .custom import name_scope as _name_scope
from .tensor import Tensor, Variable

__all__ = [
    "Module",
    "zeros_initializer",
    "ones_initializer",
    "constant_initializer",
    "random_normal_initializer",
    "random_uniform_initializer",
]


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


class Module:
    """A named container of Variables and sub-modules, as ``tf.Module``.

    Parameters
    ----------
    name : str, optional
        Defaults to the class name in snake case (``MyModel`` → ``my_model``).
    """

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            name = _snake(type(self).__name__)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", name):
            raise ValueError(
                f"{name!r} is not a valid module name. Module names must be valid Python "
                "identifiers (e.g. a valid class name)."
            )
        self._name = name

    name = ReadOnly[str]("_name", "The module's name (by default the class name in snake case).")

    @property
    def name_scope(self) -> Any:
        """A context manager: ops and Variables created inside are named ``name/...``."""
        return _name_scope(self._name)

    @property
    def variables(self) -> tuple[Variable, ...]:
        """All Variables of this module and its sub-modules (each once)."""
        return tuple(self._flatten(lambda v: isinstance(v, Variable)))

    @property
    def trainable_variables(self) -> tuple[Variable, ...]:
        """The trainable Variables of this module and its sub-modules (each once)."""
        return tuple(self._flatten(lambda v: isinstance(v, Variable) and v.trainable))

    @property
    def non_trainable_variables(self) -> tuple[Variable, ...]:
        """The Variables with ``trainable=False`` found in the module's attributes."""
        return tuple(self._flatten(lambda v: isinstance(v, Variable) and not v.trainable))

    @property
    def submodules(self) -> tuple[Module, ...]:
        """Every Module reachable from this one's attributes (breadth first)."""
        return tuple(self._flatten(lambda v: isinstance(v, Module)))

    def _flatten(self, predicate: Callable[[Any], bool]) -> Iterator[Any]:
        seen: set[int] = set()
        queue: list[Any] = [self]
        while queue:
            found_modules: list[Any] = []
            for owner in queue:
                for leaf in _leaves_of(owner):
                    if id(leaf) in seen:
                        continue
                    seen.add(id(leaf))
                    if predicate(leaf):
                        yield leaf
                    if _is_container(leaf):
                        found_modules.append(leaf)
            queue = found_modules

    @classmethod
    def with_name_scope(cls, method: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator: run ``method`` inside the module's name scope."""

        @functools.wraps(method)
        def wrapped(self: Module, *args: Any, **kwargs: Any) -> Any:
            with self.name_scope:
                return method(self, *args, **kwargs)

        return wrapped

    def __repr__(self) -> str:
        return f"<tv.Module name={self._name!r}>"


def _is_container(x: Any) -> bool:
    from .keras.layers import Layer

    return isinstance(x, Module | Layer)


def _leaves_of(owner: Any) -> Iterator[Any]:
    """Values held by ``owner``: attributes sorted by name, lists/tuples/dicts opened."""
    from .keras.layers import Layer

    if isinstance(owner, Layer):  # a Keras layer inside a Module: its weights and layers
        yield from owner.weights
        yield from owner._flat_layers()
        return
    attrs = vars(owner)
    for key in sorted(attrs):
        if key == "_name":
            continue
        yield from _flat(attrs[key])


def _flat(value: Any) -> Iterator[Any]:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v[k] for k in reversed(sorted(v, key=repr)))
        elif isinstance(v, list | tuple):
            stack.extend(reversed(v))
        else:
            yield v


# --- TensorFlow's core initializers: called with a shape, they give a Tensor ------------------
class _CoreInitializer:
    """Base of ``tf.zeros_initializer`` & co: ``init(shape, dtype=tf.float32)`` → Tensor."""

    def _keras(self) -> Any:
        raise NotImplementedError

    def __call__(self, shape: Any, dtype: Any = dtypes.float32, **kwargs: Any) -> Tensor:
        dt = dtypes.as_dtype(dtype)
        value = np.asarray(self._keras()(tuple(shape), dtype=dt))
        return Tensor._wrap(value.astype(dt.np, copy=False))

    def get_config(self) -> dict[str, Any]:
        return {}


class zeros_initializer(_CoreInitializer):  # TensorFlow's name
    """Zeros of the given shape, as ``tf.zeros_initializer()``."""

    def _keras(self) -> Any:
        from .keras.initializers import Zeros

        return Zeros()


class ones_initializer(_CoreInitializer):
    """Ones of the given shape, as ``tf.ones_initializer()``."""

    def _keras(self) -> Any:
        from .keras.initializers import Ones

        return Ones()


class constant_initializer(_CoreInitializer):
    """A constant (number, or array of exactly the shape), as ``tf.constant_initializer``."""

    def __init__(self, value: Any = 0) -> None:
        self.value = value

    def _keras(self) -> Any:
        from .keras.initializers import Constant

        return Constant(self.value)

    def get_config(self) -> dict[str, Any]:
        """``{"value": ...}``."""
        return {"value": self.value}


class random_normal_initializer(_CoreInitializer):
    """Normal samples, as ``tf.random_normal_initializer(mean=0.0, stddev=0.05, seed=None)``."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def _keras(self) -> Any:
        from .keras.initializers import RandomNormal

        return RandomNormal(self.mean, self.stddev, self.seed)

    def get_config(self) -> dict[str, Any]:
        """``mean``, ``stddev`` and ``seed``."""
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class random_uniform_initializer(_CoreInitializer):
    """Uniform samples on ``[minval, maxval)``, as ``tf.random_uniform_initializer``."""

    def __init__(
        self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None
    ) -> None:
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def _keras(self) -> Any:
        from .keras.initializers import RandomUniform

        return RandomUniform(self.minval, self.maxval, self.seed)

    def get_config(self) -> dict[str, Any]:
        """``minval``, ``maxval`` and ``seed``."""
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}
