"""Eigen's float32 ``exp``, ``sin`` and ``cos`` (TensorFlow's CPU arithmetic): constants
written once, and numpy versions.

Each polynomial is evaluated twice: by a numba kernel for compiled code
(:func:`tapeviz.compiler.kernels.exp32`, ``sin32``, ``cos32``) and with numpy arrays for eager code
(``_packet_exp`` of :mod:`tapeviz.ops._tf_cpu`, :func:`sincos` here), one float32 rounding
per operation in both, so both give the same bits.  They take their numbers from here; this
module imports numpy only, so eager code that uses it never loads numba.

exp:

``exp(x) = 2**m · p(r)`` with ``m = floor(x·log2(e) + 1/2)`` and ``r = x - m·ln2``, ``ln2``
taken off in two steps (``C1`` has few significant bits, so ``m·C1`` is exact); ``p`` is
of degree 6, evaluated as ``r2·(r·odd + even) + (r + 1)`` with ``r2 = r·r``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LOG2E", "C1", "C2", "EXP_EVEN", "EXP_ODD", "EXP_HI", "EXP_LO", "reduce_huge", "sincos"]

_F = np.float32

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
        y = yr - ROUND_MAGIC
        r = y * PIO2_STEPS[0] + a
        for c in PIO2_STEPS[1:]:
            r = y * c + r
        big = (a >= (SIN_HUGE if sine else COS_HUGE)) & np.isfinite(a)
        if big.any():
            r[big], y_int[big] = reduce_huge(a[big])
        r2 = r * r
        c = COS_POLY[0] * r2 + COS_POLY[1]
        for k in COS_POLY[2:]:
            c = c * r2 + k
        s = SIN_POLY[0] * r2 + SIN_POLY[1]
        s = s * r2 + SIN_POLY[2]
        s = (s * r2) * r + r
    even = (y_int & 1) == 0
    if sine:
        out = np.where(even, s, c)
        sign = (x.view(np.int32) ^ (y_int << 30)) & np.int32(-(2**31))
    else:
        out = np.where(even, c, s)
        sign = ((y_int + 1) << 30) & np.int32(-(2**31))
    return np.asarray((out.view(np.int32) ^ sign).view(_F))
