# ruff: noqa: SIM108 - the `if` statements are what autograph converts
"""Programs with Python control flow on tensors, written once for TensorFlow and tapeviz.

``build(tf)`` returns ``{name: (python_function, args)}``.  ``tools/record_control_flow_tf.py``
runs each under ``tf.function`` and records TensorFlow's results in
``tests/data/control_flow_tf.json``; ``test_autograph.py`` runs them under ``tv.function``
(compiled and interpreted) and eagerly and compares.  Most come from TensorFlow's guides
(the autograph guide's ``sum_even`` and ``while tf.reduce_sum(x) > 1``, a collatz loop, a
training loop over ``tf.range``), written in our own words.
"""

from __future__ import annotations

from typing import Any


def build(tf: Any) -> dict[str, tuple[Any, list[Any]]]:
    programs: dict[str, tuple[Any, list[Any]]] = {}

    def sum_even(items):
        s = 0
        for c in items:
            if c % 2 > 0:
                continue
            s += c
        return s

    programs["sum_even"] = (sum_even, [tf.constant([10, 12, 15, 20])])

    def tanh_until_small(x):
        while tf.reduce_sum(x) > 1:
            x = tf.tanh(x)
        return x

    programs["tanh_until_small"] = (tanh_until_small, [tf.constant([2.0, 3.0, -0.5])])

    def collatz_steps(n):
        steps = 0
        while n > 1:
            if n % 2 == 0:
                n = n // 2
            else:
                n = 3 * n + 1
            steps += 1
        return steps, n

    programs["collatz_27"] = (collatz_steps, [tf.constant(27)])
    programs["collatz_1"] = (collatz_steps, [tf.constant(1)])

    def signed_sqrt(x):
        if x > 0:
            y = tf.sqrt(x)
        else:
            y = -tf.sqrt(-x)
        return y * 2.0

    programs["signed_sqrt_pos"] = (signed_sqrt, [tf.constant(6.25)])
    programs["signed_sqrt_neg"] = (signed_sqrt, [tf.constant(-2.0)])

    def fizzbuzz_counts(n):
        fizz = 0
        buzz = 0
        both = 0
        for i in tf.range(1, n + 1):
            if i % 15 == 0:
                both += 1
            elif i % 3 == 0:
                fizz += 1
            elif i % 5 == 0:
                buzz += 1
        return fizz, buzz, both

    programs["fizzbuzz_counts"] = (fizzbuzz_counts, [tf.constant(100)])

    def double_until(x):
        n = tf.constant(0)
        while n < 1000:
            x = x * 2.0
            n += 1
            if x > 100.0:
                break
        return x, n

    programs["double_until_break"] = (double_until, [tf.constant(1.5)])

    def sum_skipping_thirds(n):
        s = tf.constant(0)
        for i in tf.range(n):
            if i % 3 == 0:
                continue
            s += i
        return s

    programs["sum_skipping_thirds"] = (sum_skipping_thirds, [tf.constant(20)])

    def first_power_above(limit):
        p = tf.constant(1.0)
        k = tf.constant(0)
        for i in tf.range(100):
            if p > limit:
                break
            p = p * 3.0
            k = i + 1
        return p, k

    programs["first_power_above"] = (first_power_above, [tf.constant(500.0)])

    def piecewise(x):
        if x < -1.0:
            return -x - 1.0
        if x < 1.0:
            return x * x * 0.5 - 0.5
        return tf.exp(x - 1.0)

    programs["piecewise_left"] = (piecewise, [tf.constant(-3.0)])
    programs["piecewise_mid"] = (piecewise, [tf.constant(0.5)])
    programs["piecewise_right"] = (piecewise, [tf.constant(2.0)])

    def clipped_norm(v):
        n = tf.sqrt(tf.reduce_sum(v * v))
        return v * 2.0 / n if n > 2.0 else v

    programs["clipped_norm_big"] = (clipped_norm, [tf.constant([3.0, 4.0])])
    programs["clipped_norm_small"] = (clipped_norm, [tf.constant([0.3, 0.4])])

    def both_positive(x, y):
        if x > 0 and y > 0:
            r = x * y
        elif not x > 0:
            r = -x
        else:
            r = y
        return r

    programs["both_positive"] = (both_positive, [tf.constant(2.0), tf.constant(3.0)])
    programs["both_positive_no"] = (both_positive, [tf.constant(-2.0), tf.constant(3.0)])
    programs["both_positive_y"] = (both_positive, [tf.constant(2.0), tf.constant(-3.0)])

    def python_loop_tensor_if(x):
        acc = tf.zeros_like(x)
        for k in range(4):  # a Python loop: unrolled, its `if` is on a tensor
            if tf.reduce_max(x) > float(k):
                acc = acc + x * float(k)
            else:
                acc = acc - 1.0
        return acc

    programs["python_loop_tensor_if"] = (python_loop_tensor_if, [tf.constant([0.5, 2.5])])

    def newton_sqrt(a):
        x = a
        i = 0
        while tf.abs(x * x - a) > 1e-3 and i < 50:
            x = 0.5 * (x + a / x)
            i += 1
        return x, i

    programs["newton_sqrt"] = (newton_sqrt, [tf.constant(10.0)])

    def cond_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            if x > 0:
                y = x * x * x
            else:
                y = tf.sin(x) * 2.0
        return y, tape.gradient(y, x)

    programs["cond_gradient_pos"] = (cond_gradient, [tf.constant(1.5)])
    programs["cond_gradient_neg"] = (cond_gradient, [tf.constant(-0.75)])

    def cond_second_order(x):
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.cond(x > 1.0, lambda: tf.exp(x) * x, lambda: x * x * x)
            dy = inner.gradient(y, x)
        return y, dy, outer.gradient(dy, x)

    programs["cond_second_order_hi"] = (cond_second_order, [tf.constant(1.25)])
    programs["cond_second_order_lo"] = (cond_second_order, [tf.constant(0.5)])

    def while_loop_direct(x):
        i, y = tf.while_loop(
            lambda i, y: tf.reduce_sum(y) < 50.0,
            lambda i, y: (i + 1, y * 1.5 + 1.0),
            (tf.constant(0), x),
            maximum_iterations=20,
        )
        return i, y

    programs["while_loop_direct"] = (while_loop_direct, [tf.constant([1.0, 2.0])])
    programs["while_loop_capped"] = (while_loop_direct, [tf.constant([-100.0, 0.0])])

    def cond_structure(x):
        out = tf.cond(
            x > 0.0,
            lambda: {"a": x + 1.0, "b": (x * 2.0, x - 3.0)},
            lambda: {"a": x - 1.0, "b": (x * 3.0, x + 3.0)},
        )
        return out["a"], out["b"][0], out["b"][1]

    programs["cond_structure"] = (cond_structure, [tf.constant(-0.5)])

    def loop_gradient(x, n):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = x
            for _ in tf.range(n):
                y = tf.sin(y) * x
        return y, tape.gradient(y, x)

    programs["loop_gradient"] = (loop_gradient, [tf.constant(0.7), tf.constant(4)])

    rate = tf.Variable(1.1, name="rate")

    def while_gradient(x):
        with tf.GradientTape() as tape:
            while x < 50.0:
                x = x * rate + 1.0
        return x, tape.gradient(x, rate)

    programs["while_gradient"] = (while_gradient, [tf.constant(2.0)])

    return programs


def build_training(tf: Any) -> tuple[Any, list[Any], list[Any]]:
    """A training loop over ``tf.range`` inside a ``tf.function``, the loss carried by a
    Python variable: (function, args, variables to read afterwards)."""
    w = tf.Variable(0.25, name="w")
    b = tf.Variable(-0.5, name="b")
    opt = tf.keras.optimizers.SGD(learning_rate=0.05)

    def train(x, y, steps):
        loss = tf.constant(0.0)
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                pred = w * x + b
                loss = tf.reduce_mean((pred - y) ** 2)
            grads = tape.gradient(loss, [w, b])
            opt.apply_gradients(zip(grads, [w, b], strict=True))
        return loss

    x = tf.constant([0.0, 1.0, 2.0, 3.0])
    y = tf.constant([1.0, 3.0, 5.0, 7.0])
    return train, [x, y, tf.constant(40)], [w, b]
