"""One table of examples that covers every op of the registry, for the compiler tests.

Each :class:`Case` calls public tapeviz functions on fixed inputs.  ``ulps`` is how far a
compiled float32 result may be from the eager one: 0 (bit for bit) for arithmetic,
reductions and everything whose numpy code we reproduce; a few ulps where numpy uses its
own vectorised transcendental functions (``exp``, ``log``, ``sin``...) and the compiled code
uses libm's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tapeviz as tv
from tapeviz.ops import REGISTRY
from tapeviz.ops._registry import apply
from tapeviz.ops.shape import _normalize_key

_rng = np.random.default_rng(1234)


def r(*shape: int, lo: float = -2.0, hi: float = 2.0, dtype: Any = np.float32) -> np.ndarray:
    """Random values in [lo, hi) of ``shape`` (a numpy scalar for shape ())."""
    v = _rng.uniform(lo, hi, size=shape).astype(dtype)
    return v[()] if v.ndim == 0 else v


def pos(*shape: int) -> np.ndarray:
    return r(*shape, lo=0.25, hi=3.0)


def ints(*shape: int, lo: int = -5, hi: int = 6, dtype: Any = np.int32) -> np.ndarray:
    v = _rng.integers(lo, hi, size=shape).astype(dtype)
    return v[()] if v.ndim == 0 else v


def bools(*shape: int) -> np.ndarray:
    v = _rng.random(size=shape) < 0.5
    return v[()] if v.ndim == 0 else v


@dataclass
class Case:
    name: str
    fn: Callable[..., Any]
    inputs: list[Any]
    ulps: int = 0  # allowed float32 distance compiled vs eager
    diff: tuple[int, ...] | None = None  # inputs to differentiate (None: all float inputs)
    grad_ulps: int | None = None  # for the gradient (default: ulps)
    ops: tuple[str, ...] = field(default=())  # registry ops it covers (default: name)

    @property
    def id(self) -> str:
        shapes = ",".join("x".join(map(str, np.shape(x))) or "s" for x in self.inputs)
        return f"{self.name}[{shapes}]"


def _slice_grad(g: Any, shape: tuple[int, ...], key: Any) -> Any:
    attrs = {"shape": shape, "key": _normalize_key(key, shape)}
    return apply(REGISTRY["strided_slice_grad"], (g,), attrs)


@tv.custom_gradient
def _x_sin_x(x: Any) -> Any:
    def grad_fn(dy: Any) -> Any:
        return dy * (tv.sin(x) + x * tv.cos(x))

    return x * tv.sin(x), grad_fn


def _binary(
    name: str, fn: Callable[..., Any], xs: Any = r, ys: Any = r, ulps: int = 0
) -> list[Case]:
    return [
        Case(name, fn, [xs(3, 4), ys(3, 4)], ulps),
        Case(name, fn, [xs(2, 3, 4), ys(4)], ulps),
        Case(name, fn, [xs(3, 1), ys(1, 4)], ulps),
        Case(name, fn, [xs(), ys(5)], ulps),
        Case(name, fn, [xs(), ys()], ulps),
    ]


def _unary(name: str, fn: Callable[..., Any], xs: Any = r, ulps: int = 0) -> list[Case]:
    return [
        Case(name, fn, [xs(4, 5)], ulps),
        Case(name, fn, [xs()], ulps),
        Case(name, fn, [xs(7)], ulps),
    ]


CASES: list[Case] = [
    *_binary("add", tv.add),
    *_binary("subtract", tv.subtract),
    *_binary("multiply", tv.multiply),
    *_binary("divide", tv.divide, ys=pos),
    *_binary("pow", tv.pow, xs=pos, ulps=2),
    Case("pow", lambda x: x**2.0, [r(6)], 2),
    Case("pow", lambda x: x**2.0, [r()]),
    Case("pow", lambda x: x**3.0 + x**0.5 * 0.0 + x**-1.0, [pos(5)], 2),
    *_binary("maximum", tv.maximum),
    *_binary("minimum", tv.minimum),
    Case("where", lambda c, x, y: tv.where(c, x, y), [bools(3, 4), r(3, 4), r(4)], diff=(1, 2)),
    Case("where", lambda c, x, y: tv.where(c, x, y), [bools(), r(), r()], diff=(1, 2)),
    Case("where", lambda c, x, y: tv.where(c, x, y), [bools(4), r(), r(3, 4)], diff=(1, 2)),
    Case("clip_by_value", tv.clip_by_value, [r(3, 4), r(4, lo=-1, hi=-0.5), r(lo=0.5, hi=1)]),
    Case("clip_by_value", tv.clip_by_value, [r(), r(lo=-1, hi=-0.5), r(lo=0.5, hi=1)]),
    *_unary("negative", tv.negative),
    *_unary("square", tv.square),
    *_unary("sqrt", tv.sqrt, pos),
    *_unary("exp", tv.exp),
    *_unary("reciprocal", tv.reciprocal, pos),
    *_unary("log", tv.math.log, pos),
    *_unary("expm1", tv.math.expm1, ulps=2),
    *_unary("log1p", tv.math.log1p, pos, ulps=2),
    *_unary("sin", tv.sin),
    *_unary("cos", tv.cos),
    *_unary("tanh", tv.tanh),
    *_unary("sigmoid", tv.sigmoid),
    *_unary("sign", tv.sign),
    *_unary("abs", tv.abs),
    *_unary("relu", tv.nn.relu),
    *_unary("identity", tv.identity),
    Case("cast", lambda x: tv.cast(tv.cast(x, tv.float64), tv.float32) * 2.0, [r(3, 4)]),
    Case("cast", lambda x: tv.cast(x, tv.int32), [r(3, 4, lo=-9, hi=9)], diff=()),
    Case("cast", lambda x: tv.cast(x, tv.float32), [ints(5)], diff=()),
    Case("cast", lambda x: tv.cast(x, tv.bool), [ints(5)], diff=()),
    Case("cast", lambda x: tv.cast(x, tv.int64), [r(lo=-9, hi=9)], diff=()),
    Case("matmul", tv.matmul, [r(3, 4), r(4, 5)]),
    Case(
        "matrix_solve",
        tv.linalg.solve,
        [r(3, 3, lo=-0.5, hi=0.5) + 3 * np.eye(3, dtype=np.float32), r(3, 2)],
        8,
    ),
    Case(
        "matrix_solve",
        lambda a, b: tv.linalg.solve(a, b, adjoint=True),
        [r(2, 3, 3, lo=-0.5, hi=0.5) + 3 * np.eye(3, dtype=np.float32), r(2, 3, 1)],
        8,
    ),
    Case("matmul", lambda a, b: tv.matmul(a, b, transpose_a=True), [r(4, 3), r(4, 5)]),
    Case("matmul", lambda a, b: tv.matmul(a, b, transpose_b=True), [r(3, 4), r(5, 4)]),
    Case(
        "matmul",
        lambda a, b: tv.matmul(a, b, transpose_a=True, transpose_b=True),
        [r(4, 3), r(5, 4)],
    ),
    Case("matmul", tv.matmul, [r(2, 3, 4), r(4, 5)]),
    Case("matmul", tv.matmul, [r(2, 1, 3, 4), r(3, 4, 2)]),
    Case("matmul", tv.matmul, [r(3, 4, dtype=np.float64), r(4, 2, dtype=np.float64)]),
    Case("matmul", tv.matmul, [ints(3, 4), ints(4, 2)], diff=()),
    # (g - Σ g·s)·s cancels: the gradients' errors are relative to |g|·s, not to themselves
    Case("softmax", tv.nn.softmax, [r(4, 6)], 2, grad_ulps=32),
    Case("softmax", tv.nn.softmax, [r(2, 3, 5)], 2, grad_ulps=32),
    Case("log_softmax", tv.nn.log_softmax, [r(4, 6)], 2, grad_ulps=32),
    Case("log_softmax", tv.nn.log_softmax, [r(7)], 2, grad_ulps=32),
    Case(
        "softmax_cross_entropy_with_logits",
        lambda y, z: tv.nn.softmax_cross_entropy_with_logits(labels=y, logits=z),
        [np.full((4, 3), 1 / 3, np.float32), r(4, 3)],
        4,
        grad_ulps=32,
    ),
    Case(
        "softmax_cross_entropy_with_logits",
        lambda y, z: tv.nn.softmax_cross_entropy_with_logits(labels=y, logits=z),
        [np.array([0.25, 0.75], np.float32), r(2)],
        4,
        grad_ulps=32,
    ),
    Case(
        "sparse_softmax_cross_entropy_with_logits",
        lambda y, z: tv.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=z),
        [ints(5, lo=0, hi=4), r(5, 4)],
        4,
        grad_ulps=32,
    ),
    Case(
        "sparse_softmax_cross_entropy_with_logits",
        lambda y, z: tv.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=z),
        [ints(lo=0, hi=4), r(4)],
        4,
        grad_ulps=32,
    ),
    *[
        Case(name, lambda x, f=fn, a=axis, k=keep: f(x, axis=a, keepdims=k), [x], ulps)
        for name, fn in [
            ("reduce_sum", tv.reduce_sum),
            ("reduce_mean", tv.reduce_mean),
            ("reduce_max", tv.reduce_max),
            ("reduce_min", tv.reduce_min),
            ("reduce_prod", tv.reduce_prod),
        ]
        # numpy's order of additions is reproduced, except over non-adjacent axes
        for x, axis, keep, ulps in [
            (r(3, 4, 5), None, False, 0),
            (r(3, 4, 5), 1, True, 0),
            (r(3, 4, 5), [0, 2], False, 4),
            (r(3, 4, 5), -1, False, 0),
            # a product of 300 values in [-2, 2) is ~1e-40: a subnormal, which compiled code
            # flushes to zero as TensorFlow does; factors near 1 keep it a normal number
            (r(300, lo=0.8, hi=1.25) if name == "reduce_prod" else r(300), 0, False, 0),
            (r(), None, False, 0),
        ]
    ],
    Case("reduce_any", lambda x: tv.reduce_any(x, axis=1), [bools(3, 4)]),
    Case("reduce_all", lambda x: tv.reduce_all(x), [bools(3, 4)]),
    Case("argmax", lambda x: tv.argmax(x, axis=1), [r(3, 4)]),
    Case("argmin", lambda x: tv.argmin(x, axis=0), [r(3, 4)]),
    Case("reshape", lambda x: tv.reshape(x, [4, 3]), [r(3, 4)]),
    Case("reshape", lambda x: tv.reshape(x, [1, 1]), [r()]),
    Case("reshape", lambda x: tv.reshape(x, []), [r(1, 1)]),
    Case(
        "reshape",
        lambda x: tv.reshape(tv.transpose(x), [-1]),
        [r(3, 4)],
        ops=("reshape", "transpose"),
    ),
    Case("transpose", tv.transpose, [r(3, 4)]),
    Case("transpose", lambda x: tv.transpose(x, [1, 2, 0]), [r(2, 3, 4)]),
    Case("broadcast_to", lambda x: tv.broadcast_to(x, [3, 4]), [r(4)]),
    Case("broadcast_to", lambda x: tv.broadcast_to(x, [2, 3]), [r()]),
    Case("squeeze", tv.squeeze, [r(3, 1, 4, 1)]),
    Case("squeeze", tv.squeeze, [r(1, 1)]),
    Case("expand_dims", lambda x: tv.expand_dims(x, 1), [r(3, 4)]),
    Case("expand_dims", lambda x: tv.expand_dims(x, 0), [r()]),
    Case("concat", lambda a, b: tv.concat([a, b], axis=1), [r(3, 2), r(3, 4)]),
    Case("concat", lambda a, b, c: tv.concat([a, b, c], axis=0), [r(1, 3), r(2, 3), r(1, 3)]),
    Case("stack", lambda a, b: tv.stack([a, b], axis=1), [r(3, 2), r(3, 2)]),
    Case("stack", lambda a, b, c: tv.stack([a, b, c]), [r(), r(), r()]),
    Case("strided_slice", lambda x: x[1:, ::2], [r(4, 5)]),
    Case("strided_slice", lambda x: x[2], [r(4, 5)]),
    Case("strided_slice", lambda x: x[1, 3], [r(4, 5)]),
    Case("strided_slice", lambda x: x[::-1, None, 1:4], [r(4, 5)]),
    Case("strided_slice", lambda x: x[..., 0], [r(2, 3, 4)]),
    Case("strided_slice", lambda x: x[None, 2], [r(4)]),
    Case(
        "strided_slice_grad",
        lambda g: _slice_grad(g, (4, 5), (slice(1, None), slice(None, None, 2))),
        [r(3, 3)],
    ),
    Case(
        "strided_slice_grad",
        lambda g: _slice_grad(g, (4, 5), (slice(None, None, -1), None, 2)),
        [r(4, 1)],
    ),
    Case("zeros_like", lambda x: tv.zeros_like(x) + x, [r(3, 4)]),
    Case("ones_like", lambda x: tv.ones_like(x) * x, [r()]),
    Case("one_hot", lambda i: tv.one_hot(i, 4), [ints(5, lo=0, hi=4)]),
    Case("one_hot", lambda i: tv.one_hot(i, 3), [ints(lo=0, hi=3)]),
    Case("equal", tv.equal, [ints(3, 4, lo=0, hi=3), ints(4, lo=0, hi=3)]),
    Case("not_equal", tv.not_equal, [ints(3, 4, lo=0, hi=3), ints(lo=0, hi=3)]),
    Case("greater", tv.greater, [r(3, 4), r(4)]),
    Case("greater_equal", tv.greater_equal, [r(), r()]),
    Case("less", tv.less, [r(3, 4), r()]),
    Case("less_equal", tv.less_equal, [r(5), r(5)]),
    Case("logical_and", tv.logical_and, [bools(3, 4), bools(4)]),
    Case("logical_or", tv.logical_or, [bools(), bools(3)]),
    Case("logical_not", tv.logical_not, [bools(3, 4)]),
    Case("floordiv", lambda x, y: x // y, [ints(3, 4), ints(4, lo=1, hi=4)]),
    Case("floordiv", lambda x, y: x // y, [r(3, 4), pos(4)], diff=()),
    Case("mod", lambda x, y: x % y, [ints(3, 4), ints(4, lo=1, hi=4)]),
    Case("mod", lambda x, y: x % y, [ints(), ints(lo=1, hi=4)]),
    Case("custom_gradient", _x_sin_x, [r(4)], 2),
]
