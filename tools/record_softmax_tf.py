"""Record TensorFlow's float32 softmax digits as test data (run once, with TensorFlow).

    TF_ENABLE_ONEDNN_OPTS=0 python tools/record_softmax_tf.py > tests/data/softmax_tf.json

oneDNN is switched off: its kernel's digits depend on the processor; the Eigen kernel's do
not (tapeviz reproduces it, see tapeviz/ops/_tf_cpu.py).  Values are stored as the int32
bit patterns of the float32 numbers, so that the comparison is exact.
"""

import numpy as np
from _tfrecord import emit, tensorflow

tf = tensorflow(onednn=False)
rng = np.random.default_rng(16)
cases = []
for shape, scale in [
    ((3,), 1.0),
    ((4,), 3.0),
    ((9,), 3.0),
    ((5, 7), 3.0),
    ((2, 33), 1.0),
    ((7, 40), 30.0),
    ((2, 3, 17), 3.0),
    ((1, 100), 3.0),
    ((3, 64), 100.0),
]:
    x = (rng.standard_normal(shape) * scale).astype(np.float32)
    out = tf.nn.softmax(x).numpy()
    cases.append(
        {
            "shape": list(shape),
            "x": x.view(np.int32).ravel().tolist(),
            "softmax": out.view(np.int32).ravel().tolist(),
        }
    )
x = np.array([1.0, 2.0, 3.0], np.float32)
cases.append(
    {
        "shape": [3],
        "x": x.view(np.int32).tolist(),
        "softmax": tf.nn.softmax(x).numpy().view(np.int32).tolist(),
    }
)
emit({"tensorflow": tf.__version__, "cases": cases})
