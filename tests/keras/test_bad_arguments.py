"""Bad arguments to optimizers, schedules and metrics raise at once, naming the argument
(issue 17).  Before, ``SGD(learning_rate=None)`` turned the variable into NaN at the first
step, ``SGD("fast")`` failed inside numpy, ``Mean().update_state(None)`` gave NaN and
``SparseCategoricalAccuracy()([0], None)`` gave 1.0.

What TensorFlow 2.21 / tf_keras does (recorded, not run here):

* ``learning_rate=None`` or ``"fast"``: Keras 2 raises at construction (ValueError "The
  `initial_value` arg to `tf.Variable` must be specified", TypeError "Cannot convert 'fast'
  to EagerTensor"); the legacy optimizers only at the first step.
* a negative ``learning_rate`` is accepted by both (gradient ascent: ``SGD(-0.1)`` takes
  x = 1 to 1.05 for a gradient of 0.5); only the legacy ``lr=`` keyword, ``clipnorm``,
  ``clipvalue``, ``global_clipnorm`` and ``decay`` must be >= 0, and ``momentum`` in [0, 1].
* NaN/inf learning rates are accepted and give NaN/inf variables; tapeviz refuses them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tapeviz as tv

K = tv.keras
OPTIMIZERS = ["SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "AdamW"]


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        (None, TypeError, "got None"),
        ("fast", TypeError, "got the string 'fast'"),
        ("0.1", TypeError, "Write the number itself: {name}(learning_rate=0.1)"),
        ([0.1], TypeError, "got a list ([0.1]). Pass one number, not a sequence"),
        (True, TypeError, "got the bool True"),
        (1 + 2j, TypeError, "got the complex number (1+2j)"),
        (float("nan"), ValueError, "must be a finite number, got nan"),
        (float("inf"), ValueError, "must be a finite number, got inf"),
        (tv.constant([0.1, 0.2]), ValueError, "a single number, got a tensor of shape (2,)"),
        (tv.constant([True]), TypeError, "got a tensor of dtype bool"),
    ],
    ids=["None", "word", "numeric string", "list", "bool", "complex", "nan", "inf", "1-d", "bools"],
)
def test_a_bad_learning_rate_raises_at_construction_naming_it(
    name: str, value: Any, error: type, words: str
) -> None:
    cls = getattr(K.optimizers, name)
    with pytest.raises(error) as info:
        cls(learning_rate=value)
    message = str(info.value)
    assert message.startswith(f"{name}: learning_rate must be")
    assert words.format(name=name) in message


def test_sgd_fast_says_what_to_write() -> None:
    with pytest.raises(TypeError) as info:
        K.optimizers.SGD("fast")
    assert str(info.value) == (
        "SGD: learning_rate must be a number, a LearningRateSchedule or a function returning a "
        "number, got the string 'fast'. For example SGD(learning_rate=0.01)."
    )


def test_setting_a_bad_learning_rate_later_raises_too() -> None:
    opt = K.optimizers.Adam(0.01)
    with pytest.raises(TypeError, match=r"^Adam: learning_rate must be"):
        opt.learning_rate = None
    with pytest.raises(ValueError, match=r"^Adam: learning_rate must be a finite number"):
        opt.lr = float("nan")
    assert opt.learning_rate.numpy() == np.float32(0.01)  # unchanged


def test_what_keras_accepts_still_works() -> None:
    x = tv.Variable(1.0)
    for lr in (-0.1, np.float32(-0.1), tv.constant(-0.1), tv.Variable(-0.1), lambda: -0.1):
        x.assign(1.0)
        K.optimizers.SGD(learning_rate=lr).apply_gradients([(tv.constant(0.5), x)])
        assert x.numpy() == np.float32(1.05)  # TensorFlow's number: gradient ascent
    sched = K.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert K.optimizers.SGD(sched).learning_rate is sched
    assert K.optimizers.Adam(epsilon=None).epsilon == 1e-7  # Keras's default
    assert K.optimizers.Adam(learning_rate=np.array(0.5)).learning_rate.numpy() == 0.5
    assert K.optimizers.SGD(learning_rate=1).learning_rate.numpy() == 1.0  # an int


def test_a_function_returning_a_bad_learning_rate_is_named_at_the_step() -> None:
    x = tv.Variable(1.0)
    opt = K.optimizers.SGD(learning_rate=lambda: None)
    with pytest.raises(TypeError, match=r"^SGD: learning_rate must be a number \(what <function"):
        opt.apply_gradients([(tv.constant(0.5), x)])
    assert x.numpy() == 1.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: K.optimizers.SGD(momentum=None), "SGD: momentum must be a number, got None"),
        (lambda: K.optimizers.SGD(momentum="a"), "SGD: momentum must be a number, got the str"),
        (lambda: K.optimizers.SGD(momentum=1.5), "`momentum` must be between [0, 1]"),
        (lambda: K.optimizers.RMSprop(rho=None), "RMSprop: rho must be a number, got None"),
        (lambda: K.optimizers.RMSprop(momentum=[0.9]), "RMSprop: momentum must be a number"),
        (lambda: K.optimizers.Adam(beta_1="a"), "Adam: beta_1 must be a number, got the str"),
        (lambda: K.optimizers.Adam(beta_2=float("nan")), "Adam: beta_2 must be a finite"),
        (lambda: K.optimizers.Adam(epsilon="a"), "Adam: epsilon must be a number"),
        (lambda: K.optimizers.Adamax(epsilon=float("inf")), "Adamax: epsilon must be a finite"),
        (lambda: K.optimizers.Adadelta(rho="0.9"), "Adadelta(rho=0.9)"),
        (lambda: K.optimizers.Nadam(beta_1=None), "Nadam: beta_1 must be a number, got None"),
        (
            lambda: K.optimizers.Adagrad(initial_accumulator_value=None),
            "Adagrad: initial_accumulator_value must be a number, got None",
        ),
        (
            lambda: K.optimizers.Adagrad(initial_accumulator_value=-1.0),
            "initial_accumulator_value must be non-negative",
        ),
        (lambda: K.optimizers.AdamW(weight_decay="a"), "AdamW: weight_decay must be a number"),
        (lambda: K.optimizers.AdamW(beta_1=None), "AdamW: beta_1 must be a number, got None"),
        (lambda: K.optimizers.SGD(clipnorm="a"), "SGD: clipnorm must be a number, got the str"),
        (lambda: K.optimizers.SGD(clipvalue=-1.0), "Expected clipvalue >= 0, received: -1.0"),
        (lambda: K.optimizers.SGD(decay=None), "SGD: decay must be a number, got None"),
        (lambda: K.optimizers.SGD(lr=-1.0), "Expected lr >= 0, received: -1.0"),
        (lambda: K.optimizers.SGD(lr="a"), "SGD: learning_rate must be a number"),
    ],
)
@pytest.mark.filterwarnings("ignore:The `lr` argument is deprecated")
def test_other_bad_hyperparameters_raise_at_construction(make: Any, message: str) -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        make()
    assert message in str(info.value)


def test_clipping_none_is_no_clipping() -> None:
    opt = K.optimizers.SGD(clipnorm=None, clipvalue=None, global_clipnorm=None)
    x = tv.Variable(1.0)
    opt.apply_gradients([(tv.constant(100.0), x)])
    assert x.numpy() == np.float32(0.0)


# --- schedules ----------------------------------------------------------------------------------
S = K.optimizers.schedules


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda: S.ExponentialDecay(None, 10, 0.5),
            TypeError,
            "ExponentialDecay: initial_learning_rate must be a number, got None.",
        ),
        (
            lambda: S.ExponentialDecay(0.1, 0, 0.5),
            ValueError,
            "ExponentialDecay: decay_steps must be > 0, got 0.",
        ),
        (
            lambda: S.InverseTimeDecay(0.1, -5, 0.5),
            ValueError,
            "InverseTimeDecay: decay_steps must be > 0, got -5.",
        ),
        (
            lambda: S.ExponentialDecay(0.1, 10, "half"),
            TypeError,
            "ExponentialDecay: decay_rate must be a number, got the string 'half'.",
        ),
        (
            lambda: S.PolynomialDecay(0.1, 0),
            ValueError,
            "PolynomialDecay: decay_steps must be > 0, got 0.",
        ),
        (
            lambda: S.PolynomialDecay(0.1, 10, power=None),
            TypeError,
            "PolynomialDecay: power must be a number, got None.",
        ),
        (
            lambda: S.CosineDecay(0.1, 0),
            ValueError,
            "CosineDecay: decay_steps must be > 0, got 0.",
        ),
        (
            lambda: S.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-1),
            ValueError,
            "CosineDecay: warmup_steps must be >= 0, got -1.",
        ),
        (
            lambda: S.PiecewiseConstantDecay([5, 1], [1.0, 2.0, 3.0]),
            ValueError,
            "boundaries must not decrease, but boundaries[1] = 1 < boundaries[0] = 5.",
        ),
        (
            lambda: S.PiecewiseConstantDecay([1, "a"], [1.0, 2.0, 3.0]),
            TypeError,
            "PiecewiseConstantDecay: boundaries[1] must be a number, got the string 'a'.",
        ),
        (
            lambda: S.PiecewiseConstantDecay(3, [1.0]),
            TypeError,
            "PiecewiseConstantDecay: boundaries must be a list of numbers, got an int (3).",
        ),
    ],
)
def test_bad_schedule_arguments_raise_at_construction(make: Any, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        make()
    assert message in str(info.value)


def test_schedules_keep_what_tensorflow_computes() -> None:
    # recorded from tf_keras: equal boundaries are allowed; a negative rate decays as well
    s = S.PiecewiseConstantDecay([2, 2], [1.0, 2.0, 3.0])
    assert [float(s(k)) for k in (1, 2, 3)] == [1.0, 1.0, 3.0]
    assert float(S.ExponentialDecay(-0.1, 10, 0.5)(1)) == float(np.float32(-0.0933033))
    assert float(S.ExponentialDecay(tv.constant(0.1), 10, 0.5)(10)) == float(np.float32(0.05))


# --- metrics ------------------------------------------------------------------------------------
M = K.metrics


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: M.Mean().update_state("abc"),
            TypeError,
            "Mean.update_state: values must be numbers, got a str ('abc').",
        ),
        (
            lambda: M.Mean().update_state(None),
            TypeError,
            "Mean.update_state: values must be numbers, got None.",
        ),
        (
            lambda: M.Sum()(["a", "b"]),
            TypeError,
            "Sum.update_state: values must be numbers, got strings (e.g. np.str_('a')).",
        ),
        (lambda: M.Mean()(1 + 2j), TypeError, "values must be numbers, got complex numbers"),
        (lambda: M.Mean()({"a": 1}), TypeError, "values must be numbers, got a dict"),
        (
            lambda: M.Mean()([[1.0, 2.0], [3.0]]),
            ValueError,
            "Mean.update_state: values is ragged: its rows have different lengths",
        ),
        (
            lambda: M.Mean()([1.0, 2.0], sample_weight=[1.0, 2.0, 3.0]),
            ValueError,
            "sample_weight of shape (3,) does not fit values of shape (2,)",
        ),
        (
            lambda: M.Mean()([1.0, 2.0], sample_weight="a"),
            TypeError,
            "Mean.update_state: sample_weight must be numbers",
        ),
        (
            lambda: M.SparseCategoricalAccuracy()([0], None),
            TypeError,
            "sparse_categorical_accuracy: y_pred must be numbers, got None.",
        ),
        (
            lambda: M.SparseCategoricalAccuracy()([0], "abc"),
            TypeError,
            "sparse_categorical_accuracy: y_pred must be numbers, got a str",
        ),
        (
            lambda: M.SparseCategoricalAccuracy()([0, 1], [0.9, 0.1]),
            ValueError,
            "y_true of shape (2,) and y_pred of shape (2,) do not match: y_pred needs one row of "
            "class scores per label",
        ),
        (
            lambda: M.CategoricalAccuracy()([[1, 0, 0]], [[0.9, 0.1]]),
            ValueError,
            "categorical_accuracy: y_true of shape (1, 3) and y_pred of shape (1, 2) do not match",
        ),
        (
            lambda: M.Accuracy()([1, 2], [1, 2, 3]),
            ValueError,
            "accuracy: y_true of shape (2,) and y_pred of shape (3,) do not match",
        ),
        (lambda: M.Mean(name=3), TypeError, "Mean: name must be a string, got 3 (int)."),
        (lambda: M.Mean(dtype="foo"), TypeError, "Mean: dtype 'foo' is not a dtype"),
    ],
)
def test_metrics_check_their_inputs(call: Any, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_a_refused_update_leaves_the_metric_unchanged() -> None:
    m = M.Mean()
    m.update_state([1.0, 3.0])
    with pytest.raises(TypeError):
        m.update_state(None)
    assert float(m.result()) == 2.0


def test_metrics_keep_what_tensorflow_accepts() -> None:
    # recorded from tf_keras: bools count as 0/1, NaN propagates, an empty batch adds nothing,
    # labels of shape (n, 1), labels outside the classes count as wrong
    assert float(M.Mean()(True)) == 1.0
    assert np.isnan(float(M.Mean()(float("nan"))))
    assert float(M.Mean()([])) == 0.0
    assert float(M.SparseCategoricalAccuracy()([[1], [0]], [[0.1, 0.9], [0.2, 0.8]])) == 0.5
    assert float(M.SparseCategoricalAccuracy()([5], [[0.9, 0.1]])) == 0.0
    assert float(M.Accuracy()([[1], [2]], [1, 3])) == 0.5
    assert float(M.Mean()([1.0, 2.0], sample_weight=[-1.0, 1.0])) == 0.0
