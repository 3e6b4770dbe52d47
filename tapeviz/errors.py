"""``tv.errors``: the exceptions of TensorFlow's ``tf.errors`` that tapeviz raises, so that
``except tf.errors.InvalidArgumentError`` in pasted TensorFlow code keeps working.

>>> import tapeviz as tv
>>> try:
...     tv.constant(1) // tv.constant(0)
... except tv.errors.InvalidArgumentError as e:
...     print(str(e)[:24])
Integer division by zero
"""

from __future__ import annotations

from ._surface import module_getattr as _module_getattr

__all__ = [
    "OpError",
    "InvalidArgumentError",
    "OutOfRangeError",
    "OperatorNotAllowedInGraphError",
]


class OpError(Exception):
    """An op could not run on the values it was given (TensorFlow's ``tf.errors.OpError``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OperatorNotAllowedInGraphError(TypeError):
    """A Python ``if``/``while``/``bool()`` on a symbolic tensor inside ``tv.function`` that
    autograph did not convert (TensorFlow's error of the same name)."""


class InvalidArgumentError(OpError):
    """An op received a value it cannot compute with, e.g. an integer division by zero."""


class OutOfRangeError(OpError):
    """An index past the end, e.g. writing beyond a fixed-size ``TensorArray``."""


# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.errors")
