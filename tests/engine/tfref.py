"""Numbers recorded from real TensorFlow (tests/data/tf_reference.json) and exact comparisons.

The JSON stores every float value twice: as a short decimal and as ``float.hex`` text of the
value converted to a Python float.  :func:`array` rebuilds the exact bits from the hex text, so
tests can compare float32 results bit for bit (:func:`assert_bits`) or within a few units in
the last place (``assert_ulps`` of tests/ulp.py).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "tf_reference.json"


@functools.cache
def _load() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


def ref(*keys: str) -> Any:
    """The JSON node at ``ref("kinks", "abs_at_0")``; a clear failure if it is missing."""
    node: Any = _load()
    for i, k in enumerate(keys):
        if not isinstance(node, dict) or k not in node:
            path = "/".join(keys[: i + 1])
            raise AssertionError(f"tf_reference.json has no entry {path!r}")
        node = node[k]
    return node


def section(name: str) -> dict[str, Any]:
    """A top-level section (``"kinks"``, ``"ops_bitexact"``...) as a dict."""
    node = ref(name)
    assert isinstance(node, dict)
    return node


def _scalar(text: Any) -> float | int | bool:
    if isinstance(text, str):
        if text in ("nan", "inf", "-inf"):
            return float(text)
        return float.fromhex(text)
    return text


def _decode(node: Any) -> Any:
    if isinstance(node, list):
        return [_decode(v) for v in node]
    return _scalar(node)


def array(entry: dict[str, Any] | None) -> np.ndarray | None:
    """The exact array of a stored ``{dtype, shape, values, hex}`` entry (None stays None)."""
    if entry is None:
        return None
    dtype = np.dtype(entry["dtype"])
    raw = entry.get("hex", entry["values"]) if dtype.kind == "f" else entry["values"]
    out = np.asarray(_decode(raw), dtype=np.float64 if dtype.kind == "f" else None).astype(dtype)
    assert out.shape == tuple(entry["shape"]), (out.shape, entry["shape"])
    return out


def _as_array(x: Any) -> np.ndarray:
    if hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x)


def assert_bits(actual: Any, expected: np.ndarray, what: str = "") -> None:
    """``actual`` equals ``expected`` bit for bit (dtype, shape, signed zeros, inf; NaN at NaN)."""
    a = _as_array(actual)
    e = np.asarray(expected)
    label = f"{what}: " if what else ""
    assert a.dtype == e.dtype, f"{label}dtype {a.dtype} != {e.dtype}"
    assert a.shape == e.shape, f"{label}shape {a.shape} != {e.shape}"
    if e.dtype.kind != "f":
        np.testing.assert_array_equal(a, e, err_msg=what)
        return
    a_nan, e_nan = np.isnan(a), np.isnan(e)
    np.testing.assert_array_equal(a_nan, e_nan, err_msg=f"{label}NaN positions differ")
    uint = np.dtype(f"u{e.dtype.itemsize}")
    a_bits = np.asarray(np.where(a_nan, 0, a), dtype=e.dtype).reshape(-1).view(uint)
    e_bits = np.asarray(np.where(e_nan, 0, e), dtype=e.dtype).reshape(-1).view(uint)
    bad = np.flatnonzero(a_bits != e_bits)
    assert bad.size == 0, (
        f"{label}{bad.size} of {e.size} entries differ in their bits, e.g. at flat index "
        f"{bad[0]}: got {a.reshape(-1)[bad[0]]!r} ({float(a.reshape(-1)[bad[0]]).hex()}), "
        f"TensorFlow {e.reshape(-1)[bad[0]]!r} ({float(e.reshape(-1)[bad[0]]).hex()})"
    )
