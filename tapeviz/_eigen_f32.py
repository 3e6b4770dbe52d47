"""Eigen's float32 ``exp``, ``log``, ``tanh``, ``sigmoid``, ``sin`` and ``cos`` (TensorFlow's
CPU arithmetic), for eager and compiled code alike.

Each function is written twice, its polynomials once: as a scalar kernel (:func:`exp32` &
co.: branch-free Python that numba compiles for compiled code, where the loops calling it
vectorise) and as numpy array code (:func:`exp` & co., what eager ops call).  Both round to
float32 after every operation and never fuse a multiply and an add, as TensorFlow's wheel
runs Eigen, so eager, compiled and TensorFlow's results are the same bits — on every
processor (numpy's own float32 ``exp`` & co. are SIMD loops whose last bits depend on the
CPU).  TensorFlow's kernels leave the polynomials for a tensor's last ``n % 8`` numbers
(:data:`PACKET`), and so for a single number, where they run the functor's scalar code: the
C library's ``expf``, ``logf``, ``sinf``, ``cosf`` (compiled code: numba's ``np.exp`` & co.,
the same functions), :func:`sigmoidf`, and tanh's kernel (run as Python on numpy scalars
for a single number); eager arrays and compiled code do the same (:data:`TAILS`).  Eager
float32 arrays run the kernels compiled by numba
(:mod:`tapeviz._eigen_jit`) once the process has used the numpy versions long enough to
pay for loading them, out of the caller's way (see :data:`LOAD_AFTER`); this module
itself imports numpy only.

exp:

``exp(x) = 2**m · p(r)`` with ``m = floor(x·log2(e) + 1/2)`` and ``r = x - m·ln2``, ``ln2``
taken off in two steps (``C1`` has few significant bits, so ``m·C1`` is exact); ``p`` is
of degree 6, evaluated as ``r2·(r·odd + even) + (r + 1)`` with ``r2 = r·r``.
"""

from __future__ import annotations

import ctypes
import math
import threading
import time
from typing import Any

import numpy as np

from . import subnormals

__all__ = [
    "LOG2E",
    "C1",
    "C2",
    "EXP_EVEN",
    "EXP_ODD",
    "EXP_HI",
    "EXP_LO",
    "LOG_P",
    "LOG_Q",
    "TANH_CLAMP",
    "TANH_P",
    "TANH_Q",
    "SIGMOID_HI",
    "SIGMOID_EVEN",
    "SIGMOID_ODD",
    "reduce_huge",
    "sincos",
    "exp",
    "log",
    "tanh",
    "sigmoid",
    "sin",
    "cos",
    "FUNCTIONS",
]

_F = np.float32
_NO_ATTRS: dict[str, Any] = {}

LOG2E = _F(1.44269504088896341)
C1 = _F(-0.693359375)  # -ln 2 = C1 + C2
C2 = _F(2.12194440e-4)
EXP_EVEN = (
    _F(1.37449637986719608306884765625e-3),
    _F(4.166965186595916748046875e-2),
    _F(0.49999988079071044921875),
)
"""``even = (r2·EXP_EVEN[0] + EXP_EVEN[1])·r2 + EXP_EVEN[2]``"""
EXP_ODD = (_F(8.36894474923610687255859375e-3), _F(0.16666518151760101318359375))
"""``odd = r2·EXP_ODD[0] + EXP_ODD[1]``"""
EXP_HI = _F(88.723)  # at and above: inf
EXP_LO = _F(-104.0)  # below: zero

# --- log: Eigen's plog_float -----------------------------------------------------------------
# x = m·2**e with m in [sqrt(1/2), sqrt(2)) (t = m - 1), log(x) = e·ln2 + t·P(t)/Q(t)
TINY = _F(1.1754943508222875e-38)  # the smallest normal float32
SQRT_HALF = _F(0.707106781186547524)
LN2 = _F(0.693147180559945309)
LOG_P = (_F(0.18256296349849254), _F(1.0000000190281063), _F(1.0000000190281136))
"""``p = t·((LOG_P[0]·t + [1])·t + [2])``"""
LOG_Q = (_F(0.049616247954120038), _F(0.59923249590823520), _F(1.4999999999999927))
"""``q = ((LOG_Q[0]·t + [1])·t + [2])·t + 1``"""

# --- tanh: Eigen's ptanh_float, an odd degree-9 over an even degree-8 polynomial -----------
TANH_CLAMP = _F(7.90738964080810547)
TANH_P = (_F(1.394553628e-8), _F(2.102733560e-5), _F(3.520756727e-3), _F(1.340216100e-1))
"""``p = x³·(((TANH_P[0]·x² + [1])·x² + [2])·x² + [3]) + x``"""
TANH_Q = (_F(8.015776984e-7), _F(3.326951409e-4), _F(2.597254514e-2), _F(4.673548340e-1))
"""``q = (((TANH_Q[0]·x² + [1])·x² + [2])·x² + [3])·x² + 1``"""

# --- sigmoid: Eigen's float32 logistic functor ------------------------------------------------
# e = exp(min(x, SIGMOID_HI)/2)**2 with a degree-5 polynomial for exp, then e / (1 + e)
SIGMOID_HI = _F(16.6355324)
SIGMOID_EVEN = (_F(4.1898667812347412109375e-2), _F(0.49999141693115234375))
SIGMOID_ODD = (_F(8.33471305668354034423828125e-3), _F(0.16666877269744873046875))

# --- sin and cos: Eigen's psincos_float without FMA ------------------------------------------
# |x| = y·π/2 + r with y the nearest integer of |x|·2/π (found by adding 1.5·2**23, whose
# float32 bits then hold y), π/2 taken off in four steps; from |x| = SIN_HUGE (COS_HUGE)
# on, a Payne–Hanek reduction with 2/π in fixed point (:func:`reduce_huge`).  Then an even
# polynomial for cos(r) and an odd one for sin(r) on [-π/4, π/4], chosen by y's lowest bit;
# y's second bit (and for sin, x's sign) gives the sign.
TWO_OVER_PI_F = _F(0.636619746685028076171875)
ROUND_MAGIC = _F(12582912.0)  # 1.5 · 2**23
PIO2_STEPS = (
    _F(-1.5703125),
    _F(-0.000483989715576171875),
    _F(1.62865035235881805419921875e-07),
    _F(5.5644315544167710640977020375430583953857421875e-11),
)
SIN_HUGE, COS_HUGE = _F(25966.0), _F(18838.0)
COS_POLY = (
    _F(2.4372266125283204019069671630859375e-05),
    _F(-0.00138865201734006404876708984375),
    _F(0.041666619479656219482421875),
    _F(-0.5),
    _F(1.0),
)
"""``c = ((((COS_POLY[0]·r2 + [1])·r2 + [2])·r2 + [3])·r2 + [4]``"""
SIN_POLY = (
    _F(-0.0001959234114083702898469196984621021329076029360294342041015625),
    _F(0.0083326873655616851693794799871284340042620897293090820312500000),
    _F(-0.1666666203982298255503735617821803316473960876464843750000000000),
)
"""``s = ((SIN_POLY[0]·r2 + [1])·r2 + [2])·r2·r + r``"""
# 2/π in fixed point, 32-bit words overlapping by a byte, so that the three words a float32
# needs are read at byte-aligned offsets
TWO_OVER_PI_BITS = np.array(
    [0x00000028, 0x000028BE, 0x0028BE60, 0x28BE60DB, 0xBE60DB93, 0x60DB9391, 0xDB939105,
     0x9391054A, 0x91054A7F, 0x054A7F09, 0x4A7F09D5, 0x7F09D5F4, 0x09D5F47D, 0xD5F47D4D,
     0xF47D4D37, 0x7D4D3770, 0x4D377036, 0x377036D8, 0x7036D8A5, 0x36D8A566, 0xD8A5664F,
     0xA5664F10, 0x664F10E4, 0x4F10E410, 0x10E41000, 0xE4100000],
    np.uint64,
)  # fmt: skip
PIO2_2M62 = 3.4061215800865545e-19  # π/2 · 2**-62 (float64)
_BYTES = bytes(3) + bytes(int(w) & 0xFF for w in TWO_OVER_PI_BITS) + bytes(11)
TWO_OVER_PI_WORDS = tuple(int.from_bytes(_BYTES[8 * k : 8 * k + 8], "big") for k in range(5))
"""The same bits as 64-bit words: ``TWO_OVER_PI_BITS[j]`` is bits ``8j`` to ``8j + 32`` of
their concatenation (read without a table by the vectorised numba kernel)."""


def pio2_rest(a: Any, y: Any) -> Any:
    """``a - y·π/2`` with π/2 taken off in four steps (arrays or numbers)."""
    r = y * PIO2_STEPS[0] + a
    r = y * PIO2_STEPS[1] + r
    r = y * PIO2_STEPS[2] + r
    return y * PIO2_STEPS[3] + r


def cos_poly(r2: Any) -> Any:
    """``cos(r)`` on [-π/4, π/4] from ``r2 = r·r``: an even polynomial."""
    c = COS_POLY[0] * r2 + COS_POLY[1]
    c = c * r2 + COS_POLY[2]
    c = c * r2 + COS_POLY[3]
    return c * r2 + COS_POLY[4]


def sin_poly(r: Any, r2: Any) -> Any:
    """``sin(r)`` on [-π/4, π/4]: an odd polynomial."""
    s = SIN_POLY[0] * r2 + SIN_POLY[1]
    s = s * r2 + SIN_POLY[2]
    return (s * r2) * r + r


def reduce_huge(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``r`` (float32) and ``y`` (int32) with ``a = y·π/2 + r``, for finite float32
    ``a ≥ 2**14``: ``a·2/π`` in 2.62 fixed point from three words of 2/π, rounded to the
    nearest integer."""
    bits = a.view(np.uint32).astype(np.uint64)
    e = (bits >> np.uint64(23)) - np.uint64(118)
    xi = ((bits & np.uint64(0x7FFFFF)) | np.uint64(0x800000)) << (e & np.uint64(7))
    i = (e >> np.uint64(3)).astype(np.intp)
    p = xi * TWO_OVER_PI_BITS[i + 7]
    p = xi * TWO_OVER_PI_BITS[i + 3] + (p >> 32)
    p = (((xi * TWO_OVER_PI_BITS[i - 1]) & 0xFFFFFFFF) << 32) + p
    q = (p + (np.uint64(1) << np.uint64(61))) >> np.uint64(62)
    p = p - (q << np.uint64(62))
    return (p.view(np.int64) * PIO2_2M62).astype(_F), q.astype(np.int32)


def sincos(x: np.ndarray, sine: bool) -> np.ndarray:
    """``sin`` (``sine``) or ``cos`` of a float32 array with Eigen's arithmetic, as
    TensorFlow's CPU kernels run it (no fused multiply-add); equal bit for bit to the numba
    kernels ``tapeviz.compiler.kernels.sin32`` / ``cos32``.  NaN and ±inf give NaN."""
    x = np.asarray(x, _F)
    with np.errstate(all="ignore"):
        a = np.abs(x)
        yr = a * TWO_OVER_PI_F + ROUND_MAGIC
        y_int = yr.view(np.int32).copy()
        r = pio2_rest(a, yr - ROUND_MAGIC)
        big = (a >= (SIN_HUGE if sine else COS_HUGE)) & np.isfinite(a)
        if big.any():
            r[big], y_int[big] = reduce_huge(a[big])
        r2 = r * r
        c, s = cos_poly(r2), sin_poly(r, r2)
    even = (y_int & 1) == 0
    if sine:
        out = np.where(even, s, c)
        sign = (x.view(np.int32) ^ (y_int << 30)) & np.int32(-(2**31))
    else:
        out = np.where(even, c, s)
        sign = ((y_int + 1) << 30) & np.int32(-(2**31))
    return np.asarray((out.view(np.int32) ^ sign).view(_F))


# --- the scalar kernels -------------------------------------------------------------------------
# Written once, run twice: numba compiles them for compiled code (tapeviz.compiler.kernels
# registers numba versions of the bit steps below; the loops calling the kernels then
# vectorise: no branch, no table), and they run as Python on numpy float32 scalars (eager
# tanh and sigmoid of a single number in the range where no operation overflows or is
# invalid, where numpy's scalar arithmetic would warn; and where there is no C library).
# One float32 rounding per operation in both.


def bits_of(x: Any) -> Any:
    """The bits of the float32 ``x`` as an int32 (numba: an LLVM bitcast)."""
    return _F(x).view(np.int32)


# Bit steps of the kernels.  Each is written twice: with float arithmetic and tables here
# (the Python version, which eager code runs: numpy's integer scalars are slow) and in bits
# by tapeviz.compiler.kernels for numba; the tests compare the two.
_POW2 = tuple(_F(2.0**k) for k in range(-127, 128))  # _POW2[k + 127]; 2**-127 subnormal
_BIASED = (_F(0.0), *_POW2[1:], _F(np.inf))  # _BIASED[k]: the float32 with exponent bits k


# float32 constants of the kernels (a numpy scalar made in a call costs 0.1 µs)
_M104 = _F(-104.0)
_MINF = _F(-np.inf)
_ZERO = _F(0.0)
_HALF = _F(0.5)
_ONE = _F(1.0)
_127 = _F(127.0)
_TWO24 = _F(16777216.0)
_24 = _F(24.0)
_255 = _F(255.0)
_INF = _F(np.inf)
_NAN = _F(np.nan)


def ldexp32(y: Any, m: Any) -> Any:
    """``y * 2**m`` for a float32 integer ``m`` in [-151, 128] (``y`` near 1), rounded once:
    two normal power-of-two factors reach 2**128 and the subnormals down to 2**-151."""
    k = int(m)
    k1 = k >> 1
    return (y * _POW2[k1 + 127]) * _POW2[k - k1 + 127]


def biased_pow2(k: Any) -> Any:
    """The float32 with exponent bits ``k`` in [0, 255] and mantissa 0: 0, 2**(k-127), inf."""
    return _BIASED[int(k)]


def frexp32(x: Any) -> Any:
    """``(e, m)`` (both float32) with ``x = m·2**e``, ``m`` in [1/2, 1), for a normal
    positive float32 ``x``."""
    m, e = math.frexp(x)
    return _F(e), _F(m)


def quadrant(yr: Any) -> Any:
    """The low bits of the integer ``y`` that ``yr = 1.5·2**23 + y`` holds in its mantissa."""
    return int(yr - ROUND_MAGIC)


def sign_bits(x: Any) -> Any:
    """An integer whose bit 31 is the sign bit of the float32 ``x``."""
    return 1 << 31 if math.copysign(1.0, x) < 0 else 0


def flip(v: Any, s: Any) -> Any:
    """``v`` with its sign bit flipped if bit 31 of the integer ``s`` is set."""
    return -v if s & (1 << 31) else v


# The polynomials: plain arithmetic, so one function serves the scalar kernels (Python and
# numba) and the numpy array versions below.
def exp_poly(xc: Any, m: Any) -> Any:
    """``e**r`` for ``xc = m·ln2 + r``: ``ln2`` taken off in two Cody–Waite steps (``C1`` has
    few significant bits, so ``m·C1`` is exact), then a degree-6 polynomial in even and odd
    halves."""
    r = m * C1 + xc
    r = m * C2 + r
    r2 = r * r
    even = r2 * EXP_EVEN[0] + EXP_EVEN[1]
    odd = r2 * EXP_ODD[0] + EXP_ODD[1]
    even = r2 * even + EXP_EVEN[2]
    y = r * odd + even
    return r2 * y + (r + _ONE)


def sigmoid_exp_poly(h: Any, m: Any) -> Any:
    """``e**r`` for ``h = m·ln2 + r`` with the logistic functor's degree-5 polynomial."""
    r = m * C1 + h
    r = m * C2 + r
    r2 = r * r
    even = r2 * SIGMOID_EVEN[0] + SIGMOID_EVEN[1]
    odd = r2 * SIGMOID_ODD[0] + SIGMOID_ODD[1]
    p = r * odd + even
    return r2 * p + (r + _ONE)


def log_ratio(t: Any) -> Any:
    """``log(1 + t)`` for ``1 + t`` in [sqrt(1/2), sqrt(2)): ``t·P(t) / Q(t)``."""
    p = (LOG_P[0] * t + LOG_P[1]) * t + LOG_P[2]
    p = t * p
    q = (LOG_Q[0] * t + LOG_Q[1]) * t + LOG_Q[2]
    q = q * t + _ONE
    return p / q


def tanh_ratio(xc: Any) -> Any:
    """``tanh(xc)`` for ``|xc| ≤ 7.90738964``: odd degree 9 over even degree 8."""
    x2 = xc * xc
    x3 = x2 * xc
    p = TANH_P[0] * x2 + TANH_P[1]
    p = p * x2 + TANH_P[2]
    p = p * x2 + TANH_P[3]
    q = TANH_Q[0] * x2 + TANH_Q[1]
    q = q * x2 + TANH_Q[2]
    q = q * x2 + TANH_Q[3]
    q = q * x2 + _ONE
    p = x3 * p + xc
    return p / q


def exp32(x: Any) -> Any:
    """float32 ``exp`` with the arithmetic of Eigen's ``pexp_float`` (no FMA): ``x = m·ln2 +
    r`` in two Cody–Waite steps, a degree-6 polynomial for ``e**r`` in even and odd halves,
    then an exact scale by ``2**m``; 88.723 and above overflow to inf, below -104 zero."""
    xc = min(max(x, EXP_LO), EXP_HI)
    m = np.floor(xc * LOG2E + _HALF)
    y = ldexp32(exp_poly(xc, m), m)
    y = _ZERO if x < EXP_LO else y
    return x if x != x else y


def log32(x: Any) -> Any:
    """float32 ``log`` with the arithmetic of Eigen's ``plog_float`` (no FMA): ``x = m·2**e``
    with ``m`` in ``[sqrt(1/2), sqrt(2))``, ``log(m)`` a rational function of ``m - 1``
    (degree 3 over 3), plus ``e·ln2``."""
    sub = x < TINY  # subnormal (or zero, negative): scale by 2**24
    xs = x * _TWO24 if sub else x
    e, m = frexp32(xs)
    e = e - (_24 if sub else _ZERO)
    low = m < SQRT_HALF
    t = m - _ONE
    e = e - (_ONE if low else _ZERO)
    t = t + (m if low else _ZERO)
    y = e * LN2 + log_ratio(t)
    y = _INF if x == np.inf else y
    y = _NAN if (x < 0 or x != x) else y
    return _MINF if x == 0 else y


def tanh32(x: Any) -> Any:
    """float32 ``tanh`` with the arithmetic of Eigen's ``ptanh_float`` (no FMA): the input
    clamped to ±7.90738964, then an odd degree-9 over an even degree-8 polynomial."""
    return x if x != x else tanh_ratio(max(min(x, TANH_CLAMP), -TANH_CLAMP))


def sigmoid32(x: Any) -> Any:
    """float32 ``sigmoid`` with the arithmetic of Eigen's float32 logistic functor:
    ``e = exp(x/2)**2`` from a degree-5 polynomial (input capped at 16.6355324), then
    ``e / (1 + e)``; zero below -104."""
    h = min(x, SIGMOID_HI) * _HALF
    m = np.floor(h * LOG2E + _HALF)
    e = sigmoid_exp_poly(h, m) * biased_pow2(min(max(m + _127, _ZERO), _255))
    e = e * e
    s = e / (_ONE + e)
    return _ZERO if x < _M104 else (x if x != x else s)


_H = tuple(np.uint64(w) for w in TWO_OVER_PI_WORDS)
_U64 = np.uint64


def word(w: Any, k: Any) -> Any:
    """Word ``w + k`` of :data:`TWO_OVER_PI_WORDS` (selects, no load)."""
    n = w + k
    return (
        _H[0]
        if n == 0
        else (_H[1] if n == 1 else (_H[2] if n == 2 else (_H[3] if n == 3 else _H[4])))
    )


def reduce_huge32(a: Any) -> Any:
    """``(r, y)`` with ``a = y·π/2 + r`` for a finite float32 ``a ≥ 2**14`` (Payne–Hanek:
    ``a·2/π`` in 2.62 fixed point), as :func:`reduce_huge`, whose three table words are the
    96 bits of 2/π from bit ``8(i - 1)`` on, read here from the 64-bit words by shifts and
    selects (a table read would be a gather in every vector lane)."""
    bits = _U64(np.uint32(bits_of(a)))
    e = (bits >> _U64(23)) - _U64(118)
    xi = ((bits & _U64(0x7FFFFF)) | _U64(0x800000)) << (e & _U64(7))
    o = ((e >> _U64(3)) - _U64(1)) << _U64(3)  # first bit of the window
    w = np.int64(o >> _U64(6))
    sh = o & _U64(63)  # a multiple of 8: (v >> 1) >> (63 - sh) is v >> (64 - sh), 0 for sh 0
    a0, a1, a2 = word(w, 0), word(w, 1), word(w, 2)
    hi = (a0 << sh) | ((a1 >> _U64(1)) >> (_U64(63) - sh))
    lo = (a1 << sh) | ((a2 >> _U64(1)) >> (_U64(63) - sh))
    t1, t2, t3 = hi >> _U64(32), hi & _U64(0xFFFFFFFF), lo >> _U64(32)
    p = xi * t3
    p = xi * t2 + (p >> _U64(32))
    p = (((xi * t1) & _U64(0xFFFFFFFF)) << _U64(32)) + p
    q = (p + (_U64(1) << _U64(61))) >> _U64(62)
    p = p - (q << _U64(62))
    return _F(np.float64(np.int64(p)) * PIO2_2M62), np.int32(q)


def trig32(x: Any, huge: Any) -> Any:
    """``(r, y)`` of Eigen's float32 ``psincos_float`` (no FMA): ``|x| = y·π/2 + r`` (Cody–Waite
    in four steps below ``huge``, else :func:`reduce_huge32`); ``y`` an int32 whose low bits
    pick the polynomial and the sign."""
    a = abs(x)
    yr = a * TWO_OVER_PI_F + ROUND_MAGIC
    y_int = quadrant(yr)
    r = pio2_rest(a, yr - ROUND_MAGIC)
    if a >= huge and a < np.inf:
        r, y_int = reduce_huge32(a)
    return r, y_int


def sin32(x: Any) -> Any:
    """float32 ``sin`` with the arithmetic of Eigen's ``psin_float`` (no FMA).

    Eigen computes both polynomials and selects one, as compiled code does; the result is
    the same."""
    r, y_int = trig32(x, SIN_HUGE)
    r2 = r * r
    v = sin_poly(r, r2) if (y_int & 1) == 0 else cos_poly(r2)
    return flip(v, sign_bits(x) ^ (y_int << 30))


def cos32(x: Any) -> Any:
    """float32 ``cos`` with the arithmetic of Eigen's ``pcos_float``, as :func:`sin32`."""
    r, y_int = trig32(x, COS_HUGE)
    r2 = r * r
    v = cos_poly(r2) if (y_int & 1) == 0 else sin_poly(r, r2)
    return flip(v, (y_int + 1) << 30)


SCALAR_KERNELS = {
    "exp": exp32,
    "log": log32,
    "tanh": tanh32,
    "sigmoid": sigmoid32,
    "sin": sin32,
    "cos": cos32,
}
"""The scalar kernels by op name (compiled by :mod:`tapeviz.compiler.kernels`)."""


# --- numpy versions for eager code -------------------------------------------------------------
# The same operations as the numba kernels of tapeviz.compiler.kernels, one float32 ufunc per
# kernel operation (numpy never fuses a multiply and an add), so the same bits on every CPU.
# They take float32 arrays of any shape, or float32 scalars (run as one-element arrays).


# Eager float32 arrays run the kernels compiled by numba (tapeviz._eigen_jit: vector loops,
# as fast as numpy's own functions) once they are loaded, and the numpy versions below until
# then: the same bits (so do single numbers of tanh and sigmoid, the kernel run as Python
# until then).  Loading costs numba's import (~0.4 s) and, once per machine, the loops'
# compilation (a few seconds), so it starts only when the numpy versions (and the Python
# kernels) have taken LOAD_AFTER seconds of this process, and then out of the caller's way:
# a thread imports numba and loads the loops from the cache folder; if they are not there,
# a helper process (tapeviz._helper, at a lower priority) compiles them into it first.  A
# short script never loads numba; a training loop switches within a second or so.  With
# TAPEVIZ_TIERED=0 (as ``tv.function``: compile on the first call) the caller loads them
# itself, waiting.
LOAD_AFTER = 0.02
"""Seconds the numpy versions may take before the compiled loops are loaded."""
PACKET = 8
"""float32 numbers per packet in TensorFlow's CPU kernels (its wheel's AVX code): an
elementwise kernel runs Eigen's packet code on the flattened tensor but its last
``n % PACKET`` numbers, which take the scalar code (``tools/record_tails_tf.py``)."""
TAILS: dict[str, Any] = {}
"""TensorFlow's scalar code by op name, where it is not the kernel: the C library's
``expf``, ``logf``, ``sinf``, ``cosf`` and :func:`sigmoidf` (a float32 number in, a number
equal to a float32 out)."""
LOOPS: dict[str, Any] = {}
"""The compiled loops by op name, once loaded (:data:`tapeviz._eigen_jit.ARRAY_LOOPS`' entry
points, called with exactly their types; ``pow``: :data:`tapeviz._eigen_jit.PAIR_LOOPS`)."""
NUMBERS: dict[str, Any] = {}
"""The compiled tanh and sigmoid of a float32 number, once loaded
(:data:`tapeviz._eigen_jit.NUMBER_KERNELS`)."""
_load = {"spent": 0.0, "started": False}
_loaded = threading.Event()


def load_compiled(wait: bool = True) -> bool:
    """Start loading the compiled loops now (see above) and, if ``wait``, wait until that
    has ended; whether they are in use."""
    if not _load["started"]:
        _load["started"] = True
        threading.Thread(target=_load_loops, name="tapeviz eager kernels", daemon=True).start()
    if wait:
        _loaded.wait()
    return bool(LOOPS)


def _load_loops(helper: bool = True) -> None:
    """Load the compiled loops into :data:`LOOPS` (compiled by a helper process first if
    ``helper`` and they are not in the cache folder).  Any failure leaves the numpy
    versions in use: they give the same bits."""
    try:
        from . import _eigen_jit  # (imports numba)

        if not _eigen_jit.load(compile=False):
            from . import _diskcache, _helper

            folder = _diskcache.cache_dir()
            if helper and folder is not None:
                _helper.start("tapeviz._eigen_jit", folder).wait()
            if not _eigen_jit.load(compile=True):
                return
        NUMBERS.update(_eigen_jit.NUMBER_KERNELS)
        LOOPS.update(_eigen_jit.array_entry_points())  # (array() passes their exact types)
        LOOPS.update(_eigen_jit.PAIR_LOOPS)
        calls = _eigen_jit.flush_calls()
        if calls is not None:  # (cheaper calls for the FTZ/DAZ bits of every array op)
            subnormals.use_machine_code(*calls)
        for name, call in _eigen_jit.number_calls().items():  # (and for sinf & co.)
            if name in _USE_NUMBER:
                _USE_NUMBER[name](call)
    except Exception:  # no numba, or one that cannot compile them: numpy's versions
        return
    finally:
        _loaded.set()


def _spent(seconds: float) -> None:
    """Count time spent in the numpy versions; start loading the loops past LOAD_AFTER."""
    _load["spent"] += seconds
    if _load["spent"] > LOAD_AFTER and not _load["started"]:
        from . import _helper

        if _helper.enabled():
            load_compiled(wait=False)
        else:
            _load["started"] = True
            _load_loops(helper=False)


def _arrays(name: str, array_fn: Any) -> Any:
    """Eager code's ``name`` of a float32 array (any shape) or of a float32 scalar: the
    compiled loop if loaded, else ``array_fn`` (the numpy version) and the last ``n % 8``
    numbers of the flattened array as TensorFlow computes them (:data:`TAILS`).  With
    ``flush`` (an op on an array: :func:`eager_function`'s array forward) FTZ and DAZ are
    set while it computes (the compiled loop sets them itself)."""

    def numpy_version(flat: np.ndarray) -> np.ndarray:
        number = TAILS.get(name)  # (TensorFlow's scalar code: its last n % 8 numbers)
        packets = flat.size if number is None else flat.size - flat.size % PACKET
        value = np.empty(flat.size, _F)
        if packets:
            value[:packets] = array_fn(flat[:packets])
        if number is not None:
            for i in range(packets, flat.size):
                value[i] = number(flat[i])
        return value

    def array(x: Any, flush: bool = False) -> Any:
        is_array = type(x) is _ndarray or isinstance(x, np.ndarray)
        loop = LOOPS.get(name)
        # (its exact types: 1-D C-contiguous float32 arrays, a bool; other arrays: numpy)
        if loop is not None and (not is_array or x.dtype == _F32):
            flat = x.ravel() if is_array else np.array([x], _F)
            out = np.empty(flat.shape[0], _F32)
            loop(flat, out, flush)
            if is_array:
                return out if x.ndim == 1 else out.reshape(x.shape)
            return out[0]
        start = time.perf_counter()
        with np.errstate(all="ignore"):
            flat = x.reshape(-1) if is_array else np.array([x], _F)
            if flush:
                value = subnormals.flushed(numpy_version, (flat,), _NO_ATTRS)
            else:
                value = numpy_version(flat)
            value = value.reshape(x.shape) if is_array else value[0]
        _spent(time.perf_counter() - start)
        return value

    array.__name__ = array.__qualname__ = name
    return array


def _kernel_number(name: str, kernel: Any) -> Any:
    """Eager code's ``name`` of a float32 number (where no step overflows or is invalid):
    the compiled kernel if loaded, else ``kernel`` as Python on numpy scalars (timed: it
    counts toward :data:`LOAD_AFTER`)."""

    def number(x: Any) -> Any:
        compiled = NUMBERS.get(name)
        if compiled is not None:
            return _ONE * compiled(x)  # (numba gives a Python float: exact as float32)
        start = time.perf_counter()
        value = kernel(x)
        _spent(time.perf_counter() - start)
        return value

    return number


_USE_NUMBER: dict[str, Any] = {}
"""Per function of :func:`eager_function` that calls the C library's function for a float32
number: how to swap that call for machine code's (:func:`tapeviz._eigen_jit.number_calls`,
the same function called for a fifth of the cost), once numba's functions are loaded."""


def eager_function(name: str, other: Any = None) -> Any:
    """The eager function ``name``: for a float32 number the C library's function (where
    there is one; else the kernel as Python, where no step overflows or is invalid), for
    float32 arrays (and other float32 numbers) the compiled loop or the numpy version, for
    anything else ``other`` (default: as a float32 array).  Written for the hot case, a
    float32 number: one type check, the C function called directly.  Its version for an
    eager op on a float array, FTZ and DAZ set, is :data:`tapeviz.subnormals.FLUSHING`'s."""
    number, plain, array = _PARTS[name]
    if other is None:
        other = array
    if plain is None:  # the C library's function (a Python float back): every float32 number

        def run(x: Any) -> Any:
            if type(x) is _F:
                return _ONE * number(x)  # (as float32: a product is faster than _F(...))
            return array(x) if x.dtype == _F32 else other(x)

        def use(call: Any) -> None:
            nonlocal number
            number = call

        _USE_NUMBER[name] = use

    else:

        def run(x: Any) -> Any:
            if type(x) is _F and plain(x):
                return number(x)
            return array(x) if x.dtype == _F32 else other(x)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = _ARRAY_FUNCTIONS[name].__doc__

    def run_flushed(x: np.ndarray) -> Any:
        """``run`` of a float array with FTZ and DAZ set (the compiled loop sets them itself:
        no call through ctypes)."""
        if x.dtype == _F32:
            return array(x, True)
        return subnormals.flushed(other, (x,), _NO_ATTRS)

    subnormals.FLUSHING[run] = run_flushed
    return run


def _exp(x: np.ndarray) -> np.ndarray:
    """Eigen's float32 ``pexp_float`` (no FMA): ``exp(x) = 2**m · p(r)``, ``x = m·ln2 + r``."""
    xc = np.clip(x, EXP_LO, EXP_HI)  # (below -104: zero, selected at the end)
    m = np.floor(xc * LOG2E + _HALF)
    y = exp_poly(xc, m)
    out = np.ldexp(y, np.where(np.isnan(m), _F(0.0), m).astype(np.int32)).astype(_F)
    out = np.maximum(out, x)  # (88.723 and above: inf; NaN stays NaN)
    return np.where(x < EXP_LO, _F(0.0), out)  # far below the smallest float, and exp(-inf)


def _log(x: np.ndarray) -> np.ndarray:
    """Eigen's float32 ``plog_float`` (no FMA), as :func:`tapeviz.compiler.kernels.log32`."""
    sub = x < TINY  # subnormal (or zero, negative): scaled by 2**24 first
    xs = np.where(sub, x * _F(16777216.0), x)
    bits = xs.view(np.int32)
    e = ((bits >> 23) & 0xFF).astype(_F) - np.where(sub, _F(150.0), _F(126.0))
    m = ((bits & np.int32(-2139095041)) | np.int32(0x3F000000)).view(_F)
    low = m < SQRT_HALF
    t = m - _F(1.0)
    e = e - np.where(low, _F(1.0), _F(0.0))
    t = t + np.where(low, m, _F(0.0))
    y = e * LN2 + log_ratio(t)
    y = np.where(x == np.inf, _F(np.inf), y)
    y = np.where((x < 0) | np.isnan(x), _F(np.nan), y)
    return np.where(x == 0, _F(-np.inf), y)


def _tanh(x: np.ndarray) -> np.ndarray:
    """Eigen's float32 ``ptanh_float`` (no FMA), as :func:`tapeviz.compiler.kernels.tanh32`."""
    return tanh_ratio(np.maximum(np.minimum(x, TANH_CLAMP), -TANH_CLAMP))  # (NaN stays NaN)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Eigen's float32 logistic function, as :func:`tapeviz.compiler.kernels.sigmoid32`."""
    h = np.minimum(x, SIGMOID_HI) * _HALF
    m = np.floor(h * LOG2E + _HALF)
    p = sigmoid_exp_poly(h, m)
    k = np.clip(np.where(np.isnan(m), _F(0.0), m) + _F(127.0), _F(0.0), _F(255.0))
    e = p * (k.astype(np.int32) << 23).view(_F)
    e = e * e
    s = e / (_F(1.0) + e)
    return np.where(x < _F(-104.0), _F(0.0), s)  # (NaN stays NaN)


def _sin(x: np.ndarray) -> np.ndarray:
    """Eigen's float32 ``psin_float`` (no FMA), as :func:`tapeviz.compiler.kernels.sin32`."""
    return sincos(x, True)


def _cos(x: np.ndarray) -> np.ndarray:
    """Eigen's float32 ``pcos_float`` (no FMA), as :func:`tapeviz.compiler.kernels.cos32`."""
    return sincos(x, False)


def _c_library(name: str, kernel: Any, plain: Any) -> tuple[Any, Any]:
    """The C library's float32 function ``name`` for single numbers, as TensorFlow's kernels
    compute a tensor's last ``n % 8`` elements — so a single number — (and as numba's
    ``np.exp`` & co. compile: the same functions): ``(function, None)``, the function
    returning a Python float; ``(kernel, plain)`` where there is no C math library."""
    try:  # (called holding the GIL: it takes nanoseconds, releasing it ~0.15 µs)
        fn = getattr(ctypes.PyDLL("libm.so.6"), name)
    except (OSError, AttributeError):  # pragma: no cover - no glibc
        return kernel, plain
    fn.restype = ctypes.c_float
    fn.argtypes = [ctypes.c_float]
    return fn, None


def sigmoidf(x: Any) -> Any:
    """TensorFlow's float32 sigmoid of one number (Eigen's scalar code, which its kernels run
    on a tensor's last ``n % 8`` numbers, so on a single number): ``e / (1 + e)`` with
    ``e = expf(min(x, 16.6355324))`` (the C library's ``expf``), in float32.

    >>> float(sigmoidf(np.float32(0.5)))
    0.622459352016449
    """
    e = _F(_expf(min(x, SIGMOID_HI)))
    with np.errstate(all="ignore"):  # (overflow: inf / inf is NaN, as in TensorFlow)
        return e / (_ONE + e)


_ARRAY_FUNCTIONS = {
    "exp": _exp,
    "log": _log,
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "sin": _sin,
    "cos": _cos,
}
_F32 = np.dtype(np.float32)
_ndarray = np.ndarray
_expf = _c_library("expf", exp32, None)[0]  # (no C library: Eigen's kernel, as Python)
_PARTS = {  # name: (float32 numbers, where they may take it, float32 arrays)
    "exp": (*_c_library("expf", exp32, lambda x: x < EXP_HI), _arrays("exp", _exp)),
    "log": (*_c_library("logf", log32, lambda x: _ZERO < x < _INF), _arrays("log", _log)),
    "tanh": (_kernel_number("tanh", tanh32), lambda x: x == x, _arrays("tanh", _tanh)),
    "sigmoid": (sigmoidf, None, _arrays("sigmoid", _sigmoid)),
    "sin": (*_c_library("sinf", sin32, lambda x: abs(x) < SIN_HUGE), _arrays("sin", _sin)),
    "cos": (*_c_library("cosf", cos32, lambda x: abs(x) < COS_HUGE), _arrays("cos", _cos)),
}


def _bits_in(fn: Any) -> Any:
    """The C library's function ``fn`` given a float32's bits as they are: a conversion to a
    Python float (what ctypes would do) reads a subnormal as zero where the caller has set
    DAZ (in an op's forward: :mod:`tapeviz.subnormals`), and TensorFlow's kernels pass the
    bits to ``logf`` & co. (whose result for a subnormal is not log(0))."""

    def number(x: Any) -> Any:
        return fn(_c_float.from_buffer_copy(x))

    return number


_c_float = ctypes.c_float
TAILS.update(
    (n, _bits_in(p[0])) for n in ("exp", "log", "sin", "cos") if (p := _PARTS[n])[1] is None
)
TAILS["sigmoid"] = sigmoidf  # (tanh: the kernel)
if "sin" in TAILS:  # sinf gives back a subnormal argument itself: a result ctypes would read
    _sinf = TAILS["sin"]  # as zero (DAZ), so it is returned here without the call
    TAILS["sin"] = lambda x: x if abs(x) < TINY else _sinf(x)
exp, log, tanh, sigmoid, sin, cos = (eager_function(n) for n in _ARRAY_FUNCTIONS)
FUNCTIONS = {"exp": exp, "log": log, "tanh": tanh, "sigmoid": sigmoid, "sin": sin, "cos": cos}
"""The eager float32 functions by op name."""
