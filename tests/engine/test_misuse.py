"""Misuse gets TensorFlow's words (issue 2, item 4), and our own errors teach.

TensorFlow's messages are read from ``tf_reference.json`` → ``errors_warnings`` (recorded
from TensorFlow 2.21).  TensorFlow logs its warnings; tapeviz raises Python warnings with the
same text, so they show in notebooks and can be filtered.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tapeviz as tv
import tapeviz.tape as tape_module
from tapeviz.ops.numpy_dispatch import NumpyOnTensorWarning

from .tfref import ref


def tf_message(case: str) -> str:
    entry = ref("errors_warnings", case)
    if entry["exception"] is not None:
        return str(entry["exception"]["message"])
    (record,) = entry["logging"]
    return str(record["message"])


# --- TensorFlow's own misuse messages --------------------------------------------------------
def test_second_gradient_on_a_non_persistent_tape_raises() -> None:
    x = tv.Variable(2.0)
    with tv.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError) as err:
        tape.gradient(y, x)
    assert str(err.value).startswith(tf_message("second_gradient_non_persistent"))
    assert "persistent=True" in str(err.value)  # and how to fix it


def test_jacobian_after_gradient_on_a_non_persistent_tape_raises() -> None:
    x = tv.Variable([2.0, 3.0])
    with tv.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError) as err:
        tape.jacobian(y, x)
    assert str(err.value).startswith(tf_message("jacobian_after_gradient_non_persistent"))


def test_watching_an_integer_tensor_warns_and_gives_none() -> None:
    x = tv.constant(3)
    with tv.GradientTape() as tape:
        with pytest.warns(UserWarning) as caught:
            tape.watch(x)
        y = x * x
    assert [str(w.message) for w in caught] == [tf_message("watch_int32")]
    assert str(caught[0].message) == (
        "The dtype of the watched tensor must be floating (e.g. tf.float32), got tf.int32"
    )
    assert tape.gradient(y, x) is None
    assert y.numpy() == 9


def test_gradient_inside_a_persistent_tape_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tape_module, "_warned_persistent_in_context", False)
    x = tv.Variable(2.0)
    with pytest.warns(UserWarning) as caught:
        with tv.GradientTape(persistent=True) as tape:
            y = x * x
            g1 = tape.gradient(y, x)
            g2 = tape.gradient(y, x)
        with tv.GradientTape(persistent=True) as other:
            z = x * x
            other.gradient(z, x)
    messages = [str(w.message) for w in caught]
    assert messages == [tf_message("gradient_inside_persistent_context")]
    assert g1.numpy() == g2.numpy() == 4.0
    assert caught[0].filename == __file__  # points at the user's line, not at tapeviz


def test_gradient_inside_a_non_persistent_tape_does_not_warn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tape_module, "_warned_persistent_in_context", False)
    entry = ref("errors_warnings", "gradient_inside_nonpersistent_context")
    assert entry["logging"] == [] and entry["python_warnings"] == []
    x = tv.Variable(2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with tv.GradientTape() as tape:
            y = x * x
            g = tape.gradient(y, x)
    assert g.numpy() == 4.0


def test_target_none_is_a_type_error() -> None:
    x = tv.Variable(2.0)
    with tv.GradientTape() as tape:
        x * x
    with pytest.raises(TypeError) as err:
        tape.gradient(None, x)
    assert str(err.value) == tf_message("gradient_target_none")


@pytest.mark.parametrize("sources", [None, [None], 2.0], ids=["None", "[None]", "2.0"])
def test_sources_that_are_not_tensors_are_type_errors(sources: object) -> None:
    x = tv.Variable(2.0)
    with tv.GradientTape() as tape:
        y = x * x
    with pytest.raises(TypeError, match=r"tv.Tensor or tv.Variable|sources"):
        tape.gradient(y, sources)


def test_watching_a_python_number_is_a_value_error() -> None:
    assert ref("errors_warnings", "watch_python_float", "exception")["type"] == "ValueError"
    with tv.GradientTape() as tape, pytest.raises(ValueError, match="float"):
        tape.watch(3.0)


def test_stop_recording_on_a_tape_never_entered_is_a_runtime_error() -> None:
    tape = tv.GradientTape()
    with pytest.raises(RuntimeError, match="not recording"), tape.stop_recording():
        pass


def test_stop_recording_after_the_block_is_a_value_error_as_tensorflow() -> None:
    # TensorFlow 2.21: ValueError: Tape is not recording.
    with tv.GradientTape() as tape:
        pass
    with pytest.raises(ValueError, match=r"^Tape is not recording\."), tape.stop_recording():
        pass
    with (
        tv.GradientTape() as tape,
        tape.stop_recording(),
        pytest.raises(ValueError, match="not recording"),
        tape.stop_recording(),
    ):
        pass


# --- shapes: errors name the op and both shapes ----------------------------------------------
@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: tv.ones([2, 3]) + tv.ones([4]), ["add", "(2, 3)", "(4,)"]),
        (lambda: tv.ones([2, 3]) * tv.ones([3, 2]), ["multiply", "(2, 3)", "(3, 2)"]),
        (lambda: tv.maximum(tv.ones([2]), tv.ones([3])), ["maximum", "(2,)", "(3,)"]),
        (lambda: tv.matmul(tv.ones([2, 3]), tv.ones([2, 3])), ["matmul", "(2, 3)", "3 ≠ 2"]),
        (lambda: tv.ones([2, 3]) @ tv.ones([4]), ["matmul", "(2, 3)", "(4,)"]),
        (lambda: tv.concat([tv.ones([2, 3]), tv.ones([3, 2])], 0), ["concat", "(3, 2)", "(2, 3)"]),
        (lambda: tv.stack([tv.ones([2]), tv.ones([3])]), ["stack", "(3,)", "(2,)"]),
        (lambda: tv.reshape(tv.ones([2, 3]), [4]), ["reshape", "(2, 3)", "(4,)"]),
        (
            lambda: tv.where(tv.constant([True, False]), tv.ones([3]), tv.ones([3])),
            ["where", "(2,)", "(3,)"],
        ),
        (
            lambda: tv.nn.softmax_cross_entropy_with_logits(
                labels=tv.ones([2, 3]), logits=tv.ones([3, 2])
            ),
            ["softmax_cross_entropy_with_logits", "(2, 3)", "(3, 2)"],
        ),
        (lambda: tv.Variable([1.0, 2.0]).assign([1.0, 2.0, 3.0]), ["Variable:0", "(2,)", "(3,)"]),
    ],
    ids=lambda v: v[0] if isinstance(v, list) else "",
)
def test_shape_errors_name_the_op_and_both_shapes(call: object, words: list[str]) -> None:
    with pytest.raises(ValueError) as err:
        call()  # type: ignore[operator]
    for word in words:
        assert word in str(err.value)


def test_output_gradients_of_the_wrong_shape() -> None:
    x = tv.Variable(2.0)
    with tv.GradientTape() as tape:
        y = x * x
    with pytest.raises(ValueError, match=r"output_gradients.*\(2,\).*\(\)"):
        tape.gradient(y, x, output_gradients=tv.constant([1.0, 2.0]))


def test_softmax_of_a_scalar_is_an_error() -> None:
    with pytest.raises(ValueError, match="rank >= 1"):
        tv.nn.softmax(tv.constant(0.5))


def test_custom_gradient_returning_the_wrong_number_of_gradients() -> None:
    @tv.custom_gradient
    def f(x: tv.Tensor, y: tv.Tensor) -> tuple[tv.Tensor, object]:
        return x * y, lambda dy: dy  # one gradient for two inputs

    x, y = tv.Variable(1.0), tv.Variable(2.0)
    with tv.GradientTape() as tape:
        z = f(x, y)
    with pytest.raises(ValueError, match="f: grad_fn returned 1 gradient"):
        tape.gradient(z, [x, y])


# --- numpy meets a Tensor: as in TensorFlow (a numpy value, no gradient) plus one warning ---------
# TensorFlow 2.21 (recorded): np.exp(t), np.add(arr, t) and np.mean(t) give numpy values;
# arr + t, t + arr and np.float32(2) * t give Tensors; the guide's lesson
# `y = np.mean(x ** 2); y = tf.reduce_mean(y)` leaves tape.gradient(y, x) None.
@pytest.mark.parametrize(
    ("np_call", "expected"),
    [
        (lambda x: np.exp(x), np.exp(np.float32([1.5, 2.0]))),
        (lambda x: np.add(np.ones(2, np.float32), x), np.float32([2.5, 3.0])),
        (lambda x: np.mean(x * x), np.float32(3.125)),
        (lambda x: np.sum(np.stack([x, x])), np.float32(7.0)),
        (lambda x: np.arctan(x), np.arctan(np.float32([1.5, 2.0]))),
        (lambda x: np.cumsum(x), np.float32([1.5, 3.5])),
    ],
    ids=["exp", "add", "mean", "sum(stack)", "arctan", "cumsum"],
)
def test_numpy_on_a_tensor_gives_numpy_and_no_gradient(np_call: object, expected: object) -> None:
    x = tv.Variable([1.5, 2.0])
    with tv.GradientTape() as tape, pytest.warns(NumpyOnTensorWarning, match="cannot see"):
        out = np_call(x)  # type: ignore[operator]
        y = tv.reduce_sum(tv.constant(out))
    assert not isinstance(out, tv.Tensor)
    np.testing.assert_array_equal(out, expected)
    assert tape.gradient(y, x) is None


def test_the_numpy_warning_names_the_op_to_use_and_comes_once_per_tape() -> None:
    x = tv.Variable([1.5, 2.0])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with tv.GradientTape():
            np.mean(x)
            np.mean(x)
            np.exp(x)
        np.mean(x)  # no tape: no warning
        with tv.GradientTape():
            np.square(x)
    texts = [str(w.message) for w in seen if w.category is NumpyOnTensorWarning]
    assert len(texts) == 2
    assert "numpy.mean" in texts[0] and "tv.reduce_mean" in texts[0]
    assert "tv.numpy_function" in texts[1]
    assert all(w.filename == __file__ for w in seen)  # points at the user's line


def test_operators_with_numpy_values_stay_recorded_tensor_ops() -> None:
    x = tv.Variable([1.5, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with tv.GradientTape() as tape:
            y = np.ones(2, np.float32) + x * np.float32(2) + np.float64(1.0) * x
    assert isinstance(y, tv.Tensor) and y.dtype == tv.float32
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [3.0, 3.0])


def test_the_tensorflow_guide_numpy_lesson_prints_none() -> None:
    x = tv.Variable(2.0)
    with tv.GradientTape() as tape, pytest.warns(NumpyOnTensorWarning):
        x2 = x**2
        y = np.mean(x2)
        y = tv.reduce_mean(y)
    assert tape.gradient(y, x) is None


def test_explicit_conversion_to_numpy_is_allowed_and_leaves_the_tape() -> None:
    x = tv.Variable([1.0, 2.0])
    with tv.GradientTape() as tape:
        b = x.numpy()
    with tv.GradientTape() as tape, pytest.warns(NumpyOnTensorWarning):
        a = np.asarray(x)
        b = x.numpy()
    assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
    b[0] = 99.0  # a copy: the variable is untouched
    assert x.numpy()[0] == 1.0
    assert tape.record().nodes == ()


# --- tensors are values ----------------------------------------------------------------------
def test_tensors_are_unhashable_and_ambiguous_in_if() -> None:
    t = tv.constant([1.0, 2.0])
    with pytest.raises(TypeError, match=r"ref()"):
        hash(t)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t)
    assert {t.ref(): 1}[t.ref()] == 1
    assert bool(tv.constant(1.0) > 0)


# --- bool tensors: TensorFlow has no arithmetic kernels for them --------------------------------
_A, _B = [True, False], [True, True]
# what TensorFlow 2.21 does with bool tensors [True, False] and [True, True] (recorded on CPU):
# None = InvalidArgumentError (no bool kernel), else the bool result
_BOOL_CASES = {
    "add": (lambda a, b: a + b, None),
    "subtract": (lambda a, b: a - b, None),
    "divide": (lambda a, b: a / b, None),
    "floordiv": (lambda a, b: a // b, None),
    "mod": (lambda a, b: a % b, None),
    "pow": (lambda a, b: a**b, None),
    "maximum": (lambda a, b: tv.maximum(a, b), None),
    "minimum": (lambda a, b: tv.minimum(a, b), None),
    "less": (lambda a, b: a < b, None),
    "greater_equal": (lambda a, b: a >= b, None),
    "negative": (lambda a, b: -a, None),
    "abs": (lambda a, b: tv.abs(a), None),
    "square": (lambda a, b: tv.square(a), None),
    "sign": (lambda a, b: tv.sign(a), None),
    "reduce_sum": (lambda a, b: tv.reduce_sum(a), None),
    "reduce_mean": (lambda a, b: tv.reduce_mean(a), None),
    "reduce_max": (lambda a, b: tv.reduce_max(a), None),
    "add a Python bool": (lambda a, b: a + True, None),
    "add scalars": (lambda a, b: a[0] + b[0], None),
    "multiply": (lambda a, b: a * b, [True, False]),
    "multiply scalars": (lambda a, b: a[0] * b[1], True),
    "logical_and": (lambda a, b: a & b, [True, False]),
    "equal": (lambda a, b: tv.equal(a, b), [True, False]),
    "not_equal": (lambda a, b: a != b, [False, True]),
}


@pytest.mark.parametrize("case", list(_BOOL_CASES))
def test_bool_tensors_take_only_the_ops_tensorflow_has_bool_kernels_for(case: str) -> None:
    fn, tf_result = _BOOL_CASES[case]
    a, b = tv.constant(_A), tv.constant(_B)
    if tf_result is None:
        # a clear error that says what to do, never 0/1 arithmetic or numpy's message
        with pytest.raises(TypeError, match=r"does not take bool tensors.*tv\.cast"):
            fn(a, b)
    else:
        out = fn(a, b)
        assert out.dtype == tv.bool
        assert np.array_equal(out.numpy(), tf_result)


def test_numbers_with_python_bools_still_add_as_in_tensorflow() -> None:
    # TensorFlow converts True to the tensor's dtype: int32 1 + True = 2, 1.5 + True = 2.5
    assert int(tv.constant(1) + True) == 2
    assert float(tv.constant(1.5) + True) == 2.5
    mask = tv.constant([True, False, True])
    assert int(tv.reduce_sum(tv.cast(mask, tv.int32))) == 2  # the way to count a mask
