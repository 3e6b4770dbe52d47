"""Regenerate tests/data/tf_reference.json from TensorFlow, every section (run with TF).

    TF_USE_LEGACY_KERAS=1 /path/to/tfvenv/bin/python tools/record_tf_reference.py --check
    TF_USE_LEGACY_KERAS=1 /path/to/tfvenv/bin/python tools/record_tf_reference.py --write
    ... --check --section kinks          # one section (repeatable)

Runs only where TensorFlow 2.x with tf_keras is installed; tests never import TensorFlow,
they read the JSON (tests/engine/tfref.py).  oneDNN stays at TensorFlow's default (on), as
when the file was first recorded; ``ops_bitexact`` is recomputed a second time with it off,
in a child process.  ``recorders()`` names the function that writes each top-level section:

* ``meta``: versions and settings.
* ``seed_examples`` (tools/_tfref_seeds.py): the four source documents' examples.
* ``optimizers`` (tools/_tfref_optimizers.py): tf_keras legacy optimizers on one problem.
* ``kinks``: gradients where an op is not differentiable or not finite.  Each recipe of
  ``KINKS`` is TensorFlow code (the text up to two spaces and a parenthesis is run; the
  rest is a note) and its float32 inputs; every input is watched and ``y``/``z`` (the last
  name the code assigns) is differentiated with respect to all of them.
* ``ops_bitexact``: an op's output and its gradients with respect to ``OPS_WRT`` under a
  random upstream gradient (``output_gradients``).  New entries draw their inputs and
  upstream from ``np.random.default_rng(SEED)`` (standard normal float32, in the order of
  the code's names); existing entries keep the inputs and upstream stored in the file (they
  are shared with the tests).  Also its oneDNN-off values and a numpy ulp table
  (tools/_tfref_numpy_ulps.py).
* ``errors_warnings`` (tools/_tfref_errors.py): exceptions, output, warnings and logging of
  misuse.
* ``structure`` (tools/_tfref_structure.py), ``pow_behaviour`` (tools/_tfref_pow.py),
  ``numpy_crosscheck_of_legacy_updates`` (tools/_tfref_crosscheck.py).

``--check`` (the default) recomputes everything in memory and lists, section by section,
every key whose value differs from the committed file (bit for bit: floats are compared by
their exact hex text), then whether the file's text would change; it exits 1 on any
difference.  Run-to-run parts of TensorFlow's messages (addresses, glog time stamps,
file/line, set order: ``VOLATILE``) are compared masked and kept as committed by ``--write``.
docs/reference_numbers.md says how to add a section or an op.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _tfrecord import decode, encode, keras, tensorflow
from _tfref_crosscheck import numpy_crosscheck_of_legacy_updates
from _tfref_errors import errors_warnings
from _tfref_numpy_ulps import numpy_float32_forward_max_ulps
from _tfref_optimizers import optimizers
from _tfref_pow import pow_behaviour
from _tfref_seeds import seed_examples
from _tfref_structure import structure

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "data" / "tf_reference.json"
SEED = 20240601
Recorder = Callable[[Any, Any], Any]

KINKS: dict[str, tuple[str, dict[str, Any]]] = {
    "abs_at_0": ("y = tf.abs(x)", {"x": [0.0, -0.0, 1.0, -1.0]}),
    "relu_at_0": ("y = tf.nn.relu(x)", {"x": [0.0, -0.0, 1.0, -1.0]}),
    "maximum_tie": ("z = tf.maximum(x, y)", {"x": [1.0, 2.0, 0.0], "y": [1.0, 1.0, 0.0]}),
    "minimum_tie": ("z = tf.minimum(x, y)", {"x": [1.0, 2.0, 0.0], "y": [1.0, 1.0, 0.0]}),
    "maximum_tie_scalar": ("z = tf.maximum(x, y)", {"x": 2.0, "y": 2.0}),
    "reduce_max_ties_1d": ("y = tf.reduce_max(x)", {"x": [1.0, 3.0, 3.0]}),
    "reduce_max_ties_2d_axis1": (
        "y = tf.reduce_max(x, axis=1)",
        {"x": [[1.0, 3.0, 3.0], [5.0, 5.0, 5.0], [2.0, 0.0, 1.0]]},
    ),
    "reduce_max_ties_2d_axis1_keepdims": (
        "y = tf.reduce_max(x, axis=1, keepdims=True)",
        {"x": [[1.0, 3.0, 3.0], [5.0, 5.0, 5.0], [2.0, 0.0, 1.0]]},
    ),
    "reduce_max_ties_2d_axis0": (
        "y = tf.reduce_max(x, axis=0)",
        {"x": [[1.0, 3.0, 3.0], [5.0, 5.0, 5.0], [2.0, 0.0, 1.0]]},
    ),
    "reduce_max_ties_2d_all": ("y = tf.reduce_max(x)", {"x": [[1.0, 5.0, 3.0], [5.0, 5.0, 2.0]]}),
    "reduce_min_ties": ("y = tf.reduce_min(x)", {"x": [1.0, 1.0, 3.0]}),
    "clip_by_value_edges": ("y = tf.clip_by_value(x, 0., 1.)", {"x": [-0.5, 0.0, 0.5, 1.0, 1.5]}),
    "clip_by_value_grad_wrt_bounds": (
        "y = tf.clip_by_value(x, lo, hi)  (lo, hi watched tensors of the same shape)",
        {
            "x": [-0.5, 0.0, 0.5, 1.0, 1.5],
            "lo": [0.0, 0.0, 0.0, 0.0, 0.0],
            "hi": [1.0, 1.0, 1.0, 1.0, 1.0],
        },
    ),
    "sqrt_at_0": ("y = tf.sqrt(x)", {"x": [0.0, 4.0]}),
    "log_at_0": ("y = tf.math.log(x)", {"x": [0.0, -1.0, 2.0]}),
    "pow_half_at_0": ("y = x ** 0.5", {"x": [0.0, 4.0, -1.0]}),
    "where_log_nan_leak": ("y = tf.where(x > 0, tf.math.log(x), 0.)", {"x": [0.0, -1.0, 2.0]}),
    "where_log_safe_pattern": (
        "safe = tf.where(x > 0, x, 1.); y = tf.where(x > 0, tf.math.log(safe), 0.)",
        {"x": [0.0, -1.0, 2.0]},
    ),
    "where_sqrt_no_leak": ("y = tf.where(x > 0, tf.sqrt(x), 0.)", {"x": [0.0, -1.0, 4.0]}),
    "sigmoid": (
        "y = tf.sigmoid(x)",
        {"x": [-10.0, -2.0, -0.5, 0.0, 0.5, 2.0, 10.0, 20.0, -20.0, 100.0]},
    ),
    "nn_sigmoid": (
        "y = tf.nn.sigmoid(x)",
        {"x": [-10.0, -2.0, -0.5, 0.0, 0.5, 2.0, 10.0, 20.0, -20.0, 100.0]},
    ),
    "tanh": ("y = tf.tanh(x)", {"x": [-10.0, -2.0, -0.5, 0.0, 0.5, 2.0, 10.0, 20.0, -20.0, 100.0]}),
    "pow2_at_0_and_negative": ("y = tf.pow(x, 2.)", {"x": [0.0, -3.0, 2.5]}),
    "square_at_0_and_negative": ("y = tf.square(x)", {"x": [0.0, -3.0, 2.5]}),
    "x_starstar_3": ("y = x ** 3", {"x": [0.0, -2.0, 1.5]}),
    "pow_xy_grad_both": (
        "z = tf.pow(x, y)",
        {"x": [0.0, 0.0, 0.0, -2.0, -2.0, 2.0, 0.0], "y": [2.0, 0.5, 0.0, 2.0, 3.0, 1.5, -1.0]},
    ),
    "pow_x_int_exponent_python": ("y = x ** 2   (python int exponent)", {"x": [0.0, -3.0]}),
    "divide_by_zero": ("z = x / y", {"x": [1.0, 0.0, -1.0, 2.0], "y": [0.0, 0.0, 0.0, 4.0]}),
    "reciprocal_at_0": ("y = 1. / x", {"x": [0.0, -0.0, 2.0]}),
    "divide_no_nan": (
        "z = tf.math.divide_no_nan(x, y)",
        {"x": [1.0, 0.0, 2.0], "y": [0.0, 0.0, 4.0]},
    ),
    "exp_large": ("y = tf.exp(x)", {"x": [0.0, 88.0, 89.0, -104.0]}),
    "softplus_large": ("y = tf.nn.softplus(x)", {"x": [0.0, 20.0, -20.0, 100.0]}),
    "norm_at_0": ("y = tf.norm(x)", {"x": [0.0, 0.0]}),
    "sign_grad": ("y = tf.sign(x)", {"x": [0.0, -2.0, 3.0]}),
    "round_grad": ("y = tf.round(x)", {"x": [0.5, 1.2]}),
    "cast_to_int_grad": ("y = tf.cast(x, tf.int32)", {"x": [0.5, 1.2]}),
    "stop_gradient": ("y = tf.stop_gradient(x) * x", {"x": [3.0]}),
}
OPS: dict[str, str] = {
    "matmul": "out = tf.matmul(a, b)",
    "matmul_transpose_a": "out = tf.matmul(a, b, transpose_a=True)",
    "matmul_transpose_b": "out = tf.matmul(a, b, transpose_b=True)",
    "matmul_transpose_both": "out = tf.matmul(a, b, transpose_a=True, transpose_b=True)",
    "matmul_at_operator": "out = a @ b",
    "matmul_larger": "out = tf.matmul(a, b)  (8x16 @ 16x4)",
    "softmax": "out = tf.nn.softmax(x)  (axis=-1)",
    "log_softmax": "out = tf.nn.log_softmax(x)  (axis=-1)",
    "softmax_cross_entropy_with_logits": (
        "out = tf.nn.softmax_cross_entropy_with_logits"
        "(labels=labels, logits=logits)  (grads wrt both)"
    ),
    "sparse_softmax_cross_entropy_with_logits": (
        "out = tf.nn.sparse_softmax_cross_entropy_with_logits"
        "(labels=labels, logits=logits)  (labels int32)"
    ),
    "reduce_mean_all": "out = tf.reduce_mean(x)",
    "reduce_mean_axis0": "out = tf.reduce_mean(x, axis=0)",
    "reduce_sum_axis1_keepdims": "out = tf.reduce_sum(x, axis=1, keepdims=True)",
    "reduce_sum_all_long": "out = tf.reduce_sum(x)  (256 elements)",
    "reduce_mean_all_long": "out = tf.reduce_mean(x)  (256 elements)",
    "sigmoid": "out = tf.sigmoid(x)",
    "tanh": "out = tf.tanh(x)",
    "exp": "out = tf.exp(x)",
    "log": "out = tf.math.log(x)",
    "sqrt": "out = tf.sqrt(x)",
    "sin_cos": "out = tf.sin(x) * tf.cos(x)",
    "square": "out = tf.square(x)",
    "pow_float": "out = tf.pow(x, y)  (x > 0)",
    "relu": "out = tf.nn.relu(x)",
    "broadcast_add_2x3_3": "out = a + b  ((2,3) + (3,))",
    "broadcast_mul_2x1_1x3": "out = a * b  ((2,1) * (1,3))",
    "broadcast_sub_div": "out = (a - b) / c  ((4,1), (3,), ())",
    "strided_slice": "out = x[1:, ::2]",
    "slice_index_negative_step": "out = x[::-1, 2]",
    "gather_index": "out = x[1]",
    "concat_axis0": "out = tf.concat([a, b], axis=0)",
    "concat_axis1": "out = tf.concat([a, b], axis=1)",
    "stack_axis0": "out = tf.stack([a, b])",
    "stack_axis1": "out = tf.stack([a, b], axis=1)",
    "squeeze": "out = tf.squeeze(x)",
    "squeeze_axis": "out = tf.squeeze(x, axis=2)",
    "expand_dims": "out = tf.expand_dims(x, axis=1)",
    "reshape": "out = tf.reshape(x, (3, -1))",
    "transpose_default": "out = tf.transpose(x)",
    "transpose_perm": "out = tf.transpose(x, perm=[1, 2, 0])",
    "dense_layer_like": "out = tf.nn.relu(x @ w + b)",
    "mse_like": "out = tf.reduce_mean(tf.square(p - t))",
    "where_select": "out = tf.where(c > 0, a, b)",
    "maximum_minimum": "out = tf.maximum(a, b) - tf.minimum(a, b)",
    "reduce_max_axis1": "out = tf.reduce_max(x, axis=1)",
    "clip_by_value": "out = tf.clip_by_value(x, -0.5, 0.5)",
    "keras_mse_loss": "out = tf_keras.losses.MeanSquaredError()(y_true, y_pred)",
    "keras_sparse_cce_from_logits": (
        "out = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y_true, logits)"
    ),
    "keras_sparse_cce_probs": (
        "out = tf_keras.losses.SparseCategoricalCrossentropy()(y_true, tf.nn.softmax(logits))"
    ),
}
OPS_WRT = {
    "matmul": ("a", "b"),
    "matmul_transpose_a": ("a", "b"),
    "matmul_transpose_b": ("a", "b"),
    "matmul_transpose_both": ("a", "b"),
    "matmul_at_operator": ("a", "b"),
    "matmul_larger": ("a", "b"),
    "softmax": ("x",),
    "log_softmax": ("x",),
    "softmax_cross_entropy_with_logits": ("labels", "logits"),
    "sparse_softmax_cross_entropy_with_logits": ("logits",),
    "reduce_mean_all": ("x",),
    "reduce_mean_axis0": ("x",),
    "reduce_sum_axis1_keepdims": ("x",),
    "reduce_sum_all_long": ("x",),
    "reduce_mean_all_long": ("x",),
    "sigmoid": ("x",),
    "tanh": ("x",),
    "exp": ("x",),
    "log": ("x",),
    "sqrt": ("x",),
    "sin_cos": ("x",),
    "square": ("x",),
    "pow_float": ("x", "y"),
    "relu": ("x",),
    "broadcast_add_2x3_3": ("a", "b"),
    "broadcast_mul_2x1_1x3": ("a", "b"),
    "broadcast_sub_div": ("a", "b", "c"),
    "strided_slice": ("x",),
    "slice_index_negative_step": ("x",),
    "gather_index": ("x",),
    "concat_axis0": ("a", "b"),
    "concat_axis1": ("a", "b"),
    "stack_axis0": ("a", "b"),
    "stack_axis1": ("a", "b"),
    "squeeze": ("x",),
    "squeeze_axis": ("x",),
    "expand_dims": ("x",),
    "reshape": ("x",),
    "transpose_default": ("x",),
    "transpose_perm": ("x",),
    "dense_layer_like": ("x", "w", "b"),
    "mse_like": ("p", "t"),
    "where_select": ("a", "b"),
    "maximum_minimum": ("a", "b"),
    "reduce_max_axis1": ("x",),
    "clip_by_value": ("x",),
    "keras_mse_loss": ("y_pred",),
    "keras_sparse_cce_from_logits": ("logits",),
    "keras_sparse_cce_probs": ("logits",),
}
KINK_ORDER = (
    "abs_at_0",
    "relu_at_0",
    "maximum_tie",
    "minimum_tie",
    "maximum_tie_scalar",
    "reduce_max_ties_1d",
    "reduce_max_ties_2d_axis1",
    "reduce_max_ties_2d_axis1_keepdims",
    "reduce_max_ties_2d_axis0",
    "reduce_max_ties_2d_all",
    "reduce_min_ties",
    "clip_by_value_edges",
    "clip_by_value_grad_wrt_bounds",
    "sqrt_at_0",
    "log_at_0",
    "pow_half_at_0",
    "where_log_nan_leak",
    "where_log_safe_pattern",
    "where_sqrt_no_leak",
    "sigmoid",
    "nn_sigmoid",
    "tanh",
    "pow2_at_0_and_negative",
    "square_at_0_and_negative",
    "x_starstar_3",
    "pow_xy_grad_both",
    "pow_x_int_exponent_python",
    "divide_by_zero",
    "reciprocal_at_0",
    "divide_no_nan",
    "exp_large",
    "softplus_large",
    "reduce_mean_int_note",
    "norm_at_0",
    "sign_grad",
    "round_grad",
    "cast_to_int_grad",
    "stop_gradient",
)

OPS_NOTE = (
    "Inputs drawn with np.random.default_rng(20240601).standard_normal(...).astype(float32), in "
    "the order of the entries; stored exactly (hex). Each entry: out = op(inputs); grads = "
    "tape.gradient(out, inputs, output_gradients=upstream) (upstream is also random float32, "
    "stored). TF uses Eigen / oneDNN kernels (matmul via oneDNN or Eigen contraction, softmax "
    "via Eigen with its own reduction order, exp/log/tanh/sigmoid via Eigen's vectorized "
    "polynomial approximations) so a numpy reimplementation may differ by a few ulps; "
    "elementwise add/mul/slicing/concat/reshape/transpose should be bit-exact."
)

# input shapes of entries drawn at random (only new entries need one)
SHAPES: dict[str, dict[str, tuple[int, ...]]] = {}


def _runnable(code: str) -> str:
    """The code of a recipe without its note (``"y = f(x)  (a note)"``)."""
    return code.split("  (", 1)[0].replace("; ", "\n")


def _result_name(code: str) -> str:
    return re.findall(r"(?m)^(\w+) = ", _runnable(code))[-1]


def _run(tf: Any, code: str, inputs: dict[str, Any], wrt: tuple[str, ...], upstream: Any) -> Any:
    """Run ``code`` on constants made from ``inputs`` under a tape; the result and gradients."""
    tf_keras = keras()

    scope: dict[str, Any] = {"tf": tf, "tf_keras": tf_keras}
    tensors = {name: tf.constant(value) for name, value in inputs.items()}
    with tf.GradientTape() as tape:
        for name in wrt:
            tape.watch(tensors[name])
        scope.update(tensors)
        exec(_runnable(code), scope)
        out = scope[_result_name(code)]
    grads = tape.gradient(out, [tensors[n] for n in wrt], output_gradients=upstream)
    return out, dict(zip(wrt, grads, strict=True))


def kinks(tf: Any) -> dict[str, Any]:
    """The ``kinks`` section: each recipe's inputs, output and gradients."""
    section: dict[str, Any] = {}
    for name, (code, values) in KINKS.items():
        inputs = {k: np.asarray(v, np.float32) for k, v in values.items()}
        out, grads = _run(tf, code, inputs, tuple(inputs), None)
        section[name] = {
            "code": code,
            "inputs": {k: encode(v) for k, v in inputs.items()},
            "output": encode(out),
            "grads": {k: encode(g) for k, g in grads.items()},
        }
    mean = tf.reduce_mean(tf.constant([1, 2]))
    section["reduce_mean_int_note"] = {
        "code": "tf.reduce_mean(tf.constant([1, 2])) -> integer mean",
        "value": encode(mean),
    }
    return {k: section[k] for k in KINK_ORDER}


def ops_bitexact(tf: Any, stored: dict[str, Any]) -> dict[str, Any]:
    """The ``ops_bitexact`` entries: stored inputs kept, new ones drawn; results recomputed."""
    rng = np.random.default_rng(SEED)
    entries: dict[str, Any] = {}
    for name, code in OPS.items():
        old = stored.get(name)
        if old is not None:
            inputs = {k: decode(v) for k, v in old["inputs"].items()}
            upstream = decode(old["upstream"])
        else:
            names = re.findall(r"\b([a-z_]\w*)\b", _runnable(code).split("=", 1)[1])
            inputs = {
                k: rng.standard_normal(SHAPES[name][k]).astype(np.float32)
                for k in dict.fromkeys(names)
                if k in SHAPES[name]
            }
            out, _ = _run(tf, code, inputs, (), None)
            upstream = rng.standard_normal(np.shape(out)).astype(np.float32)
        out, grads = _run(tf, code, inputs, OPS_WRT[name], tf.constant(upstream))
        entries[name] = {
            "code": code,
            "inputs": {k: encode(v) for k, v in inputs.items()},
            "output": encode(out),
            "upstream": encode(upstream),
            "grads": {k: encode(g) for k, g in grads.items()},
        }
    return entries


def _differences(new: Any, old: Any, path: str = "") -> list[str]:
    if isinstance(new, dict) and isinstance(old, dict):
        out = [f"{path}/{k}: only in the committed file" for k in old if k not in new]
        out += [f"{path}/{k}: new" for k in new if k not in old]
        if not out and list(new) != list(old):
            out.append(f"{path}: keys in another order")
        for k in new:
            if k in old:
                out += _differences(new[k], old[k], f"{path}/{k}")
        return out
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        pairs = enumerate(zip(new, old, strict=True))
        return [d for i, (n, o) in pairs for d in _differences(n, o, f"{path}[{i}]")]
    if type(new) is not type(old) or new != old:
        return [f"{path}: now {new!r:.300}, committed {old!r:.300}"]
    return []


# parts of TensorFlow's messages that change from run to run: memory addresses, glog's time
# stamp and thread id, the recorder's file and line, the order of a printed Python set
VOLATILE = (
    (re.compile(r"0x[0-9a-f]{6,}"), "0x..."),
    (re.compile(r"[WEIF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ "), "<glog> "),
    (re.compile(r'File "[^"]*", line \d+'), 'File "...", line ...'),
)
SET_TEXT = re.compile(r"\{('[^{}']*'(?:, '[^{}']*')*)\}")


def masked(text: str) -> str:
    """``text`` with its run-to-run parts replaced (see ``VOLATILE``)."""
    for pattern, stand_in in VOLATILE:
        text = pattern.sub(stand_in, text)
    return SET_TEXT.sub(lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", text)


def keep_volatile(new: Any, old: Any) -> Any:
    """``new`` with the committed text kept wherever the two differ only in volatile parts."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: keep_volatile(v, old[k]) if k in old else v for k, v in new.items()}
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return [keep_volatile(n, o) for n, o in zip(new, old, strict=True)]
    if isinstance(new, str) and isinstance(old, str) and masked(new) == masked(old):
        return old
    return new


def dumps(node: Any, indent: str = "") -> str:
    """JSON as the file is written: one key a line (indented by one space a level), every
    list of numbers on one line without spaces, so that a diff shows which numbers changed."""
    if isinstance(node, dict) and node:
        inner = indent + " "
        items = [f"{inner}{json.dumps(k)}: {dumps(v, inner)}" for k, v in node.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(node, list) and "{" in json.dumps(node):
        inner = indent + " "
        return "[\n" + ",\n".join(inner + dumps(v, inner) for v in node) + "\n" + indent + "]"
    return json.dumps(node, separators=(",", ":"))


def recorders() -> dict[str, Recorder]:
    """The recorder of every top-level section, in the file's order (``meta`` included)."""
    return {
        "meta": meta,
        "seed_examples": seed_examples,
        "optimizers": optimizers,
        "kinks": lambda tf, committed: kinks(tf),
        "ops_bitexact": ops_bitexact_section,
        "errors_warnings": errors_warnings,
        "structure": structure,
        "pow_behaviour": pow_behaviour,
        "numpy_crosscheck_of_legacy_updates": numpy_crosscheck_of_legacy_updates,
    }


def meta(tf: Any, committed: dict[str, Any]) -> dict[str, Any]:
    """Versions and settings of the recording (the environment, not numbers)."""
    tf_keras = keras()

    return dict(
        committed,
        generated_by="tools/record_tf_reference.py",
        tensorflow_version=tf.__version__,
        tf_keras_version=tf_keras.__version__,
        numpy_version=np.__version__,
        python_version=platform.python_version(),
        platform=platform.platform(),
    )


def ops_bitexact_section(tf: Any, committed: dict[str, Any]) -> dict[str, Any]:
    """``ops_bitexact``: its entries recomputed, then once more with oneDNN off (TensorFlow's
    Eigen kernels, in a second process: the switch is read when TensorFlow loads); the entries
    whose bits that changes are stored again.  The numpy ulp table is computed here too."""
    entries = ops_bitexact(tf, committed["entries"])
    eigen = _onednn_off_entries()
    differs = [name for name in entries if eigen[name] != entries[name]]
    return {
        "note": OPS_NOTE,
        "entries": entries,
        "numpy_float32_forward_max_ulps": numpy_float32_forward_max_ulps(entries),
        "onednn_off_differs_in": differs,
        "onednn_off_values_for_differing_entries": {name: eigen[name] for name in differs},
    }


def _onednn_off_entries() -> dict[str, Any]:
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "eigen.json"
        subprocess.run(
            [sys.executable, __file__, "--onednn-off-entries", str(path)], env=env, check=True
        )
        return dict(json.loads(path.read_text(encoding="utf-8")))


def main() -> int:
    """Recompute every section, then compare with the file (``--check``) or write it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="compare with the file (default)")
    mode.add_argument("--write", action="store_true", help="write the file")
    parser.add_argument("--section", action="append", help="only these sections (repeatable)")
    parser.add_argument("--onednn-off-entries", help=argparse.SUPPRESS)  # (the second process)
    args = parser.parse_args()
    if args.onednn_off_entries:
        tf = tensorflow(legacy_keras=True, onednn=False)
        committed = json.loads(REFERENCE.read_text(encoding="utf-8"))
        entries = ops_bitexact(tf, committed["ops_bitexact"]["entries"])
        Path(args.onednn_off_entries).write_text(json.dumps(entries), "utf-8")
        return 0
    tf = tensorflow(legacy_keras=True)
    # TensorFlow's one-time start-up messages (the CUDA probe...) come with the first op: run
    # one here, so that they are not captured as a recipe's stderr
    (tf.constant(1.0) + 1.0).numpy()
    committed = json.loads(REFERENCE.read_text(encoding="utf-8"))
    table = recorders()
    missing = [k for k in committed if k not in table]
    if missing:
        sys.exit(f"no recorder for the sections {missing}: add one to recorders()")
    names = args.section or list(table)
    data = dict(committed)
    for name in names:
        data[name] = keep_volatile(table[name](tf, committed.get(name, {})), committed.get(name))
    data = {k: data[k] for k in table if k in data}
    text = dumps(data) + "\n"
    if args.write:
        REFERENCE.write_text(text, "utf-8")
        print(f"wrote {REFERENCE}")
        return 0
    total = 0
    for name in names:
        diffs = _differences(data[name], committed.get(name), name)
        total += len(diffs)
        for d in diffs:
            print(d)
        print(f"{name}: {len(diffs)} differences")
    if not args.section and text != REFERENCE.read_text(encoding="utf-8"):
        print("the file's text differs (formatting or order)")
        total += 1
    print(f"TensorFlow {tf.__version__}: {total} differences")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
