"""numba kernels used by the code that :func:`tapeviz.function` generates.

Each kernel has a numpy reference beside it (``ref_<name>``), the specification that the
tests compare the kernel with.  Kernels that reproduce numpy's order of float operations
(``sum_axis`` uses numpy's pairwise summation) are bit for bit equal to their reference;
the others agree within a few ulps.

Reductions work on a canonical 3-D view ``(P, R, Q)`` of the input: ``P`` outer entries,
``R`` reduced entries, ``Q`` inner entries (the code generator reshapes or transposes to
get there), and return ``(P, Q)``.

Importing this module imports numba; ``import tapeviz`` never does.  Small matrix products
run in the fixed order of the eager op (:func:`chain_matmul`, :func:`pairwise_matmul`: the
same bits on every CPU); large ones call the BLAS that numpy ships (OpenBLAS), found at
import time and linked by symbol name, so cached machine code stays valid in a new process.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import types
from numba.extending import overload

from .. import _eigen_f32 as E
from .. import _eigen_pow as P
from .._eigen_jit import (  # Eigen's kernels (and their bit helpers) compiled by numba
    cos32,
    cosf,
    exp32,
    expf,
    jit,
    log32,
    logf,
    pow32,
    powf,
    sigmoid32,
    sigmoidf,
    sin32,
    sinf,
    tanh32,
)
from .._jit import cached_njit
from .._symbols import HAVE_BLAS
from .fpenv import FLUSHES_SUBNORMALS, FTZ_DAZ, read_mxcsr, write_mxcsr

__all__ = [
    "HAVE_BLAS",
    "select",
    "block_sum",
    "leaf_sums",
    "pairwise_sum",
    "sum_axis",
    "ref_sum_axis",
    "mean_axis",
    "ref_mean_axis",
    "prod_axis",
    "ref_prod_axis",
    "max_axis",
    "ref_max_axis",
    "min_axis",
    "ref_min_axis",
    "any_axis",
    "ref_any_axis",
    "all_axis",
    "ref_all_axis",
    "argmax_axis",
    "ref_argmax_axis",
    "argmin_axis",
    "ref_argmin_axis",
    "softmax_rows",
    "ref_softmax_rows",
    "log_softmax_rows",
    "ref_log_softmax_rows",
    "xent_rows",
    "ref_xent_rows",
    "sparse_xent_rows",
    "ref_sparse_xent_rows",
    "sparse_xent_softmax_rows",
    "xent_softmax_rows",
    "matmul_f32",
    "matmul_f64",
    "matmul_loops",
    "solve",
    "ref_solve",
    "ref_matmul2d",
    "chain_matmul",
    "pairwise_matmul",
    "one_hot",
    "ref_one_hot",
    "truncated_normal",
    "ref_truncated_normal",
    "powf",
    "pow64",
    "exp32",
    "ref_exp32",
    "pow32",
    "pow32_whole",
    "pow32_loop",
    "ref_pow32",
    "log32",
    "ref_log32",
    "tanh32",
    "ref_tanh32",
    "sigmoid32",
    "ref_sigmoid32",
    "sin32",
    "cos32",
    "elementwise",
    "map32",
    "expf",
    "sigmoidf",
    "logf",
    "sinf",
    "cosf",
    "FLUSHES_SUBNORMALS",
    "flush_subnormals_enter",
    "flush_subnormals_leave",
]

# cached as generated code is: in the checked cache folder (tapeviz._jit); ``jit`` and
# ``inline_jit`` come from tapeviz._eigen_jit
fastjit = cached_njit(error_model="numpy", nogil=True, fastmath=True)


# --- external symbols: libm's pow, numpy's OpenBLAS gemm (registered by tapeviz._symbols) --
# (powf, libm's float32 pow, comes from tapeviz._eigen_jit)
pow64 = types.ExternalFunction("tapeviz_pow", types.float64(types.float64, types.float64))
"""libm's ``pow`` (float64), under a name LLVM does not know, as :data:`powf`."""
_i32, _i64, _vp, _f32, _f64 = types.int32, types.int64, types.voidptr, types.float32, types.float64


def _external(name: str, sig: Any) -> Any:
    return types.ExternalFunction(f"tapeviz_{name}", sig)


# CBLAS with 64-bit integers (numpy's ILP64 OpenBLAS); enums stay C ints
_gemm_args = (_i32, _i32, _i32, _i64, _i64, _i64)
sgemm = _external("sgemm", types.void(*_gemm_args, _f32, _vp, _i64, _vp, _i64, _f32, _vp, _i64))
dgemm = _external("dgemm", types.void(*_gemm_args, _f64, _vp, _i64, _vp, _i64, _f64, _vp, _i64))
_gemv_args = (_i32, _i32, _i64, _i64)
sgemv = _external("sgemv", types.void(*_gemv_args, _f32, _vp, _i64, _vp, _i64, _f32, _vp, _i64))
dgemv = _external("dgemv", types.void(*_gemv_args, _f64, _vp, _i64, _vp, _i64, _f64, _vp, _i64))
sdot = _external("sdot", _f32(_i64, _vp, _i64, _vp, _i64))
ddot = _external("ddot", _f64(_i64, _vp, _i64, _vp, _i64))
_syrk_args = (_i32, _i32, _i32, _i64, _i64)
ssyrk = _external("ssyrk", types.void(*_syrk_args, _f32, _vp, _i64, _f32, _vp, _i64))
dsyrk = _external("dsyrk", types.void(*_syrk_args, _f64, _vp, _i64, _f64, _vp, _i64))
_ROW_MAJOR, _COL_MAJOR, _NO_TRANS, _TRANS, _UPPER = 101, 102, 111, 112, 121


@jit
def select(c: Any, x: Any, y: Any) -> Any:
    """``x if c else y`` for scalars (a call keeps branches out of generated code)."""
    return x if c else y


# --- sums: numpy's pairwise summation ------------------------------------------------------
@jit
def _block_sum(a: Any, lo: int, n: int) -> Any:
    """NumPy's pairwise_sum leaf: fewer than 8 entries in order, else 8 accumulators."""
    if n < 8:
        res = a.dtype.type(0)
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    m = n - n % 8
    # Eight numbers at a time through a slice: constant indices into it need no
    # negative-index checks, which ``a[lo + i + k]`` would cost on every read.
    for i in range(8, m, 8):
        b = a[lo + i : lo + i + 8]
        r0 += b[0]
        r1 += b[1]
        r2 += b[2]
        r3 += b[3]
        r4 += b[4]
        r5 += b[5]
        r6 += b[6]
        r7 += b[7]
    i = m
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


block_sum = _block_sum


@jit
def leaf_sums(buf: Any, sched: Any, first: int, last: int, acc: Any, sp: int, work: Any) -> int:
    """Leaves ``first`` to ``last - 1`` of a pairwise schedule, numpy's sums of them.

    ``sched[leaf]``: the leaf's length and merges (see
    :func:`tapeviz.compiler.fusion.pairwise_schedule`); the leaves' numbers lie one after
    another from ``buf[0]``.  Each leaf is summed as :func:`block_sum` sums it and pushed
    onto the stack of partial sums ``acc`` (``sp`` entries high), then the schedule's merges
    are done; returns the new height.  ``work``: 136 numbers of scratch.

    numpy's 8 accumulators of a leaf are a recurrence of distance 8, ``work[j + 8] =
    work[j] + b[j]`` from ``work[0:8] = -0.0`` (``-0.0 + x`` is ``x``, bit for bit), so
    ``work[m8:m8 + 8]`` holds the 8 sums.  LLVM vectorises it 8 numbers wide and keeps the
    running sums in a register; :func:`block_sum`'s 8 named accumulators stay scalar
    (numba leaves LLVM's SLP vectoriser off).  Twice as fast, with the same additions.

    The schedule is read a leaf at a time between passes over memory, so it is bytes, a
    leaf's two side by side: as two int64 rows, the schedule of 1e6 numbers missed the
    cache ~4 times a block (W5 ~0.1 ms slower)."""
    zero = -buf.dtype.type(0.0)
    off = 0
    for leaf in range(first, last):
        n = np.int64(sched[leaf, 0])
        b = buf[off : off + n]
        m8 = n - n % 8
        for k in range(8):
            work[k] = zero
        for j in range(m8):
            work[j + 8] = work[j] + b[j]
        w = work[m8 : m8 + 8]
        s = ((w[0] + w[1]) + (w[2] + w[3])) + ((w[4] + w[5]) + (w[6] + w[7]))
        if n < 8:  # (numpy adds up fewer than 8 numbers in order from +0.0)
            s = buf.dtype.type(0.0)
        for j in range(m8, n):
            s += b[j]
        acc[sp] = s
        sp += 1
        for _ in range(np.int64(sched[leaf, 1])):
            sp -= 1
            acc[sp - 1] = acc[sp - 1] + acc[sp]
        off += n
    return sp


@jit
def pairwise_sum(a: Any, lo: int, n: int) -> Any:
    """Sum of ``a[lo:lo+n]`` in numpy's pairwise order."""
    if n <= 128:
        return _block_sum(a, lo, n)
    return _pairwise_walk(a, lo, n)


@jit
def _pairwise_walk(a: Any, lo: int, n: int) -> Any:
    """:func:`pairwise_sum` of more than 128 entries (iterative post-order walk)."""
    # stack frames: start, length, stage (0: go left, 1: go right, 2: combine)
    st_lo = np.empty(64, np.int64)
    st_n = np.empty(64, np.int64)
    st_stage = np.zeros(64, np.int64)
    left = np.empty(64, a.dtype)
    right = np.empty(64, a.dtype)
    sp = 0
    st_lo[0], st_n[0], st_stage[0] = lo, n, 0
    result = a.dtype.type(0)
    while sp >= 0:
        n_ = st_n[sp]
        if n_ <= 128:
            v = _block_sum(a, st_lo[sp], n_)
            sp -= 1
        elif st_stage[sp] == 0:
            n2 = n_ // 2
            n2 -= n2 % 8
            st_stage[sp] = 1
            st_lo[sp + 1], st_n[sp + 1], st_stage[sp + 1] = st_lo[sp], n2, 0
            sp += 1
            continue
        elif st_stage[sp] == 1:
            n2 = n_ // 2
            n2 -= n2 % 8
            st_stage[sp] = 2
            st_lo[sp + 1], st_n[sp + 1], st_stage[sp + 1] = st_lo[sp] + n2, n_ - n2, 0
            sp += 1
            continue
        else:
            v = left[sp] + right[sp]
            sp -= 1
        if sp < 0:
            result = v
        elif st_stage[sp] == 1:
            left[sp] = v
        else:
            right[sp] = v
    return result


@jit
def _row_sums(x: Any) -> Any:
    """:func:`pairwise_sum` of each row of a C-contiguous 2-D array.  The choice between a
    short and a long row is made once, outside the loop: a call to ``pairwise_sum`` per
    row is not inlined and costs ~10 ns, as much as summing a classifier's row of ten."""
    n, k = x.shape
    flat = x.reshape(n * k)
    out = np.empty(n, x.dtype)
    if k <= 128:
        for i in range(n):
            out[i] = _block_sum(flat, i * k, k)
    else:
        for i in range(n):
            out[i] = _pairwise_walk(flat, i * k, k)
    return out


# --- reductions over axis 1 of (P, R, Q): one loop, a step per reduction -------------------
# As minitorch's ``tensor_reduce``: a reduction is a starting value per output entry and a
# step that folds one more input entry into it; every reduction below is the loop of
# :func:`_reduction` with its own step.  The loop runs over r outside q, so that the inner
# loop reads memory in order (and vectorises for sum and product); each output entry still
# sees its inputs in order r = 0, 1, ..., as numpy's loops do.
def _reduction(step: Any) -> Any:
    """The loop of every reduction, for one ``step``: ``out[p, q] = step(out[p, q], x, p,
    r, q)`` for r = 0, 1, ... (``out`` holds the starting values).  Not cached itself: it
    is compiled into each kernel that calls it, which is cached (a function passed as an
    argument would keep numba from caching its caller)."""

    def reduce(x: Any, out: Any) -> Any:
        p_, r_, q_ = x.shape
        if q_ == 1:  # the accumulator stays in a register
            for p in range(p_):
                acc = out[p, 0]
                for r in range(r_):
                    acc = step(acc, x, p, r, 0)
                out[p, 0] = acc
            return out
        for p in range(p_):  # r outside q: memory read in order (and vector code)
            for r in range(r_):
                for q in range(q_):
                    out[p, q] = step(out[p, q], x, p, r, q)
        return out

    return numba.njit(error_model="numpy", nogil=True)(reduce)


@jit
def _first_row(x: Any) -> Any:
    """The entries at r = 0 (max, min: a step with r = 0 then changes nothing)."""
    return x[:, 0, :].copy()


@jit
def _add(acc: Any, x: Any, p: int, r: int, q: int) -> Any:
    return acc + x[p, r, q]


@jit
def _mul(acc: Any, x: Any, p: int, r: int, q: int) -> Any:
    return acc * x[p, r, q]


@jit
def _greater(acc: Any, x: Any, p: int, r: int, q: int) -> Any:
    v = x[p, r, q]
    return v if (v > acc or v != v) else acc  # a NaN replaces acc; nothing replaces a NaN


@jit
def _less(acc: Any, x: Any, p: int, r: int, q: int) -> Any:
    v = x[p, r, q]
    return v if (v < acc or v != v) else acc


@jit
def _or(acc: Any, x: Any, p: int, r: int, q: int) -> Any:
    return acc | (x[p, r, q] != 0)


@jit
def _and(acc: Any, x: Any, p: int, r: int, q: int) -> Any:
    return acc & (x[p, r, q] != 0)


@jit
def _arg_greater(k: Any, x: Any, p: int, r: int, q: int) -> Any:
    best = x[p, k, q]  # the accumulator is the index of the maximum so far
    v = x[p, r, q]
    return r if best == best and (v > best or v != v) else k


@jit
def _arg_less(k: Any, x: Any, p: int, r: int, q: int) -> Any:
    best = x[p, k, q]
    v = x[p, r, q]
    return r if best == best and (v < best or v != v) else k


_reduce_add = _reduction(_add)
_reduce_mul = _reduction(_mul)
_reduce_greater = _reduction(_greater)
_reduce_less = _reduction(_less)
_reduce_or = _reduction(_or)
_reduce_and = _reduction(_and)
_reduce_arg_greater = _reduction(_arg_greater)
_reduce_arg_less = _reduction(_arg_less)


@jit
def _pq(x: Any) -> Any:
    """The shape (P, Q) of a reduction's result."""
    return (x.shape[0], x.shape[2])


@jit
def sum_axis(x: Any) -> Any:
    """Sum over axis 1 of ``(P, R, Q)``: numpy's order (pairwise if Q == 1, else rows),
    from numpy's identity +0.0 (a sum of negative zeros is +0.0)."""
    p_, r_, q_ = x.shape
    if q_ != 1:
        return _reduce_add(x, np.zeros(_pq(x), x.dtype))
    out = np.zeros((p_, 1), x.dtype)
    zero = x.dtype.type(0)
    if r_ <= 128:  # (short rows: the branch stays outside the loop, see _row_sums)
        for p in range(p_):
            out[p, 0] = zero + _block_sum(x[p, :, 0], 0, r_)
    else:
        for p in range(p_):
            out[p, 0] = zero + _pairwise_walk(x[p, :, 0], 0, r_)
    return out


@jit
def mean_axis(x: Any) -> Any:
    """Mean over axis 1 of ``(P, R, Q)`` as numpy computes it: float32(float64(sum) / n)."""
    s = sum_axis(x)
    n = np.float64(x.shape[1])
    out = np.empty_like(s)
    for p in range(s.shape[0]):
        for q in range(s.shape[1]):
            out[p, q] = np.float64(s[p, q]) / n
    return out


@jit
def prod_axis(x: Any) -> Any:
    """Product over axis 1 of ``(P, R, Q)``, in order (numpy does not pair products)."""
    return _reduce_mul(x, np.ones(_pq(x), x.dtype))


@jit
def max_axis(x: Any) -> Any:
    """Maximum over axis 1 of ``(P, R, Q)``; NaN wins, as in numpy."""
    return _reduce_greater(x, _first_row(x))


@jit
def min_axis(x: Any) -> Any:
    """Minimum over axis 1 of ``(P, R, Q)``; NaN wins, as in numpy."""
    return _reduce_less(x, _first_row(x))


@jit
def any_axis(x: Any) -> Any:
    """Whether any entry along axis 1 of ``(P, R, Q)`` is nonzero (NaN is)."""
    return _reduce_or(x, np.zeros(_pq(x), np.bool_))


@jit
def all_axis(x: Any) -> Any:
    """Whether every entry along axis 1 of ``(P, R, Q)`` is nonzero."""
    return _reduce_and(x, np.ones(_pq(x), np.bool_))


@jit
def argmax_axis(x: Any) -> Any:
    """Index of the first maximum along axis 1 (the first NaN if there is one)."""
    return _reduce_arg_greater(x, np.zeros(_pq(x), np.int64))


@jit
def argmin_axis(x: Any) -> Any:
    """Index of the first minimum along axis 1 (the first NaN if there is one)."""
    return _reduce_arg_less(x, np.zeros(_pq(x), np.int64))


def _numpy_reduction(fn: Any, dtype: Any = None) -> Any:
    """The numpy reference of a ``*_axis`` kernel: ``fn`` over the middle axis."""

    def ref(x: np.ndarray) -> np.ndarray:
        out = fn(x, axis=1)
        return out if dtype is None else out.astype(dtype)

    ref.__doc__ = f"NumPy's ``{fn.__name__}`` over the middle axis (the kernel's reference)."
    return ref


ref_sum_axis = _numpy_reduction(np.sum)
ref_mean_axis = _numpy_reduction(np.mean)
ref_prod_axis = _numpy_reduction(np.prod)
ref_max_axis = _numpy_reduction(np.max)
ref_min_axis = _numpy_reduction(np.min)
ref_any_axis = _numpy_reduction(np.any)
ref_all_axis = _numpy_reduction(np.all)
ref_argmax_axis = _numpy_reduction(np.argmax, np.int64)
ref_argmin_axis = _numpy_reduction(np.argmin, np.int64)


# --- softmax family: rows of a 2-D array ---------------------------------------------------
def _exp_any(x: Any) -> Any:
    """``exp`` for compiled kernels: :func:`exp32` for float32 (vectorises), else numpy's."""
    return np.exp(x)


@overload(_exp_any)
def _exp_any_impl(x: Any) -> Any:
    if x == types.float32:

        def fast(x: Any) -> Any:
            return exp32(x)

        return fast

    def general(x: Any) -> Any:
        return np.exp(x)

    return general


@jit
def _shifted_exp(x: Any) -> Any:
    """``shifted = x - max(x)`` per row (a NaN in a row is its max) and ``exp(shifted)``,
    both C-contiguous.  The exponentials run as one flat loop, which LLVM vectorises for
    float32 (rows of a classifier's logits are short: a loop per row would not)."""
    n, k = x.shape
    shifted = np.empty((n, k), x.dtype)
    for i in range(n):
        m = x[i, 0]
        for j in range(1, k):
            if x[i, j] > m or x[i, j] != x[i, j]:
                m = x[i, j]
        for j in range(k):
            shifted[i, j] = x[i, j] - m
    e = np.empty((n, k), x.dtype)
    flat_s = shifted.reshape(n * k)
    flat_e = e.reshape(n * k)
    for t in range(n * k):
        flat_e[t] = _exp_any(flat_s[t])
    return shifted, e


@jit
def softmax_rows(x: Any) -> Any:
    """``exp(x - max) / sum(exp(x - max))`` per row (sum in numpy's pairwise order)."""
    n, k = x.shape
    _, e = _shifted_exp(x)
    sums = _row_sums(e)
    for i in range(n):
        s = sums[i]
        for j in range(k):
            e[i, j] = e[i, j] / s
    return e


def ref_softmax_rows(x: np.ndarray) -> np.ndarray:
    """Softmax of each row with numpy, the reference of :func:`softmax_rows`."""
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


@jit
def log_softmax_rows(x: Any) -> Any:
    """``(x - max) - log(sum(exp(x - max)))`` per row."""
    n, k = x.shape
    shifted, e = _shifted_exp(x)
    sums = _row_sums(e)
    for i in range(n):
        lse = np.log(sums[i])
        for j in range(k):
            shifted[i, j] = shifted[i, j] - lse
    return shifted


def ref_log_softmax_rows(x: np.ndarray) -> np.ndarray:
    """Log-softmax of each row with numpy, the reference of :func:`log_softmax_rows`."""
    shifted = x - np.max(x, axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


@jit
def xent_rows(labels: Any, logits: Any) -> Any:
    """``sum(labels * (log(sum(exp(shifted))) - shifted))`` per row."""
    n, k = logits.shape
    shifted, e = _shifted_exp(logits)
    sums = _row_sums(e)
    out = np.empty(n, logits.dtype)
    t = np.empty(k, logits.dtype)
    for i in range(n):
        lse = np.log(sums[i])
        for j in range(k):
            t[j] = labels[i, j] * (lse - shifted[i, j])
        out[i] = logits.dtype.type(0.0) + pairwise_sum(t, 0, k)  # (np.sum's identity)
    return out


def ref_xent_rows(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Cross-entropy of each row from label probabilities, with NumPy (reference of xent_rows)."""
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    sum_exp = np.sum(np.exp(shifted), axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(labels * (np.log(sum_exp) - shifted), axis=-1)


@jit
def _check_labels(labels: Any, k: int) -> None:
    for i in range(labels.shape[0]):
        if labels[i] < 0 or labels[i] >= k:
            raise ValueError(
                "sparse_softmax_cross_entropy_with_logits: labels must be in "
                "[0, number of classes) (a label outside it has no logit to pick)"
            )


@jit
def sparse_xent_rows(labels: Any, logits: Any) -> Any:
    """``log(sum(exp(shifted))) - shifted[label]`` per row."""
    n, k = logits.shape
    _check_labels(labels, k)
    shifted, e = _shifted_exp(logits)
    sums = _row_sums(e)
    out = np.empty(n, logits.dtype)
    for i in range(n):
        lse = np.log(sums[i])
        out[i] = lse - shifted[i, labels[i]]
    return out


def ref_sparse_xent_rows(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Cross-entropy of each row from integer labels, with NumPy (reference of sparse_xent_rows)."""
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    lse = np.log(np.sum(np.exp(shifted), axis=-1))
    picked = np.take_along_axis(shifted, labels[:, None].astype(np.intp), axis=-1)
    return lse - picked[:, 0]


@jit
def sparse_xent_softmax_rows(labels: Any, logits: Any) -> Any:
    """:func:`sparse_xent_rows` and :func:`softmax_rows` of the same logits from one set of
    exponentials and row sums (a classifier's loss and, for its gradient, the softmax):
    each result is bit for bit the one of its own kernel."""
    n, k = logits.shape
    _check_labels(labels, k)
    shifted, e = _shifted_exp(logits)
    sums = _row_sums(e)
    out = np.empty(n, logits.dtype)
    for i in range(n):
        s = sums[i]
        out[i] = np.log(s) - shifted[i, labels[i]]
        for j in range(k):
            e[i, j] = e[i, j] / s
    return out, e


@jit
def xent_softmax_rows(labels: Any, logits: Any) -> Any:
    """:func:`xent_rows` and :func:`softmax_rows` of the same logits, as
    :func:`sparse_xent_softmax_rows`."""
    n, k = logits.shape
    shifted, e = _shifted_exp(logits)
    sums = _row_sums(e)
    out = np.empty(n, logits.dtype)
    t = np.empty(k, logits.dtype)
    for i in range(n):
        s = sums[i]
        lse = np.log(s)
        for j in range(k):
            t[j] = labels[i, j] * (lse - shifted[i, j])
            e[i, j] = e[i, j] / s
        out[i] = logits.dtype.type(0.0) + pairwise_sum(t, 0, k)  # (np.sum's identity)
    return out, e


# --- matrix product: numpy's choice of BLAS routine, so results are numpy's bits -------------
@jit
def _matmul_loops(a: Any, b: Any, ta: bool, tb: bool) -> Any:
    """NumPy's loop without BLAS: ``out = 0; out += a·b`` term by term."""
    m = a.shape[1] if ta else a.shape[0]
    k = a.shape[0] if ta else a.shape[1]
    n = b.shape[0] if tb else b.shape[1]
    out = np.zeros((m, n), a.dtype)
    for i in range(m):
        for j in range(n):
            acc = out[i, j]
            for p in range(k):
                acc += (a[p, i] if ta else a[i, p]) * (b[j, p] if tb else b[p, j])
            out[i, j] = acc
    return out


@jit
def _gemv(use32: bool, mat: Any, s_m: int, s_n: int, x: Any, inc_x: int, out: Any,
          inc_y: int, m: int, n: int) -> None:  # fmt: skip
    """NumPy's ``@TYPE@_gemv``: ``out[i] = Σ_j mat[i·s_m + j·s_n] · x[j·inc_x]`` (strides in
    elements of the flat buffers)."""
    if s_n == 1 and s_m >= n:
        order, lda = _COL_MAJOR, s_m
    else:
        order, lda = _ROW_MAJOR, s_n
    if use32:
        sgemv(order, _TRANS, n, m, np.float32(1.0), mat.ctypes.data, lda, x.ctypes.data,
              inc_x, np.float32(0.0), out.ctypes.data, inc_y)  # fmt: skip
    else:
        dgemv(order, _TRANS, n, m, 1.0, mat.ctypes.data, lda, x.ctypes.data, inc_x, 0.0,
              out.ctypes.data, inc_y)  # fmt: skip


@jit
def _blas_matmul(a: Any, b: Any, ta: bool, tb: bool) -> Any:
    # numpy hands an F-contiguous operand (a transposed view) to BLAS as the transpose of
    # its C-contiguous buffer, not as a copy: so do we (a copy can round differently)
    fa = a.flags.f_contiguous and not a.flags.c_contiguous
    fb = b.flags.f_contiguous and not b.flags.c_contiguous
    if fa and fb:
        return _blas_c(a.T, b.T, not ta, not tb)
    if fa:
        return _blas_c(a.T, b, not ta, tb)
    if fb:
        return _blas_c(a, b.T, ta, not tb)
    return _blas_c(a, b, ta, tb)


@jit
def _blas_c(a: Any, b: Any, ta: bool, tb: bool) -> Any:
    # The BLAS calls take bare addresses (x.ctypes.data), and numba frees an array after
    # its last use: taking the address of a contiguous copy was its last use, so BLAS read
    # freed memory (a transposed float64 operand gave wrong products).  Passed to the
    # function that calls BLAS, the copies live until that call returns.
    ac = np.ascontiguousarray(a)
    bc = np.ascontiguousarray(b)
    return _blas_product(ac, bc, ta, tb)


@jit
def _blas_product(ac: Any, bc: Any, ta: bool, tb: bool) -> Any:
    """``op(ac) @ op(bc)`` of C-contiguous arrays by the BLAS routine numpy would call."""
    dm = ac.shape[1] if ta else ac.shape[0]
    dn = ac.shape[0] if ta else ac.shape[1]
    dp = bc.shape[0] if tb else bc.shape[1]
    use32 = ac.itemsize == 4
    # element strides of op(a) (m, n) and op(b) (n, p) inside the contiguous buffers
    s1_m, s1_n = (1, ac.shape[1]) if ta else (ac.shape[1], 1)
    s2_n, s2_p = (1, bc.shape[1]) if tb else (bc.shape[1], 1)
    if dm == 0 or dn == 0 or dp == 0:
        return np.zeros((dm, dp), ac.dtype)
    out = np.empty((dm, dp), ac.dtype)
    if dm == 1 or dn == 1 or dp == 1:
        if dm == 1 and dp == 1:  # row @ column: ?dot, summed in double
            if use32:
                r = sdot(dn, ac.ctypes.data, s1_n, bc.ctypes.data, s2_n)
            else:
                r = ddot(dn, ac.ctypes.data, s1_n, bc.ctypes.data, s2_n)
            out[0, 0] = np.float64(r)
        elif dn == 1:  # outer products: no BLAS
            return _matmul_loops(ac, bc, ta, tb)
        elif dm == 1:  # vector @ matrix
            flat = out.reshape(dp)
            _gemv(use32, bc, s2_p, s2_n, ac, s1_n, flat, 1, dp, dn)
        else:  # matrix @ vector
            flat = out.reshape(dm)
            _gemv(use32, ac, s1_m, s1_n, bc, s2_n, flat, 1, dm, dn)
        return out
    t1 = _TRANS if ta else _NO_TRANS
    t2 = _TRANS if tb else _NO_TRANS
    lda = ac.shape[1]
    ldb = bc.shape[1]
    if ac.ctypes.data == bc.ctypes.data and dm == dp and ta != tb and ac.shape == bc.shape:
        # a @ aᵀ or aᵀ @ a of one buffer: numpy calls ?syrk, then mirrors the triangle
        if use32:
            ssyrk(_ROW_MAJOR, _UPPER, t1, dp, dn, np.float32(1.0), ac.ctypes.data, lda,
                  np.float32(0.0), out.ctypes.data, dp)  # fmt: skip
        else:
            dsyrk(_ROW_MAJOR, _UPPER, t1, dp, dn, 1.0, ac.ctypes.data, lda, 0.0,
                  out.ctypes.data, dp)  # fmt: skip
        for i in range(dp):
            for j in range(i + 1, dp):
                out[j, i] = out[i, j]
        return out
    if use32:
        sgemm(_ROW_MAJOR, t1, t2, dm, dp, dn, np.float32(1.0), ac.ctypes.data, lda,
              bc.ctypes.data, ldb, np.float32(0.0), out.ctypes.data, dp)  # fmt: skip
    else:
        dgemm(_ROW_MAJOR, t1, t2, dm, dp, dn, 1.0, ac.ctypes.data, lda, bc.ctypes.data, ldb,
              0.0, out.ctypes.data, dp)  # fmt: skip
    return out


@jit
def matmul_f32(a: Any, b: Any, ta: bool, tb: bool) -> Any:
    """``op(a) @ op(b)`` for float32 (``op`` transposes when its flag is set), calling the
    BLAS routine numpy would call (gemm, gemv for a vector operand, dot, syrk for a
    matrix times its own transpose) so that the result is numpy's, bit for bit."""
    if not HAVE_BLAS:
        return _matmul_loops(a, b, ta, tb)
    return _blas_matmul(a, b, ta, tb)


@jit
def matmul_f64(a: Any, b: Any, ta: bool, tb: bool) -> Any:
    """``op(a) @ op(b)`` for float64, as :func:`matmul_f32`."""
    if not HAVE_BLAS:
        return _matmul_loops(a, b, ta, tb)
    return _blas_matmul(a, b, ta, tb)


matmul_loops = _matmul_loops


def ref_matmul2d(a: np.ndarray, b: np.ndarray, ta: bool, tb: bool) -> np.ndarray:
    """``np.matmul`` of the (optionally transposed) operands, the reference of the matmuls."""
    return np.matmul(np.swapaxes(a, -1, -2) if ta else a, np.swapaxes(b, -1, -2) if tb else b)


# --- matrix products in a fixed order: the same bits on every CPU -----------------------------
# tapeviz.ops.linalg computes small float products in one of two fixed orders (its docstring
# says why and which); these kernels compute them with the same float64 arithmetic, so that
# compiled results equal eager ones bit for bit.  The generated code picks the kernel with
# ``linalg.fixed_order``, from the shapes.
@jit
def _wide_op(x: Any, t: bool, rows: bool) -> Any:
    """``op(x)`` (``x.T`` if ``t``) as a C-contiguous float64 array, or its transpose if not
    ``rows``: the operand a kernel reads along its contiguous axis."""
    r = x.shape[1] if t else x.shape[0]
    c = x.shape[0] if t else x.shape[1]
    out = np.empty((r, c) if rows else (c, r), np.float64)
    for i in range(r):
        for j in range(c):
            v = np.float64(x[j, i] if t else x[i, j])
            if rows:
                out[i, j] = v
            else:
                out[j, i] = v
    return out


@jit
def chain_matmul(a: Any, b: Any, ta: bool, tb: bool) -> Any:
    """``op(a) @ op(b)`` in TensorFlow's order: ``acc = a[i, p]·b[p, j] + acc`` for p = 0, 1,
    ... from +0, each step in float64, stored (rounded) in the result's type — for float32
    a fused multiply-add.  The loop over j is innermost, so that it vectorises."""
    m = a.shape[1] if ta else a.shape[0]
    k = a.shape[0] if ta else a.shape[1]
    wa = _wide_op(a, ta, True)  # (m, k)
    wb = _wide_op(b, tb, True)  # (k, n)
    out = np.zeros((m, wb.shape[1]), a.dtype)
    for i in range(m):
        row = out[i]
        for p in range(k):
            av = wa[i, p]
            bp = wb[p]
            for j in range(row.shape[0]):
                row[j] = av * bp[j] + row[j]
    return out


@jit
def pairwise_matmul(a: Any, b: Any, ta: bool, tb: bool) -> Any:
    """``op(a) @ op(b)``: for each entry the float64 products, added up in numpy's pairwise
    order (:func:`pairwise_sum`, as ``np.add.reduce`` from its identity +0), rounded once."""
    wa = _wide_op(a, ta, True)  # (m, k)
    wb = _wide_op(b, tb, False)  # (n, k): the columns of op(b) as rows
    m, k = wa.shape
    n = wb.shape[0]
    out = np.empty((m, n), a.dtype)
    prods = np.empty(k, np.float64)
    for i in range(m):
        for j in range(n):
            for p in range(k):
                prods[p] = wa[i, p] * wb[j, p]
            out[i, j] = 0.0 + pairwise_sum(prods, 0, k)
    return out


# --- random draws -----------------------------------------------------------------------------
@jit
def truncated_normal(n: int) -> Any:
    """``n`` standard normal draws (float64) from numba's generator, each redrawn until it
    lies within two standard deviations (``tv.random.truncated_normal`` in compiled code)."""
    out = np.empty(n)
    for i in range(n):
        v = np.random.standard_normal()
        while abs(v) > 2.0:
            v = np.random.standard_normal()
        out[i] = v
    return out


def ref_truncated_normal(rs: np.random.RandomState, n: int) -> np.ndarray:
    """The numpy reference of :func:`truncated_normal`, drawing from numpy's legacy generator
    (whose algorithms numba's ``np.random`` reproduces)."""
    from .interp import truncated_normal as reference

    return reference(rs, n)


# --- one_hot --------------------------------------------------------------------------------
@jit
def one_hot(indices: Any, depth: int, dtype: Any) -> Any:
    """Rows of ``eye(depth)`` for 1-D ``indices`` (out-of-range indices give zero rows)."""
    out = np.zeros((indices.shape[0], depth), dtype)
    for i in range(indices.shape[0]):
        j = indices[i]
        if j < 0:
            j += depth
        if 0 <= j < depth:
            out[i, j] = 1
    return out


def ref_one_hot(indices: np.ndarray, depth: int, dtype: Any) -> np.ndarray:
    """One-hot rows with numpy, the reference of :func:`one_hot`."""
    return np.eye(depth, dtype=dtype)[indices]


@jit
def solve(a: Any, b: Any, adjoint: Any) -> Any:
    """``x`` with ``a[i] · x[i] = b[i]`` (``a[i]ᵀ`` if ``adjoint``) for ``a`` (N, M, M) and
    ``b`` (N, M, K): Gaussian elimination with partial pivoting, in the inputs' dtype (numba
    without SciPy has no LAPACK).  Within a few ulps of LAPACK for well-conditioned ``a``."""
    n, m = a.shape[0], a.shape[1]
    k = b.shape[2]
    out = np.empty_like(b)
    for i in range(n):
        lu = a[i].T.copy() if adjoint else a[i].copy()
        x = b[i].copy()
        for c in range(m):
            p = c
            best = abs(lu[c, c])
            for r in range(c + 1, m):
                if abs(lu[r, c]) > best:
                    best = abs(lu[r, c])
                    p = r
            if best == 0:
                raise ValueError("Input matrix is not invertible. (tv.linalg.solve)")
            if p != c:
                row = lu[c].copy()
                lu[c] = lu[p]
                lu[p] = row
                rhs = x[c].copy()
                x[c] = x[p]
                x[p] = rhs
            for r in range(c + 1, m):
                f = lu[r, c] / lu[c, c]
                for j in range(c, m):
                    lu[r, j] -= f * lu[c, j]
                for j in range(k):
                    x[r, j] -= f * x[c, j]
        for c in range(m - 1, -1, -1):
            for j in range(k):
                acc = x[c, j]
                for t in range(c + 1, m):
                    acc -= lu[c, t] * x[t, j]
                x[c, j] = acc / lu[c, c]
        out[i] = x
    return out


def ref_solve(a: np.ndarray, b: np.ndarray, adjoint: bool) -> np.ndarray:
    """``np.linalg.solve`` (of ``aᵀ`` if ``adjoint``), the reference of :func:`solve`."""
    aa = np.swapaxes(a, -1, -2) if adjoint else a
    return np.linalg.solve(aa, b).astype(b.dtype)


def map32(kernel: Any, number: Any, x: Any) -> Any:
    """How generated code applies a float32 function to a whole value, as TensorFlow's
    kernels do: ``kernel`` (the packet code) on each entry of an array (a new C-ordered
    array) but its last ``n % 8`` entries, and ``number`` (the scalar code: the C library's
    ``expf`` & co., tanh's kernel, :data:`sigmoidf`) on those and on a single number.
    Compiled code only."""
    raise NotImplementedError("tapeviz.compiler.kernels.map32 runs in compiled code only")


@overload(map32)
def _map32_impl(kernel: Any, number: Any, x: Any) -> Any:
    if isinstance(x, types.Array):

        def each(kernel: Any, number: Any, x: Any) -> Any:
            out = np.empty(x.shape, np.float32)
            flat_out = out.reshape(-1)
            flat = np.ascontiguousarray(x).reshape(-1)
            n = flat.shape[0]
            for i in range(n):
                flat_out[i] = kernel(flat[i])
            for i in range(n - n % E.PACKET, n):  # (TensorFlow's last n % 8: its scalar function)
                flat_out[i] = number(flat[i])
            return out

        return each

    def one(kernel: Any, number: Any, x: Any) -> Any:
        return number(x)

    return one


def pow32_loop(x: Any, y: Any) -> Any:
    """:data:`pow32` of two 1-D float32 arrays of one length (for tests and tools)."""
    return _pow32_loop(x, y)


@numba.njit(error_model="numpy")
def _pow32_loop(x: Any, y: Any) -> Any:  # (not cached: tests only)
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = pow32(x[i], y[i])
    return out


def pow32_whole(x: Any, y: Any) -> Any:
    """float32 ``x ** y`` of whole values of the output's shape (or single numbers), as
    generated code computes an unfused ``pow``: :data:`pow32` on each entry (a new C-ordered
    array) but the last ``n % 8``, which take :data:`powf`, as TensorFlow's kernel.
    Compiled code only."""
    raise NotImplementedError("tapeviz.compiler.kernels.pow32_whole runs in compiled code only")


@overload(pow32_whole)
def _pow32_whole_impl(x: Any, y: Any) -> Any:
    if isinstance(x, types.Array) and isinstance(y, types.Array):

        def both(x: Any, y: Any) -> Any:
            out = np.empty(x.shape, np.float32)
            flat_out, fx = out.reshape(-1), np.ascontiguousarray(x).reshape(-1)
            fy = np.ascontiguousarray(y).reshape(-1)
            n = fx.shape[0]
            for i in range(n):
                flat_out[i] = pow32(fx[i], fy[i])
            for i in range(n - n % E.PACKET, n):
                flat_out[i] = powf(fx[i], fy[i])
            return out

        return both
    if isinstance(x, types.Array):

        def base(x: Any, y: Any) -> Any:
            out = np.empty(x.shape, np.float32)
            flat_out, fx = out.reshape(-1), np.ascontiguousarray(x).reshape(-1)
            n = fx.shape[0]
            for i in range(n):
                flat_out[i] = pow32(fx[i], y)
            for i in range(n - n % E.PACKET, n):
                flat_out[i] = powf(fx[i], y)
            return out

        return base

    def exponent(x: Any, y: Any) -> Any:
        out = np.empty(y.shape, np.float32)
        flat_out, fy = out.reshape(-1), np.ascontiguousarray(y).reshape(-1)
        n = fy.shape[0]
        for i in range(n):
            flat_out[i] = pow32(x, fy[i])
        for i in range(n - n % E.PACKET, n):
            flat_out[i] = powf(x, fy[i])
        return out

    return exponent


# the numpy versions (eager code's), equal to the kernels bit for bit
ref_exp32 = E.exp
ref_log32 = E.log
ref_tanh32 = E.tanh
ref_sigmoid32 = E.sigmoid
ref_pow32 = P.pow


def elementwise(kernel: Any) -> Any:
    """A compiled loop applying the scalar ``kernel`` to each entry of a 1-D array, as
    generated code calls it (for tests and tools: ``elementwise(sin32)(x)``; not cached)."""

    def run(x: Any) -> Any:
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = kernel(x[i])
        return out

    return numba.njit(error_model="numpy")(run)


# --- subnormals as TensorFlow treats them: flushed to zero (tapeviz.compiler.fpenv) ----------
_FTZ_DAZ = FTZ_DAZ
_read_mxcsr, _write_mxcsr = read_mxcsr, write_mxcsr


if FLUSHES_SUBNORMALS:

    @jit
    def flush_subnormals_enter() -> Any:
        """Set FTZ and DAZ on this thread; returns the register as it was (for
        :func:`flush_subnormals_leave`)."""
        old: Any = read_mxcsr()  # type: ignore[call-arg]
        write_mxcsr(old | _FTZ_DAZ)
        return old

    @jit
    def flush_subnormals_leave(old: Any) -> None:
        """Put back the FTZ and DAZ bits of ``old``; keeps the exception flags raised since."""
        now: Any = read_mxcsr()  # type: ignore[call-arg]
        write_mxcsr((now & ~_FTZ_DAZ) | (old & _FTZ_DAZ))

else:  # pragma: no cover - other processors keep IEEE subnormals

    @jit
    def flush_subnormals_enter() -> Any:
        """Nothing to switch on this processor: a placeholder for the saved state."""
        return np.uint32(0)

    @jit
    def flush_subnormals_leave(old: Any) -> None:
        """Nothing to put back on this processor."""
        return None
