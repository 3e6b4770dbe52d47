"""Non-finite values without warnings: ``pow`` at non-positive bases and its overflowing
gradient, division by zero, and scalar ``pow`` rounded as TensorFlow rounds it.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapeviz as tv


# --- pow's warning predicate, division, non-finite values ----------------------------------------
def test_pow_at_non_positive_bases_is_silent_and_as_tensorflow(no_warnings: None) -> None:
    x = tv.Variable([0.0, -2.0, 3.0], name="x")
    p = tv.Variable(2.0, name="p")
    with tv.GradientTape() as tape:
        y = tv.reduce_sum(x**p)
    gx, gp = tape.gradient(y, [x, p])
    assert gx.numpy().tolist() == [0.0, -4.0, 6.0]
    # d/dp x^p = x^p log x, taken as 0 where x <= 0 (TensorFlow)
    np.testing.assert_allclose(float(gp), 9.0 * np.log(3.0), rtol=1e-6)
    z = tv.Variable(0.0)
    with tv.GradientTape() as tape:
        w = z**0.5
    assert float(w) == 0.0 and np.isinf(float(tape.gradient(w, z)))
    tape.record()  # the replay is silent too


def test_division_by_zero_is_silent_and_replayed(no_warnings: None) -> None:
    x = tv.Variable(1.0, name="x")
    zero = tv.Variable(0.0, name="zero")
    with tv.GradientTape() as tape:
        y = x / zero
    gx, gz = tape.gradient(y, [x, zero])
    # TF: g / y = +inf, g · ((-x / y) / y) = -inf
    assert (float(gx), float(gz)) == (np.inf, -np.inf)
    rec = tape.record()
    assert rec.sweep[0].adjoint.tolist() == 1.0


def test_positive_scalar_pow_gradient_matches_the_rule() -> None:
    # the may_warn predicate's common case: positive numpy scalar base, no errstate
    x = tv.Variable(np.float32(1.7))
    with tv.GradientTape() as tape:
        y = x**3.0
    g = tape.gradient(y, x)
    want = np.float32(1.0) * np.float32(3.0) * np.float32(1.7) ** np.float32(2.0)
    assert g.numpy() == want and g.dtype == tv.float32


def test_scalar_pow_rounds_as_tensorflow_for_every_exponent(no_warnings: None) -> None:
    # float32 scalars take C's powf for every exponent (numpy's power ufunc rounds 0.9**4
    # to 0.6561; TensorFlow 2.x gives the nearer 0.6560999): values recorded from
    # tf.pow(tf.constant(b), e) on CPU
    for base, exponent, tf_value in [(0.9, 4.0, 0.6560999), (0.999, 9.0, 0.99103606)]:
        got = tv.constant(base) ** exponent
        assert got.numpy() == np.float32(tf_value), (base, exponent, got.numpy())
        assert tv.pow(tv.constant(base), exponent).numpy() == np.float32(tf_value)
    # and the edge cases stay numpy's/TensorFlow's, without warnings
    assert float(tv.constant(0.0) ** -1.0) == np.inf
    assert np.isnan(float(tv.constant(-2.0) ** 0.5))
    assert float(tv.constant(1e30) ** 3.0) == np.inf


def test_pow_gradient_overflow_is_silent(no_warnings: None) -> None:
    x = tv.Variable(1e-20)
    with tv.GradientTape() as tape:
        y = x**-1.0
    assert float(y) == pytest.approx(1e20, rel=1e-6)
    g = tape.gradient(y, x)
    assert float(g) == -np.inf
