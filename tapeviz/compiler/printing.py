"""``tv.print``: print tensors the way ``tf.print`` does.

Numbers are written with the fewest digits that still identify them: a float32 with 6
significant digits if that reads back as the same float32, otherwise 9 (``0.1``,
``0.999998569``); a float64 with 15, otherwise 17.  Booleans print as ``1``/``0``.
Arrays print without alignment, and long axes are summarised to their first and last
``summarize`` entries (``[0 1 2 ... 7 8 9]``).

>>> import tapeviz as tv, sys
>>> tv.print("y = ", tv.constant(0.0), "; x = ", tv.constant(0.999998569),
...          output_stream=sys.stdout)
y =  0 ; x =  0.999998569
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["format_number", "format_array", "template", "render", "write"]


def format_number(v: Any) -> str:
    """One number as ``tf.print`` writes it."""
    if isinstance(v, np.bool_ | bool):
        return "1" if v else "0"
    if isinstance(v, np.floating | float):
        if np.isnan(v):
            return "nan"
        if np.isinf(v):
            return "inf" if v > 0 else "-inf"
        if isinstance(v, np.float64 | float):
            f = float(v)
            text = f"{f:.15g}"
            return text if float(text) == f else f"{f:.17g}"
        f32 = np.float32(v)
        text = f"{float(f32):.6g}"
        return text if np.float32(float(text)) == f32 else f"{float(f32):.9g}"
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def format_array(value: Any, summarize: int = 3) -> str:
    """An array (or scalar) as ``tf.print`` writes it; ``summarize=-1`` prints everything."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        return format_number(arr[()])
    if arr.size == 0:
        return "[]"
    lim = summarize if summarize is not None and summarize >= 0 else None

    def idx(n: int) -> list[int | None]:
        if lim is None or n <= 2 * lim:
            return list(range(n))
        return [*range(lim), None, *range(n - lim, n)]

    # one level per axis (depth <= ndim)
    def block(a: np.ndarray, depth: int) -> str:
        if a.ndim == 1:
            items = ["..." if i is None else format_number(a[i]) for i in idx(a.shape[0])]
            return "[" + " ".join(items) + "]"
        pad = " " * (depth + 1)
        sep = "\n" * (a.ndim - 1) + pad
        parts = ["..." if i is None else block(a[i], depth + 1) for i in idx(a.shape[0])]
        return "[" + sep.join(parts) + "]"

    return block(arr, 0)


def template(inputs: tuple[Any, ...], is_tensor: Any) -> tuple[list[Any], list[Any]]:
    """Split ``tv.print``'s arguments into text parts and tensor slots.

    Returns ``(parts, tensors)``: ``parts`` holds strings and ints (int ``k`` stands for
    ``tensors[k]``), one list per argument joined later with ``sep``.
    """
    tensors: list[Any] = []
    out: list[Any] = []

    def leaf(x: Any, top: bool) -> list[Any]:
        if is_tensor(x):
            tensors.append(x)
            return [len(tensors) - 1]
        if isinstance(x, list | tuple | dict):
            return container(x)
        return [str(x) if top else repr(x)]

    def container(x: Any) -> list[Any]:
        res: list[Any] = []
        if isinstance(x, dict):
            res.append("{")
            for i, (k, v) in enumerate(x.items()):
                if i:
                    res.append(", ")
                res.append(f"{k!r}: ")
                res.extend(leaf(v, False))
            res.append("}")
            return res
        opener, closer = ("[", "]") if isinstance(x, list) else ("(", ")")
        res.append(opener)
        for i, v in enumerate(x):
            if i:
                res.append(", ")
            res.extend(leaf(v, False))
        if isinstance(x, tuple) and len(x) == 1:
            res.append(",")
        res.append(closer)
        return res

    for x in inputs:
        out.append(leaf(x, True))
    return out, tensors


def render(parts: list[Any], values: list[Any], summarize: int, sep: str, end: str) -> str:
    """The printed text: ``parts`` with tensor slots filled from ``values``."""
    pieces = []
    for arg in parts:
        pieces.append(
            "".join(format_array(values[p], summarize) if isinstance(p, int) else p for p in arg)
        )
    return sep.join(pieces) + end


def stream_key(stream: Any) -> Any:
    """Remember ``sys.stdout``/``sys.stderr`` by name, so redirections made later count."""
    if stream is None or stream is sys.stderr:
        return "stderr"
    if stream is sys.stdout:
        return "stdout"
    return stream


def write(text: str, stream: Any) -> None:
    """Write ``tv.print``'s text to ``"stderr"``, ``"stdout"`` or a ``file://`` path."""
    if stream == "stderr":
        out: Any = sys.stderr
    elif stream == "stdout":
        out = sys.stdout
    elif isinstance(stream, str) and stream.startswith("file://"):
        with open(stream[len("file://") :], "a", encoding="utf-8") as fh:
            fh.write(text)
        return
    elif callable(stream) and not hasattr(stream, "write"):
        stream(text.rstrip("\n"))  # e.g. logging.info
        return
    else:
        out = stream
    out.write(text)
    if hasattr(out, "flush"):
        out.flush()
