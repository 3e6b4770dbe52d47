"""Record TensorFlow's float32 ``pow`` as test data (run with TensorFlow installed).

    python tools/record_pow_tf.py tests/data/tf_pow.npz [FULL.npz]

TensorFlow 2.21's CPU ``tf.pow`` of float32 tensors runs Eigen's ``generic_pow`` on packets
of 8 numbers and the C library's ``powf`` on a tensor's last ``n % 8`` numbers (and so on a
0-d tensor).  Written here, as arrays of a multiple of 8 numbers (so the packet path only):

* ``x``, ``y``, ``tf``: 4096 (base, exponent) pairs: the special cases of C's ``pow``
  (zeros, infinities, NaN, negative bases with integer and non-integer exponents, huge and
  tiny numbers, subnormals), exponents 1/2, 2, 3, -1 and large ones, then random pairs;
* ``scalar_y``/``scalar_tf``: the first 512 bases to the power 2.5 given as a 0-d tensor
  (TensorFlow binds a scalar exponent to the packet code, same bits);
* ``tail_x``/``tail_y``/``tail_tf``: 13 pairs as one tensor (8 by the packet code, the last 5
  by ``powf``) and ``single_tf`` each pair as 0-d tensors (``powf``);
* ``grid_tf``: ``tf.pow`` of a (64, 1) base column and a (1, 8) exponent row (broadcast).

``FULL.npz``, if named, receives 1e6 random pairs (:func:`full_pairs`) and TensorFlow's
results (not committed; ``tools/pow_ulps.py`` reads it to print the README's row).
"""

from __future__ import annotations

import sys

import numpy as np
import tensorflow as tf

KEEP, N = 4096, 1_000_000
_SUB = 1e-40  # a subnormal: TensorFlow reads it as zero
BASES = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, 0.9, 10.0, 3.4e38, 1e-38, 1e-30, _SUB, -_SUB,
         np.inf, -np.inf, np.nan, 7.0, -7.0, 123.4, 1.0000001, 0.9999999]  # fmt: skip
EXPONENTS = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, 3.0, -2.0, -3.0, 2.5, 1e-6, 38.0, 39.0,
             -45.0, 200.0, 1e7, -1e7, 7.5e8, 1e9, np.inf, -np.inf, np.nan, _SUB]  # fmt: skip


def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random pairs: bases over float32's range (a quarter negative), exponents mostly
    moderate, some integers, some large."""
    x = np.exp(rng.uniform(-87, 88, n)) * np.where(rng.random(n) < 0.25, -1, 1)
    y = rng.uniform(-10, 10, n)
    pick = rng.random(n)
    y = np.where(pick < 0.3, np.round(y), y)  # integers (negative bases: finite results)
    y = np.where(pick > 0.9, np.exp(rng.uniform(-20, 20, n)) * rng.choice([-1, 1], n), y)
    return x.astype(np.float32), y.astype(np.float32)


def full_pairs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """1e6 pairs for the ulp table: half with bases over float32's whole range and
    exponents that keep ``x**y`` in it (``y = log(target)/log(x)``, the target spread over
    e**-87 to e**88), half with bases in (0, 10) and exponents in (-10, 10); a tenth of each
    with negative bases and integer exponents."""
    h = N // 2
    x1 = np.exp(rng.uniform(-87, 88, h))
    y1 = rng.uniform(-87, 88, h) / np.log(x1)
    x2, y2 = rng.uniform(0, 10, N - h), rng.uniform(-10, 10, N - h)
    x, y = np.concatenate([x1, x2]), np.concatenate([y1, y2])
    neg = rng.random(N) < 0.1
    x, y = np.where(neg, -x, x), np.where(neg, np.round(y), y)
    return x.astype(np.float32), y.astype(np.float32)


def main() -> None:
    rng = np.random.default_rng(19)
    sx, sy = np.meshgrid(np.array(BASES, np.float32), np.array(EXPONENTS, np.float32))
    x, y = draw(rng, KEEP - sx.size)
    x, y = np.concatenate([sx.ravel(), x]), np.concatenate([sy.ravel(), y])
    out = tf.pow(x, y).numpy()
    graph = tf.function(tf.pow)(tf.constant(x), tf.constant(y)).numpy()
    assert np.array_equal(out.view(np.int32), graph.view(np.int32)), "eager and graph differ"
    data = {"x": x, "y": y, "tf": out}
    data["scalar_tf"] = tf.pow(np.abs(x[:512]), tf.constant(np.float32(2.5))).numpy()
    tx, ty = x[sx.size : sx.size + 13], y[sx.size : sx.size + 13]
    data["tail_x"], data["tail_y"], data["tail_tf"] = tx, ty, tf.pow(tx, ty).numpy()
    single = [tf.pow(a, b).numpy() for a, b in zip(tx, ty, strict=True)]
    data["single_tf"] = np.array(single, np.float32)
    col = np.abs(x[sx.size : sx.size + 64]).reshape(64, 1)
    row = y[sx.size + 64 : sx.size + 72].reshape(1, 8)
    data["grid_x"], data["grid_y"], data["grid_tf"] = col, row, tf.pow(col, row).numpy()
    np.savez_compressed(sys.argv[1], tensorflow=np.array(tf.__version__), **data)
    if len(sys.argv) > 2:
        fx, fy = full_pairs(rng)
        np.savez_compressed(sys.argv[2], x=fx, y=fy, tf=tf.pow(fx, fy).numpy())
    print(f"TensorFlow {tf.__version__}: pow -> {sys.argv[1]}")


if __name__ == "__main__":
    main()
