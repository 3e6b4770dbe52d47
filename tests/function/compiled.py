"""What the tests of ``tv.function`` read from compiled code."""

from __future__ import annotations

from typing import Any


def generated_source(fn: Any, *args: Any) -> str:
    """The generated source of ``fn``'s concrete function for ``args`` (compiled only)."""
    src = fn.get_concrete_function(*args).source
    assert src is not None
    return src
