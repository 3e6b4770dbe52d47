"""Higher-order derivatives: nested tapes, jacobians of gradients, batch jacobians.

When an outer tape records while an inner tape runs its reverse sweep, the VJP rules run on
tapeviz ops and the outer tape records them: the gradient is itself a differentiable
computation.  These tests check the results against closed forms (float64) and against
TensorFlow's recorded numbers (``tf_reference.json`` → ``structure``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from ulp import assert_ulps

import tapeviz as tv

from .sweeps import F64, fd
from .tfref import array, assert_bits, ref


def test_third_derivative_of_sin() -> None:
    x = tv.Variable(np.array([0.3, 1.2, -2.5]))  # float64
    with tv.GradientTape() as t3:
        with tv.GradientTape() as t2:
            with tv.GradientTape() as t1:
                y = tv.sin(x)
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    xs = x.numpy()
    np.testing.assert_allclose(d1.numpy(), np.cos(xs), rtol=1e-15)
    np.testing.assert_allclose(d2.numpy(), -np.sin(xs), rtol=1e-15)
    np.testing.assert_allclose(d3.numpy(), -np.cos(xs), rtol=1e-15)


def test_third_derivative_of_sin_in_float32_follows_the_rules_op_by_op() -> None:
    x = tv.Variable(0.5)
    with tv.GradientTape() as t3:
        with tv.GradientTape() as t2:
            with tv.GradientTape() as t1:
                y = tv.sin(x)
            d1 = t1.gradient(y, x)  # 1 · cos x
        d2 = t2.gradient(d1, x)  # 1 · (-(1 · sin x))
    d3 = t3.gradient(d2, x)
    half = np.float32(0.5)
    assert d3.dtype == tv.float32
    assert_bits(d1, np.float32(1) * np.cos(half))
    assert_bits(d2, -(np.float32(1) * np.sin(half)))
    assert_ulps(d3, -np.cos(half), 1)


def test_any_depth_fourth_derivative_of_x_to_the_fifth() -> None:
    x = tv.Variable(2.0)
    tapes = [tv.GradientTape() for _ in range(4)]
    for t in tapes:
        t.__enter__()
    y = x**5
    derivative = y
    for t in reversed(tapes):  # innermost first; each gradient is recorded by the outer ones
        t.__exit__(None, None, None)
        derivative = t.gradient(derivative, x)
    assert derivative.numpy() == np.float32(120 * 2.0)  # 5·4·3·2·x
    tapes_left = [t for t in tapes if t._recording]
    assert tapes_left == []


def _f(x: tv.Tensor) -> tv.Tensor:
    # f(x) = x0²·x1 + sin(x0·x1) + exp(x2)·x0
    return x[0] ** 2 * x[1] + tv.sin(x[0] * x[1]) + tv.exp(x[2]) * x[0]


def _hessian_f(x: np.ndarray) -> np.ndarray:
    x0, x1, x2 = x
    s, c = np.sin(x0 * x1), np.cos(x0 * x1)
    e = np.exp(x2)
    return np.array(
        [
            [2 * x1 - x1 * x1 * s, 2 * x0 + c - x0 * x1 * s, e],
            [2 * x0 + c - x0 * x1 * s, -x0 * x0 * s, 0.0],
            [e, 0.0, x0 * e],
        ]
    )


def test_hessian_from_nested_tapes_row_by_row() -> None:
    x = tv.Variable(np.array([0.7, -1.3, 0.4]))
    with tv.GradientTape(persistent=True) as outer:
        with tv.GradientTape() as inner:
            y = _f(x)
        grad = inner.gradient(y, x)
        rows = [grad[i] for i in range(3)]
    hessian = np.stack([outer.gradient(r, x).numpy() for r in rows])
    np.testing.assert_allclose(hessian, _hessian_f(x.numpy()), rtol=1e-13, atol=1e-14)
    np.testing.assert_array_equal(hessian, hessian.T)


def test_jacobian_of_a_gradient_is_the_hessian() -> None:
    x = tv.Variable(np.array([0.7, -1.3, 0.4]))
    with tv.GradientTape() as outer:
        with tv.GradientTape() as inner:
            y = _f(x)
        grad = inner.gradient(y, x)
    hessian = outer.jacobian(grad, x)
    assert hessian.shape == (3, 3)
    np.testing.assert_allclose(hessian.numpy(), _hessian_f(x.numpy()), rtol=1e-13, atol=1e-14)


def test_hessian_of_a_matrix_parameter() -> None:
    # L(W) = Σ (X W)² / 2  ->  ∂²L/∂W_ij ∂W_kl = (XᵀX)_ik δ_jl
    X = tv.constant(np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]]))
    W = tv.Variable(np.array([[0.1, -0.2], [0.3, 0.4]]))
    with tv.GradientTape() as outer:
        with tv.GradientTape() as inner:
            loss = tv.reduce_sum(tv.square(X @ W)) / 2
        gW = inner.gradient(loss, W)
    H = outer.jacobian(gW, W).numpy()
    XtX = X.numpy().T @ X.numpy()
    expected = np.einsum("ik,jl->ijkl", XtX, np.eye(2))
    assert H.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(H, expected, rtol=1e-14)


def test_jacobian_equals_stacked_gradients() -> None:
    x = tv.Variable(np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]))
    W = tv.constant(np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, 0.0]]))
    with tv.GradientTape(persistent=True) as tape:
        y = tv.tanh(x @ W) * tv.reduce_sum(x)  # (2, 2)
    jac = tape.jacobian(y, x)  # (2, 2, 2, 3)
    assert jac.shape == (2, 2, 2, 3)
    for i in range(2):
        for j in range(2):
            seed = np.zeros((2, 2))
            seed[i, j] = 1
            row = tape.gradient(y, x, output_gradients=tv.constant(seed))
            np.testing.assert_array_equal(jac.numpy()[i, j], row.numpy())
            # and the same as differentiating the entry itself
            with tv.GradientTape() as single:
                entry = (tv.tanh(x @ W) * tv.reduce_sum(x))[i, j]
            np.testing.assert_allclose(single.gradient(entry, x).numpy(), row.numpy(), rtol=1e-15)


def test_batch_jacobian_is_the_diagonal_of_the_jacobian() -> None:
    x = tv.constant(np.array([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]]))
    with tv.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tv.stack([x[:, 0] * x[:, 1], x[:, 0] ** 2, tv.exp(x[:, 1])], axis=1)  # (3, 3)
    full = tape.jacobian(y, x).numpy()  # (3, 3, 3, 2)
    batch = tape.batch_jacobian(y, x).numpy()  # (3, 3, 2)
    assert batch.shape == (3, 3, 2)
    for b in range(3):
        np.testing.assert_array_equal(batch[b], full[b, :, b, :])
        others = np.delete(full[b], b, axis=1)
        assert not others.any()  # examples are independent


# --- TensorFlow's numbers --------------------------------------------------------------------
def test_jacobian_vector_against_tensorflow() -> None:
    entry = ref("structure", "jacobian_vector")
    x = tv.constant([1.0, 2.0, 3.0])
    with tv.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x[:2] * x[1:] + tv.sin(x[0])
    # sin(1) and cos(1): numpy's libm and Eigen differ in the last bit
    assert_ulps(y, array(entry["y"]), 1)
    assert_ulps(tape.jacobian(y, x), array(entry["jacobian"]), 1)
    assert_ulps(
        tape.jacobian(y, x, experimental_use_pfor=False), array(entry["jacobian_no_pfor"]), 1
    )
    assert_bits(tape.jacobian(y, x)[:, 1:], array(entry["jacobian"])[:, 1:])  # no sin/cos


def test_jacobians_of_a_layer_against_tensorflow() -> None:
    entry = ref("structure", "jacobian_matrix_wrt_variable")
    W = tv.Variable([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]])
    x = tv.constant([[1.0, -1.0, 2.0], [0.5, 0.0, 1.0]])
    with tv.GradientTape(persistent=True) as tape:
        tape.watch(x)
        out = tv.tanh(x @ W)
    assert_ulps(out, array(entry["out"]), 1, "out")  # Eigen's tanh vs numpy's: 1 ulp
    # 1 - tanh² at tanh ≈ 0.995 cancels: that last bit of tanh becomes a 1e-5 relative error
    for what, got in [
        ("jacobian_W", tape.jacobian(out, W)),
        ("jacobian_x", tape.jacobian(out, x)),
        ("batch_jacobian_x", tape.batch_jacobian(out, x)),
    ]:
        want = array(entry[what])
        assert got.shape == want.shape and got.dtype == tv.float32
        np.testing.assert_allclose(got.numpy(), want, rtol=2e-5, atol=0, err_msg=what)
    both = tape.jacobian(out, [W, x])
    assert [list(j.shape) for j in both] == entry["jacobian_list_shapes"]


def test_batch_jacobian_against_tensorflow() -> None:
    entry = ref("structure", "batch_jacobian")
    x = tv.constant([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]])
    with tv.GradientTape() as tape:
        tape.watch(x)
        y = tv.stack([x[:, 0] * x[:, 1], x[:, 0] ** 2, tv.exp(x[:, 1])], axis=1)
    assert_ulps(y, array(entry["y"]), 1)
    assert_ulps(tape.batch_jacobian(y, x), array(entry["batch_jacobian"]), 1)


def test_jacobian_of_a_scalar_against_tensorflow() -> None:
    x = tv.Variable(2.0)
    with tv.GradientTape() as tape:
        y = x**3
    assert_bits(tape.jacobian(y, x), array(ref("structure", "jacobian_scalar", "jacobian")))


# --- how the gradient computation itself is recorded -----------------------------------------
def test_gradient_inside_a_persistent_tape_records_the_gradient_ops() -> None:
    x = tv.Variable(3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TensorFlow's efficiency warning (test_misuse)
        with tv.GradientTape(persistent=True) as tape:
            y = x**3
            dy = tape.gradient(y, x)  # recorded on the same tape
        d2y = tape.gradient(dy, x)
    assert (dy.numpy(), d2y.numpy()) == (27.0, 18.0)
    groups = {n.group for n in tape.record().nodes if n.kind == "op"}
    assert any(g and "gradient of tape" in g for g in groups)


def test_gradient_inside_a_non_persistent_tape_stops_its_recording() -> None:
    x = tv.Variable(3.0)
    with tv.GradientTape() as tape:
        y = x * x
        g = tape.gradient(y, x)
        z = y * 2  # after gradient(): not recorded any more
    assert g.numpy() == 6.0
    assert [n.op for n in tape.record().nodes if n.kind == "op"] == ["multiply"]
    assert z.numpy() == 18.0


def test_second_order_through_custom_gradient() -> None:
    @tv.custom_gradient
    def cube(x: tv.Tensor) -> tuple[tv.Tensor, object]:
        def grad_fn(dy: tv.Tensor) -> tv.Tensor:
            return dy * 3.0 * x * x  # recorded by an outer tape

        return x * x * x, grad_fn

    x = tv.Variable(2.0)
    with tv.GradientTape() as outer:
        with tv.GradientTape() as inner:
            y = cube(x)
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    assert (y.numpy(), dy.numpy(), d2y.numpy()) == (8.0, 12.0, 12.0)


@pytest.mark.parametrize(
    ("f", "d2"),
    [
        (lambda x: tv.reduce_sum(x[::2] ** 3), lambda x: np.where(np.arange(4) % 2 == 0, 6 * x, 0)),
        (lambda x: tv.reduce_max(x**2), lambda x: np.array([0, 0, 0, 2.0])),
        (lambda x: tv.reduce_sum(tv.nn.softmax(x) * x), None),
    ],
    ids=["strided slice", "reduce_max", "softmax"],
)
def test_diagonal_of_the_hessian_through_shape_ops(f: object, d2: object) -> None:
    x = tv.Variable(np.array([0.5, -1.0, 1.5, 2.0]))
    with tv.GradientTape() as outer:
        with tv.GradientTape() as inner:
            y = f(x)  # type: ignore[operator]
        g = inner.gradient(y, x)
    H = outer.jacobian(g, x).numpy()
    xs = x.numpy()
    if d2 is not None:
        np.testing.assert_allclose(np.diag(H), d2(xs), rtol=1e-14)  # type: ignore[operator]
    # every Hessian is symmetric; and it matches central differences of the gradient
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-14)
    eps = 1e-6
    for j in range(4):
        plus, minus = xs.copy(), xs.copy()
        plus[j] += eps
        minus[j] -= eps
        grads = []
        for v in (plus, minus):
            xv = tv.Variable(v)
            with tv.GradientTape() as tape:
                yv = f(xv)  # type: ignore[operator]
            grads.append(tape.gradient(yv, xv).numpy())
        np.testing.assert_allclose(H[:, j], (grads[0] - grads[1]) / (2 * eps), atol=1e-7)


@pytest.mark.parametrize("form", ["pow", "product"])
def test_a_variable_assigned_before_the_inner_gradient_stays_connected(form: str) -> None:
    # TensorFlow 2 (checked by hand): g = 3·v_old² = 12 and d g/dv = 6·v_old = 12, because
    # the recorded read of v stays connected to v after v.assign
    v = tv.Variable(2.0, dtype=tv.float64)
    with tv.GradientTape() as outer:
        with tv.GradientTape() as inner:
            y = v**3 if form == "pow" else v * v * v
        v.assign(5.0)
        g = inner.gradient(y, v)
    h = outer.gradient(g, v)
    assert float(g) == 12.0
    assert h is not None and float(h) == 12.0


# --- higher order --------------------------------------------------------------------------------
def test_third_derivative_with_three_nested_tapes_and_their_records() -> None:
    x0 = 0.7
    x = tv.Variable(x0, dtype=F64, name="x")
    with tv.GradientTape() as t3:
        with tv.GradientTape() as t2:
            with tv.GradientTape() as t1:
                y = tv.sin(x) * x**3
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    s, c = np.sin(x0), np.cos(x0)
    np.testing.assert_allclose(float(d1), 3 * x0**2 * s + x0**3 * c, rtol=1e-14)
    np.testing.assert_allclose(float(d2), 6 * x0 * s + 6 * x0**2 * c - x0**3 * s, rtol=1e-14)
    want3 = 6 * s + 18 * x0 * c - 9 * x0**2 * s - x0**3 * c
    np.testing.assert_allclose(float(d3), want3, rtol=1e-13)
    r1, r2, r3 = t1.record(), t2.record(), t3.record()
    # t1 saw only the forward; its sweep ran on tensors (kept) and equals its gradient
    assert [n.op for n in r1.nodes if n.kind == "op"] == ["sin", "pow", "multiply"]
    assert all(n.group is None for n in r1.nodes)
    assert r1.gradients[0].tolist() == float(d1)
    # t2 saw the forward and t1's sweep (grouped as such), t3 also t2's sweep
    groups2 = {n.group for n in r2.nodes if n.kind == "op"}
    assert groups2 == {None, f"gradient of tape {t1._id}"}
    groups3 = {n.group for n in r3.nodes if n.kind == "op"}
    assert groups3 == {None, f"gradient of tape {t1._id}", f"gradient of tape {t2._id}"}
    assert r2.gradients[r2.node_of(x).id].tolist() == float(d2)  # type: ignore[union-attr]
    assert r3.gradients[r3.node_of(x).id].tolist() == float(d3)  # type: ignore[union-attr]
    # node values of t3's record are the forward and gradient values computed
    vals = {n.value.tolist() for n in r3.nodes if n.kind == "op"}
    assert float(d1) in vals and float(d2) in vals


def test_gradient_inside_a_persistent_tape_then_a_second_derivative_from_it() -> None:
    x0 = 1.3
    x = tv.Variable(x0, dtype=F64, name="x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the documented "less efficient" warning
        with tv.GradientTape(persistent=True) as tape:
            y = tv.exp(x) * x
            g = tape.gradient(y, x)
            n_after_first = len(tape.record().nodes)
    h = tape.gradient(g, x)
    e = np.exp(x0)
    np.testing.assert_allclose(float(g), e * (x0 + 1), rtol=1e-15)
    np.testing.assert_allclose(float(h), e * (x0 + 2), rtol=1e-15)
    rec = tape.record()
    assert len(rec.nodes) == n_after_first  # nothing recorded outside the block
    assert {n.group for n in rec.nodes if n.kind == "op"} == {None, f"gradient of tape {tape._id}"}
    np.testing.assert_allclose(rec.gradients[rec.node_of(x).id], e * (x0 + 2), rtol=1e-15)  # type: ignore[union-attr]
    # and the first derivative again, from the same tape, after all that
    np.testing.assert_allclose(float(tape.gradient(y, x)), e * (x0 + 1), rtol=1e-15)


def test_hessian_by_jacobian_of_gradient_then_records() -> None:
    x0 = np.array([0.5, -1.0, 2.0])
    x = tv.Variable(x0, name="x")

    def f(v: np.ndarray) -> float:
        return float(np.sum(v**3) * np.sum(np.sin(v)))

    with tv.GradientTape(persistent=True) as outer:
        with tv.GradientTape() as inner:
            L = tv.reduce_sum(x**3) * tv.reduce_sum(tv.sin(x))
        g = inner.gradient(L, x)
    H = outer.jacobian(g, x)
    s3, ss = np.sum(x0**3), np.sum(np.sin(x0))
    want_g = 3 * x0**2 * ss + s3 * np.cos(x0)
    np.testing.assert_allclose(g.numpy(), want_g, rtol=1e-14)
    np.testing.assert_allclose(g.numpy(), fd(f, x0), rtol=1e-7)
    want_h = (
        np.diag(6 * x0 * ss - s3 * np.sin(x0))
        + np.outer(3 * x0**2, np.cos(x0))
        + np.outer(np.cos(x0), 3 * x0**2)
    )
    np.testing.assert_allclose(H.numpy(), want_h, rtol=1e-13)
    # the jacobian's sweeps are not traced: the outer record has no sweep yet
    assert outer.record().sweep == ()
    gg = outer.gradient(g, x)  # row sums of the Hessian
    np.testing.assert_allclose(gg.numpy(), want_h.sum(axis=0), rtol=1e-13)
    rec = outer.record()
    np.testing.assert_allclose(rec.gradients[rec.node_of(x).id], want_h.sum(axis=0), rtol=1e-13)  # type: ignore[union-attr]


def test_jacobian_and_batch_jacobian_against_finite_differences() -> None:
    x0 = np.array([[1.0, 2.0], [3.0, -4.0]])
    x = tv.Variable(x0, name="x")
    with tv.GradientTape(persistent=True) as tape:
        y = tv.sin(x) * tv.reduce_sum(x * x, axis=1, keepdims=True)

    def f(v: np.ndarray) -> np.ndarray:
        return np.sin(v) * np.sum(v * v, axis=1, keepdims=True)

    J = tape.jacobian(y, x).numpy()
    for i in np.ndindex(2, 2):
        np.testing.assert_allclose(J[i], fd(lambda v, i=i: f(v)[i], x0), rtol=1e-7, atol=1e-8)
    bj = tape.batch_jacobian(y, x).numpy()
    np.testing.assert_array_equal(bj, np.stack([J[b, :, b, :] for b in range(2)]))
    assert tape.record().sweep == ()  # jacobians leave no traced sweep
    g = tape.gradient(y, x)
    np.testing.assert_allclose(g.numpy(), J.sum(axis=(0, 1)), rtol=1e-14)
    assert tape.record().sweep[0].adjoint.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_jacobian_under_an_outer_tape_gives_the_same_numbers() -> None:
    x0 = np.array([0.2, 0.4, 0.8])

    def run(outer: bool) -> np.ndarray:
        x = tv.Variable(x0, name="x")
        ctx = tv.GradientTape() if outer else None
        if ctx is not None:
            ctx.__enter__()
        with tv.GradientTape() as tape:
            y = tv.exp(x) * tv.reduce_sum(x)
        J = tape.jacobian(y, x)
        if ctx is not None:
            ctx.__exit__(None, None, None)
        return J.numpy()

    want = np.diag(np.exp(x0) * np.sum(x0)) + np.exp(x0)[:, None]
    np.testing.assert_allclose(run(False), want, rtol=1e-14)
    np.testing.assert_array_equal(run(False), run(True))
