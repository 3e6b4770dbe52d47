"""record_run / record_race: the recorded steps are exactly what the optimizer does."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.keras import optimizers as K


def _manual(opt: Any, start: list[float], steps: int) -> dict[str, Any]:
    w = tv.Variable(start, name="w")
    out: dict[str, Any] = {"w": [w.numpy()], "g": [], "loss": [], "m": []}
    for _ in range(steps):
        with tv.GradientTape() as tape:
            loss = tv.reduce_sum(tv.sin(w) * w + w * w)
        g = tape.gradient(loss, w)
        opt.apply_gradients([(g, w)])
        out["w"].append(w.numpy())
        out["g"].append(g.numpy())
        out["loss"].append(loss.numpy())
        out["m"].append(opt.get_slot(w, "m").numpy())
    return out


def test_record_run_is_the_optimizers_own_trajectory() -> None:
    manual = _manual(K.Adam(0.05), [1.0, -2.0], 30)
    w = tv.Variable([1.0, -2.0], name="w")
    run = K.record_run(K.Adam(0.05), lambda: tv.reduce_sum(tv.sin(w) * w + w * w), [w], 30)
    assert (
        run.steps == 30
        and run.names == ("w:0",)
        and run.optimizer == "Adam"
        and run.label == "Adam"
    )
    np.testing.assert_array_equal(run.values["w:0"], np.array(manual["w"]))
    np.testing.assert_array_equal(run.gradients["w:0"], np.array(manual["g"]))
    np.testing.assert_array_equal(run.loss[:-1], np.array(manual["loss"], dtype=np.float64))
    np.testing.assert_array_equal(run.slots["w:0"]["m"][1:], np.array(manual["m"]))
    np.testing.assert_array_equal(run.slots["w:0"]["m"][0], [0.0, 0.0])
    assert run.values["w:0"].dtype == np.float32 and run.values["w:0"].shape == (31, 2)
    final = tv.reduce_sum(tv.sin(w) * w + w * w).numpy()
    assert run.loss[-1] == float(final)
    np.testing.assert_array_equal(w.numpy(), run.values["w:0"][-1])  # the run trained w
    assert run.config == K.Adam(0.05).get_config()


def test_record_run_reproduces_the_documents_adam_number() -> None:
    x = tv.Variable(0.0, name="x")
    run = K.record_run(K.Adam(0.01), lambda: x**2 - 2.0 * x + 1.0, [x], 100)
    assert float(run.values["x:0"][100]).hex() == "0x1.8d155e0000000p-1"  # 0.775553644
    assert float(np.float32(run.loss[100])).hex() == "0x1.9cae800000000p-5"  # 0.0503761768


def test_record_run_learning_rates_and_initial_slots() -> None:
    x = tv.Variable(1.0, name="x")
    schedule = K.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    run = K.record_run(K.SGD(schedule, momentum=0.9), lambda: x * x, [x], 5)
    expected = [float(schedule(k).numpy()) for k in range(5)]
    assert run.learning_rate.tolist() == expected
    assert run.slots["x:0"]["momentum"][0] == 0.0
    y = tv.Variable(1.0)
    acc = K.record_run(K.Adagrad(0.1, initial_accumulator_value=0.25), lambda: y * y, [y], 2)
    assert acc.slots["Variable:0"]["accumulator"][0] == np.float32(0.25)
    z = tv.Variable(1.0)
    nadam = K.record_run(K.Nadam(0.1), lambda: z * z, [z], 2)
    assert nadam.learning_rate.tolist() == [float(np.float32(0.1))] * 2


def test_record_run_with_a_missing_gradient() -> None:
    x = tv.Variable(1.0, name="x")
    y = tv.Variable(2.0, name="y")
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        run = K.record_run(K.SGD(0.1), lambda: x * x, [x, y], 2)
    assert np.isnan(run.gradients["y:0"]).all()
    assert run.values["y:0"].tolist() == [2.0, 2.0, 2.0]
    text = json.dumps(run.to_dict())
    assert '"y:0": [null, null]' in text


def test_record_run_names_duplicates_and_callback() -> None:
    a = tv.Variable(1.0)
    b = tv.Variable(2.0)
    seen: list[int] = []
    run = K.record_run(K.SGD(0.1), lambda: a * b, [a, b], 3, callback=lambda k, opt: seen.append(k))
    assert run.names == ("Variable:0", "Variable:0#1")
    assert seen == [1, 2, 3]
    assert run.path.shape == (4, 2)


def test_record_run_errors() -> None:
    x = tv.Variable(1.0)
    with pytest.raises(ValueError, match="steps must be a non-negative integer"):
        K.record_run(K.SGD(), lambda: x * x, [x], -1)
    with pytest.raises(TypeError, match="must be a function with no arguments"):
        K.record_run(K.SGD(), x * x, [x], 1)
    with pytest.raises(ValueError, match="var_list is empty"):
        K.record_run(K.SGD(), lambda: x * x, [], 1)
    with pytest.raises(TypeError, match=r"var_list must contain tv.Variables"):
        K.record_run(K.SGD(), lambda: x * x, [tv.constant(1.0)], 1)


def rosenbrock(x: Any, y: Any) -> Any:
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def test_record_race_six_optimizers() -> None:
    optimizers = [
        K.SGD(0.001),
        K.SGD(0.001, momentum=0.9),
        K.SGD(0.001, momentum=0.9, nesterov=True),
        K.Adam(0.05),
        K.RMSprop(0.01),
        K.Adagrad(0.5),
    ]
    runs = K.record_race(optimizers, rosenbrock, start=[-1.5, 2.0], steps=200)
    assert list(runs) == ["SGD", "SGD (2)", "SGD (3)", "Adam", "RMSprop", "Adagrad"]
    for label, run in runs.items():
        assert run.label == label
        assert run.names == ("x:0", "y:0")
        assert run.path.shape == (201, 2)
        np.testing.assert_array_equal(run.path[0], [-1.5, 2.0])
        assert run.loss[0] == pytest.approx(rosenbrock(-1.5, 2.0))
        assert run.loss[-1] < run.loss[0]
    # each optimizer starts fresh: the same optimizer class with the same settings agrees
    again = K.record_race({"a": K.Adam(0.05)}, rosenbrock, start=[-1.5, 2.0], steps=200)
    np.testing.assert_array_equal(again["a"].path, runs["Adam"].path)
    json.dumps({k: r.to_dict() for k, r in runs.items()})


def test_record_race_vector_arguments_and_names() -> None:
    runs = K.record_race(
        {"gd": K.SGD(0.1)}, lambda p: tv.reduce_sum(p * p), start=[[1.0, -1.0, 2.0]], steps=3
    )
    run = runs["gd"]
    assert run.names == ("p:0",) and run.path.shape == (4, 3)
    runs2 = K.record_race([K.SGD(0.1)], lambda *v: v[0] * v[1], start=[1.0, 2.0], steps=1)
    assert runs2["SGD"].names == ("x:0", "y:0")
