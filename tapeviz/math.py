"""``tv.math``: the math ops under TensorFlow's ``tf.math`` names."""

from ._surface import module_getattr as _module_getattr
from .ops.complex import angle, conj, imag, real
from .ops.composite import log_sigmoid, reduce_logsumexp, reduce_std, reduce_variance
from .ops.linalg import matmul
from .ops.math import *  # noqa: F403
from .ops.math import __all__ as _math_all
from .ops.nn import softplus
from .ops.reduce import *  # noqa: F403
from .ops.reduce import __all__ as _reduce_all

__all__ = [*_math_all, *_reduce_all, "matmul", "softplus", "angle", "conj", "imag", "real"]
__all__ += ["log_sigmoid", "reduce_logsumexp", "reduce_std", "reduce_variance"]

# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.math")
