"""Layers, models, initializers and activations of the Keras subset."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz import keras

f32 = np.float32


@pytest.fixture(autouse=True)
def _fresh_names() -> None:
    keras.backend.clear_session()


def test_dense_computes_matmul_plus_bias_then_activation() -> None:
    kernel = [[1.0, -1.0], [2.0, 0.5]]
    layer = keras.layers.Dense(
        2,
        activation="relu",
        kernel_initializer=keras.initializers.Constant(kernel),
        bias_initializer=keras.initializers.Constant(0.5),
    )
    out = layer(np.array([[1.0, 1.0], [-1.0, 0.0]]))  # float64 input: cast to float32
    assert out.dtype == tv.float32
    x = np.array([[1.0, 1.0], [-1.0, 0.0]], f32)
    np.testing.assert_array_equal(out.numpy(), np.maximum(x @ np.array(kernel, f32) + f32(0.5), 0))
    assert layer.kernel.shape == (2, 2) and layer.bias.shape == (2,)
    assert [w.name for w in layer.trainable_weights] == ["dense/kernel:0", "dense/bias:0"]


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("relu", lambda z: np.maximum(z, 0)),
        ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
        ("tanh", np.tanh),
        ("linear", lambda z: z),
        (None, lambda z: z),
        ("softmax", lambda z: np.exp(z) / np.exp(z).sum(-1, keepdims=True)),
    ],
)
def test_dense_activations(name: Any, fn: Any) -> None:
    layer = keras.layers.Dense(
        3, activation=name, kernel_initializer=keras.initializers.GlorotUniform(seed=3)
    )
    x = np.array([[0.5, -1.0], [2.0, 0.25]], f32)
    out = layer(x).numpy()
    z = x @ layer.kernel.numpy()
    np.testing.assert_allclose(out, fn(z), rtol=1e-6, atol=1e-7)


def test_dense_without_bias_and_higher_rank_inputs() -> None:
    layer = keras.layers.Dense(4, use_bias=False, kernel_initializer="ones")
    out = layer(tv.ones((2, 3, 5)))
    assert out.shape == (2, 3, 4) and layer.bias is None
    assert len(layer.trainable_weights) == 1
    np.testing.assert_array_equal(out.numpy(), np.full((2, 3, 4), 5.0, f32))


def test_dense_errors() -> None:
    with pytest.raises(ValueError, match=r"expected a positive integer. Received: units=0"):
        keras.layers.Dense(0)
    layer = keras.layers.Dense(2)
    with pytest.raises(ValueError, match="expected min_ndim=2, found ndim=1"):
        layer(tv.constant([1.0, 2.0]))
    layer(tv.ones((1, 3)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(tv.ones((1, 4)))
    with pytest.raises(ValueError, match="Unknown activation function: 'relux'"):
        keras.layers.Dense(2, activation="relux")


def test_glorot_uniform_seed_and_limits() -> None:
    a = keras.initializers.GlorotUniform(seed=7)((20, 30))
    b = keras.initializers.GlorotUniform(seed=7)((20, 30))
    c = keras.initializers.GlorotUniform(seed=8)((20, 30))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    limit = np.sqrt(6 / 50)
    assert a.dtype == np.float32 and np.abs(a).max() <= limit and np.abs(a).max() > 0.8 * limit
    assert abs(a.std() - limit / np.sqrt(3)) < 0.02


def test_unseeded_initializers_follow_the_global_seed() -> None:
    tv.random.set_seed(11)
    w1 = keras.layers.Dense(3)
    w1(tv.ones((1, 4)))
    tv.random.set_seed(11)
    w2 = keras.layers.Dense(3)
    w2(tv.ones((1, 4)))
    np.testing.assert_array_equal(w1.kernel.numpy(), w2.kernel.numpy())


@pytest.mark.parametrize(
    "name",
    [
        "zeros",
        "ones",
        "random_normal",
        "random_uniform",
        "truncated_normal",
        "glorot_normal",
        "he_normal",
        "he_uniform",
        "GlorotUniform",
    ],
)
def test_initializers_by_name(name: str) -> None:
    init = keras.initializers.get(name)
    value = init((4, 6))
    assert value.shape == (4, 6) and value.dtype == np.float32
    if name == "truncated_normal":
        assert np.abs(value).max() <= 2 * 0.05 + 1e-7


def test_layer_names_are_unique_like_keras() -> None:
    names = [keras.layers.Dense(1).name for _ in range(3)]
    assert names == ["dense", "dense_1", "dense_2"]
    assert keras.layers.Dense(1, name="head").name == "head"


def test_layer_calls_are_name_scoped_in_the_record() -> None:
    model = keras.Sequential([keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)])
    x = tv.constant([[1.0, 2.0]])
    with tv.GradientTape() as tape:
        loss = keras.losses.MeanSquaredError()([[0.0, 1.0]], model(x))
    rec = tape.record()
    scopes = {n.scope.rstrip("/") for n in rec.nodes if n.kind == "op"}
    assert {"dense", "dense_1", "mean_squared_error"} <= scopes
    matmuls = [n for n in rec.nodes if n.op == "matmul"]
    assert [n.scope.rstrip("/") for n in matmuls] == ["dense", "dense_1"]
    assert loss.shape == ()


def test_sequential_builds_with_input_shape_and_summarises(capsys: Any) -> None:
    model = keras.Sequential(
        [
            keras.layers.Dense(8, activation="relu", input_shape=(2,)),
            keras.layers.Dense(3),
        ]
    )
    assert model.built and model.count_params() == 2 * 8 + 8 + 8 * 3 + 3
    assert [w.name for w in model.trainable_weights] == [
        "dense/kernel:0",
        "dense/bias:0",
        "dense_1/kernel:0",
        "dense_1/bias:0",
    ]
    model.summary()
    text = capsys.readouterr().out
    assert 'Model: "sequential"' in text and "(None, 8)" in text and "Total params: 51" in text
    assert [layer.name for layer in model.layers] == ["dense", "dense_1"]
    assert model.predict(np.zeros((5, 2))).shape == (5, 3)


def test_sequential_add_pop_and_errors() -> None:
    model = keras.Sequential()
    model.add(keras.layers.Dense(4))
    model.add(keras.layers.Dense(1))
    assert model(tv.ones((2, 3))).shape == (2, 1)
    popped = model.pop()
    assert popped.name == "dense_1" and len(model.layers) == 1
    with pytest.raises(TypeError, match="must be an instance of class Layer"):
        model.add("dense")


class TinyNet(keras.Model):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = keras.layers.Dense(4, activation="relu")
        self.out = keras.layers.Dense(2)
        self.scale = tv.Variable(1.0, name="scale")
        self.frozen = tv.Variable(0.0, name="frozen", trainable=False)

    def call(self, x: Any, training: bool = False) -> Any:
        return self.out(self.hidden(x)) * self.scale + self.frozen


def test_model_subclass_tracks_layers_and_variables() -> None:
    net = TinyNet()
    y = net(np.ones((3, 5)), training=True)
    assert y.shape == (3, 2)
    assert [w.name for w in net.trainable_weights] == [
        "tiny_net/dense/kernel:0",
        "tiny_net/dense/bias:0",
        "tiny_net/dense_1/kernel:0",
        "tiny_net/dense_1/bias:0",
        "scale:0",
    ]
    assert net.trainable_variables == net.trainable_weights
    assert [w.name for w in net.non_trainable_weights] == ["frozen:0"]
    assert len(net.weights) == 6 and net.layers == [net.hidden, net.out]
    net.hidden.trainable = False
    assert [w.name for w in net.trainable_weights][:2] == [
        "tiny_net/dense_1/kernel:0",
        "tiny_net/dense_1/bias:0",
    ]


def test_model_gradients_reach_every_trainable_weight() -> None:
    net = TinyNet()
    x = tv.constant(np.linspace(-1, 1, 10, dtype=np.float32).reshape(2, 5))
    with tv.GradientTape() as tape:
        loss = tv.reduce_sum(tv.square(net(x)))
    grads = tape.gradient(loss, net.trainable_weights)
    assert all(g is not None for g in grads)
    assert [g.shape for g in grads] == [w.shape for w in net.trainable_weights]


def test_forgetting_super_init_is_explained() -> None:
    class Broken(keras.Model):
        def __init__(self) -> None:
            self.d = keras.layers.Dense(1)

    with pytest.raises(RuntimeError, match=r"forgot to call `super\(\).__init__\(\)`"):
        Broken()


def test_model_without_call_and_functional_api() -> None:
    with pytest.raises(NotImplementedError, match="must define call"):
        keras.Model()(tv.ones((1, 2)))
    with pytest.raises(NotImplementedError, match="functional API"):
        keras.Model(inputs=1, outputs=2)


def test_weights_get_set_roundtrip() -> None:
    layer = keras.layers.Dense(2, input_shape=(3,))
    model = keras.Sequential([layer])
    values = model.get_weights()
    model.set_weights([np.ones_like(v) for v in values])
    assert all(np.all(w.numpy() == 1) for w in model.weights)
    with pytest.raises(ValueError, match="expects 2 weights"):
        model.set_weights(values[:1])


def test_dropout_only_while_training() -> None:
    layer = keras.layers.Dropout(0.5, seed=1)
    x = tv.ones((100, 10))
    assert layer(x) is not None and np.array_equal(layer(x).numpy(), x.numpy())
    out = layer(x, training=True).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0} and 0.3 < (out == 0).mean() < 0.7


def test_flatten_and_activation_layers() -> None:
    assert keras.layers.Flatten()(tv.ones((2, 3, 4))).shape == (2, 12)
    np.testing.assert_array_equal(
        keras.layers.Activation("relu")(tv.constant([[-1.0, 2.0]])).numpy(), [[0.0, 2.0]]
    )
