"""The ``structure`` section of tests/data/tf_reference.json: how GradientTape shapes its
answers (jacobians, upstream gradients, unconnected sources, nested sources and targets,
stop_recording, custom_gradient, a small Keras training loop)."""

from __future__ import annotations

from typing import Any

from _tfrecord import encode, keras
from _tfref_capture import run_captured


def _enc(node: Any) -> Any:
    """``encode`` through lists, tuples and dicts (a tuple becomes a JSON list)."""
    if isinstance(node, dict):
        return {k: _enc(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_enc(v) for v in node]
    return encode(node)


def _watched_square(tf: Any) -> tuple[Any, Any, Any]:
    """A persistent tape that watched ``x = [1, 2, 3]`` and recorded ``y = x * x``."""
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    return tape, x, y


def _jacobians(tf: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    x = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x[:2] * x[1:] + tf.sin(x[0])
    out["jacobian_vector"] = {
        "code": (
            "x = tf.constant([1.0, 2.0, 3.0])\nwith tf.GradientTape(persistent=True) as tape:\n"
            "    tape.watch(x)\n    y = x[:2] * x[1:] + tf.sin(x[0])\n"
            "tape.jacobian(y, x)   # shape (2, 3)"
        ),
        "y": encode(y),
        "jacobian": encode(tape.jacobian(y, x)),
        "jacobian_no_pfor": encode(tape.jacobian(y, x, experimental_use_pfor=False)),
    }
    W = tf.Variable([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0]])
    x = tf.constant([[1.0, -1.0, 2.0], [0.5, 0.0, 1.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        out_ = tf.tanh(x @ W)
    both = tape.jacobian(out_, [W, x])
    out["jacobian_matrix_wrt_variable"] = {
        "code": (
            "W = tf.Variable([[1., 2.], [3., -1.], [0.5, 0.]]); "
            "x = tf.constant([[1., -1., 2.], [0.5, 0., 1.]])\n"
            "with tf.GradientTape(persistent=True) as tape:\n"
            "    tape.watch(x); out = tf.tanh(x @ W)      # (2, 2)\n"
            "tape.jacobian(out, W)           # shape (2, 2, 3, 2)\n"
            "tape.jacobian(out, x)           # shape (2, 2, 2, 3)\n"
            "tape.batch_jacobian(out, x)     # shape (2, 2, 3)\n"
            "tape.jacobian(out, [W, x])      # list"
        ),
        "out": encode(out_),
        "jacobian_W": encode(tape.jacobian(out_, W)),
        "jacobian_x": encode(tape.jacobian(out_, x)),
        "batch_jacobian_x": encode(tape.batch_jacobian(out_, x)),
        "jacobian_list_shapes": [list(j.shape) for j in both],
    }
    x = tf.constant([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.stack([x[:, 0] * x[:, 1], x[:, 0] ** 2, tf.exp(x[:, 1])], axis=1)
    out["batch_jacobian"] = {
        "code": (
            "x = tf.constant([[1., 2.], [3., 4.], [-1., 0.5]])\n"
            "with tf.GradientTape() as tape:\n    tape.watch(x)\n"
            "    y = tf.stack([x[:, 0] * x[:, 1], x[:, 0] ** 2, tf.exp(x[:, 1])], axis=1)"
            "  # (3, 3)\ntape.batch_jacobian(y, x)   # shape (3, 3, 2)"
        ),
        "y": encode(y),
        "batch_jacobian": encode(tape.batch_jacobian(y, x)),
    }
    v = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = v**3
    out["jacobian_scalar"] = {
        "code": "x = tf.Variable(2.0); y = x**3; tape.jacobian(y, x)",
        "jacobian": encode(tape.jacobian(y, v)),
    }
    return out


def _upstream_and_unconnected(tf: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    tape, x, y = _watched_square(tf)
    out["output_gradients"] = {
        "code": (
            "x = tf.constant([1., 2., 3.])\nwith tf.GradientTape(persistent=True) as tape:\n"
            "    tape.watch(x); y = x * x\n"
            "tape.gradient(y, x, output_gradients=tf.constant([1., 0.5, -2.]))\n"
            "tape.gradient(y, x)   # default upstream: ones"
        ),
        "with_output_gradients": encode(
            tape.gradient(y, x, output_gradients=tf.constant([1.0, 0.5, -2.0]))
        ),
        "default": encode(tape.gradient(y, x)),
    }
    with tf.GradientTape() as tape:
        tape.watch(x)
        y1 = x * x
        y2 = tf.reduce_sum(x)
    grad = tape.gradient(
        [y1, y2], x, output_gradients=[tf.constant([1.0, 2.0, 3.0]), tf.constant(10.0)]
    )
    out["output_gradients_list_targets"] = {
        "code": (
            "tape.gradient([y1, y2], x, output_gradients=[tf.constant([1., 2., 3.]), "
            "tf.constant(10.)])  with y1 = x*x, y2 = reduce_sum(x)"
        ),
        "grad": encode(grad),
    }
    a = tf.Variable(1.0)
    b = tf.Variable([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        y = a * 3.0
    bad = run_captured(tf, lambda: tape.gradient(y, [a, b], unconnected_gradients="bad"))
    out["unconnected_gradients"] = {
        "code": (
            "a = tf.Variable(1.0); b = tf.Variable([1.0, 2.0])\n"
            "with tf.GradientTape(persistent=True) as tape: y = a * 3.0\n"
            "tape.gradient(y, [a, b])                                   # [3.0, None]\n"
            "tape.gradient(y, [a, b], unconnected_gradients='zero')     # [3.0, zeros (2,)]\n"
            "tape.gradient(y, [a, b], unconnected_gradients=tf.UnconnectedGradients.ZERO)"
        ),
        "none": _enc(tape.gradient(y, [a, b])),
        "zero_string": _enc(tape.gradient(y, [a, b], unconnected_gradients="zero")),
        "zero_enum": _enc(
            tape.gradient(y, [a, b], unconnected_gradients=tf.UnconnectedGradients.ZERO)
        ),
        "enum_repr": repr(tf.UnconnectedGradients.ZERO),
        "enum_values": [e.value for e in tf.UnconnectedGradients],
        "jacobian_zero": encode(tape.jacobian(y, b, unconnected_gradients="zero")),
        "bad_value": bad["exception"],
    }
    return out


def _nested(tf: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    w = tf.Variable([1.0, 2.0])
    b = tf.Variable(0.5)
    c = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        loss = tf.reduce_sum(w * w) * b + c
    as_dict = tape.gradient(loss, {"w": w, "inner": {"b": b, "pair": (c, b)}})
    as_list = tape.gradient(loss, [w, [b, (c,)]])
    as_tuple = tape.gradient(loss, (w, b))
    out["nested_sources"] = {
        "code": (
            "w = tf.Variable([1., 2.]); b = tf.Variable(0.5); c = tf.Variable(3.0)\n"
            "with tf.GradientTape(persistent=True) as tape:\n"
            "    loss = tf.reduce_sum(w * w) * b + c\n"
            'tape.gradient(loss, {"w": w, "inner": {"b": b, "pair": (c, b)}})\n'
            "tape.gradient(loss, [w, [b, (c,)]])\ntape.gradient(loss, (w, b))"
        ),
        "dict_result": _enc(as_dict),
        "dict_result_type": {
            "outer": type(as_dict).__name__,
            "inner": type(as_dict["inner"]).__name__,
            "pair": type(as_dict["inner"]["pair"]).__name__,
        },
        "dict_result_repr": repr(as_dict),
        "list_result": _enc(as_list),
        "list_result_types": [
            type(as_list).__name__,
            type(as_list[1]).__name__,
            type(as_list[1][1]).__name__,
        ],
        "tuple_result_type": type(as_tuple).__name__,
        "tuple_result": _enc(as_tuple),
    }
    bb = tf.Variable(0.5)
    with tf.GradientTape() as tape:
        y1 = w * 2
        y2 = bb * bb
    out["nested_targets"] = {
        "code": (
            "tape.gradient({'a': y1, 'b': [y2]}, [w, bb])  with y1 = w*2, y2 = b*b (targets summed)"
        ),
        "result": _enc(tape.gradient({"a": y1, "b": [y2]}, [w, bb])),
    }
    t1, t2 = tf.constant(1.0), tf.constant(2.0)
    with tf.GradientTape() as tape:
        tape.watch([t1, [t2]])
    out["watch_nested_ok"] = "tape.watch([t1, [t2]]) accepts nested structures"
    return out


def _recording(tf: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    tape, x, y = _watched_square(tf)
    out["vector_target_implicit_sum"] = {
        "code": "y = x * x (vector); tape.gradient(y, x)",
        "grad": encode(tape.gradient(y, x)),
        "grad_of_y_wrt_y": encode(tape.gradient(y, y)),
    }
    x = tf.constant(2.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        with tape.stop_recording():
            z = x * 10.0
        t = y + z
    out["stop_recording"] = {
        "code": "y = x*x; with tape.stop_recording(): z = x*10.; t = y + z; tape.gradient(t, x)",
        "grad": encode(tape.gradient(t, x)),
    }

    @tf.custom_gradient
    def clip_grad_id(v: Any) -> Any:
        def grad(dy: Any) -> Any:
            return tf.clip_by_value(dy, -0.1, 0.1)

        return tf.identity(v), grad

    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = clip_grad_id(x) * [5.0, -0.05]
    out["custom_gradient"] = {
        "code": (
            "@tf.custom_gradient\ndef clip_grad_id(x):\n"
            "    def grad(dy): return tf.clip_by_value(dy, -0.1, 0.1)\n"
            "    return tf.identity(x), grad\n"
            "y = clip_grad_id(x) * [5.0, -0.05]; tape.gradient(y, x)"
        ),
        "grad": encode(tape.gradient(y, x)),
    }
    return out


def _dense_training(tf: Any) -> dict[str, Any]:
    tf_keras = keras()

    layer = tf_keras.layers.Dense(
        2,
        kernel_initializer=tf_keras.initializers.Constant([[0.5, -1.0], [0.25, 2.0], [1.0, 0.0]]),
        bias_initializer="zeros",
    )
    model = tf_keras.Sequential([layer])
    x = tf.constant([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    y = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    opt = tf_keras.optimizers.legacy.SGD(0.1)
    mse = tf_keras.losses.MeanSquaredError()
    steps = []
    for _ in range(3):
        with tf.GradientTape() as tape:
            loss = mse(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        opt.apply_gradients(zip(grads, model.trainable_weights, strict=True))
        steps.append(
            {"loss": encode(loss), "grads": _enc(grads), "weights": _enc(model.trainable_weights)}
        )
    return {
        "code": (
            "layer = tf.keras.layers.Dense(2, kernel_initializer=Constant([[0.5, -1.0], "
            "[0.25, 2.0], [1.0, 0.0]]),\n"
            '                              bias_initializer="zeros")\n'
            "model = tf.keras.Sequential([layer])\n"
            "x = [[1., 2., 3.], [0.5, -1., 0.]]; y = [[1., 0.], [0., 1.]]\n"
            "opt = tf.keras.optimizers.legacy.SGD(0.1); "
            "mse = tf.keras.losses.MeanSquaredError()\n"
            "3 x: loss = mse(y, model(x, training=True)); "
            "grads = tape.gradient(loss, model.trainable_weights);\n"
            "     opt.apply_gradients(zip(grads, model.trainable_weights))"
        ),
        "trainable_weight_names": [v.name for v in model.trainable_weights],
        "steps": steps,
    }


def structure(tf: Any, committed: dict[str, Any]) -> dict[str, Any]:
    """The ``structure`` section (``committed`` is not read: everything is recomputed)."""
    del committed
    out = {**_jacobians(tf), **_upstream_and_unconnected(tf), **_nested(tf), **_recording(tf)}
    out["dense_sequential_training_loop"] = _dense_training(tf)
    order = (
        "jacobian_vector",
        "jacobian_matrix_wrt_variable",
        "batch_jacobian",
        "jacobian_scalar",
        "output_gradients",
        "output_gradients_list_targets",
        "unconnected_gradients",
        "nested_sources",
        "nested_targets",
        "watch_nested_ok",
        "vector_target_implicit_sum",
        "stop_recording",
        "custom_gradient",
        "dense_sequential_training_loop",
    )
    return {k: out[k] for k in order}
