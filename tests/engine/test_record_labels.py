"""Labels of the record (issue 14): the names the user's code bound the tensors to, found by
identity in the caller's variables; an explicit ``name=`` wins; intermediates keep short
symbols.  And the formulas of the sweep, every step with its numbers, matrices included.
"""

from __future__ import annotations

import json
import threading
import types

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.graph import Record


def _document_1() -> tuple[tv.GradientTape, dict[str, object]]:
    """Document 1's least-squares example, exactly as the notebook writes it (no names)."""
    X = tv.constant([[1.0, 2.0], [3.0, 4.0]])
    y = tv.constant([[1.0], [2.0]])
    w = tv.Variable(initial_value=[[1.0], [2.0]])
    b = tv.Variable(initial_value=1.0)
    with tv.GradientTape() as tape:
        L = tv.reduce_sum(tv.square(tv.matmul(X, w) + b - y))
    tape.gradient(L, [w, b])
    return tape, {"X": X, "y": y, "w": w, "b": b, "L": L}


def test_nodes_are_labelled_with_the_names_of_the_code() -> None:
    tape, names = _document_1()
    # all bound here, in this frame, when record() runs: it labels nodes with these names
    X, y, w, b, L = names.values()  # noqa: RUF059
    rec = tape.record()
    assert [n.label for n in rec.nodes] == ["X", "w", "t2", "b", "t4", "y", "t6", "t7", "L"]
    assert [n.name for n in rec.nodes if n.kind == "variable"] == ["Variable:0", "Variable:0"]
    assert rec.node_of(w) is rec.find("w") and rec.find("L").id == 8
    assert rec.sweep[-1].formula == (
        "∂L/∂w += Xᵀ · ∂L/∂t2 = [[1,3],[2,4]] · [[10],[20]] = [[70],[100]]"
    )
    assert rec.sweep[0].formula == (
        "∂L/∂t7 += ∂L/∂L copied over the summed axes = 1 copied over the summed axes = [[1],[1]]"
    )
    assert "∂L/∂b += Σ(∂L/∂t4) = Σ([[10],[20]]) = 30" in rec.sweep[3].formula
    del X, y, b


def test_names_from_a_notebook_namespace() -> None:
    """A notebook cell's variables are its module's globals; a function's locals come first."""
    cell = types.ModuleType("__main__")
    code = (
        "import tapeviz as tf\n"
        "x = tf.Variable(3.0)\n"
        "with tf.GradientTape() as tape:\n"
        "    y = tf.square(x)\n"
        "tape.gradient(y, x)\n"
        "rec = tape.record()\n"
        "def inner():\n"
        "    z = y\n"
        "    return tape.record()\n"
        "rec2 = inner()\n"
    )
    exec(compile(code, "<cell>", "exec"), cell.__dict__)
    assert [n.label for n in cell.rec.nodes] == ["x", "y"]
    assert cell.rec.sweep[0].formula == "∂L/∂x += ∂L/∂y · 2·x = 1 · 2·3 = 6"
    assert [n.label for n in cell.rec2.nodes] == ["x", "z"]  # the local name wins


def test_an_explicit_name_wins_and_underscores_are_skipped() -> None:
    a = tv.Variable(2.0, name="weight")
    _hidden = tv.Variable(5.0)
    with tv.GradientTape() as tape:
        out = tv.multiply(a, _hidden, name="product")
        total = out + 1.0
    tape.gradient(total, [a, _hidden])
    rec = tape.record()
    assert [n.label for n in rec.nodes] == ["weight", "Variable", "product", "1", "total"]
    assert rec.find("Variable").name == "Variable:0"


def test_shared_names_get_the_node_id() -> None:
    u = [tv.Variable(1.0), tv.Variable(2.0)]  # in a list: no name of their own
    with tv.GradientTape() as tape:
        t = u[0] * u[1]
    tape.gradient(t, u)
    assert [n.label for n in tape.record().nodes] == ["Variable#0", "Variable#1", "t"]


def test_labels_follow_the_names_when_they_change() -> None:
    tape, names = _document_1()  # the tensors are bound only inside the dict
    first = tape.record()
    assert [n.label for n in first.nodes] == ["c0", "Variable#1", "t2", "Variable#3", "t4",
                                              "c5", "t6", "t7", "t8"]  # fmt: skip
    assert tape.record() is first  # nothing changed: the same record
    X, weights, L = names["X"], names["w"], names["L"]
    rec = tape.record()
    assert [rec.nodes[i].label for i in (0, 1, 3, 8)] == ["X", "weights", "Variable", "L"]
    assert rec.sweep[-1].formula.startswith("∂L/∂weights += Xᵀ · ∂L/∂t2 = ")
    assert tape.record() is rec
    del weights  # a name gone: the record follows
    assert tape.record().nodes[1].label == "Variable#1"
    assert first.nodes[1].label == "Variable#1"  # a record made before does not change
    del X, L


def test_graph_and_player_called_from_a_helper_use_the_callers_names() -> None:
    x = tv.Variable([1.0, -2.0])
    with tv.GradientTape() as tape:
        loss = tv.reduce_sum(x * x)
    tape.gradient(loss, x)

    def draw(t: tv.GradientTape) -> tuple[str, list[str]]:
        source = tv.viz.graph(t).source  # tapeviz's own frames are walked out of
        player = tv.viz.SweepPlayer(t)
        return source, [f.formula for f in player.frames]

    source, formulas = draw(tape)
    assert "<B>x</B>" in source and "<B>loss</B>" in source  # names of draw's caller
    assert formulas[-1] == (
        "∂L/∂x += ∂L/∂t1 · x = [1,1] · [1,-2] = [1,-2]; "
        "∂L/∂x += x · ∂L/∂t1 = [1,-2] · [1,1] = [1,-2]"
    )


def test_second_order_groups_are_titled_by_what_they_differentiate() -> None:
    x = tv.Variable(3.0)
    with tv.GradientTape() as outer:
        with tv.GradientTape() as inner:
            y = x * x * x
        dy_dx = inner.gradient(y, x)
    d2y_dx2 = outer.gradient(dy_dx, x)
    assert float(d2y_dx2) == 18.0
    rec = outer.record()
    keys = {n.group for n in rec.nodes if n.group}
    assert keys == {f"gradient of tape {inner.record().tape_id}"}
    assert dict(rec.groups) == {keys.pop(): "gradient ∂y/∂x by inner"}
    assert rec.find("dy_dx").group is not None  # the inner sweep's result, named
    back = Record.from_json(rec.to_json())
    assert dict(back.groups) == dict(rec.groups)
    assert [n.label for n in back.nodes] == [n.label for n in rec.nodes]


def test_json_keeps_labels_and_old_json_gets_default_ones() -> None:
    tape, names = _document_1()
    L = names["L"]
    rec = tape.record()
    data = json.loads(rec.to_json())
    assert [n["label"] for n in data["nodes"]][-1] == "L"
    for n in data["nodes"]:  # a record written before labels existed
        del n["label"], n["symbolic"]
    del data["groups"]
    old = Record.from_json(json.dumps(data))
    assert [n.label for n in old.nodes] == ["c0", "Variable", "t2", "Variable", "t4", "c5",
                                            "t6", "t7", "t8"]  # fmt: skip
    assert L is names["L"]


# --- formulas ---------------------------------------------------------------------------------
def _formulas(fn: object, *sources: tv.Variable) -> list[str]:
    with tv.GradientTape() as tape:
        out = fn()  # type: ignore[operator]
    tape.gradient(out, list(sources))
    return [s.formula for s in tape.record().sweep]


def test_matmul_with_transposes_shows_the_transposed_numbers() -> None:
    A = tv.Variable([[1.0, 2.0], [3.0, 4.0]])
    B = tv.Variable([[1.0], [-1.0]])
    (f,) = _formulas(lambda: tv.matmul(A, B, transpose_a=True), A, B)
    # out = Aᵀ·B; ∂A = B·gᵀ, ∂B = A·g, with g = [[1],[1]] (the helper bound the product `out`)
    assert f == (
        "∂L/∂A += B · ∂L/∂outᵀ = [[1],[-1]] · [[1,1]] = [[1,1],[-1,-1]]; "
        "∂L/∂B += A · ∂L/∂out = [[1,2],[3,4]] · [[1],[1]] = [[3],[7]]"
    )


def test_negative_scalars_are_bracketed_and_big_arrays_shortened() -> None:
    s = tv.Variable(-3.0)
    v = tv.Variable(np.arange(20.0, dtype=np.float32))
    formulas = _formulas(lambda: tv.reduce_sum(tv.square(v)) - tv.square(s), s, v)
    square_s = next(f for f in formulas if f.startswith("∂L/∂s"))
    assert square_s == "∂L/∂s += ∂L/∂t4 · 2·s = (-1) · 2·(-3) = 6"
    square_v = next(f for f in formulas if f.startswith("∂L/∂v"))
    assert square_v == (
        "∂L/∂v += ∂L/∂t1 · 2·v = [1, 1, 1, …] (20) · 2·[0, 1, 2, …] (20) = [0, 2, 4, …] (20)"
    )


def test_broadcasting_sums_show_their_numbers() -> None:
    m = tv.Variable([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    row = tv.Variable([10.0, 20.0, 30.0])
    formulas = _formulas(lambda: tv.reduce_sum(m * row), m, row)
    assert formulas[1] == (
        "∂L/∂m += ∂L/∂t2 · row = [[1,1,1],[1,1,1]] · [10,20,30] = [[10,20,30],[10,20,30]]; "
        "∂L/∂row += Σ(m · ∂L/∂t2) = Σ([[1,2,3],[4,5,6]] · [[1,1,1],[1,1,1]]) = [5,7,9]"
    )


# --- a lean record ------------------------------------------------------------------------------
def test_a_100_000_op_record_is_made_on_demand() -> None:
    w = tv.Variable(1.00001)
    y = tv.constant(1.0)
    with tv.GradientTape() as tape:
        for _ in range(50_000):
            y = y * w + 0.5
    g = tape.gradient(y, w)
    rec = tape.record()
    assert len(rec.nodes) == 150_002 and len(rec.sweep) == 100_000  # w, 1, then ×, 0.5, +
    made = sum(item is not None for item in rec.nodes._items)  # type: ignore[attr-defined]
    assert made == 0  # nothing was made before it was read
    assert rec.nodes[-1].label == "y" and rec.nodes[1].label == "w"
    assert rec.gradients[1] == g.numpy()  # what gradient returned, bit for bit
    assert rec.sweep_nodes[:2] == (150_001, 149_999)
    last = rec.sweep[-1]  # the first multiply: ∂L/∂w gets its last part
    assert last.formula.startswith("∂L/∂w += ") and rec.nodes[last.node].op == "multiply"


def test_records_in_threads_name_their_own_tensors() -> None:
    out: dict[int, list[str]] = {}

    def run(k: int) -> None:
        mine = tv.Variable(float(k))
        with tv.GradientTape() as tape:
            doubled = mine * 2.0
        tape.gradient(doubled, mine)
        out[k] = [n.label for n in tape.record().nodes]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == {k: ["mine", "2", "doubled"] for k in range(4)}


@pytest.mark.parametrize("length", [5_000, 40_000])
def test_names_of_any_length(length: int) -> None:
    v = tv.Variable(2.0, name="v" * length)
    with tv.GradientTape() as tape:
        y = v * v
    tape.gradient(y, v)
    rec = tape.record()
    assert rec.nodes[0].label == "v" * length
    assert rec.sweep[0].formula.startswith("∂L/∂" + "v" * length + " += ")


# --- scopes, Keras layers and threads ------------------------------------------------------------
def test_name_scopes_and_a_dense_layer_in_the_record() -> None:
    layer = tv.keras.layers.Dense(2, activation="tanh", name="d1")
    xin = tv.constant([[1.0, 2.0]])
    layer(xin)  # build
    kernel = np.array([[0.1, -0.2], [0.3, 0.4]], np.float32)
    layer.kernel.assign(kernel)
    layer.bias.assign(np.array([0.5, -0.5], np.float32))
    with tv.GradientTape() as tape, tv.name_scope("outer"):
        out = layer(xin)
        y = tv.reduce_sum(out * 2.0)
    gk, gb = tape.gradient(y, [layer.kernel, layer.bias])
    pre = np.array([[1.0, 2.0]], np.float32) @ kernel + np.array([0.5, -0.5], np.float32)
    dpre = 2.0 * (1.0 - np.tanh(pre) ** 2)
    np.testing.assert_allclose(gb.numpy(), dpre[0], rtol=1e-6)
    np.testing.assert_allclose(gk.numpy(), np.array([[1.0], [2.0]]) @ dpre, rtol=1e-6)
    rec = tape.record()
    ops = [(n.op, n.scope) for n in rec.nodes if n.kind == "op"]
    assert ops == [
        ("matmul", "outer/d1"),
        ("add", "outer/d1"),
        ("tanh", "outer/d1"),
        ("multiply", "outer"),
        ("reduce_sum", "outer"),
    ]
    assert [n.name for n in rec.nodes if n.kind == "variable"] == ["d1/kernel:0", "d1/bias:0"]


def test_each_op_is_recorded_with_the_scope_it_ran_in() -> None:
    """Tapes keep the name scope of their thread (renewed when it changes): a scope entered
    before or inside the tape, a persistent tape entered again elsewhere, a tv.function called
    (it traces on a tape stack of its own), a tape nested inside another."""
    x = tv.Variable(2.0)
    step = tv.function(lambda v: v * 3.0)
    step(x)  # traced before the tapes below
    with tv.name_scope("a"), tv.GradientTape(persistent=True) as tape:
        y = x * x  # a/
        with tv.name_scope("b"):
            y = y + 1.0  # a/b/
            y = step(y)  # (traced before: recorded as the op it runs, in a/b/)
            with tv.GradientTape() as inner:
                z = y * x  # a/b/ on both tapes
            y = y - z  # a/b/
        y = y * 2.0  # a/ again
    fresh = tv.function(lambda v: v + 1.0)
    with tv.name_scope("c"), tape:
        y = fresh(y)  # traced here, inside the tape, while the scope is c/
        y = y / x  # c/
    with tape:
        y = y + x  # no scope
    ops = [(n.op, n.scope) for n in tape.record().nodes if n.kind == "op"]
    assert ops == [
        ("multiply", "a"),
        ("add", "a/b"),
        ("multiply", "a/b"),
        ("multiply", "a/b"),
        ("subtract", "a/b"),
        ("multiply", "a"),
        ("add", "c"),
        ("divide", "c"),
        ("add", ""),
    ]
    assert [(n.op, n.scope) for n in inner.record().nodes if n.kind == "op"] == [
        ("multiply", "a/b")
    ]
