"""The ``optimizers`` section of tests/data/tf_reference.json: Keras 2 optimizers
(``tf_keras.optimizers.legacy.*``, the optimizer_v2 family) on one small problem, their
schedules, configurations and a few attributes' reprs; the new Keras-2 optimizers beside them
where they differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _tfrecord import encode, keras

LEGACY = (
    "SGD(0.1)",
    "SGD(0.1,momentum=0.9)",
    "SGD(0.1,momentum=0.9,nesterov=True)",
    "Adam(0.01)",
    "Adam(0.01,amsgrad=True)",
    "Adam(0.05,beta_2=0.5)",
    "Adam(0.05,beta_2=0.5,amsgrad=True)",
    "RMSprop(0.01)",
    "RMSprop(0.01,momentum=0.5)",
    "RMSprop(0.01,centered=True)",
    "Adagrad(0.1)",
    "Nadam(0.01)",
    "Adamax(0.01)",
    "Adadelta(1.0)",
    "SGD(0.1,clipnorm=0.5)",
    "SGD(0.1,clipvalue=0.3)",
    "SGD(0.1,global_clipnorm=0.5)",
    "SGD(ExponentialDecay(0.1,decay_steps=5,decay_rate=0.5))",
    "SGD(ExponentialDecay(0.1,decay_steps=5,decay_rate=0.5,staircase=True))",
    "SGD(PiecewiseConstantDecay([3,6],[0.1,0.05,0.01]))",
    "SGD(InverseTimeDecay(0.1,decay_steps=5,decay_rate=0.5))",
    "SGD(InverseTimeDecay(0.1,decay_steps=5,decay_rate=0.5,staircase=True))",
    "Adam(ExponentialDecay(0.01,decay_steps=5,decay_rate=0.5))",
)
NEW_FOR_COMPARISON = (
    "SGD(0.1,momentum=0.9)",
    "SGD(0.1,momentum=0.9,nesterov=True)",
    "Adam(0.01)",
    "RMSprop(0.01)",
    "Adagrad(0.1)",
)
SCHEDULES = (
    "ExponentialDecay(0.1,5,0.5)",
    "ExponentialDecay(0.1,5,0.5,staircase=True)",
    "PiecewiseConstantDecay([3,6],[0.1,0.05,0.01])",
    "InverseTimeDecay(0.1,5,0.5)",
    "InverseTimeDecay(0.1,5,0.5,staircase=True)",
    "PolynomialDecay(0.1,10,0.01)",
    "PolynomialDecay(0.1,10,0.01,power=2.0,cycle=True)",
    "CosineDecay(0.1,10)",
)
CONFIGS = {
    "legacy.Adam(0.01)": "legacy.Adam(0.01)",
    "legacy.SGD(0.1,momentum=0.9)": "legacy.SGD(0.1,momentum=0.9)",
    "legacy.RMSprop()": "legacy.RMSprop()",
    "legacy.Adagrad()": "legacy.Adagrad()",
    "legacy.SGD()": "legacy.SGD()",
    "legacy.Adam()": "legacy.Adam()",
    "legacy.SGD(ExponentialDecay(0.1,5,0.5))": "legacy.SGD(ExponentialDecay(0.1,5,0.5))",
    "new.Adam(0.01)": "Adam(0.01)",
    "new.SGD(0.1,momentum=0.9)": "SGD(0.1,momentum=0.9)",
}
PROBLEM_CODE = "\n".join(
    (
        'w = tf.Variable([1.0, -2.0, 0.5], name="w")',
        'b = tf.Variable(0.3, name="b")',
        "coef = tf.constant([1., 2., 3.])",
        "for step in range(20):",
        "    with tf.GradientTape() as tape:",
        "        loss = tf.reduce_sum(w ** 2 * coef) + tf.sin(b) * w[0] + b ** 2",
        "    grads = tape.gradient(loss, [w, b])",
        "    opt.apply_gradients(zip(grads, [w, b]))",
    )
)
STEPS = 20


def _make(tf_keras: Any, expression: str) -> Any:
    """An optimizer or schedule from its short text (``"legacy.SGD(0.1)"``, ``"Adam(0.01)"``)."""
    scope = {
        name: getattr(tf_keras.optimizers.schedules, name)
        for name in dir(tf_keras.optimizers.schedules)
        if not name.startswith("_")
    }
    scope["legacy"] = tf_keras.optimizers.legacy
    for name in ("SGD", "Adam", "RMSprop", "Adagrad", "AdamW"):
        scope.setdefault(name, getattr(tf_keras.optimizers, name))
    return eval(expression, scope)


def _class(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__name__}"


def _variables(opt: Any) -> list[Any]:
    v = opt.variables
    return list(v() if callable(v) else v)


def _legacy_lr(tf: Any, opt: Any) -> Any:
    """The learning rate the next update uses: the schedule at ``iterations`` (as optimizer_v2
    evaluates it) or the constant.  Not ``_decayed_lr``: Nadam's ``decay`` (its
    ``schedule_decay``, 0.004) shapes its momentum schedule, not its learning rate."""
    lr = opt._get_hyper("learning_rate")
    if callable(lr):
        lr = lr(tf.cast(opt.iterations, tf.float32))
    return np.float32(tf.cast(lr, tf.float32).numpy())


def _train(tf: Any, opt: Any, legacy: bool) -> dict[str, Any]:
    """The problem's 20 steps with ``opt``; its trajectory and the numbers of each step."""
    w = tf.Variable([1.0, -2.0, 0.5], name="w")
    b = tf.Variable(0.3, name="b")
    coef = tf.constant([1.0, 2.0, 3.0])
    ws, bs, losses, gws, gbs, lrs = [w.numpy()], [b.numpy()], [], [], [], []
    for _ in range(STEPS):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(w**2 * coef) + tf.sin(b) * w[0] + b**2
        grads = tape.gradient(loss, [w, b])
        if legacy:
            lrs.append(_legacy_lr(tf, opt))
        else:
            lrs.append(np.float32(tf.convert_to_tensor(opt.learning_rate).numpy()))
        opt.apply_gradients(zip(grads, [w, b], strict=True))
        ws.append(w.numpy())
        bs.append(b.numpy())
        losses.append(loss.numpy())
        gws.append(grads[0].numpy())
        gbs.append(grads[1].numpy())
    return {
        "vars": (w, b),
        "w": encode(np.array(ws)),
        "b": encode(np.array(bs)),
        "loss_at_step": encode(np.array(losses)),
        "grad_w_at_step": encode(np.array(gws)),
        "grad_b_at_step": encode(np.array(gbs)),
        "iterations": int(opt.iterations.numpy()),
        "lr_used_at_step": encode(np.array(lrs, np.float32)),
    }


def _legacy_config(tf: Any, tf_keras: Any, key: str) -> dict[str, Any]:
    opt = _make(tf_keras, f"legacy.{key}")
    run = _train(tf, opt, legacy=True)
    w, b = run.pop("vars")
    slots = opt.get_slot_names()
    return {
        "class": _class(opt),
        "code": f"opt = tf_keras.optimizers.legacy.{key}",
        **run,
        "slot_names": slots,
        "slots_after_last_step": {
            v.name: {s: encode(opt.get_slot(v, s)) for s in slots} for v in (w, b)
        },
        "optimizer_weights_names": [v.name for v in opt.weights],
    }


def _adamw(tf: Any, tf_keras: Any) -> dict[str, Any]:
    opt = tf_keras.optimizers.AdamW(learning_rate=0.01, weight_decay=0.004)
    config = _plain(opt.get_config())
    run = _train(tf, opt, legacy=False)
    del run["vars"]
    return {
        "class": _class(opt),
        "code": "opt = tf_keras.optimizers.AdamW(learning_rate=0.01, weight_decay=0.004)",
        "source": (
            "tf_keras.optimizers.AdamW -- the NEW Keras-2 optimizer "
            "(tf_keras/src/optimizers/adamw.py, decoupled weight decay: "
            "var -= var*weight_decay*lr before the Adam step); "
            "tf_keras.optimizers.legacy has no AdamW"
        ),
        "legacy_adamw_exists": hasattr(tf_keras.optimizers.legacy, "AdamW"),
        "config": config,
        **run,
        "optimizer_variables_after_last_step": {v.name: encode(v) for v in _variables(opt)},
    }


def _plain(node: Any) -> Any:
    """A get_config() value as JSON: numpy scalars as ``{numpy_scalar, value, hex}``."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(v) for v in node]
    if isinstance(node, np.generic):
        value = node.item()
        return {"numpy_scalar": type(node).__name__, "value": value, "hex": float(value).hex()}
    return node


def _new_for_comparison(tf: Any, tf_keras: Any, legacy: dict[str, Any]) -> dict[str, Any]:
    configs: dict[str, Any] = {}
    for key in NEW_FOR_COMPARISON:
        opt = _make(tf_keras, key)
        run = _train(tf, opt, legacy=False)
        same = run["w"] == legacy[key]["w"] and run["b"] == legacy[key]["b"]
        configs[key] = {
            "class": _class(opt),
            "w": run["w"],
            "b": run["b"],
            "identical_to_legacy": same,
            "optimizer_variables_after_last_step": {v.name: encode(v) for v in _variables(opt)},
        }
    return {
        "note": (
            "NOT optimizer_v2: tf_keras.optimizers.X (what tf.keras.optimizers.X is in "
            "TF >= 2.11). Kept only to show where it differs from legacy."
        ),
        "configs": configs,
    }


def _schedules(tf: Any, tf_keras: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    steps = list(range(21))
    for key in SCHEDULES:
        schedule = _make(tf_keras, key)
        values = [schedule(tf.constant(s, tf.int64)).numpy() for s in steps]
        out[key] = {
            "steps": steps,
            "values": encode(np.array(values, np.float32)),
            "config": _plain(schedule.get_config()),
        }
    out["note"] = (
        "schedule(step) evaluated here with an int64 step tensor. optimizer_v2's _decayed_lr "
        "calls schedule(tf.cast(self.iterations, var_dtype)) i.e. with a float32 step equal to "
        "the number of updates already applied (0 for the first step); see "
        "optimizers.configs[*].lr_used_at_step. PiecewiseConstantDecay uses step <= boundary "
        "for the earlier value."
    )
    return out


def _adam_quadratic(tf: Any, tf_keras: Any) -> dict[str, Any]:
    x = tf.Variable(0.0, name="x")
    a, b, c = tf.constant(1.0), tf.constant(-2.0), tf.constant(1.0)
    opt = tf_keras.optimizers.legacy.Adam(0.01)
    steps = []
    for k in range(1, 6):
        with tf.GradientTape() as tape:
            y = a * x**2 + b * x + c
        g = tape.gradient(y, x)
        opt.apply_gradients([(g, x)])
        steps.append(
            {
                "step": k,
                "grad": encode(g),
                "x": encode(x),
                "m": encode(opt.get_slot(x, "m")),
                "v": encode(opt.get_slot(x, "v")),
                "iterations": int(opt.iterations.numpy()),
            }
        )
    return {
        "code": (
            'x = tf.Variable(0.0, name="x"); a, b, c = tf.constant(1.0), tf.constant(-2.0), '
            "tf.constant(1.0)\nopt = tf.keras.optimizers.legacy.Adam(0.01)\n"
            "for k in 1..5: tape -> y = a*x**2 + b*x + c; g = dy/dx; "
            "opt.apply_gradients([(g, x)])"
        ),
        "steps": steps,
        "slot_names": opt.get_slot_names(),
        "kernel_note": (
            "legacy Adam dense update uses the fused ResourceApplyAdam kernel: "
            "beta1_power = pow(beta_1, t), beta2_power = pow(beta_2, t) (float32, "
            "t = iterations+1 as float32); alpha = lr*sqrt(1-beta2_power)/(1-beta1_power); "
            "m += (g - m)*(1-beta_1); v += (g*g - v)*(1-beta_2); "
            "var -= (m*alpha)/(sqrt(v) + epsilon). All float32."
        ),
    }


def _attributes(tf_keras: Any) -> dict[str, str]:
    opt = tf_keras.optimizers.legacy.SGD(0.1, momentum=0.9)
    key = "legacy.SGD(0.1,momentum=0.9)"
    out = {
        f"{key}.learning_rate_repr": repr(opt.learning_rate),
        f"{key}.lr_repr": repr(opt.lr),
        f"{key}.iterations_repr": repr(opt.iterations),
        f"{key}.learning_rate_dtype": opt.learning_rate.dtype.name,
        "legacy.SGD.iterations_dtype": opt.iterations.dtype.name,
    }
    out["legacy.SGD.momentum_after_init_repr"] = repr(opt._get_hyper("momentum"))
    return out


def optimizers(tf: Any, committed: dict[str, Any]) -> dict[str, Any]:
    """The ``optimizers`` section (``committed`` is not read: everything is recomputed)."""
    tf_keras = keras()

    del committed
    configs = {key: _legacy_config(tf, tf_keras, key) for key in LEGACY}
    configs["AdamW(0.01,weight_decay=0.004)"] = _adamw(tf, tf_keras)
    return {
        "problem": {
            "formula": (
                "loss(w, b) = reduce_sum(w**2 * [1., 2., 3.]) + sin(b) * w[0] + b**2  with w "
                "float32 (3,) init [1.0, -2.0, 0.5], b float32 scalar init 0.3"
            ),
            "code": PROBLEM_CODE,
            "trajectory_layout": (
                "w[k], b[k] = values after k steps (k=0 is the initial value), k=0..20; "
                "loss/grad_*_at_step[k-1] = values computed in step k before its update; "
                "lr_used_at_step[k-1] = learning rate in effect for step k "
                "(schedule(iterations) before the update)"
            ),
        },
        "configs": configs,
        "new_keras2_optimizers_for_comparison": _new_for_comparison(tf, tf_keras, configs),
        "schedules_direct": _schedules(tf, tf_keras),
        "adam_quadratic_first5": _adam_quadratic(tf, tf_keras),
        "get_config": {
            **{k: _plain(_make(tf_keras, e).get_config()) for k, e in CONFIGS.items()},
            "note": "numpy scalars appear as {'numpy_scalar': type, 'value', 'hex'}",
        },
        "attributes": _attributes(tf_keras),
    }
