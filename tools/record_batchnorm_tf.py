"""Record Keras 2 BatchNormalization numbers (run once with TF).

TF_USE_LEGACY_KERAS=1 TF_ENABLE_ONEDNN_OPTS=0 python tools/record_batchnorm_tf.py \
        > tests/data/tf_batchnorm.json
"""

import numpy as np
from _tfrecord import emit, tensorflow

tf = tensorflow(legacy_keras=True, onednn=False)

x = np.array([[1.0, 2.0, -1.0], [3.0, 6.0, 0.5], [-2.0, 0.5, 4.0], [0.25, -1.5, 2.0]], np.float32)
bn = tf.keras.layers.BatchNormalization()
xv = tf.Variable(x)
with tf.GradientTape() as tape:
    y = bn(xv, training=True)
    s = tf.reduce_sum(y * tf.reshape(tf.range(1.0, 13.0), (4, 3)))
g = tape.gradient(s, [xv, *bn.trainable_weights])
y2 = bn(x, training=False)
emit(
    {
        "names": [w.name for w in bn.weights],
        "train": y.numpy().tolist(),
        "grads": [t.numpy().tolist() for t in g],
        "moving": [w.numpy().tolist() for w in bn.non_trainable_weights],
        "infer": y2.numpy().tolist(),
    }
)
