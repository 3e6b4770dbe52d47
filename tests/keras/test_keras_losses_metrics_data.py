"""Losses, metrics, tv.random, tv.datasets, and the fourth document's training loop."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz import datasets, keras

f32 = np.float32


# -- losses ----------------------------------------------------------------------------------------
def test_mean_squared_error_value_and_reductions() -> None:
    y_true = [[1.0, 0.0], [0.0, 1.0]]
    y_pred = tv.constant([[4.0, 3.0], [0.0, -2.5]])
    assert keras.losses.MeanSquaredError()(y_true, y_pred).numpy() == f32(7.5625)
    per_sample = keras.losses.MeanSquaredError(reduction="none")(y_true, y_pred)
    np.testing.assert_array_equal(per_sample.numpy(), np.array([9.0, 6.125], f32))
    assert keras.losses.MeanSquaredError(reduction="sum")(y_true, y_pred).numpy() == f32(15.125)
    weighted = keras.losses.MeanSquaredError()(y_true, y_pred, sample_weight=[1.0, 0.0])
    assert weighted.numpy() == f32(4.5)
    with pytest.raises(ValueError, match="Invalid Reduction Key: mean"):
        keras.losses.MeanSquaredError(reduction="mean")


def test_mse_does_not_broadcast_column_against_row() -> None:
    y_pred = tv.constant([[1.0], [2.0], [3.0]])
    loss = keras.losses.MeanSquaredError()([1.0, 2.0, 5.0], y_pred)
    assert loss.numpy() == f32(4.0 / 3.0)


def test_mean_absolute_error() -> None:
    assert keras.losses.MeanAbsoluteError()([[1.0, 2.0]], tv.constant([[0.0, 4.0]])).numpy() == f32(
        1.5
    )


def _xent(logits: np.ndarray, labels: np.ndarray) -> float:
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def test_sparse_categorical_crossentropy_from_logits_and_probabilities() -> None:
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3], [1.0, 1.0, 1.0]], f32)
    labels = np.array([0, 1, 2])
    expected = _xent(logits.astype(np.float64), labels)
    got = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, tv.constant(logits))
    assert got.numpy() == pytest.approx(expected, rel=1e-6)
    probs = tv.nn.softmax(tv.constant(logits))
    got_p = keras.losses.SparseCategoricalCrossentropy()(
        labels.reshape(-1, 1).astype(np.float32), probs
    )
    assert got_p.numpy() == pytest.approx(expected, rel=1e-5)


def test_softmax_output_loss_uses_the_logits_like_keras() -> None:
    layer = keras.layers.Dense(3, activation="softmax", kernel_initializer="ones")
    x = tv.constant([[100.0, 0.0]])
    probs = layer(x)
    with tv.GradientTape() as tape:
        tape.watch(x)
        loss = keras.losses.SparseCategoricalCrossentropy()([1], layer(x))
    assert np.isfinite(loss.numpy()) and probs.shape == (1, 3)
    assert not any(n.op == "log" for n in tape.record().nodes)
    with pytest.warns(
        UserWarning,
        match="received `from_logits=True`, but the `output` argument was produced by a Softmax",
    ):
        keras.losses.SparseCategoricalCrossentropy(from_logits=True)([1], layer(x))


def test_sparse_crossentropy_label_errors() -> None:
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.raises(ValueError, match=r"a label is outside \[0, 3\)"):
        loss_fn([3], tv.constant([[1.0, 2.0, 3.0]]))
    with pytest.raises(ValueError, match="must be whole numbers"):
        loss_fn([0.5], tv.constant([[1.0, 2.0, 3.0]]))


def test_categorical_and_binary_crossentropy() -> None:
    logits = tv.constant([[2.0, 1.0, 0.1]])
    onehot = [[1.0, 0.0, 0.0]]
    a = keras.losses.CategoricalCrossentropy(from_logits=True)(onehot, logits)
    b = keras.losses.SparseCategoricalCrossentropy(from_logits=True)([0], logits)
    assert a.numpy() == pytest.approx(float(b.numpy()), rel=1e-6)
    z = tv.constant([[0.3], [-1.2]])
    y = [[1.0], [0.0]]
    p = 1 / (1 + np.exp(-np.array([0.3, -1.2])))
    expected = -np.mean([np.log(p[0]), np.log(1 - p[1])])
    assert keras.losses.BinaryCrossentropy(from_logits=True)(y, z).numpy() == pytest.approx(
        expected, rel=1e-6
    )
    probs = tv.constant(p.astype(np.float32).reshape(2, 1))
    assert keras.losses.BinaryCrossentropy()(y, probs).numpy() == pytest.approx(expected, rel=1e-5)
    assert keras.losses.get("mse") is keras.losses.mean_squared_error


# -- metrics ---------------------------------------------------------------------------------------
def test_label_smoothing_matches_tensorflow() -> None:
    # tf_keras 2.21 (legacy Keras) on the same inputs: float32 results, bit for bit
    y_true = np.array([[0, 1, 0], [1, 0, 0]], f32)
    y_pred = np.array([[0.2, 0.7, 0.1], [0.5, 0.3, 0.2]], f32)
    cce = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)
    assert cce(y_true, y_pred).numpy() == f32(0.60200757)  # labels * 0.9 + 0.1 / 3
    cce = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3)
    assert cce(y_true, y_pred).numpy() == f32(0.93389034)
    bce = keras.losses.BinaryCrossentropy(label_smoothing=0.2)
    assert bce(y_true, y_pred).numpy() == f32(0.43743074)  # labels * 0.8 + 0.1
    assert bce.get_config() == {
        "reduction": "auto",
        "name": "binary_crossentropy",
        "from_logits": False,
        "label_smoothing": 0.2,
    }


def test_mean_metric() -> None:
    m = keras.metrics.Mean()
    assert m.name == "mean" and [v.name for v in m.variables] == ["total:0", "count:0"]
    assert float(m.result()) == 0.0
    m.update_state([1.0, 2.0])
    m.update_state(tv.constant(6.0))
    assert m.result().numpy() == f32(3.0)
    assert m(tv.constant([3.0])).numpy() == f32(3.0)
    m.update_state([10.0, 0.0], sample_weight=[1.0, 0.0])
    assert m.result().numpy() == f32(22.0 / 5.0)
    m.reset_state()
    assert float(m.result()) == 0.0
    m.update_state(4.0)
    m.reset_states()
    assert float(m.result()) == 0.0


def test_sparse_categorical_accuracy() -> None:
    acc = keras.metrics.SparseCategoricalAccuracy()
    assert acc.name == "sparse_categorical_accuracy"
    acc.update_state([0, 2], tv.constant([[0.9, 0.1, 0.0], [0.2, 0.5, 0.3]]))
    assert acc.result().numpy() == f32(0.5)
    acc.update_state(np.array([[1.0], [1.0]]), np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 1.0]]))
    assert acc.result().numpy() == f32(0.75)
    acc.reset_state()
    assert float(acc.result()) == 0.0
    cat = keras.metrics.CategoricalAccuracy()
    cat.update_state([[0, 1], [1, 0]], [[0.2, 0.8], [0.3, 0.7]])
    assert float(cat.result()) == 0.5
    total = keras.metrics.Sum()
    total.update_state([1.0, 2.5])
    assert float(total.result()) == 3.5


# -- tv.random -------------------------------------------------------------------------------------
def test_set_seed_makes_the_sequence_reproducible() -> None:
    tv.random.set_seed(5)
    a = [
        tv.random.normal([3]).numpy(),
        tv.random.uniform([2]).numpy(),
        tv.random.uniform([2], seed=1).numpy(),
        tv.random.uniform([2], seed=1).numpy(),
    ]
    tv.random.set_seed(5)
    b = [
        tv.random.normal([3]).numpy(),
        tv.random.uniform([2]).numpy(),
        tv.random.uniform([2], seed=1).numpy(),
        tv.random.uniform([2], seed=1).numpy(),
    ]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[2], a[3])  # an op seed continues its stream
    assert tv.random.get_global_seed() == 5
    tv.random.set_seed(None)
    assert not np.array_equal(tv.random.normal([4]).numpy(), tv.random.normal([4]).numpy())


def test_random_distributions() -> None:
    tv.random.set_seed(0)
    n = tv.random.normal([20000], mean=2.0, stddev=0.5)
    assert n.dtype == tv.float32 and abs(float(np.mean(n.numpy())) - 2.0) < 0.02
    assert abs(float(np.std(n.numpy())) - 0.5) < 0.02
    u = tv.random.uniform([20000], minval=-1.0, maxval=3.0).numpy()
    assert u.min() >= -1.0 and u.max() < 3.0 and abs(u.mean() - 1.0) < 0.05
    ints = tv.random.uniform([1000], minval=0, maxval=4, dtype=tv.int32)
    assert ints.dtype == tv.int32 and set(np.unique(ints.numpy())) == {0, 1, 2, 3}
    t = tv.random.truncated_normal([5000], stddev=1.0).numpy()
    assert np.abs(t).max() <= 2.0
    s = tv.random.shuffle(tv.constant([1, 2, 3, 4]))
    assert sorted(s.numpy().tolist()) == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="needs maxval"):
        tv.random.uniform([2], dtype=tv.int32)
    with pytest.raises(ValueError, match="must be a floating type"):
        tv.random.normal([2], dtype=tv.int32)


# -- tv.datasets -----------------------------------------------------------------------------------
def test_spirals_are_deterministic_and_shaped() -> None:
    x, y = datasets.spirals(50, classes=4, seed=3)
    x2, y2 = datasets.spirals(50, classes=4, seed=3)
    assert (
        x.shape == (200, 2) and y.shape == (200,) and x.dtype == np.float32 and y.dtype == np.int32
    )
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert np.bincount(y).tolist() == [50, 50, 50, 50]
    assert np.abs(x).max() <= 1.0 + 1e-6
    x3, _ = datasets.spirals(50, classes=4, seed=4)
    assert not np.array_equal(x, x3)
    xo, yo = datasets.spirals(10, classes=2, seed=0, shuffle=False)
    assert yo.tolist() == [0] * 10 + [1] * 10
    np.testing.assert_allclose(
        np.hypot(xo[:, 0], xo[:, 1]), np.tile(np.linspace(0, 1, 10), 2), atol=1e-6
    )
    with pytest.raises(ValueError, match="need n >= 2"):
        datasets.spirals(1)


def test_blobs() -> None:
    x, y = datasets.blobs(30, centers=[[0.0, 0.0], [10.0, 10.0]], std=0.5, seed=1)
    assert x.shape == (60, 2)
    assert np.linalg.norm(x[y == 1].mean(0) - [10.0, 10.0]) < 0.5


def test_dataset_pipeline() -> None:
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    y = np.arange(10, dtype=np.int32)
    ds = datasets.Dataset.from_tensor_slices((x, y)).shuffle(1024, seed=0).batch(4)
    assert len(ds) == 3
    first = [(bx.numpy().ravel().tolist(), by.numpy().tolist()) for bx, by in ds]
    assert [len(b[1]) for b in first] == [4, 4, 2]
    for bx, by in first:
        assert bx == [float(v) for v in by]
    assert sorted(v for _, by in first for v in by) == list(range(10))
    second = [by.numpy().tolist() for _, by in ds]
    assert second != [b[1] for b in first]  # reshuffled each pass
    assert len(datasets.Dataset.from_tensor_slices(x).batch(4, drop_remainder=True)) == 2
    assert [t.numpy().tolist() for t in datasets.Dataset.from_tensor_slices(y).take(3)] == [0, 1, 2]
    doubled = datasets.Dataset.from_tensor_slices(y).map(lambda v: v * 2).take(2)
    assert [t.numpy().tolist() for t in doubled] == [0, 2]
    assert len(datasets.Dataset.from_tensor_slices(y).repeat(2)) == 20
    with pytest.raises(ValueError, match="different lengths"):
        datasets.Dataset.from_tensor_slices((x, y[:3]))


# -- the fourth document's training loop, as written -----------------------------------------------
def _train(epochs: int) -> tuple[Any, float, float]:
    keras.backend.clear_session()
    tv.random.set_seed(0)
    x_train, y_train = datasets.spirals(100, classes=3, seed=0)
    train_dataset = datasets.Dataset.from_tensor_slices((x_train, y_train))
    train_dataset = train_dataset.shuffle(buffer_size=1024, seed=0).batch(32)
    model = keras.Sequential(
        [
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(3),
        ]
    )
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    first_loss = None
    for _epoch in range(epochs):
        for _step, (x_batch_train, y_batch_train) in enumerate(train_dataset):
            # Open a GradientTape to record the operations run during the forward pass.
            with tv.GradientTape() as tape:
                logits = model(x_batch_train, training=True)  # Logits for this minibatch
                loss_value = loss_fn(y_batch_train, logits)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))  # noqa: B905 (as written)
            first_loss = float(loss_value.numpy()) if first_loss is None else first_loss
    acc = keras.metrics.SparseCategoricalAccuracy()
    acc.update_state(y_train, model(x_train))
    return model, first_loss or 0.0, float(acc.result().numpy())


def test_training_loop_of_the_fourth_document_learns_the_spirals() -> None:
    _, first_loss, accuracy = _train(epochs=40)
    assert first_loss > 1.0  # about log(3) at the start
    assert accuracy >= 0.95
    _, _, again = _train(epochs=40)
    assert again == accuracy  # seeded: the same run twice
