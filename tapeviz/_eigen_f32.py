"""The constants of Eigen's float32 ``exp`` (``pexp_float``), written once.

Two kernels evaluate the same polynomial: :func:`tapeviz.kernels.exp32` (numba, compiled
code) and ``_packet_exp`` of :mod:`tapeviz.ops._tf_cpu` (numpy, eager softmax with
TensorFlow's digits).  Both take their numbers from here; this module imports numpy only,
so eager code that uses it never loads numba.

``exp(x) = 2**m · p(r)`` with ``m = floor(x·log2(e) + 1/2)`` and ``r = x - m·ln2``, ``ln2``
taken off in two steps (``C1`` has few significant bits, so ``m·C1`` is exact); ``p`` is
of degree 6, evaluated as ``r2·(r·odd + even) + (r + 1)`` with ``r2 = r·r``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LOG2E", "C1", "C2", "EXP_EVEN", "EXP_ODD", "EXP_HI", "EXP_LO"]

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
