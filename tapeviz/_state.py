"""Per-thread engine state: the stack of active tapes, name scopes, the tracer, id counters.

State changes only through context managers (``with GradientTape()``, ``with
name_scope(...)``, ``tv.function``'s tracing), which restore it in ``finally`` blocks.
Each thread has its own stack, so two threads recording at once never see each other's
tapes.

The engine never imports the compiler (``tapeviz.compiler``): while ``tv.function``
traces, the compiler puts its tracer in ``local.tracer``, and the engine's ops, Variables
and optimizers hand their work to it through the :class:`Tracer` protocol below.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .ops._registry import Op
    from .tensor import Tensor, Variable

# Tensor ids: one process-wide counter (next() on itertools.count is atomic under the GIL).
next_id = itertools.count(1).__next__
next_tape_id = itertools.count(1).__next__


class Tracer(Protocol):
    """What the engine asks of ``tv.function``'s tracer (``tapeviz.compiler.tracer.Tracer``)
    while it traces: each hook does, on symbolic tensors, what the engine does eagerly."""

    #: the Tensor subclass of the traced values (their ``_value`` is a placeholder)
    symbolic_tensor: type[Tensor]
    #: the error raised for a traced value used where a concrete one is needed
    value_error: type[Exception]

    def apply(self, op: Op, xs: Any, attrs: dict[str, Any]) -> Tensor:
        """An op (``tapeviz.ops._registry.apply``)."""

    def is_symbolic(self, value: Any) -> bool:
        """Whether a tensor's value is known only when the program runs."""

    def has_side_effects(self, eqns: list[Any]) -> bool:
        """Whether a traced block assigns a user's Variable, prints or draws random numbers."""

    def scalars(self, opt: Any) -> Any:
        """The backend of traced schedule and optimizer scalars (``Scalars``' methods)."""

    def python_bool(self, t: Tensor) -> None:
        """``bool(t)``: raises if ``t``'s value is known only at run time."""

    def variable_created(self, var: Variable) -> None:
        """A Variable created while tracing."""

    def assign(self, var: Variable, value: Any, mode: str = "assign") -> Variable:
        """``var.assign``/``assign_add``/``assign_sub``."""

    def stop_gradient(self, t: Tensor) -> Tensor:
        """``tv.stop_gradient(t)``."""

    def range(self, start: Any, limit: Any, delta: Any, dtype: Any) -> Tensor:
        """``tv.range``: a tensor that, iterated, becomes a compiled loop."""

    def random(
        self, dist: str, shape: tuple[int, ...], dtype: Any, seed: int | None, attrs: dict[str, Any]
    ) -> Tensor:
        """``tv.random.*``: draws made each time the program runs."""

    def custom_gradient(self, f: Callable[..., Any], args: Any, kwargs: Any) -> Tensor:
        """``tv.custom_gradient``'s wrapper called."""

    def optimizer_apply(self, opt: Any, grads_and_vars: Any) -> Any:
        """``optimizer.apply_gradients``."""

    def print(self, parts: list[Any], tensors: list[Tensor], attrs: dict[str, Any]) -> None:
        """``tv.print``."""


class _Local(threading.local):
    def __init__(self) -> None:
        # Tapes currently recording on this thread, innermost last.
        self.tapes: list[Any] = []
        # name_scope path, e.g. ["dense", "kernel"].
        self.scopes: list[str] = []
        # ``(scope, group)``, what a tape stores with each op: the name_scope prefix
        # ("dense/") and the label of the reverse sweep running while an outer tape
        # records (or None).  Set through ``scope`` and ``group``.  Each tape on the stack
        # holds it too, as ``_where`` (given when it is pushed, renewed here when it
        # changes), and reads that for every op it records: an attribute of this
        # per-thread object costs about three times as much to read as a tape's own.
        self._where: tuple[str, str | None] = ("", None)
        # Set by tv.function while tracing (the active tracer), else None.  While it is
        # set, ``tapes`` holds the tracer's marker (it is never empty): ops read only
        # ``tapes`` to know that nothing watches them.
        # (a :class:`Tracer`; typed Any since the compiler's code also calls its own
        # methods on it)
        self.tracer: Any = None

    @property
    def where(self) -> tuple[str, str | None]:
        return self._where

    @where.setter
    def where(self, value: tuple[str, str | None]) -> None:
        self._where = value
        for tape in self.tapes:
            tape._where = value

    @property
    def scope(self) -> str:
        return self._where[0]

    @scope.setter
    def scope(self, value: str) -> None:
        self.where = (value, self._where[1])

    @property
    def group(self) -> str | None:
        return self._where[1]

    @group.setter
    def group(self, value: str | None) -> None:
        self.where = (self._where[0], value)


local = _Local()
