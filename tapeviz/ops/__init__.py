"""The op registry and the public op functions, one module per family.

To add an op of your own (a course's, a test's), build an :class:`Op` and
:func:`register` it; :func:`unregister` removes it again (see CONTRIBUTING.md).
"""

from . import complex, linalg, math, nn, operators, reduce, shape  # noqa: F401  (registers the ops)
from ._registry import REGISTRY, Kernel, KernelCall, Op, register, unregister

__all__ = ["REGISTRY", "Op", "Kernel", "KernelCall", "register", "unregister"]
