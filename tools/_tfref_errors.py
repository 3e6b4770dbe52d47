"""The ``errors_warnings`` section of tests/data/tf_reference.json: what TensorFlow raises,
prints, warns and logs on misuse (and what it returns where it does not raise).

Each entry is ``{code, exception, stdout, stderr, python_warnings, logging, result}`` from
:func:`_tfref_capture.run_captured`.  Texts that name a memory address, a time stamp or a
thread differ from run to run; ``record_tf_reference.py`` compares them with those parts
masked.  The recipes run inside ``section_errors`` (its local functions' names are part of
TensorFlow's retracing messages).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _tfrecord import encode, keras
from _tfref_capture import run_captured

NOTE = (
    "each entry: code; exception {type, module, mro, message} or null; what went to stdout / "
    "stderr (fd level), python warnings, and records of the 'tensorflow' logger "
    "(tf.get_logger(); absl-style logging.warning) and root"
)


def _value(node: Any) -> Any:
    """A recipe's result as JSON: tensors encoded, lists kept, text and None as they are."""
    if isinstance(node, list | tuple):
        return [_value(v) for v in node]
    if node is None or isinstance(node, str | bool | int):
        return node  # (a Python float is encoded: an array of dtype float64)
    return encode(node)


def section_errors(tf: Any) -> dict[str, Any]:
    """Run every recipe in order; the section's entries."""
    tf_keras = keras()

    legacy = tf_keras.optimizers.legacy
    out: dict[str, Any] = {"note": NOTE}

    def case(name: str, code: str, fn: Callable[[], Any]) -> None:
        entry = run_captured(tf, fn)
        entry["result"] = _value(entry["result"])
        out[name] = {"code": code, **entry}

    def var() -> Any:
        return tf.Variable(2.0)

    def twice(persistent: bool, second: str) -> Callable[[], Any]:
        def run() -> Any:
            x = var()
            with tf.GradientTape(persistent=persistent) as tape:
                y = x * x
            tape.gradient(y, x)
            return getattr(tape, second)(y, x)

        return run

    case(
        "second_gradient_non_persistent",
        "with tf.GradientTape() as tape: y = x * x\ntape.gradient(y, x); tape.gradient(y, x)",
        twice(False, "gradient"),
    )
    case(
        "jacobian_after_gradient_non_persistent",
        "with tf.GradientTape() as tape: y = x * x\ntape.gradient(y, x); tape.jacobian(y, x)",
        twice(False, "jacobian"),
    )

    def watch_int32() -> Any:
        x = tf.constant(3)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = x * x
        return tape.gradient(y, x)

    case(
        "watch_int32",
        "x = tf.constant(3)\nwith tf.GradientTape() as tape:\n    tape.watch(x); y = x * x\n"
        "tape.gradient(y, x)",
        watch_int32,
    )

    def int_variable() -> Any:
        x = tf.Variable(3)
        with tf.GradientTape() as tape:
            y = x * x
        return tape.gradient(y, x)

    case(
        "int_variable_not_watched",
        "x = tf.Variable(3)\nwith tf.GradientTape() as tape: y = x * x\ntape.gradient(y, x)",
        int_variable,
    )

    def watch_float64() -> Any:
        x = tf.constant(3.0, dtype=tf.float64)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = x * x
        return tape.gradient(y, x)

    case(
        "watch_float64",
        "x = tf.constant(3.0, dtype=tf.float64)\n"
        "with tf.GradientTape() as tape: tape.watch(x); y = x * x\ntape.gradient(y, x)",
        watch_float64,
    )

    def inside(persistent: bool) -> Callable[[], Any]:
        def run() -> Any:
            x = var()
            with tf.GradientTape(persistent=persistent) as tape:
                y = x * x
                g = tape.gradient(y, x)
            return g

        return run

    case(
        "gradient_inside_persistent_context",
        "with tf.GradientTape(persistent=True) as tape:\n    y = x * x\n"
        "    g = tape.gradient(y, x)",
        inside(True),
    )
    case(
        "gradient_inside_nonpersistent_context",
        "with tf.GradientTape() as tape:\n    y = x * x\n    g = tape.gradient(y, x)",
        inside(False),
    )

    def gradient(target: Callable[[Any, Any], Any], sources: Callable[[Any], Any]) -> Any:
        def run() -> Any:
            x = var()
            with tf.GradientTape() as tape:
                y = x * x
            return tape.gradient(target(x, y), sources(x))

        return run

    case("gradient_target_none", "tape.gradient(None, x)", gradient(lambda x, y: None, lambda x: x))
    case("gradient_source_none", "tape.gradient(y, None)", gradient(lambda x, y: y, lambda x: None))
    case(
        "gradient_source_list_with_none",
        "tape.gradient(y, [x, None])",
        gradient(lambda x, y: y, lambda x: [x, None]),
    )

    def int_target() -> Any:
        x = var()
        with tf.GradientTape() as tape:
            y = tf.cast(x, tf.int32)
        return tape.gradient(y, x)

    case("gradient_int_target", "y = tf.cast(x, tf.int32); tape.gradient(y, x)", int_target)
    case(
        "gradient_python_float_source",
        "tape.gradient(y, 2.0)",
        gradient(lambda x, y: y, lambda x: 2.0),
    )
    _optimizer_cases(tf, tf_keras, case)
    _dtype_cases(tf, case)
    _function_cases(tf, case)
    _tape_cases(tf, legacy, case)
    return out


def _optimizer_cases(tf: Any, tf_keras: Any, case: Any) -> None:
    legacy = tf_keras.optimizers.legacy

    def minimize_no_tape(make: Any) -> Callable[[], Any]:
        def run() -> Any:
            x = tf.Variable(2.0)
            opt = make(0.1)
            loss = x * x
            return opt.minimize(loss, [x])

        return run

    case(
        "minimize_tensor_loss_no_tape_legacy",
        "x = tf.Variable(2.0); opt = tf_keras.optimizers.legacy.SGD(0.1)\nloss = x * x\n"
        "opt.minimize(loss, [x])",
        minimize_no_tape(legacy.SGD),
    )
    case(
        "minimize_tensor_loss_no_tape_new_optimizer",
        "same with tf_keras.optimizers.SGD(0.1) (new Keras-2 optimizer)",
        minimize_no_tape(tf_keras.optimizers.SGD),
    )

    def minimize_with_tape() -> Any:
        x = tf.Variable(2.0)
        opt = legacy.SGD(0.1)
        with tf.GradientTape() as tape:
            loss = x * x
        opt.minimize(loss, [x], tape=tape)
        return x

    case(
        "minimize_tensor_loss_with_tape_legacy",
        "with tf.GradientTape() as tape: loss = x * x\nopt.minimize(loss, [x], tape=tape); x",
        minimize_with_tape,
    )

    def all_none(make: Any, two: bool) -> Callable[[], Any]:
        def run() -> Any:
            x = tf.Variable(2.0, name="x")
            pairs = [(None, x)]
            if two:
                pairs.append((None, tf.Variable([1.0, 2.0], name="y")))
            return make(0.1).apply_gradients(pairs)

        return run

    case(
        "apply_gradients_all_none_legacy",
        'x = tf.Variable(2.0, name="x"); opt = tf_keras.optimizers.legacy.SGD(0.1)\n'
        "opt.apply_gradients([(None, x)])",
        all_none(legacy.SGD, False),
    )
    case(
        "apply_gradients_all_none_two_vars_legacy",
        "opt.apply_gradients([(None, x), (None, y)])",
        all_none(legacy.SGD, True),
    )
    case(
        "apply_gradients_all_none_new_optimizer",
        "tf_keras.optimizers.SGD(0.1).apply_gradients([(None, x)])",
        all_none(tf_keras.optimizers.SGD, False),
    )

    def some_none(make: Any) -> Callable[[], Any]:
        def run() -> Any:
            x = tf.Variable(2.0, name="x")
            b = tf.Variable(1.0, name="b")
            make(0.1).apply_gradients([(tf.constant(1.0), x), (None, b)])
            return [x, b]

        return run

    case(
        "apply_gradients_some_none_legacy",
        'x = tf.Variable(2.0, name="x"); b = tf.Variable(1.0, name="b")\n'
        "opt = tf_keras.optimizers.legacy.SGD(0.1)\n"
        "opt.apply_gradients([(tf.constant(1.0), x), (None, b)]); [x, b]",
        some_none(legacy.SGD),
    )
    case(
        "apply_gradients_some_none_new_optimizer",
        "same with tf_keras.optimizers.SGD(0.1)",
        some_none(tf_keras.optimizers.SGD),
    )

    def apply(make: Any, grad: Callable[[], Any], var: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: make(0.1).apply_gradients([(grad(), var())])

    def x2() -> Any:
        return tf.Variable([1.0, 2.0], name="x")

    case(
        "apply_gradients_shape_mismatch_sgd_legacy",
        'x = tf.Variable([1.0, 2.0], name="x")\n'
        "tf_keras.optimizers.legacy.SGD(0.1).apply_gradients([(tf.constant([1.0, 2.0, 3.0]), x)])",
        apply(legacy.SGD, lambda: tf.constant([1.0, 2.0, 3.0]), x2),
    )
    case(
        "apply_gradients_scalar_grad_for_vector_sgd_legacy",
        "legacy.SGD(0.1).apply_gradients([(tf.constant(1.0), x)])  with x shape (2,)",
        apply(legacy.SGD, lambda: tf.constant(1.0), x2),
    )
    case(
        "apply_gradients_shape_mismatch_adam_legacy",
        "tf_keras.optimizers.legacy.Adam(0.1).apply_gradients([(tf.constant([1., 2., 3.]), x)])",
        apply(legacy.Adam, lambda: tf.constant([1.0, 2.0, 3.0]), x2),
    )
    case(
        "apply_gradients_float64_grad_float32_var",
        "legacy.SGD(0.1).apply_gradients([(tf.constant([1., 2.], tf.float64), x_float32)])",
        apply(legacy.SGD, lambda: tf.constant([1.0, 2.0], tf.float64), x2),
    )
    case(
        "apply_gradients_to_tensor_not_variable",
        "legacy.SGD(0.1).apply_gradients([(tf.constant(1.0), tf.constant(1.0))])",
        apply(legacy.SGD, lambda: tf.constant(1.0), lambda: tf.constant(1.0)),
    )


def _dtype_cases(tf: Any, case: Any) -> None:
    c = tf.constant
    f64 = tf.float64
    simple: tuple[tuple[str, str, Callable[[], Any]], ...] = (
        ("add_float32_float64", "tf.constant(1.0) + tf.constant(1.0, dtype=tf.float64)",
         lambda: c(1.0) + c(1.0, dtype=f64)),
        ("add_float64_float32", "tf.constant(1.0, dtype=tf.float64) + tf.constant(1.0)",
         lambda: c(1.0, dtype=f64) + c(1.0)),
        ("tf_add_float32_float64", "tf.add(tf.constant(1.0), tf.constant(1.0, dtype=tf.float64))",
         lambda: tf.add(c(1.0), c(1.0, dtype=f64))),
        ("mul_float32_int32", "tf.constant(1.5) * tf.constant(2)", lambda: c(1.5) * c(2)),
        ("matmul_float32_float64", "tf.matmul(tf.ones((2, 2)), tf.ones((2, 2), dtype=tf.float64))",
         lambda: tf.matmul(tf.ones((2, 2)), tf.ones((2, 2), dtype=f64))),
        ("int_div_int", "tf.constant(1) / tf.constant(2)", lambda: c(1) / c(2)),
        ("int_floordiv_int", "tf.constant(7) // tf.constant(2)", lambda: c(7) // c(2)),
        ("int_div_python_int", "tf.constant(1) / 2", lambda: c(1) / 2),
        ("float32_plus_numpy_float64_array",
         "tf.constant(1.0) + np.array([1.0, 2.0])   (numpy float64)",
         lambda: c(1.0) + np.array([1.0, 2.0])),
        ("numpy_float64_array_plus_float32", "np.array([1.0, 2.0]) + tf.constant(1.0)",
         lambda: np.array([1.0, 2.0]) + c(1.0)),
        ("float32_times_numpy_float64_scalar", "tf.constant([1., 2.]) * np.float64(2.0)",
         lambda: c([1.0, 2.0]) * np.float64(2.0)),
        ("numpy_float64_scalar_times_float32", "np.float64(2.0) * tf.constant([1., 2.])",
         lambda: np.float64(2.0) * c([1.0, 2.0])),
        ("float32_plus_numpy_float64_inexact",
         "tf.constant(1.0) + np.array([0.1])   "
         "(0.1 not representable; converted to float32 first?)",
         lambda: c(1.0) + np.array([0.1])),
        ("float32_plus_numpy_int64", "tf.constant(1.0) + np.array([1, 2])",
         lambda: c(1.0) + np.array([1, 2])),
        ("int32_plus_python_float", "tf.constant(1) + 0.5", lambda: c(1) + 0.5),
        ("int32_plus_numpy_float32", "tf.constant(1) + np.float32(0.5)",
         lambda: c(1) + np.float32(0.5)),
        ("float32_plus_python_big_int", "tf.constant(1.0) + 2**40", lambda: c(1.0) + 2**40),
    )  # fmt: skip
    for name, code, fn in simple:
        case(name, code, fn)
    case(
        "constant_python_float_dtype",
        "tf.constant(1.0).dtype / tf.constant(1).dtype / tf.constant(np.float64(1.0)).dtype / "
        "tf.constant(np.array([1.0])).dtype",
        lambda: [
            t.dtype.name
            for t in (
                c(1.0),
                c(1),
                c(np.float64(1.0)),
                c(np.array([1.0])),
                c(np.float32(1.0)),
                c(np.array([1.0], np.float64)),
                c(np.array([1])),
            )
        ],
    )
    case(
        "convert_float64_numpy_with_float32_dtype",
        "tf.convert_to_tensor(np.array([0.1]), dtype=tf.float32)",
        lambda: tf.convert_to_tensor(np.array([0.1]), dtype=tf.float32),
    )
    case(
        "constant_float64_numpy_with_float32_dtype",
        "tf.constant(np.array([0.1]), dtype=tf.float32)",
        lambda: c(np.array([0.1]), dtype=tf.float32),
    )
    case(
        "variable_assign_float64",
        "v = tf.Variable(1.0); v.assign(tf.constant(2.0, tf.float64))",
        lambda: tf.Variable(1.0).assign(c(2.0, f64)),
    )
    case(
        "variable_assign_shape_mismatch",
        "v = tf.Variable([1.0, 2.0]); v.assign([1.0, 2.0, 3.0])",
        lambda: tf.Variable([1.0, 2.0]).assign([1.0, 2.0, 3.0]),
    )

    def assign_sub() -> Any:
        v = tf.Variable(1.0)
        v.assign_sub(0.1)
        return v

    case(
        "variable_assign_sub_python_float",
        "v = tf.Variable(1.0); v.assign_sub(0.1); v",
        assign_sub,
    )


def _function_cases(tf: Any, case: Any) -> None:
    def traced(fn: Any, qualname: str) -> Any:
        # the name TensorFlow's retracing message shows
        fn.__qualname__ = f"section_errors.<locals>.{qualname}.<locals>.{fn.__name__}"
        return tf.function(fn)

    def retrace() -> Any:
        def f(x: Any) -> Any:
            return x * 2

        f = traced(f, "retrace")
        for i in range(8):
            f(float(i))

    def retrace_new_functions() -> Any:
        for _ in range(8):

            def g(x: Any) -> Any:
                return x + 1

            traced(g, "retrace_new_functions")(tf.constant(1.0))

    def retrace_shapes() -> Any:
        def h(x: Any) -> Any:
            return tf.reduce_sum(x)

        h = traced(h, "retrace_shapes")
        for i in range(1, 9):
            h(tf.ones((i,)))

    case(
        "tf_function_retracing_python_scalars",
        "@tf.function\ndef f(x): return x * 2\nfor i in range(8): f(float(i))",
        retrace,
    )
    case(
        "tf_function_retracing_new_function_in_loop",
        "for i in range(8):\n    @tf.function\n    def g(x): return x + 1\n    g(tf.constant(1.0))",
        retrace_new_functions,
    )
    case(
        "tf_function_retracing_shapes",
        "@tf.function\ndef h(x): return tf.reduce_sum(x)\nfor i in range(1, 9): h(tf.ones((i,)))",
        retrace_shapes,
    )

    def every_call() -> Any:
        @tf.function
        def f(x: Any) -> Any:
            v = tf.Variable(1.0)
            return v + x

        f(tf.constant(1.0))
        f(tf.constant(2.0))

    case(
        "variable_created_in_tf_function_every_call",
        "@tf.function\ndef f(x):\n    v = tf.Variable(1.0)\n    return v + x\n"
        "f(tf.constant(1.0)); f(tf.constant(2.0))",
        every_call,
    )

    def on_retrace() -> Any:
        @tf.function
        def f(x: Any) -> Any:
            if x.shape.rank == 0:
                return x
            v = tf.Variable(1.0)
            return v + x

        f(tf.constant(1.0))
        f(tf.constant([1.0, 2.0]))

    case(
        "variable_created_in_tf_function_on_retrace",
        "@tf.function\ndef f(x):        # first trace creates no variable, a later trace does\n"
        "    ...\n    v = tf.Variable(1.0)\n    return v + x\n"
        "f(tf.constant(1.0)); f(tf.constant([1.0, 2.0]))",
        on_retrace,
    )

    def once() -> Any:
        holder: list[Any] = []

        @tf.function
        def f(x: Any) -> Any:
            if not holder:
                holder.append(tf.Variable(1.0))
            return holder[0] + x

        return [f(tf.constant(1.0)), f(tf.constant(2.0))]

    case(
        "variable_created_once_in_tf_function_ok",
        "holder = []\n@tf.function\ndef f(x):\n    if not holder: holder.append(tf.Variable(1.0))\n"
        "    return holder[0] + x\nf(tf.constant(1.0)); f(tf.constant(2.0))",
        once,
    )


def _tape_cases(tf: Any, legacy: Any, case: Any) -> None:
    tf_keras = keras()

    case(
        "legacy_sgd_lr_keyword",
        "tf_keras.optimizers.legacy.SGD(lr=0.1)",
        lambda: legacy.SGD(lr=0.1)._hyper["learning_rate"],
    )
    case(
        "new_sgd_lr_keyword",
        "tf_keras.optimizers.SGD(lr=0.1)",
        lambda: repr(tf_keras.optimizers.SGD(lr=0.1)),
    )
    case(
        "legacy_sgd_unknown_keyword",
        "tf_keras.optimizers.legacy.SGD(foo=1)",
        lambda: legacy.SGD(foo=1),
    )
    case(
        "stop_recording_outside",
        "tape.stop_recording() when the tape is not recording",
        lambda: tf.GradientTape().stop_recording().__enter__(),
    )
    x = tf.Variable(2.0)

    def reset() -> Any:
        with tf.GradientTape() as tape:
            x * x
            tape.reset()
            z = x * 3
        return [tape.gradient(z, x)]

    case(
        "reset_inside_context",
        "with tf.GradientTape() as tape:\n    y = x * x; tape.reset(); z = x * 3\n"
        "tape.gradient(z, x)",
        reset,
    )

    def watched() -> Any:
        x = tf.Variable(2.0, name="x")
        b = tf.Variable(1.0, name="b", trainable=False)
        with tf.GradientTape() as tape:
            x * b
        return [v.name for v in tape.watched_variables()]

    case(
        "watched_variables_names",
        'x = tf.Variable(2.0, name="x"); b = tf.Variable(1.0, name="b", trainable=False)\n'
        "with tf.GradientTape() as tape: y = x * b\n[v.name for v in tape.watched_variables()]",
        watched,
    )

    def not_accessed() -> Any:
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            y = x * x
        return tape.gradient(y, x)

    case(
        "watch_accessed_variables_false",
        "with tf.GradientTape(watch_accessed_variables=False) as tape: y = x * x\n"
        "tape.gradient(y, x)",
        not_accessed,
    )

    def watch_float() -> Any:
        with tf.GradientTape() as tape:
            tape.watch(3.0)

    case("watch_python_float", "tape.watch(3.0)", watch_float)

    def intermediate() -> Any:
        with tf.GradientTape() as tape:
            y = x * x
            z = y * 3
        return tape.gradient(z, y)

    case(
        "gradient_wrt_intermediate",
        "with tf.GradientTape() as tape: y = x * x; z = y * 3\ntape.gradient(z, y)",
        intermediate,
    )

    def unconnected() -> Any:
        c = tf.Variable(1.0)
        with tf.GradientTape() as tape:
            y = x * x
        return tape.jacobian(y, c)

    case("jacobian_unconnected", "tape.jacobian(y, c) with c unconnected", unconnected)
    case(
        "variable_name_with_space",
        'repr(tf.Variable(1.0, name="my var"))',
        lambda: repr(tf.Variable(1.0, name="my var")),
    )


def errors_warnings(tf: Any, committed: dict[str, Any]) -> dict[str, Any]:
    """The ``errors_warnings`` section (``committed`` is not read: everything is recomputed)."""
    del committed
    return section_errors(tf)
