"""Every op of the registry has a lowering, and the compiled code computes what eager
tapeviz computes — forward values and gradients (STYLE rule 11, for the compiler).

The interpreter (:mod:`tapeviz.compiler.interp`, what runs under ``NUMBA_DISABLE_JIT=1``)
runs the registry's own numpy forwards, so it must be bit for bit equal to eager code.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.compiler import interp
from tapeviz.compiler.codegen import LOWER
from tapeviz.compiler.ir import walk
from tapeviz.ops import REGISTRY

from .cases import CASES, Case


def _import_all_tapeviz_modules() -> None:
    """Ops may be registered by any module (keras, viz...): import them all first."""
    import importlib
    import pkgutil

    for mod in pkgutil.walk_packages(tv.__path__, "tapeviz."):
        importlib.import_module(mod.name)


_import_all_tapeviz_modules()

NOT_LOWERED = {"custom_gradient"}  # traced as the ops of f and grad_fn, never emitted
SIMPLIFIED = {"identity"}  # the tracer passes its input on: no equation


def close(a: np.ndarray, b: np.ndarray, ulps: int) -> bool:
    """Equal, or within ``ulps`` float32 spacings (of the values, or of the array's scale:
    gradients like ``1 - tanh²`` cancel and near-zero entries carry absolute errors).
    float32 subnormals count as zero: compiled code flushes them, as TensorFlow does
    (tests/function/test_subnormals.py); eager numpy keeps them."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype == np.float32:
        tiny = np.finfo(np.float32).tiny
        a, b = (np.where(np.abs(v) < tiny, np.float32(0), v) for v in (a, b))
    if np.array_equal(a, b, equal_nan=True):
        return True
    if ulps == 0 or a.dtype.kind != "f":
        return False
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    finite = np.isfinite(a64) & np.isfinite(b64)
    if not np.array_equal(np.isfinite(a64), np.isfinite(b64)):
        return False
    spacing = np.spacing(np.maximum(np.abs(a), np.abs(b)).astype(a.dtype)).astype(np.float64)
    scale = float(np.max(np.abs(a64[finite]), initial=0.0)) * np.finfo(a.dtype).eps
    err = np.abs(a64 - b64)[finite]
    return bool(np.all(err <= ulps * np.maximum(spacing[finite], scale)))


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
    missing = set(REGISTRY) - covered
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
        assert np.array_equal(np.asarray(e.numpy()), np.asarray(i), equal_nan=True), what
