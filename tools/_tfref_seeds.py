"""The ``seed_examples`` section of tests/data/tf_reference.json: the four source documents'
TensorFlow examples (/work/shared/seeds/00*.txt), run in TensorFlow 2.21 with tf_keras.

Each entry is the document's code (``code``, as it ran), its values, what it printed and, where
the document shows older output, the document's text (``doc_*``) beside today's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _tfrecord import encode, keras
from _tfref_capture import printed, run_captured, tf_print_text

DOCS = (
    "000_4be962c4e2a2ec21.txt",
    "001_cf352db1fa294a04.txt",
    "002_09e83aae58738b68.txt",
    "003_a6c5532fa593fbb3.txt",
)
STEPS_100 = [*range(31), 40, 50, 60, 70, 80, 90, 100]
STEPS_1000 = [*range(31), *range(100, 1001, 100)]
QUADRATIC = "y = a * x**2 + b * x + c"


def _code(*lines: str) -> str:
    return "\n".join(lines)


def _doc000(tf: Any) -> dict[str, Any]:
    x = tf.Variable(initial_value=3.0)
    with tf.GradientTape() as tape:
        y = tf.square(x)
    y_grad = tape.gradient(y, x)
    square = {
        "doc": DOCS[0],
        "code": _code(
            "x = tf.Variable(initial_value=3.)",
            "with tf.GradientTape() as tape:",
            "    y = tf.square(x)",
            "y_grad = tape.gradient(y, x)",
            "print(y, y_grad)",
        ),
        "y": encode(y),
        "y_grad": encode(y_grad),
        "printed": printed(y, y_grad),
        "doc_printed": (
            "tf.Tensor(9.0, shape=(), dtype=float32)tf.Tensor(6.0, shape=(), dtype=float32)"
        ),
    }
    X = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    yy = tf.constant([[1.0], [2.0]])
    w = tf.Variable(initial_value=[[1.0], [2.0]])
    b = tf.Variable(initial_value=1.0)
    with tf.GradientTape() as tape:
        L = tf.reduce_sum(tf.square(tf.matmul(X, w) + b - yy))
    w_grad, b_grad = tape.gradient(L, [w, b])
    linreg = {
        "doc": DOCS[0],
        "code": _code(
            "X = tf.constant([[1., 2.], [3., 4.]])",
            "y = tf.constant([[1.], [2.]])",
            "w = tf.Variable(initial_value=[[1.], [2.]])",
            "b = tf.Variable(initial_value=1.)",
            "with tf.GradientTape() as tape:",
            "    L = tf.reduce_sum(tf.square(tf.matmul(X, w) + b - y))",
            "w_grad, b_grad = tape.gradient(L, [w, b])",
            "print(L, w_grad, b_grad)",
        ),
        "L": encode(L),
        "w_grad": encode(w_grad),
        "b_grad": encode(b_grad),
        "printed": printed(L, w_grad, b_grad),
    }
    return {"doc000_square": square, "doc000_linreg": linreg}


def _g(x1: Any, x2: Any) -> Any:
    return (x1 + 5) * (x2**2)


def _trajectory(values: list[Any], steps: list[int]) -> Any:
    return encode(np.array([values[k] for k in steps], np.float32))


def _doc001(tf: Any, tf_keras: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    x1 = tf.Variable(2.0)
    x2 = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        z = _g(x1, x2)
    dz_x1 = tape.gradient(z, x1)
    second = run_captured(tf, lambda: tape.gradient(z, x2))
    out["doc001_nonpersistent"] = {
        "doc": DOCS[1],
        "code": _code(
            "def g(x1, x2):",
            "    return (x1 + 5) * (x2 ** 2)",
            "x1 = tf.Variable(2.0); x2 = tf.Variable(3.0)",
            "with tf.GradientTape() as tape:",
            "    z = g(x1, x2)",
            "dz_x1 = tape.gradient(z, x1)",
            "try:",
            "    dz_x2 = tape.gradient(z, x2)",
            "except RuntimeError as ex:",
            "    print(ex)",
        ),
        "z": encode(z),
        "dz_x1": encode(dz_x1),
        "printed_dz_x1": printed(dz_x1),
        "second_gradient_exception": second["exception"],
        "doc_printed_message": (
            "GradientTape.gradient can only be called once on non-persistent tapes."
        ),
        "note": "the document shows an older TF message; 'exception.message' is the current one",
    }
    with tf.GradientTape(persistent=True) as tape:
        z = _g(x1, x2)
    dz_x1 = tape.gradient(z, x1)
    dz_x2 = tape.gradient(z, x2)
    with tf.GradientTape(persistent=True) as tape:
        z = _g(x1, x2)
    dz_x1x2 = tape.gradient(z, [x1, x2])
    out["doc001_persistent"] = {
        "doc": DOCS[1],
        "code": _code(
            "with tf.GradientTape(persistent=True) as tape:",
            "    z = g(x1, x2)",
            "dz_x1 = tape.gradient(z, x1); dz_x2 = tape.gradient(z, x2)",
            "print(dz_x1, dz_x2)",
            "with tf.GradientTape(persistent=True) as tape:",
            "    z = g(x1, x2)",
            "dz_x1x2 = tape.gradient(z, [x1, x2]); print(dz_x1x2)",
        ),
        "dz_x1": encode(dz_x1),
        "dz_x2": encode(dz_x2),
        "printed": printed(dz_x1, dz_x2),
        "dz_x1x2": [encode(g) for g in dz_x1x2],
        "printed_list": printed(dz_x1x2),
        "doc_printed_list": (
            "[<tf.Tensor: id=61, shape=(), dtype=float32, numpy=9.0>, "
            "<tf.Tensor: id=67, shape=(), dtype=float32, numpy=42.0>]"
        ),
    }
    c1 = tf.constant(2.0)
    c2 = tf.constant(3.0)
    with tf.GradientTape() as tape:
        z = _g(c1, c2)
    without = tape.gradient(z, [c1, c2])
    with tf.GradientTape() as tape:
        tape.watch(c1)
        tape.watch(c2)
        z = _g(c1, c2)
    with_watch = tape.gradient(z, [c1, c2])
    out["doc001_constants_watch"] = {
        "doc": DOCS[1],
        "code": _code(
            "x1 = tf.constant(2.0); x2 = tf.constant(3.0)",
            "with tf.GradientTape() as tape:",
            "    z = g(x1, x2)",
            "print(tape.gradient(z, [x1, x2]))     # [None, None]",
            "with tf.GradientTape() as tape:",
            "    tape.watch(x1); tape.watch(x2)",
            "    z = g(x1, x2)",
            "print(tape.gradient(z, [x1, x2]))",
        ),
        "without_watch": [encode(g) for g in without],
        "printed_without_watch": printed(without),
        "with_watch": [encode(g) for g in with_watch],
        "printed_with_watch": printed(with_watch),
    }
    x = tf.Variable(5.0)
    with tf.GradientTape() as tape:
        z1 = 3 * x
        z2 = x**2
    grad = tape.gradient([z1, z2], x)
    out["doc001_list_target_sum"] = {
        "doc": DOCS[1],
        "code": _code(
            "x = tf.Variable(5.0)",
            "with tf.GradientTape() as tape:",
            "    z1 = 3 * x",
            "    z2 = x ** 2",
            "tape.gradient([z1, z2], x)   # 13.0 (gradients of list targets are summed)",
        ),
        "grad": encode(grad),
        "repr": repr(grad),
    }
    x1 = tf.Variable(2.0)
    x2 = tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as out_tape:
        with tf.GradientTape(persistent=True) as inner_tape:
            z = _g(x1, x2)
        inner_grads = inner_tape.gradient(z, [x1, x2])
    out_grads_1 = [out_tape.gradient(inner_grad, [x1, x2]) for inner_grad in inner_grads]
    out_grads_2 = out_tape.gradient(inner_grads, [x1, x2])
    out["doc001_second_order"] = {
        "doc": DOCS[1],
        "code": _code(
            "x1 = tf.Variable(2.0); x2 = tf.Variable(3.0)",
            "with tf.GradientTape(persistent=True) as out_tape:",
            "    with tf.GradientTape(persistent=True) as inner_tape:",
            "        z = g(x1, x2)",
            "    inner_grads = inner_tape.gradient(z, [x1, x2])",
            "out_grads_1 = [out_tape.gradient(inner_grad, [x1, x2]) for inner_grad in inner_grads]",
            "out_grads_2 = out_tape.gradient(inner_grads, [x1, x2])",
            "print(out_grads_1); print(out_grads_2)",
        ),
        "inner_grads": [encode(g) for g in inner_grads],
        "out_grads_1": [[encode(g) for g in row] for row in out_grads_1],
        "out_grads_2": [encode(g) for g in out_grads_2],
        "printed_out_grads_1": printed(out_grads_1),
        "printed_out_grads_2": printed(out_grads_2),
        "note": (
            "inner_tape.gradient is called inside out_tape's context only (not inside its own), "
            "so no 'persistent tape inside its context' warning. d2z/dx1^2 is None (unconnected), "
            "d2z/dx1dx2 = 2*x2 = 6, d2z/dx2^2 = 2*(x1+5) = 14."
        ),
    }
    loop = (
        "for _ in range(100):",
        "    with tf.GradientTape() as tape:",
        "        z = 3. * x ** 2 + 2. * x - 1",
        "    dz_x = tape.gradient(z, x)",
    )

    def descend(update: Any) -> tuple[Any, list[Any]]:
        x = tf.Variable(0.0)
        xs = [x.numpy()]
        for _ in range(100):
            with tf.GradientTape() as tape:
                z = 3.0 * x**2 + 2.0 * x - 1
            dz_x = tape.gradient(z, x)
            update(dz_x, x)
            xs.append(x.numpy())
        return x, xs

    x, xs = descend(lambda g, v: v.assign_sub(0.1 * g))
    out["doc001_manual_gd_assign_sub"] = {
        "doc": DOCS[1],
        "code": _code(
            "x = tf.Variable(0.0)",
            "learning_rate = 0.1",
            *loop,
            "    x.assign_sub(learning_rate * dz_x)",
            "print(x)",
        ),
        "steps": STEPS_100,
        "x": _trajectory(xs, STEPS_100),
        "final_x": encode(x),
        "printed": printed(x),
        "doc_printed": "<tf.Variable 'Variable:0' shape=() dtype=float32, numpy=-0.3333333>",
        "note": (
            "x.assign_sub(learning_rate * dz_x): the python float 0.1 is converted to float32 "
            "then multiplied in float32"
        ),
    }
    made = run_captured(tf, lambda: tf_keras.optimizers.legacy.SGD(lr=0.1))
    optimizer = made["result"]
    x, xs = descend(lambda g, v: optimizer.apply_gradients([(g, v)]))
    new = run_captured(tf, lambda: tf_keras.optimizers.SGD(lr=0.1))
    new_opt = tf_keras.optimizers.SGD(learning_rate=0.1)
    x_new, xs_new = descend(lambda g, v: new_opt.apply_gradients([(g, v)]))
    out["doc001_sgd_optimizer"] = {
        "doc": DOCS[1],
        "code": _code(
            "x = tf.Variable(0.0)",
            "optimizer = keras.optimizers.SGD(lr = 0.1)     # legacy optimizer_v2 SGD",
            *loop,
            "    optimizer.apply_gradients([(dz_x, x)])",
            "print(x)",
        ),
        "class": "tf_keras.optimizers.legacy.SGD (lr= keyword)",
        "steps": STEPS_100,
        "x": _trajectory(xs, STEPS_100),
        "final_x": encode(x),
        "printed": printed(x),
        "lr_keyword_emitted": {
            k: made[k] for k in ("stdout", "stderr", "python_warnings", "logging")
        },
        "iterations_after": int(optimizer.iterations.numpy()),
        "new_keras2_optimizer_with_lr_keyword": {
            "class": (
                "tf_keras.optimizers.SGD (new Keras-2 optimizer, what tf.keras.optimizers.SGD "
                "is in TF>=2.11)"
            ),
            "exception": new["exception"],
            "logging": new["logging"],
            "python_warnings": new["python_warnings"],
        },
        "new_keras2_optimizer_learning_rate_final_x": encode(x_new),
        "new_keras2_optimizer_matches_legacy_trajectory": bool(
            np.array_equal(np.array(xs), np.array(xs_new))
        ),
    }
    return out


def _abc(tf: Any) -> tuple[Any, Any, Any]:
    """The document's constants ``a = 1, b = -2, c = 1`` of ``y = a x^2 + b x + c``."""
    return tf.constant(1.0, name="a"), tf.constant(-2.0, name="b"), tf.constant(1.0, name="c")


def _doc002(tf: Any, tf_keras: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    x = tf.Variable(0.0, name="x", dtype=tf.float32)
    a, b, c = _abc(tf)
    head = (
        'x = tf.Variable(0.0, name = "x", dtype = tf.float32)',
        'a = tf.constant(1.0, name = "a"); b = tf.constant(-2.0, name = "b"); '
        'c = tf.constant(1.0, name = "c")',
    )
    with tf.GradientTape() as tape:
        y = a * x**2 + b * x + c
    dy_dx, dy_da = tape.gradient(y, [x, a])
    out["doc002_grad"] = {
        "doc": DOCS[2],
        "code": _code(
            *head,
            "with tf.GradientTape() as tape:",
            f"    {QUADRATIC}",
            "dy_dx, dy_da = tape.gradient(y, [x, a])",
            "print(dy_dx); print(dy_da)",
        ),
        "y": encode(y),
        "dy_dx": encode(dy_dx),
        "dy_da": encode(dy_da),
        "printed": printed(dy_dx) + printed(dy_da),
    }
    with tf.GradientTape() as tape:
        tape.watch([a, b, c])
        y = a * x**2 + b * x + c
    dy_dx, dy_da, dy_db, dy_dc = tape.gradient(y, [x, a, b, c])
    out["doc002_watch_constants"] = {
        "doc": DOCS[2],
        "code": _code(
            "with tf.GradientTape() as tape:",
            "    tape.watch([a, b, c])",
            f"    {QUADRATIC}",
            "dy_dx, dy_da, dy_db, dy_dc = tape.gradient(y, [x, a, b, c])",
            "print(dy_da); print(dy_dc)",
        ),
        "dy_dx": encode(dy_dx),
        "dy_da": encode(dy_da),
        "dy_db": encode(dy_db),
        "dy_dc": encode(dy_dc),
        "printed": printed(dy_da) + printed(dy_dc),
    }
    with tf.GradientTape() as tape2:
        with tf.GradientTape() as tape1:
            y = a * x**2 + b * x + c
        dy_dx = tape1.gradient(y, x)
    dy2_dx2 = tape2.gradient(dy_dx, x)
    out["doc002_second_derivative"] = {
        "doc": DOCS[2],
        "code": _code(
            "with tf.GradientTape() as tape2:",
            "    with tf.GradientTape() as tape1:",
            f"        {QUADRATIC}",
            "    dy_dx = tape1.gradient(y, x)",
            "dy2_dx2 = tape2.gradient(dy_dx, x)",
            "print(dy2_dx2)",
        ),
        "dy_dx": encode(dy_dx),
        "dy2_dx2": encode(dy2_dx2),
        "printed": printed(dy2_dx2),
        "note": (
            "x = 0 here: d/dx of pow(x, 2) uses 2*pow(x, 1); second derivative of x**2 at x=0 "
            "is 2.0 (no NaN)"
        ),
    }

    def f_of(v: Any) -> Any:
        return a * v**2 + b * v + c

    def apply_loop(opt: Any, n: int) -> dict[str, Any]:
        v = tf.Variable(0.0, name="x", dtype=tf.float32)
        xs, ys, gs, ms, vs = [v.numpy()], [], [], [], []
        y = None
        for _ in range(n):
            with tf.GradientTape() as tape:
                y = f_of(v)
            g = tape.gradient(y, v)
            opt.apply_gradients([(g, v)])
            xs.append(v.numpy())
            ys.append(y.numpy())
            gs.append(g.numpy())
            if "m" in getattr(opt, "get_slot_names", list)():
                ms.append(opt.get_slot(v, "m").numpy())
                vs.append(opt.get_slot(v, "v").numpy())
        return {"var": v, "xs": xs, "ys": ys, "gs": gs, "ms": ms, "vs": vs, "y": y, "opt": opt}

    def minimize_loop(opt: Any, n: int) -> tuple[Any, list[Any]]:
        v = tf.Variable(0.0, name="x", dtype=tf.float32)
        xs = [v.numpy()]
        for _ in range(n):
            opt.minimize(lambda: f_of(v), [v])
            xs.append(v.numpy())
        return v, xs

    sgd = apply_loop(tf_keras.optimizers.legacy.SGD(learning_rate=0.01), 1000)
    sgd_new = apply_loop(tf_keras.optimizers.SGD(learning_rate=0.01), 1000)
    xs = sgd["xs"]
    unchanged = next(k for k in range(1, 1001) if xs[k] == xs[k - 1])
    at = [k - 1 for k in STEPS_1000[1:]]
    out["doc002_sgd_apply_gradients_1000"] = {
        "doc": DOCS[2],
        "code": _code(
            head[0],
            "opt = tf.keras.optimizers.legacy.SGD(learning_rate = 0.01)",
            "for _ in range(1000):",
            "    with tf.GradientTape() as tape:",
            f"        {QUADRATIC}",
            "    dy_dx = tape.gradient(y, x)",
            "    opt.apply_gradients(grads_and_vars = [(dy_dx, x)])",
            'tf.print("y = ", y, "; x = ", x)',
        ),
        "steps": STEPS_1000,
        "x_after_step": _trajectory(xs, STEPS_1000),
        "y_at_step": {
            "note": "y computed inside step k (before the update), index k-1 = step k",
            "steps": STEPS_1000[1:],
            "values": _trajectory(sgd["ys"], at),
        },
        "grad_at_step": {"steps": STEPS_1000[1:], "values": _trajectory(sgd["gs"], at)},
        "final_x": encode(sgd["var"]),
        "final_y_last_loop": encode(sgd["y"]),
        "f_of_final_x": encode(f_of(sgd["var"])),
        "tf_print": tf_print_text(tf, "y = ", sgd["y"], "; x = ", sgd["var"]),
        "doc_tf_print": "y =  0 ; x =  0.999998569",
        "iterations": int(sgd["opt"].iterations.numpy()),
        "first_step_without_change": unchanged,
        "new_keras2_optimizer_final_x": encode(sgd_new["var"]),
        "new_keras2_optimizer_identical_trajectory": bool(
            np.array_equal(np.array(xs), np.array(sgd_new["xs"]))
        ),
    }
    var, xs_min = minimize_loop(tf_keras.optimizers.legacy.SGD(learning_rate=0.01), 1000)
    out["doc002_sgd_minimize_1000"] = {
        "doc": DOCS[2],
        "code": _code(
            head[0],
            "def f():",
            '    a = tf.constant(1.0, name = "a"); b = tf.constant(-2.0, name = "b"); '
            'c = tf.constant(1.0, name = "c")',
            "    return a * x**2 + b * x + c",
            "opt = tf.keras.optimizers.legacy.SGD(learning_rate = 0.01)",
            "for _ in range(1000):",
            "    opt.minimize(f, [x])",
            'tf.print("y = ", f(), "; x = ", x)',
        ),
        "steps": STEPS_1000,
        "x_after_step": _trajectory(xs_min, STEPS_1000),
        "final_x": encode(var),
        "f_final": encode(f_of(var)),
        "tf_print": tf_print_text(tf, "y = ", f_of(var), "; x = ", var),
        "identical_to_apply_gradients_trajectory": bool(
            np.array_equal(np.array(xs_min), np.array(xs))
        ),
    }
    adam = apply_loop(tf_keras.optimizers.legacy.Adam(learning_rate=0.01), 1000)
    out["doc002_adam_apply_gradients_1000_eager"] = {
        "doc": DOCS[2],
        "code": _code(
            head[0],
            "opt = tf.keras.optimizers.legacy.Adam(learning_rate = 0.01)",
            "for _ in range(1000):            # eager (the document runs this in a tf.function)",
            "    with tf.GradientTape() as tape:",
            f"        {QUADRATIC}",
            "    dy_dx = tape.gradient(y, x)",
            "    opt.apply_gradients([(dy_dx, x)])",
        ),
        "steps": STEPS_1000,
        "x_after_step": _trajectory(adam["xs"], STEPS_1000),
        "m_after_step": _trajectory(adam["ms"], at),
        "v_after_step": _trajectory(adam["vs"], at),
        "m_v_steps": STEPS_1000[1:],
        "final_x": encode(adam["var"]),
        "f_of_final_x": encode(f_of(adam["var"])),
        "tf_print_x": tf_print_text(tf, adam["var"]),
    }
    out.update(_doc002_tf_function(tf, tf_keras, head, adam, minimize_loop, f_of))
    return out


def _doc002_tf_function(
    tf: Any,
    tf_keras: Any,
    head: tuple[str, ...],
    adam: dict[str, Any],
    minimize_loop: Any,
    f_of: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    constants = (
        '    a = tf.constant(1.0, name = "a"); b = tf.constant(-2.0, name = "b"); '
        'c = tf.constant(1.0, name = "c")'
    )
    x = tf.Variable(0.0, name="x", dtype=tf.float32)
    opt = tf_keras.optimizers.legacy.Adam(learning_rate=0.01)

    @tf.function
    def minimizef_apply_gradients() -> Any:
        a, b, c = _abc(tf)
        for _ in tf.range(1000):
            with tf.GradientTape() as tape:
                y = a * x**2 + b * x + c
            dy_dx = tape.gradient(y, x)
            opt.apply_gradients([(dy_dx, x)])
        return a * x**2 + b * x + c

    result = minimizef_apply_gradients()
    out["doc002_adam_apply_gradients_1000_tf_function"] = {
        "doc": DOCS[2],
        "code": _code(
            head[0],
            "opt = tf.keras.optimizers.legacy.Adam(learning_rate = 0.01)",
            "@tf.function",
            "def minimizef_apply_gradients():",
            constants,
            "    for _ in tf.range(1000):",
            "        with tf.GradientTape() as tape:",
            f"            {QUADRATIC}",
            "        dy_dx = tape.gradient(y, x)",
            "        opt.apply_gradients([(dy_dx, x)])",
            "    return a * x**2 + b * x + c",
            "tf.print(minimizef_apply_gradients())",
            "tf.print(x)",
        ),
        "result": encode(result),
        "final_x": encode(x),
        "tf_print_result": tf_print_text(tf, result),
        "tf_print_x": tf_print_text(tf, x),
        "doc_tf_print": ["0", "1.00000083"],
        "same_final_x_as_eager": bool(x.numpy() == adam["var"].numpy()),
        "iterations": int(opt.iterations.numpy()),
    }
    x = tf.Variable(0.0, name="x", dtype=tf.float32)
    opt = tf_keras.optimizers.legacy.Adam(learning_rate=0.01)

    @tf.function
    def f() -> Any:
        a, b, c = _abc(tf)
        return a * x**2 + b * x + c

    @tf.function
    def minimizef_minimize() -> Any:
        for _ in range(100):
            opt.minimize(f, [x])
        return f()

    f_final = minimizef_minimize()
    var100, xs100 = minimize_loop(tf_keras.optimizers.legacy.Adam(learning_rate=0.01), 100)
    out["doc002_adam_minimize_100"] = {
        "doc": DOCS[2],
        "code": _code(
            head[0],
            "opt = tf.keras.optimizers.legacy.Adam(learning_rate = 0.01)",
            "@tf.function",
            "def f():",
            constants,
            "    return a * x**2 + b * x + c",
            "@tf.function",
            "def minimizef_minimize():",
            "    for _ in range(100):          # python loop: unrolled 100 times in the graph",
            "        opt.minimize(f, [x])",
            "    return f()",
            "tf.print(minimizef_minimize())",
        ),
        "tf_function": {
            "f_final": encode(f_final),
            "final_x": encode(x),
            "tf_print_f": tf_print_text(tf, f_final),
            "tf_print_x": tf_print_text(tf, x),
        },
        "eager": {
            "f_final": encode(f_of(var100)),
            "final_x": encode(var100),
            "steps": list(range(101)),
            "x_after_step": _trajectory(xs100, list(range(101))),
        },
        "doc_tf_print": "0.0503761768",
        "expected_x": "0.775553644",
        "eager_equals_tf_function": bool(var100.numpy() == x.numpy()),
    }
    var, xs = minimize_loop(tf_keras.optimizers.legacy.Adam(learning_rate=0.01), 1000)
    out["doc002_adam_minimize_1000_eager"] = {
        "code": "same as doc002_adam_minimize_100 but eager, 1000 steps of opt.minimize(f, [x])",
        "steps": STEPS_1000,
        "x_after_step": _trajectory(xs, STEPS_1000),
        "final_x": encode(var),
        "f_final": encode(f_of(var)),
        "identical_to_apply_gradients_eager": bool(
            np.array_equal(np.array(xs), np.array(adam["xs"]))
        ),
    }
    return out


def _doc003(tf: Any) -> dict[str, Any]:
    x = tf.Variable(3.0, trainable=True)
    with tf.GradientTape() as tape:
        y = x**3 + x**2 + x + 5
    grad = tape.gradient(y, x)
    with tf.GradientTape() as tape1:
        with tf.GradientTape() as tape2:
            y = x**3 + x**2 + x + 5
        order_1 = tape2.gradient(y, x)
    order_2 = tape1.gradient(order_1, x)
    return {
        "doc003_cubic": {
            "doc": DOCS[3],
            "code": _code(
                "x = tf.Variable(3.0, trainable=True)",
                "with tf.GradientTape() as tape:",
                "    y = x**3 + x**2 + x + 5",
                "print(tape.gradient(y, x).numpy())          # 34.0",
                "with tf.GradientTape() as tape1:",
                "    with tf.GradientTape() as tape2:",
                "        y = x**3 + x**2 + x + 5",
                "    order_1 = tape2.gradient(y, x)",
                "order_2 = tape1.gradient(order_1, x)",
                "print(order_2.numpy())                      # 20.0",
            ),
            "y": encode(y),
            "grad": encode(grad),
            "order_1": encode(order_1),
            "order_2": encode(order_2),
            "printed": printed(grad.numpy()) + printed(order_2.numpy()),
        }
    }


def _shown(tf: Any, value: Any) -> dict[str, Any]:
    return {
        "str": str(value),
        "repr": repr(value),
        "tf_print": tf_print_text(tf, value),
        "print_numpy": printed(value.numpy()),
        "value": encode(value),
    }


def _repr_str_tfprint(tf: Any) -> dict[str, Any]:
    values = {
        "scalar_float32": tf.constant(9.0),
        "matrix_2x1_float32": tf.constant([[70.0], [100.0]]),
        "vector_float32": tf.constant([1.5, -2.0, 0.1]),
        "scalar_int32": tf.constant(3),
        "vector_int32": tf.constant([1, 2, 3]),
        "scalar_float64": tf.constant(0.5, tf.float64),
        "vector_float64": tf.constant([0.1, 0.2], tf.float64),
        "variable_x_scalar": tf.Variable(3.0, name="x"),
        "variable_unnamed": tf.Variable(0.0),
        "variable_matrix": tf.Variable([[1.0], [2.0]], name="w"),
        "float32_pi": tf.constant(np.pi, tf.float32),
        "float32_small": tf.constant(1e-8),
        "float32_0.999998569": tf.constant(0.999998569),
        "bool_vector": tf.constant([True, False]),
    }
    out: dict[str, Any] = {name: _shown(tf, v) for name, v in values.items()}
    pair = [tf.constant(9.0), tf.constant(42.0)]
    big = tf.range(20, dtype=tf.float32)
    out.update(
        {
            "note": (
                "TF 2.21 repr() of a float32 SCALAR tensor/variable shows the float64 expansion "
                "(numpy=-0.3333333134651184), also with numpy 1.26 installed; the documents "
                "(older TF) show numpy=-0.3333333. str() of a Tensor and repr of non-scalars use "
                "numpy's float32 formatting."
            ),
            "list_of_tensors": {"repr": repr(pair), "str": str(pair)},
            "none_list": {"repr": repr([None, None])},
            "shape_repr": {
                "repr": repr(tf.TensorShape([2, 1])),
                "str": str(tf.TensorShape([2, 1])),
            },
            "dtype_repr": {"repr": repr(tf.float32), "str": str(tf.float32)},
            "large_vector_tf_print": tf_print_text(tf, tf.range(20)),
            "large_vector_str": str(big),
            "large_2d_tf_print": tf_print_text(tf, tf.reshape(tf.range(40), (8, 5))),
            "tf_print_multiple_args": tf_print_text(tf, "a", 1.5, tf.constant(3), [1, 2]),
            "tf_print_sep_end": tf_print_text(tf, "a", 1.5, sep="|", end="$\n"),
        }
    )
    return out


def seed_examples(tf: Any, committed: dict[str, Any]) -> dict[str, Any]:
    """The ``seed_examples`` section (``committed`` is not read: everything is recomputed)."""
    tf_keras = keras()

    del committed
    return {
        **_doc000(tf),
        **_doc001(tf, tf_keras),
        **_doc002(tf, tf_keras),
        **_doc003(tf),
        "repr_str_tfprint": _repr_str_tfprint(tf),
    }
