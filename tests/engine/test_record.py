"""The public, read-only record of a tape (issue 2, item 5): everything the graphviz emitter
and the widgets may read.  Nodes in forward order, the sweep step by step, frozen, and
written to / read back from JSON without loss.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.graph import FrozenSequence, Node, Record, SweepStep, format_value


@pytest.fixture
def linear_regression() -> tuple[Record, tv.Tensor, tv.Tensor]:
    """Document 000's example: L = Σ (X·w + b - y)², with names."""
    X = tv.constant([[1.0, 2.0], [3.0, 4.0]], name="X")
    w = tv.Variable([[1.0], [2.0]], name="w")
    b = tv.Variable(1.0, name="b")
    with tv.GradientTape() as tape:
        L = tv.reduce_sum(tv.square(tv.matmul(X, w) + b - tv.constant([[1.0], [2.0]])))
    gw, gb = tape.gradient(L, [w, b])
    return tape.record(), gw, gb


def test_nodes_in_forward_order(linear_regression: tuple[Record, tv.Tensor, tv.Tensor]) -> None:
    rec, _, _ = linear_regression
    table = [(n.id, n.kind, n.op, n.inputs, n.shape, n.dtype, n.name) for n in rec.nodes]
    assert table == [
        (0, "constant", None, (), (2, 2), "float32", "X"),
        (1, "variable", None, (), (2, 1), "float32", "w:0"),
        (2, "op", "matmul", (0, 1), (2, 1), "float32", None),
        (3, "variable", None, (), (), "float32", "b:0"),
        (4, "op", "add", (2, 3), (2, 1), "float32", None),
        (5, "constant", None, (), (2, 1), "float32", None),
        (6, "op", "subtract", (4, 5), (2, 1), "float32", None),
        (7, "op", "square", (6,), (2, 1), "float32", None),
        (8, "op", "reduce_sum", (7,), (), "float32", None),
    ]
    values = [n.value.tolist() for n in rec.nodes]
    assert values == [
        [[1, 2], [3, 4]],
        [[1], [2]],
        [[5], [11]],
        1,
        [[6], [12]],
        [[1], [2]],
        [[5], [10]],
        [[25], [100]],
        125,
    ]
    assert all(n.value.dtype == np.float32 for n in rec.nodes)
    assert [n.id for n in rec.nodes if n.watched] == [1, 3]  # the variables the tape saw
    assert [n.symbol for n in rec.nodes if n.kind == "op"] == ["@", "+", "−", "x²", "Σ"]
    assert dict(rec.node(2).attrs) == {"transpose_a": False, "transpose_b": False}
    assert dict(rec.node(8).attrs) == {"axis": None, "keepdims": False}
    assert rec.find("w") is rec.node(1) and rec.find("b:0") is rec.node(3)
    for n in rec.nodes:
        assert all(i < n.id for i in n.inputs)  # inputs come first


def test_edges(linear_regression: tuple[Record, tv.Tensor, tv.Tensor]) -> None:
    rec, _, _ = linear_regression
    assert rec.edges == (
        (0, 2, 0),
        (1, 2, 1),
        (2, 4, 0),
        (3, 4, 1),
        (4, 6, 0),
        (5, 6, 1),
        (6, 7, 0),
        (7, 8, 0),
    )


def test_the_sweep_step_by_step(linear_regression: tuple[Record, tv.Tensor, tv.Tensor]) -> None:
    rec, gw, gb = linear_regression
    steps = [
        (s.node, s.adjoint.tolist(), {k: v.tolist() for k, v in s.contributions.items()})
        for s in rec.sweep
    ]
    assert steps == [  # reverse recording order
        (8, 1.0, {7: [[1], [1]]}),
        (7, [[1], [1]], {6: [[10], [20]]}),  # 2·(X·w + b - y)
        (6, [[10], [20]], {4: [[10], [20]]}),  # the constant y gets nothing
        (4, [[10], [20]], {2: [[10], [20]], 3: 30}),  # b's adjoint is summed over the rows
        (2, [[10], [20]], {1: [[70], [100]]}),  # Xᵀ·g; X is not watched
    ]
    assert rec.targets == (8,) and rec.sources == (1, 3)
    assert rec.gradients[1].tolist() == gw.numpy().tolist() == [[70], [100]]
    assert rec.gradients[3].tolist() == gb.numpy().tolist() == 30
    assert all(s.adjoint.dtype == np.float32 for s in rec.sweep)
    # each step in the names of the code (the fixture bound L), then with its numbers
    assert [s.formula for s in rec.sweep] == [
        "∂L/∂t7 += ∂L/∂L copied over the summed axes = 1 copied over the summed axes = [[1],[1]]",
        "∂L/∂t6 += ∂L/∂t7 · 2·t6 = [[1],[1]] · 2·[[5],[10]] = [[10],[20]]",
        "∂L/∂t4 += ∂L/∂t6 = [[10],[20]]",
        "∂L/∂t2 += ∂L/∂t4 = [[10],[20]]; ∂L/∂b += Σ(∂L/∂t4) = Σ([[10],[20]]) = 30",
        "∂L/∂w += Xᵀ · ∂L/∂t2 = [[1,3],[2,4]] · [[10],[20]] = [[70],[100]]",
    ]


def test_scalar_formulas_show_the_numbers() -> None:
    x = tv.Variable(3.0, name="x")
    with tv.GradientTape() as tape:
        y = tv.square(x)
    tape.gradient(y, x)
    assert tape.record().sweep[0].formula == "∂L/∂x += ∂L/∂y · 2·x = 1 · 2·3 = 6"


def test_record_before_gradient_has_no_sweep() -> None:
    x = tv.Variable(3.0, name="x")
    with tv.GradientTape() as tape:
        tv.square(x) * 2.0
    rec = tape.record()
    assert [n.op for n in rec.nodes] == [None, "square", None, "multiply"]
    assert rec.sweep == () and rec.targets == () and dict(rec.gradients) == {}


def test_names_scopes_and_the_graph_of_a_gradient() -> None:
    x = tv.Variable(2.0, name="x")
    with tv.GradientTape() as outer:
        with tv.GradientTape() as inner, tv.name_scope("layer"):
            y = tv.multiply(x, x, name="xx")
        g = inner.gradient(y, x)
    outer.gradient(g, x)
    first = outer.record()
    ops = [n for n in first.nodes if n.kind == "op"]
    assert ops[0].name == "xx" and ops[0].scope == "layer"
    # the ops the inner sweep ran were recorded by the outer tape, labelled as such
    assert ops[0].group is None
    assert {n.group for n in ops[1:]} == {f"gradient of tape {inner.record().tape_id}"}
    assert inner.record().tape_id != first.tape_id


def test_the_record_is_frozen(linear_regression: tuple[Record, tv.Tensor, tv.Tensor]) -> None:
    rec, _, _ = linear_regression
    node, step = rec.nodes[1], rec.sweep[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.nodes = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.value = np.zeros(2)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.formula = ""  # type: ignore[misc]
    arrays = [n.value for n in rec.nodes] + [s.adjoint for s in rec.sweep]
    arrays += [v for s in rec.sweep for v in s.contributions.values()]
    arrays += list(rec.gradients.values())
    for arr in arrays:
        assert not arr.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            arr[...] = 0
    with pytest.raises(TypeError):
        step.contributions[99] = np.zeros(1)  # type: ignore[index]
    with pytest.raises(TypeError):
        rec.gradients[99] = np.zeros(1)  # type: ignore[index]
    with pytest.raises(TypeError):
        node.attrs["x"] = 1  # type: ignore[index]
    # sequences made on demand, read-only like tuples
    assert isinstance(rec.nodes, FrozenSequence) and isinstance(rec.sweep, FrozenSequence)
    assert not hasattr(rec.nodes, "__setitem__") and not hasattr(rec.nodes, "append")
    assert rec.nodes == tuple(rec.nodes) and rec.nodes[1:3] == (rec.nodes[1], rec.nodes[2])
    assert rec.nodes[-1] is rec.nodes[len(rec.nodes) - 1]  # made once, then kept


def test_the_record_does_not_change_when_variables_do() -> None:
    w = tv.Variable([1.0, 2.0], name="w")
    with tv.GradientTape(persistent=True) as tape:
        y = tv.reduce_sum(w * w)
    before = tape.record()
    w.assign([5.0, 6.0])
    assert before.find("w").value.tolist() == [1.0, 2.0]
    assert tape.gradient(y, w).numpy().tolist() == [2.0, 4.0]  # the values seen when recorded


def test_json_round_trip(linear_regression: tuple[Record, tv.Tensor, tv.Tensor]) -> None:
    rec, _, _ = linear_regression
    text = rec.to_json()
    assert json.loads(text)["nodes"][1]["name"] == "w:0"
    back = Record.from_json(text)
    assert back == rec  # ids, kinds, ops, inputs, shapes, dtypes, names, steps
    assert back.to_json() == text
    for a, b in zip(rec.nodes, back.nodes, strict=True):
        assert a.value.dtype == b.value.dtype and a.value.shape == b.value.shape
        np.testing.assert_array_equal(a.value, b.value)
        assert not b.value.flags.writeable
        assert dict(a.attrs) == dict(b.attrs)
    for a, b in zip(rec.sweep, back.sweep, strict=True):
        np.testing.assert_array_equal(a.adjoint, b.adjoint)
        assert a.formula == b.formula
        assert set(a.contributions) == set(b.contributions)
        for k in a.contributions:
            np.testing.assert_array_equal(a.contributions[k], b.contributions[k])
            assert a.contributions[k].dtype == b.contributions[k].dtype
    assert {k: v.tolist() for k, v in back.gradients.items()} == {
        k: v.tolist() for k, v in rec.gradients.items()
    }


def test_json_keeps_inf_nan_float64_and_exact_float32() -> None:
    x = tv.constant(np.array([0.0, -1.0, 2.0], dtype=np.float64))
    third = tv.Variable(np.float32(1) / np.float32(3), name="third")
    with tv.GradientTape() as tape:
        tape.watch(x)
        y = tv.reduce_sum(tv.math.log(x)) + tv.cast(third * 3.0, tv.float64)
    tape.gradient(y, [x, third])
    rec = tape.record()
    back = Record.from_json(rec.to_json())
    log_node = next(n for n in back.nodes if n.op == "log")
    assert log_node.dtype == "float64"
    np.testing.assert_array_equal(log_node.value, [-np.inf, np.nan, np.log(2.0)])
    third_back = back.find("third").value
    assert third_back.dtype == np.float32
    assert third_back.tobytes() == np.float32(1 / 3).tobytes()  # no rounding through JSON


def test_node_of_finds_a_tensor() -> None:
    x = tv.Variable(2.0, name="x")
    with tv.GradientTape() as tape:
        y = x * x
    rec = tape.record()
    assert rec.node_of(y) is rec.nodes[-1]
    assert rec.node_of(x) is rec.find("x")
    assert rec.node_of(tv.constant(1.0)) is None


def test_public_types_are_plain_data() -> None:
    for cls in (Node, SweepStep, Record):
        assert dataclasses.is_dataclass(cls)
        assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert format_value(np.array([[70.0], [100.0]], np.float32)) == "[[70],[100]]"
    assert format_value(np.float32(-1) / np.float32(3)) == "-0.333333"
    assert format_value(np.array([np.nan, np.inf])) == "[nan,inf]"
    assert format_value(np.arange(20.0)) == "[0, 1, 2, …] (20)"


def test_an_input_used_twice_by_one_op_gets_both_contributions() -> None:
    x = tv.Variable(3.0, name="x")
    with tv.GradientTape() as tape:
        y = x * x
    assert tape.gradient(y, x).numpy() == 6.0
    (step,) = tape.record().sweep
    assert float(step.contributions[0]) == 6.0  # y·g + x·g: what the sweep added to x
    assert tape.record().gradients[0] == 6.0


def _doc3_tape(outer: bool) -> Record:
    """The third document's quadratic, differentiated with or without an outer tape."""
    a, b, c = tv.constant(1.0, name="a"), tv.constant(-2.0, name="b"), tv.constant(1.0, name="c")
    x = tv.Variable(np.float32(0.25), name="x")
    v = tv.Variable(np.array([0.5, -1.5, 2.0], dtype=np.float32), name="v")

    def run() -> tv.GradientTape:
        with tv.GradientTape() as tape:
            y = a * x**2 + b * x + c + tv.reduce_sum(tv.exp(v) * x)
        tape.gradient(y, [x, v])
        return tape

    if outer:
        with tv.GradientTape():  # the sweep runs on tensors (and is kept) under an outer tape
            return run().record()
    return run().record()  # the sweep keeps no adjoints; the record replays it


def test_a_replayed_sweep_is_the_sweep_that_ran() -> None:
    replayed, kept = _doc3_tape(outer=False), _doc3_tape(outer=True)
    assert len(replayed.sweep) == len(kept.sweep) == 9  # one step per recorded op
    for r, k in zip(replayed.sweep, kept.sweep, strict=True):
        assert r.node == k.node and r.formula == k.formula
        np.testing.assert_array_equal(r.adjoint, k.adjoint)
        assert r.contributions.keys() == k.contributions.keys()
        for i in r.contributions:
            np.testing.assert_array_equal(r.contributions[i], k.contributions[i])
    assert replayed.gradients.keys() == kept.gradients.keys()
    for i in replayed.gradients:
        np.testing.assert_array_equal(replayed.gradients[i], kept.gradients[i])
    # dL/dx = 2ax + b + Σ exp(v) in float32
    x_id = next(n.id for n in replayed.nodes if n.name == "x:0")
    want = np.float32(2 * 0.25 - 2.0) + np.sum(np.exp(np.float32([0.5, -1.5, 2.0])))
    np.testing.assert_allclose(replayed.gradients[x_id], want, rtol=1e-6)


def test_the_record_does_not_run_a_custom_grad_fn_again() -> None:
    calls = []

    @tv.custom_gradient
    def clip_grad(t: tv.Tensor) -> tuple[tv.Tensor, object]:
        def grad_fn(dy: tv.Tensor) -> tv.Tensor:
            calls.append(float(dy))
            return tv.clip_by_value(dy, -1.0, 1.0)

        return tv.identity(t), grad_fn

    x = tv.Variable(2.0, name="x")
    with tv.GradientTape() as tape:
        y = clip_grad(x * 3.0) * 5.0
    assert float(tape.gradient(y, x)) == 3.0  # 5 clipped to 1, times 3
    rec = tape.record()
    assert calls == [5.0]  # once, by the sweep; the record keeps what it returned
    step = next(s for s in rec.sweep if rec.nodes[s.node].op == "custom_gradient")
    assert [float(v) for v in step.contributions.values()] == [1.0]
