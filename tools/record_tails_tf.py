"""Record where TensorFlow leaves Eigen's packet code: a tensor's last ``n % 8`` elements.

    python tools/record_tails_tf.py tests/data/tf_tails.npz

TensorFlow 2.21's CPU kernels evaluate an elementwise op over the flattened output in
packets of 8 float32 numbers and the last ``n % 8`` numbers one at a time with the scalar
form of the functor: the C library's ``expf``, ``logf``, ``sinf``, ``cosf``, ``powf``,
Eigen's own polynomial for ``tanh``, and ``e / (1 + e)`` with ``e = expf(min(x, 16.6355324))``
for ``sigmoid``.  Recorded here, eagerly and in a ``tf.function`` (which must agree), for
tensors of several lengths and ranks whose tails hold special values too:

* ``<name>_<k>_x`` / ``<name>_<k>_tf``: the function of the k-th shape of :data:`SHAPES`;
* ``pow_<k>_x`` / ``pow_<k>_y`` / ``pow_<k>_tf``: ``x ** y`` of the k-th pair of
  :data:`POW_SHAPES` (equal shapes, a scalar exponent or base, and broadcasting).
"""

from __future__ import annotations

import sys

import numpy as np
import tensorflow as tf
from record_transcendentals_tf import FUNCTIONS  # (this folder: the six functions)

SHAPES = [(1,), (2,), (3,), (5,), (7,), (9,), (13,), (20,), (3, 5), (2, 3, 3), (4101,)]
POW_SHAPES = [
    ((3,), (3,)), ((7,), (7,)), ((13,), (13,)), ((3, 5), (3, 5)), ((7,), ()), ((), (7,)),
    ((13,), ()), ((5, 3), (3,)), ((3, 1), (1, 5)), ((4, 3), (4, 1)), ((2, 3, 3), (3,)),
    ((4101,), ()),
]  # fmt: skip
RANGES = {"exp": (-104, 89), "log": (0.0, 50.0), "tanh": (-10, 10), "sigmoid": (-110, 20),
          "sin": (-50, 50), "cos": (-50, 50)}  # fmt: skip
SPECIAL = {  # values placed in some tails
    "exp": [np.nan, np.inf, -np.inf, -0.0, 88.73, -103.99, -87.5],
    "log": [np.nan, np.inf, 0.0, -1.0, 1e-40, 1.0, 3.4e38],
    "tanh": [np.nan, np.inf, -np.inf, -0.0, 1e-30, 9.0, -9.0],
    "sigmoid": [np.nan, np.inf, -np.inf, -0.0, 16.63, 16.64, -100.0],
    "sin": [np.nan, np.inf, -0.0, 1e-40, 3.4e38, 25966.0, np.pi],
    "cos": [np.nan, np.inf, -0.0, 1e-40, 3.4e38, 25966.0, np.pi / 2],
}


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a.view(np.int32), b.view(np.int32)))


def draw(name: str, shape: tuple[int, ...], k: int, rng: np.random.Generator) -> np.ndarray:
    lo, hi = RANGES[name]
    x = rng.uniform(lo, hi, int(np.prod(shape))).astype(np.float32)
    if k % 3 == 2:  # every third tensor ends with special values (in its tail)
        s = np.array(SPECIAL[name], np.float32)[: min(len(x), 7) if len(x) % 8 else 0]
        if len(s):
            x[-len(s) :] = s
    return x.reshape(shape)


def main() -> None:
    rng = np.random.default_rng(2026)
    data: dict[str, np.ndarray] = {}
    for name, fn in FUNCTIONS.items():
        graph = tf.function(fn)
        for k, shape in enumerate(SHAPES):
            x = draw(name, shape, k, rng)
            eager = fn(tf.constant(x)).numpy()
            assert same(eager, graph(tf.constant(x)).numpy()), (name, shape)
            data[f"{name}_{k}_x"], data[f"{name}_{k}_tf"] = x, eager
    graph = tf.function(tf.math.pow)
    for k, (xs, ys) in enumerate(POW_SHAPES):
        x = rng.uniform(0, 10, xs).astype(np.float32)
        y = rng.uniform(-8, 8, ys).astype(np.float32)
        if k % 3 == 2 and x.ndim:
            x.reshape(-1)[-3:] = [0.0, -2.0, np.inf][-min(3, x.size) :]
            if y.ndim:
                y.reshape(-1)[-3:] = [-1.0, 3.0, 0.5][-min(3, y.size) :]
        eager = tf.math.pow(tf.constant(x), tf.constant(y)).numpy()
        assert same(eager, graph(tf.constant(x), tf.constant(y)).numpy()), (xs, ys)
        data[f"pow_{k}_x"], data[f"pow_{k}_y"], data[f"pow_{k}_tf"] = x, y, eager
    np.savez_compressed(sys.argv[1], tensorflow=np.array(tf.__version__), **data)
    print(f"TensorFlow {tf.__version__}: {len(data)} arrays -> {sys.argv[1]}")


if __name__ == "__main__":
    main()
