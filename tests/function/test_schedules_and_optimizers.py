"""Learning-rate schedules and Adadelta inside ``tv.function`` loops: the compiled steps
give the eager steps' numbers bit for bit."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

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

    with pytest.raises(TypeError, match="numpy_function is not supported inside tv.function"):
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

    with pytest.raises(TypeError, match="tv.one_hot"):
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
