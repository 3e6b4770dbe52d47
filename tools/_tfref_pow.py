"""The ``pow_behaviour`` section of tests/data/tf_reference.json: how TensorFlow's float32
``Pow`` rounds (scalar and vector paths, against float64 rounded and numpy's float32 power),
and that its CPU kernels flush subnormal results to zero."""

from __future__ import annotations

from typing import Any

import numpy as np
from _tfrecord import encode

EXPONENTS = (2.0, 3.0, 0.5, 1.5, -1.0, 2.5)
SIZES = (1, 7, 8, 9, 15, 16, 17, 31, 32, 64, 200)


def _ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ia = a.astype(np.float32).view(np.int32).astype(np.int64)
    ib = b.astype(np.float32).view(np.int32).astype(np.int64)
    ia = np.where(ia < 0, -(2**31) - ia, ia)
    ib = np.where(ib < 0, -(2**31) - ib, ib)
    return np.abs(ia - ib)


def _beta_powers(tf: Any, beta: float) -> dict[str, Any]:
    ts = np.arange(1, 1001)
    b32 = np.float32(beta)
    tf_values = np.array(
        [tf.pow(tf.constant(beta), tf.constant(float(t))).numpy() for t in ts], np.float32
    )
    exact64 = np.float64(b32) ** ts.astype(np.float64)
    exact = exact64.astype(np.float32)
    # below float32's smallest normal number (rounded, it is subnormal or zero)
    subnormal = np.abs(exact64) < np.finfo(np.float32).tiny
    flushed = subnormal & (tf_values == 0)
    differs = (tf_values != exact) & ~subnormal
    numpy_power = np.power(b32, ts.astype(np.float32))
    zero = ts[tf_values == 0]
    return {
        "code": (
            f"tf.pow(tf.constant({beta}), tf.constant(float(t))) for t = 1..1000 (how legacy "
            "Adam/Nadam/Adamax compute beta powers: pow(beta_t, cast(iterations+1, float32)))"
        ),
        "t_where_differs_from_float32_of_float64_pow": ts[differs].tolist(),
        "t_where_result_would_be_subnormal_and_tf_gives_0": (
            [int(ts[flushed].min()), int(ts[flushed].max())] if flushed.any() else None
        ),
        "tf_zero_where_subnormal": bool(flushed[subnormal].all()) if subnormal.any() else None,
        "tf_values_at_those_t": encode(tf_values[differs]),
        "float64_rounded_values_at_those_t": encode(exact[differs]),
        "fraction_equal_to_np_power_float32": float(np.mean(tf_values == numpy_power)),
        "first_t_where_tf_result_is_zero": int(zero[0]) if zero.size else None,
    }


def _vector_vs_scalar(tf: Any) -> dict[str, Any]:
    x = (np.random.default_rng(7).random(64) * 4 + 0.05).astype(np.float32)
    by_exponent: dict[str, Any] = {}
    for e in EXPONENTS:
        vector = tf.pow(tf.constant(x), e).numpy()
        scalar = np.array([tf.pow(tf.constant(v), e).numpy() for v in x], np.float32)
        exact = (x.astype(np.float64) ** e).astype(np.float32)
        numpy_power = np.power(x, np.float32(e))
        by_exponent[str(e)] = {
            "vector_eq_scalar": float(np.mean(vector == scalar)),
            "vector_eq_float64_rounded": float(np.mean(vector == exact)),
            "scalar_eq_float64_rounded": float(np.mean(scalar == exact)),
            "vector_eq_np_power_float32": float(np.mean(vector == numpy_power)),
        }
    return {
        "code": (
            "x = 64 values in [0.05, 4.05) (default_rng(7)); tf.pow(x_vec, e) vs tf.pow(x_i, e) "
            "vs float32(float64 pow) vs np.power(float32)"
        ),
        "by_exponent": by_exponent,
    }


def _packet_path(tf: Any) -> dict[str, Any]:
    x = (np.random.default_rng(1).random(200) * 4 + 0.05).astype(np.float32)
    by_size: dict[str, Any] = {}
    for n in SIZES:
        got = tf.pow(tf.constant(x[:n]), 2.0).numpy()
        want = x[:n] * x[:n]
        ulps = _ulps(got, want)
        by_size[str(n)] = {
            "mismatches": int(np.count_nonzero(ulps)),
            "first_indices": np.flatnonzero(ulps)[:6].tolist(),
            "max_ulps": int(ulps.max()),
        }
    return {
        "code": (
            "x = (default_rng(1).random(200)*4+0.05).astype(float32); tf.pow(x[:n], 2.0) vs x*x"
        ),
        "note": (
            "On this CPU (AVX-512) Eigen's vectorized pow takes blocks of 16 float32 lanes, "
            "then one of 8; it is up to 1 ulp off even for exponent 2. Only the tail (n % 8 "
            "elements, and all of n < 8) uses the scalar path and is exact: these 200 values "
            "happen to have no mismatch among their first 15, but python_operator_pow's 8 "
            "values differ at 4 places. So x**2 on float32 tensors with >= 8 elements is NOT "
            "bit-reproducible with x*x or np.square; tests should allow 1 ulp there."
        ),
        "by_size": by_size,
    }


def _python_operator(tf: Any) -> dict[str, Any]:
    x = tf.constant((np.random.default_rng(7).random(64) * 4 + 0.05).astype(np.float32)[:8])
    differ = np.flatnonzero((x**2).numpy() != tf.square(x).numpy()).tolist()
    return {
        "note": (
            "x ** 2 on a float32 tensor calls tf.pow(x, 2) (Pow op, exponent converted to "
            "float32), not tf.square: on these 8 values (one 8-lane packet of Eigen's "
            f"vectorized pow) x ** 2 differs from tf.square(x) at indices {differ} (by 1 ulp; "
            "tf.square is the correctly rounded x*x)"
            if differ
            else "x ** 2 on a float32 tensor calls tf.pow(x, 2) (Pow op, exponent converted "
            "to float32); x ** 2 and tf.square(x) agreed bit for bit on the values tried"
        ),
        "x": encode(x),
        "x_pow_2": encode(x**2),
        "square": encode(tf.square(x)),
        "x_pow_3": encode(x**3),
        "x_pow_0.5": encode(x**0.5),
        "sqrt": encode(tf.sqrt(x)),
    }


def _flush_to_zero(tf: Any) -> dict[str, Any]:
    return {
        "tf.constant(1e-39) (construction keeps the subnormal)": encode(tf.constant(1e-39)),
        "tf.constant(1e-39) * tf.constant(1.0)": encode(tf.constant(1e-39) * tf.constant(1.0)),
        "tf.constant(1e-38) * tf.constant(0.01)": encode(tf.constant(1e-38) * tf.constant(0.01)),
        "numpy float32 1e-38 * 0.01": encode(np.float32(1e-38) * np.float32(0.01)),
        "tf.exp(-100.)": encode(tf.exp(-100.0)),
        "numpy float32 exp(-100)": encode(np.exp(np.float32(-100.0))),
    }


def pow_behaviour(tf: Any, committed: dict[str, Any]) -> dict[str, Any]:
    """The ``pow_behaviour`` section (``committed`` is not read: everything is recomputed)."""
    del committed
    return {
        "note": (
            "TF's float32 Pow differs from numpy's float32 np.power (numpy's float32 power is "
            "less accurate); TF's SCALAR pow is (almost) correctly rounded: it equals "
            "float32(float64(x)**float64(y)) except at the listed exponents and where the "
            "result is subnormal (TF flushes subnormals to zero on CPU: FTZ/DAZ). Vector tf.pow "
            "(Eigen packet path) can differ from the scalar path."
        ),
        "scalar_tf_pow_0.9_t": _beta_powers(tf, 0.9),
        "scalar_tf_pow_0.999_t": _beta_powers(tf, 0.999),
        "vector_vs_scalar_pow_fractions": _vector_vs_scalar(tf),
        "x_pow_2_vector_packet_path": _packet_path(tf),
        "python_operator_pow": _python_operator(tf),
        "flush_to_zero": _flush_to_zero(tf),
    }
