"""What the Keras objects saved by ``get_config`` share: layers, losses, initializers and
learning-rate schedules are rebuilt by ``from_config`` from the arguments it returned."""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["FromConfig"]

_T = TypeVar("_T", bound="FromConfig")


class FromConfig:
    """Base class giving ``from_config``: a new object built from ``get_config()``'s dict
    (its constructor's arguments).  A layer made this way is not built yet."""

    @classmethod
    def from_config(cls: type[_T], config: dict[str, Any]) -> _T:
        """A new object made from the arguments ``get_config`` returned."""
        return cls(**config)
