"""Each op's compiled form lives in its registry entry (issue 18, "one place per op").

The compiler's tables are read-only views derived from the ``Op`` entries: ``codegen.LOWER``
(code on whole values), ``fusion.FUSIBLE`` (one element inside a fused loop),
``fusion._INT_WIDENING`` and ``tracer.ELEMENTWISE``.  These tests walk the registry: every op
has a compiled form or says why it has none, and no table names an op that does not exist.
They also pin down how two old disagreements between the tables were resolved:

* ``floordiv`` and ``mod`` are elementwise (shape inference) but have no kernel: an integer
  zero divisor must raise before anything is computed, so they are lowered whole and end a
  fused loop;
* ``broadcast_to`` has a kernel (an element of its output is ``x``'s element at the broadcast
  index) but is not elementwise: its output's shape is an attr, not a broadcast of inputs.

Both give the same bits fused, unfused and eagerly.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.compiler import codegen, fusion, tracer
from tapeviz.ops import REGISTRY, Kernel, KernelCall, Op

from .test_lowering import _import_all_tapeviz_modules

_import_all_tapeviz_modules()


def _call(op: Op, n_inputs: int, dtype: Any = np.float32) -> KernelCall:
    return KernelCall(
        args=[f"a{i}" for i in range(n_inputs)],
        dtype=np.dtype(dtype),
        consts=[None] * n_inputs,
        scalar=lambda v: f"np.{np.dtype(dtype).name}({v!r})",
    )


_PREDICATES = ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal")


def _arity(op: Op) -> int:
    if op.name in ("where", "clip_by_value"):
        return 3
    return 2 if op.broadcasts or op.name in (*_PREDICATES, "logical_and", "logical_or") else 1


def test_every_op_has_a_compiled_form_or_says_why_not() -> None:
    for name, op in REGISTRY.items():
        compiled = op.kernel is not None or name in codegen.LOWERINGS
        if op.interpreter_only:
            assert not compiled, f"{name}: interpreter_only, yet it has a compiled form"
            assert len(op.interpreter_only.split()) >= 5, f"{name}: say why, in a sentence"
        else:
            assert compiled, f"{name}: give it a Kernel, a lowering, or interpreter_only='why'"


def test_no_table_entry_without_an_op() -> None:
    assert set(codegen.LOWERINGS) <= set(REGISTRY), set(codegen.LOWERINGS) - set(REGISTRY)
    assert not set(codegen.EQUATIONS) & set(REGISTRY)  # (random draws: no op)
    for table in (codegen.LOWER, fusion.FUSIBLE, fusion._INT_WIDENING, tracer.ELEMENTWISE):
        assert set(table) <= set(REGISTRY)
        assert "no_such_op" not in table
        with pytest.raises(KeyError):
            table["no_such_op"]


def test_the_tables_are_derived_from_the_entries() -> None:
    kernels = {n for n, op in REGISTRY.items() if op.kernel is not None}
    assert set(fusion.FUSIBLE) == kernels
    assert set(codegen.LOWER) == kernels | set(codegen.LOWERINGS)
    assert set(tracer.ELEMENTWISE) == {n for n, op in REGISTRY.items() if op.elementwise}
    assert set(fusion._INT_WIDENING) == {
        n
        for n in kernels
        if REGISTRY[n].kernel.widens_ints  # type: ignore[union-attr]
    }
    # what the four hand-kept tables said before, where they agreed
    assert {"add", "exp", "where", "cast", "relu", "sigmoid", "pow"} <= kernels
    assert set(fusion._INT_WIDENING) == {
        *("add", "subtract", "multiply", "negative", "square", "abs", "sign", "pow")
    }
    # the resolved disagreements (see the module docstring)
    for name in ("floordiv", "mod"):
        assert name in tracer.ELEMENTWISE and name not in fusion.FUSIBLE
        assert name in codegen.LOWER
    assert "broadcast_to" in fusion.FUSIBLE and "broadcast_to" not in tracer.ELEMENTWISE
    # every other elementwise op fuses
    assert set(tracer.ELEMENTWISE) - set(fusion.FUSIBLE) == {"floordiv", "mod"}


def test_the_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        codegen.LOWER["exp"] = codegen.LOWER["log"]  # type: ignore[index]
    with pytest.raises(TypeError):
        fusion.FUSIBLE["exp"] = fusion.FUSIBLE["log"]  # type: ignore[index]


@pytest.mark.parametrize("name", sorted(n for n, op in REGISTRY.items() if op.kernel))
def test_every_kernel_gives_python_source(name: str) -> None:
    op = REGISTRY[name]
    assert op.kernel is not None
    for dtype in (np.float32, np.float64, np.int32):
        call = _call(op, _arity(op), dtype)
        for src in (op.kernel.element(call), op.kernel.whole(call)):
            compile(src, name, "eval")  # a SyntaxError names the op
            if name not in _CONSTANT:
                assert all(a in src for a in call.args), src


_CONSTANT = {"zeros_like", "ones_like"}  # their element does not read the input


def test_a_template_with_an_unknown_field_is_refused_when_written() -> None:
    with pytest.raises(ValueError, match=r"unknown field \{w\}.*\{x\}, \{y\}, \{z\}"):
        Kernel("np.exp({w})")
    with pytest.raises(ValueError, match=r"unknown field \{\}"):
        Kernel("{x}", float32="K.exp32({})")


def _run_three_ways(fn: Any, *xs: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """``fn`` eagerly, compiled with fusion, and compiled with fusion switched off."""
    ts = [tv.constant(x) for x in xs]
    eager = fn(*ts).numpy()
    fused_fn = tv.function(fn)
    fused = fused_fn(*ts).numpy()
    fused_src = codegen.generate(fused_fn.get_concrete_function(*ts).program, "f").source
    with monkeypatch.context() as m:
        m.setattr(fusion, "FUSIBLE", {})  # plan() then makes no group: every op whole
        unfused_fn = tv.function(fn)
        unfused = unfused_fn(*ts).numpy()
        unfused_src = codegen.generate(unfused_fn.get_concrete_function(*ts).program, "f").source
    assert "for _i0 in range" in fused_src and "for _i0 in range" not in unfused_src
    return [eager, fused, unfused, fused_src]


def test_float_floordiv_and_mod_are_lowered_whole_between_fused_loops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(18)
    x = rng.uniform(-50, 50, (64, 33)).astype(np.float32)
    y = rng.uniform(0.5, 3, (33,)).astype(np.float32)
    y[3] = 0.0  # a float zero divisor: inf // and nan %, as in TensorFlow (sum: nan)

    def f(x: tv.Tensor, y: tv.Tensor) -> tv.Tensor:
        return ((x * 1.5) // y) * 2.0 + ((x - 1.0) % y)

    with np.errstate(all="ignore"):
        eager, fused, unfused, src = _run_three_ways(f, x, y, monkeypatch=monkeypatch)
    assert np.isnan(eager[:, 3]).all() and np.isfinite(np.delete(eager, 3, axis=1)).all()
    for got in (fused, unfused):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, eager)  # bit for bit (nan where nan)
    # the divisions are whole-array calls outside the loops; their neighbours fuse
    assert re.search(r"^\s{4}t\d+ = np\.floor_divide\(", src, re.M), src
    assert re.search(r"^\s{4}t\d+ = np\.mod\(", src, re.M), src
    assert src.count("for _i0 in range") >= 2


def test_broadcast_to_joins_the_loop_as_an_index(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(19)
    x = rng.uniform(-2, 2, (48, 40)).astype(np.float32)
    b = rng.uniform(-2, 2, (40,)).astype(np.float32)

    def f(x: tv.Tensor, b: tv.Tensor) -> tv.Tensor:
        return tv.tanh(x) * (tv.broadcast_to(b, [48, 40]) * 3.0) - 0.5

    eager, fused, unfused, src = _run_three_ways(f, x, b, monkeypatch=monkeypatch)
    # tanh of float32 arrays: TensorFlow's kernel fused, numba's np.tanh unfused
    np.testing.assert_allclose(fused, eager, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(unfused, eager, rtol=2e-6, atol=1e-6)
    assert src.count("for _i0 in range") == 1  # tanh, the broadcast, *, *, -: one loop
    assert "np.broadcast_to" not in src
    assert re.search(r"e\d+ = t\d+\[_i1\]$", src, re.M), src  # b's element, by the index

    def g(x: tv.Tensor, b: tv.Tensor) -> tv.Tensor:  # no transcendental: all bit for bit
        return x * tv.broadcast_to(b * 3.0, [48, 40]) - 0.5

    eager, fused, unfused, _ = _run_three_ways(g, x, b, monkeypatch=monkeypatch)
    np.testing.assert_array_equal(fused, eager)
    np.testing.assert_array_equal(unfused, eager)
