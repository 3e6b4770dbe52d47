"""Names added for TensorFlow tutorial code (issue 16): values and gradients against
TensorFlow 2.21 (``tests/data/tf_issue16.json``, recorded by ``tools/record_issue16_tf.py``),
gradients of first and second order against central differences in float64."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tapeviz as tv

REF = json.loads((Path(__file__).parent.parent / "data" / "tf_issue16.json").read_text())
X = np.array([-2.5, -1.0, -0.25, 0.5, 1.75, 3.0], np.float32)
A = np.arange(6, dtype=np.float32).reshape(2, 3) / 4 - 0.5
B = np.arange(12, dtype=np.float32).reshape(3, 4) / 5 - 1.0
C = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7 - 1.5
SA = np.array([[3.0, 1.0, -0.5], [0.25, 2.0, 0.75], [-1.0, 0.5, 4.0]], np.float32)
SB = np.array([[1.0, -2.0], [0.5, 3.0], [2.0, 1.0]], np.float32)


def _weighted_grads(fn: Callable[..., Any], *xs: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """Value and gradients of Σ (1, 2, 3, ...) · fn(xs), as the recording script computes."""
    vs = [tv.Variable(x) for x in xs]
    with tv.GradientTape() as tape:
        y = fn(*vs)
        w = np.arange(1, y.numpy().size + 1).reshape(y.shape).astype(y.numpy().dtype)
        s = tv.reduce_sum(y * w)
    return y.numpy(), [g.numpy() for g in tape.gradient(s, vs)]


CASES: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "norm": (lambda v: tv.norm(v), (X,)),
    "norm_axis": (lambda v: tv.norm(v, axis=1), (X.reshape(2, 3),)),
    "clip_by_norm": (lambda v: tv.clip_by_norm(v, 2.0), (X,)),
    "clip_by_norm_small": (lambda v: tv.clip_by_norm(v, 100.0), (X,)),
    "tensordot1": (lambda p, q: tv.tensordot(p, q, axes=1), (A, B)),
    "tensordot_pairs": (lambda p, q: tv.tensordot(p, q, axes=[[1, 2], [0, 1]]), (C, B)),
    "einsum_matmul": (lambda p, q: tv.einsum("ij,jk->ik", p, q), (A, B)),
    "einsum_batch_dot": (lambda p, q: tv.einsum("bi,bi->b", p, q), (A, A[::-1].copy())),
    "einsum_outer": (lambda p, q: tv.einsum("i,j->ij", p, q), (X[:3], X[3:])),
    "einsum_transpose": (lambda p: tv.einsum("ij->ji", p), (A,)),
    "solve": (lambda p, q: tv.linalg.solve(p, q), (SA, SB)),
    "solve_adjoint": (lambda p, q: tv.linalg.solve(p, q, adjoint=True), (SA, SB)),
    "elu": (tv.nn.elu, (X,)),
    "softplus": (tv.nn.softplus, (np.array([-30, -14, -2, 0, 1.5, 14, 30], np.float32),)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_value_and_gradient_match_tensorflow(name: str) -> None:
    fn, xs = CASES[name]
    value, grads = _weighted_grads(fn, *xs)
    want_value, want_grads = REF[name]
    assert value.dtype == np.float32
    # solve: TensorFlow's LU is Eigen's, ours numpy's LAPACK: a unit in the last place apart
    vtol = 5e-7 if name.startswith("solve") else 2e-7
    np.testing.assert_allclose(value, np.array(want_value, np.float32), rtol=vtol, atol=1e-37)
    # softplus beyond its thresholds: the gradient of the branch taken (1 or eˣ), TF's is
    # sigmoid(x) there, 8e-7 away
    rtol = 1e-6 if name == "softplus" or name.startswith("solve") else 5e-7
    for g, want in zip(grads, want_grads, strict=True):
        np.testing.assert_allclose(g, np.array(want, np.float32), rtol=rtol, atol=1e-6)


def test_bit_exact_where_tensorflow_uses_the_same_ops() -> None:
    # tensordot is TF's own transpose + reshape + matmul; norm is sqrt(Σ x²); linspace is
    # start + i·step with stop last
    for name in ("tensordot1", "norm", "clip_by_norm_small"):
        fn, xs = CASES[name]
        value, _ = _weighted_grads(fn, *xs)
        np.testing.assert_array_equal(value, np.array(REF[name][0], np.float32))
    np.testing.assert_array_equal(tv.linspace(0.0, 1.0, 7).numpy(), REF["linspace"]["values"])
    np.testing.assert_array_equal(tv.linspace(-3.0, 5.5, 4).numpy(), REF["linspace"]["values2"])
    value, grads = _weighted_grads(lambda a, b: tv.linspace(a, b, 5), np.float32(-1), np.float32(2))
    np.testing.assert_array_equal(value, REF["linspace"]["grad"][0])
    np.testing.assert_allclose([g for g in grads], REF["linspace"]["grad"][1], rtol=1e-6)
    np.testing.assert_array_equal(tv.eye(2, 3).numpy(), REF["eye"])


# --- float64 central differences, first and second order --------------------------------------
def _scalar(fn: Callable[..., Any], xs: list[np.ndarray], w: list[np.ndarray]) -> Any:
    y = fn(*xs)
    return tv.reduce_sum(y * w[0]) if isinstance(y, tv.Tensor) else y


def _check_orders(fn: Callable[..., Any], xs: tuple[np.ndarray, ...], seed: int) -> None:
    rng = np.random.default_rng(seed)
    xs64 = [np.asarray(x, np.float64) for x in xs]
    out_shape = fn(*[tv.constant(x) for x in xs64]).shape
    u = rng.standard_normal(out_shape)

    def loss(*vals: Any) -> Any:
        return tv.reduce_sum(fn(*vals) * u)

    def grad(vals: list[np.ndarray]) -> list[np.ndarray]:
        vs = [tv.Variable(v) for v in vals]
        with tv.GradientTape() as tape:
            s = loss(*vs)
        return [g.numpy() for g in tape.gradient(s, vs)]

    eps = 1e-6
    g = grad(xs64)
    for i, x in enumerate(xs64):
        num = np.zeros_like(x)
        for j in np.ndindex(x.shape):
            hi, lo = [v.copy() for v in xs64], [v.copy() for v in xs64]
            hi[i][j] += eps
            lo[i][j] -= eps
            num[j] = (loss(*map(tv.constant, hi)).numpy() - loss(*map(tv.constant, lo)).numpy()) / (
                2 * eps
            )
        np.testing.assert_allclose(g[i], num, rtol=1e-6, atol=1e-7)
    # second order: d/dε of the gradient along a direction d, from nested tapes
    d = [rng.standard_normal(x.shape) for x in xs64]
    vs = [tv.Variable(v) for v in xs64]
    with tv.GradientTape() as outer:
        with tv.GradientTape() as inner:
            s = loss(*vs)
        gs = inner.gradient(s, vs)
        gd = sum(
            (tv.reduce_sum(gi * di) for gi, di in zip(gs, d, strict=True)),
            tv.constant(0.0, tv.float64),
        )
    hvp = [
        h.numpy() if h is not None else np.zeros_like(x)
        for h, x in zip(outer.gradient(gd, vs), xs64, strict=True)
    ]
    e = 1e-5
    plus = grad([x + e * di for x, di in zip(xs64, d, strict=True)])
    minus = grad([x - e * di for x, di in zip(xs64, d, strict=True)])
    for h, p, m in zip(hvp, plus, minus, strict=True):
        np.testing.assert_allclose(h, (p - m) / (2 * e), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(CASES))
def test_first_and_second_order_against_central_differences(name: str) -> None:
    fn, xs = CASES[name]
    if name == "softplus":  # away from the thresholds, where TF's formula switches branch
        xs = (np.array([-2.0, -0.5, 0.3, 1.5, 4.0]),)
    _check_orders(fn, xs, seed=len(name))


def test_linspace_first_and_second_order() -> None:
    _check_orders(lambda a, b: tv.linspace(a, b, 5), (np.float64(-1.0), np.float64(2.0)), 7)


# --- formatting, modules, initializers, Keras additions ----------------------------------------
def test_format_a_tensor_as_tensorflow() -> None:
    ref = REF["format"]
    assert f"{tv.constant(3.14159):.2f}" == ref["scalar_2f"]
    assert f"{tv.constant([1.0, 2.0])}" == ref["vector"]
    assert f"{tv.constant(3):d}" == ref["int_d"]
    assert format(tv.constant(3.5), "") == ref["scalar_empty"]
    with pytest.raises(TypeError, match="scalar tensors only"):
        f"{tv.constant([1.0, 2.0]):.2f}"  # TF: TypeError as well
    v = tv.Variable(2.5)
    assert f"{v}" == str(v) and f"{v:.1f}" == "2.5"


class Simple(tv.Module):
    def __init__(self, name: str | None = None) -> None:
        super().__init__(name=name)
        self.a_variable = tv.Variable(5.0, name="train_me")
        self.non_trainable_variable = tv.Variable(5.0, trainable=False, name="do_not_train_me")
        self.inner = [tv.keras.layers.Dense(2)]
        with self.name_scope:
            self.scoped = tv.Variable(1.0, name="scoped")


def test_module_variables_in_tensorflow_s_order_and_names() -> None:
    tv.keras.backend.clear_session()
    m = Simple(name="simple")
    m.inner[0](tv.ones((1, 3)))
    ref = REF["module"]
    assert m.name == ref["name"] and Simple().name == ref["default_name"]
    assert [v.name for v in m.variables] == ref["variables"]
    assert [v.name for v in m.trainable_variables] == ref["trainable"]
    assert isinstance(m.variables, tuple)


def test_module_training_loop_from_the_tensorflow_guide() -> None:
    class Linear(tv.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tv.Variable(5.0)
            self.b = tv.Variable(0.0)

        def __call__(self, x: Any) -> Any:
            return self.w * x + self.b

    model = Linear()
    x = tv.constant([1.0, 2.0, 3.0])
    y = 3.0 * x + 2.0
    for _ in range(2):
        with tv.GradientTape() as tape:
            loss = tv.reduce_mean(tv.square(y - model(x)))
        dw, db = tape.gradient(loss, [model.w, model.b])
        model.w.assign_sub(0.1 * dw)
        model.b.assign_sub(0.1 * db)
    assert [v is u for v, u in zip(model.trainable_variables, (model.b, model.w), strict=True)] == [
        True
    ] * 2
    # by hand: w = 5 − 0.1·32/3, b = −0.4; then w += 0.1·8/9, b += 0.1·16/15
    np.testing.assert_allclose(
        [model.w.numpy(), model.b.numpy()], [181 / 45, -0.44 / 1.5], rtol=1e-6
    )


def test_core_initializers_give_tensors() -> None:
    z = tv.zeros_initializer()(shape=(2, 2))
    assert isinstance(z, tv.Tensor) and z.numpy().tolist() == REF["zeros_initializer"]
    assert tv.constant_initializer(0.5)(shape=(3,)).numpy().tolist() == REF["constant_initializer"]
    r = tv.random_normal_initializer(stddev=1.0, seed=3)(shape=(1000,))
    assert r.dtype == tv.float32 and abs(float(np.std(r.numpy())) - 1.0) < 0.1
    u = tv.random_uniform_initializer(-1.0, 1.0, seed=3)(shape=(100,), dtype=tv.float64)
    assert (
        u.dtype == tv.float64 and -1.0 <= float(np.min(u.numpy())) < float(np.max(u.numpy())) < 1.0
    )
    assert tv.initializers.GlorotUniform is tv.keras.initializers.GlorotUniform


def test_reduction_names() -> None:
    r = tv.keras.losses.Reduction
    assert REF["reduction"] == [r.AUTO, r.NONE, r.SUM, r.SUM_OVER_BATCH_SIZE]
    loss = tv.keras.losses.MeanSquaredError(reduction=r.SUM)
    assert loss([[1.0], [2.0]], [[0.0], [0.0]]).numpy() == 5.0


class _ActivityReg(tv.keras.layers.Layer):
    def call(self, inputs: Any) -> Any:
        self.add_loss(tv.reduce_sum(inputs) * 0.5)
        return inputs


def test_add_loss_keeps_the_latest_call_s_losses() -> None:
    layer = _ActivityReg()
    layer(tv.ones((2,)))
    layer(tv.ones((3,)))
    assert [float(v) for v in layer.losses] == REF["add_loss"]
    model = tv.keras.Sequential([tv.keras.layers.Lambda(lambda t: t * 2.0), _ActivityReg()])
    model(tv.constant([[1.0, 2.0]]))
    assert [float(v) for v in model.losses] == REF["add_loss_model"]
    w = tv.Variable(2.0)
    layer.add_loss(lambda: w * w)  # a callable: evaluated on each access, kept across calls
    layer(tv.ones((1,)))
    assert [float(v) for v in layer.losses] == [0.5, 4.0]


def test_add_loss_is_differentiable() -> None:
    layer = _ActivityReg()
    x = tv.Variable([1.0, 2.0])
    with tv.GradientTape() as tape:
        layer(x * x)
        (total,) = layer.losses
    np.testing.assert_array_equal(tape.gradient(total, x).numpy(), [1.0, 2.0])


def test_lambda_layer() -> None:
    layer = tv.keras.layers.Lambda(lambda t, k: t**k, arguments={"k": 3.0})
    assert layer(tv.constant([1.0, 2.0])).numpy().tolist() == REF["lambda"]
    with pytest.raises(TypeError, match="callable"):
        tv.keras.layers.Lambda(3)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: tv.einsum("ii->i", tv.eye(2)), "repeated"),
        (lambda: tv.einsum("ij,jk->ik", tv.eye(2), tv.eye(3)), "sizes"),
        (lambda: tv.tensordot(tv.eye(2), tv.eye(3), axes=1), "same size"),
        (lambda: tv.linspace(0.0, 1.0, 0), "at least 1"),
        (lambda: tv.norm(tv.eye(2), ord=3), "supports ord"),
        (lambda: tv.linalg.solve(tv.ones((2, 3)), tv.ones((2, 1))), "square"),
        (lambda: tv.linalg.solve(tv.eye(2), tv.ones((3, 1))), "rhs must be shaped"),
    ],
)
def test_bad_arguments_are_clear_errors(call: Callable[[], Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        call()


# --- BatchNormalization (Keras 2) and tf.nn.moments / batch_normalization -----------------------
BN = json.loads((Path(__file__).parent.parent / "data" / "tf_batchnorm.json").read_text())
BN_X = np.array(
    [[1.0, 2.0, -1.0], [3.0, 6.0, 0.5], [-2.0, 0.5, 4.0], [0.25, -1.5, 2.0]], np.float32
)


def test_batch_normalization_layer_matches_keras() -> None:
    tv.keras.backend.clear_session()
    bn = tv.keras.layers.BatchNormalization()
    xv = tv.Variable(BN_X)
    with tv.GradientTape() as tape:
        y = bn(xv, training=True)
        s = tv.reduce_sum(y * tv.reshape(tv.range(1.0, 13.0), (4, 3)))
    grads = tape.gradient(s, [xv, *bn.trainable_weights])
    assert [w.name for w in bn.weights] == BN["names"]
    np.testing.assert_array_equal(y.numpy(), np.array(BN["train"], np.float32))
    for g, want in zip(grads, BN["grads"], strict=True):
        np.testing.assert_allclose(g.numpy(), np.array(want, np.float32), rtol=1e-6, atol=3e-7)
    for w, want in zip(bn.non_trainable_weights, BN["moving"], strict=True):
        np.testing.assert_array_equal(w.numpy(), np.array(want, np.float32))
    np.testing.assert_array_equal(bn(BN_X).numpy(), np.array(BN["infer"], np.float32))


def test_batch_normalization_first_and_second_order() -> None:
    def bn(x: Any, mean: Any, var: Any, gamma: Any, beta: Any) -> Any:
        return tv.nn.batch_normalization(x, mean, var, beta, gamma, 1e-3)

    three = (np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.5, 2.0]))
    _check_orders(bn, (BN_X, *three, np.array([1.5, 0.5, -1.0]), np.array([0.1, 0.2, 0.3])), 11)


def test_moments_first_order_and_tensorflow_s_stop_gradient() -> None:
    # first order is exact; the variance uses stop_gradient(mean) as TensorFlow's, so
    # nested tapes give TensorFlow's second derivative, not the true one
    def both(x: Any) -> Any:
        mean, var = tv.nn.moments(x, axes=[0])
        return tv.concat([mean, var], axis=0)

    vs = tv.Variable(BN_X.astype(np.float64))
    with tv.GradientTape() as tape:
        s = tv.reduce_sum(both(vs) * np.arange(1.0, 7.0))
    g = tape.gradient(s, vs).numpy()
    n = BN_X.shape[0]
    x = BN_X.astype(np.float64)
    want = np.arange(1.0, 4.0) / n + np.arange(4.0, 7.0) * 2 * (x - x.mean(0)) / n
    np.testing.assert_allclose(g, want, rtol=1e-12)


# --- TensorArray (eager) ----------------------------------------------------------------------
def test_tensor_array_in_a_loop_matches_tensorflow() -> None:
    x = tv.Variable([0.5, 1.5])
    with tv.GradientTape() as tape:
        ta = tv.TensorArray(tv.float32, size=0, dynamic_size=True)
        h = x
        for i in range(3):
            h = tv.tanh(h * 2.0 + float(i))
            ta = ta.write(i, h)
        s = tv.reduce_sum(ta.stack() * tv.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    # TensorFlow 2.21
    want = [[0.7615941762924194, 0.9950547218322754], [0.987217128276825, 0.9949562549591064]]
    want += [[0.9992940425872803, 0.999315619468689]]
    np.testing.assert_allclose(ta.stack().numpy(), want, rtol=2e-7)
    # 1 − tanh² near 1 amplifies tanh's last bit (numpy's and Eigen's differ): absolute 1e-6
    np.testing.assert_allclose(
        tape.gradient(s, x).numpy(), [0.9685710668563843, 0.04105936735868454], atol=1e-6
    )
    assert int(ta.size()) == 3
    np.testing.assert_array_equal(ta.read(1).numpy(), ta.stack().numpy()[1])
    grown = tv.TensorArray(tv.float32, size=0, dynamic_size=True)
    assert grown.unstack(tv.constant([[1.0, 2.0], [3.0, 4.0]])).read(1).numpy().tolist() == [3, 4]


def test_tensor_array_errors_say_what_to_do() -> None:
    fixed = tv.TensorArray(tv.float32, size=3)
    with pytest.raises(tv.errors.OutOfRangeError, match=r"index 3 .* size is: 3"):
        fixed.write(3, 1.0)
    with pytest.raises(TypeError, match=r"tv.cast"):
        fixed.write(0, tv.constant(1, tv.int32))
    fixed.write(0, tv.constant([1.0, 2.0]))
    with pytest.raises(ValueError, match="one shape"):
        fixed.write(1, tv.constant([1.0]))
    np.testing.assert_array_equal(fixed.stack().numpy(), [[1, 2], [0, 0], [0, 0]])


def test_solve_of_a_singular_matrix_is_tensorflow_s_error() -> None:
    with pytest.raises(tv.errors.InvalidArgumentError, match=r"^Input matrix is not invertible"):
        tv.linalg.solve(tv.ones((2, 2)), tv.ones((2, 1)))
