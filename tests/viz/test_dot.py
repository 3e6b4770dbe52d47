"""The graphviz emitter: exact DOT for the documents' examples, escaping, clusters, focus,
loops, stable SVG ids, determinism, and the error without a ``dot`` program.

The exact DOT texts live in ``tests/viz/golden/*.dot``.  After a deliberate change of the
drawing, rewrite them with ``TAPEVIZ_UPDATE_GOLDEN=1 pytest tests/viz/test_dot.py`` and
look at the diff (and at the pictures) before committing.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import numpy as np
import pytest

import tapeviz as tv
from tapeviz.graph import Record
from tapeviz.viz import GraphvizNotFoundError, TapeGraph, graph, legend, node_labels, theme, to_svg
from tapeviz.viz.dot import (
    PAGE_WIDTH,
    _visible,
    dot_quote,
    fit_width,
    html_escape,
    short_label,
    value_box_id,
    value_lines,
)

GOLDEN = Path(__file__).parent / "golden"
HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's dot program is not installed")
SVG_NS = "{http://www.w3.org/2000/svg}"


_FORMULA = re.compile(r'(reverse sweep, step \d+: )(?:[^"\\]|\\.)*"')


def check_golden(name: str, text: str) -> None:
    """Compare with the golden DOT; the sweep formulas (the engine's text) are left out."""
    text = _FORMULA.sub(r'\1<formula>"', text)
    path = GOLDEN / name
    if os.environ.get("TAPEVIZ_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"DOT differs from {path} (see the module docstring)"


# --- the documents' examples -----------------------------------------------------------------


def square_tape() -> tv.GradientTape:
    """Document 000: y = x² at x = 3, dy/dx = 6."""
    x = tv.Variable(initial_value=3.0, name="x")
    with tv.GradientTape() as tape:
        y = tv.square(x)
    assert float(tape.gradient(y, x)) == 6.0
    return tape


def linear_regression_tape() -> tv.GradientTape:
    """Document 000: L = Σ(Xw + b − y)² at w = [[1],[2]], b = 1.

    ∂L/∂w = [[70],[100]] and ∂L/∂b = 30.
    """
    X = tv.constant([[1.0, 2.0], [3.0, 4.0]], name="X")
    y = tv.constant([[1.0], [2.0]], name="y")
    w = tv.Variable(initial_value=[[1.0], [2.0]], name="w")
    b = tv.Variable(initial_value=1.0, name="b")
    with tv.GradientTape() as tape:
        L = tv.reduce_sum(tv.square(tv.matmul(X, w) + b - y))
    w_grad, b_grad = tape.gradient(L, [w, b])
    np.testing.assert_array_equal(w_grad.numpy(), [[70.0], [100.0]])
    assert float(b_grad) == 30.0
    return tape


def nested_tapes() -> tuple[tv.GradientTape, tv.GradientTape]:
    """Document 001: second derivatives of z = (x1 + 5)·x2² from nested tapes."""
    x1 = tv.Variable(2.0)
    x2 = tv.Variable(3.0)
    with tv.GradientTape(persistent=True) as out_tape:
        with tv.GradientTape(persistent=True) as inner_tape:
            z = (x1 + 5) * (x2**2)
        inner_grads = inner_tape.gradient(z, [x1, x2])
    out_grads = out_tape.gradient(inner_grads, [x1, x2])
    assert [float(g) for g in out_grads] == [6.0, 20.0]
    return out_tape, inner_tape


def test_square_exact_dot() -> None:
    check_golden("square.dot", graph(square_tape()).source)


def test_linear_regression_exact_dot() -> None:
    check_golden("linear_regression.dot", graph(linear_regression_tape()).source)


def test_nested_tapes_exact_dot() -> None:
    out_tape, inner_tape = nested_tapes()
    inner_id = inner_tape.record().tape_id
    text = graph(out_tape).source.replace(f"gradient of tape {inner_id}", "gradient of tape N")
    check_golden("nested_second_derivative.dot", text)


def test_tooltips_have_the_sweep_formulas() -> None:
    tape = linear_regression_tape()
    rec = tape.record()
    src = graph(tape).source
    for k, step in enumerate(rec.sweep, start=1):
        op = rec.nodes[step.node]
        assert f"reverse sweep, step {k}: {step.formula}" in src
        args = ", ".join(rec.nodes[i].label for i in op.inputs)
        assert re.search(rf'\tn{op.id} \[[^\]]* tooltip="{op.label} = {op.op}\({args}', src)


def test_linear_regression_content() -> None:
    """What a student should see, independently of colours: names, values, grads, order."""
    src = graph(linear_regression_tape()).source
    # value boxes: the variables with their values and gradients
    w_line = next(line for line in src.splitlines() if line.strip().startswith("n1 ["))
    assert "<B>w</B>" in w_line and "tv-variable" in w_line and "tv-watched" in w_line
    assert "[[\u00a070]," in w_line and "\u00a0[100]]" in w_line
    b_line = next(line for line in src.splitlines() if line.strip().startswith("n3 ["))
    assert ">30</FONT>" in b_line
    # ops: matmul is visited 5th by the reverse sweep, reduce_sum first
    assert re.search(r'n2 \[.*>@</FONT>.*ID="n2-step".*<B>5</B>', src)
    assert re.search(r'n8 \[.*>Σ</FONT>.*ID="n8-step".*<B>1</B>', src)
    # the target's box, and edges labelled with the shapes they carry
    assert re.search(r'v8 \[id="v8" class="[^"]*tv-target', src)
    assert (
        'n0 -> n2 [id="e0-2-0" class="tv-edge tv-input" '
        'tooltip="X → matmul (t2), input 1, shape (2, 2)" label="(2, 2)"]'
    ) in src
    assert (  # b is a scalar: no label
        'n3 -> n4 [id="e3-4-1" class="tv-edge tv-input" tooltip="b → add (t4), input 2"]'
    ) in src
    assert 'n2 -> v2 [id="o2" class="tv-edge tv-output" weight=4 tooltip="matmul gives t2"]' in src
    # hovering a box tells what it is, its value and its gradient
    assert (
        'tooltip="w: variable, float32, shape (2, 1)\\nvalue = [[1],[2]]\\n∂L/∂w = [[70],[100]]"'
        in src
    )
    # subtract keeps its inputs in order (first on top); add may swap them
    assert re.search(r"n6 \[[^\]]*ordering=in", src)
    assert not re.search(r"n4 \[[^\]]*ordering=in", src)


def test_options_values_grads_shapes_order() -> None:
    tape = linear_regression_tape()
    bare = graph(tape, values=False, grads=False, shapes=False, sweep_order=False).source
    assert 'value" HREF' not in bare and 'grad" HREF' not in bare and 'step" HREF' not in bare
    assert 'label="(' not in bare
    assert "<B>w</B>" in bare
    tb = graph(tape, rankdir="TB").source
    assert "rankdir=TB" in tb
    with pytest.raises(ValueError, match="rankdir"):
        graph(tape, rankdir="up")
    titled = graph(tape, title="L = Σ(Xw + b − y)² <&>").source
    assert "label=<<B>L = Σ(Xw + b − y)² &lt;&amp;&gt;</B>>" in titled


def test_before_the_sweep_no_grads_no_order() -> None:
    x = tv.Variable(3.0, name="x")
    with tv.GradientTape() as tape:
        tv.square(x)
    src = graph(tape).source
    assert 'grad" HREF' not in src and 'step" HREF' not in src and "tv-target" not in src


def test_labels_match_the_formulas() -> None:
    out_tape, _ = nested_tapes()
    rec = out_tape.record()
    labels = node_labels(rec)
    assert labels[0] == "Variable#0" and labels[3] == "Variable#3"
    assert labels[1] == "5" and labels[2] == "t2"
    for step in rec.sweep:  # every name a formula uses is a label of the drawing
        for name in re.findall(r"∂L/∂([^\s+=·]+)", step.formula):
            assert name in labels.values()


def test_value_lines() -> None:
    assert value_lines(np.float32(-0.333333333)) == ["-0.333333"]
    assert value_lines(np.array([1.0, 2.0])) == ["[1,2]"]
    nb = "\u00a0"
    assert value_lines(np.array([[1.0, 2.0], [30.0, 4.0]])) == [
        f"[[{nb}1,{nb}2],",
        f"{nb}[30,{nb}4]]",
    ]
    assert value_lines(np.ones((4, 5), dtype=np.float32)) == ["4×5 float32", "[1, 1, 1, …]"]
    assert value_lines(np.zeros((2, 3, 2), dtype=np.int32))[0] == "2×3×2 int32"
    assert value_lines(np.array([True, False])) == ["[true,false]"]


# --- escaping ---------------------------------------------------------------------------------

NASTY = [
    "<script>alert(1)</script>",
    'a|b{c}"d',
    "back\\slash \\N \\G \\\\ \\l end\\",
    "&amp; &lt; &#60; ' ]] > ",
    "tab\tnew\nline\x1b\x00",
]


def nasty_tape() -> tv.GradientTape:
    variables = [tv.Variable(float(i + 1), name=name) for i, name in enumerate(NASTY)]
    with tv.GradientTape() as tape:
        total = variables[0]
        for v in variables[1:]:
            total = total * v
    tape.gradient(total, variables)
    return tape


def test_escaping_in_dot() -> None:
    src = graph(nasty_tape(), title=NASTY[0]).source
    # outside quoted tooltips (which graphviz escapes itself), no raw user markup anywhere
    unquoted = re.sub(r'tooltip="(?:[^"\\]|\\.)*"', "", src)
    assert "tooltip" not in unquoted and "script>" not in unquoted.replace("&lt;", "")
    assert unquoted.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 1  # the title
    assert unquoted.count("&lt;script&gt;alert(1)&lt;…cript&gt;") == 1  # the box: shortened
    assert html_escape(NASTY[0]) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert html_escape(NASTY[1]) == "a|b{c}&quot;d"
    assert html_escape("a\\N") == "a&#92;&#92;N"
    assert html_escape("x\ny\x00") == "x&#92;&#92;x0ay&#92;&#92;x00"
    assert dot_quote('say "hi"\\N', "line 2") == '"say \\"hi\\"\\\\\\\\N\\nline 2"'


@needs_dot
def test_escaping_in_svg() -> None:
    """The names come out of graphviz as exactly the names, as text, and nothing else."""
    svg = to_svg(nasty_tape(), title=NASTY[0])
    root = ET.fromstring(svg)  # well-formed XML
    assert not [el for el in root.iter() if el.tag in (f"{SVG_NS}script", "script")]
    assert "<script" not in svg
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]
    expected = [
        "<script>alert(1)</script>",
        'a|b{c}"d',
        "back\\slash \\N \\G \\\\ \\l end\\",
        "&amp; &lt; &#60; ' ]] > ",
        "tab\\x09new\\x0aline\\x1b\\x00",
    ]
    # on the boxes: the names, shortened to 24 characters
    for name in NASTY:
        assert _visible(short_label(name)) in texts, name
    assert texts.count("<script>alert(1)</script>") == 1  # the title
    # tooltips (the boxes', the sweep's formulas) and <title>s keep the names whole
    titles = [a.get("{http://www.w3.org/1999/xlink}title") or "" for a in root.iter(f"{SVG_NS}a")]
    assert any("∂L/∂back\\slash \\N \\G \\\\ \\l end\\ +=" in t for t in titles)
    for name in expected:
        assert any(t.startswith(f"{name}: variable") for t in titles), name
    hover = ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}title")]
    assert hover == [t for t in titles if not t.startswith("#")]


# --- nested tapes, scopes, collapse, focus, loops ---------------------------------------------


def clusters_of(src: str) -> dict[str, list[str]]:
    """Each cluster label -> the ids of the nodes declared directly inside it."""
    out: dict[str, list[str]] = {}
    stack: list[str] = []
    for line in src.splitlines():
        s = line.strip()
        if s.startswith("subgraph cluster_"):
            stack.append("?")
        elif s.startswith("graph [") and stack and stack[-1] == "?":
            m = re.search(r"label=<(.*?)> labeljust", s)
            assert m is not None
            text = re.sub(r"<[^>]+>", "", m.group(1)).split("ops recorded")[0].strip()
            stack[-1] = text
            out[text] = []
        elif s == "}" and stack:
            stack.pop()
        elif stack and re.match(r"^[a-z]+\d*[-\d]* \[id=", s):
            out[stack[-1]].append(s.split(" ")[0])
    return out


def test_nested_tapes_group_the_graph_of_the_gradient() -> None:
    out_tape, inner_tape = nested_tapes()
    rec = out_tape.record()
    src = graph(out_tape).source
    # the box says which gradient, in the names of the code (z was not kept: t6)
    group = "∇ gradient ∂t6/∂(Variable#0, Variable#3) by inner_tape"
    assert rec.groups == {f"gradient of tape {inner_tape.record().tape_id}": group[2:]}
    clusters = clusters_of(src)
    assert list(clusters) == [group]
    inside = set(clusters[group])
    grad_ops = {n.id for n in rec.nodes if n.group is not None}
    assert grad_ops and {f"n{i}" for i in grad_ops} <= inside
    assert {f"v{i}" for i in grad_ops} <= inside
    forward_ops = {n.id for n in rec.nodes if n.kind == "op" and n.group is None}
    assert not {f"n{i}" for i in forward_ops} & inside
    assert 'class="tv-cluster tv-group"' in src and "filled,rounded,dashed" in src


def scoped_tape() -> tv.GradientTape:
    x = tv.constant([[1.0, 2.0, 3.0]], name="x")
    with tv.name_scope("dense"):
        k = tv.Variable([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], name="kernel")
        b = tv.Variable([0.0, 0.1], name="bias")
    with tv.name_scope("head"):
        k2 = tv.Variable([[1.0], [-1.0]], name="kernel")
    with tv.GradientTape() as tape:
        with tv.name_scope("model"):
            with tv.name_scope("dense"):
                h = tv.nn.relu(tv.matmul(x, k) + b)
            with tv.name_scope("head"):
                out = tv.matmul(h, k2)
        loss = tv.reduce_mean(tv.square(out - 1.0))
    tape.gradient(loss, [k, b, k2])
    return tape


def test_name_scopes_are_nested_clusters() -> None:
    src = graph(scoped_tape()).source
    clusters = clusters_of(src)
    assert list(clusters) == ["model", "dense", "head"]
    rec = scoped_tape().record()
    matmul = next(n.id for n in rec.nodes if n.op == "matmul" and n.scope == "model/dense")
    assert f"n{matmul}" in clusters["dense"]
    # the variables and the input used only inside the layer sit in its cluster
    for name in ("dense/kernel:0", "dense/bias:0", "x"):
        assert f"n{rec.find(name).id}" in clusters["dense"]
    # nesting: dense and head are inside model
    depth = {}
    level = 0
    for line in src.splitlines():
        s = line.strip()
        if s.startswith("subgraph"):
            level += 1
        elif s == "}":
            level -= 1
        elif s.startswith("graph [") and level:
            m = re.search(r"label=<(.*?)> labeljust", s)
            assert m is not None
            depth[re.sub(r"<[^>]+>", "", m.group(1))] = level
    assert depth == {"model": 1, "dense": 2, "head": 2}


def test_collapse_a_scope() -> None:
    tape = scoped_tape()
    rec = tape.record()
    src = graph(tape, collapse=["model/dense"]).source
    assert 'scope0 [id="scope0" class="tv-node tv-collapsed" shape=box3d' in src
    assert "<B>model/dense</B>" in src and "3 ops: @ + relu" in src
    members = [n.id for n in rec.nodes if n.scope == "model/dense"]
    for i in members:
        assert f"\tn{i} [" not in src and f"\tv{i} [" not in src
    # one edge leaves the box, into the head's matmul; its value is shown in the box
    head_mm = next(n.id for n in rec.nodes if n.op == "matmul" and n.scope == "model/head")
    relu = next(n.id for n in rec.nodes if n.op == "relu")
    assert f'scope0 -> n{head_mm} [id="e{relu}-{head_mm}-0"' in src
    assert 'ID="scope0-value"' in src
    assert list(clusters_of(src)) == ["model", "head"]
    # a prefix collapses everything below it; True collapses the top-level scopes
    assert graph(tape, collapse="model").source == graph(tape, collapse=True).source
    everything = graph(tape, collapse="model").source
    assert "<B>model</B>" in everything and "5 ops: @ + relu @ −" not in everything
    assert "4 ops: @ + relu @" in everything


def test_collapse_the_graph_of_a_gradient() -> None:
    out_tape, inner_tape = nested_tapes()
    label = f"gradient of tape {inner_tape.record().tape_id}"
    src = graph(out_tape, collapse=[label]).source
    assert "tv-collapsed" in src and f"<B>{label}</B>" in src
    assert clusters_of(src) == {}


def quadratic_tape() -> tv.GradientTape:
    """Document 002: y = a·x² + b·x + c with the constants watched."""
    x = tv.Variable(0.0, name="x", dtype=tv.float32)
    a = tv.constant(1.0, name="a")
    b = tv.constant(-2.0, name="b")
    c = tv.constant(1.0, name="c")
    with tv.GradientTape() as tape:
        tape.watch([a, b, c])
        y = a * x**2 + b * x + c
    tape.gradient(y, [x, a, b, c])
    return tape


def drawn(src: str) -> set[str]:
    return set(re.findall(r"^\t*([nv]\d+) \[id=", src, re.M))


def test_focus_keeps_only_paths() -> None:
    tape = quadratic_tape()
    rec = tape.record()
    b, x, c = rec.find("b").id, rec.find("x").id, rec.find("c").id
    src = graph(tape, focus=(None, ["b"])).source
    bx = next(n.id for n in rec.nodes if n.op == "multiply" and b in n.inputs)
    on_path = [n.id for n in rec.nodes if n.kind == "op" and n.id >= bx]
    ops = {f"n{i}" for i in on_path}
    assert {
        s for s in drawn(src) if s.startswith("n") and rec.nodes[int(s[1:])].kind == "op"
    } == ops
    # the other inputs of those ops are drawn faded, without their own ops
    elided = set(re.findall(r'id="([nv]\d+)" class="[^"]*tv-elided', src))
    assert f"n{x}" in elided and f"n{c}" in elided
    pow_op = next(n.id for n in rec.nodes if n.op == "pow")
    assert f"n{pow_op}" not in drawn(src)
    # names, ids and tensors all work; an unknown name says so
    assert graph(tape, focus=(len(rec.nodes) - 1, [b])).source == src
    with pytest.raises(ValueError, match="no node named 'nope'"):
        graph(tape, focus=(None, ["nope"]))
    with pytest.raises(TypeError, match="pair"):
        graph(tape, focus="b")


def test_graph_of_a_tensor() -> None:
    x = tv.Variable(2.0, name="x")
    with tv.GradientTape() as tape:
        u = x * 3.0
        v = tv.exp(x)
        w = u + v
    src = graph(u, tape=tape).source
    assert drawn(src) == {"n0", "n1", "n2", "v2"}
    full = graph(w, tape=tape).source
    assert "tv-target" in full and len(drawn(full)) == 8
    with pytest.raises(TypeError, match="tape=tape"):
        graph(u)
    with tv.GradientTape() as other:
        tv.square(x)
    with pytest.raises(ValueError, match="not on the tape"):
        graph(w, tape=other)


def test_anything_with_a_record_method() -> None:
    tape = square_tape()

    class Traced:
        def record(self) -> Record:
            return tape.record()

    assert graph(Traced()).source == graph(tape).source == graph(tape.record()).source
    with pytest.raises(TypeError, match="cannot draw a int"):
        graph(3)

    class Broken:
        def record(self) -> str:
            return "no"

    with pytest.raises(TypeError, match=r"not a tapeviz.graph.Record"):
        graph(Broken())


def loop_tape(steps: int = 6) -> tv.GradientTape:
    x = tv.Variable(0.5, name="x")
    with tv.GradientTape() as tape:
        y = x
        for _ in range(steps):
            y = y * x + 1.0
    tape.gradient(y, x)
    return tape


def test_collapse_loops() -> None:
    tape = loop_tape(6)
    rec = tape.record()
    src = graph(tape, collapse_loops=True).source
    assert 'loop0 [id="loop0" class="tv-node tv-loop"' in src
    assert "⟳ 5 more iterations" in src and "each: × +" in src
    ops = [n.id for n in rec.nodes if n.kind == "op"]
    assert {f"n{i}" for i in ops[:2]} <= drawn(src)  # the first iteration is drawn
    assert not {f"n{i}" for i in ops[2:]} & drawn(src)
    assert 'ID="loop0-value"' in src  # the value that leaves the loop: the target
    # too few repeats: nothing to collapse
    assert "loop0" not in graph(loop_tape(2), collapse_loops=True).source
    assert "loop0" in graph(loop_tape(2), collapse_loops=2).source


def test_far_inputs_become_reference_boxes() -> None:
    tape = loop_tape(40)
    rec = tape.record()
    auto = graph(tape).source  # 80 ops: references are on
    assert 'class="tv-node tv-ref tv-ref-n0"' in auto
    ref = re.search(r'\t"(r0-(\d+))" \[', auto)  # quoted: r0-9 unquoted reads as r0, -9
    assert ref is not None
    op = int(ref.group(2))
    pos = rec.nodes[op].inputs.index(0)
    assert f'"{ref.group(1)}" -> n{op} [id="e0-{op}-{pos}"' in auto
    if shutil.which("dot"):  # every node graphviz draws is one of ours: no stray "r0"
        svg = to_svg(graph(tape))
        statements = re.findall(r'^\t+("?[\w-]+"?) \[id=', auto, re.M)
        statements.remove("graph")
        drawn = re.findall(r'<g id="([^"]+)" class="node', svg)
        assert sorted(d.replace("&#45;", "-") for d in drawn) == sorted(
            st.strip('"') for st in statements
        )
    assert "drawn once elsewhere" in graph(tape, legend=True).source
    assert "tv-ref" not in graph(tape, refs=False).source
    assert "tv-ref" not in graph(loop_tape(3)).source
    assert "tv-ref" in graph(loop_tape(10), refs=True).source


# --- determinism and stable ids ---------------------------------------------------------------


def test_same_program_same_dot() -> None:
    assert graph(linear_regression_tape()).source == graph(linear_regression_tape()).source
    tape = scoped_tape()
    options = {"legend": True, "collapse": ["model/head"], "collapse_loops": True}
    assert graph(tape, **options).source == graph(tape, **options).source


def test_json_round_trip_draws_the_same() -> None:
    rec = linear_regression_tape().record()
    assert graph(Record.from_json(rec.to_json())).source == graph(rec).source


def test_id_prefix() -> None:
    src = graph(square_tape(), id_prefix="p1-", legend=True).source
    ids = re.findall(r'id="([^"]+)"', src)
    assert ids and all(i.startswith("p1-") for i in ids)
    assert re.search(r'\t"p1-n0" -> "p1-n1" ', src)
    with pytest.raises(ValueError, match="id_prefix"):
        graph(square_tape(), id_prefix='a" onload="x')


@needs_dot
def test_svg_ids_and_classes() -> None:
    rec = linear_regression_tape().record()
    svg = to_svg(rec, legend=True)
    root = ET.fromstring(svg)
    groups = {g.get("id"): (g.get("class") or "") for g in root.iter(f"{SVG_NS}g")}
    for node in rec.nodes:
        box = value_box_id(node)
        assert "tv-node" in groups[box] and "tv-value" in groups[box]
        assert "tv-cell-value" in groups[f"{box}-value"]
        assert groups[f"{box}-value-caption"] == "tv-caption"
        if node.kind == "op":
            assert "tv-op" in groups[f"n{node.id}"]
            assert "tv-cell-step" in groups[f"n{node.id}-step"]
            assert "tv-output" in groups[f"o{node.id}"]
    for node in (rec.find("w"), rec.find("b")):
        assert "tv-cell-grad" in groups[f"n{node.id}-grad"]
    for src, dst, pos in rec.edges:
        assert "tv-input" in groups[f"e{src}-{dst}-{pos}"]
    assert "tv-legend" in groups["legend"]
    # every node and edge carries an id and a tv- class; no leftover dummy links
    for g in root.iter(f"{SVG_NS}g"):
        cls = g.get("class") or ""
        if cls.split()[:1] in (["node"], ["edge"]):
            assert g.get("id") and "tv-" in cls
    assert 'xlink:href="#' not in svg and 'id="a_n0&#45;value' not in svg
    # what a browser shows on hover is the tooltip, never a graphviz node name
    hover = ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}title")]
    assert hover and not [t for t in hover if re.fullmatch(r"[nvoe][\d&#;-]*(->.*)?|tape", t)]


@needs_dot
def test_svg_is_deterministic_and_restylable() -> None:
    rec = linear_regression_tape().record()
    svg = to_svg(rec)
    assert to_svg(rec) == svg
    frame = theme.add_classes(svg, {"n2": ["tv-highlight"], "e0-2-0": ["tv-highlight"]})
    assert 'id="n2" class="node tv-node tv-op tv-highlight"' in frame
    assert 'id="e0-2-0" class="edge tv-edge tv-input tv-highlight"' in frame
    # only class attributes changed: same geometry
    strip = re.compile(r' class="[^"]*"')
    assert strip.sub("", frame).replace("&#45;", "-") == strip.sub("", svg).replace("&#45;", "-")
    styled = theme.embed_css(frame)
    assert "<style>" in styled and ".tv-node.tv-highlight" in styled
    ET.fromstring(styled)


@needs_dot
def test_layouts_of_every_option() -> None:
    """Every feature lays out without graphviz warnings."""
    out_tape, _ = nested_tapes()
    cases = [
        graph(out_tape, legend=True),
        graph(scoped_tape(), collapse=["model/dense"], legend=True),
        graph(loop_tape(8), collapse_loops=True, legend=True, rankdir="TB"),
        graph(quadratic_tape(), focus=(None, "b"), legend=True),
        graph(loop_tape(40)),
        legend(),
    ]
    for g in cases:
        result = subprocess.run(
            ["dot", "-Tsvg"], input=g.source.encode(), capture_output=True, check=True
        )
        assert result.stderr == b"", result.stderr.decode()
        ET.fromstring(result.stdout)


# --- without Graphviz -------------------------------------------------------------------------


def test_missing_dot_program(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on this PATH
    g = graph(square_tape())
    with pytest.raises(GraphvizNotFoundError) as info:
        to_svg(g)
    message = str(info.value)
    for hint in ("apt-get install graphviz", "conda install", "brew install graphviz"):
        assert hint in message
    assert g.source in message and info.value.dot_source == g.source
    assert isinstance(info.value, graphviz.ExecutableNotFound)
    assert isinstance(info.value, RuntimeError)
    # in Jupyter: the help and the DOT as text, not a traceback
    bundle = g._repr_mimebundle_()
    assert list(bundle) == ["text/plain"] and "brew install graphviz" in bundle["text/plain"]


def test_missing_dot_via_graphviz_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dot(*args: object, **kwargs: object) -> str:
        raise graphviz.ExecutableNotFound(("dot", "-Tsvg"))

    monkeypatch.setattr(TapeGraph, "pipe", no_dot)
    with pytest.raises(GraphvizNotFoundError, match="sudo apt-get install graphviz"):
        to_svg(square_tape())


@needs_dot
def test_jupyter_display_uses_to_svg() -> None:
    g = graph(square_tape())
    bundle = g._repr_mimebundle_()
    assert bundle["image/svg+xml"] == to_svg(g)
    assert 'id="n0-value"' in bundle["image/svg+xml"]


def test_to_svg_refuses_options_for_a_drawn_graph() -> None:
    with pytest.raises(TypeError, match="already drawn"):
        to_svg(graph(square_tape()), legend=True)


# --- legend, theme, packaging -----------------------------------------------------------------


def test_legend() -> None:
    src = legend().source
    for style in (theme.VARIABLE, theme.WATCHED_CONSTANT, theme.CONSTANT, theme.TARGET):
        assert html_escape(style.legend) in src and style.stroke in src
    assert html_escape(theme.GROUP.legend) in src and theme.LOOP.legend in src
    inline = graph(square_tape(), legend=True).source
    assert "legend [id=" in inline and "{rank=sink; legend}" in inline
    assert html_escape(theme.GROUP.legend) not in inline  # only what the drawing uses


def test_theme() -> None:
    assert theme.tint("#000000", 0.0) == "#FFFFFF" and theme.tint("#0072B2", 1.0) == "#0072B2"
    assert set(theme.OKABE_ITO.values()) >= {s.stroke for s in (theme.VARIABLE, theme.TARGET)}
    assert all(name == style.name for name, style in theme.ROLES.items())
    css = theme.css(".tv-player")
    for state in theme.STATE.values():
        assert f".tv-player .{state}" in css or f".{state}" in css
    assert theme.add_classes("<svg/>", {}) == "<svg/>"
    with pytest.raises(ValueError, match="no <svg>"):
        theme.embed_css("<html/>")


def test_theme_css_reaches_nested_shapes() -> None:
    """Graphviz nests an op's ellipse in <g><a> (its tooltip): the rules are descendant ones,
    and the widget stylesheet does not repeat them."""
    from tapeviz.viz import static

    css = theme.css(".tv-widget")
    assert "> ellipse" not in css and "> path" not in css
    assert ".tv-widget .tv-node.tv-highlight :is(path, polygon, ellipse)" in css
    assert ":not(.tv-cell-step *)" in css  # the op's step badge keeps its colour
    widget = static.asset("tapeviz.css")
    assert ".tv-op.tv-highlight" not in widget and ".tv-op.tv-visited" not in widget


def test_big_tape_without_recursion() -> None:
    x = tv.Variable(1.0, name="x")
    with tv.GradientTape() as tape:
        y = x
        for _ in range(3000):
            y = y * 1.0
    src = graph(tape, max_nodes=None).source
    assert src.count(" -> ") > 6000


def test_import_tapeviz_does_not_import_graphviz() -> None:
    code = "import sys, tapeviz; assert 'graphviz' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_lazy_widgets() -> None:
    import tapeviz.viz as viz

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        viz.Nope  # noqa: B018
    assert {"SweepPlayer", "OptimizerRace"} <= set(viz.__all__)


def test_viz_reads_only_the_public_record() -> None:
    """dot.py, theme.py and the package init import nothing private from the engine."""
    root = Path(tv.__file__).parent / "viz"
    for name in ("dot.py", "theme.py", "__init__.py"):
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 1:
                module = node.module or ""
                if node.level == 2:  # tapeviz.<module>
                    assert module == "graph", f"{name} imports tapeviz.{module}"
                assert not any(a.name.startswith("_") for a in node.names), name
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("tapeviz", "tv")
            ):
                assert not node.attr.startswith("_"), f"{name} uses tapeviz.{node.attr}"


# --- big tapes, long names, traced programs, the width of the page (issues 14 and 17) -----------


def statements(src: str) -> list[str]:
    """The names of the boxes of a drawing (node statements), without the graph's own."""
    names = re.findall(r'^\t+("?[\w-]+"?) \[id=', src, re.M)
    return [n.strip('"') for n in names if n != "graph"]


def caption(src: str) -> str:
    """The text above a drawing (title and note), its lines joined."""
    m = re.search(r"\tgraph \[[^\n]* label=<(.*)> labelloc=t\]", src)
    return "" if m is None else " ".join(re.sub(r"<[^>]+>", " ", m.group(1)).split())


def chain_tape(steps: int) -> tv.GradientTape:
    """benchmarks/bench_dot.py's training-loop-like chain: 4 ops a step, a scope per 50."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_dot.py"
    spec = importlib.util.spec_from_file_location("bench_dot", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    tape: tv.GradientTape = bench.make_tape(4 * steps)
    return tape


def test_a_big_tape_is_folded_within_the_node_budget() -> None:
    tape = chain_tape(1250)  # 5 001 ops, 6 254 nodes, 25 scopes
    rec = tape.record()
    src = graph(tape).source
    boxes = statements(src)
    assert len(boxes) <= 300 < len(rec.nodes)
    # one loop across the scopes: its first iteration, a box for the 1 248 others, the last
    assert boxes.count("loop0") == 1 and "loop1" not in boxes
    assert "⟳ 1 248 more iterations" in src and "each: + tanh − ×" in src
    assert caption(src) == (
        "Drawn in short (6 254 nodes): 6 240 nodes of repeated loop iterations folded into ⟳ "
        "boxes. tv.viz.graph(..., max_nodes=None) draws every node, slowly."
    )
    # the target, where the sweep starts, and its step number 1 are drawn
    target = rec.targets[0]
    assert f"v{target}" in boxes and re.search(rf'n{target} \[.*ID="n{target}-step".*<B>1</B>', src)
    # asked for: every node; asked not to fold: the earliest nodes are left out instead
    assert len(statements(graph(tape, max_nodes=None).source)) > 11_000
    unfolded = graph(tape, collapse_loops=False).source
    assert "loop0" not in unfolded and "earlier nodes not drawn" in unfolded
    assert len(statements(unfolded)) <= 300
    with pytest.raises(ValueError, match="max_nodes"):
        graph(tape, max_nodes=3)


def test_without_repeats_the_earliest_nodes_are_left_out() -> None:
    rng = np.random.default_rng(0)
    x = tv.Variable(0.5, name="x")
    with tv.GradientTape() as tape:
        y = x
        for r in rng.random(1500):  # few repeats: folding loops is not enough
            y = tv.sin(y) if r < 0.3 else (y * x if r < 0.6 else tv.tanh(y) + 0.1)
    tape.gradient(y, x)
    rec = tape.record()
    assert 250 < len(statements(graph(tape).source)) <= 300
    src = graph(tape, collapse_loops=False).source
    boxes = statements(src)
    assert 250 < len(boxes) <= 300
    hidden = re.search(r"⋯ (\d[\d ]*) earlier nodes not drawn", src)
    assert hidden is not None
    shown = {int(b[1:]) for b in boxes if re.fullmatch(r"[nv]\d+", b)}
    n_hidden = int(hidden.group(1).replace(" ", ""))
    assert n_hidden + len(shown) == len(rec.nodes)  # every node drawn or counted as left out
    assert max(shown) == len(rec.nodes) - 1 and 0 in shown  # the target and the source x
    assert min(i for i in shown if i) > n_hidden - 5  # what is left out is the earliest
    total, left_out = (f"{n:,}".replace(",", " ") for n in (len(rec.nodes), n_hidden))
    assert 'id="hidden"' in src and caption(src) == (
        f"Drawn in short ({total} nodes): the {left_out} earliest nodes left out (the ⋯ box). "
        "tv.viz.graph(..., max_nodes=None) draws every node, slowly."
    )


def test_a_very_long_tape_is_drawn_from_its_last_nodes_only() -> None:
    """More than 50 × max_nodes nodes: a window of the last ones is drawn, and no node
    before it is even made (a million-op tape draws in seconds and little memory)."""
    w = tv.Variable(1.00001, name="w")
    y = tv.constant(1.0)
    with tv.GradientTape() as tape:
        for _ in range(5_000):  # 10 000 ops: y * w, then + 0.5
            y = y * w + 0.5
    tape.gradient(y, w)
    rec = tape.record()
    assert len(rec.nodes) == 15_002  # 1, w, then two ops and a constant per step
    src = graph(rec, max_nodes=100).source  # a window of the last 5 000 nodes
    made = [i for i, item in enumerate(rec.nodes._items) if item is not None]  # type: ignore[attr-defined]
    # w, the value the window reads from before it, the window
    assert made[:3] == [1, 10_001, 10_002] and len(made) == 5_002
    boxes = statements(src)
    assert len(boxes) <= 100 and "hidden" in boxes and "loop0" in boxes
    left_out = int(re.search(r"⋯ ([\d ]+) earlier nodes", src).group(1).replace(" ", ""))  # type: ignore[union-attr]
    folded = int(re.search(r"⟳ ([\d ]+) more iterations", src).group(1).replace(" ", ""))  # type: ignore[union-attr]
    # every node is drawn, folded (3 a step) or counted as left out
    drawn = {int(b[1:]) for b in boxes if re.fullmatch(r"[nv]\d+", b)}
    assert len(drawn) + 3 * folded + left_out == len(rec.nodes)
    assert {1, 15_001} <= drawn and min(drawn - {1}) > left_out  # w, the target
    assert "before node 10 002" in src
    # the edge from the box: the last value before the window flows on into it
    assert re.search(r'hidden -> "?n\d+"? \[id="e10001-', src)
    assert caption(src).startswith("Drawn in short (15 002 nodes): ")
    assert graph(rec, max_nodes=None).source.count("hidden") == 0  # everything, if asked


@needs_dot
def test_drawing_5000_ops_takes_seconds_not_minutes() -> None:
    """17.4: the default drawing lays out (benchmarks/bench_dot.py measures how fast)."""
    svg = to_svg(chain_tape(1250))
    root = ET.fromstring(svg)
    assert len([g for g in root.iter(f"{SVG_NS}g") if "node" in (g.get("class") or "")]) < 300


@needs_dot
@pytest.mark.parametrize("length", [4_500, 40_000])
def test_names_of_any_length_are_drawn(length: int) -> None:
    name = "w" * (length - 3) + "end"
    v = tv.Variable(2.0, name=name)
    with tv.GradientTape() as tape:
        y = v * v
    tape.gradient(y, v)
    svg = to_svg(tape)
    root = ET.fromstring(svg)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]
    assert short_label(name) in texts and len(short_label(name)) == 24  # the box: shortened
    titles = [a.get("{http://www.w3.org/1999/xlink}title") or "" for a in root.iter(f"{SVG_NS}a")]
    assert any(t.startswith(f"{name}: variable") for t in titles)  # the tooltip: whole
    assert any(f"∂L/∂{name} += " in t for t in titles)
    # in a scope, a group and a title too
    with tv.GradientTape() as outer:
        with tv.GradientTape() as inner, tv.name_scope("s" * length):
            z = v * v
        g = inner.gradient(z, v)
    outer.gradient(g, v)
    assert to_svg(outer, title=name).count("<svg") == 1
    assert to_svg(outer, collapse=True).count("<svg") == 1


@needs_dot
def test_traced_values_are_shown_as_types_known_at_run_time() -> None:
    @tv.function
    def f(x: tv.Tensor) -> tv.Tensor:
        h = tv.matmul(tv.ones([2, 2]), x)
        return tv.reduce_sum(h * h)

    concrete = f.get_concrete_function(tv.constant([[1.0], [2.0]]))
    rec = concrete.record()
    args = [n for n in rec.nodes if n.attrs.get("role") == "argument"]
    assert [(n.label, n.symbolic, n.type_text) for n in args] == [("x", True, "f32[2,1]")]
    assert all(n.symbolic for n in rec.nodes if n.kind == "op")
    assert not any(n.symbolic for n in rec.nodes if n.kind == "constant" and not n.attrs)
    svg = to_svg(rec)
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG_NS}text")]
    assert "nan" not in texts and "f32[2,1]" in texts and "f32[]" in texts
    assert "[[1,1]," in "".join(texts).replace("\u00a0", "")  # a constant keeps its value
    # boxes: the argument x, the constant, and what the function returns (t4); the
    # unnamed values read by a later op (t2, t3) are named in their op's circle
    groups = ET.fromstring(svg).iter(f"{SVG_NS}g")
    boxes = [g.get("id") for g in groups if "tv-value" in (g.get("class") or "")]
    assert boxes == ["n0", "n1", "v4"]
    assert texts.count("known at run time") == 2  # x and t4
    assert texts.count("t2") == texts.count("t3") == 1
    src = graph(rec).source
    assert 'tooltip="t2 = matmul(c1, x, transpose_a=False, transpose_b=False)\\n' in src
    assert "t2: f32[2,1], known at run time" in src
    # every edge is labelled with the type of what flows along it, as the program prints
    edges = re.findall(r'(n\d) -> (n\d) \[id="e[^"]*".* label="([^"]*)"\]', src)
    assert edges == [
        ("n1", "n2", "f32[2,2]"),
        ("n0", "n2", "f32[2,1]"),
        ("n2", "n3", "f32[2,1]"),
        ("n3", "n4", "f32[2,1]"),
    ]


def test_long_graphs_are_laid_out_top_to_bottom() -> None:
    assert "rankdir=LR" in graph(square_tape()).source  # fits from left to right
    tape = linear_regression_tape()  # 5 ops: 1 600 px from left to right
    assert "rankdir=TB" in graph(tape).source
    assert "rankdir=LR" in graph(tape, rankdir="LR").source
    assert "rankdir=LR" in graph(tape, max_width=None).source
    assert "rankdir=LR" in graph(tape, max_width=3000).source


def _width_pt(svg: str) -> float:
    return float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))  # type: ignore[union-attr]


@needs_dot
def test_small_graphs_are_laid_out_both_ways_and_the_narrower_kept() -> None:
    tape = linear_regression_tape()
    g = graph(tape)
    lr, tb = to_svg(graph(tape, rankdir="LR")), to_svg(graph(tape, rankdir="TB"))
    assert _width_pt(lr) > PAGE_WIDTH * 0.75 > _width_pt(tb)  # only top to bottom fits
    assert "rankdir=TB" in g.source
    assert g.laid_out is not None and to_svg(g) == g.laid_out[1] == tb  # laid out once
    g.attr(bgcolor="yellow")  # changed: laid out again
    assert "bgcolor=yellow" in g.source and to_svg(g) != tb


def descend_range_record() -> Record:
    """Document 8's traced loop: (x - 3)² and its gradient, then x.assign_sub, 100 times."""
    x = tv.Variable(0.0, name="x")

    @tv.function
    def descend_range(lr: tv.Tensor) -> tv.Tensor:
        for _ in tv.range(100):
            with tv.GradientTape() as tape:
                y = (x - 3.0) ** 2
            x.assign_sub(lr * tape.gradient(y, x))
        return y

    return descend_range.get_concrete_function(0.1).record()


@needs_dot
def test_traced_loop_is_one_cluster_with_its_index_and_its_gradient() -> None:
    rec = descend_range_record()
    loop = "for t1 in tv.range(0, 100, 1)"
    # the loop's bounds are in its title, not nodes of their own
    numbers = [n.label for n in rec.nodes if n.kind == "constant" and not n.symbolic]
    assert numbers == ["3", "2", "2", "0.1"]
    index = next(n for n in rec.nodes if n.attrs.get("role") == "loop index")
    assert (index.label, index.scope) == ("t1", loop)
    src = graph(rec).source
    clusters = re.findall(
        r"subgraph (cluster_\d+) \{\n\s*graph \[id=\"c\d+\" class=\"([^\"]*)\"", src
    )
    assert [c for _, c in clusters] == ["tv-cluster tv-scope", "tv-cluster tv-group"]
    outer = src.index("subgraph cluster_0")
    inner = src.index("subgraph cluster_1")
    end = src.index("\n\t}\n", inner)  # the loop's cluster closes after the gradient's
    assert outer < src.index(f"\t\tn{index.id} [") < inner < end
    assert f'tooltip="loop {loop}: its body, drawn once, runs at every step"' in src
    svg = graph(rec)._repr_image_svg_xml()
    assert "Scaled to" not in svg and _width_pt(svg) <= PAGE_WIDTH * 0.75  # fits, full size


@needs_dot
def test_shown_in_jupyter_never_wider_than_the_page() -> None:
    wide = graph(linear_regression_tape(), rankdir="LR")
    natural = to_svg(wide)
    width = float(re.search(r'<svg width="([\d.]+)pt"', natural).group(1))  # type: ignore[union-attr]
    assert width * 4 / 3 > 1200  # wider than JupyterLab's output area
    shown = wide._repr_image_svg_xml()
    w, _h = (
        float(v) for v in re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', shown).groups()
    )  # type: ignore[union-attr]
    assert w * 4 / 3 == pytest.approx(PAGE_WIDTH, abs=1) and PAGE_WIDTH <= 848  # JupyterLab
    assert "Scaled to" in shown and "max_width=None" in shown  # under 75 %: says so
    ET.fromstring(shown)  # still well-formed
    wide.max_width = None
    assert wide._repr_image_svg_xml() == natural
    small = graph(square_tape())
    assert small._repr_image_svg_xml() == to_svg(small)
    assert fit_width(natural, 1300).count("Scaled to") == 0  # 81 %: no note
