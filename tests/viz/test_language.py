"""tv.viz.set_language: every word of the widgets and pages in English or in Chinese.

The Chinese table must have every key of the English one with the same ``{fields}``, and a
Chinese player or race must show no English word of its interface (names the user chose,
op names and key caps such as "Home" are not interface words).
"""

from __future__ import annotations

import contextlib
import re
import string
from pathlib import Path

import pytest

import tapeviz as tv
from tapeviz import keras
from tapeviz.viz import messages
from tapeviz.viz.messages import MESSAGES, message

EN, ZH = MESSAGES["en"], MESSAGES["zh"]

# Words a Chinese widget may still show: key caps, class names, proper names.
NOT_ENGLISH_UI = {"Home", "End", "Ctrl", "tapeviz", "viz", "SweepPlayer", "OptimizerRace",
                  "Rosenbrock", "Beale"}  # fmt: skip
WORD = re.compile(r"[A-Za-z]{3,}")


def fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def english_words(text: str) -> set[str]:
    """English words of a text, its ``{fields}`` (filled in later) left out."""
    return set(WORD.findall(re.sub(r"\{\w+\}", "", text))) - NOT_ENGLISH_UI


def small_tape() -> tv.GradientTape:
    x = tv.Variable(3.0, name="x")
    with tv.GradientTape() as tape:
        y = x * x + x
    tape.gradient(y, x)
    return tape


def test_every_message_has_a_chinese_entry_with_the_same_fields() -> None:
    assert set(ZH) == set(EN), (sorted(set(EN) - set(ZH)), sorted(set(ZH) - set(EN)))
    for key, template in EN.items():
        assert fields(ZH[key]) == fields(template), key


def test_chinese_entries_are_chinese() -> None:
    """An entry copied from English would pass the key test: the visible ones must differ."""
    same_on_purpose = {"controls.key_hint", "player.zoom_level", "race.x_label", "race.y_label",
                       "race.beta_1", "race.surface_title"}  # fmt: skip
    for key in EN.keys() - same_on_purpose:
        assert re.search(r"[\u4e00-\u9fff]", ZH[key]), (key, ZH[key])


def test_set_language_switches_and_switches_back() -> None:
    assert tv.viz.get_language() == "en"
    assert message("controls.play") == "Play"
    tv.viz.set_language("zh")
    assert tv.viz.get_language() == "zh" == messages.language()
    assert message("controls.play") == "播放"
    assert message("controls.back") == "上一步"
    assert message("player.phase.forward") == "正向传播"
    assert message("player.phase.backward") == "反向传播"
    assert message("race.diverged", step=7) == "第 7 步发散"
    tv.viz.set_language("en")
    assert message("controls.play") == "Play"


@pytest.mark.parametrize("bad", ["fr", "ZH", "", None, 1])
def test_unknown_language_is_refused_with_the_choices(bad: object) -> None:
    with pytest.raises(ValueError, match=r"unknown language .*choose one of 'en', 'zh'"):
        tv.viz.set_language(bad)  # type: ignore[arg-type]
    assert tv.viz.get_language() == "en"


def test_chinese_player_has_no_english_interface_words(tmp_path: Path) -> None:
    tv.viz.set_language("zh")
    player = tv.viz.SweepPlayer(small_tape())
    for key, text in player._text.items():
        assert not english_words(text), (key, text)
    assert player._text["controls.play"] == "播放"
    for frame in player.frames:
        # the title names the op (code) and the node's label; the rest is Chinese
        words = english_words(frame.title) - {"add", "multiply"}
        assert not words, frame.title
        assert re.search(r"[\u4e00-\u9fff]", frame.title)
    page = player.save_html(tmp_path / "播放器.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page
    assert "<title>tapeviz 反向传播播放器</title>" in page
    assert '"controls.play":"播放"' in page and '"controls.back":"上一步"' in page
    assert repr(player) == "<tv.viz.SweepPlayer：共 4 帧（正向 2 帧，反向 2 帧），当前第 1 帧>"
    html = player.static_html()
    assert "目前累积的伴随值" in html and "静态图片" in html
    # a widget keeps the language it was made in; new ones follow the switch
    tv.viz.set_language("en")
    assert player._text["controls.play"] == "播放"
    assert tv.viz.SweepPlayer(small_tape())._text["controls.play"] == "Play"


def test_chinese_race_has_no_english_interface_words(tmp_path: Path) -> None:
    tv.viz.set_language("zh")

    def loss(p: tv.Tensor) -> tv.Tensor:
        return p[0] ** 2 + 3 * p[1] ** 2

    race = tv.viz.OptimizerRace(
        loss, (1.0, 1.0), {"SGD": keras.optimizers.SGD(learning_rate=0.1)}, steps=5
    )
    for key, text in race._text.items():
        assert not english_words(text), (key, text)
    html = race.static_html()
    for word in ("优化器", "损失", "学习率", "静态图片"):
        assert word in html, word
    # plots (their glyphs are paths) and the stylesheet are not text a reader sees
    visible = re.sub(r"<svg.*?</svg>|<style.*?</style>", "", html, flags=re.S)
    visible = re.sub(r"<[^>]+>", " ", visible)
    assert not english_words(visible) - {"SGD"}, english_words(visible)
    fig = race.figure()
    labels = [ax.get_xlabel() for ax in fig.axes] + [ax.get_ylabel() for ax in fig.axes]
    assert "损失" in labels or "损失（对数坐标）" in labels, labels
    page = race.save_html(tmp_path / "race.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "优化器赛跑" in page
    named = tv.viz.OptimizerRace(tv.viz.surfaces.rosenbrock, steps=3)
    assert named.title.startswith("Rosenbrock 函数：(1 − x)²"), named.title
    tv.viz.set_language("en")
    assert tv.viz.OptimizerRace(tv.viz.surfaces.rosenbrock, steps=3).title.startswith(
        "rosenbrock: (1 − x)²"
    )


def test_chinese_errors() -> None:
    tv.viz.set_language("zh")
    with pytest.raises(TypeError, match=r"SweepPlayer 需要一个 tv.GradientTape"):
        tv.viz.SweepPlayer(3)


def test_chinese_drawing_has_no_english_interface_words() -> None:
    """The legend, captions, tooltips and notes of a drawing follow the language; the names,
    op symbols, dtypes and the formulas (notation) do not."""
    tv.viz.set_language("zh")
    try:
        tape = small_tape()
        source = tv.viz.graph(tape, legend=True).source
        long = tv.viz.graph(_chain(400), max_nodes=40, collapse_loops=False).source
    finally:
        tv.viz.set_language("en")
    for word in ("图例", "变量（tv.Variable）", "梯度 ∂L/∂值", "值", "反向传播第 1 步"):
        assert word in source, word
    assert "前面" in long and "节点没有画出" in long and "简化画法" in long, long[-800:]
    texts = re.findall(r'tooltip="([^"]*)"', source + long)
    texts += [t for t in re.findall(r">([^<>]+)<", source + long) if "=" not in t]
    visible = " ".join(texts)
    # code in the text: op names, dtypes, tv.viz.graph(..., max_nodes=None), tape.watch
    code = {"float", "add", "multiply", "sin", "graph", "max", "nodes", "None", "Variable",
            "watch", "gradient", "tape", "name_scope", "Keras", "ntv"}  # fmt: skip
    assert not english_words(visible) - code, english_words(visible) - code
    english = tv.viz.graph(small_tape(), legend=True).source
    assert "Legend" in english and "variable (tv.Variable)" in english


def test_chinese_drawing_of_a_traced_program_has_no_english_interface_words() -> None:
    """A tv.function's drawing (types known at trace time, values at run time, control flow)
    speaks Chinese too; the op symbols of its blocks (if, else, merge) are code."""

    @tv.function
    def relu_with_if(x: tv.Tensor) -> tv.Tensor:
        if x > 0:  # noqa: SIM108 - the statement autograph converts
            y = x * 2.0
        else:
            y = -x
        return y

    record = relu_with_if.get_concrete_function(tv.constant(2.0)).record()
    tv.viz.set_language("zh")
    try:
        source = tv.viz.graph(record).source
    finally:
        tv.viz.set_language("en")
    assert "类型" in source and "运行时才知道" in source, source[:600]
    texts = re.findall(r'tooltip="([^"]*)"', source)
    texts += [t for t in re.findall(r">([^<>]+)<", source) if "=" not in t]
    code = {"if", "else", "merge", "cond", "tv", "f32", "bool", "float", "assign", "greater"}
    code |= {"multiply", "negative"}  # op names and dtypes are code
    assert not english_words(" ".join(texts)) - code, english_words(" ".join(texts)) - code
    assert ">type<" in tv.viz.graph(record).source


def _chain(n: int) -> tv.GradientTape:
    x = tv.Variable(0.5, name="x")
    with tv.GradientTape() as tape:
        y = x
        for _ in range(n):
            y = tv.sin(y)
    return tape


# --- the words of the VJP rules (tape.record()'s steps, the player's formula) ---------------
# Notation in a rule: function names, written as in the maths (f.grad_fn: a custom gradient).
RULE_NOTATION = {"sign", "cos", "sin", "log", "softmax", "onehot", "reshape", "cast", "conj",
                 "grad"}  # fmt: skip


def _rule_templates() -> set[str]:
    """Every rule template of every registered op (those that depend on attrs, for the attrs
    that change them), and the note of a sweep that reaches no source."""
    from tapeviz.ops._registry import REGISTRY

    found = {"{g} reaches no source"}
    attrs_cases: list[dict[str, object]] = [{}, {"transpose_a": True}, {"transpose_b": True}]
    for op in REGISTRY.values():
        for attrs in attrs_cases:
            for n in (1, 2, 3):
                with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
                    found.update(op.texts(attrs, n))
    return found


def test_every_rule_with_words_has_chinese_words() -> None:
    zh = messages.RULES["zh"]
    worded = {t for t in _rule_templates() if english_words(t) - RULE_NOTATION}
    assert "{g} copied over the summed axes" in worded  # the search sees the rules
    assert sorted(worded - set(zh)) == []
    for english, chinese in zh.items():
        assert fields(chinese) == fields(english), english
        assert not english_words(chinese) - RULE_NOTATION - {"n"}, chinese
        assert re.search(r"[\u4e00-\u9fff]", chinese), chinese


def _relu_sweep() -> list[str]:
    X = tv.constant([[1.0, 2.0], [3.0, 4.0]])
    w = tv.Variable([[1.0], [2.0]])
    with tv.GradientTape() as tape:
        h = tv.matmul(X, w) - 6.0
        r = tv.nn.relu(h)
        L = tv.reduce_sum(r)
    tape.gradient(L, w)
    return [s.formula for s in tape.record().sweep]


def test_a_sweep_records_its_rules_in_the_language_chosen() -> None:
    """A record is written in the language chosen when it is made (as a drawing is)."""
    english = _relu_sweep()
    tv.viz.set_language("zh")
    try:
        chinese = _relu_sweep()
    finally:
        tv.viz.set_language("en")
    assert english[0] == (
        "∂L/∂r += ∂L/∂L copied over the summed axes = 1 copied over the summed axes = [[1],[1]]"
    )
    assert chinese[0] == "∂L/∂r += ∂L/∂L 沿被求和的轴复制 = 1 沿被求和的轴复制 = [[1],[1]]"
    assert english[1] == "∂L/∂h += ∂L/∂r where h > 0 = [[1],[1]] where [[-1],[5]] > 0 = [[0],[1]]"
    assert chinese[1] == (
        "∂L/∂h += ∂L/∂r（只在 h > 0 处） = [[1],[1]]（只在 [[-1],[5]] > 0 处） = [[0],[1]]"
    )
    assert chinese[2:] == english[2:]  # notation only: the same in both languages
