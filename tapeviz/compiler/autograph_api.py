"""``tv.autograph``: what ``tf.autograph`` offers that tapeviz has.

``tv.function`` converts Python ``if``/``while``/``for`` on tensors by itself (see
:mod:`tapeviz.compiler.autograph`); this module lets you look at the conversion and opt
out of it.

>>> import tapeviz as tv
>>> def f(x):
...     if x > 0:
...         x = -x
...     return x
>>> "if_stmt" in tv.autograph.to_code(f)  # doctest: +SKIP
True
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

__all__ = ["to_code", "experimental"]


def to_code(
    entity: Callable[..., Any], recursive: bool = True, experimental_optional_features: Any = None
) -> str:
    """The Python source of ``entity`` as autograph converts it (``tf.autograph.to_code``)."""
    from .autograph import to_code as convert_to_code

    return convert_to_code(entity)


def _do_not_convert(func: Callable[..., Any] | None = None) -> Any:
    """Decorator: autograph leaves ``func`` as written (its Python ``if`` on a tensor then
    raises inside ``tv.function``)."""
    from .autograph import do_not_convert

    if func is None:
        return do_not_convert
    return do_not_convert(func)


def _set_loop_options(**options: Any) -> None:
    """Accepted for compatibility; tapeviz loops need no options (fixed shapes)."""


experimental = types.SimpleNamespace(
    do_not_convert=_do_not_convert, set_loop_options=_set_loop_options
)
