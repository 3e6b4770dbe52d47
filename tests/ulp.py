"""Comparing floats in units in the last place (ulps): the one helper every test uses.

* :func:`ulp_distance` counts the representable floats between two same-dtype arrays;
* :func:`assert_ulps` asserts such a count (the strict check against TensorFlow's numbers);
* :func:`within_ulps` is the looser check of compiled against eager results: each gap may be
  ``n`` spacings of the larger magnitude, or of a given scale for results near zero that
  were computed from larger operands; float32 subnormals may count as zero.

Tests import it as ``from ulp import ...`` (``tests/`` is on ``sys.path`` through its
``conftest.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _as_array(x: Any) -> np.ndarray:
    if hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x)


def ulp_distance(a: Any, b: Any) -> np.ndarray:
    """Units in the last place between same-dtype float arrays, as int64 of their shape.

    Equal values are 0 apart, ``-0.0`` and ``+0.0`` too, and so are two NaNs; infinities
    count as the float after the largest finite one.
    """
    a = _as_array(a)
    b = _as_array(b)
    assert a.dtype == b.dtype and a.dtype.kind == "f", (a.dtype, b.dtype)
    itype = np.dtype(f"i{a.dtype.itemsize}")

    def ordered(x: np.ndarray) -> np.ndarray:
        # float bits as integers that grow with the float value (-0 and +0 both 0)
        i = np.ascontiguousarray(x).reshape(-1).view(itype).astype(np.int64)
        return np.where(i < 0, np.iinfo(itype).min - i, i)

    both_nan = (np.isnan(a) & np.isnan(b)).reshape(-1)
    return np.where(both_nan, 0, np.abs(ordered(a) - ordered(b))).reshape(a.shape)


def flush_subnormals(x: Any) -> np.ndarray:
    """float32 subnormals as (signless) zero, as compiled code and TensorFlow's CPU keep them."""
    x = _as_array(x)
    if x.dtype != np.float32:
        return x
    return np.where(np.abs(x) < np.finfo(np.float32).tiny, np.float32(0), x)


def within_ulps(a: Any, b: Any, ulps: int, *, scale: Any = 0.0, flush: bool = False) -> bool:
    """``a`` and ``b`` agree within ``ulps`` spacings, entry by entry.

    Same shape and dtype, NaN and infinities at the same places; each finite gap at most
    ``ulps * max(spacing(max(|a|, |b|)), eps * scale)``: ``scale`` is the magnitude of the
    operands a result was computed from (``1 - tanh²`` cancels, and a result near zero
    then carries the absolute error of its operands).  With ``flush``, float32 subnormals
    count as zero (compiled code flushes them, as TensorFlow does:
    tests/function/test_subnormals.py).
    """
    a, b = _as_array(a), _as_array(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if flush:
        a, b = flush_subnormals(a), flush_subnormals(b)
    if a.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return False
    fin = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(np.where(fin, 0, a), np.where(fin, 0, b), equal_nan=True):
        return False
    big = np.maximum(np.abs(a[fin]), np.abs(b[fin]))
    unit = np.maximum(
        np.spacing(big).astype(np.float64),
        np.finfo(a.dtype).eps * np.broadcast_to(np.asarray(scale, np.float64), a.shape)[fin],
    )
    gap = np.abs(a[fin].astype(np.float64) - b[fin].astype(np.float64))
    return bool(np.all(gap <= ulps * unit))


def assert_ulps(actual: Any, expected: Any, max_ulps: int, what: str = "") -> int:
    """``actual`` is within ``max_ulps`` of ``expected`` elementwise; returns the largest gap."""
    a = _as_array(actual)
    e = np.asarray(expected)
    label = f"{what}: " if what else ""
    assert a.dtype == e.dtype, f"{label}dtype {a.dtype} != {e.dtype}"
    assert a.shape == e.shape, f"{label}shape {a.shape} != {e.shape}"
    np.testing.assert_array_equal(np.isnan(a), np.isnan(e), err_msg=f"{label}NaN positions")
    gap = ulp_distance(a, e)
    worst = int(gap.max()) if gap.size else 0
    assert worst <= max_ulps, (
        f"{label}differs from TensorFlow by up to {worst} ulps (allowed {max_ulps}):\n"
        f"got {a!r}\nTF  {e!r}"
    )
    return worst
