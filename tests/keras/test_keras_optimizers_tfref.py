"""Optimizers against trajectories recorded from TensorFlow's legacy (optimizer_v2) classes.

Every comparison is bit for bit (float32 ``float.hex``).  The optimizer tests feed the
gradients TensorFlow computed at each step, so they check the optimizer's arithmetic alone;
the documents' examples run the whole loop (tape + gradient + optimizer).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from engine.tfref import array, assert_bits, ref

import tapeviz as tv
from tapeviz.keras import _f32
from tapeviz.keras import optimizers as K
from tapeviz.keras.optimizers import schedules as S

MAKERS: dict[str, Callable[[], Any]] = {
    "SGD(0.1)": lambda: K.SGD(0.1),
    "SGD(0.1,momentum=0.9)": lambda: K.SGD(0.1, momentum=0.9),
    "SGD(0.1,momentum=0.9,nesterov=True)": lambda: K.SGD(0.1, momentum=0.9, nesterov=True),
    "Adam(0.01)": lambda: K.Adam(0.01),
    "Adam(0.01,amsgrad=True)": lambda: K.Adam(0.01, amsgrad=True),
    "Adam(0.05,beta_2=0.5)": lambda: K.Adam(0.05, beta_2=0.5),
    "Adam(0.05,beta_2=0.5,amsgrad=True)": lambda: K.Adam(0.05, beta_2=0.5, amsgrad=True),
    "RMSprop(0.01)": lambda: K.RMSprop(0.01),
    "RMSprop(0.01,momentum=0.5)": lambda: K.RMSprop(0.01, momentum=0.5),
    "RMSprop(0.01,centered=True)": lambda: K.RMSprop(0.01, centered=True),
    "Adagrad(0.1)": lambda: K.Adagrad(0.1),
    "Nadam(0.01)": lambda: K.Nadam(0.01),
    "Adamax(0.01)": lambda: K.Adamax(0.01),
    "Adadelta(1.0)": lambda: K.Adadelta(1.0),
    "SGD(0.1,clipnorm=0.5)": lambda: K.SGD(0.1, clipnorm=0.5),
    "SGD(0.1,clipvalue=0.3)": lambda: K.SGD(0.1, clipvalue=0.3),
    "SGD(0.1,global_clipnorm=0.5)": lambda: K.SGD(0.1, global_clipnorm=0.5),
    "SGD(ExponentialDecay(0.1,decay_steps=5,decay_rate=0.5))": lambda: K.SGD(
        S.ExponentialDecay(0.1, decay_steps=5, decay_rate=0.5)
    ),
    "SGD(ExponentialDecay(0.1,decay_steps=5,decay_rate=0.5,staircase=True))": lambda: K.SGD(
        S.ExponentialDecay(0.1, decay_steps=5, decay_rate=0.5, staircase=True)
    ),
    "SGD(PiecewiseConstantDecay([3,6],[0.1,0.05,0.01]))": lambda: K.SGD(
        S.PiecewiseConstantDecay([3, 6], [0.1, 0.05, 0.01])
    ),
    "SGD(InverseTimeDecay(0.1,decay_steps=5,decay_rate=0.5))": lambda: K.SGD(
        S.InverseTimeDecay(0.1, 5, 0.5)
    ),
    "SGD(InverseTimeDecay(0.1,decay_steps=5,decay_rate=0.5,staircase=True))": lambda: K.SGD(
        S.InverseTimeDecay(0.1, 5, 0.5, staircase=True)
    ),
    "Adam(ExponentialDecay(0.01,decay_steps=5,decay_rate=0.5))": lambda: K.Adam(
        S.ExponentialDecay(0.01, decay_steps=5, decay_rate=0.5)
    ),
    "AdamW(0.01,weight_decay=0.004)": lambda: K.AdamW(learning_rate=0.01, weight_decay=0.004),
}


def test_every_recorded_optimizer_config_is_tested() -> None:
    assert set(ref("optimizers", "configs")) <= set(MAKERS)


def _run_with_tf_gradients(key: str) -> tuple[Any, tv.Variable, tv.Variable, list[Any]]:
    """The reference problem, each step applying the gradients TensorFlow computed."""
    cfg = ref("optimizers", "configs", key)
    opt = MAKERS[key]()
    w = tv.Variable([1.0, -2.0, 0.5], name="w")
    b = tv.Variable(0.3, name="b")
    gw, gb = array(cfg["grad_w_at_step"]), array(cfg["grad_b_at_step"])
    ws, bs, lrs = array(cfg["w"]), array(cfg["b"]), []
    for k in range(cfg["iterations"]):
        lrs.append(opt._lr_for_next_step(np.float32))
        opt.apply_gradients(zip([tv.constant(gw[k]), tv.constant(gb[k])], [w, b], strict=True))
        assert_bits(w.numpy(), ws[k + 1], f"{key}: w after step {k + 1}")
        assert_bits(b.numpy(), bs[k + 1], f"{key}: b after step {k + 1}")
    return opt, w, b, lrs


@pytest.mark.parametrize("key", sorted(MAKERS))
def test_trajectory_matches_tensorflow_bit_for_bit(key: str) -> None:
    cfg = ref("optimizers", "configs", key)
    opt, w, b, lrs = _run_with_tf_gradients(key)
    assert int(opt.iterations.numpy()) == cfg["iterations"] == 20
    if "lr_used_at_step" in cfg:
        assert_bits(np.array(lrs, dtype=np.float32), array(cfg["lr_used_at_step"]), f"{key}: lr")
    if "slots_after_last_step" in cfg:
        assert opt.get_slot_names() == cfg["slot_names"]
        for var_name, slots in cfg["slots_after_last_step"].items():
            var = {"w:0": w, "b:0": b}[var_name]
            for slot_name, entry in slots.items():
                assert_bits(
                    opt.get_slot(var, slot_name).numpy(), array(entry), f"{key}: slot {slot_name}"
                )
    if "optimizer_variables_after_last_step" in cfg:  # AdamW: the newer Keras-2 optimizer
        variables = opt.variables()
        assert [v.name for v in variables] == list(cfg["optimizer_variables_after_last_step"])
        for v in variables:
            assert_bits(
                v.numpy(), array(cfg["optimizer_variables_after_last_step"][v.name]), v.name
            )


@pytest.mark.parametrize("key", [k for k in sorted(MAKERS) if not k.startswith("AdamW")])
def test_optimizer_weight_names_match_tensorflow(key: str) -> None:
    cfg = ref("optimizers", "configs", key)
    opt, _, _, _ = _run_with_tf_gradients(key)
    assert [v.name for v in opt.variables()] == cfg["optimizer_weights_names"]


def test_adam_first_five_steps_slots() -> None:
    data = ref("optimizers", "adam_quadratic_first5")
    x = tv.Variable(0.0, name="x")
    a, b, c = tv.constant(1.0), tv.constant(-2.0), tv.constant(1.0)
    opt = K.Adam(0.01)
    for step in data["steps"]:
        with tv.GradientTape() as tape:
            y = a * x**2 + b * x + c
        g = tape.gradient(y, x)
        assert_bits(g.numpy(), array(step["grad"]), "grad")
        opt.apply_gradients([(g, x)])
        assert_bits(x.numpy(), array(step["x"]), f"x at step {step['step']}")
        assert_bits(opt.get_slot(x, "m").numpy(), array(step["m"]), "m")
        assert_bits(opt.get_slot(x, "v").numpy(), array(step["v"]), "v")
        assert int(opt.iterations.numpy()) == step["iterations"]
    assert opt.get_slot_names() == data["slot_names"]


# -- the documents' numbers (whole loop: tape, gradient, optimizer) --------------------------------
def _quadratic() -> tuple[tv.Variable, Callable[[], tv.Tensor]]:
    x = tv.Variable(0.0, name="x", dtype=tv.float32)

    def f() -> tv.Tensor:
        a = tv.constant(1.0, name="a")
        b = tv.constant(-2.0, name="b")
        c = tv.constant(1.0, name="c")
        return a * x**2 + b * x + c

    return x, f


def _check_steps(xs: dict[int, Any], entry: dict[str, Any], key: str = "x_after_step") -> None:
    steps = entry["steps"]
    expected = array(entry[key])
    for i, k in enumerate(steps):
        assert_bits(xs[k], expected[i], f"x after step {k}")


def test_doc002_sgd_apply_gradients_1000_steps() -> None:
    entry = ref("seed_examples", "doc002_sgd_apply_gradients_1000")
    x, f = _quadratic()
    opt = tv.keras.optimizers.SGD(learning_rate=0.01)
    xs = {0: x.numpy()}
    for k in range(1000):
        with tv.GradientTape() as tape:
            y = f()
        dy_dx = tape.gradient(y, x)
        opt.apply_gradients(grads_and_vars=[(dy_dx, x)])
        xs[k + 1] = x.numpy()
    _check_steps(xs, entry)
    assert float(x.numpy()).hex() == "0x1.ffffd00000000p-1"  # 0.999998569
    assert float(y.numpy()) == 0.0
    assert int(opt.iterations.numpy()) == entry["iterations"] == 1000


def test_doc002_sgd_minimize_1000_steps() -> None:
    entry = ref("seed_examples", "doc002_sgd_minimize_1000")
    x, f = _quadratic()
    opt = tv.keras.optimizers.SGD(learning_rate=0.01)
    xs = {0: x.numpy()}
    for k in range(1000):
        opt.minimize(f, [x])
        xs[k + 1] = x.numpy()
    _check_steps(xs, entry)
    assert float(x.numpy()).hex() == "0x1.ffffd00000000p-1"
    assert_bits(f().numpy(), array(entry["f_final"]), "f")


def test_doc002_adam_apply_gradients_1000_steps() -> None:
    entry = ref("seed_examples", "doc002_adam_apply_gradients_1000_eager")
    x, f = _quadratic()
    opt = tv.keras.optimizers.Adam(learning_rate=0.01)
    xs, ms, vs = {0: x.numpy()}, {}, {}
    for k in range(1000):
        with tv.GradientTape() as tape:
            y = f()
        opt.apply_gradients([(tape.gradient(y, x), x)])
        xs[k + 1] = x.numpy()
        ms[k + 1] = opt.get_slot(x, "m").numpy()
        vs[k + 1] = opt.get_slot(x, "v").numpy()
    _check_steps(xs, entry)
    m_expected, v_expected = array(entry["m_after_step"]), array(entry["v_after_step"])
    for i, k in enumerate(entry["m_v_steps"]):
        assert_bits(ms[k], m_expected[i], f"m after step {k}")
        assert_bits(vs[k], v_expected[i], f"v after step {k}")
    assert float(x.numpy()).hex() == "0x1.00000e0000000p+0"  # 1.00000083
    assert_bits(x.numpy(), array(entry["final_x"]), "final x")


def test_doc002_adam_minimize_100_steps() -> None:
    entry = ref("seed_examples", "doc002_adam_minimize_100")
    x, f = _quadratic()
    opt = tv.keras.optimizers.Adam(learning_rate=0.01)
    for _ in range(100):
        opt.minimize(f, [x])
    result = f()
    assert_bits(result.numpy(), array(entry["eager"]["f_final"]), "f")
    assert_bits(x.numpy(), array(entry["eager"]["final_x"]), "x")
    assert float(result.numpy()).hex() == "0x1.9cae800000000p-5"  # 0.0503761768
    assert float(x.numpy()).hex() == "0x1.8d155e0000000p-1"  # 0.775553644


def test_doc002_adam_minimize_1000_steps() -> None:
    entry = ref("seed_examples", "doc002_adam_minimize_1000_eager")
    x, f = _quadratic()
    opt = tv.keras.optimizers.Adam(learning_rate=0.01)
    xs = {0: x.numpy()}
    for k in range(1000):
        opt.minimize(f, [x])
        xs[k + 1] = x.numpy()
    _check_steps(xs, entry)
    assert_bits(x.numpy(), array(entry["final_x"]), "final x")


def test_doc001_sgd_with_lr_keyword() -> None:
    entry = ref("seed_examples", "doc001_sgd_optimizer")
    x = tv.Variable(0.0)
    with pytest.warns(
        DeprecationWarning, match=r"The `lr` argument is deprecated, use `learning_rate` instead\."
    ):
        optimizer = tv.keras.optimizers.SGD(lr=0.1)
    xs = {0: x.numpy()}
    for k in range(100):
        with tv.GradientTape() as tape:
            z = 3.0 * x**2 + 2.0 * x - 1
        dz_x = tape.gradient(z, x)
        optimizer.apply_gradients([(dz_x, x)])
        xs[k + 1] = x.numpy()
    for i, k in enumerate(entry["steps"]):
        assert_bits(xs[k], array(entry["x"])[i], f"x after step {k}")
    assert float(x.numpy()).hex() == "-0x1.5555540000000p-2"
    assert repr(x) == "<tv.Variable 'Variable:0' shape=() dtype=float32, numpy=-0.3333333>"
    assert int(optimizer.iterations.numpy()) == entry["iterations_after"]


def test_doc001_manual_assign_sub_agrees_with_sgd() -> None:
    x1, x2 = tv.Variable(0.0), tv.Variable(0.0)
    opt = tv.keras.optimizers.SGD(learning_rate=0.1)
    for _ in range(100):
        with tv.GradientTape() as tape:
            z = 3.0 * x1**2 + 2.0 * x1 - 1
        x1.assign_sub(0.1 * tape.gradient(z, x1))
        with tv.GradientTape() as tape:
            z = 3.0 * x2**2 + 2.0 * x2 - 1
        opt.apply_gradients([(tape.gradient(z, x2), x2)])
    assert float(x1.numpy()).hex() == float(x2.numpy()).hex() == "-0x1.5555540000000p-2"


def test_dense_sequential_training_loop_matches_tensorflow() -> None:
    entry = ref("structure", "dense_sequential_training_loop")
    keras = tv.keras
    keras.backend.clear_session()
    layer = keras.layers.Dense(
        2,
        kernel_initializer=keras.initializers.Constant([[0.5, -1.0], [0.25, 2.0], [1.0, 0.0]]),
        bias_initializer="zeros",
    )
    model = keras.Sequential([layer])
    x = [[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]
    y = [[1.0, 0.0], [0.0, 1.0]]
    opt = keras.optimizers.legacy.SGD(0.1)
    mse = keras.losses.MeanSquaredError()
    for k, step in enumerate(entry["steps"]):
        with tv.GradientTape() as tape:
            loss = mse(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        opt.apply_gradients(zip(grads, model.trainable_weights))  # noqa: B905 (as written)
        assert_bits(loss.numpy(), array(step["loss"]), f"loss {k}")
        for g, e in zip(grads, step["grads"], strict=True):
            assert_bits(g.numpy(), array(e), f"grad {k}")
        for w, e in zip(model.trainable_weights, step["weights"], strict=True):
            assert_bits(w.numpy(), array(e), f"weight {k}")
    assert [w.name for w in model.trainable_weights] == entry["trainable_weight_names"]


# -- schedules, configs, pow -----------------------------------------------------------------------
SCHEDULES: dict[str, Callable[[], Any]] = {
    "ExponentialDecay(0.1,5,0.5)": lambda: S.ExponentialDecay(0.1, 5, 0.5),
    "ExponentialDecay(0.1,5,0.5,staircase=True)": lambda: S.ExponentialDecay(
        0.1, 5, 0.5, staircase=True
    ),
    "PiecewiseConstantDecay([3,6],[0.1,0.05,0.01])": lambda: S.PiecewiseConstantDecay(
        [3, 6], [0.1, 0.05, 0.01]
    ),
    "InverseTimeDecay(0.1,5,0.5)": lambda: S.InverseTimeDecay(0.1, 5, 0.5),
    "InverseTimeDecay(0.1,5,0.5,staircase=True)": lambda: S.InverseTimeDecay(
        0.1, 5, 0.5, staircase=True
    ),
    "PolynomialDecay(0.1,10,0.01)": lambda: S.PolynomialDecay(0.1, 10, 0.01),
    "PolynomialDecay(0.1,10,0.01,power=2.0,cycle=True)": lambda: S.PolynomialDecay(
        0.1, 10, 0.01, power=2.0, cycle=True
    ),
    "CosineDecay(0.1,10)": lambda: S.CosineDecay(0.1, 10),
}


def test_every_recorded_schedule_is_tested() -> None:
    assert set(ref("optimizers", "schedules_direct")) - {"note"} <= set(SCHEDULES)


@pytest.mark.parametrize("key", sorted(SCHEDULES))
def test_schedule_values_match_tensorflow(key: str) -> None:
    entry = ref("optimizers", "schedules_direct", key)
    schedule = SCHEDULES[key]()
    got = np.array([schedule(step).numpy() for step in entry["steps"]], dtype=np.float32)
    assert_bits(got, array(entry["values"]), key)
    assert schedule.get_config() == entry["config"]
    again = S.deserialize(S.serialize(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()


@pytest.mark.parametrize(
    ("key", "make"),
    [
        ("legacy.Adam(0.01)", lambda: K.Adam(0.01)),
        ("legacy.SGD(0.1,momentum=0.9)", lambda: K.SGD(0.1, momentum=0.9)),
        ("legacy.RMSprop()", lambda: K.RMSprop()),
        ("legacy.Adagrad()", lambda: K.Adagrad()),
        ("legacy.SGD()", lambda: K.SGD()),
        ("legacy.Adam()", lambda: K.Adam()),
        ("legacy.SGD(ExponentialDecay(0.1,5,0.5))", lambda: K.SGD(S.ExponentialDecay(0.1, 5, 0.5))),
    ],
)
def test_get_config_matches_tensorflow(key: str, make: Callable[[], Any]) -> None:
    config = make().get_config()
    assert config == ref("optimizers", "get_config", key)
    rebuilt = type(make()).from_config(config)
    assert rebuilt.get_config() == config


def test_adamw_config_matches_tensorflow() -> None:
    expected = dict(ref("optimizers", "configs", "AdamW(0.01,weight_decay=0.004)", "config"))
    expected["learning_rate"] = expected["learning_rate"]["value"]
    config = K.AdamW(learning_rate=0.01, weight_decay=0.004).get_config()
    assert config == expected
    assert K.AdamW.from_config(config).get_config() == config


@pytest.mark.parametrize(
    ("beta", "key"), [(0.9, "scalar_tf_pow_0.9_t"), (0.999, "scalar_tf_pow_0.999_t")]
)
def test_beta_powers_are_tensorflows_scalar_pow(beta: float, key: str) -> None:
    entry = ref("pow_behaviour", key)
    special = entry["t_where_differs_from_float32_of_float64_pow"]
    tf_values = array(entry["tf_values_at_those_t"])
    b = np.float32(beta)
    for t, expected in zip(special, tf_values, strict=True):
        assert_bits(_f32.pow(b, np.float32(t)), expected, f"{beta}**{t}")
    for t in range(1, 1001):
        if t in special:
            continue
        expected = np.float32(np.float64(b) ** t)
        if abs(expected) < np.finfo(np.float32).tiny:
            expected = np.float32(0.0)
        assert _f32.pow(b, np.float32(t)) == expected, t


def test_attributes_follow_legacy_keras() -> None:
    attrs = ref("optimizers", "attributes")
    opt = K.SGD(0.1, momentum=0.9)
    assert opt.learning_rate.name == "learning_rate:0" and opt.lr is opt.learning_rate
    assert opt.learning_rate.dtype.name == attrs["legacy.SGD(0.1,momentum=0.9).learning_rate_dtype"]
    assert opt.iterations.dtype.name == attrs["legacy.SGD.iterations_dtype"]
    assert opt.iterations.name == "iter:0"
    assert opt.momentum.name == "momentum:0"
    assert float(opt.momentum.numpy()) == float(np.float32(0.9))


# -- the misuse messages TensorFlow gives ----------------------------------------------------------
def test_tensor_loss_without_tape_message() -> None:
    entry = ref("errors_warnings", "minimize_tensor_loss_no_tape_legacy")
    x = tv.Variable(2.0)
    opt = K.SGD(0.1)
    loss = x * x
    with pytest.raises(ValueError) as info:
        opt.minimize(loss, [x])
    assert str(info.value) == entry["exception"]["message"]


def test_tensor_loss_with_tape() -> None:
    entry = ref("errors_warnings", "minimize_tensor_loss_with_tape_legacy")
    x = tv.Variable(2.0)
    opt = K.SGD(0.1)
    with tv.GradientTape() as tape:
        loss = x * x
    opt.minimize(loss, [x], tape=tape)
    assert_bits(x.numpy(), array(entry["result"]), "x")


@pytest.mark.parametrize(
    "key", ["apply_gradients_all_none_legacy", "apply_gradients_all_none_two_vars_legacy"]
)
def test_all_gradients_none_message(key: str) -> None:
    entry = ref("errors_warnings", key)
    x = tv.Variable(2.0, name="x")
    y = tv.Variable([1.0, 2.0], name="y")
    pairs = [(None, x), (None, y)] if "two_vars" in key else [(None, x)]
    with pytest.raises(ValueError) as info:
        K.SGD(0.1).apply_gradients(pairs)
    assert str(info.value) == entry["exception"]["message"].replace("<tf.", "<tv.")


def test_some_gradients_none_warning() -> None:
    entry = ref("errors_warnings", "apply_gradients_some_none_legacy")
    x = tv.Variable(2.0, name="x")
    b = tv.Variable(1.0, name="b")
    with pytest.warns(UserWarning) as record:
        K.SGD(0.1).apply_gradients([(tv.constant(1.0), x), (None, b)])
    assert str(record[0].message) == entry["logging"][0]["message"]
    assert_bits(x.numpy(), array(entry["result"][0]), "x")
    assert_bits(b.numpy(), array(entry["result"][1]), "b")


def test_unknown_keyword_message() -> None:
    with pytest.raises(
        TypeError,
        match=r"^Unexpected keyword argument passed to optimizer: foo\. Allowed kwargs are \{",
    ):
        K.SGD(foo=1)


def test_lr_keyword_message_is_tensorflows() -> None:
    entry = ref("errors_warnings", "legacy_sgd_lr_keyword")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt = K.SGD(lr=0.1)
    assert [str(w.message) for w in caught] == [entry["python_warnings"][0]["message"]]
    assert caught[0].category is DeprecationWarning
    assert caught[0].filename == __file__  # points at the caller's line
    assert float(opt.learning_rate.numpy()) == float(np.float32(0.1))
