"""Helpers of the engine tests: finite differences, a record as plain data, gradient values,
a fixture that turns warnings into errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeviz.graph import Record

F64 = "float64"


def fd(f: Callable[[np.ndarray], float], x0: Any, h: float = 1e-6) -> np.ndarray:
    """Central finite differences of a scalar function of a float64 array."""
    x0 = np.array(x0, dtype=np.float64)
    g = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        xp, xm = x0.copy(), x0.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = (f(xp) - f(xm)) / (2 * h)
    return g


def summary(rec: Record) -> tuple[Any, ...]:
    """Everything a record shows, as plain comparable data."""
    nodes = [
        (
            n.id,
            n.kind,
            n.op,
            n.inputs,
            n.shape,
            n.dtype,
            n.value.tolist(),
            n.name,
            n.watched,
            n.scope,
            n.group,
        )
        for n in rec.nodes
    ]
    steps = [
        (
            s.node,
            s.adjoint.tolist(),
            str(s.adjoint.dtype),
            sorted((k, v.tolist()) for k, v in s.contributions.items()),
            s.formula,
        )
        for s in rec.sweep
    ]
    grads = sorted((k, v.tolist(), str(v.dtype)) for k, v in rec.gradients.items())
    return nodes, steps, rec.targets, rec.sources, grads


def values(gs: Any) -> list[Any]:
    return [None if g is None else np.asarray(g.numpy()).tolist() for g in gs]
