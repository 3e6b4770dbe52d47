"""The op registry and the public op functions, one module per family."""

from . import complex, linalg, math, nn, operators, reduce, shape  # noqa: F401  (registers the ops)
from ._registry import REGISTRY, Op

__all__ = ["REGISTRY", "Op"]
