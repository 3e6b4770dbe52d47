"""Matrix multiplication (``matmul`` / ``@``) with TensorFlow's ``transpose_a/b`` flags.

For ``z = a @ b`` the VJP is ``∂L/∂a = ∂L/∂z · bᵀ`` and ``∂L/∂b = aᵀ · ∂L/∂z``; with
transposed operands the rule is arranged as TensorFlow arranges it, so no transpose is ever
materialised twice.  Leading (batch) dimensions broadcast and are summed back.

The same numbers on every CPU
-----------------------------
A BLAS library picks a kernel for the CPU it runs on (numpy's OpenBLAS: SkylakeX, Haswell,
Zen, Prescott, ...) and each kernel adds a dot product's terms in its own order, so the last
bits of ``np.matmul`` differ between machines — and a training loop amplifies them.  Small
float products (at most :data:`FIXED_ORDER_MAX_MACS` multiply-adds per matrix, e.g. 64×64
by 64×64) are therefore computed in a fixed order with numpy's elementwise arithmetic,
which rounds the same on every CPU (:func:`fixed_order` says which order):

* ``"chain"`` (inner dimension ``k <= CHAIN_MAX_K``): TensorFlow's own order (its Eigen
  matrix kernel): each entry starts at +0 and takes the products one after the other,
  ``acc = a[i, p]·b[p, j] + acc``.  For float32 each step is one fused multiply-add with
  a single rounding: computed in float64, where the product of two float32 numbers is
  exact, then rounded to float32.  (Only when that float64 sum is inexact *and* falls on
  the midpoint between two float32 numbers does it round twice: once in 2·10⁸ steps on
  random data.)  For float64 the product and the sum are rounded separately.
* ``"pairwise"`` (longer sums): the products in float64 (exact for float32), added up in
  numpy's pairwise order (the order of ``np.sum``), rounded once to the result's type.

Larger products call BLAS through ``np.matmul``: fast, but their last bits depend on the
CPU.  The compiled code of :func:`tapeviz.function` makes the same choice with the same
arithmetic (``tapeviz.compiler.kernels.chain_matmul`` / ``pairwise_matmul``), so eager and compiled
results stay equal bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor, binary_args
from ._registry import Op, apply, register
from .math import conjugate_rule

__all__ = ["matmul", "solve", "fixed_order", "FIXED_ORDER_MAX_MACS", "CHAIN_MAX_K"]

FIXED_ORDER_MAX_MACS = 1 << 18
"""Products of at most this many multiply-adds per matrix (``m·k·n``) avoid BLAS."""
CHAIN_MAX_K = 64
"""Fixed-order products with at most this inner dimension use TensorFlow's order."""


def _t(x: Any, flag: bool) -> Any:
    return np.swapaxes(x, -1, -2) if flag else x


def fixed_order(dtype: Any, m: int, k: int, n: int) -> str | None:
    """How an ``(m, k) @ (k, n)`` product of ``dtype`` is summed: ``"chain"`` or
    ``"pairwise"`` (a fixed order, the same on every CPU), or None: by ``np.matmul`` (BLAS
    for large float products; integers and float16 have no BLAS and are exact or fixed
    anyway).  The compiled code asks the same question."""
    if np.dtype(dtype) not in _FIXED_ORDER_DTYPES or m * k * n > FIXED_ORDER_MAX_MACS:
        return None
    return "chain" if k <= CHAIN_MAX_K else "pairwise"


_FIXED_ORDER_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# float64 products held at once (32 MB); larger batches take the products a part at a time
_MAX_PRODUCTS = 1 << 22


def _chain(x: Any, y: Any) -> Any:
    """``x @ y`` summed as TensorFlow's kernel sums: ``acc = x[..., i, p]·y[..., p, j] + acc``
    for p = 0, 1, ..., k-1 from ``acc = +0``, each step in float64 and then rounded to the
    result's type (for float32: a fused multiply-add)."""
    shape = (*np.broadcast_shapes(x.shape[:-2], y.shape[:-2]), x.shape[-2], y.shape[-1])
    k = x.shape[-1]
    out = np.zeros(shape, x.dtype)
    if out.size * k <= _MAX_PRODUCTS:
        prods = np.multiply(x[..., :, :, None], y[..., None, :, :], dtype=np.float64)
        for p in range(k):
            np.add(prods[..., :, p, :], out, out=out, dtype=np.float64)
    else:  # one term at a time: the same numbers in less memory
        for p in range(k):
            term = np.multiply(x[..., :, p, None], y[..., None, p, :], dtype=np.float64)
            np.add(term, out, out=out, dtype=np.float64)
    return out


def _pairwise(x: Any, y: Any) -> Any:
    """``x @ y`` from the float64 products, added up along k in numpy's pairwise order,
    rounded once to the result's type."""
    batch = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    m, k, n = x.shape[-2], x.shape[-1], y.shape[-1]
    if batch and int(np.prod(batch)) * m * k * n > _MAX_PRODUCTS:  # one matrix at a time
        xb = np.broadcast_to(x, (*batch, m, k))
        yb = np.broadcast_to(y, (*batch, k, n))
        out = np.empty((*batch, m, n), x.dtype)
        for i in np.ndindex(*batch):
            out[i] = _pairwise(xb[i], yb[i])
        return out
    # order="C": k innermost whatever the operands' layout (numpy's default follows them)
    yt = np.swapaxes(y, -1, -2)
    prods = np.multiply(x[..., :, None, :], yt[..., None, :, :], dtype=np.float64, order="C")
    return np.add.reduce(prods, axis=-1).astype(x.dtype)


def _matmul_fwd(a: Any, b: Any, transpose_a: bool, transpose_b: bool) -> Any:
    x, y = _t(a, transpose_a), _t(b, transpose_b)
    order = fixed_order(x.dtype, x.shape[-2], x.shape[-1], y.shape[-1])
    if order is None:
        return np.matmul(x, y)
    with np.errstate(over="ignore", invalid="ignore"):  # inf and nan silently, as BLAS
        return _chain(x, y) if order == "chain" else _pairwise(x, y)


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
        conjugate_rule(_matmul_vjp, unary=False),
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
    return (*s[:-2], s[-1], s[-2]) if t else tuple(s)


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
