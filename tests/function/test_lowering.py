"""Every op of the registry has a lowering, and the compiled code computes what eager
tapeviz computes — forward values and gradients (STYLE rule 11, for the compiler).

The interpreter (:mod:`tapeviz.compiler.interp`, what runs under ``NUMBA_DISABLE_JIT=1``)
runs the registry's own numpy forwards, so it must be bit for bit equal to eager code.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pytest
from ulp import within_ulps

import tapeviz as tv
from tapeviz.compiler import interp
from tapeviz.compiler.codegen import LOWER
from tapeviz.compiler.ir import walk
from tapeviz.ops import REGISTRY
from tapeviz.ops.math import NO_COMPLEX_KERNELS

from .cases import CASES, Case

JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


def _import_all_tapeviz_modules() -> None:
    """Ops may be registered by any module (keras, viz...): import them all first."""
    import importlib
    import pkgutil

    for mod in pkgutil.walk_packages(tv.__path__, "tapeviz."):
        importlib.import_module(mod.name)


_import_all_tapeviz_modules()

# ops the compiler never emits, each with its reason in its Op entry: custom_gradient (traced
# as the ops of f and grad_fn) and the complex ops (no numba complex kernels: tv.function runs
# their programs on the interpreter, tests/engine/test_complex.py)
NOT_LOWERED = {name for name, op in REGISTRY.items() if op.interpreter_only}
COMPLEX_ONLY = {n for n, op in REGISTRY.items() if op.interpreter_only == NO_COMPLEX_KERNELS}
SIMPLIFIED = {"identity"}  # the tracer passes its input on: no equation


def close(a: np.ndarray, b: np.ndarray, ulps: int) -> bool:
    """Equal, or within ``ulps`` float32 spacings (of the values, or of the array's scale:
    gradients like ``1 - tanh²`` cancel and near-zero entries carry absolute errors).
    float32 subnormals count as zero: compiled code flushes them, as TensorFlow does
    (tests/function/test_subnormals.py); eager numpy keeps them."""
    a = np.asarray(a)
    finite = np.abs(a[np.isfinite(a)]) if a.dtype.kind == "f" else np.zeros(0)
    return within_ulps(a, b, ulps, scale=float(np.max(finite, initial=0.0)), flush=True)


def _diff(case: Case) -> tuple[int, ...]:
    if case.diff is not None:
        return case.diff
    return tuple(i for i, x in enumerate(case.inputs) if np.asarray(x).dtype.kind == "f")


def _forward_and_gradients(case: Case, ts: list[tv.Tensor]) -> object:
    """``xs -> [f(xs), ∂(Σ u·f(xs))/∂xᵢ ...]`` with fixed random weights ``u``."""
    diff = _diff(case)
    shape = np.shape(case.fn(*ts).numpy())
    u = tv.constant(np.random.default_rng(7).uniform(0.5, 1.5, shape).astype(np.float32))

    def both(*xs: tv.Tensor) -> list[object]:
        with tv.GradientTape(persistent=True) as tape:
            for i in diff:
                tape.watch(xs[i])
            y = case.fn(*xs)
            loss = tv.reduce_sum(tv.cast(y, tv.float32) * u) if diff else None
        return [y] + [tape.gradient(loss, xs[i]) for i in diff]

    return both


def test_every_registered_op_has_a_lowering() -> None:
    missing = set(REGISTRY) - set(LOWER) - NOT_LOWERED
    assert not missing, f"ops without code generation: {sorted(missing)}"


def test_every_registered_op_has_a_case() -> None:
    covered = {c.name for c in CASES} | {op for c in CASES for op in c.ops}
    missing = set(REGISTRY) - covered - COMPLEX_ONLY
    assert not missing, f"add compiler test cases for: {sorted(missing)}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_compiled_equals_eager(case: Case) -> None:
    ts = [tv.constant(x) for x in case.inputs]
    both = _forward_and_gradients(case, ts)
    eager = both(*ts)
    f = tv.function(both)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # many functions of one Python function: retracing
        compiled = f(*ts)
    cf = f.get_concrete_function(*ts)
    if case.name not in NOT_LOWERED | SIMPLIFIED:
        prims = {e.prim for e in walk(cf.program.eqns)}
        assert case.name in prims or case.ops, f"the program has no {case.name}: {prims}"
    # float32 x ** c for the constants TensorFlow's graph optimizer rewrites (x * x for
    # c = 2...): tv.function computes them as tf.function does, eager as eager TensorFlow
    # (generic_pow), so there the interpreter must give the compiled bits instead of eager's
    rewritten = any(
        e.prim == "pow" and interp._graph_pow(e) is not None for e in walk(cf.program.eqns)
    )
    outs, _ = interp.run(cf.program, [t._value for t in ts], [v._value for v in cf.variables])
    interpreted = iter(
        outs[v] if kind == "out" else (v.numpy() if isinstance(v, tv.Tensor) else v)
        for kind, v in cf._out_leaves
    )
    for k, (e, c) in enumerate(zip(eager, compiled, strict=True)):
        what = "value" if k == 0 else f"gradient {k}"
        if e is None:
            assert c is None
            continue
        ulps = (
            case.ulps if k == 0 else (case.grad_ulps if case.grad_ulps is not None else case.ulps)
        )
        assert close(e.numpy(), c.numpy(), ulps), f"{what}: eager {e.numpy()} compiled {c.numpy()}"
        i = next(interpreted)
        want = c if rewritten else e
        assert np.array_equal(np.asarray(want.numpy()), np.asarray(i), equal_nan=True), what


# --- eager scalar pow ----------------------------------------------------------------------------
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scalar_pow_eager_equals_compiled_and_c_pow(dtype: Any) -> None:
    """Eager ``tv.pow`` of two numpy scalars of one float type is numpy's scalar power (C's
    powf/pow): equal to compiled code bit for bit, quiet for NaN/inf results, and
    ``0.9f ** 4`` is TensorFlow's 0.6560999."""
    rng = np.random.default_rng(7)
    xs = np.concatenate([rng.uniform(0, 3, 60), [0.0, -0.0, -2.0, -8.0, np.inf, np.nan, 1e-30]])
    ys = np.concatenate([rng.uniform(-6, 6, 60), [-1.0, 0.5, 1 / 3, 2.5, -3.0, 4.0, 5.0]])
    f = tv.function(lambda x, y: tv.pow(x, y))
    for x, y in zip(xs.astype(dtype), ys.astype(dtype), strict=True):
        eager = tv.pow(tv.constant(x), tv.constant(y)).numpy()
        assert type(eager) is dtype
        with np.errstate(all="ignore"):
            assert np.array_equal(eager, x**y, equal_nan=True), (x, y)
        compiled = f(tv.constant(x), tv.constant(y)).numpy()
        assert np.array_equal(eager, compiled, equal_nan=True), (x, y, eager, compiled)
    assert tv.pow(tv.constant(np.float32(0.9)), tv.constant(np.float32(4))).numpy() == np.float32(
        0.6560999
    )
