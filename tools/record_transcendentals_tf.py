"""Record TensorFlow's float32 transcendentals as test data (run with TensorFlow installed).

    python tools/record_transcendentals_tf.py tests/data/tf_transcendentals.npz [FULL.npz]

For each function (exp, log, tanh, sigmoid, sin, cos, pow) 1e6 float32 inputs are drawn
(seeded) from the range the README's ulp table names, after a few special values; TensorFlow
computes the function eagerly and in a ``tf.function``, which must agree bit for bit.  The
test data keeps the special values and a random sample, 4096 inputs in all (a multiple of
the packet size: TensorFlow's last ``n % 8`` elements take the C library's scalar function
instead of Eigen's packet code).  ``FULL.npz``, if named, receives all 1e6 inputs and
results (not committed: ``tools/ulp_table.py`` reads it to print the README's table).
``pow`` stores its base in ``pow_x`` and its exponent in ``pow_y``.  ``<name>_scalar_x`` /
``<name>_scalar_tf`` hold single numbers (the first 512 inputs) and TensorFlow's result for
each as a 0-d tensor: TensorFlow computes those with the C library's scalar function
(``expf``...), not Eigen's packet code.
"""

from __future__ import annotations

import sys

import numpy as np
import tensorflow as tf

N, KEEP = 1_000_000, 4096
SCALARS = 512  # single numbers per function (tf.math.<name> of a 0-d tensor)
_SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0]
SPECIALS = {
    "exp": [*_SPECIAL, -104.0, -103.99, -87.5, 87.0, 87.01, 88.72, 88.723, 88.73, 100.0,
                       -1e-30, 1e-30, 7.9, 7.91, -7.91, 16.63, 16.64, 1e-40],
    "log": [np.nan, np.inf, 0.0, -0.0, 1.0, 2.0, 0.5, 0.70710677, 0.70710683, 3.4e38,
            1.1754944e-38, 1e-40, 1.5, 1.4142135, 1.4142137, 10.0, -1.0, -np.inf],
    "sin": [*_SPECIAL, 1e-30, -1e-30, 1e-40, np.pi, -np.pi, np.pi / 2, 3 * np.pi / 4,
                       25965.9, 25966.0, -25966.0, 18837.9, 18838.0, 1e5, -1e5, 1e10,
                       3.4e38, -3.4e38, 123456.789],
    "pow": [],
}  # fmt: skip
SPECIALS["tanh"] = SPECIALS["sigmoid"] = SPECIALS["exp"]
SPECIALS["cos"] = SPECIALS["sin"]
POW_SPECIALS = [  # (base, exponent)
    (0.0, 0.0), (0.0, -1.0), (-0.0, 3.0), (-0.0, -3.0), (1.0, np.nan), (np.nan, 0.0),
    (-1.0, np.inf), (2.0, 0.5), (-2.0, 0.5), (-2.0, 3.0), (-2.0, -2.0), (0.5, 200.0),
    (3.0, 1e-6), (10.0, 38.0), (10.0, 39.0), (10.0, -45.0), (np.inf, -1.0), (-np.inf, 3.0),
    (0.9, 4.0), (1.0000001, 1e7), (7.0, 2.0), (123.4, -2.5),
]  # fmt: skip


def draw(name: str, rng: np.random.Generator) -> np.ndarray:
    if name == "exp":
        return rng.uniform(-104, 89, N)
    if name == "log":
        return np.exp(rng.uniform(-87, 88, N))
    if name == "tanh":
        return rng.uniform(-12, 12, N)
    if name == "sigmoid":
        return rng.uniform(-30, 30, N)
    return rng.uniform(-100, 100, N)  # sin, cos


FUNCTIONS = {
    "exp": tf.math.exp,
    "log": tf.math.log,
    "tanh": tf.math.tanh,
    "sigmoid": tf.math.sigmoid,
    "sin": tf.math.sin,
    "cos": tf.math.cos,
}


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a.view(np.int32), b.view(np.int32)) or
                np.array_equal(a, b, equal_nan=True))  # fmt: skip


def kept(specials: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the test data: the special values, then a sorted random sample."""
    sample = rng.choice(np.arange(specials, N), KEEP - specials, replace=False)
    return np.concatenate([np.arange(specials), np.sort(sample)])


def main() -> None:
    out_path = sys.argv[1]
    full_path = sys.argv[2] if len(sys.argv) > 2 else None
    rng = np.random.default_rng(19)
    data: dict[str, np.ndarray] = {}
    full: dict[str, np.ndarray] = {}
    for name, fn in FUNCTIONS.items():
        special = np.array(SPECIALS[name], np.float32)
        x = np.concatenate([special, draw(name, rng).astype(np.float32)[: N - len(special)]])
        eager = fn(x).numpy()
        graph = tf.function(fn)(tf.constant(x)).numpy()
        assert same(eager, graph), f"{name}: eager and tf.function differ"
        keep = kept(len(special), rng)
        data[name + "_x"], data[name + "_tf"] = x[keep], eager[keep]
        # single numbers: TensorFlow computes them as a tensor's last n % 8 elements
        numbers = x[keep][:SCALARS]
        data[name + "_scalar_x"] = numbers
        data[name + "_scalar_tf"] = np.array([fn(v).numpy() for v in numbers], np.float32)
        full[name + "_x"], full[name + "_tf"] = x, eager
    base = np.concatenate(
        [np.array([b for b, _ in POW_SPECIALS], np.float32), rng.uniform(0, 10, N)]
    )[:N].astype(np.float32)
    expo = np.concatenate(
        [np.array([e for _, e in POW_SPECIALS], np.float32), rng.uniform(-10, 10, N)]
    )[:N].astype(np.float32)
    eager = tf.math.pow(base, expo).numpy()
    graph = tf.function(tf.math.pow)(tf.constant(base), tf.constant(expo)).numpy()
    assert same(eager, graph), "pow: eager and tf.function differ"
    keep = kept(len(POW_SPECIALS), rng)
    data["pow_x"], data["pow_y"], data["pow_tf"] = base[keep], expo[keep], eager[keep]
    full["pow_x"], full["pow_y"], full["pow_tf"] = base, expo, eager
    np.savez_compressed(out_path, tensorflow=np.array(tf.__version__), **data)
    if full_path:
        np.savez_compressed(full_path, tensorflow=np.array(tf.__version__), **full)
    print(f"TensorFlow {tf.__version__}: {', '.join(FUNCTIONS)}, pow -> {out_path}")


if __name__ == "__main__":
    main()
