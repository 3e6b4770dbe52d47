"""``tv.cond`` and ``tv.while_loop``: eager, traced with a known predicate, traced into
``if``/``while`` blocks; gradients; the IR, the generated code and the drawings."""

from __future__ import annotations

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.compiler import interp
from tapeviz.compiler.ir import walk

pytestmark = pytest.mark.filterwarnings("ignore:.*triggered tv.function retracing")


# --- eager ------------------------------------------------------------------------------------
def test_eager_cond_runs_one_branch_and_returns_it_as_is():
    ran = []
    out = tv.cond(
        tv.constant(3.0) > 1.0, lambda: ran.append("t") or 1, lambda: ran.append("f") or 2
    )
    assert out == 1 and ran == ["t"]  # TensorFlow returns the branch's Python value
    assert tv.cond(False, lambda: 1.0, lambda: "no") == "no"


def test_eager_cond_checks_its_arguments():
    with pytest.raises(TypeError, match="true_fn must be callable"):
        tv.cond(True, 1.0, lambda: 2.0)
    with pytest.raises(ValueError, match="scalar"):
        tv.cond(tv.constant([True, False]), lambda: 1, lambda: 2)


def test_eager_while_loop_converts_numbers_like_tensorflow():
    i, s = tv.while_loop(lambda i, s: i < 10, lambda i, s: (i + 1, s * 2.0), (0, 1.0))
    assert i.dtype == tv.int32 and int(i) == 10  # TF: tf.Tensor(10, int32)
    assert s.dtype == tv.float32 and float(s) == 1024.0
    (n,) = tv.while_loop(
        lambda i: i < 10, lambda i: (i + 1,), (tv.constant(0),), maximum_iterations=3
    )
    assert int(n) == 3
    out = tv.while_loop(lambda i: i < 10, lambda i: [i + 1], [0])
    assert isinstance(out, list) and int(out[0]) == 10


def test_eager_gradients_through_cond_and_while_loop():
    x = tv.Variable(1.5)
    with tv.GradientTape(persistent=True) as tape:
        _, y = tv.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x), (0, 1.0))
        z = tv.cond(x > 1.0, lambda: tv.sin(x), lambda: x)
    assert float(tape.gradient(y, x)) == pytest.approx(3 * 1.5**2)  # d/dx x³
    assert float(tape.gradient(z, x)) == pytest.approx(np.cos(1.5), rel=1e-6)


# --- traced ---------------------------------------------------------------------------------
def test_known_predicate_picks_the_branch_while_tracing():
    @tv.function
    def f(x):
        return tv.cond(tv.constant(True), lambda: x * 2.0, lambda: tv.sqrt(x))

    prog = f.get_concrete_function(tv.constant(1.0)).program
    assert [e.prim for e in walk(prog.eqns)] == ["multiply"]


def test_traced_cond_is_two_if_blocks_and_real_branches_in_numba():
    @tv.function
    def f(x):
        return tv.cond(tv.reduce_sum(x) > 0.0, lambda: tv.exp(x) * 2.0, lambda: tv.sin(x) + 1.0)

    cf = f.get_concrete_function(tv.constant([1.0, 2.0]))
    prims = [e.prim for e in walk(cf.program.eqns)]
    assert prims.count("if") == 2 and "where" not in prims
    for v in ([1.0, 2.0], [-1.0, -2.0]):
        x = np.array(v, np.float32)
        want = np.exp(x) * 2 if x.sum() > 0 else np.sin(x) + 1
        np.testing.assert_allclose(f(tv.constant(x)).numpy(), want, rtol=1e-6)


def test_fusion_keeps_elementwise_ops_on_their_side_of_a_branch():
    # ops before, in and after the branches are all elementwise on one shape: a fusion that
    # crossed the `if` would compute the branch unconditionally or too early
    @tv.function
    def f(x):
        a = x * 3.0 + 1.0
        b = tv.cond(tv.reduce_sum(x) > 0.0, lambda: a * a - x, lambda: a / (x - 10.0))
        return b * 0.5 + a

    x = tv.constant(np.linspace(-1.0, 2.0, 7, dtype=np.float32))
    cf = f.get_concrete_function(x)
    compiled = f(x).numpy()
    outs, _ = interp.run(cf.program, [x.numpy()], [v._value for v in cf.variables])
    np.testing.assert_array_equal(compiled, outs[0])
    xv = x.numpy()
    a = xv * np.float32(3) + np.float32(1)
    np.testing.assert_allclose(compiled, (a * a - xv) * np.float32(0.5) + a, rtol=1e-6)


def test_traced_while_loop_with_maximum_iterations():
    @tv.function
    def f(x, cap):
        return tv.while_loop(
            lambda v: v < 1000.0, lambda v: (v * 2.0,), (x,), maximum_iterations=cap
        )

    assert float(f(tv.constant(1.0), tv.constant(4))[0]) == 16.0
    assert float(f(tv.constant(1.0), tv.constant(100))[0]) == 1024.0
    assert float(f(tv.constant(5000.0), tv.constant(100))[0]) == 5000.0  # never runs


def test_traced_while_loop_condition_must_be_a_scalar_bool():
    @tv.function
    def f(x):
        return tv.while_loop(lambda v: v * 2.0, lambda v: (v,), (x,))

    with pytest.raises(TypeError, match="boolean"):
        f(tv.constant(1.0))


def _finite_difference(fn, x, eps=1e-4):
    x = np.float64(x)
    return (fn(x + eps) - fn(x - eps)) / (2 * eps)


@pytest.mark.parametrize("x0", [-1.3, 0.4, 2.2])
def test_traced_cond_gradient_against_finite_differences(x0):
    w = tv.Variable(0.7, dtype=tv.float64)

    @tv.function
    def grad(x):
        with tv.GradientTape() as tape:
            tape.watch(x)
            y = tv.cond(x > 0.0, lambda: tv.exp(w * x) * x, lambda: tv.sin(x * x) * w)
        gx, gw = tape.gradient(y, [x, w])
        return gx, gw

    def y_of(x, wv=0.7):
        return np.exp(wv * x) * x if x > 0 else np.sin(x * x) * wv

    gx, gw = grad(tv.constant(x0, dtype=tv.float64))
    np.testing.assert_allclose(float(gx), _finite_difference(y_of, x0), rtol=1e-7)
    np.testing.assert_allclose(
        float(gw), _finite_difference(lambda wv: y_of(x0, wv), 0.7), rtol=1e-7
    )


def test_traced_cond_unconnected_branch_gives_zero_not_nan():
    @tv.function
    def grad(x):
        with tv.GradientTape() as tape:
            tape.watch(x)
            y = tv.cond(x > 0.0, lambda: tv.sqrt(x), lambda: tv.constant(0.0))
        return tape.gradient(y, x)

    assert float(grad(tv.constant(-4.0))) == 0.0  # sqrt(-4) is not computed, not NaN
    assert float(grad(tv.constant(4.0))) == 0.25


@pytest.mark.parametrize("n", [0, 1, 5])
def test_traced_while_loop_gradient_against_finite_differences(n):
    w = tv.Variable(0.9, dtype=tv.float64)

    @tv.function
    def grad(x, n):
        with tv.GradientTape() as tape:
            tape.watch(x)
            _, y = tv.while_loop(
                lambda i, y: i < n, lambda i, y: (i + 1, tv.sin(y) * x + w * y), (0, x)
            )
        gx, gw = tape.gradient(y, [x, w])
        return y, gx, gw

    def y_of(x, wv=0.9):
        y = x
        for _ in range(n):
            y = np.sin(y) * x + wv * y
        return y

    y, gx, gw = grad(tv.constant(0.6, dtype=tv.float64), tv.constant(n))
    assert float(y) == pytest.approx(y_of(0.6), rel=1e-14)
    np.testing.assert_allclose(float(gx), _finite_difference(y_of, 0.6), rtol=1e-7)
    np.testing.assert_allclose(
        float(gw), _finite_difference(lambda wv: y_of(0.6, wv), 0.9), rtol=1e-7
    )


def test_loop_gradient_refuses_a_body_with_side_effects():
    v = tv.Variable(0.0)

    @tv.function
    def f(x):
        with tv.GradientTape() as tape:
            tape.watch(x)
            (y,) = tv.while_loop(lambda y: y < 10.0, lambda y: (v.assign(y) * 2.0,), (x,))
        return tape.gradient(y, x)

    with pytest.raises(NotImplementedError, match="assigns"):
        f(tv.constant(1.0))


def test_loop_gradient_of_a_value_defined_only_in_the_loop_is_refused():
    @tv.function
    def f(x, n):
        with tv.GradientTape() as tape:
            tape.watch(x)
            for _ in tv.range(n):
                y = x * x
        return tape.gradient(y, x)

    with pytest.raises(NotImplementedError, match="'y' is assigned inside a loop"):
        f(tv.constant(1.0), tv.constant(3))


def test_cond_whose_branch_assigns_a_variable():
    v = tv.Variable(0.0)

    @tv.function
    def f(x):
        tv.cond(x > 0.0, lambda: v.assign(x), lambda: v.assign(-x))
        return v.read_value() * 2.0

    assert float(f(tv.constant(3.0))) == 6.0 and float(v.numpy()) == 3.0
    assert float(f(tv.constant(-5.0))) == 10.0 and float(v.numpy()) == 5.0


# --- drawing ---------------------------------------------------------------------------------
def _record():
    @tv.function
    def f(x):
        y = x * 2.0 if x > 0 else -x
        n = tv.constant(0)
        while y > 1.0:
            y = y * 0.5
            n += 1
        return y, n

    return f.get_concrete_function(tv.constant(3.0)).record()


def test_record_of_control_flow():
    rec = _record()
    scopes = {n.scope for n in rec.nodes}
    assert any(s.startswith("tv.cond(") and "/if t" in s for s in scopes)
    assert any(s.startswith("tv.cond(") and s.endswith("/else") for s in scopes)
    assert "tv.while_loop #1" in scopes
    merge = [n for n in rec.nodes if n.op == "merge"]
    assert len(merge) == 1 and len(merge[0].inputs) == 3  # predicate + both branches
    carried = [n for n in rec.nodes if n.attrs.get("next_iteration")]
    assert {n.name for n in carried} >= {"n"}
    for n in carried:
        assert all(j > n.id for j in n.attrs["next_iteration"])  # back edges
    assert any(n.op == "exit_unless" for n in rec.nodes)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_drawing_of_control_flow(lang):
    tv.viz.set_language(lang)
    try:
        source = tv.viz.graph(_record()).source
    finally:
        tv.viz.set_language("en")
    assert "tv.while_loop #1" in source and "tv.cond(" in source
    assert "style=dashed" in source and "constraint=false" in source  # back edges
    if lang == "zh":
        assert "下一轮迭代" in source and "两个分支" in source
    else:
        assert "next iteration" in source and "only one of its two branches" in source
