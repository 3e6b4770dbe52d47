"""``tv.linalg``: matrix ops under TensorFlow's ``tf.linalg`` names."""

from ._surface import module_getattr as _module_getattr
from .ops.composite import einsum, eye, norm, tensordot
from .ops.linalg import matmul, solve
from .ops.shape import transpose

matrix_transpose = transpose

__all__ = ["einsum", "eye", "matmul", "matrix_transpose", "norm", "solve", "tensordot", "transpose"]

# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.linalg")
