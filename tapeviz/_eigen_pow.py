"""Eigen's float32 ``pow`` (``generic_pow``, TensorFlow's CPU arithmetic), for eager and
compiled code alike.

TensorFlow's ``tf.pow`` (and ``x ** y``) of float32 tensors runs Eigen's ``generic_pow`` on
packets of 8 numbers, and the C library's ``powf`` on a tensor's last ``n % 8`` numbers —
so on a 0-d tensor.  ``generic_pow`` computes ``|x|**y = 2**(y·log2|x|)`` in double-word
arithmetic (a float32 pair ``hi + lo``), without fused multiply-adds in TensorFlow's wheel:

* ``|x| = m·2**e`` with ``m`` in ``[sqrt(1/2), sqrt(2))``; ``log2(m)`` as a pair, from a
  degree-8 polynomial in ``t = m - 1`` whose last two Horner steps and the final product
  by ``t`` are double-word (:func:`log2_pair`);
* ``f = y·e + y·log2(m)`` as a pair; ``f = n + r`` with ``n`` an integer, ``|r| ≤ 1/2``;
* ``2**r = exp(ln2·r)``, the product ``ln2·r`` split into ``hi + lo``:
  ``exp(hi)·(1 + lo)`` with Eigen's float32 ``exp``; then an exact scale by ``2**n``;
* the special cases of C's ``pow`` selected at the end (:func:`specials`).

A product ``a·b`` is made exact as ``hi + lo`` with Dekker's algorithm: each factor split
(Veltkamp) into two halves of 12 significant bits, whose four products are exact.

Written twice, the arithmetic once, as :mod:`tapeviz._eigen_f32`: :func:`pow32` is the
scalar kernel (branch-free Python that numba compiles for compiled code; the loops calling
it vectorise), :func:`pow` the numpy version for eager arrays.  Both round to float32 after
every operation and never fuse a multiply and an add, so eager, compiled and TensorFlow's
packet results are the same bits.  Arrays take the packet arithmetic on every element
(as :mod:`tapeviz._eigen_f32`'s functions do), so that no result depends on an array's
length: TensorFlow's last ``n % 8`` numbers (``powf``) may differ by up to 3 ulps.  A single
number is ``powf`` in tapeviz too.  This module imports numpy only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _eigen_f32
from ._eigen_f32 import exp32, exp_poly, frexp32, ldexp32, sign_bits

__all__ = ["LOG2_POLY", "HUGE_EXPONENT", "pow32", "pow"]

_F = np.float32

# --- constants ------------------------------------------------------------------------------
_SPLIT = _F(4097.0)  # 2**12 + 1: Veltkamp's factor for float32's 24-bit significand
_LN2 = _F(0.693147180559945309)
_SQRT_HALF = _F(0.70710678118654752440)
_ROUND_HALF = _F(0.49999997)  # the float32 below 1/2: x + it, truncated, rounds half away
_TINY = _F(1.1754943508222875e-38)  # the smallest normal float32
_TWO24 = _F(16777216.0)
_C0 = 1.442695041742110273474963832995854318141937255859375  # log2(1 + t)/t at t = 0
_C1 = -7.2134751588268664068692714863573201000690460205078125e-01
C0_HI, C1_HI = _F(_C0), _F(_C1)
C0_LO, C1_LO = _F(_C0 - float(C0_HI)), _F(_C1 - float(C1_HI))
LOG2_POLY = (
    _F(9.7010828554630279541015625e-02),
    _F(-1.6896486282348632812500000e-01),
    _F(1.7200836539268493652343750e-01),
    _F(-1.7892272770404815673828125e-01),
    _F(2.0505344867706298828125000e-01),
    _F(-2.4046677350997924804687500e-01),
    _F(2.8857553005218505859375000e-01),
    _F(-3.6067414283752441406250000e-01),
    _F(4.8089790344238281250000000e-01),
)
"""``log2(1 + t) = t·(C0 + t·(C1 + t·p(t)))`` with ``p`` these coefficients, Horner from the
highest degree (Eigen's ``accurate_log2<float>``)."""
HUGE_EXPONENT = _F(_F(128.0) * _LN2) / _F(2.0**-23)
"""From ``|y| ≥`` this on, ``x**y`` is taken as the limit for ``y → ±inf``."""
_ZERO, _HALF, _ONE, _TWO = _F(0.0), _F(0.5), _F(1.0), _F(2.0)
_INF, _NAN = _F(np.inf), _F(np.nan)
_SIGN = -(2**31)  # bit 31 of sign_bits(x)
_N_LO, _N_HI = _F(-151.0), _F(129.0)  # 2**n beyond: zero or inf for any 2**r
_BLOCK = 8192  # numbers per pass of the numpy version


# --- double-word arithmetic: plain operations, for numbers and numpy arrays alike --------------
def split(a: Any) -> Any:
    """Veltkamp's split ``a = hi + lo``, each with at most 12 significant bits."""
    gamma = _SPLIT * a
    rho = a - gamma
    hi = rho + gamma
    return hi, a - hi


def two_prod(a: Any, b: Any) -> Any:
    """``a·b = hi + lo`` exactly (Dekker), ``hi`` the rounded product."""
    a_hi, a_lo = split(a)
    b_hi, b_lo = split(b)
    hi = a * b
    lo = a_hi * b_hi + -hi
    lo = a_hi * b_lo + lo
    lo = a_lo * b_hi + lo
    lo = a_lo * b_lo + lo
    return hi, lo


def fast_two_sum(a: Any, b: Any) -> Any:
    """``a + b = hi + lo`` exactly, for ``|a| ≥ |b|``."""
    hi = a + b
    return hi, b - (hi - a)


def add_pairs(a_hi: Any, a_lo: Any, b_hi: Any, b_lo: Any) -> Any:
    """The pair ``(a_hi + a_lo) + (b_hi + b_lo)``, for ``|a_hi| ≥ |b_hi|``."""
    hi, lo = fast_two_sum(a_hi, b_hi)
    return fast_two_sum(hi, (b_lo + lo) + a_lo)


def mul_pair(a_hi: Any, a_lo: Any, b: Any) -> Any:
    """The pair ``(a_hi + a_lo)·b`` (relative error below 2**-46)."""
    c_hi, c_lo1 = two_prod(a_hi, b)
    t_hi, t_lo = fast_two_sum(c_hi, a_lo * b)
    return fast_two_sum(t_hi, t_lo + c_lo1)


def log2_pair(m: Any) -> Any:
    """``log2(m)`` as a pair, for ``m`` in ``[sqrt(1/2), sqrt(2))`` (relative error ~7e-10)."""
    t = m - _ONE
    c = LOG2_POLY
    p = ((((((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) * t + c[6])
           * t + c[7]) * t + c[8])  # fmt: skip
    hi, lo = two_prod(t, p)
    hi, lo = add_pairs(C1_HI, C1_LO, hi, lo)
    hi, lo = mul_pair(hi, lo, t)
    hi, lo = add_pairs(C0_HI, C0_LO, hi, lo)
    return mul_pair(hi, lo, t)


def exponent_parts(e: Any, m: Any, y: Any) -> Any:
    """``(n, r)`` with ``y·log2(m·2**e) = n + r``, ``n`` an integer, ``|r| ≤ 1/2``."""
    l_hi, l_lo = log2_pair(m)
    f1_hi, f1_lo = two_prod(e, y)
    f2_hi, f2_lo = mul_pair(l_hi, l_lo, y)
    f_hi, f_lo = add_pairs(f1_hi, f1_lo, f2_hi, f2_lo)  # (|e| ≥ |log2 m| unless e = 0)
    n = round_half_away(f_hi)
    r = (f_hi - n) + f_lo
    n_r = round_half_away(r)
    return n + n_r, r - n_r


def round_half_away(a: Any) -> Any:
    """``a`` rounded to the nearest integer, halves away from zero (Eigen's ``pround``:
    ``a ± 0.49999997`` truncated)."""
    return np.copysign(np.floor(np.abs(a) + _ROUND_HALF), a)


# --- the scalar kernel ---------------------------------------------------------------------------


def pow_abs32(a: Any, y: Any) -> Any:
    """``a**y`` for a positive normal float32 ``a`` and a finite ``y`` (Eigen's
    ``generic_pow_impl``); other inputs give a number that :func:`pow32` replaces."""
    sub = a < _TINY  # (subnormal: scaled by 2**24 first)
    e, m = frexp32(a * _TWO24 if sub else a)
    low = m < _SQRT_HALF
    m = _TWO * m if low else m
    e = e - (_F(24.0) if sub else _ZERO) - (_ONE if low else _ZERO)
    n, r = exponent_parts(e, m, y)
    n, r = (n, r) if r == r else (_ZERO, _ZERO)  # (NaN: x or y not finite, replaced later)
    p_hi, p_lo = two_prod(_LN2, r)
    e_r = exp32(p_hi) * (_ONE + p_lo)
    return ldexp32(e_r, min(max(n, _N_LO), _N_HI))


def pow32(x: Any, y: Any) -> Any:
    """float32 ``x**y`` with the arithmetic of Eigen's ``generic_pow`` (no FMA), TensorFlow's
    packet path: :func:`pow_abs32` of ``|x|``, then C's special cases (:func:`specials`)."""
    return specials(x, y, pow_abs32(abs(x), y), (sign_bits(x) & _SIGN) != 0)


def specials(x: Any, y: Any, out: Any, x_signbit: Any) -> Any:
    """``out`` (``|x|**y``) with C's ``pow`` rules applied in Eigen's order: NaN for a
    negative base and a non-integer exponent, the zero, infinite and huge-exponent cases, the
    sign for an odd integer exponent, NaN in NaN out, and ``x**1 = x``, ``x**0 = 1**y = 1``.
    Scalars (selects) only; :func:`pow` does the same with ``np.where``."""
    a = abs(x)
    y_inf = abs(y) == _INF
    y_int = (np.floor(y) == y) & ~y_inf
    half = y * _HALF
    y_odd = y_int & (round_half_away(half) != half)
    y_neg = y < _ZERO
    out = _NAN if (x < _ZERO) & ~y_int else out
    out = (_INF if y_neg else _ZERO) if x == _ZERO else out
    out = -out if x_signbit & y_odd else out
    at_inf = _INF if (y_neg & (x == _ZERO)) | (y_neg != (a > _ONE)) else _ZERO
    at_inf = _ONE if x == -_ONE else at_inf
    out = at_inf if abs(y) >= HUGE_EXPONENT else out
    pos_inf = _ZERO if y_neg else _INF
    neg_inf = -pos_inf if y_odd else pos_inf
    out = (neg_inf if x < _ZERO else pos_inf) if a == _INF else out
    out = _NAN if (x != x) | (y != y) else out
    return x if y == _ONE else (_ONE if (x == _ONE) | (y == _ZERO) else out)


# --- the numpy version for eager code ------------------------------------------------------------
def _pow2(k: np.ndarray) -> np.ndarray:
    """``2.0**k`` (float32) for integers ``k`` in [-126, 127], from their bits."""
    return ((k + 127) << 23).astype(np.int32).view(_F)


def _pow_arrays(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`pow32` of float32 arrays of one shape (1-D), with numpy's float32 ufuncs."""
    a = np.abs(x)
    sub = a < _TINY
    bits = np.where(sub, a * _TWO24, a).view(np.int32)
    e = ((bits >> 23) & 0xFF).astype(_F) - np.where(sub, _F(150.0), _F(126.0))
    m = ((bits & np.int32(-2139095041)) | np.int32(0x3F000000)).view(_F)
    low = m < _SQRT_HALF
    m = np.where(low, _TWO * m, m)
    e = e - np.where(low, _ONE, _ZERO)
    n, r = exponent_parts(e, m, y)
    p_hi, p_lo = two_prod(_LN2, r)
    # Eigen's exp of p_hi (|p_hi| ≤ ln2/2: 2**k with k in {-1, 0, 1}, no clamping needed)
    k = np.floor(p_hi * _F(1.44269504088896341) + _HALF)
    k = np.where(np.isfinite(k), k, _ZERO)
    e_r = exp_poly(p_hi, k) * _pow2(k.astype(np.int32)) * (_ONE + p_lo)
    n = np.clip(np.where(np.isnan(n), _ZERO, n), _N_LO, _N_HI).astype(np.int32)
    n1 = n >> 1
    out = (e_r * _pow2(n1)) * _pow2(n - n1)
    y_inf = np.abs(y) == _INF
    y_int = (np.floor(y) == y) & ~y_inf
    half = y * _HALF
    y_odd = y_int & (round_half_away(half) != half)
    y_neg = y < _ZERO
    out = np.where((x < _ZERO) & ~y_int, _NAN, out)
    out = np.where(x == _ZERO, np.where(y_neg, _INF, _ZERO), out)
    out = np.where(np.signbit(x) & y_odd, -out, out)
    at_inf = np.where((y_neg & (x == _ZERO)) | (y_neg != (a > _ONE)), _INF, _ZERO)
    at_inf = np.where(x == -_ONE, _ONE, at_inf)
    out = np.where(np.abs(y) >= HUGE_EXPONENT, at_inf, out)
    pos_inf = np.where(y_neg, _ZERO, _INF)
    neg_inf = np.where(y_odd, -pos_inf, pos_inf)
    out = np.where(a == _INF, np.where(x < _ZERO, neg_inf, pos_inf), out)
    out = np.where(np.isnan(x) | np.isnan(y), _NAN, out)
    out = np.where((x == _ONE) | (y == _ZERO), _ONE, out)
    return np.where(y == _ONE, x, out)


# In a tf.function, TensorFlow's graph optimizer (grappler's ConvertPow stage) replaces
# ``x ** c`` for a constant exponent c, the same in every entry, by other ops: 2 ->
# Square, 3 -> x * Square(x), 1 -> Identity, 0.5 -> Sqrt, -1 -> Reciprocal (0 -> ones: the
# same bits as generic_pow's special case).  So ``x ** 2`` in a tf.function is ``x * x``
# bit for bit (81.0 for 9.0, where eager TensorFlow's generic_pow gives 81.00001);
# ``tv.function`` does the same, in compiled code and on its interpreter.
GRAPH_POW_SOURCE = {
    2.0: "{x} * {x}",
    3.0: "{x} * ({x} * {x})",
    1.0: "{x} * {one}",
    0.5: "np.sqrt({x})",
    -1.0: "{one} / {x}",
}
"""float32 ``x ** c`` in ``tv.function`` for the constants grappler rewrites: the source
that compiled code runs (``{one}``: a float32 one)."""
_ONE32 = np.float32(1.0)
GRAPH_POW: dict[float, Callable[[Any], Any]] = {
    2.0: lambda x: x * x,
    3.0: lambda x: x * (x * x),
    1.0: lambda x: x * _ONE32,
    0.5: np.sqrt,
    -1.0: lambda x: _ONE32 / x,
}
"""The same as numpy code (the interpreter of ``tv.function``): the same bits."""


def graph_pow_exponent(y: Any, x_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Any:
    """The key of :data:`GRAPH_POW_SOURCE` for a float32 ``x ** y`` array in a traced
    program whose exponent is the constant ``y`` (None if not a constant), or None where
    generic_pow runs: ``y`` not a scalar, not one of those constants, or broadcasting ``x``."""
    if y is None or np.ndim(y) != 0 or out_shape == () or x_shape != out_shape:
        return None
    c = float(y)
    return c if c in GRAPH_POW_SOURCE else None


def pow(x: Any, y: Any) -> Any:  # (TensorFlow's name)
    """float32 ``x**y`` of arrays (broadcast together) as TensorFlow's kernel computes it:
    Eigen's ``generic_pow`` (its packet code; equal bit for bit to the compiled kernel
    :func:`tapeviz.compiler.kernels.pow32`) but on the last ``n % 8`` numbers of the
    flattened result, which take the C library's ``powf`` (TensorFlow's scalar code; numpy's
    float32 scalar ``**``), as does a 0-d result (a single number).

    >>> import numpy as np
    >>> x = np.array([2.0, 0.9, -2.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.9], np.float32)
    >>> pow(x, np.float32(3.0)).tolist()  # (0.9**3 rounded to float32: 0.7290000915527344)
    [8.0, 0.7289999127388, -8.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.7290000915527344]
    """
    xa, ya = np.broadcast_arrays(np.asarray(x, _F), np.asarray(y, _F))
    with np.errstate(all="ignore"):
        if xa.ndim == 0:
            return np.asarray(_F(xa[()]) ** _F(ya[()]))
        fx, fy = xa.reshape(-1), ya.reshape(-1)
        out = np.empty(fx.shape, _F)
        loop = _eigen_f32.LOOPS.get("pow")  # the compiled loop, once loaded (as exp & co.)
        if loop is not None:
            cx, cy = np.ascontiguousarray(fx), np.ascontiguousarray(fy)
            # (read-only: they may be views from broadcast_arrays, whose writeable flag numba
            # would otherwise read with numpy's FutureWarning; never the caller's arrays)
            cx.flags.writeable = cy.flags.writeable = False
            try:  # (C-contiguous copies of broadcast or strided arguments)
                loop(cx, cy, out)
            except TypeError:  # (an array numba takes for another type: not aligned...)
                pass
            else:
                return out.reshape(xa.shape)
        start = time.perf_counter()
        for i in range(0, fx.size, _BLOCK):  # (blocks: the ~100 temporaries stay in cache)
            out[i : i + _BLOCK] = _pow_arrays(fx[i : i + _BLOCK], fy[i : i + _BLOCK])
        for i in range(fx.size - fx.size % _eigen_f32.PACKET, fx.size):
            out[i] = fx[i] ** fy[i]  # TensorFlow's last n % 8: the C library's powf
        _eigen_f32._spent(time.perf_counter() - start)  # (counts toward loading the loops)
    return out.reshape(xa.shape)
