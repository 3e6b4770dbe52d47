"""Integer ``//`` and ``%`` by zero raise ``tv.errors.InvalidArgumentError`` ("Integer division
by zero"), eagerly, in compiled code and in code loaded from the cache, as TensorFlow's
FloorDiv and FloorMod do (issue 17; before, the result was a silent 0).

TensorFlow 2.21 (recorded, not run here): ``tf.constant([7, -7]) // tf.constant([0, 2])``
raises ``InvalidArgumentError: Integer division by zero`` for int8/int32/int64/uint8, eager and
in ``tf.function``; ``%`` likewise; floats give inf/nan (``[inf, -4.0]`` and ``[nan, 1.0]``).
"""

from __future__ import annotations

import doctest
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
import tapeviz.errors

from .processes import run_python

JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")
DIVISIONS: dict[str, Callable[[Any, Any], Any]] = {
    "//": lambda x, y: x // y,
    "%": lambda x, y: x % y,
    "floordiv": tv.math.floordiv,
    "mod": tv.math.mod,
}
INTS = [tv.int8, tv.int32, tv.int64, tv.uint8]


@pytest.mark.parametrize("dtype", INTS, ids=lambda d: d.name)
@pytest.mark.parametrize("op", list(DIVISIONS))
def test_eager_integer_division_by_zero_raises_naming_where(op: str, dtype: Any) -> None:
    f = DIVISIONS[op]
    with pytest.raises(tv.errors.InvalidArgumentError, match=r"^Integer division by zero in"):
        f(tv.constant(7, dtype), tv.constant(0, dtype))
    with pytest.raises(tv.errors.InvalidArgumentError) as info:
        f(tv.constant([[7, 8, 9], [1, 2, 3]], dtype), tv.constant([3, 0, 0], dtype))
    message = str(info.value)
    assert "y is 0 at index (1,) and 1 more place (TensorFlow" in message
    assert "tv.cast(x, tv.float32)" in message and "tv.where(y == 0" in message
    with pytest.raises(tv.errors.InvalidArgumentError):  # a Python 0 too
        f(tv.constant([1, 2], dtype), 0)
    assert isinstance(info.value, tv.errors.OpError)


def test_integer_division_without_zeros_floors_as_tensorflow() -> None:
    x, y = tv.constant([7, -7, 7, -7]), tv.constant([2, 2, -2, -2])
    assert (x // y).numpy().tolist() == [3, -4, -4, 3]
    assert (x % y).numpy().tolist() == [1, 1, -1, -1]
    with tv.GradientTape() as tape:  # recording does not change it
        tape.watch(tv.constant(1.0))
        assert (tv.constant([5], tv.uint8) // tv.constant([2], tv.uint8)).numpy().tolist() == [2]


def test_float_division_by_zero_stays_inf_and_nan() -> None:
    x, y = tv.constant([7.0, -7.0]), tv.constant([0.0, 2.0])
    np.testing.assert_array_equal((x // y).numpy(), np.float32([np.inf, -4.0]))
    np.testing.assert_array_equal((x % y).numpy(), np.float32([np.nan, 1.0]))


@pytest.mark.filterwarnings("ignore::tapeviz.compiler.tf_function.RetracingWarning")
@pytest.mark.parametrize("op", ["//", "%"])
def test_compiled_integer_division_by_zero_raises(op: str) -> None:
    f = DIVISIONS[op]
    g = tv.function(lambda x, y: f(x, y) * 2)
    ok = g(tv.constant([7, -7]), tv.constant([2, 2])).numpy().tolist()
    assert ok == ([6, -8] if op == "//" else [2, 2])
    for x, y in [
        (tv.constant(7), tv.constant(0)),  # scalars
        (tv.constant([[7, 8], [1, 2]]), tv.constant([3, 0])),  # broadcast divisor
        (tv.constant([1, 2], tv.int64), tv.constant(0, tv.int64)),
    ]:
        with pytest.raises(tv.errors.InvalidArgumentError, match=r"^Integer division by zero"):
            g(x, y)
    const = tv.function(lambda x: f(x, 0))  # a constant zero divisor
    with pytest.raises(tv.errors.InvalidArgumentError, match=r"^Integer division by zero"):
        const(tv.constant([3, 4]))
    # a zero in one iteration of a compiled loop
    acc = tv.Variable(0)

    @tv.function
    def loop(n: Any) -> Any:
        for i in tv.range(n):
            acc.assign_add(f(tv.constant(12), i - 2))
        return acc

    assert int(loop(tv.constant(2))) == (12 // -2 + 12 // -1 if op == "//" else 0)
    with pytest.raises(tv.errors.InvalidArgumentError, match=r"^Integer division by zero"):
        loop(tv.constant(3))


@pytest.mark.skipif(JIT_DISABLED, reason="nothing is compiled")
def test_compiled_division_by_zero_raises_from_code_loaded_from_the_cache(tmp_path: Any) -> None:
    code = """
        import tapeviz as tv
        f = tv.function(lambda x, y: x // y)
        print(f(tv.constant([9]), tv.constant([2])).numpy().tolist())
        try:
            f(tv.constant([9]), tv.constant([0]))
        except tv.errors.InvalidArgumentError as e:
            print(str(e)[:24])
        d = f.get_concrete_function(tv.constant([9]), tv.constant([0]))._compiled.dispatcher
        print(sum(d.stats.cache_hits.values()))
        """
    env = {"TAPEVIZ_CACHE_DIR": str(tmp_path)}
    assert run_python(code, env).split("\n")[:3] == ["[4]", "Integer division by zero", "0"]
    assert run_python(code, env).split("\n")[:3] == ["[4]", "Integer division by zero", "1"]


def test_the_errors_module_example() -> None:
    result = doctest.testmod(tapeviz.errors)
    assert result.attempted > 0 and result.failed == 0
