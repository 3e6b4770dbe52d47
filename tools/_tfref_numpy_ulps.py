"""``ops_bitexact`` → ``numpy_float32_forward_max_ulps``: how far TensorFlow's forward outputs
are from plain float32 numpy expressions of the same ops (the entries' stored inputs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _tfrecord import decode

Arrays = dict[str, np.ndarray]


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


F32 = np.float32
NUMPY: dict[str, Callable[[Arrays], Any]] = {
    "matmul": lambda v: np.matmul(v["a"], v["b"]),
    "matmul_transpose_a": lambda v: np.matmul(v["a"].T, v["b"]),
    "matmul_transpose_b": lambda v: np.matmul(v["a"], v["b"].T),
    "matmul_transpose_both": lambda v: np.matmul(v["a"].T, v["b"].T),
    "matmul_at_operator": lambda v: v["a"] @ v["b"],
    "matmul_larger": lambda v: np.matmul(v["a"], v["b"]),
    "softmax": lambda v: _softmax(v["x"]),
    "log_softmax": lambda v: _log_softmax(v["x"]),
    "reduce_mean_all": lambda v: np.mean(v["x"], dtype=F32),
    "reduce_mean_axis0": lambda v: np.mean(v["x"], axis=0, dtype=F32),
    "reduce_sum_axis1_keepdims": lambda v: np.sum(v["x"], axis=1, keepdims=True),
    "reduce_sum_all_long": lambda v: np.sum(v["x"]),
    "reduce_mean_all_long": lambda v: np.mean(v["x"], dtype=F32),
    "sigmoid": lambda v: F32(1) / (F32(1) + np.exp(-v["x"])),
    "tanh": lambda v: np.tanh(v["x"]),
    "exp": lambda v: np.exp(v["x"]),
    "log": lambda v: np.log(v["x"]),
    "sqrt": lambda v: np.sqrt(v["x"]),
    "sin_cos": lambda v: np.sin(v["x"]) * np.cos(v["x"]),
    "square": lambda v: np.square(v["x"]),
    "pow_float": lambda v: np.power(v["x"], v["y"]),
    "broadcast_add_2x3_3": lambda v: v["a"] + v["b"],
    "broadcast_mul_2x1_1x3": lambda v: v["a"] * v["b"],
    "broadcast_sub_div": lambda v: (v["a"] - v["b"]) / v["c"],
    "mse_like": lambda v: np.mean(np.square(v["p"] - v["t"]), dtype=F32),
}


def _max_ulps(a: np.ndarray, b: np.ndarray) -> int:
    def key(x: np.ndarray) -> np.ndarray:
        i = np.asarray(x, F32).view(np.int32).astype(np.int64)
        return np.where(i < 0, -(2**31) - i, i)

    return int(np.max(np.abs(key(a) - key(b)))) if np.size(a) else 0


def numpy_float32_forward_max_ulps(entries: dict[str, Any]) -> dict[str, Any]:
    """The table, from the (already recomputed) ``ops_bitexact`` entries."""
    max_ulps = {}
    for name, fn in NUMPY.items():
        inputs = {k: np.asarray(decode(v)) for k, v in entries[name]["inputs"].items()}
        got = np.asarray(fn(inputs), F32)
        max_ulps[name] = _max_ulps(got, np.asarray(decode(entries[name]["output"])))
    return {
        "note": (
            "max ulp distance between TF's forward output and a plain float32 numpy expression "
            "(np.matmul, np.exp, np.mean(dtype=float32), softmax as exp(x-max)/sum, sigmoid as "
            f"1/(1+exp(-x)), ...) computed on this machine (numpy {np.__version__})"
        ),
        "max_ulps": max_ulps,
    }
