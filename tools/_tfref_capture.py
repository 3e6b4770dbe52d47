"""Capturing what TensorFlow code prints, warns and logs (for tools/record_tf_reference.py).

Imports no TensorFlow itself: the section recorders pass it in.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from typing import Any


def tf_print_text(tf: Any, *args: Any, **kwargs: Any) -> str:
    """What ``tf.print(*args, **kwargs)`` writes (it is written to a file, then read back)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.txt")
        tf.print(*args, output_stream=f"file://{path}", **kwargs)
        with open(path, encoding="utf-8") as f:
            return f.read()


def printed(*args: Any, **kwargs: Any) -> str:
    """What ``print(*args, **kwargs)`` writes."""
    out = io.StringIO()
    print(*args, file=out, **kwargs)
    return out.getvalue()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(
            {"logger": record.name, "level": record.levelname, "message": record.getMessage()}
        )


@contextlib.contextmanager
def _fd_captured(fd: int, sink: list[str]) -> Iterator[None]:
    """Everything written to file descriptor ``fd`` (C++ and Python alike) while inside."""
    stream = sys.stdout if fd == 1 else sys.stderr
    stream.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            yield
        finally:
            stream.flush()
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            sink.append(tmp.read().decode("utf-8", "replace"))


def run_captured(tf: Any, fn: Callable[[], Any]) -> dict[str, Any]:
    """Run ``fn``; its exception (or None), stdout / stderr text at the file-descriptor level,
    Python warnings and the records of the ``tensorflow`` logger and the root logger (absl).

    The ``result`` key holds ``fn``'s return value (None when it raised).
    """
    handler = _Records()
    tf_logger = tf.get_logger()
    root = logging.getLogger()
    old_root_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    if not tf_logger.propagate:  # (else its records reach the root's handler)
        tf_logger.addHandler(handler)
    out: list[str] = []
    err: list[str] = []
    exception = result = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with _fd_captured(1, out), _fd_captured(2, err):
                try:
                    result = fn()
                except Exception as ex:  # what TensorFlow raises is the recorded value
                    exception = {
                        "type": type(ex).__name__,
                        "module": type(ex).__module__,
                        "mro": [c.__name__ for c in type(ex).__mro__],
                        "message": str(ex),
                    }
    finally:
        tf_logger.removeHandler(handler)
        root.removeHandler(handler)
        root.setLevel(old_root_level)
    return {
        "exception": exception,
        "stdout": out[0],
        "stderr": err[0],
        "python_warnings": [
            {"category": w.category.__name__, "message": str(w.message)} for w in caught
        ],
        "logging": handler.records,
        "result": result,
    }
