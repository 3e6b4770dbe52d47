"""A few ``keras.backend`` helpers: ``floatx``, ``epsilon``, ``clear_session``."""

from __future__ import annotations

from .._surface import module_getattr as _module_getattr

__all__ = ["floatx", "epsilon", "clear_session", "unique_name"]

_names: dict[str, int] = {}


def floatx() -> str:
    """The default float type of layers: ``"float32"``."""
    return "float32"


def epsilon() -> float:
    """The fuzz factor Keras adds to avoid dividing by zero: ``1e-7``."""
    return 1e-7


def unique_name(base: str) -> str:
    """``base``, then ``base_1``, ``base_2``... (how Keras names layers: dense, dense_1)."""
    n = _names.get(base, 0)
    _names[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def clear_session() -> None:
    """Forget the layer-name counters, so the next Dense is called ``dense`` again."""
    _names.clear()


# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.keras.backend")
