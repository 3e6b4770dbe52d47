"""Fidelity to TensorFlow 2.21 where tapeviz used to differ (issue 16).

Expected values were recorded with TensorFlow 2.21 (tf_keras for Keras 2 metrics); softmax
bit patterns come from ``tools/record_softmax_tf.py`` (``tests/data/softmax_tf.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tapeviz as tv

DATA = Path(__file__).parent.parent / "data"


# --- the gradient of a tensor with respect to itself is ones, seen by the tape or not ---------
def test_gradient_of_a_variable_bound_to_another_name_is_one() -> None:
    v = tv.Variable(2.0)
    with tv.GradientTape() as tape:
        r = v
    g = tape.gradient(r, v)
    assert g is not None and g.numpy() == np.float32(1.0)  # TF: 1.0 (was None)


@pytest.mark.parametrize("watch", [True, False])
def test_gradient_of_a_tensor_by_itself_on_an_empty_tape_is_ones(watch: bool) -> None:
    c = tv.constant([3.0, 1.0])
    v = tv.Variable([[1.0, 2.0]])
    with tv.GradientTape(watch_accessed_variables=watch) as tape:
        pass
    np.testing.assert_array_equal(tape.gradient(c, c).numpy(), [1.0, 1.0])
    with tv.GradientTape() as tape:
        pass
    np.testing.assert_array_equal(tape.gradient(v, v).numpy(), [[1.0, 1.0]])


def test_a_source_among_several_targets_adds_its_own_seed() -> None:
    x = tv.Variable(2.0)
    with tv.GradientTape(persistent=True) as tape:
        y = x * 3.0
    assert tape.gradient([x, y], x).numpy() == 4.0  # TF: 1 + 3
    assert tape.gradient(x, x, output_gradients=tv.constant(5.0)).numpy() == 5.0
    (g,) = tape.gradient(x, [x])
    assert g.numpy() == 1.0
    other = tv.Variable(1.0)
    assert tape.gradient(x, other) is None  # still None when the source is another tensor


# --- Accuracy / Mean with one weight per sample (Keras expands it on the last axis) ------------
@pytest.mark.parametrize(
    ("y_true", "y_pred", "weights", "tf_result"),
    [
        ([[1], [2], [3], [4]], [[0], [2], [3], [4]], [1, 1, 0, 0], 0.5),
        ([1, 2, 3, 4], [0, 2, 3, 4], [1, 1, 0, 0], 0.5),
        ([[1, 2], [3, 4]], [[0, 2], [3, 4]], [1, 0], 0.5),
        ([[1, 2], [3, 4], [5, 6]], [[0, 2], [3, 4], [5, 5]], [1, 0, 2], 0.5),
    ],
)
def test_accuracy_with_sample_weight(
    y_true: list, y_pred: list, weights: list, tf_result: float
) -> None:
    m = tv.keras.metrics.Accuracy()
    m.update_state(y_true, y_pred, sample_weight=weights)
    assert m.result().numpy() == np.float32(tf_result)


def test_mean_with_weights_shaped_n_by_1() -> None:
    m = tv.keras.metrics.Mean()
    m.update_state([[1.0, 2.0], [3.0, 4.0]], sample_weight=[[1.0], [0.0]])
    assert m.result().numpy() == np.float32(1.5)  # TF 2.21 / tf_keras


def test_a_weight_that_fits_no_sample_layout_is_a_clear_error() -> None:
    m = tv.keras.metrics.Accuracy()
    with pytest.raises(ValueError, match="sample_weight of shape"):
        m.update_state([[1, 2], [3, 4]], [[1, 2], [3, 4]], sample_weight=[1, 0, 1])


# --- softmax: TensorFlow's float32 digits, bit for bit ---------------------------------------
_SOFTMAX = json.loads((DATA / "softmax_tf.json").read_text())["cases"]


@pytest.mark.parametrize("case", _SOFTMAX, ids=[str(tuple(c["shape"])) for c in _SOFTMAX])
def test_softmax_matches_tensorflow_bit_for_bit(case: dict) -> None:
    shape = tuple(case["shape"])
    x = np.array(case["x"], np.int32).view(np.float32).reshape(shape)
    want = np.array(case["softmax"], np.int32).view(np.float32).reshape(shape)
    got = tv.nn.softmax(tv.constant(x)).numpy()
    np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))


def test_softmax_of_the_issue_example() -> None:
    got = tv.nn.softmax(tv.constant([1.0, 2.0, 3.0])).numpy()
    assert got[1] == np.float32(0.24472848)  # was 0.24472846, one unit in the last place off
