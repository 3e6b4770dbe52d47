"""Benchmark: Keras-2 optimizer steps against hand-written numpy updates (same run).

1. One ``apply_gradients`` step, per optimizer, for a scalar and a 1000-element variable,
   next to the same update written by hand in numpy (float32, same formula).
2. The third document's loop — 1000 x (GradientTape, gradient, SGD.apply_gradients) on
   ``a*x**2 + b*x + c`` — whole, without the optimizer (tape + gradient + hand-written
   numpy update), and in pure numpy.  Target: the whole loop <= 25 ms.
3. ``record_race``: 6 optimizers x 200 steps on Rosenbrock's function (the optimizer-race
   widget's data).

Times are medians over repeats.  Run: ``.venv/bin/python benchmarks/bench_optimizers.py``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from timing import paired_median_times

import tapeviz as tf
from tapeviz.keras import optimizers as K

f32 = np.float32


def median_time(fn: Callable[[], Any], repeats: int, number: int = 1) -> float:
    """Median seconds per call of ``fn`` (each sample times ``number`` calls)."""
    fn()  # warm up
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return statistics.median(samples)


# -- 1. one step ---------------------------------------------------------------------------------
def numpy_sgd(state: dict[str, Any], g: Any) -> None:
    state["w"] = state["w"] - g * f32(0.01)


def numpy_momentum(state: dict[str, Any], g: Any) -> None:
    state["m"] = state["m"] * f32(0.9) - g * f32(0.01)
    state["w"] = state["w"] + state["m"]


def numpy_adam(state: dict[str, Any], g: Any) -> None:
    state["t"] += 1
    t = f32(state["t"])
    alpha = f32(0.001) * np.sqrt(f32(1) - f32(0.999) ** t) / (f32(1) - f32(0.9) ** t)
    state["m"] = state["m"] + (g - state["m"]) * f32(0.1)
    state["v"] = state["v"] + (g * g - state["v"]) * f32(0.001)
    state["w"] = state["w"] - state["m"] * alpha / (np.sqrt(state["v"]) + f32(1e-7))


def numpy_rmsprop(state: dict[str, Any], g: Any) -> None:
    state["v"] = f32(0.9) * state["v"] + f32(0.1) * (g * g)
    state["w"] = state["w"] - f32(0.001) * g / (np.sqrt(state["v"]) + f32(1e-7))


def numpy_adagrad(state: dict[str, Any], g: Any) -> None:
    state["v"] = state["v"] + g * g
    state["w"] = state["w"] - g * f32(0.001) / (np.sqrt(state["v"]) + f32(1e-7))


CASES: list[tuple[str, Callable[[], Any], Callable[[dict[str, Any], Any], None]]] = [
    ("SGD", lambda: K.SGD(0.01), numpy_sgd),
    ("SGD momentum", lambda: K.SGD(0.01, momentum=0.9), numpy_momentum),
    ("Adam", lambda: K.Adam(), numpy_adam),
    ("RMSprop", lambda: K.RMSprop(), numpy_rmsprop),
    ("Adagrad", lambda: K.Adagrad(), numpy_adagrad),
]


def one_step_rows(size: int | None) -> list[tuple[str, float, float]]:
    rows = []
    if size is None:
        w0: Any = f32(0.5)
        g_value: Any = f32(0.25)
    else:
        w0 = np.linspace(-1, 1, size, dtype=f32)
        g_value = np.full(size, 0.25, f32)
    grad = tf.constant(g_value)
    for name, make, by_hand in CASES:
        var = tf.Variable(w0)
        opt = make()
        pairs = [(grad, var)]
        t_opt = median_time(
            lambda opt=opt, pairs=pairs: opt.apply_gradients(pairs), repeats=15, number=400
        )
        zero = np.zeros_like(w0) if size is not None else f32(0)
        state = {"w": w0, "m": zero, "v": zero, "t": 0}
        t_np = median_time(
            lambda state=state, by_hand=by_hand: by_hand(state, g_value), repeats=15, number=400
        )
        rows.append((name, t_opt, t_np))
    return rows


# -- 2. the document's loop ------------------------------------------------------------------------
def doc_loop_keras() -> Any:
    x = tf.Variable(0.0, name="x", dtype=tf.float32)
    a = tf.constant(1.0, name="a")
    b = tf.constant(-2.0, name="b")
    c = tf.constant(1.0, name="c")
    opt = tf.keras.optimizers.SGD(learning_rate=0.01)
    for _ in range(1000):
        with tf.GradientTape() as tape:
            y = a * x**2 + b * x + c
        dy_dx = tape.gradient(y, x)
        opt.apply_gradients(grads_and_vars=[(dy_dx, x)])
    return x


def doc_loop_tape_only() -> Any:
    x = tf.Variable(0.0, name="x", dtype=tf.float32)
    a = tf.constant(1.0, name="a")
    b = tf.constant(-2.0, name="b")
    c = tf.constant(1.0, name="c")
    lr = f32(0.01)
    for _ in range(1000):
        with tf.GradientTape() as tape:
            y = a * x**2 + b * x + c
        dy_dx = tape.gradient(y, x)
        x.assign(x._value - dy_dx._value * lr)
    return x


def doc_loop_numpy() -> Any:
    x = f32(0.0)
    a, b, lr = f32(1.0), f32(-2.0), f32(0.01)
    for _ in range(1000):
        g = f32(2.0) * a * x + b
        x = x - g * lr
    return x


def rosenbrock(x: Any, y: Any) -> Any:
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def race() -> Any:
    return K.record_race(
        [
            K.SGD(0.001),
            K.SGD(0.001, momentum=0.9),
            K.SGD(0.001, momentum=0.9, nesterov=True),
            K.Adam(0.05),
            K.RMSprop(0.01),
            K.Adagrad(0.5),
        ],
        rosenbrock,
        start=[-1.5, 2.0],
        steps=200,
    )


def main() -> None:
    print("1. One optimizer step (apply_gradients) vs the same update in hand-written numpy")
    print(f"   {'optimizer':<14} {'variable':<10} {'tapeviz µs':>11} {'numpy µs':>9} {'ratio':>6}")
    for size, label in ((None, "scalar"), (1000, "(1000,)")):
        for name, t_opt, t_np in one_step_rows(size):
            print(
                f"   {name:<14} {label:<10} {t_opt * 1e6:>11.2f} {t_np * 1e6:>9.2f}"
                f" {t_opt / t_np:>6.1f}"
            )
    print()
    x = doc_loop_keras()
    assert float(x.numpy()).hex() == "0x1.ffffd00000000p-1", x  # 0.999998569
    t_full, t_tape, t_np = paired_median_times(
        [doc_loop_keras, doc_loop_tape_only, doc_loop_numpy], repeats=21
    )
    print("2. Third document, 1000 steps of SGD(0.01) on a*x**2 + b*x + c (x -> 0.999998569)")
    print(f"   {'loop':<54} {'ms':>7}")
    print(
        f"   {'tape + gradient + SGD.apply_gradients (target <= 25 ms)':<54} {t_full * 1e3:>7.2f}"
    )
    print(f"   {'tape + gradient + hand-written numpy update':<54} {t_tape * 1e3:>7.2f}")
    print(f"   {'  => apply_gradients share per step (µs)':<54} {(t_full - t_tape) * 1e3:>7.2f}")
    print(f"   {'pure numpy (hand-written gradient and update)':<54} {t_np * 1e3:>7.2f}")
    print()
    t_race = median_time(race, repeats=7)
    print("3. record_race: 6 optimizers x 200 steps on Rosenbrock (widget data)")
    print(f"   {'median':<54} {t_race * 1e3:>7.2f} ms")


if __name__ == "__main__":
    main()
