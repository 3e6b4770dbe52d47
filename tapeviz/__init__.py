"""tapeviz: TensorFlow-style reverse-mode automatic differentiation with a visible tape.

Write textbook TensorFlow 2 code with ``import tapeviz as tf``; then look at what the tape
recorded (``tape.record()``, ``tv.viz.graph(tape)``) and step through the reverse sweep.

>>> import tapeviz as tf
>>> x = tf.Variable(initial_value=3.0)
>>> with tf.GradientTape() as tape:
...     y = tf.square(x)
>>> print(y, tape.gradient(y, x))
tv.Tensor(9.0, shape=(), dtype=float32) tv.Tensor(6.0, shape=(), dtype=float32)
"""

from __future__ import annotations

from typing import Any

from . import _surface, dtypes, linalg, math
from . import ops as _ops  # registers every op
from ._surface import NotImplementedInTapeviz
from .control_flow import cond, while_loop
from .custom import custom_gradient, name_scope, numpy_function
from .dtypes import (
    DType,
    as_dtype,
    bool,
    complex64,
    complex128,
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    string,
    uint8,
)
from .module import (
    Module,
    constant_initializer,
    ones_initializer,
    random_normal_initializer,
    random_uniform_initializer,
    zeros_initializer,
)
from .ops import nn
from .ops.complex import complex
from .ops.composite import (
    clip_by_norm,
    einsum,
    eye,
    linspace,
    norm,
    reduce_logsumexp,
    tensordot,
)
from .ops.linalg import matmul
from .ops.math import (
    abs,
    add,
    cast,
    clip_by_value,
    cos,
    divide,
    equal,
    exp,
    greater,
    greater_equal,
    identity,
    less,
    less_equal,
    log,
    logical_and,
    logical_not,
    logical_or,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    pow,
    reciprocal,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    stop_gradient,
    subtract,
    tanh,
    truediv,
    where,
)
from .ops.reduce import (
    argmax,
    argmin,
    reduce_all,
    reduce_any,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
)
from .ops.shape import (
    broadcast_to,
    concat,
    expand_dims,
    fill,
    one_hot,
    ones,
    ones_like,
    range,
    rank,
    reshape,
    shape,
    size,
    squeeze,
    stack,
    transpose,
    unstack,
    zeros,
    zeros_like,
)
from .tape import GradientTape, UnconnectedGradients
from .tensor import Tensor, TensorShape, Variable, constant, convert_to_tensor, is_tensor
from .tensor_array import TensorArray

__version__ = "0.1.0"
newaxis = None

_LAZY = {
    "graph": ".graph",  # the record's types: loaded with the first record
    "viz": ".viz",
    "keras": ".keras",
    "random": ".random",
    "datasets": ".datasets",
    "data": ".datasets",  # tf.data.Dataset.from_tensor_slices(...) runs unchanged
    "function": ".compiler.tf_function",
    "print": ".compiler.tf_function",
    "errors": ".errors",
    "autograph": ".compiler.autograph_api",  # tv.autograph: the compiler's conversion
    "initializers": ".keras.initializers",  # tf.initializers is Keras' module
}


def __getattr__(name: str) -> Any:
    """Heavy parts (graphviz, widgets, numba, keras) load on first use."""
    import importlib

    if name in _LAZY:
        mod = importlib.import_module(_LAZY[name], __name__)
        if mod.__name__ == __name__ + ".compiler.tf_function":
            # the decorator and the printer, whichever was asked for first
            globals()["function"] = mod.function
            globals()["print"] = mod.print
            return globals()[name]
        globals()[name] = mod
        return mod
    if name.startswith("_"):
        raise AttributeError(f"module 'tapeviz' has no attribute {name!r}")
    raise _surface.missing("tf", name)  # says whether TensorFlow has it, and where to look


__all__ = [
    "TensorArray",
    "while_loop",
    "zeros_initializer",
    "tensordot",
    "random_uniform_initializer",
    "random_normal_initializer",
    "ones_initializer",
    "norm",
    "linspace",
    "eye",
    "einsum",
    "constant_initializer",
    "clip_by_norm",
    "Module",
    "DType",
    "GradientTape",
    "NotImplementedInTapeviz",
    "Tensor",
    "TensorShape",
    "UnconnectedGradients",
    "Variable",
    "abs",
    "add",
    "argmax",
    "argmin",
    "as_dtype",
    "bool",
    "broadcast_to",
    "cast",
    "clip_by_value",
    "complex",
    "complex64",
    "complex128",
    "concat",
    "cond",
    "constant",
    "convert_to_tensor",
    "cos",
    "custom_gradient",
    "divide",
    "double",
    "dtypes",
    "equal",
    "exp",
    "expand_dims",
    "fill",
    "float16",
    "float32",
    "float64",
    "graph",
    "greater",
    "greater_equal",
    "half",
    "identity",
    "int8",
    "int16",
    "int32",
    "int64",
    "is_tensor",
    "less",
    "less_equal",
    "linalg",
    "log",
    "logical_and",
    "logical_not",
    "logical_or",
    "math",
    "matmul",
    "maximum",
    "minimum",
    "multiply",
    "name_scope",
    "negative",
    "newaxis",
    "nn",
    "not_equal",
    "numpy_function",
    "one_hot",
    "ones",
    "ones_like",
    "pow",
    "range",
    "rank",
    "reciprocal",
    "reduce_all",
    "reduce_any",
    "reduce_max",
    "reduce_mean",
    "reduce_min",
    "reduce_logsumexp",
    "reduce_prod",
    "reduce_sum",
    "reshape",
    "shape",
    "sigmoid",
    "sign",
    "sin",
    "size",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "stop_gradient",
    "string",
    "subtract",
    "tanh",
    "transpose",
    "truediv",
    "uint8",
    "unstack",
    "where",
    "zeros",
    "zeros_like",
]
_ = _ops

# tf.dtypes.cast and tf.dtypes.complex are the ops (the dtypes module cannot import them)
dtypes.cast = cast
dtypes.complex = complex
