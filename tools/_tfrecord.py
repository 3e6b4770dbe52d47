"""What the ``tools/record_*tf*.py`` scripts share: TensorFlow loaded only where it is
installed, the checks of the environment variables a recording depends on, and the ways
numbers are written as test data.

Only these scripts import it; tests never do (TensorFlow is not a tapeviz dependency: the
recorded JSON files under ``tests/data`` are what the tests read).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import numpy as np


def tensorflow(*, legacy_keras: bool = False, onednn: bool | None = None) -> Any:
    """Import TensorFlow after checking the environment the recording needs.

    ``legacy_keras``: ``tf.keras`` must be Keras 2 (``TF_USE_LEGACY_KERAS=1``, tf_keras
    installed).  ``onednn=False``: TensorFlow's oneDNN kernels must be off
    (``TF_ENABLE_ONEDNN_OPTS=0``), whose digits depend on the processor.
    """
    if legacy_keras and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        sys.exit("run with TF_USE_LEGACY_KERAS=1 (tf.keras must be Keras 2, from tf_keras)")
    if onednn is False and os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0":
        sys.exit("run with TF_ENABLE_ONEDNN_OPTS=0 (oneDNN's digits depend on the processor)")
    try:
        import tensorflow as tf  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        sys.exit("TensorFlow is not installed here: run this script with a Python that has it")
    return tf


def keras() -> Any:
    """The tf_keras module (Keras 2), imported only when a recording runs."""
    import tf_keras  # type: ignore[import-not-found,unused-ignore]

    return tf_keras


def float32_list(t: Any) -> Any:
    """A tensor or array as nested Python floats of its float32 values."""
    return np.asarray(t, np.float32).tolist()


def weighted_sum_gradients(tf: Any, fn: Any, *xs: Any) -> tuple[Any, list[Any]]:
    """``fn(*xs)`` and the gradients of ``Σ k·y_k`` (weights 1, 2, 3, ... in ``y``'s order)
    with respect to each ``x`` (float32 lists): distinct weights show every entry's path."""
    vs = [tf.Variable(x) for x in xs]
    with tf.GradientTape() as tape:
        y = fn(*vs)
        s = tf.reduce_sum(
            y * tf.cast(tf.reshape(tf.range(1, tf.size(y) + 1), tf.shape(y)), y.dtype)
        )
    return float32_list(y), [float32_list(g) for g in tape.gradient(s, vs)]


def _scalar(v: Any, *, exact: bool) -> Any:
    v = float(v)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v.hex() if exact else v


def encode(a: Any) -> dict[str, Any] | None:
    """An array in tf_reference.json's form ``{dtype, shape, values[, hex]}`` (None stays None).

    ``values`` are the shortest decimals that give the stored dtype's value back, ``hex`` the
    exact ``float.hex`` text of each value; NaN and infinities are the strings
    ``"nan"``, ``"inf"``, ``"-inf"`` in both.
    """
    if a is None:
        return None
    if hasattr(a, "numpy"):
        a = a.numpy()
    a = np.asarray(a)
    out: dict[str, Any] = {"dtype": str(a.dtype), "shape": list(a.shape)}
    if a.dtype.kind != "f":
        out["values"] = a.tolist()
        return out
    flat = a.reshape(-1)
    values = [_scalar(str(v), exact=False) for v in flat]
    hexes = [_scalar(v, exact=True) for v in flat]
    out["values"] = np.array(values, dtype=object).reshape(a.shape).tolist()
    out["hex"] = np.array(hexes, dtype=object).reshape(a.shape).tolist()
    return out


def decode(entry: dict[str, Any] | None) -> np.ndarray | None:
    """The exact array of an :func:`encode` entry (the inverse, from the ``hex`` text)."""
    if entry is None:
        return None
    dtype = np.dtype(entry["dtype"])
    raw = entry.get("hex", entry["values"]) if dtype.kind == "f" else entry["values"]

    def number(v: Any) -> Any:
        if isinstance(v, list):
            return [number(x) for x in v]
        if isinstance(v, str):
            return float(v) if v in ("nan", "inf", "-inf") else float.fromhex(v)
        return v

    return np.asarray(number(raw), dtype=np.float64 if dtype.kind == "f" else None).astype(dtype)


def emit(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (the scripts are run as ``... > tests/data/x.json``)."""
    print(json.dumps(obj))
