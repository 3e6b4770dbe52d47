"""Per-thread engine state: the stack of active tapes, name scopes, and id counters.

State changes only through context managers (``with GradientTape()``, ``with
name_scope(...)``), which restore it in ``finally`` blocks.  Each thread has its own stack,
so two threads recording at once never see each other's tapes.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

# Tensor ids: one process-wide counter (next() on itertools.count is atomic under the GIL).
next_id = itertools.count(1).__next__
next_tape_id = itertools.count(1).__next__


class _Local(threading.local):
    def __init__(self) -> None:
        # Tapes currently recording on this thread, innermost last.
        self.tapes: list[Any] = []
        # name_scope path, e.g. ["dense", "kernel"].
        self.scopes: list[str] = []
        # ``(scope, group)``, what a tape stores with each op (one read per recorded op):
        # the name_scope prefix ("dense/") and the label of the reverse sweep running
        # while an outer tape records (or None).  Set through ``scope`` and ``group``.
        self.where: tuple[str, str | None] = ("", None)
        # Set by tv.function while tracing (the active tracer), else None.
        self.tracer: Any = None

    @property
    def scope(self) -> str:
        return self.where[0]

    @scope.setter
    def scope(self, value: str) -> None:
        self.where = (value, self.where[1])

    @property
    def group(self) -> str | None:
        return self.where[1]

    @group.setter
    def group(self, value: str | None) -> None:
        self.where = (self.where[0], value)


local = _Local()
