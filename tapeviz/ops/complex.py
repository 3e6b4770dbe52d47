"""Complex numbers: ``tv.complex``, ``tv.math.real/imag/conj/angle`` (and ``tv.abs``).

A complex tensor (complex64 = two float32 parts, complex128 = two float64 parts) goes through
the ops TensorFlow has complex kernels for: ``+ - * / **``, unary minus, ``exp``, ``log``,
``sqrt``, ``square``, ``sin``, ``cos``, ``tanh``, ``sigmoid``, ``reciprocal``, ``expm1``,
``log1p``, ``matmul``, ``reduce_sum/mean/prod`` and the shape ops.  Ops that order numbers
(``<``, ``maximum``, ``reduce_max``, ``relu``...) raise a TypeError, as TensorFlow does.  There
is no promotion: ``complex64 + float32`` is an error; ``tv.complex(re, im)`` or ``tv.cast``
makes the complex tensor explicitly.

**Gradients** follow TensorFlow's convention.  For a real loss L of z = x + iy,
``tape.gradient(L, z)`` is ``∂L/∂x + i·∂L/∂y`` (measured in TensorFlow 2.21:
``gradient(tv.abs(z), z) = z/|z|``, ``gradient(real(z·conj z), z) = 2z``).  So a step
``z - lr·grad`` descends L.  For a holomorphic f the VJP is ``g·conj(f'(z))``: the gradient
of a complex target (its seed is 1) is ``conj(f'(z))``.

>>> import tapeviz as tv
>>> z = tv.Variable(1 + 2j)
>>> with tv.GradientTape() as tape:
...     loss = tv.abs(z)
>>> print(tape.gradient(loss, z))
tv.Tensor((0.4472135954999579+0.8944271909999159j), shape=(), dtype=complex128)
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..tensor import Tensor, convert_to_tensor
from ._registry import Op, apply, register
from .math import NO_COMPLEX_KERNELS, _check_broadcast, cast, identity

__all__ = ["complex", "real", "imag", "conj", "angle", "COMPLEX_OPS"]

_COMPLEX_OF = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128}


def _complex_fwd(re: Any, im: Any) -> Any:
    out = np.empty(np.broadcast_shapes(np.shape(re), np.shape(im)), _COMPLEX_OF[re.dtype])
    out.real = re
    out.imag = im
    return out[()] if out.ndim == 0 else out


def _complex_vjp(k: Any, g: Any, out: Any, re: Any, im: Any) -> tuple[Any, Any]:
    # z = x + iy: ∂L/∂x is the real part of the gradient of z, ∂L/∂y its imaginary part
    return k.unbroadcast(k.real(g), re.shape), k.unbroadcast(k.imag(g), im.shape)


complex_op = register(
    Op(
        "complex",
        _complex_fwd,
        _complex_vjp,
        "x+iy",
        "x + i y",
        ("re({g})", "im({g})"),
        "The complex tensor x + iy of two real tensors.",
        broadcasts=True,
        interpreter_only=NO_COMPLEX_KERNELS,
    )
)


def complex(real: Any, imag: Any, name: str | None = None) -> Tensor:
    """The complex tensor ``real + i·imag``, as ``tf.complex``: float32 parts give
    complex64, float64 parts complex128 (both parts of one dtype; they broadcast).

    >>> import tapeviz as tv
    >>> tv.complex(tv.constant([1.0, 2.0]), tv.constant([0.5, -1.0]))
    <tv.Tensor: shape=(2,), dtype=complex64, numpy=array([1.+0.5j, 2.-1.j ], dtype=complex64)>
    """
    re = convert_to_tensor(real)
    im = convert_to_tensor(imag, dtype=re.dtype) if not isinstance(imag, Tensor) else imag
    if not isinstance(real, Tensor) and isinstance(imag, Tensor):
        re = convert_to_tensor(real, dtype=im.dtype)
    if re.dtype != im.dtype or not re.dtype.is_floating or re.dtype.np.itemsize < 4:
        raise TypeError(
            f"complex: the real and imaginary parts are {re.dtype.name} and {im.dtype.name}; "
            "they must be both float32 (giving complex64) or both float64 (complex128), as "
            "in TensorFlow. Convert them with tv.cast(x, tv.float32)"
        )
    _check_broadcast("complex", re, im)
    return apply(complex_op, (re, im), {}, name=name)


def _part_vjp(part: str) -> Any:
    def vjp(k: Any, g: Any, out: Any, z: Any) -> tuple[Any]:
        # real(z) = x: the gradient g + 0i; imag(z) = y: the gradient 0 + ig
        zero = k.zeros_like(g)
        return (k.complex(g, zero) if part == "real" else k.complex(zero, g),)

    return vjp


real_op = register(
    Op(
        "real",
        np.real,
        _part_vjp("real"),
        "Re",
        r"\mathrm{Re}\,z",
        ("{g} + 0i",),
        "The real part of a complex tensor (a real tensor).",
        interpreter_only=NO_COMPLEX_KERNELS,
    )
)
imag_op = register(
    Op(
        "imag",
        np.imag,
        _part_vjp("imag"),
        "Im",
        r"\mathrm{Im}\,z",
        ("0 + i·{g}",),
        "The imaginary part of a complex tensor (a real tensor).",
        interpreter_only=NO_COMPLEX_KERNELS,
    )
)
conj_op = register(
    Op(
        "conj",
        np.conj,
        lambda k, g, out, z: (k.conj(g),),  # conj is its own adjoint
        "z̄",
        r"\bar{z}",
        ("conj({g})",),
        "The complex conjugate x − iy.",
        interpreter_only=NO_COMPLEX_KERNELS,
    )
)


def _angle_vjp(k: Any, g: Any, out: Any, z: Any) -> tuple[Any]:
    # angle = atan2(y, x): ∂/∂x = −y/|z|², ∂/∂y = x/|z|² (nan at 0, as TensorFlow)
    x, y = k.real(z), k.imag(z)
    r2 = x * x + y * y
    return (k.complex(-g * y / r2, g * x / r2),)


angle_op = register(
    Op(
        "angle",
        np.angle,
        _angle_vjp,
        "arg",
        r"\arg z",
        ("(−{g}·im + i·{g}·re) / |{x}|²",),
        "The argument atan2(im, re) of a complex tensor, in (−π, π].",
        may_warn=True,
        interpreter_only=NO_COMPLEX_KERNELS,
    )
)


def _complex_input(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else convert_to_tensor(x)


def _of_complex(op: Op, x: Any, name: str | None) -> Tensor:
    """``op`` of a complex tensor; a real tensor is returned unchanged (as in TensorFlow)."""
    z = _complex_input(x)
    if not z.dtype.is_complex:
        return identity(z, name=name) if name else z
    return apply(op, (z,), {}, name=name)


def real(input: Any, name: str | None = None) -> Tensor:
    """The real part (complex64 → float32); a real tensor is returned unchanged."""
    return _of_complex(real_op, input, name)


def conj(x: Any, name: str | None = None) -> Tensor:
    """The complex conjugate; a real tensor is returned unchanged."""
    return _of_complex(conj_op, x, name)


def imag(input: Any, name: str | None = None) -> Tensor:
    """The imaginary part (complex64 → float32); of a real tensor, zeros."""
    z = _complex_input(input)
    if not z.dtype.is_complex:
        return Tensor._wrap(np.zeros_like(z._value))
    return apply(imag_op, (z,), {}, name=name)


def angle(input: Any, name: str | None = None) -> Tensor:
    """The argument atan2(imag, real) in (−π, π], a real tensor; of a real tensor 0 or π."""
    z = _complex_input(input)
    if not z.dtype.is_complex:
        if not z.dtype.is_floating:
            raise TypeError(f"angle expects a float or complex tensor, got {z.dtype.name}")
        z = cast(z, np.complex64 if z.dtype.np == np.float32 else np.complex128)
    return apply(angle_op, (z,), {}, name=name)


_VALUE = re.compile(r"\{(x|y|z|out)(T?)\}")


def conjugated_texts(texts: tuple[str, ...]) -> tuple[str, ...]:
    """The VJP templates of a step with a complex result: every forward value is used
    conjugated (``{g} · {y}`` becomes ``{g} · conj({y})``), as the rules compute it."""
    return tuple(_VALUE.sub(r"conj({\1\2})", t) for t in texts)


# The registered ops a complex tensor may enter (tests walk the registry with this list;
# every other op must reject complex inputs with a TypeError).
COMPLEX_OPS = frozenset(
    {"complex", "real", "imag", "conj", "angle", "complex_abs", "cast", "identity"}
    | {"add", "subtract", "multiply", "divide", "pow", "negative", "where"}
    | {"square", "sqrt", "exp", "log", "reciprocal", "expm1", "log1p"}
    | {"sin", "cos", "tanh", "sigmoid", "matmul"}
    | {"reduce_sum", "reduce_mean", "reduce_prod", "equal", "not_equal"}
    | {"reshape", "transpose", "broadcast_to", "squeeze", "expand_dims", "concat", "stack"}
    | {"strided_slice", "strided_slice_grad", "zeros_like", "ones_like"}
)
