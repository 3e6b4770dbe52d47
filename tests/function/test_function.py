"""``tv.function``: the third document's compiled loops, loops with tapes and optimizers,
retracing, the cache, ``tv.print``, the trace as a record, and the misuse errors."""

from __future__ import annotations

import json
import os
import sys
import warnings
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.compiler.tf_function import (
    OperatorNotAllowedInGraphError,
    RetracingWarning,
    SymbolicValueError,
)

from .processes import REPO, run_python

REFERENCE = os.path.join(REPO, "tests", "data", "tf_reference.json")
JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


def _ref(*path: str) -> Any:
    with open(REFERENCE, encoding="utf-8") as fh:
        d = json.load(fh)
    for p in path:
        d = d[p]
    return d


def _hex32(entry: dict[str, Any]) -> np.float32:
    return np.float32(float.fromhex(entry["hex"]))


# --- the third document (002): AutoGraph examples ------------------------------------------
def test_document_adam_loop_over_tv_range(capsys: pytest.CaptureFixture[str]) -> None:
    x = tv.Variable(0.0, name="x", dtype=tv.float32)
    opt = tv.keras.optimizers.Adam(learning_rate=0.01)

    @tv.function
    def minimizef_apply_gradients() -> tv.Tensor:
        a = tv.constant(1.0, name="a")
        b = tv.constant(-2.0, name="b")
        c = tv.constant(1.0, name="c")
        for _ in tv.range(1000):  # a compiled loop, not 1000 copies
            with tv.GradientTape() as tape:
                y = a * x**2 + b * x + c
            dy_dx = tape.gradient(y, x)
            opt.apply_gradients([(dy_dx, x)])
        return a * x**2 + b * x + c

    tv.print(minimizef_apply_gradients())
    tv.print(x)
    ref = _ref("seed_examples", "doc002_adam_apply_gradients_1000_tf_function")
    assert capsys.readouterr().err == ref["tf_print_result"] + ref["tf_print_x"]  # 0, 1.00000083
    assert x.numpy() == _hex32(ref["final_x"])
    assert int(opt.iterations.numpy()) == 1000
    loops = [e for e in minimizef_apply_gradients.get_concrete_function().program.eqns]
    assert [e.prim for e in loops].count("loop") == 1


def test_document_adam_loop_equals_eager_slots() -> None:
    def run(compiled: bool) -> list[Any]:
        x = tv.Variable(0.0, name="x")
        opt = tv.keras.optimizers.Adam(learning_rate=0.01)

        def body() -> None:
            for _ in tv.range(1000) if compiled else range(1000):
                with tv.GradientTape() as tape:
                    y = x**2 - 2.0 * x + 1.0
                opt.apply_gradients([(tape.gradient(y, x), x)])

        (tv.function(body) if compiled else body)()
        return [x.numpy(), *(w.numpy() for w in opt.variables())]

    for got, want in zip(run(True), run(False), strict=True):
        assert np.array_equal(got, want)


def test_document_minimize_unrolled_inside_function(capsys: pytest.CaptureFixture[str]) -> None:
    x = tv.Variable(0.0, name="x", dtype=tv.float32)
    opt = tv.keras.optimizers.Adam(learning_rate=0.01)

    @tv.function
    def f() -> tv.Tensor:
        a = tv.constant(1.0, name="a")
        b = tv.constant(-2.0, name="b")
        c = tv.constant(1.0, name="c")
        return a * x**2 + b * x + c

    @tv.function
    def minimizef_minimize() -> tv.Tensor:
        for _ in range(100):  # Python's range: unrolled, as in TensorFlow
            opt.minimize(f, [x])
        return f()

    tv.print(minimizef_minimize())
    ref = _ref("seed_examples", "doc002_adam_minimize_100", "tf_function")
    assert capsys.readouterr().err == ref["tf_print_f"]  # 0.0503761768
    assert x.numpy() == _hex32(ref["final_x"])


def test_document_sgd_loop_prints_like_tf_print(capsys: pytest.CaptureFixture[str]) -> None:
    x = tv.Variable(0.0, name="x")
    opt = tv.keras.optimizers.SGD(learning_rate=0.01)

    @tv.function
    def train() -> tv.Tensor:
        for _ in tv.range(1000):
            with tv.GradientTape() as tape:
                y = x**2 - 2.0 * x + 1.0
            opt.apply_gradients(grads_and_vars=[(tape.gradient(y, x), x)])
        y = x**2 - 2.0 * x + 1.0
        tv.print("y = ", y, "; x = ", x)
        return y

    train()
    assert capsys.readouterr().err == "y =  0 ; x =  0.999998569\n"


# --- loops --------------------------------------------------------------------------------
def test_loop_bound_is_a_tensor_argument() -> None:
    x = tv.Variable(0.0)

    @tv.function
    def count(n: tv.Tensor) -> tv.Tensor:
        for i in tv.range(n):
            x.assign_add(tv.cast(i, tv.float32))
        return x * 1.0

    assert float(count(tv.constant(5))) == 10.0
    assert float(count(tv.constant(3))) == 13.0  # same trace, another bound
    assert count.experimental_get_tracing_count() == 1


def test_nested_loops_and_python_loop_inside() -> None:
    v = tv.Variable(np.zeros(3, np.float32))

    @tv.function
    def fill() -> None:
        for i in tv.range(3):
            for _ in tv.range(i + 1):
                for k in range(2):  # unrolled
                    v.assign_add(tv.ones([3]) * float(k + 1))

    fill()
    np.testing.assert_array_equal(v.numpy(), np.full(3, 18.0, np.float32))


def test_value_from_the_last_iteration_is_available_after_the_loop() -> None:
    w = tv.Variable(2.0)

    @tv.function
    def run() -> tv.Tensor:
        y = tv.constant(0.0)
        for i in tv.range(4):
            y = w * tv.cast(i, tv.float32)
        return y

    assert float(run()) == 6.0


def test_float_range_and_empty_range() -> None:
    acc = tv.Variable(0.0)

    @tv.function
    def run(lo: tv.Tensor, hi: tv.Tensor) -> None:
        for t in tv.range(lo, hi, 0.5):
            acc.assign_add(t)

    run(tv.constant(0.0), tv.constant(2.0))
    assert float(acc.numpy()) == 0.0 + 0.5 + 1.0 + 1.5
    run(tv.constant(2.0), tv.constant(1.0))  # no iteration
    assert float(acc.numpy()) == 3.0


def test_tape_gradient_inside_loop_for_matrix_regression() -> None:
    rng = np.random.default_rng(0)
    X = tv.constant(rng.normal(size=(20, 3)).astype(np.float32))
    y = tv.constant(rng.normal(size=(20, 1)).astype(np.float32))

    def make() -> tuple[tv.Variable, tv.Variable]:
        return tv.Variable(np.zeros((3, 1), np.float32)), tv.Variable(0.0)

    def step(w: tv.Variable, b: tv.Variable) -> tv.Tensor:
        with tv.GradientTape() as tape:
            loss = tv.reduce_mean(tv.square(X @ w + b - y))
        gw, gb = tape.gradient(loss, [w, b])
        w.assign_sub(0.1 * gw)
        b.assign_sub(0.1 * gb)
        return loss

    w1, b1 = make()
    for _ in range(50):
        eager_loss = step(w1, b1)
    w2, b2 = make()

    @tv.function
    def train() -> tv.Tensor:
        loss = tv.constant(0.0)
        for _ in tv.range(50):
            loss = step(w2, b2)
        return loss

    compiled_loss = train()
    np.testing.assert_array_equal(w1.numpy(), w2.numpy())
    assert b1.numpy() == b2.numpy()
    assert eager_loss.numpy() == compiled_loss.numpy()


def test_second_derivative_with_nested_tapes() -> None:
    @tv.function
    def curvature(x: tv.Tensor) -> tv.Tensor:
        with tv.GradientTape() as outer:
            outer.watch(x)
            with tv.GradientTape() as inner:
                inner.watch(x)
                y = tv.sin(x) * x
            g = inner.gradient(y, x)
        return outer.gradient(g, x)

    x = tv.constant(0.7)
    with tv.GradientTape() as outer:
        outer.watch(x)
        with tv.GradientTape() as inner:
            inner.watch(x)
            y = tv.sin(x) * x
        g = inner.gradient(y, x)
    expect = outer.gradient(g, x).numpy()
    assert abs(float(curvature(x)) - float(expect)) <= 4 * np.spacing(np.float32(expect))


# --- optimizers in compiled loops: the same bits as eager steps ----------------------------
OPTIMIZERS = [
    ("SGD", {"learning_rate": 0.1}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"learning_rate": 0.01}),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", {"learning_rate": 0.1}),
    ("Adamax", {"learning_rate": 0.01}),
    ("Nadam", {"learning_rate": 0.01}),
    ("AdamW", {"learning_rate": 0.01}),
    ("SGD", {"learning_rate": 0.1, "clipnorm": 0.5}),
    ("Adam", {"learning_rate": 0.01, "global_clipnorm": 0.5, "clipvalue": 0.3}),
]


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZERS, ids=[f"{n}{k}" for n, k in OPTIMIZERS])
def test_optimizer_steps_compiled_equal_eager(name: str, kwargs: dict[str, Any]) -> None:
    coef = tv.constant([1.0, 2.0, 3.0])

    def run(compiled: bool) -> list[np.ndarray]:
        w = tv.Variable([1.0, -2.0, 0.5], name="w")
        b = tv.Variable(0.3, name="b")
        opt = getattr(tv.keras.optimizers, name)(**kwargs)

        def train() -> None:
            for _ in tv.range(20) if compiled else range(20):
                with tv.GradientTape() as tape:
                    loss = tv.reduce_sum(w**2 * coef) + tv.sin(b) * w[0] + b**2
                grads = tape.gradient(loss, [w, b])
                opt.apply_gradients(zip(grads, [w, b], strict=True))

        (tv.function(train) if compiled else train)()
        return [w.numpy(), np.asarray(b.numpy())] + [np.asarray(v.numpy()) for v in opt.variables()]

    eager, compiled = run(False), run(True)
    assert len(eager) == len(compiled)
    for e, c in zip(eager, compiled, strict=True):
        # sin of a scalar: libm in compiled code, numpy's own in eager code (<= 1 ulp)
        np.testing.assert_allclose(c, e, rtol=4e-6, atol=1e-7)


def test_optimizer_minimize_inside_loop_equals_eager_bits() -> None:
    def run(compiled: bool) -> tuple[Any, Any]:
        x = tv.Variable(0.0)
        opt = tv.keras.optimizers.RMSprop(0.01)

        def train() -> None:
            for _ in tv.range(200) if compiled else range(200):
                opt.minimize(lambda: (x - 3.0) ** 2, [x])

        (tv.function(train) if compiled else train)()
        return x.numpy(), opt.get_slot(x, "rms").numpy()

    assert run(True) == run(False)


# --- retracing -------------------------------------------------------------------------------
def test_retraces_per_signature_and_python_value() -> None:
    @tv.function
    def f(x: tv.Tensor, scale: float) -> tv.Tensor:
        return x * scale

    f(tv.constant(1.0), 2.0)
    f(tv.constant(5.0), 2.0)  # same shape/dtype, same Python value: no trace
    assert f.experimental_get_tracing_count() == 1
    f(tv.constant([1.0, 2.0]), 2.0)  # new shape
    f(tv.constant(1.0), 3.0)  # new Python value
    f(tv.constant(1.0, dtype=tv.float64), 2.0)  # new dtype
    assert f.experimental_get_tracing_count() == 4
    assert float(f(tv.constant(4.0), 3.0)) == 12.0
    assert f.experimental_get_tracing_count() == 4


def test_retracing_warning_after_five_traces() -> None:
    @tv.function
    def f(x: tv.Tensor) -> tv.Tensor:
        return x + 1.0

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 5):
            f(tv.zeros([n]))
    assert not [w for w in caught if issubclass(w.category, RetracingWarning)]
    with pytest.warns(RetracingWarning, match=r"5 out of the last 5 calls to .* retracing"):
        f(tv.zeros([5]))


def test_variable_created_on_first_call_only() -> None:
    created: list[tv.Variable] = []

    @tv.function
    def f(x: tv.Tensor) -> tv.Tensor:
        if not created:
            created.append(tv.Variable(1.0, name="v"))
        return x * created[0]

    assert float(f(tv.constant(2.0))) == 2.0
    assert float(f(tv.constant(3.0))) == 3.0  # no retrace

    @tv.function
    def g(x: tv.Tensor) -> tv.Tensor:
        v = tv.Variable(1.0)  # a new Variable each trace
        return x * v

    g(tv.constant(1.0))
    with pytest.raises(ValueError, match="only supports Variables created on the first call"):
        g(tv.constant([1.0, 2.0]))


def test_variable_argument_is_bound_at_call_time() -> None:
    @tv.function
    def step(v: tv.Variable) -> None:
        v.assign(v * 2.0)

    a, b = tv.Variable(1.0), tv.Variable(10.0)
    step(a)
    step(b)  # same signature: same trace, other Variable
    assert (float(a.numpy()), float(b.numpy())) == (2.0, 20.0)
    assert step.experimental_get_tracing_count() == 1


def test_structures_of_arguments_and_results() -> None:
    @tv.function
    def f(pair: tuple[tv.Tensor, tv.Tensor], opts: dict[str, Any]) -> dict[str, Any]:
        x, y = pair
        return {"sum": x + y, "scaled": [x * opts["k"], opts["name"]]}

    out = f((tv.constant(1.0), tv.constant(2.0)), {"k": 3.0, "name": "n"})
    assert float(out["sum"]) == 3.0
    assert float(out["scaled"][0]) == 3.0 and out["scaled"][1] == "n"


def test_nested_function_is_inlined_and_outer_tape_runs_eagerly() -> None:
    @tv.function
    def inner(x: tv.Tensor) -> tv.Tensor:
        return x * x

    @tv.function
    def outer(x: tv.Tensor) -> tv.Tensor:
        return inner(x) + 1.0

    assert float(outer(tv.constant(3.0))) == 10.0
    assert inner.experimental_get_tracing_count() == 0  # its ops joined outer's program
    x = tv.Variable(3.0)
    with tv.GradientTape() as tape:
        y = outer(x)
    assert float(tape.gradient(y, x)) == 6.0


def test_method_decorated_with_function() -> None:
    class Model:
        def __init__(self) -> None:
            self.w = tv.Variable(2.0)

        @tv.function
        def __call__(self, x: tv.Tensor) -> tv.Tensor:
            return self.w * x

    m1, m2 = Model(), Model()
    m2.w.assign(5.0)
    assert float(m1(tv.constant(3.0))) == 6.0
    assert float(m2(tv.constant(3.0))) == 15.0


# --- misuse ----------------------------------------------------------------------------------
def test_python_if_on_a_tensor_is_an_error_that_says_what_works() -> None:
    # (without autograph; with it, the `if` becomes a tv.cond: tests/function/test_autograph.py)
    @tv.function(autograph=False)
    def f(x: tv.Tensor) -> tv.Tensor:
        if x > 0:
            return x
        return -x

    with pytest.raises(OperatorNotAllowedInGraphError, match=r"tv.where"):
        f(tv.constant(1.0))
    assert tv._state.local.tracer is None  # cleaned up


def test_numpy_of_a_symbolic_tensor_is_an_error() -> None:
    x = tv.Variable(1.0)

    @tv.function
    def f() -> Any:
        return x.numpy() + float(x * 2.0)

    with pytest.raises(SymbolicValueError, match="symbolic"):
        f()
    assert x.numpy() == 1.0  # the Variable got its value back


def test_break_inside_tv_range_is_an_error() -> None:
    @tv.function(autograph=False)
    def f() -> None:
        for _ in tv.range(3):
            break

    with pytest.raises(NotImplementedError, match="break"):
        f()


def test_python_values_carried_across_tv_range_iterations_are_an_error() -> None:
    # without autograph; with it (the default) they are carried as TensorFlow carries them
    x = tv.Variable(2.0)

    def accumulate() -> tv.Tensor:
        total = tv.constant(0.0)
        for _ in tv.range(3):
            total = total + x  # eagerly 6.0; a loop traced once would give 2.0
        return total

    with pytest.raises(NotImplementedError, match=r"`total` is carried .* tv\.Variable"):
        tv.function(accumulate, autograph=False)()
    assert float(tv.function(accumulate)()) == 6.0

    w = tv.constant([[0.5, 0.0], [0.0, 0.5]])

    def recurrent(h: tv.Tensor) -> tv.Tensor:
        for _ in tv.range(2):
            for _ in tv.range(2):
                h = tv.tanh(h @ w)  # the inner loop's state
        return h

    h0 = tv.constant([[1.0, 2.0]])
    with pytest.raises(NotImplementedError, match="`h` is carried"):
        tv.function(recurrent, autograph=False)(h0)
    np.testing.assert_allclose(tv.function(recurrent)(h0).numpy(), recurrent(h0).numpy(), rtol=1e-6)


def test_values_recomputed_in_each_iteration_may_leave_a_tv_range_loop() -> None:
    x = tv.Variable(0.0)

    @tv.function
    def descend() -> tv.Tensor:
        y = x * 1.0  # rebound in the loop without being read there: fine
        for _ in tv.range(50):
            with tv.GradientTape() as tape:
                y = (x - 3.0) ** 2
            x.assign_sub(0.1 * tape.gradient(y, x))
        return y

    y = descend()
    xe, ye = np.float32(0.0), None
    for _ in range(50):
        ye = (xe - np.float32(3.0)) ** 2
        xe = xe - np.float32(0.1) * (np.float32(2.0) * (xe - np.float32(3.0)))
    assert x.numpy() == xe and y.numpy() == ye


def test_python_bool_of_concrete_tensor_still_works_while_tracing() -> None:
    @tv.function
    def f(x: tv.Tensor) -> tv.Tensor:
        flag = tv.constant(True)  # known while tracing
        return x * 2.0 if flag else x

    assert float(f(tv.constant(2.0))) == 4.0


# --- tv.print ------------------------------------------------------------------------------
def test_print_formats_like_tf_print(capsys: pytest.CaptureFixture[str]) -> None:
    tv.print("y = ", tv.constant(0.0), "; x = ", tv.constant(0.999998569))
    tv.print(tv.constant(0.1), tv.constant(1e10), tv.constant(123456789.0), tv.constant(-2.5))
    tv.print(tv.constant(np.float64(1 / 3)), tv.constant(np.float32(1 / 3)))
    tv.print(tv.constant([[1.0, 2.0], [3.0, 4.0]]))
    tv.print(tv.range(10))
    tv.print(tv.constant(True), tv.constant([True, False]), tv.constant(3))
    tv.print([1, 2], {"a": tv.constant(1.0)}, (3, "s"), None)
    tv.print(tv.constant(float("nan")), tv.constant(float("inf")), sep=",", end="!\n")
    tv.print(tv.range(7), summarize=2)
    assert capsys.readouterr().err == (
        "y =  0 ; x =  0.999998569\n"
        "0.1 1e+10 123456792 -2.5\n"
        "0.33333333333333331 0.333333343\n"
        "[[1 2]\n [3 4]]\n"
        "[0 1 2 ... 7 8 9]\n"
        "1 [1 0] 3\n"
        "[1, 2] {'a': 1} (3, 's') None\n"
        "nan,inf!\n"
        "[0 1 ... 5 6]\n"
    )


def test_print_summarises_matrices_as_tf(capsys: pytest.CaptureFixture[str]) -> None:
    tv.print(tv.reshape(tv.range(100), (10, 10)), output_stream=sys.stdout)
    assert capsys.readouterr().out == (
        "[[0 1 2 ... 7 8 9]\n [10 11 12 ... 17 18 19]\n [20 21 22 ... 27 28 29]\n ...\n"
        " [70 71 72 ... 77 78 79]\n [80 81 82 ... 87 88 89]\n [90 91 92 ... 97 98 99]]\n"
    )


def test_print_inside_function_runs_every_call(capsys: pytest.CaptureFixture[str]) -> None:
    @tv.function
    def f(x: tv.Tensor) -> tv.Tensor:
        print("tracing")  # Python's print: while tracing only
        tv.print("in fn", x, [x, 1], {"k": x})
        for i in tv.range(2):
            tv.print("i =", i)
        return x

    f(tv.constant(2.5))
    f(tv.constant(1.5))
    captured = capsys.readouterr()
    assert captured.out == "tracing\n"
    assert captured.err == (
        "in fn 2.5 [2.5, 1] {'k': 2.5}\ni = 0\ni = 1\nin fn 1.5 [1.5, 1] {'k': 1.5}\ni = 0\ni = 1\n"
    )


# --- the trace, for readers ----------------------------------------------------------------
def test_concrete_function_program_and_record() -> None:
    w = tv.Variable([[1.0], [2.0]], name="w")

    @tv.function
    def step(X: tv.Tensor) -> tv.Tensor:
        for _ in tv.range(3):
            with tv.GradientTape() as tape:
                loss = tv.reduce_sum(tv.square(X @ w))
            w.assign_sub(0.01 * tape.gradient(loss, w))
        return loss

    X = tv.constant([[1.0, 2.0], [3.0, 4.0]])
    cf = step.get_concrete_function(X)
    text = str(cf.program)
    assert text.startswith("def step(t1: f32[2,2]):")
    assert "for t" in text and "w:0 <- " in text and "matmul" in text
    rec = cf.record()
    assert isinstance(rec, tv.graph.Record)
    kinds = {n.kind for n in rec.nodes}
    assert kinds == {"variable", "constant", "op"}
    assert rec.find("w").kind == "variable"
    assert rec.node(0).name == "X" and rec.node(0).attrs["role"] == "argument"
    ops = [n for n in rec.nodes if n.kind == "op"]
    assert any(n.op == "matmul" and n.group is None for n in ops)
    assert any(n.op == "matmul" and (n.group or "").startswith("gradient of tape") for n in ops)
    assert all(n.scope.startswith("for t") for n in ops if n.op == "matmul")
    assert any(n.op == "assign" and n.name == "w:0" for n in ops)
    for n in rec.nodes:  # edges point backwards (forward order)
        assert all(i < n.id for i in n.inputs)
    again = tv.graph.Record.from_json(rec.to_json())
    assert [n.op for n in again.nodes] == [n.op for n in rec.nodes]
    assert "def tv_step(" in cf.python_source


def test_interpreter_when_jit_is_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_DISABLE_JIT", "1")
    x = tv.Variable(0.0)
    opt = tv.keras.optimizers.Adam(0.01)

    @tv.function
    def train() -> tv.Tensor:
        for _ in tv.range(1000):
            with tv.GradientTape() as tape:
                y = x**2 - 2.0 * x + 1.0
            opt.apply_gradients([(tape.gradient(y, x), x)])
        return x * 1.0

    result = train()
    cf = train.get_concrete_function()
    assert cf._compiled is None  # the numpy interpreter ran
    assert result.numpy() == np.float32(float.fromhex("0x1.00000e0000000p+0"))


# --- processes: import cost and the compilation cache ---------------------------------------
def test_import_does_not_load_numba() -> None:
    out = run_python(
        """
        import sys, tapeviz as tv
        tv.function, tv.print
        print("numba" in sys.modules, "llvmlite" in sys.modules)
        """,
        {},
    )
    assert out.split() == ["False", "False"]


@pytest.mark.skipif(JIT_DISABLED, reason="nothing is compiled")
def test_compiled_code_is_cached_across_processes(tmp_path: Any) -> None:
    code = """
        import tapeviz as tv
        x = tv.Variable(0.0)
        @tv.function
        def f(n):
            for i in tv.range(n):
                x.assign_add(tv.cast(i, tv.float32) * 0.5)
            return x * 2.0
        print(float(f(tv.constant(10))))
        d = f.get_concrete_function(tv.constant(10))._compiled.dispatcher
        print(sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values()))
        """
    env = {"TAPEVIZ_CACHE_DIR": str(tmp_path)}
    first = run_python(code, env).split()
    second = run_python(code, env).split()
    assert first[0] == second[0] == "45.0"
    assert first[1:] == ["0", "1"]  # compiled
    assert second[1:] == ["1", "0"]  # loaded from the cache
    generated = [p for p in os.listdir(tmp_path) if p.endswith(".py")]
    assert len(generated) == 1 and generated[0].startswith("tv_f_")


@pytest.mark.skipif(JIT_DISABLED, reason="nothing is compiled")
def test_code_loaded_from_the_cache_runs_and_later_compilations_still_work(
    tmp_path: Any,
) -> None:
    # the cached function is loaded without numba's context refresh (numba_cache.py): it
    # must still allocate arrays, call BLAS and the kernels, print from a compiled loop,
    # and a function compiled afterwards in the same process must compile and run
    code = """
        import os, sys
        import numpy as np
        import tapeviz as tv
        w = tv.Variable([[1.0, 2.0], [3.0, 4.0]])
        @tv.function
        def f(x):
            for i in tv.range(2):
                w.assign(tv.nn.softmax(w @ x * 0.5))
            return tv.reduce_sum(w * x, axis=1)
        x = tv.constant([[1.0, -1.0], [0.5, 2.0]])
        print(f(x).numpy().tolist())
        d = f.get_concrete_function(x)._compiled.dispatcher
        print("hits", sum(d.stats.cache_hits.values()), "numba.np.arraymath" in sys.modules)
        @tv.function
        def h(n):
            for i in tv.range(n):
                tv.print("step", i, output_stream=sys.stdout)
            return n + 1
        print(int(h(tv.constant(2))))
        @tv.function
        def g(v, k):  # a new Python value k: a new program, compiled in this process
            return tv.reduce_max(v * k) - k
        k = float(os.getpid() % 1000) + 0.5
        print(float(g(x, k)) == k)
        from tapeviz import _jit as numba_cache
        print("nrt", numba_cache.NRT_SOURCE)
        """
    env = {"TAPEVIZ_CACHE_DIR": str(tmp_path)}
    first = run_python(code, env).splitlines()
    second = run_python(code, env).splitlines()
    # the memory manager's machine code: compiled and cached, then linked from the cache
    assert (first.pop(), second.pop()) == ("nrt compiled", "nrt cache")
    (nrt_file,) = [p for p in os.listdir(tmp_path) if p.startswith("nrt-")]
    with open(os.path.join(tmp_path, nrt_file), "wb") as fh:
        fh.write(b"not a pickle")  # a damaged cache file is compiled again
    third = run_python(code, env).splitlines()
    assert third.pop() == "nrt compiled" and third == second
    assert second[0] == first[0]  # same numbers from compiled and from cached code
    w, x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), np.array([[1, -1], [0.5, 2]], np.float32)
    for _ in range(2):
        z = w @ x * np.float32(0.5)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        w = e / e.sum(axis=1, keepdims=True)
    got = [float(v) for v in first[0].strip("[]").split(",")]
    assert np.allclose(got, (w * x).sum(axis=1), rtol=1e-6)
    # compiled (numba loads its implementations), then loaded (it needs none of them)
    assert first[1] == "hits 0 True" and second[1] == "hits 1 False"
    assert first[2:] == second[2:] == ["step 0", "step 1", "3", "True"]


def test_numpy_reading_a_symbolic_value_is_an_error_not_zeros() -> None:
    @tv.function
    def f(x: tv.Tensor) -> tv.Tensor:
        labels = np.asarray(x._value).astype(np.int64)  # numpy code on a traced value
        return tv.constant(labels) * 2

    with pytest.raises(SymbolicValueError, match=r"numpy\.asarray"):
        f(tv.constant([1, 2]))


def test_variable_from_a_symbolic_value_is_an_error() -> None:
    @tv.function
    def f(x: tv.Tensor) -> tv.Tensor:
        v = tv.Variable(x * 2.0)
        return v + 1.0

    with pytest.raises(SymbolicValueError, match="concrete initial value"):
        f(tv.constant(1.0))


def test_keras_model_training_step_compiled_equals_eager_bits() -> None:
    keras = tv.keras
    rng = np.random.default_rng(0)
    X = tv.constant(rng.standard_normal((64, 5)).astype(np.float32))
    Y = tv.constant(rng.standard_normal((64, 1)).astype(np.float32))

    def run(compiled: bool) -> tuple[Any, list[np.ndarray]]:
        tv.random.set_seed(1)
        model = keras.Sequential([keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
        model(X)
        opt = keras.optimizers.Adam(0.01)
        loss_fn = keras.losses.MeanSquaredError()

        def step(X: tv.Tensor, Y: tv.Tensor) -> tv.Tensor:
            with tv.GradientTape() as tape:
                loss = loss_fn(Y, model(X))
            grads = tape.gradient(loss, model.trainable_weights)
            opt.apply_gradients(zip(grads, model.trainable_weights, strict=True))
            return loss

        f = tv.function(step) if compiled else step
        for _ in range(20):
            loss = f(X, Y)
        return loss.numpy(), [w.numpy() for w in model.trainable_weights]

    (le, we), (lc, wc) = run(False), run(True)
    assert le == lc
    for e, c in zip(we, wc, strict=True):
        assert np.array_equal(e, c)


@pytest.mark.skipif(JIT_DISABLED, reason="everything runs on the interpreter")
def test_huge_unrolled_trace_runs_on_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    module = sys.modules["tapeviz.compiler.tf_function"]
    monkeypatch.setattr(module, "MAX_COMPILED_EQUATIONS", 50)
    x = tv.Variable(0.0)

    @tv.function
    def f() -> tv.Tensor:
        for _ in range(40):  # unrolled: 40 copies
            x.assign_add(1.0)
            x.assign(x * 1.5)
        return x * 1.0

    with pytest.warns(RuntimeWarning, match="tv.range"):
        out = f()
    expect = 0.0
    for _ in range(40):
        expect = np.float32(np.float32(expect + 1.0) * np.float32(1.5))
    assert out.numpy() == expect


def test_assigning_an_argument_copies_it_as_eager_assign_does() -> None:
    w = tv.Variable(np.zeros(4, np.float32))

    @tv.function
    def set_to(x: Any) -> None:
        w.assign(x)

    data = np.arange(4, dtype=np.float32)
    set_to(data)
    assert data.flags.writeable  # the caller's array is left alone
    data[0] = 99.0
    assert w.numpy()[0] == 0.0  # the Variable holds its own copy
    with pytest.raises(ValueError):
        w._value[1] = 5.0  # and, as every Variable value, is read-only


@pytest.mark.parametrize("labels", [[0, 4, 1], [0, -1, 1]])
def test_sparse_labels_outside_the_classes_are_an_error_at_run_time(labels: list[int]) -> None:
    """Labels are run-time values inside tv.function: the compiled kernels (and the
    interpreter) check them as eager code does, instead of reading past a row of logits."""
    f = tv.function(
        lambda y, z: tv.reduce_mean(
            tv.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=z)
        )
    )
    z = tv.constant(np.zeros((3, 4), np.float32))
    assert float(f(tv.constant([0, 1, 3]), z)) == pytest.approx(np.log(4.0))
    with pytest.raises(ValueError, match=r"labels must be in \[0, "):
        f(tv.constant(labels), z)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\)"):
        tv.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=z)
