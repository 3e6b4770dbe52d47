"""The training loop's gradient, ``tape.gradient(y, x)`` of a float scalar by the one
Variable the tape watches, takes a path of its own (``GradientTape._simple_gradient``):
it gives what the general sweep gives — values, dtypes, the record, the errors.

The general sweep is reached with the same program by asking for ``[x]`` (a list of
sources); the fast path is checked to be taken by making the general one fail.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.tape import GradientTape

from .sweeps import summary


def _no_general_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the general sweep ran")

    monkeypatch.setattr(GradientTape, "_sweep", fail)


# (name: program, whether its tape is simple: x ** 3 and exp may warn for other numbers,
# and a tape with such an op takes the general sweep, which silences numpy)
PROGRAMS = {
    "quadratic": (lambda x, a, b, c: a * x**2 + b * x + c, True),
    "fan-out": (lambda x, a, b, c: x * x + x * (b * b + a) - x, True),
    "sin and sqrt-like": (lambda x, a, b, c: tv.sin(x) ** 2.0 + x**0.5 * c, True),
    "tiny": (lambda x, a, b, c: x * 1e-30 * 1e-10, True),  # flushed to zero on the way
    "exp": (lambda x, a, b, c: tv.exp(x * 0.5) * c, False),
    "constant exponent 3": (lambda x, a, b, c: (x - c) ** 3 * a, False),
}


@pytest.mark.parametrize("dtype", [tv.float32, tv.float64])
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_same_value_dtype_and_record_as_the_general_sweep(
    name: str, dtype: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    program, simple = PROGRAMS[name]
    consts = [tv.constant(v, dtype=dtype) for v in (1.5, -2.0, 0.25)]

    def run(fast: bool) -> tuple[Any, Any, tuple[Any, ...]]:
        x = tv.Variable(0.75, dtype=dtype)
        with tv.GradientTape() as tape:
            y = program(x, *consts)
        if fast:
            assert tape._is_simple(y, x) is simple
            with monkeypatch.context() as m:
                if simple:
                    _no_general_sweep(m)
                g = tape.gradient(y, x)
        else:
            g = tape.gradient(y, [x])[0]
        return g, y, summary(tape.record())

    g_fast, y_fast, rec_fast = run(True)
    assert y_fast.numpy().tobytes() == run(False)[1].numpy().tobytes()
    g_slow, _, rec_slow = run(False)
    assert g_fast.dtype == g_slow.dtype == dtype
    assert type(g_fast.numpy()) is type(g_slow.numpy())
    assert g_fast.numpy().tobytes() == g_slow.numpy().tobytes()
    assert rec_fast == rec_slow
    # and the number itself, by central differences in float64
    x0, h = 0.75, 1e-6
    f = [
        float(program(tv.constant(v, dtype=tv.float64), *[tv.cast(c, tv.float64) for c in consts]))
        for v in (x0 - h, x0 + h)
    ]
    fd = (f[1] - f[0]) / (2 * h)
    assert float(g_fast) == pytest.approx(fd, rel=1e-3, abs=1e-20 if name == "tiny" else 1e-6)


def test_doc3_step_numbers() -> None:
    """The third document's loop: the float32 numbers of a few steps, computed by hand."""
    a, b, c = tv.constant(1.0), tv.constant(-2.0), tv.constant(1.0)
    x = tv.Variable(0.0)
    xs = np.float32(0.0)
    for _ in range(5):
        with tv.GradientTape() as tape:
            y = a * x**2 + b * x + c
        g = tape.gradient(y, x)
        # TensorFlow's pow VJP: (g * y) * x ** (y - 1), then the products and the sum
        one = np.float32(1.0)
        hand = (one * np.float32(1.0)) * (one * np.float32(2.0)) * xs ** np.float32(1.0)
        hand = hand + one * np.float32(-2.0)
        assert g.numpy().tobytes() == np.float32(hand).tobytes()
        x.assign_sub(0.01 * g)
        xs = np.float32(xs - np.float32(0.01) * np.float32(hand))
    assert x.numpy() == xs


def test_non_persistent_second_call_raises_and_persistent_repeats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x = tv.Variable(2.0)
    with tv.GradientTape() as tape:
        y = x * x
    _no_general_sweep(monkeypatch)
    assert float(tape.gradient(y, x)) == 4.0
    with pytest.raises(RuntimeError, match="only be used to compute one set of gradients"):
        tape.gradient(y, x)
    with tv.GradientTape(persistent=True) as tape:
        y = x * x * x
    assert float(tape.gradient(y, x)) == 12.0
    assert float(tape.gradient(y, x)) == 12.0


def test_target_that_is_the_source_and_unconnected_results() -> None:
    x = tv.Variable(3.0)
    with tv.GradientTape(persistent=True) as tape:
        y = tv.stop_gradient(x) * 2.0 + x * 0.0
        z = tv.constant(2.0) * 3.0  # not on the tape
    assert tape._is_simple(x, x) and tape._is_simple(y, x) and not tape._is_simple(z, x)
    assert float(tape.gradient(x, x)) == 1.0
    assert tape.gradient(y, x).numpy().tobytes() == np.float32(0.0).tobytes()
    assert tape.gradient(z, x) is None
    zero = tape.gradient(z, x, unconnected_gradients=tv.UnconnectedGradients.ZERO)
    assert zero.numpy() == 0.0 and zero.dtype == tv.float32


@pytest.mark.parametrize(
    "case",
    ["two watched", "source not watched", "nested tape", "custom gradient", "output seed"],
)
def test_cases_the_fast_path_leaves_to_the_general_sweep(case: str) -> None:
    x, w = tv.Variable(2.0), tv.Variable(3.0)
    if case == "nested tape":
        with tv.GradientTape() as outer:
            with tv.GradientTape() as inner:
                y = x * x * x
            g = inner.gradient(y, x)  # recorded by the outer tape: 3x²
        assert float(g) == 12.0
        assert float(outer.gradient(g, x)) == 12.0  # 6x
        return
    if case == "custom gradient":

        @tv.custom_gradient
        def twice(v: Any) -> Any:
            return v * 2.0, lambda dy: dy * 5.0

        with tv.GradientTape() as tape:
            y = twice(x)
        assert not tape._is_simple(y, x)
        assert float(tape.gradient(y, x)) == 5.0
        return
    with tv.GradientTape() as tape:
        y = x * w if case == "two watched" else x * 4.0
    if case == "output seed":
        assert float(tape.gradient(y, x, output_gradients=tv.constant(0.5))) == 2.0
        return
    if case == "two watched":
        assert not tape._is_simple(y, x)
        assert float(tape.gradient(y, x)) == 3.0
        return
    assert not tape._is_simple(y, w)
    assert tape.gradient(y, w) is None


def test_a_tape_with_a_warning_op_keeps_numpy_quiet() -> None:
    x = tv.Variable(0.0)
    with tv.GradientTape() as tape:
        y = tv.math.log(x) + x ** tv.constant(0.5)
    with np.errstate(all="raise"):
        g = tape.gradient(y, x)
    assert np.isinf(g.numpy())
