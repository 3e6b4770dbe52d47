"""Learning-rate schedules and Adadelta inside ``tv.function`` loops: the compiled steps
give the eager steps' numbers bit for bit."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from ulp import within_ulps

import tapeviz as tv
from tapeviz import keras

S = keras.optimizers.schedules
JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


class Halving(S.LearningRateSchedule):
    """A schedule of one's own, written with tensor arithmetic."""

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def __call__(self, step: Any) -> Any:
        return self.lr / (step + 1.0)

    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr}


OPTIMIZERS: dict[str, Callable[[], Any]] = {
    "Adadelta": lambda: keras.optimizers.Adadelta(learning_rate=1.0),
    "Adadelta, decay": lambda: keras.optimizers.Adadelta(learning_rate=0.5, rho=0.9, decay=0.1),
    "SGD, ExponentialDecay": lambda: keras.optimizers.SGD(S.ExponentialDecay(0.1, 3, 0.5)),
    "SGD, ExponentialDecay staircase": lambda: keras.optimizers.SGD(
        S.ExponentialDecay(0.1, 3, 0.5, staircase=True), momentum=0.9
    ),
    "SGD, PiecewiseConstantDecay": lambda: keras.optimizers.SGD(
        S.PiecewiseConstantDecay([3, 6], [0.1, 0.05, 0.01])
    ),
    "Adam, InverseTimeDecay": lambda: keras.optimizers.Adam(S.InverseTimeDecay(0.1, 4, 0.5)),
    "Adam, InverseTimeDecay staircase": lambda: keras.optimizers.Adam(
        S.InverseTimeDecay(0.1, 4, 0.5, staircase=True)
    ),
    "RMSprop, PolynomialDecay": lambda: keras.optimizers.RMSprop(S.PolynomialDecay(0.1, 5, 0.01)),
    "RMSprop, PolynomialDecay cycle": lambda: keras.optimizers.RMSprop(
        S.PolynomialDecay(0.1, 5, 0.01, power=2.0, cycle=True)
    ),
    "SGD, CosineDecay": lambda: keras.optimizers.SGD(S.CosineDecay(0.1, 8, alpha=0.1)),
    "SGD, CosineDecay warm-up": lambda: keras.optimizers.SGD(
        S.CosineDecay(0.05, 8, warmup_target=0.1, warmup_steps=3)
    ),
    "Adagrad, own schedule": lambda: keras.optimizers.Adagrad(Halving(0.3)),
}


def _train(make: Callable[[], Any], compiled: bool, dtype: Any, steps: int = 12) -> Any:
    x = tv.Variable(tv.constant([1.5, -2.0, 0.25], dtype=dtype))
    opt = make()

    def step() -> None:
        with tv.GradientTape() as tape:
            loss = tv.reduce_sum(x * x * 0.5 + x * x * x * x * 0.05)
        opt.apply_gradients([(tape.gradient(loss, x), x)])

    if compiled:

        @tv.function
        def train() -> tv.Tensor:
            for _ in tv.range(steps):
                step()
            return x

        train()
    else:
        for _ in range(steps):
            step()
    return x.numpy(), int(opt.iterations.numpy())


@pytest.mark.parametrize("dtype", [tv.float32, tv.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_compiled_steps_equal_eager_steps(name: str, dtype: Any) -> None:
    eager, n_eager = _train(OPTIMIZERS[name], False, dtype)
    compiled, n_compiled = _train(OPTIMIZERS[name], True, dtype)
    assert n_eager == n_compiled == 12
    assert not np.allclose(eager, [1.5, -2.0, 0.25])  # the steps moved x
    if JIT_DISABLED and "Cosine" in name:
        # the interpreter's float32 cos is numpy's, not libm's cosf: within rounding
        np.testing.assert_allclose(compiled, eager, rtol=1e-6)
    else:
        np.testing.assert_array_equal(compiled, eager)


def test_schedule_rates_follow_the_iterations_across_calls() -> None:
    x = tv.Variable(1.0)
    opt = keras.optimizers.SGD(S.PiecewiseConstantDecay([1, 3], [1.0, 0.5, 0.25]))

    @tv.function
    def step() -> tv.Tensor:
        with tv.GradientTape() as tape:
            loss = x * 1.0
        opt.apply_gradients([(tape.gradient(loss, x), x)])
        return x

    # d loss/dx = 1: each step subtracts the rate at iterations 0, 1, 2, 3, 4
    values = [float(step()) for _ in range(5)]
    assert values == [0.0, -1.0, -1.5, -2.0, -2.25]


# --- what traced code does not support: clear errors, never silent numbers ----------------
def test_numpy_function_on_a_symbolic_tensor_is_a_clear_error() -> None:
    @tv.function
    def f(x: tv.Tensor) -> tv.Tensor:
        return tv.numpy_function(lambda a: a * 2, [x], tv.float32)

    with pytest.raises(TypeError, match=r"numpy_function is not supported inside tv.function"):
        f(tv.constant([1.0, 2.0]))


def test_numpy_function_on_concrete_values_is_not_frozen_into_a_function() -> None:
    # run once while tracing, a stateful function's result would be the same on every call
    draws = iter(range(100))

    @tv.function
    def f() -> tv.Tensor:
        return tv.numpy_function(lambda: np.float32(next(draws)), [], tv.float32)

    with pytest.raises(TypeError, match="running it once while tracing would freeze"):
        f()
    assert next(draws) == 0  # and it never ran


@pytest.mark.parametrize(
    "index",
    [lambda x, i: x[i], lambda x, i: x[i : i + 2], lambda x, i: x[1:i]],
    ids=["x[i]", "x[i:i+2]", "x[1:i]"],
)
def test_indexing_with_a_symbolic_tensor_is_a_clear_error(index: Any) -> None:
    @tv.function
    def f(x: tv.Tensor, i: tv.Tensor) -> tv.Tensor:
        return index(x, i)

    with pytest.raises(TypeError, match=r"used as an index or a slice bound .* Index with Python"):
        f(tv.constant([1.0, 2.0, 3.0]), tv.constant(1))


def test_indexing_with_a_loop_index_is_a_clear_error() -> None:
    @tv.function
    def f(x: tv.Tensor) -> tv.Tensor:
        total = tv.constant(0.0)
        for i in tv.range(3):
            total = total + x[i]
        return total

    with pytest.raises(TypeError, match=r"tv.one_hot"):
        f(tv.constant([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS if "Decay" in n])
def test_a_schedule_called_inside_a_function_is_computed_at_run_time(name: str) -> None:
    """``lr = schedule(step)`` in traced code (to print or use the rate) gives the eager
    rate for each step the compiled function is called with, as in TensorFlow."""
    schedule = OPTIMIZERS[name]().learning_rate

    @tv.function
    def rate(step: tv.Tensor) -> tv.Tensor:
        return schedule(step)

    for step in range(10):
        got = rate(tv.constant(float(step))).numpy()
        want = schedule(step).numpy()
        if JIT_DISABLED and "Cosine" in name:
            np.testing.assert_allclose(got, want, rtol=1e-6)
        else:
            assert got == want, (step, got, want)
    assert rate.experimental_get_tracing_count() == 1


# --- schedules inside tv.function ----------------------------------------------------------------
SCHEDULES: dict[str, Callable[[], Any]] = {
    "Exponential": lambda: S.ExponentialDecay(0.1, 3, 0.9),
    "Exponential staircase": lambda: S.ExponentialDecay(0.1, 3, 0.9, staircase=True),
    "Exponential float64": lambda: S.ExponentialDecay(np.float64(0.1), 3, 0.9),
    "InverseTime staircase": lambda: S.InverseTimeDecay(0.1, 4, 0.5, staircase=True),
    "InverseTime float64": lambda: S.InverseTimeDecay(np.float64(0.1), 4, 0.5),
    "Piecewise": lambda: S.PiecewiseConstantDecay([3, 6], [0.1, 0.05, 0.01]),
    "Piecewise int values": lambda: S.PiecewiseConstantDecay([3, 6], [3, 2, 1]),
    "Polynomial sqrt": lambda: S.PolynomialDecay(0.1, 5, 0.01, power=0.5),
    "Polynomial cycle": lambda: S.PolynomialDecay(0.1, 5, 0.01, power=2.0, cycle=True),
    "Polynomial cycle float64": lambda: S.PolynomialDecay(np.float64(0.1), 5, 0.01, 3.0, True),
    "Cosine": lambda: S.CosineDecay(0.1, 8, alpha=0.1),
    "Cosine warm-up": lambda: S.CosineDecay(0.05, 8, warmup_target=0.1, warmup_steps=3),
}
STEPS = [0, 1, 3, 4, 5, 6, 7, 8, 11, 100]


@pytest.mark.parametrize("step_dtype", [np.float32, np.int32, np.int64])
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_inside_a_function_for_tensor_steps_of_each_dtype(
    name: str, step_dtype: Any
) -> None:
    """``schedule(step)`` traced once, run for many steps of float and int dtypes: the
    eager rate, bit for bit, with its dtype (the interpreter's cos is numpy's: a spacing
    off TensorFlow's cosf, as the existing schedule tests allow)."""
    schedule = SCHEDULES[name]()
    rate = tv.function(lambda step: schedule(step))
    for step in STEPS:
        got = rate(tv.constant(step_dtype(step))).numpy()
        want = schedule(step).numpy()
        assert got.dtype == want.dtype, (step, got.dtype, want.dtype)
        if JIT_DISABLED and "Cosine" in name:
            assert within_ulps(got, want, 2, flush=True), (step, got, want)
        else:
            assert got == want, (step, got, want)
    assert rate.experimental_get_tracing_count() == 1


@pytest.mark.filterwarnings("ignore::tapeviz.compiler.tf_function.RetracingWarning")
@pytest.mark.parametrize("name", [n for n in SCHEDULES if "Cosine" not in n])
def test_schedule_inside_a_function_for_python_int_steps(name: str) -> None:
    """A Python int step is a constant of the trace: the rate is still the eager one."""
    schedule = SCHEDULES[name]()
    rate = tv.function(lambda step: schedule(step))
    for step in STEPS:
        got, want = rate(step).numpy(), schedule(step).numpy()
        assert got.dtype == want.dtype and got == want, (step, got, want)


@pytest.mark.filterwarnings("ignore::tapeviz.compiler.tf_function.RetracingWarning")
@pytest.mark.parametrize("name", ["Cosine", "Cosine warm-up"])
def test_cosine_schedule_inside_a_function_for_python_int_steps(name: str) -> None:
    """As for the other schedules: ``rate(3)`` inside tv.function is eager's ``s(3)``."""
    schedule = SCHEDULES[name]()
    rate = tv.function(lambda step: schedule(step))
    for step in STEPS:
        got, want = rate(step).numpy(), schedule(step).numpy()
        assert got == want, (step, got, want)


def test_schedule_of_an_optimizer_iterations_variable_inside_a_function() -> None:
    """``schedule(opt.iterations)`` in a training step follows the Variable at run time."""
    schedule = S.ExponentialDecay(0.1, 2, 0.5, staircase=True)
    counter = tv.Variable(0.0)

    @tv.function
    def tick() -> tv.Tensor:
        lr = schedule(counter)
        counter.assign_add(1.0)
        return lr

    got = [float(tick()) for _ in range(6)]
    assert got == [float(schedule(k)) for k in range(6)]
