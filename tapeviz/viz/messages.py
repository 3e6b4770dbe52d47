"""Every string the widgets show, in one table.

The sweep player, the optimizer race and their error messages take their words from
:data:`MESSAGES` through :func:`message`; the browser side of a widget gets the strings it
needs as data (:func:`for_front_end`), so no visible text is written in the JavaScript.
There are two languages, English (``"en"``, the default) and simplified Chinese (``"zh"``),
chosen with :func:`set_language`.  Another language is one more table with the same keys;
a key missing there falls back to English.

Keys are dotted: ``controls.*`` (the playback toolbar of both widgets), ``player.*``,
``race.*``, ``graph.*`` (the drawings of :mod:`tapeviz.viz.dot`), and ``error.*`` for
exceptions (not sent to the browser).  Fields are
``str.format`` fields: ``message("race.diverged", step=12)`` gives ``"diverged at step 12"``.

>>> from tapeviz.viz.messages import message
>>> message("controls.play")
'Play'
>>> message("player.frame_label", index=3, count=10, phase=message("player.phase.backward"))
'Frame 3 / 10 · reverse sweep'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "MESSAGES",
    "for_front_end",
    "get_language",
    "RULES",
    "html_lang",
    "language",
    "message",
    "rule_text",
    "set_language",
]

_EN: dict[str, str] = {
    # -- the playback toolbar (controls.js), shared by both widgets ------------------------
    "controls.first": "First frame",
    "controls.back": "Step back",
    "controls.play": "Play",
    "controls.pause": "Pause",
    "controls.forward": "Step forward",
    "controls.last": "Last frame",
    "controls.slider": "Frame",
    "controls.speed": "Speed",
    "controls.fps": "{fps} fps",
    "controls.toolbar": "{name} controls",
    "controls.key_hint": "{label} ({keys})",
    "controls.key_space": "Space",
    # -- SweepPlayer ----------------------------------------------------------------------
    "player.name": "Sweep player",
    "player.aria": "Sweep player: arrow keys step, Space plays, + and − zoom the graph",
    "player.graph": "Graph of the recorded ops (drag to move it; Ctrl + wheel zooms)",
    "player.frame_label": "Frame {index} / {count} · {phase}",
    "player.phase.forward": "forward pass",
    "player.phase.backward": "reverse sweep",
    "player.forward_title": "Forward step {step} of {count}: evaluate {label} ({op})",
    "player.backward_title": "Reverse step {step} of {count}: propagate ∂L/∂{label} through {via}",
    "player.forward_note": (
        "Forward pass: each op is evaluated in recording order; the reverse sweep follows."
    ),
    "player.fan_out": (
        "{names} feeds more than one op: its adjoint is the sum of what each use sends back."
    ),
    "player.adjoints": "Adjoints ∂L/∂value accumulated so far",
    "player.seed": " (seed)",
    "player.zoom": "Zoom",
    "player.zoom_out": "Zoom out",
    "player.zoom_in": "Zoom in",
    "player.zoom_fit": "Whole graph",
    "player.zoom_reset": "Readable size",
    "player.zoom_level": "{percent}%",
    "player.static_note": "Frame {index} of {count} (static picture: run the notebook to play).",
    "player.page_title": "tapeviz sweep player",
    "player.repr": (
        "<tv.viz.SweepPlayer: {count} frames ({forward} forward, {backward} backward), "
        "showing frame {index}>"
    ),
    # -- OptimizerRace --------------------------------------------------------------------
    "race.name": "Optimizer race",
    "race.aria": "Optimizer race: arrow keys step, Space plays",
    "race.step_label": "Step {index} / {count}",
    "race.caption": "After step {index} of {count}",
    "race.col.optimizer": "optimizer",
    "race.col.position": "position (x, y)",
    "race.col.position_1d": "position x",
    "race.col.loss": "loss",
    "race.col.slots": "slots",
    "race.col.settings": "settings",
    "race.col.learning_rate": "learning rate",
    "race.col.momentum": "momentum / β₁",
    "race.learning_rate": "learning rate",
    "race.momentum": "momentum",
    "race.beta_1": "β₁",
    "race.input_aria": "{label} of {name}",
    "race.input_title": "{label}: change to re-run",
    "race.input_title_static": "Re-running the race needs a live kernel",
    "race.note": "Change a learning rate or momentum to run the race again.",
    "race.note_static": (
        "Saved page: the settings are shown read-only (re-running needs a live kernel)."
    ),
    "race.diverged": "diverged at step {step}",
    "race.diverged_nan": "{name} diverged at step {step}: its loss became {value}.",
    "race.diverged_left": (
        "{name} diverged at step {step}: it left the picture, its loss climbing above every "
        "value drawn, and never came back."
    ),
    "race.overflow": "  From step {step} on, its loss is {value}.",
    "race.left": "left the picture at step {step}",
    "race.left_note": "{name} left the picture at step {step} (its loss kept falling).",
    "race.x_label": "x = p[0]",
    "race.y_label": "y = p[1]",
    "race.loss_label": "loss",
    "race.loss_log_label": "loss (log scale)",
    "race.step_axis": "step",
    "race.start": "start",
    "race.minimum": "minimum",
    "race.plot_aria": "Paths of the optimizers on {title}",
    "race.loss_aria": "Loss against step",
    "race.custom_title": "the loss",
    "race.surface_title": "{name}: {formula}",
    "race.surface.quadratic_bowl": "quadratic_bowl",
    "race.surface.rosenbrock": "rosenbrock",
    "race.surface.beale": "beale",
    "race.surface.saddle": "saddle",
    "race.surface.parabola": "parabola",
    "race.static_note": "Step {index} of {count} (static picture: run the notebook to play).",
    "race.page_title": "tapeviz optimizer race — {title}",
    "race.repr": "<tv.viz.OptimizerRace on {title}: {names}; {steps} steps, showing step {index}>",
    # -- drawings (tapeviz.viz.dot): legend, captions, tooltips, notes --------------------
    "graph.legend": "Legend",
    "graph.legend.variable": "variable (tv.Variable)",
    "graph.legend.watched_constant": "watched constant (tape.watch)",
    "graph.legend.constant": "constant (not watched)",
    "graph.legend.value": "value computed by an op",
    "graph.legend.elided": "value from outside the focus",
    "graph.legend.target": "target of tape.gradient",
    "graph.legend.op": "op: its symbol and its step in the reverse sweep",
    "graph.legend.gradient": "gradient ∂L/∂value (after tape.gradient)",
    "graph.legend.shape": "shape of the value on an edge",
    "graph.legend.scope": "tv.name_scope / Keras layer",
    "graph.legend.group": "ops recorded from an inner tape's reverse sweep",
    "graph.legend.collapsed": "collapsed scope",
    "graph.legend.loop": "repeated loop iterations",
    "graph.legend.ref": "the value w, drawn once elsewhere",
    "graph.value": "value",
    "graph.grad": "grad",
    "graph.run_time": "known at run time",
    "graph.type": "type",
    "graph.group_note": "ops recorded while that tape ran its reverse sweep",
    "graph.more_iteration": "⟳ {count} more iteration",
    "graph.more_iterations": "⟳ {count} more iterations",
    "graph.each": "each: {symbols}",
    "graph.before_node": "before node {count}",
    "graph.hidden": "⋯ {count} earlier nodes not drawn",
    "graph.draw_all_tip": "tv.viz.graph(..., max_nodes=None) draws them, slowly",
    "graph.note_loops": "{count} nodes of repeated loop iterations folded into ⟳ boxes",
    "graph.note_hidden": "the {count} earliest nodes left out (the ⋯ box)",
    "graph.note": (
        "Drawn in short ({count} nodes): {notes}. tv.viz.graph(..., max_nodes=None) draws "
        "every node, slowly."
    ),
    "graph.scaled": "Scaled to {percent} % to fit the page. To zoom, open the image in a new tab,",
    "graph.scaled_2": "or draw it at full size with tv.viz.graph(..., max_width=None).",
    "graph.tip.variable": "variable",
    "graph.tip.watched_constant": "watched constant",
    "graph.tip.constant": "constant",
    "graph.tip.output": "output of {op}",
    "graph.tip.named": "named {name}",
    "graph.tip.type": "{dtype}, shape {shape}",
    "graph.tip.value_run_time": "value {type}: known at run time",
    "graph.tip.op_run_time": "{label}: {type}, known at run time",
    "graph.tip.step": "reverse sweep, step {step}: {formula}",
    "graph.tip.ref": "the value {label} (drawn once, elsewhere)",
    "graph.tip.loop": "loop {text}: its body, drawn once, runs at every step",
    "graph.tip.loop_entry": "the value {name} has when the loop starts",
    "graph.tip.back_edge": "the body's new {name}, used by the next iteration",
    "graph.tip.cond": "{text}: only one of its two branches runs, chosen when the function runs",
    "graph.tip.branch": "branch `{text}`: runs only if its condition holds",
    "graph.tip.while": "{text}: its body, drawn once, runs again and again until the "
    "`break if not` test is false",
    "graph.tip.scope": "name scope {text}",
    "graph.hidden_ops": "{count} ops: {symbols}",
    "graph.tip.input": "{source} → {op} ({out}), input {position}",
    "graph.tip.value": "value = {value}",
    "graph.tip.output_edge": "{op} gives {out}",
    # -- errors (exceptions; not sent to the browser) -------------------------------------
    "error.player.not_a_tape": (
        "SweepPlayer needs a tv.GradientTape or its record (tape.record()), got {type}"
    ),
    "error.player.empty": (
        "SweepPlayer: the tape recorded no op, so there is nothing to step through "
        "(run some ops inside `with tv.GradientTape() as tape:`)"
    ),
    "error.player.fixed_option": "SweepPlayer draws {option}; the option {option}= is not used",
    "error.race.steps": "OptimizerRace: steps must be a positive integer, got {value!r}",
    "error.race.no_start": "OptimizerRace: give start=(x, y) (only surfaces have a default)",
    "error.race.start_type": (
        "OptimizerRace: start must be a pair of numbers (x, y), got {value!r} ({type}); "
        "for example start=(-1.5, 2.0)"
    ),
    "error.race.start_shape": (
        "OptimizerRace: start must be a pair of numbers (x, y), got {shape}; for a 1-D loss "
        "use (x, 0) and read p[0] only"
    ),
    "error.race.start_item": (
        "OptimizerRace: start must be two numbers, but start[{index}] is {value!r} ({type}); "
        "for example start=(-1.5, 2.0)"
    ),
    "error.race.start_finite": (
        "OptimizerRace: start must be two finite numbers, got ({x}, {y}); choose a point "
        "where the loss can be evaluated"
    ),
    "error.race.loss_type": (
        "OptimizerRace: loss must be a function of one tensor p of shape (2,) (or a surface "
        "from tapeviz.viz.surfaces), got {value!r} ({type})"
    ),
    "error.race.loss_not_tensor": (
        "OptimizerRace: loss(p) returned {value!r} ({type}), not a tensor, so the tape "
        "cannot differentiate it.  Compute the loss with tapeviz ops on p, e.g. "
        "p[0]**2 + 3 * p[1]**2, not with float(...), .numpy() or numpy functions."
    ),
    "error.race.loss_shape": (
        "OptimizerRace: loss(p) must return a scalar tensor for p of shape (2,); it returned "
        "shape {shape}.  Reduce it, e.g. with tv.reduce_sum(...)."
    ),
    "error.race.loss_start": (
        "OptimizerRace: the loss at the start {start} is {value}, so no optimizer can take a "
        "step from there.  Choose a start where the loss is a finite number."
    ),
    "error.race.gradient_none": (
        "OptimizerRace: the gradient of loss(p) with respect to p is None: the loss does not "
        "depend on p through tapeviz ops (was p converted to numpy?)."
    ),
    "error.race.gradient_start": (
        "OptimizerRace: the gradient of the loss at the start {start} is {value}, so no "
        "optimizer can take a step from there.  Choose another start."
    ),
    "error.race.no_optimizer": "OptimizerRace: give at least one optimizer",
    "error.race.optimizer_type": (
        "OptimizerRace: optimizers must be tv.keras.optimizers instances (with get_config "
        "and from_config), got {type}"
    ),
    "error.race.bounds": (
        "OptimizerRace: bounds must be ((x_min, x_max), (y_min, y_max)) with finite numbers "
        "and min < max, got {value!r}"
    ),
    "error.race.resolution": (
        "OptimizerRace: resolution must be an integer >= 8 (grid points per axis), got {value!r}"
    ),
    "error.race.rerun_name": "rerun: no optimizer named {name!r} in this race",
    "error.race.step": "OptimizerRace.figure: step must be between 0 and {steps}, got {value!r}",
}

_ZH: dict[str, str] = {
    # -- 播放工具栏 ------------------------------------------------------------------------
    "controls.first": "第一帧",
    "controls.back": "上一步",
    "controls.play": "播放",
    "controls.pause": "暂停",
    "controls.forward": "下一步",
    "controls.last": "最后一帧",
    "controls.slider": "帧",
    "controls.speed": "速度",
    "controls.fps": "每秒 {fps} 帧",
    "controls.toolbar": "{name}控制栏",
    "controls.key_hint": "{label}（{keys}）",
    "controls.key_space": "空格",
    # -- SweepPlayer ----------------------------------------------------------------------
    "player.name": "反向传播播放器",
    "player.aria": "反向传播播放器：方向键单步，空格键播放，+ 和 − 缩放计算图",
    "player.graph": "记录下来的运算图（拖动可移动；按住 Ctrl 滚动滚轮可缩放）",
    "player.frame_label": "第 {index} / {count} 帧 · {phase}",
    "player.phase.forward": "正向传播",
    "player.phase.backward": "反向传播",
    "player.forward_title": "正向第 {step} / {count} 步：计算 {label}（{op}）",
    "player.backward_title": "反向第 {step} / {count} 步：把 ∂L/∂{label} 经过 {via} 往回传",
    "player.forward_note": "正向传播：按记录顺序逐个计算每个运算；之后是反向传播。",
    "player.fan_out": "{names} 被不止一个运算用到：它的伴随值是每一处使用传回来的量之和。",
    "player.adjoints": "目前累积的伴随值 ∂L/∂值",
    "player.seed": "（初始值）",
    "player.zoom": "缩放",
    "player.zoom_out": "缩小",
    "player.zoom_in": "放大",
    "player.zoom_fit": "显示整张图",
    "player.zoom_reset": "适合阅读的大小",
    "player.zoom_level": "{percent}%",
    "player.static_note": "第 {index} / {count} 帧（静态图片：运行笔记本即可播放）。",
    "player.page_title": "tapeviz 反向传播播放器",
    "player.repr": (
        "<tv.viz.SweepPlayer：共 {count} 帧（正向 {forward} 帧，反向 {backward} 帧），"
        "当前第 {index} 帧>"
    ),
    # -- OptimizerRace --------------------------------------------------------------------
    "race.name": "优化器赛跑",
    "race.aria": "优化器赛跑：方向键单步，空格键播放",
    "race.step_label": "第 {index} / {count} 步",
    "race.caption": "第 {index} / {count} 步之后",
    "race.col.optimizer": "优化器",
    "race.col.position": "位置 (x, y)",
    "race.col.position_1d": "位置 x",
    "race.col.loss": "损失",
    "race.col.slots": "槽变量",
    "race.col.settings": "设置",
    "race.col.learning_rate": "学习率",
    "race.col.momentum": "动量 / β₁",
    "race.learning_rate": "学习率",
    "race.momentum": "动量",
    "race.beta_1": "β₁",
    "race.input_aria": "{name} 的{label}",
    "race.input_title": "{label}：修改后重新赛跑",
    "race.input_title_static": "重新赛跑需要运行中的内核",
    "race.note": "修改学习率或动量，赛跑会重新进行。",
    "race.note_static": "已保存的页面：设置只能查看（重新赛跑需要运行中的内核）。",
    "race.diverged": "第 {step} 步发散",
    "race.diverged_nan": "{name} 在第 {step} 步发散：损失变成了 {value}。",
    "race.diverged_left": (
        "{name} 在第 {step} 步发散：它离开了画面，损失超过了图中画出的所有值，再也没有回来。"
    ),
    "race.overflow": "从第 {step} 步起，它的损失是 {value}。",
    "race.left": "第 {step} 步离开画面",
    "race.left_note": "{name} 在第 {step} 步离开了画面（损失仍在下降）。",
    "race.x_label": "x = p[0]",
    "race.y_label": "y = p[1]",
    "race.loss_label": "损失",
    "race.loss_log_label": "损失（对数坐标）",
    "race.step_axis": "步数",
    "race.start": "起点",
    "race.minimum": "最小值",
    "race.plot_aria": "各优化器在{title}上的路径",
    "race.loss_aria": "损失随步数的变化",
    "race.custom_title": "损失函数",
    "race.surface_title": "{name}：{formula}",
    "race.surface.quadratic_bowl": "二次碗形曲面",
    "race.surface.rosenbrock": "Rosenbrock 函数",
    "race.surface.beale": "Beale 函数",
    "race.surface.saddle": "鞍面",
    "race.surface.parabola": "抛物线",
    "race.static_note": "第 {index} / {count} 步（静态图片：运行笔记本即可播放）。",
    "race.page_title": "tapeviz 优化器赛跑 — {title}",
    "race.repr": "<tv.viz.OptimizerRace：{title}；{names}；共 {steps} 步，当前第 {index} 步>",
    # -- 计算图（tapeviz.viz.dot）：图例、标题、提示、说明 ----------------------------------
    "graph.legend": "图例",
    "graph.legend.variable": "变量（tv.Variable）",
    "graph.legend.watched_constant": "被监视的常量（tape.watch）",
    "graph.legend.constant": "常量（未被监视）",
    "graph.legend.value": "运算算出的值",
    "graph.legend.elided": "焦点范围之外的值",
    "graph.legend.target": "tape.gradient 的目标",
    "graph.legend.op": "运算：它的符号，以及它在反向传播中的步骤编号",
    "graph.legend.gradient": "梯度 ∂L/∂值（调用 tape.gradient 之后）",
    "graph.legend.shape": "边上标注的值的形状",
    "graph.legend.scope": "tv.name_scope / Keras 层",
    "graph.legend.group": "内层 tape 做反向传播时记录下来的运算",
    "graph.legend.collapsed": "折叠起来的作用域",
    "graph.legend.loop": "重复的循环迭代",
    "graph.legend.ref": "值 w，已在别处画出",
    "graph.value": "值",
    "graph.grad": "梯度",
    "graph.run_time": "运行时才知道",
    "graph.type": "类型",
    "graph.group_note": "那条 tape 做反向传播时记录下来的运算",
    "graph.more_iteration": "⟳ 另外 {count} 次迭代",
    "graph.more_iterations": "⟳ 另外 {count} 次迭代",
    "graph.each": "每次：{symbols}",
    "graph.before_node": "节点 {count} 之前",
    "graph.hidden": "⋯ 前面 {count} 个节点没有画出",
    "graph.draw_all_tip": "tv.viz.graph(..., max_nodes=None) 会把它们都画出来，但比较慢",
    "graph.note_loops": "重复循环迭代的 {count} 个节点折叠进了 ⟳ 方框",
    "graph.note_hidden": "最早的 {count} 个节点没有画出（⋯ 方框）",
    "graph.note": (
        "简化画法（共 {count} 个节点）：{notes}。tv.viz.graph(..., max_nodes=None) "
        "会画出每个节点，但比较慢。"
    ),
    "graph.scaled": "已缩小到 {percent}% 以适应页面。要放大，请在新标签页中打开图片，",
    "graph.scaled_2": "或者用 tv.viz.graph(..., max_width=None) 按原始大小画出。",
    "graph.tip.variable": "变量",
    "graph.tip.watched_constant": "被监视的常量",
    "graph.tip.constant": "常量",
    "graph.tip.output": "{op} 的输出",
    "graph.tip.named": "名为 {name}",
    "graph.tip.type": "{dtype}，形状 {shape}",
    "graph.tip.value_run_time": "值 {type}：运行时才知道",
    "graph.tip.op_run_time": "{label}：{type}，运行时才知道",
    "graph.tip.step": "反向传播第 {step} 步：{formula}",
    "graph.tip.ref": "值 {label}（只画一次，在别处）",
    "graph.tip.loop": "循环 {text}：循环体只画一次，每一步都会运行",
    "graph.tip.loop_entry": "循环开始时 {name} 的值",
    "graph.tip.back_edge": "循环体算出的新 {name}，下一轮迭代使用",
    "graph.tip.cond": "{text}：两个分支只运行其中一个，在函数运行时选定",
    "graph.tip.branch": "分支 `{text}`：只有条件成立时才运行",
    "graph.tip.while": "{text}：循环体只画一次，会反复运行，直到 `break if not` 的条件为假",
    "graph.tip.scope": "名字作用域 {text}",
    "graph.hidden_ops": "{count} 个运算：{symbols}",
    "graph.tip.input": "{source} → {op}（{out}），第 {position} 个输入",
    "graph.tip.value": "值 = {value}",
    "graph.tip.output_edge": "{op} 得出 {out}",
    # -- 错误信息 --------------------------------------------------------------------------
    "error.player.not_a_tape": (
        "SweepPlayer 需要一个 tv.GradientTape 或它的记录（tape.record()），收到的是 {type}"
    ),
    "error.player.empty": (
        "SweepPlayer：这条 tape 没有记录任何运算，没有可以单步查看的内容"
        "（请在 `with tv.GradientTape() as tape:` 里做一些运算）"
    ),
    "error.player.fixed_option": "SweepPlayer 自己决定 {option}；不使用参数 {option}=",
    "error.race.steps": "OptimizerRace：steps 必须是正整数，收到的是 {value!r}",
    "error.race.no_start": "OptimizerRace：请给出 start=(x, y)（只有内置曲面有默认起点）",
    "error.race.start_type": (
        "OptimizerRace：start 必须是一对数 (x, y)，收到的是 {value!r}（{type}）；"
        "例如 start=(-1.5, 2.0)"
    ),
    "error.race.start_shape": (
        "OptimizerRace：start 必须是一对数 (x, y)，收到的是 {shape}；一维的损失函数请用 "
        "(x, 0)，并且只读取 p[0]"
    ),
    "error.race.start_item": (
        "OptimizerRace：start 必须是两个数，但 start[{index}] 是 {value!r}（{type}）；"
        "例如 start=(-1.5, 2.0)"
    ),
    "error.race.start_finite": (
        "OptimizerRace：start 必须是两个有限的数，收到的是 ({x}, {y})；请选一个能算出损失的点"
    ),
    "error.race.loss_type": (
        "OptimizerRace：loss 必须是以形状为 (2,) 的张量 p 为参数的函数"
        "（或 tapeviz.viz.surfaces 里的曲面），收到的是 {value!r}（{type}）"
    ),
    "error.race.loss_not_tensor": (
        "OptimizerRace：loss(p) 返回了 {value!r}（{type}），不是张量，tape 无法对它求导。"
        "请用 tapeviz 的运算对 p 计算损失，例如 p[0]**2 + 3 * p[1]**2，"
        "不要用 float(...)、.numpy() 或 numpy 函数。"
    ),
    "error.race.loss_shape": (
        "OptimizerRace：对形状为 (2,) 的 p，loss(p) 必须返回标量张量；它返回的形状是 {shape}。"
        "请先求和，例如用 tv.reduce_sum(...)。"
    ),
    "error.race.loss_start": (
        "OptimizerRace：起点 {start} 处的损失是 {value}，任何优化器都无法从这里迈出一步。"
        "请选一个损失为有限数的起点。"
    ),
    "error.race.gradient_none": (
        "OptimizerRace：loss(p) 对 p 的梯度是 None：损失没有通过 tapeviz 运算依赖于 p"
        "（p 是否被转换成了 numpy 数组？）。"
    ),
    "error.race.gradient_start": (
        "OptimizerRace：起点 {start} 处损失的梯度是 {value}，任何优化器都无法从这里迈出一步。"
        "请换一个起点。"
    ),
    "error.race.no_optimizer": "OptimizerRace：至少要给一个优化器",
    "error.race.optimizer_type": (
        "OptimizerRace：optimizers 必须是 tv.keras.optimizers 的实例"
        "（带有 get_config 和 from_config），收到的是 {type}"
    ),
    "error.race.bounds": (
        "OptimizerRace：bounds 必须是 ((x_min, x_max), (y_min, y_max))，由有限的数组成且 "
        "min < max，收到的是 {value!r}"
    ),
    "error.race.resolution": (
        "OptimizerRace：resolution 必须是不小于 8 的整数（每个坐标轴上的网格点数），"
        "收到的是 {value!r}"
    ),
    "error.race.rerun_name": "rerun：这场赛跑里没有名为 {name!r} 的优化器",
    "error.race.step": "OptimizerRace.figure：step 必须在 0 到 {steps} 之间，收到的是 {value!r}",
}

#: The words of the VJP rules in the reverse sweep's formulas (``tape.record()``'s steps, the
#: sweep player), by language: the op's English template (``Op.grad_text``) -> its words in
#: that language, same ``{fields}``.  Notation (``sign``, ``softmax``, ``reshape``, ``·``)
#: is not translated; a template missing here keeps its English words.
RULES: dict[str, Mapping[str, str]] = {
    "zh": {
        "{g} copied over the summed axes": "{g} 沿被求和的轴复制",
        "{g} / n copied over the averaged axes": "{g} / n 沿被平均的轴复制",
        "{g} shared by the maximal entries": "{g} 由取到最大值的元素平分",
        "{g} shared by the minimal entries": "{g} 由取到最小值的元素平分",
        "sum of {g} over the broadcast axes": "{g} 沿广播的轴求和",
        "slice of {g}": "{g} 的切片",
        "{g} placed into zeros": "{g} 放回全零张量中的原位置",
        "{g} where c": "{g}（只在 c 成立处）",
        "{g} where ¬c": "{g}（只在 ¬c 成立处）",
        "{g} where {x} > 0": "{g}（只在 {x} > 0 处）",
        "{g} where {x} ≥ {y}": "{g}（只在 {x} ≥ {y} 处）",
        "{g} where {x} < {y}": "{g}（只在 {x} < {y} 处）",
        "{g} where {x} ≤ {y}": "{g}（只在 {x} ≤ {y} 处）",
        "{g} where {x} > {y}": "{g}（只在 {x} > {y} 处）",
        "{g} where {x} > {z}": "{g}（只在 {x} > {z} 处）",
        "{g} where {y} ≤ {x} ≤ {z}": "{g}（只在 {y} ≤ {x} ≤ {z} 处）",
        "{g} reaches no source": "{g} 没有传到任何源",
    },
}

#: The strings by language, then by key.
MESSAGES: dict[str, Mapping[str, str]] = {"en": _EN, "zh": _ZH}

#: The language of a page's ``<html lang=...>`` attribute, per language of the table.
HTML_LANG = {"en": "en", "zh": "zh-CN"}

# The language in use (``set_language`` changes it).
_language = "en"


def language() -> str:
    """The language of the messages: ``"en"`` (the default) or ``"zh"``."""
    return _language


def set_language(lang: str) -> None:
    """Choose the language of every visible string of tapeviz's pictures and widgets.

    ``"en"`` (English, the default) or ``"zh"`` (简体中文).  The language applies to what
    is made afterwards: a widget or drawing keeps the language it was made in.

    Raises
    ------
    ValueError
        For a language that has no table, naming the languages there are.

    Examples
    --------
    >>> import tapeviz as tv
    >>> tv.viz.set_language("zh")
    >>> message("controls.play")
    '播放'
    >>> tv.viz.set_language("en")
    """
    global _language
    if not isinstance(lang, str) or lang not in MESSAGES:
        choices = ", ".join(repr(k) for k in MESSAGES)
        raise ValueError(f"set_language: unknown language {lang!r}; choose one of {choices}")
    _language = lang


def get_language() -> str:
    """The language chosen with :func:`set_language` (``"en"`` unless changed)."""
    return _language


def html_lang() -> str:
    """The ``lang`` attribute of an HTML page written now (``"en"``, ``"zh-CN"``)."""
    return HTML_LANG.get(_language, _language)


def message(key: str, /, **fields: Any) -> str:
    """The text of ``key`` in the current language, with ``fields`` filled in.

    A key missing in the current language falls back to English; a key missing in English
    is a bug (``KeyError``).
    """
    template = MESSAGES.get(_language, _EN).get(key)
    if template is None:
        template = _EN[key]
    return template.format(**fields) if fields else template


def rule_text(template: str) -> str:
    """A VJP rule's template (``"{g} copied over the summed axes"``) in the current language.

    >>> import tapeviz as tv
    >>> tv.viz.set_language("zh")
    >>> rule_text("{g} copied over the summed axes")
    '{g} 沿被求和的轴复制'
    >>> tv.viz.set_language("en")
    >>> rule_text("{g} copied over the summed axes")
    '{g} copied over the summed axes'
    """
    return RULES.get(_language, {}).get(template, template)


def for_front_end(*prefixes: str) -> dict[str, str]:
    """The strings whose keys start with one of ``prefixes`` (``"controls."``...), in the
    current language, for a widget's browser side (its ``{field}`` left to fill there)."""
    keys = [k for k in _EN if k.startswith(prefixes) and not k.startswith("error.")]
    return {k: message(k) for k in keys}
