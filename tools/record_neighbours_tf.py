"""Record TensorFlow's results for tf.math/tf.nn neighbours of issue 16's names (run once, with TF).

    TF_USE_LEGACY_KERAS=1 TF_ENABLE_ONEDNN_OPTS=0 python tools/record_neighbours_tf.py \
        > tests/data/tf_neighbours.json

Each entry: the float32 input, TF's value and the gradient of ``Σ value · (1, 2, 3, ...)``.
"""

import json
import sys

import numpy as np
import tensorflow as tf

out = {"tensorflow": tf.__version__}
X = np.array([[1.0, 2.0, 4.0], [-1.0, 0.5, 3.0]], np.float32)
Z = np.array([[-30.0, -2.5, 0.0], [0.0, 1.5, 40.0]], np.float32)  # kinks and extremes


def record(name, fn, x):
    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = fn(v)
        w = tf.cast(tf.reshape(tf.range(1, tf.size(y) + 1), tf.shape(y)), y.dtype)
        s = tf.reduce_sum(y * w)
    out[name] = {
        "input": x.tolist(),
        "value": np.asarray(y, np.float64).tolist(),
        "grad": np.asarray(tape.gradient(s, v), np.float64).tolist(),
    }


record("reduce_variance", lambda v: tf.math.reduce_variance(v), X)
record("reduce_variance_axis1", lambda v: tf.math.reduce_variance(v, axis=1), X)
record("reduce_std_axis0_keepdims", lambda v: tf.math.reduce_std(v, axis=0, keepdims=True), X)
record("reduce_logsumexp", lambda v: tf.reduce_logsumexp(v), X)
record("reduce_logsumexp_axis1", lambda v: tf.reduce_logsumexp(v, axis=1), Z)
record("reduce_logsumexp_keepdims", lambda v: tf.math.reduce_logsumexp(v, 0, keepdims=True), X)
record("log_sigmoid", lambda v: tf.math.log_sigmoid(v), Z)
record("leaky_relu", lambda v: tf.nn.leaky_relu(v), Z)
record("leaky_relu_alpha", lambda v: tf.nn.leaky_relu(v, alpha=0.01), Z)
record("l2_loss", lambda v: tf.nn.l2_loss(v), X)
json.dump(out, sys.stdout, indent=1)
