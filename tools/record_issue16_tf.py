"""Record TensorFlow's results for the functions added in issue 16 (run once, with TF).

TF_USE_LEGACY_KERAS=1 TF_ENABLE_ONEDNN_OPTS=0 python tools/record_issue16_tf.py \
        > tests/data/tf_issue16.json
"""

import numpy as np
from _tfrecord import emit, tensorflow, weighted_sum_gradients
from _tfrecord import float32_list as f32

tf = tensorflow(legacy_keras=True, onednn=False)
out = {"tensorflow": tf.__version__}


def grads(fn, *xs):
    """``fn(*xs)`` and the gradients of its weighted sum (see _tfrecord)."""
    return weighted_sum_gradients(tf, fn, *xs)


x = np.array([-2.5, -1.0, -0.25, 0.5, 1.75, 3.0], np.float32)
out["linspace"] = {
    "values": f32(tf.linspace(0.0, 1.0, 7)),
    "values2": f32(tf.linspace(-3.0, 5.5, 4)),
    "grad": grads(lambda a, b: tf.linspace(a, b, 5), np.float32(-1.0), np.float32(2.0)),
}
out["eye"] = f32(tf.eye(2, 3))
out["norm"] = grads(lambda v: tf.norm(v), x)
out["norm_axis"] = grads(lambda v: tf.norm(v, axis=1), x.reshape(2, 3))
out["clip_by_norm"] = grads(lambda v: tf.clip_by_norm(v, 2.0), x)
out["clip_by_norm_small"] = grads(lambda v: tf.clip_by_norm(v, 100.0), x)
a = np.arange(6, dtype=np.float32).reshape(2, 3) / 4 - 0.5
b = np.arange(12, dtype=np.float32).reshape(3, 4) / 5 - 1.0
out["tensordot1"] = grads(lambda p, q: tf.tensordot(p, q, axes=1), a, b)
c = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7 - 1.5
out["tensordot_pairs"] = grads(lambda p, q: tf.tensordot(p, q, axes=[[1, 2], [0, 1]]), c, b)
out["einsum_matmul"] = grads(lambda p, q: tf.einsum("ij,jk->ik", p, q), a, b)
out["einsum_batch_dot"] = grads(lambda p, q: tf.einsum("bi,bi->b", p, q), a, a[::-1].copy())
out["einsum_outer"] = grads(lambda p, q: tf.einsum("i,j->ij", p, q), x[:3], x[3:])
out["einsum_transpose"] = grads(lambda p: tf.einsum("ij->ji", p), a)
sa = np.array([[3.0, 1.0, -0.5], [0.25, 2.0, 0.75], [-1.0, 0.5, 4.0]], np.float32)
sb = np.array([[1.0, -2.0], [0.5, 3.0], [2.0, 1.0]], np.float32)
out["solve"] = grads(lambda p, q: tf.linalg.solve(p, q), sa, sb)
out["solve_adjoint"] = grads(lambda p, q: tf.linalg.solve(p, q, adjoint=True), sa, sb)
out["elu"] = grads(tf.nn.elu, x)
out["softplus"] = grads(
    tf.nn.softplus, np.array([-30.0, -14.0, -2.0, 0.0, 1.5, 14.0, 30.0], np.float32)
)
out["format"] = {
    "scalar_2f": f"{tf.constant(3.14159):.2f}",
    "vector": f"{tf.constant([1.0, 2.0])}",
    "int_d": f"{tf.constant(3):d}",
    "scalar_empty": format(tf.constant(3.5), ""),
}


class Simple(tf.Module):
    """A module with trainable, non-trainable, nested and scoped Variables."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.a_variable = tf.Variable(5.0, name="train_me")
        self.non_trainable_variable = tf.Variable(5.0, trainable=False, name="do_not_train_me")
        self.inner = [tf.keras.layers.Dense(2)]
        with self.name_scope:
            self.scoped = tf.Variable(1.0, name="scoped")


m = Simple(name="simple")
m.inner[0](tf.ones((1, 3)))
out["module"] = {
    "name": m.name,
    "variables": [v.name for v in m.variables],
    "trainable": [v.name for v in m.trainable_variables],
    "default_name": Simple().name,
}
out["reduction"] = [
    tf.keras.losses.Reduction.AUTO,
    tf.keras.losses.Reduction.NONE,
    tf.keras.losses.Reduction.SUM,
    tf.keras.losses.Reduction.SUM_OVER_BATCH_SIZE,
]


class ActivityReg(tf.keras.layers.Layer):
    """A layer that adds half the sum of its inputs as a loss."""

    def call(self, inputs):
        """The inputs unchanged; their half sum added to the layer's losses."""
        self.add_loss(tf.reduce_sum(inputs) * 0.5)
        return inputs


layer = ActivityReg()
layer(tf.ones((2,)))
layer(tf.ones((3,)))
out["add_loss"] = [float(v) for v in layer.losses]
model = tf.keras.Sequential([tf.keras.layers.Lambda(lambda t: t * 2.0), ActivityReg()])
model(tf.constant([[1.0, 2.0]]))
out["add_loss_model"] = [float(v) for v in model.losses]
out["lambda"] = f32(
    tf.keras.layers.Lambda(lambda t, k: t**k, arguments={"k": 3.0})(tf.constant([1.0, 2.0]))
)
out["zeros_initializer"] = f32(tf.zeros_initializer()(shape=(2, 2)))
out["constant_initializer"] = f32(tf.constant_initializer(0.5)(shape=(3,)))
emit(out)
