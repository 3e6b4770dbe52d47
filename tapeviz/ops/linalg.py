"""Matrix multiplication (``matmul`` / ``@``) with TensorFlow's ``transpose_a/b`` flags.

For ``z = a @ b`` the VJP is ``∂L/∂a = ∂L/∂z · bᵀ`` and ``∂L/∂b = aᵀ · ∂L/∂z``; with
transposed operands the rule is arranged as TensorFlow arranges it, so no transpose is ever
materialised twice.  Leading (batch) dimensions broadcast and are summed back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor, binary_args
from ._registry import Op, apply, register

__all__ = ["matmul", "solve"]


def _t(x: Any, flag: bool) -> Any:
    return np.swapaxes(x, -1, -2) if flag else x


def _matmul_fwd(a: Any, b: Any, transpose_a: bool, transpose_b: bool) -> Any:
    return np.matmul(_t(a, transpose_a), _t(b, transpose_b))


def _matmul_vjp(
    k: Any,
    g: Any,
    out: Any,
    a: Any,
    b: Any,
    transpose_a: bool,
    transpose_b: bool,
    needs: Any = (1, 1),
) -> tuple[Any, Any]:
    # (left, right, transpose_left, transpose_right) of each gradient's product, per flags
    ta, tb = transpose_a, transpose_b
    if not ta and not tb:
        ra, rb = (g, b, False, True), (a, g, True, False)  # g·bᵀ, aᵀ·g
    elif not ta and tb:
        ra, rb = (g, b, False, False), (g, a, True, False)
    elif ta and not tb:
        ra, rb = (b, g, False, True), (a, g, False, False)
    else:
        ra, rb = (b, g, True, True), (g, a, True, True)

    def grad(rule: tuple[Any, Any, bool, bool], shape: Any) -> Any:
        p, q, tp, tq = rule
        return k.unbroadcast(k.matmul(p, q, transpose_a=tp, transpose_b=tq), shape)

    return (
        grad(ra, a.shape) if needs[0] else None,
        grad(rb, b.shape) if needs[1] else None,
    )


def _matmul_text(attrs: dict[str, Any], n: int) -> tuple[str, str]:
    # the same four arrangements as _matmul_vjp, written out
    ta, tb = attrs.get("transpose_a", False), attrs.get("transpose_b", False)
    if not ta and not tb:
        return "{g} · {y}ᵀ", "{x}ᵀ · {g}"
    if not ta and tb:
        return "{g} · {y}", "{g}ᵀ · {x}"
    if ta and not tb:
        return "{y} · {g}ᵀ", "{x} · {g}"
    return "{y}ᵀ · {g}ᵀ", "{g}ᵀ · {x}ᵀ"


matmul_op = register(
    Op(
        "matmul",
        _matmul_fwd,
        _matmul_vjp,
        "@",
        r"x \cdot y",
        _matmul_text,
        "Matrix product (batched over leading axes).",
        takes_needs=True,
    )
)


def matmul(
    a: Any,
    b: Any,
    transpose_a: bool = False,
    transpose_b: bool = False,
    name: str | None = None,
    **unsupported: Any,
) -> Tensor:
    """Matrix product ``a @ b`` of tensors of rank >= 2.

    >>> import tapeviz as tv
    >>> X = tv.constant([[1., 2.], [3., 4.]])
    >>> print(tv.matmul(X, X, transpose_b=True))
    tv.Tensor(
    [[ 5. 11.]
     [11. 25.]], shape=(2, 2), dtype=float32)
    """
    if unsupported:
        raise TypeError(f"matmul: unsupported arguments {sorted(unsupported)}")
    x, y = binary_args(a, b, "matmul")
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(
            f"matmul needs tensors of rank >= 2, got shapes {x.shape} and {y.shape}; "
            "make vectors into matrices with tv.reshape(v, [-1, 1]) or tv.expand_dims"
        )
    if x.dtype.is_bool:
        raise TypeError("matmul: bool tensors cannot be multiplied; cast them first")
    xs, ys = x._value.shape, y._value.shape
    k1 = xs[-2] if transpose_a else xs[-1]
    k2 = ys[-1] if transpose_b else ys[-2]
    if k1 != k2:
        ta = "ᵀ" if transpose_a else ""
        tb = "ᵀ" if transpose_b else ""
        raise ValueError(
            f"matmul: inner dimensions do not match: a{ta} has shape "
            f"{_shape_t(xs, transpose_a)} and b{tb} has shape {_shape_t(ys, transpose_b)} "
            f"({k1} ≠ {k2}). Check the operand order or use transpose_a/transpose_b."
        )
    try:
        np.broadcast_shapes(xs[:-2], ys[:-2])
    except ValueError:
        raise ValueError(
            f"matmul: batch dimensions {xs[:-2]} and {ys[:-2]} cannot be broadcast"
        ) from None
    attrs = {"transpose_a": bool(transpose_a), "transpose_b": bool(transpose_b)}
    return apply(matmul_op, (x, y), attrs, name=name)


def _shape_t(s: tuple[int, ...], t: bool) -> tuple[int, ...]:
    return s[:-2] + (s[-1], s[-2]) if t else tuple(s)


# --- solve: a·x = b ------------------------------------------------------------------------------
def _solve_fwd(a: Any, b: Any, adjoint: bool) -> Any:
    from ..errors import InvalidArgumentError

    try:
        return np.linalg.solve(_t(a, adjoint), b).astype(b.dtype, copy=False)
    except np.linalg.LinAlgError:
        raise InvalidArgumentError(
            "Input matrix is not invertible. (tv.linalg.solve: the matrix is singular; "
            "check it, or use a least-squares method)"
        ) from None


def _solve_vjp(k: Any, g: Any, out: Any, a: Any, b: Any, adjoint: bool) -> tuple[Any, Any]:
    # x = a⁻¹b: ∂L/∂b = a⁻ᵀ g, ∂L/∂a = −(∂L/∂b) xᵀ (adjoint: −x (∂L/∂b)ᵀ), as TensorFlow
    gb = k.matrix_solve(a, g, adjoint=not adjoint)
    if adjoint:
        return -k.matmul(out, gb, transpose_a=False, transpose_b=True), gb
    return -k.matmul(gb, out, transpose_a=False, transpose_b=True), gb


solve_op = register(
    Op(
        "matrix_solve",
        _solve_fwd,
        _solve_vjp,
        "solve",
        r"x^{-1} y",
        lambda attrs, n: (
            ("−{out} · ({x}⁻¹ {g})ᵀ", "{x}⁻¹ · {g}")
            if attrs.get("adjoint")
            else ("−({x}⁻ᵀ {g}) · {out}ᵀ", "{x}⁻ᵀ · {g}")
        ),
        "Solution x of a·x = b (batched over leading axes).",
    )
)


def solve(matrix: Any, rhs: Any, adjoint: bool = False, name: str | None = None) -> Tensor:
    """The solution ``x`` of ``matrix · x = rhs`` (``matrixᵀ · x = rhs`` with ``adjoint``),
    as ``tf.linalg.solve``; ``matrix`` is ``[..., M, M]``, ``rhs`` is ``[..., M, K]``.

    >>> import tapeviz as tv
    >>> print(tv.linalg.solve(tv.constant([[2.0, 0.0], [0.0, 4.0]]), tv.constant([[2.0], [2.0]])))
    tv.Tensor(
    [[1. ]
     [0.5]], shape=(2, 1), dtype=float32)
    """
    a, b = binary_args(matrix, rhs, "solve")
    if not a.dtype.is_floating:
        raise TypeError(f"solve: matrix must be float32 or float64, got {a.dtype.name}")
    sa, sb = tuple(a.shape), tuple(b.shape)
    if len(sa) < 2 or sa[-1] != sa[-2]:
        raise ValueError(f"solve: matrix must be square, shaped [..., M, M]; got {sa}")
    if len(sb) != len(sa) or sb[:-2] != sa[:-2] or sb[-2] != sa[-1]:
        raise ValueError(
            f"solve: rhs must be shaped [..., M, K] with the matrix's batch shape and M = "
            f"{sa[-1]}; got matrix {sa} and rhs {sb} (a vector rhs: tv.reshape(b, [-1, 1]))"
        )
    return apply(solve_op, (a, b), {"adjoint": bool(adjoint)}, name=name)
