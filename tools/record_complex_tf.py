"""Record TensorFlow's results for complex tensors (run once, with TF; issue 16).

    TF_USE_LEGACY_KERAS=1 TF_ENABLE_ONEDNN_OPTS=0 python tools/record_complex_tf.py \
        > tests/data/tf_complex.json

A complex number is stored as a pair ``[re, im]`` of floats (JSON has no complex type); a
complex array as nested lists ending in such pairs.  Each entry holds the inputs, TF's
forward values and ``tape.gradient`` of the named target with respect to every input.
"""

import json
import warnings

import numpy as np
import tensorflow as tf

out = {"tensorflow": tf.__version__}


def enc(v):
    a = np.asarray(v)
    if np.iscomplexobj(a):
        return np.stack([a.real, a.imag], axis=-1).astype(np.float64).tolist()
    return a.astype(np.float64).tolist()


Z = np.array([1 + 2j, -3 + 0.5j, 0.25 - 1.5j], np.complex64)
W = np.array([0.5 - 1j, 2 + 0.25j, -1 + 1j], np.complex64)


def grad(name, fn, *xs):
    vs = [tf.Variable(x) for x in xs]
    with tf.GradientTape() as tape:
        y = fn(*vs)
    gs = tape.gradient(y, vs)
    out[name] = {
        "inputs": [enc(x) for x in xs],
        "dtypes": [np.asarray(x).dtype.name for x in xs],
        "value": enc(y),
        "grads": [None if g is None else enc(g) for g in gs],
    }


real, imag, conj = tf.math.real, tf.math.imag, tf.math.conj
grad("abs", lambda z: tf.abs(z), Z)
grad("real_z_conj_z", lambda z: real(z * conj(z)), Z)
grad("real", lambda z: real(z), Z)
grad("imag", lambda z: imag(z), Z)
grad("square_complex_target", lambda z: z * z, Z)
grad("exp_complex_target", lambda z: tf.exp(z), Z)
grad("real_exp", lambda z: real(tf.exp(z)), Z)
grad("angle", lambda z: tf.math.angle(z), Z)
grad("div_complex_target", lambda z, w: z / (w + 1), Z, W)
grad("sum_abs2_sqrt_log", lambda z: tf.reduce_sum(tf.abs(tf.sqrt(z) * tf.math.log(z)) ** 2), Z)
grad("pow", lambda z, w: real(tf.reduce_sum(z**w)), Z, W)
A = (np.arange(6).reshape(2, 3) / 3 - 0.5 + 1j * (np.arange(6).reshape(2, 3) % 4 - 1.5) / 2).astype(
    np.complex64
)
B = (np.arange(12).reshape(3, 4) / 5 - 1 - 1j * (np.arange(12).reshape(3, 4) % 3) / 4).astype(
    np.complex64
)
grad("matmul_abs", lambda a, b: tf.reduce_sum(tf.abs(tf.matmul(a, b))), A, B)
grad("matmul_complex_target", lambda a, b: tf.matmul(a, b), A, B)
X = np.array([1.0, -2.0, 0.5], np.float32)
Y = np.array([0.25, 1.5, -1.0], np.float32)
grad("complex_parts", lambda x, y: tf.abs(tf.complex(x, y) ** 2 + 1), X, Y)
grad("cast_real_to_complex", lambda x: real(tf.cast(x, tf.complex64) * (1 + 1j)) * 2, X)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    grad("cast_complex_to_real", lambda z: tf.cast(z, tf.float32) * 3.0, Z)
Z128 = Z.astype(np.complex128)
grad("complex128_tanh_sin", lambda z: real(tf.reduce_sum(tf.tanh(z) * tf.sin(z))), Z128)

# second order: g = ∂|z|³ (a complex tensor), then ∂ Σ|g|² / ∂z
vz = tf.Variable(Z)
with tf.GradientTape() as t2:
    with tf.GradientTape() as t1:
        y = tf.abs(vz) ** 3
    g1 = t1.gradient(y, vz)
    s = real(tf.reduce_sum(g1 * conj(g1)))
out["second_order_abs3"] = {"inputs": [enc(Z)], "grad1": enc(g1), "grad2": enc(t2.gradient(s, vz))}
vz = tf.Variable(Z)
with tf.GradientTape() as t2:
    with tf.GradientTape() as t1:
        y = real(tf.reduce_sum(tf.exp(vz) * vz))
    g1 = t1.gradient(y, vz)
    s = tf.reduce_sum(imag(g1) * real(g1))
out["second_order_exp"] = {"inputs": [enc(Z)], "grad1": enc(g1), "grad2": enc(t2.gradient(s, vz))}

# printing
out["print"] = {
    "str_scalar": str(tf.constant(1 + 2j)),
    "repr_scalar": repr(tf.constant(1 + 2j)),
    "str_vector64": str(tf.constant([1 + 2j, 3 - 4j], tf.complex64)),
    "repr_matrix": repr(tf.constant([[1 + 2j, 3 - 4j]])),
    "format_2f": f"{tf.constant(1 + 2j):.2f}",
    "format_plain": f"{tf.constant(1 + 2j)}",
    "abs_dtype": tf.abs(tf.constant(3 + 4j)).dtype.name,
    "complex_of_floats": tf.complex(1.0, 2.0).dtype.name,
    "norm": enc(tf.norm(tf.constant(Z))),
}
json.dump(out, __import__("sys").stdout, indent=1)
