"""Adding an op touches one place: its ``Op`` entry (issue 18).

``softsign(x) = x / (1 + |x|)`` is defined in this file and nowhere else — forward, VJP rule,
symbol, formula and kernel — and registered through the public API
(``tapeviz.ops.register``).  Every part of tapeviz then picks it up: eager values and
gradients, second order (checked by finite differences), ``tv.function`` (numba code with the
op fused with its neighbours, single numbers, the numpy interpreter) and the drawings.  The
fixture unregisters it again.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.compiler import codegen, fusion, interp, tracer
from tapeviz.ops import REGISTRY, Kernel, Op, register, unregister


def _softsign_forward(x: Any) -> Any:
    return x / (1 + np.abs(x))


def _softsign_vjp(k: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    # d/dx x / (1 + |x|) = 1 / (1 + |x|)²
    return (g / k.square(1.0 + k.abs(x)),)


SYMBOL = "x/(1+|x|)"
JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


def _softsign_op() -> Op:
    return Op(
        "softsign",
        _softsign_forward,
        _softsign_vjp,
        symbol=SYMBOL,
        latex=r"\frac{x}{1 + |x|}",
        grad_text=("{g} / (1 + |{x}|)²",),
        doc="Elementwise softsign x / (1 + |x|).",
        elementwise=True,
        kernel=Kernel("{x} / ({one} + np.abs({x}))"),
    )


@pytest.fixture
def softsign() -> Iterator[Op]:
    op = register(_softsign_op())
    try:
        yield op
    finally:
        unregister(op)


X32 = np.array([[-3.5, -1.0, -0.25, 0.0], [0.125, 0.5, 2.0, 7.75]], np.float32)


def test_eager_values_and_gradient(softsign: Op) -> None:
    x = tv.constant(X32)
    with tv.GradientTape() as tape:
        tape.watch(x)
        y = softsign(x)
    g = tape.gradient(y, x)
    assert y.dtype == tv.float32 and y.shape == (2, 4)
    np.testing.assert_array_equal(y.numpy(), X32 / (np.float32(1) + np.abs(X32)))
    np.testing.assert_array_equal(g.numpy(), np.float32(1) / np.square(1 + np.abs(X32)))
    assert y.numpy()[0, 1] == -0.5 and g.numpy()[0, 1] == 0.25  # softsign(-1), 1/(1+1)²
    # the gradient is the slope: central differences in float64
    x64 = X32.astype(np.float64)
    h = 1e-6
    slope = (_softsign_forward(x64 + h) - _softsign_forward(x64 - h)) / (2 * h)
    np.testing.assert_allclose(g.numpy(), slope, rtol=1e-6)


def test_second_order_by_finite_differences(softsign: Op) -> None:
    x0 = np.array([-2.5, -0.75, 0.3, 1.0, 4.0])  # float64, away from the kink at 0

    def first(v: np.ndarray) -> np.ndarray:
        x = tv.constant(v)
        with tv.GradientTape() as tape:
            tape.watch(x)
            y = softsign(x)
        return tape.gradient(y, x).numpy()

    x = tv.constant(x0)
    with tv.GradientTape() as outer:
        outer.watch(x)
        with tv.GradientTape() as inner:
            inner.watch(x)
            y = softsign(x)
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    assert d2y is not None and d2y.dtype == tv.float64
    h = 1e-5
    np.testing.assert_allclose(d2y.numpy(), (first(x0 + h) - first(x0 - h)) / (2 * h), rtol=1e-7)
    np.testing.assert_allclose(d2y.numpy(), -2 * np.sign(x0) / (1 + np.abs(x0)) ** 3, rtol=1e-14)


def _step(op: Op) -> Any:
    def step(x: tv.Tensor, w: tv.Tensor) -> tuple[tv.Tensor, tv.Tensor]:
        with tv.GradientTape() as tape:
            tape.watch(x)
            y = op(x * w) + 1.0
            loss = tv.reduce_sum(y * y)
        return y, tape.gradient(loss, x)

    return step


def test_compiled_fused_with_its_neighbours(softsign: Op) -> None:
    rng = np.random.default_rng(18)
    x = tv.constant(rng.uniform(-4, 4, (300, 7)).astype(np.float32))
    w = tv.constant(rng.uniform(-2, 2, (7,)).astype(np.float32))
    step = _step(softsign)
    eager = step(x, w)
    f = tv.function(step)
    compiled = f(x, w)
    cf = f.get_concrete_function(x, w)
    for e, c in zip(eager, compiled, strict=True):
        np.testing.assert_array_equal(c.numpy(), e.numpy())  # bit for bit
    assert "softsign" in {e.prim for e in cf.program.eqns}
    # x * w, softsign of it, + 1 in one loop: the kernel reads the product's register
    src = codegen.generate(cf.program, "step").source  # (cf.source: None on the interpreter)
    body = src.split("@_njit")[1]
    m = re.search(
        r"(e\d+) = t\d+\[_i0, _i1\] \* t\d+\[_i1\]\n\s+e\d+ = (e\d+) / \(k\d+ \+ np", body
    )
    assert m is not None and m.group(1) == m.group(2), body
    assert "np.abs(" + m.group(1) + ")" in body
    # the numpy interpreter runs the forward of the entry: the eager bits too
    outs, _ = interp.run(cf.program, [x.numpy(), w.numpy()], [])
    np.testing.assert_array_equal(outs[0], eager[0].numpy())


def test_compiled_on_single_numbers(softsign: Op) -> None:
    f = tv.function(lambda x: softsign(x) * 3.0)
    for v in (-2.0, 0.0, 0.75):
        x = tv.constant(v)
        assert f(x).numpy() == (softsign(x) * 3.0).numpy()
    body = codegen.generate(f.get_concrete_function(tv.constant(1.0)).program, "f").body
    assert re.search(r"t\d+ = t1 / \(k\d+ \+ np\.abs\(t1\)\)", body), body


def test_drawn_with_its_symbol(softsign: Op) -> None:
    x = tv.Variable([0.5, -2.0], name="x")
    with tv.GradientTape(persistent=True) as tape:
        y = softsign(x)
    nodes = [n for n in tape.record().nodes if n.op == "softsign"]
    assert len(nodes) == 1 and nodes[0].symbol == SYMBOL
    np.testing.assert_array_equal(nodes[0].value, np.float32([0.5, -2.0]) / np.float32([1.5, 3]))
    tape.gradient(y, x)
    dot = tv.viz.graph(tape).source
    assert f">{SYMBOL}</FONT>" in dot, dot  # the op's circle
    # its tooltip: the VJP rule of the entry with the numbers filled in
    assert "∂L/∂x += ∂L/∂y / (1 + |x|)² = [1,1] / (1 + |[0.5,-2]|)²" in dot, dot


def test_registration_is_undone_by_unregister() -> None:
    op = register(_softsign_op())
    with pytest.raises(ValueError, match="registered twice"):
        register(_softsign_op())
    assert "softsign" in fusion.FUSIBLE and "softsign" in codegen.LOWER
    assert "softsign" in tracer.ELEMENTWISE
    unregister(op)
    assert "softsign" not in REGISTRY
    for table in (fusion.FUSIBLE, codegen.LOWER, tracer.ELEMENTWISE):
        assert "softsign" not in table
    from tapeviz.ops._registry import NUMPY, TENSOR

    assert not hasattr(NUMPY, "softsign") and not hasattr(TENSOR, "softsign")
    with pytest.raises(KeyError, match="no op 'softsign'"):
        unregister("softsign")


@pytest.mark.skipif(JIT_DISABLED, reason="NUMBA_DISABLE_JIT=1: tv.function interprets, no code")
def test_an_op_without_compiled_form_says_so_when_compiled() -> None:
    bare = register(Op("softsign", _softsign_forward, _softsign_vjp, symbol=SYMBOL))
    try:
        x = tv.constant([0.5, -2.0], tv.float64)
        assert bare(x).numpy().tolist() == [0.5 / 1.5, -2.0 / 3.0]  # eager: fine
        f = tv.function(lambda x: bare(x) + 1.0)
        with pytest.raises(NotImplementedError, match=r"op 'softsign': its Op entry has no kernel"):
            f(x)
    finally:
        unregister(bare)
