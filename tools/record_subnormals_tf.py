"""Record how TensorFlow treats float32 subnormals, as test data (run once, with TensorFlow).

    TF_ENABLE_ONEDNN_OPTS=0 python tools/record_subnormals_tf.py > tests/data/tf_subnormals.json

Every case runs eagerly and inside ``tf.function``; results are stored as the int32 bit
patterns of the float32 numbers, so that a test can compare them exactly.  TensorFlow's
CPU kernels run with the processor's flush-to-zero (subnormal results become 0) and
denormals-are-zero (subnormal inputs read as 0) bits set; the cases show where that shows.
"""

import json
import os

import numpy as np
import tensorflow as tf

assert os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0", "run with TF_ENABLE_ONEDNN_OPTS=0"
f32 = np.float32


def bits(a: np.ndarray) -> list[int]:
    return np.asarray(a, np.float32).view(np.int32).ravel().tolist()


def grad_exp(x: tf.Tensor) -> tf.Tensor:
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.exp(x)
    return tape.gradient(y, x)


def grad_mul(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    with tf.GradientTape() as tape:
        tape.watch(x)
        z = x * y
    return tape.gradient(z, x)


ramp = (np.arange(1, 1001, dtype=np.float32) * f32(2e-41)).astype(np.float32)  # 1000 values
mixed = np.array([1e-38, 1.5e-38, 3e-38, 2.3e-38, 1.0, -1.2e-38, 0.0, 5e-39], np.float32)
# name: (function, float32 inputs)
CASES = {
    "half_of_min_normal": (lambda x: x * 0.5, [f32(1.5e-38)]),
    "tiny_times_tiny": (lambda x: x * x, [f32(1e-20)]),
    "subnormal_times_1e10": (lambda x: x * 1e10, [f32(1e-40)]),
    "subnormal_times_1": (lambda x: x * 1.0, [f32(1e-40)]),
    "subnormal_plus_normal": (lambda x: x + 1e-38, [f32(1e-40)]),
    "subnormal_plus_subnormal": (lambda x, y: x + y, [f32(1e-40), f32(2e-40)]),
    "difference_subnormal": (lambda x, y: x - y, [f32(1.5e-38), f32(1.4e-38)]),
    "divide": (lambda x, y: x / y, [f32(1e-30), f32(1e10)]),
    "negate_subnormal": (lambda x: -x, [f32(1e-40)]),
    "identity_subnormal": (tf.identity, [f32(1e-40)]),
    "abs_subnormal": (tf.abs, [f32(-1e-40)]),
    "exp_-88": (tf.exp, [f32(-88.0)]),
    "exp_-87.4": (tf.exp, [f32(-87.4)]),
    "exp_-100": (tf.exp, [f32(-100.0)]),
    "sigmoid_-88": (tf.sigmoid, [f32(-88.0)]),
    "sqrt_subnormal": (tf.sqrt, [f32(1e-40)]),
    "square": (tf.square, [f32(1e-20)]),
    "tanh_subnormal": (tf.tanh, [f32(1e-40)]),
    "sin_subnormal": (tf.sin, [f32(1e-40)]),
    "maximum_subnormal_zero": (tf.maximum, [f32(1e-40), f32(0.0)]),
    "relu_subnormal": (tf.nn.relu, [f32(1e-40)]),
    "cast_to_float64": (lambda x: tf.cast(x, tf.float64), [f32(1e-40)]),
    "matmul_result": (tf.matmul, [np.full((1, 2), 1e-20, f32), np.full((2, 1), 1e-20, f32)]),
    "matmul_input": (tf.matmul, [np.full((1, 2), 1e-40, f32), np.full((2, 1), 1e10, f32)]),
    "reduce_sum": (tf.reduce_sum, [np.array([1.0e-38, -0.95e-38], f32)]),
    "reduce_sum_subnormals": (tf.reduce_sum, [np.array([1e-40] * 4, f32)]),
    "reduce_mean": (tf.reduce_mean, [np.array([1e-38, 1e-39], f32)]),
    "reduce_max_subnormal": (tf.reduce_max, [np.array([1e-40, -1.0], f32)]),
    "vector_times_half": (lambda x: x * 0.5, [mixed]),
    "vector_minus_1e-38": (lambda x: x - 1e-38, [mixed]),
    "ramp_times_1": (lambda x: x * 1.0, [ramp]),
    "ramp_times_1e10": (lambda x: x * 1e10, [ramp]),
    "grad_exp_-88": (grad_exp, [f32(-88.0)]),
    "grad_mul": (grad_mul, [f32(1.0), f32(1e-40)]),
}


def run(fn, inputs, compiled: bool) -> list[int]:
    args = [tf.constant(a) for a in inputs]
    return bits((tf.function(fn) if compiled else fn)(*args).numpy())


def adam(compiled: bool) -> list[list[int]]:
    """The converged Adam of tests/function/test_subnormals.py: (x, m, v) bits after 100,
    200 and 3000 steps with a zero gradient and tiny slots."""
    x = tf.Variable(1.0)
    opt = tf.keras.optimizers.legacy.Adam(learning_rate=0.01)
    opt.apply_gradients([(tf.constant(0.0), x)])
    m, v = opt.get_slot(x, "m"), opt.get_slot(x, "v")
    m.assign(-1e-30)
    v.assign(1e-33)

    def step() -> None:
        with tf.GradientTape() as tape:
            y = x**2 - 2.0 * x + 1.0
        opt.apply_gradients([(tape.gradient(y, x), x)])

    step_ = tf.function(step) if compiled else step
    out = []
    done = 0
    for n in (100, 200, 3000):
        for _ in range(n - done):
            step_()
        done = n
        out.append([bits(x.numpy())[0], bits(m.numpy())[0], bits(v.numpy())[0]])
    return out


cases = {}
for name, (fn, inputs) in CASES.items():
    eager, graph = run(fn, inputs, False), run(fn, inputs, True)
    ieee = None
    cases[name] = {
        "inputs": [bits(a) for a in inputs],
        "shapes": [list(np.shape(a)) for a in inputs],
        "eager": eager,
        "tf_function": graph,
    }
    del ieee
adam_eager, adam_graph = adam(False), adam(True)
print(
    json.dumps(
        {
            "tensorflow": tf.__version__,
            "cases": cases,
            "adam": {"eager": adam_eager, "tf_function": adam_graph},
        },
        indent=1,
    )
)
