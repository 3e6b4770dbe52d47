# ruff: noqa: SIM108 - the `if` statements are what autograph converts
"""Autograph-lite: Python ``if``/``while``/``for`` on tensors inside ``tv.function``.

Every program of ``control_flow_programs.py`` runs compiled (numba), on the numpy
interpreter and eagerly; all three agree, and agree with TensorFlow's results recorded in
``tests/data/control_flow_tf.json`` by ``tools/record_control_flow_tf.py``.
"""

from __future__ import annotations

import json
import pathlib
import traceback

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.compiler.autograph import to_code
from tapeviz.compiler.tracer import OperatorNotAllowedInGraphError
from tests.function import control_flow_programs

DATA = json.loads(
    (pathlib.Path(__file__).parent.parent / "data" / "control_flow_tf.json").read_text()
)
PROGRAMS = control_flow_programs.build(tv)
# each test makes a new tv.function of the same Python function on purpose
pytestmark = pytest.mark.filterwarnings("ignore:.*triggered tv.function retracing")


def _plain(x):
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    # (eagerly, a loop that did not run leaves a Python number: TensorFlow's conversion)
    a = np.asarray(tv.convert_to_tensor(x).numpy())
    return {"dtype": a.dtype.name, "value": a.tolist()}


def _assert_same(got, want, name, exact=False):
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), name
        for g, w in zip(got, want, strict=True):
            _assert_same(g, w, name, exact)
        return
    assert got["dtype"] == want["dtype"], (name, got, want)
    if exact or want["dtype"].startswith("int"):
        assert got["value"] == want["value"], (name, got, want)
    else:
        np.testing.assert_allclose(got["value"], want["value"], rtol=2e-7, err_msg=name)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_compiled_matches_tensorflow(name):
    fn, args = PROGRAMS[name]
    got = _plain(tv.function(fn)(*args))
    _assert_same(got, DATA["programs"][name], name)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_interpreter_and_eager_match_compiled(name, monkeypatch):
    fn, args = PROGRAMS[name]
    compiled = _plain(tv.function(fn)(*args))
    monkeypatch.setenv("NUMBA_DISABLE_JIT", "1")
    interpreted = _plain(tv.function(fn)(*args))
    _assert_same(interpreted, compiled, name)
    eager = _plain(fn(*args))
    _assert_same(eager, compiled, name)


def test_training_loop_over_tf_range_matches_tensorflow():
    train, args, variables = control_flow_programs.build_training(tv)
    loss = tv.function(train)(*args)
    got = _plain([loss, *[v.read_value() for v in variables]])
    _assert_same(got, DATA["training"], "training")


def test_if_compiles_to_branches_not_both_values():
    fn, args = PROGRAMS["signed_sqrt_pos"]
    f = tv.function(fn)
    cf = f.get_concrete_function(*args)
    text = str(cf.program)
    assert "  if t" in text and "  if not t" in text
    source = cf.python_source
    assert "    if t" in source and "    if not t" in source
    # the branches really are alternatives: the false branch takes sqrt of -x
    assert float(f(tv.constant(-4.0))) == -4.0


def test_while_on_tensor_is_one_compiled_loop_not_unrolled():
    fn, args = PROGRAMS["collatz_27"]
    cf = tv.function(fn).get_concrete_function(*args)
    assert cf.program.num_eqns() < 40  # 111 iterations, traced once
    assert "while True:" in cf.python_source
    assert "break" in cf.python_source


def test_tf_range_with_carried_variable_is_a_for_loop():
    fn, args = PROGRAMS["fizzbuzz_counts"]
    cf = tv.function(fn).get_concrete_function(*args)
    assert "for " in cf.python_source and " in range(" in cf.python_source
    assert cf.program.num_eqns() < 60


def test_python_range_stays_unrolled_python():
    calls = []

    @tv.function
    def f(x):
        for k in range(3):
            calls.append(k)
            x = x + float(k)
        return x

    assert float(f(tv.constant(1.0))) == 4.0
    assert calls == [0, 1, 2]
    assert "while" not in f.get_concrete_function(tv.constant(1.0)).python_source


def test_python_condition_stays_python():
    @tv.function
    def f(x, training):
        if training:
            x = x * 2.0
        return x

    cf = f.get_concrete_function(tv.constant(1.0), True)
    assert "if " not in str(cf.program)
    assert float(f(tv.constant(1.5), True)) == 3.0
    assert float(f(tv.constant(1.5), False)) == 1.5


def test_autograph_false_keeps_the_error():
    def f(x):
        if x > 0:
            x = -x
        return x

    with pytest.raises(OperatorNotAllowedInGraphError):
        tv.function(f, autograph=False)(tv.constant(1.0))
    assert float(tv.function(f)(tv.constant(1.0))) == -1.0


def test_lambda_without_source_is_not_converted_and_says_why():
    namespace: dict = {}
    exec("def g(x):\n    if x > 0:\n        x = -x\n    return x\n", namespace)
    with pytest.raises(OperatorNotAllowedInGraphError):
        tv.function(namespace["g"])(tv.constant(1.0))
    with pytest.raises(ValueError, match="source code"):
        to_code(namespace["g"])


def test_return_inside_loop_is_left_alone_with_a_note():
    @tv.function
    def f(x):
        while x > 0:
            if x > 10.0:
                return x
            x = x - 1.0
        return x

    with pytest.raises(OperatorNotAllowedInGraphError, match="`return`"):
        f(tv.constant(3.0))


def test_variable_defined_in_one_branch_then_used():
    @tv.function
    def f(x):
        if x > 0:
            y = x * 2.0
        return y

    with pytest.raises(UnboundLocalError, match=r"'y'.*else branch"):
        f(tv.constant(1.0))


def test_variable_defined_in_one_branch_unused_is_fine():
    @tv.function
    def f(x):
        if x > 0:
            tmp = x * 2.0
            x = tmp + 1.0
        return x

    assert float(f(tv.constant(1.0))) == 3.0
    assert float(f(tv.constant(-1.0))) == -1.0


def test_branches_with_different_dtypes():
    @tv.function
    def f(x):
        if x > 0:
            y = x
        else:
            y = tv.constant(1)
        return y

    with pytest.raises(TypeError, match="'y' has dtype float32 in the true branch but int32"):
        f(tv.constant(1.0))


def test_branches_with_different_shapes():
    @tv.function
    def f(x):
        if tv.reduce_sum(x) > 0:
            y = x
        else:
            y = tv.concat([x, x], 0)
        return y

    with pytest.raises(ValueError, match=r"'y' has shape \(2,\) in the true branch but \(4,\)"):
        f(tv.constant([1.0, 2.0]))


def test_branches_with_different_structure():
    with pytest.raises(ValueError, match="same nested structure"):
        tv.function(lambda x: tv.cond(x > 0, lambda: (x, x), lambda: [x]))(tv.constant(1.0))


def test_loop_variable_changing_dtype():
    @tv.function
    def f(x):
        while x > 0:
            x = tv.cast(x, tv.int32) - 1
        return x

    with pytest.raises(TypeError, match="'x' has dtype float32 before the loop, but dtype int32"):
        f(tv.constant(3.0))


def test_loop_variable_changing_shape():
    @tv.function
    def f(x):
        while tv.reduce_sum(x) < 10.0:
            x = tv.concat([x, x], 0)
        return x

    with pytest.raises(ValueError, match=r"'x' has shape \(1,\) before the loop, but shape \(2,\)"):
        f(tv.constant([1.0]))


def test_while_condition_turning_into_a_tensor_is_refused_like_tensorflow():
    @tv.function
    def f(x):
        while True:
            x = x * 2.0
            if x > 100.0:
                break
        return x

    with pytest.raises(NotImplementedError, match="started as a Python value"):
        f(tv.constant(1.0))


def test_break_on_tensor_in_python_loop_is_refused():
    @tv.function
    def f(x):
        for _ in range(5):
            x = x * 2.0
            if x > 10.0:
                break
        return x

    with pytest.raises(NotImplementedError, match="Python iterable"):
        f(tv.constant(1.0))


def test_value_assigned_only_inside_a_loop_keeps_its_last_value():
    x = tv.Variable(0.0, name="x")

    @tv.function
    def descend(lr):
        for _ in tv.range(100):
            with tv.GradientTape() as tape:
                y = (x - 3.0) ** 2
            x.assign_sub(lr * tape.gradient(y, x))
        return y

    y = descend(tv.constant(0.1))
    assert round(float(x.numpy()), 4) == 3.0
    assert float(y) < 1e-10


def test_error_traceback_points_at_the_users_line():
    @tv.function
    def f(x):
        while x > 0:
            x = tv.cast(x, tv.int32)
        return x

    with pytest.raises(TypeError) as info:
        f(tv.constant(3.0))
    frames = traceback.extract_tb(info.value.__traceback__)
    mine = [fr.line for fr in frames if fr.filename == __file__]
    assert "x = tv.cast(x, tv.int32)" in mine


def test_to_code_shows_the_conversion():
    fn, _ = PROGRAMS["sum_even"]
    code = to_code(fn)
    assert "_tv_ag.for_stmt(" in code and "_tv_ag.if_stmt(" in code
    assert tv.autograph.to_code(fn) == code


def test_nested_tv_function_is_converted_too():
    @tv.function
    def inner(x):
        if x > 0:
            x = x * 10.0
        return x

    @tv.function
    def outer(x):
        return inner(x) + 1.0

    assert float(outer(tv.constant(2.0))) == 21.0
    assert float(outer(tv.constant(-2.0))) == -1.0


def test_do_not_convert_keeps_the_python_if():
    @tv.function
    @tv.autograph.experimental.do_not_convert
    def f(x):
        if x > 0:
            x = -x
        return x

    with pytest.raises(OperatorNotAllowedInGraphError):
        f(tv.constant(1.0))


def test_converted_method_of_a_module():
    class Scale(tv.Module):
        def __init__(self):
            super().__init__()
            self.w = tv.Variable(2.0)

        @tv.function
        def __call__(self, x, training=False):
            if training:  # a Python bool: stays Python
                x = x * 0.5
            y = x * self.w if x > 1.0 else x
            return y

    m = Scale()
    assert float(m(tv.constant(3.0))) == 6.0
    assert float(m(tv.constant(3.0), training=True)) == 3.0
    assert float(m(tv.constant(0.5))) == 0.5
