"""Python numbers and dtypes on both sides of binary operators: the float tensor's dtype
wins, reflected operators differentiate like numpy, integer results follow TensorFlow and
are never recorded, and broadcasting with scalars.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapeviz as tv

from .sweeps import F64, fd

# --- Python numbers and dtypes on both sides of binary operators ---------------------------------
OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
    "tv.add": tv.add,
    "tv.subtract": tv.subtract,
    "tv.multiply": tv.multiply,
    "tv.divide": tv.divide,
    "tv.pow": tv.pow,
}
_SYMBOL = {"tv.add": "+", "tv.subtract": "-", "tv.multiply": "*", "tv.divide": "/", "tv.pow": "**"}
RTOL = {"float16": 1e-3, "float32": 2e-7, "float64": 1e-15}
NUMPY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "**": np.power,
}


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("opname", list(OPS))
@pytest.mark.parametrize("number", [3, 0.5])
@pytest.mark.parametrize("shape", [(), (2,)])
def test_python_numbers_take_the_float_tensors_dtype_on_either_side(
    dtype: str, opname: str, number: float, shape: tuple[int, ...]
) -> None:
    npop = NUMPY_OPS[_SYMBOL.get(opname, opname)]
    base = np.array([1.5, 2.0][: (shape[0] if shape else 1)], dtype=dtype).reshape(shape)
    t = tv.constant(base)
    num = np.dtype(dtype).type(number)
    for left in (True, False):
        with tv.GradientTape() as tape:
            tape.watch(t)
            out = OPS[opname](t, number) if left else OPS[opname](number, t)
        want = npop(base, num) if left else npop(num, base)
        assert out.dtype.name == dtype
        assert out.shape == shape
        # (numpy's float32 array power can differ by 1 ulp from its scalar power)
        np.testing.assert_allclose(out.numpy(), want, rtol=RTOL[dtype])
        g = tape.gradient(out, t)
        assert g is not None and g.dtype.name == dtype and g.shape == shape
        rec = tape.record()
        consts = [n for n in rec.nodes if n.kind == "constant" and n.shape == ()]
        # the number became a recorded constant of the tensor's dtype, on its side
        op_node = next(n for n in rec.nodes if n.kind == "op")
        number_node = rec.node(op_node.inputs[1 if left else 0])
        assert number_node in consts and number_node.dtype == dtype
        assert number_node.value.tolist() == float(num)


@pytest.mark.parametrize("opname", ["+", "-", "*", "/", "**"])
def test_reflected_operators_differentiate_like_numpy_in_float64(opname: str) -> None:
    x0 = np.array([0.5, 1.25, 2.0])
    x = tv.Variable(x0, name="x")
    npop = NUMPY_OPS[opname]
    for left in (True, False):
        with tv.GradientTape() as tape:
            y = tv.reduce_sum(OPS[opname](x, 1.5) if left else OPS[opname](1.5, x))
        g = tape.gradient(y, x).numpy()
        f = (
            (lambda v: float(np.sum(npop(v, 1.5))))
            if left
            else (lambda v: float(np.sum(npop(1.5, v))))
        )
        np.testing.assert_allclose(g, fd(f, x0), rtol=1e-8)
        assert len(tape.record().sweep) == 2  # the op and the sum


def test_integer_tensors_with_python_numbers_follow_tensorflow() -> None:
    i = tv.constant([4, 6], dtype="int32")
    assert (i + 2).dtype == tv.int32 and (i + 2).numpy().tolist() == [6, 8]
    assert (2 * i).numpy().tolist() == [8, 12] and (2 * i).dtype == tv.int32
    assert (i - 5).numpy().tolist() == [-1, 1]
    q = i / 4  # truediv of int32 gives float64 (TF)
    assert q.dtype == tv.float64 and q.numpy().tolist() == [1.0, 1.5]
    q2 = 3 / i
    assert q2.dtype == tv.float64 and q2.numpy().tolist() == [0.75, 0.5]
    s = tv.constant(7, dtype="int32") / tv.constant(2, dtype="int32")  # two scalars
    assert s.dtype == tv.float64 and float(s) == 3.5
    for bad in (lambda: i * 2.5, lambda: 2.5 * i, lambda: i + 0.5, lambda: 1.5**i):
        with pytest.raises(TypeError):
            bad()
    with pytest.raises(TypeError):
        tv.constant(1.0) + tv.constant(1.0, dtype=F64)
    with pytest.raises(TypeError):
        tv.constant(np.float32(1.0)) * tv.constant(np.float16(1.0))  # two scalars, two types


def test_int_and_bool_results_are_never_recorded() -> None:
    x = tv.Variable([1.0, -2.0, 3.0], name="x")
    n = tv.Variable([1, 2, 3], name="n")
    with tv.GradientTape() as tape:
        m = x > 0.0
        k = tv.cast(x, tv.int32) * 2
        nn = n * 3 + n
        c = tv.cast(m, tv.float32)  # from a bool: not connected
        y = tv.reduce_sum(x * c)
    assert m.dtype == tv.bool and k.numpy().tolist() == [2, -4, 6]
    assert nn.numpy().tolist() == [4, 8, 12]
    rec = tape.record()
    assert all(nd.dtype.startswith("float") for nd in rec.nodes if nd.kind == "op")
    assert [nd.op for nd in rec.nodes if nd.kind == "op"] == ["multiply", "reduce_sum"]
    assert tape.watched_variables() == (x,)
    assert tape.gradient(y, x).numpy().tolist() == [1.0, 0.0, 1.0]


def test_broadcasting_with_scalars_and_arrays_in_float64() -> None:
    a0 = np.array([[1.0], [2.0]])
    b0 = np.array([0.5, -1.0, 2.0])
    s0 = 1.5
    a = tv.Variable(a0, name="a")
    b = tv.Variable(b0, name="b")
    s = tv.Variable(s0, dtype=F64, name="s")

    def f(av: Any, bv: Any, sv: Any) -> float:
        return float(np.sum((av * bv - sv) / (bv * bv + sv) + av**sv))

    with tv.GradientTape() as tape:
        y = tv.reduce_sum((a * b - s) / (b * b + s) + a**s)
    ga, gb, gs = tape.gradient(y, [a, b, s])
    assert (ga.shape, gb.shape, gs.shape) == ((2, 1), (3,), ())
    np.testing.assert_allclose(ga.numpy(), fd(lambda v: f(v, b0, s0), a0), rtol=1e-8)
    np.testing.assert_allclose(gb.numpy(), fd(lambda v: f(a0, v, s0), b0), rtol=1e-8)
    np.testing.assert_allclose(gs.numpy(), fd(lambda v: f(a0, b0, v), s0), rtol=1e-8)
    rec = tape.record()
    assert rec.gradients[rec.node_of(s).id].shape == ()  # type: ignore[union-attr]
    assert any("Σ(" in st.formula for st in rec.sweep)


def test_python_numbers_with_float32_scalars_are_exact_every_time() -> None:
    # float32 scalar operands convert a Python number once and reuse it: the second use of
    # a number must give the same float32 as the first, a zero keeps its sign, and 1 (int)
    # and 1.0 are the same number
    x = tv.constant(np.float32(3.0))
    for _ in range(2):
        assert (x * 0.1).numpy() == np.float32(3.0) * np.float32(0.1)
        assert (x * 0.1).numpy() == np.float32(0.3)  # float32 arithmetic, not 0.30000000000000004
        assert (0.1 * x).numpy() == np.float32(0.3)
    for zero, sign in ((-0.0, True), (0.0, False), (-0.0, True), (0, False)):
        assert np.signbit((x * zero).numpy()) == sign
        assert np.signbit((zero * x).numpy()) == sign
    for one in (1, 1.0, 1, 1.0):
        out = x * one
        assert type(out.numpy()) is np.float32 and out.numpy() == np.float32(3.0)
    with tv.GradientTape() as tape:
        tape.watch(x)
        y = 0.25 * x * 0.25
    assert tape.gradient(y, x).numpy() == np.float32(0.0625)
    consts = [n.value.tolist() for n in tape.record().nodes if n.kind == "constant"]
    assert sorted(consts) == [0.25, 0.25, 3.0]  # the two numbers, and x
