"""The pure-numpy interpreter of a program: every equation runs its registry forward.

This is the reference semantics of a traced function (the same numpy code that eager
tapeviz runs, so its results are the eager results bit for bit), the fallback when numba
is unavailable or ``NUMBA_DISABLE_JIT=1``, and what the compiled code is tested against.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _eigen_pow
from ..ops._registry import REGISTRY
from . import printing
from .ir import Const, Eqn, Program, Var

__all__ = ["run", "loop_indices", "draw"]


def truncated_normal(rs: np.random.RandomState, n: int) -> np.ndarray:
    """``n`` standard normal draws, each redrawn until it lies within two standard
    deviations (the reference of ``tapeviz.compiler.kernels.truncated_normal``)."""
    out = np.empty(n)
    for i in range(n):
        v = rs.standard_normal()
        while abs(v) > 2.0:
            v = rs.standard_normal()
        out[i] = v
    return out


def draw(rs: np.random.RandomState, attrs: dict[str, Any]) -> Any:
    """The draws of a ``random`` equation from numpy's legacy generator — the algorithms
    of numba's ``np.random``, so compiled code seeded alike draws the same numbers."""
    dist, shape, dtype = attrs["dist"], tuple(attrs["shape"]), np.dtype(attrs["dtype"])
    n = int(np.prod(shape, dtype=np.int64))
    if dist == "normal":
        z: Any = rs.standard_normal(shape) if shape else rs.standard_normal()
    elif dist == "uniform":
        z = rs.random_sample(shape) if shape else rs.random_sample()
    elif dist == "randint":
        z = (
            rs.randint(attrs["lo"], attrs["hi"], shape)
            if shape
            else rs.randint(attrs["lo"], attrs["hi"])
        )
    elif dist == "truncated_normal":
        flat = truncated_normal(rs, n)
        z = flat.reshape(shape) if shape else flat[0]
    else:
        raise NotImplementedError(f"tv.function: no random distribution {dist!r}")
    return dtype.type(z) if not shape else np.asarray(z).astype(dtype)


def loop_indices(start: Any, limit: Any, delta: Any) -> Any:
    """The values ``tv.range(start, limit, delta)`` takes, as numpy scalars of its dtype."""
    dtype = np.asarray(start).dtype
    if dtype.kind in "iu":
        for i in range(int(start), int(limit), int(delta)):
            yield dtype.type(i)
        return
    if delta == 0:
        raise ValueError("tv.range: delta must not be 0")
    i = start
    while (i < limit) if delta > 0 else (i > limit):
        yield i
        i = dtype.type(i + delta)


def _graph_pow(e: Eqn) -> Any:
    """The exponent of a float32 ``pow`` equation that tf.function's graph optimizer
    rewrites (:data:`tapeviz._eigen_pow.GRAPH_POW`, as compiled code), else None."""
    x, y = e.ins
    out = e.outs[0]
    if out.dtype != np.float32 or type(y) is not Const:
        return None
    return _eigen_pow.graph_pow_exponent(y.value, x.shape, out.shape)


_SPECIAL = frozenset({"read", "assign", "loop", "if", "while", "exit_unless", "random", "print"})


def run(
    prog: Program, args: list[Any], slots: list[Any], seed: int = 0
) -> tuple[list[Any], list[Any]]:
    """Run ``prog`` on argument values and Variable values; return (outputs, new slots).

    ``seed`` seeds the draws of ``random`` equations (one generator per run)."""
    env: dict[int, Any] = {}
    rs: np.random.RandomState | None = None
    store = list(slots)
    for var, value in zip(prog.inputs, args, strict=True):
        env[var.id] = value

    def val(a: Any) -> Any:
        return env[a.id] if isinstance(a, Var) else a.value

    # an explicit stack of (equations, position, iteration) frames: loops nest without
    # recursion; iteration is None (a block run once, an `if`), "while", or a loop's
    # (equation, indices)
    stack: list[list[Any]] = [[prog.eqns, 0, None]]
    while stack:
        frame = stack[-1]
        eqns, pos, it = frame
        if pos >= len(eqns):
            if it is None:
                stack.pop()
                continue
            if it == "while":
                frame[1] = 0
                continue
            loop_eqn, indices = it
            nxt = next(indices, None)
            if nxt is None:
                stack.pop()
                continue
            env[loop_eqn.outs[0].id] = nxt
            frame[1] = 0
            continue
        e: Eqn = eqns[pos]
        frame[1] = pos + 1
        p = e.prim
        if p not in _SPECIAL:  # the common case first: an op of the registry
            attrs = e.attrs
            forward = REGISTRY[p].forward
            ins = [env[a.id] if type(a) is Var else a.value for a in e.ins]
            if p == "pow" and (c := _graph_pow(e)) is not None:
                forward = _eigen_pow.GRAPH_POW[c]  # (TensorFlow's graph rewrite of x ** c)
                ins = ins[:1]
            value = forward(*ins, **attrs) if attrs else forward(*ins)
            if type(value) is np.ndarray and value.ndim == 0:
                value = value[()]
            env[e.outs[0].id] = value
        elif p == "read":
            env[e.outs[0].id] = store[e.ins[0].index]
        elif p == "assign":
            store[e.ins[0].index] = val(e.ins[1])
        elif p == "loop":
            start, limit, delta = (val(a) for a in e.ins)
            indices = loop_indices(start, limit, delta)
            first = next(indices, None)
            if first is not None:
                env[e.outs[0].id] = first
                stack.append([e.body, 0, (e, indices)])
        elif p == "if":
            if bool(val(e.ins[0])) != bool(e.attrs.get("negate", False)):
                stack.append([e.body, 0, None])
        elif p == "while":
            stack.append([e.body, 0, "while"])
        elif p == "exit_unless":
            if not val(e.ins[0]):
                while stack.pop()[2] != "while":
                    pass
        elif p == "random":
            if rs is None:
                rs = np.random.RandomState(seed)
            env[e.outs[0].id] = draw(rs, e.attrs)
        elif p == "print":
            a = e.attrs
            text = printing.render(
                a["parts"], [val(x) for x in e.ins], a["summarize"], a["sep"], a["end"]
            )
            printing.write(text, a["stream"])
    outs = [val(a) if isinstance(a, Var | Const) else a for a in prog.outputs]
    return outs, store
