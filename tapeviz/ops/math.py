"""Elementwise math: arithmetic, powers, exp/log, trigonometric, comparisons, selection.

Every op is one :class:`~tapeviz.ops._registry.Op` entry: numpy forward, VJP rule (written
with backend ops so that it works for higher order), and teaching text.  Where TensorFlow's
gradient kernels fix an order of float32 operations (``g * (1/x)`` for ``log``,
``(g * y) * x**(y-1)`` for ``pow``), the rule follows that order, so results match
TensorFlow bit for bit.  Values at kinks follow TensorFlow too: the gradient of ``abs`` at
0 is 0, ``maximum`` ties send it to the first argument.

Complex tensors (complex64/128) take the ops TensorFlow has complex kernels for; their
gradients follow TensorFlow's convention (see :func:`conjugate_rule` and
``tapeviz/ops/complex.py``).  Ops that order numbers (``maximum``, ``<``...) reject them.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _eigen_f32, _eigen_pow, _state, dtypes
from ..errors import InvalidArgumentError
from ..tensor import Tensor, binary_args, convert_to_tensor
from ._registry import Kernel, KernelCall, Op, apply, register

__all__ = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "truediv",
    "negative",
    "square",
    "sqrt",
    "exp",
    "expm1",
    "log",
    "log1p",
    "pow",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "abs",
    "sign",
    "reciprocal",
    "maximum",
    "minimum",
    "where",
    "clip_by_value",
    "cast",
    "identity",
    "stop_gradient",
    "equal",
    "not_equal",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "logical_and",
    "logical_or",
    "logical_not",
    "floordiv",
    "mod",
]


def _quiet() -> Any:
    """An errstate in which numpy, like TensorFlow, returns inf/nan without warnings."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


def _named(out: Tensor, name: str | None) -> Tensor:
    if name is not None:
        out._name = name
    return out


def _require_float(opname: str, x: Tensor) -> None:
    if x.dtype.is_complex:
        reject_complex(opname, x.dtype.name)
    if not x.dtype.is_floating:
        raise TypeError(
            f"{opname} expects a float tensor, got {x.dtype.name}; "
            f"convert it first with tv.cast(x, tv.float32)"
        )


# ops TensorFlow has no bool kernel for (AddV2, Sub, Pow, Maximum, Less, Neg, Sum, ...):
# bool tensors are an error there, not arithmetic on 0 and 1 (multiply, the logical ops and
# (in)equality do take bools)
NO_BOOL = frozenset(
    {"add", "subtract", "divide", "pow", "maximum", "minimum", "floordiv", "mod"}
    | {"greater", "greater_equal", "less", "less_equal", "negative", "abs", "square", "sign"}
)


def reject_bool(
    opname: str,
    hint: str = "use tv.logical_and / tv.logical_or / tv.logical_not for logic",
) -> None:
    raise TypeError(
        f"{opname} does not take bool tensors (TensorFlow has no bool kernel for it); "
        f"cast them first, e.g. tv.cast(mask, tv.int32), or {hint}"
    )


# ops that order numbers, or that TensorFlow has no complex kernel for: complex tensors are
# an error there (tapeviz.ops.complex lists the ops that do take them)
NO_COMPLEX = frozenset(
    {"maximum", "minimum", "greater", "greater_equal", "less", "less_equal", "floordiv", "mod"}
    | {"sign", "logical_and", "logical_or"}
)


_ORDERING = frozenset(
    {"maximum", "minimum", "greater", "greater_equal", "less", "less_equal", "clip_by_value"}
    | {"reduce_max", "reduce_min", "argmax", "argmin", "relu"}
)


def reject_complex(opname: str, dtype: str = "complex") -> None:
    """Raise the error for a complex tensor given to an op without a complex kernel."""
    why = " (complex numbers are not ordered)" if opname in _ORDERING else ""
    raise TypeError(
        f"{opname} does not take complex tensors ({dtype}): TensorFlow has no complex kernel "
        f"for it{why}. Apply it to real tensors instead: tv.math.real(z), tv.math.imag(z), "
        "tv.abs(z) or tv.math.angle(z)"
    )


def _unary(op: Op, *, float_only: bool = True, complex_ok: bool = False) -> Callable[..., Tensor]:
    no_bool = op.name in NO_BOOL

    def fn(x: Any, name: str | None = None) -> Tensor:
        if not isinstance(x, Tensor):
            x = convert_to_tensor(x)
        xv = x._value
        # (a float32 number, the hot case, needs no look at its dtype)
        if type(xv) is not _f32 and (kind := xv.dtype.kind) != "f":
            if kind == "c":
                if not complex_ok:
                    reject_complex(op.name, x.dtype.name)
            elif float_only:
                _require_float(op.name, x)
            elif kind == "b" and no_bool:
                reject_bool(op.name)
        return apply(op, (x,), _NO_ATTRS, name)

    fn.__name__ = op.name
    fn.__doc__ = f"{op.doc}\n\nForward: ``{op.latex}``; VJP: ``{', '.join(op.texts())}``."
    return fn


def _binary(op: Op) -> Callable[..., Tensor]:
    opname = op.name
    # a float32 array and a Python number: the number as a 0-d array for numpy's own
    # operators (a numpy scalar operand costs numpy ~0.2 µs more; the same arithmetic)
    zero_d = op.forward in _ARRAY_OPERAND_FORWARDS
    # dtype kinds this op rejects: "b" (bool scalars never take the fast path below), "c"
    rejected = ("b" if opname in NO_BOOL else "") + ("c" if opname in NO_COMPLEX else "")

    def fn(x: Any, y: Any, name: str | None = None) -> Tensor:
        if isinstance(x, Tensor):
            xv = x._value
            tx = type(xv)
            if isinstance(y, Tensor):
                yv = y._value
                # two numpy scalars of one type: same dtype, shape (), nothing to check
                if tx is not type(yv) or tx not in _SCALAR_TYPES:
                    if xv.dtype is not yv.dtype:
                        x, y = binary_args(x, y, opname)  # raises unless dtypes are equal
                        yv = y._value
                    if xv.dtype.kind in rejected:
                        _reject_kind(opname, xv.dtype)
                    if xv.shape != yv.shape:
                        _check_broadcast(opname, x, y)
            elif (type(y) is float or type(y) is int) and (
                tx in _FLOAT_SCALARS or xv.dtype.kind == "f"
            ):
                # x * 0.5, x ** 2: the number takes x's float dtype (and broadcasts); its
                # tensor is made only if a tape records the op
                if tx is _f32:
                    yv = _F32_NUMBERS.get(y) or _f32_number(y)
                elif tx in _FLOAT_SCALARS:
                    yv = tx(y)
                elif zero_d and xv.dtype is _F32_DTYPE:
                    yv = _F32_ARRAYS.get(y) or _f32_array(y)  # (x * 0.5: a 0-d array)
                else:
                    yv = xv.dtype.type(y)
                y = None
            else:
                x, y, xv, yv = _checked_pair(x, y, opname, rejected)
        elif (type(x) is float or type(x) is int) and isinstance(y, Tensor):
            yv = y._value
            ty = type(yv)
            if ty is _f32:
                xv = _F32_NUMBERS.get(x) or _f32_number(x)  # 0.01 * g
                x = None
            elif ty in _FLOAT_SCALARS:
                xv = ty(x)
                x = None
            elif yv.dtype.kind == "f":
                if zero_d and yv.dtype is _F32_DTYPE:
                    xv = _F32_ARRAYS.get(x) or _f32_array(x)  # (0.5 * x: a 0-d array)
                else:
                    xv = yv.dtype.type(x)
                x = None
            else:
                x, y, xv, yv = _checked_pair(x, y, opname, rejected)
        else:
            x, y, xv, yv = _checked_pair(x, y, opname, rejected)
        # apply's fast path: the values checked above (a Python number's tensor, None
        # here, is made only if a tape records the op)
        return apply(op, (x, y), _NO_ATTRS, name, (xv, yv))

    fn.__name__ = op.name
    fn.__doc__ = (
        f"{op.doc}\n\nBroadcasts like numpy; gradients are summed back to each input's "
        f"shape.\nForward: ``{op.latex}``; VJP: ``{'; '.join(op.texts())}``."
    )
    return fn


_NO_ATTRS: dict[str, Any] = {}
_f32 = np.float32
_F32 = np.dtype(np.float32)
_FLOAT_SCALARS = frozenset({np.float16, np.float32, np.float64})
_SCALAR_TYPES = frozenset(  # (no np.bool_: see NO_BOOL)
    {np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32}
    | {np.uint64}
    | _FLOAT_SCALARS
)


# Python numbers met as float32 operands (``x * 0.5``, ``x ** 2``), converted once: making
# a numpy scalar costs more than the multiplication.  (Zeros are not kept: 0.0 == -0.0.)
_F32_NUMBERS: dict[float, np.float32] = {}


def _f32_number(number: float) -> np.float32:
    """``np.float32(number)``, remembered for the next time."""
    return _remembered(_F32_NUMBERS, number, np.float32(number))


def _remembered(cache: dict[float, Any], number: float, value: Any) -> Any:
    """``value`` of ``number``, kept in ``cache`` for the next time (up to 1024 numbers)."""
    if number and len(cache) < 1024:
        cache[number] = value
    return value


_F32_DTYPE = np.dtype(np.float32)
_F32_ARRAYS: dict[float, np.ndarray] = {}
_ARRAY_OPERAND_FORWARDS = frozenset({operator.add, operator.sub, operator.mul})
"""Forwards that are numpy's operators alone: a Python number beside a float32 array goes
to them as a read-only 0-d array (:func:`_f32_array`); a tape or tracer sees it as the
usual numpy scalar (:func:`tapeviz.ops._registry._with_constants`)."""


def _f32_array(number: float) -> np.ndarray:
    """``number`` as a read-only 0-d float32 array, remembered for the next time."""
    value = np.array(number, np.float32)
    value.flags.writeable = False
    return _remembered(_F32_ARRAYS, number, value)


def _reject_kind(opname: str, dtype: np.dtype) -> None:
    if dtype.kind == "b":
        reject_bool(opname)
    reject_complex(opname, dtype.name)


def _checked_pair(x: Any, y: Any, opname: str, rejected: str) -> tuple[Any, Any, Any, Any]:
    """Both operands as tensors of one dtype (TensorFlow's rule), checked for bools (and
    complex values, for ops in ``rejected``) and broadcasting: the binary operators' path for
    anything but same-typed tensors and Python numbers with float tensors.  Returns the
    tensors and their values."""
    x, y = binary_args(x, y, opname)
    xv, yv = x._value, y._value
    if xv.dtype.kind in rejected:
        _reject_kind(opname, xv.dtype)
    if xv.shape != yv.shape:
        _check_broadcast(opname, x, y)
    return x, y, xv, yv


def _check_broadcast(opname: str, x: Tensor, y: Tensor) -> None:
    xs, ys = x._value.shape, y._value.shape
    if xs == ys:
        return
    try:
        np.broadcast_shapes(xs, ys)
    except ValueError:
        raise ValueError(
            f"{opname}: shapes {tuple(xs)} and {tuple(ys)} cannot be broadcast together "
            "(trailing dimensions must be equal or 1); reshape one input, e.g. with "
            "tv.reshape or tv.expand_dims"
        ) from None


def _eigen_fwd(name: str, general: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The forward of a transcendental op: float32 takes Eigen's arithmetic (TensorFlow's
    CPU kernels, and compiled code's: :mod:`tapeviz._eigen_f32`), so that eager, compiled
    and TensorFlow's results are the same bits on every processor; other dtypes numpy's
    ``general`` (quiet: inf/nan without warnings, as TensorFlow)."""

    def other(x: Any) -> Any:
        with _quiet():
            return general(x)

    return _eigen_f32.eager_function(name, other)


def _eigen_kernel(name: str, general: str, number: str = "") -> Kernel:
    """The compiled form of a transcendental op: float32 arrays take the kernel ``K.<name>32``
    (Eigen's arithmetic, as the eager forward: :func:`_eigen_fwd`) in fused loops and whole,
    float32 numbers and an array's last ``n % 8`` numbers ``K.<number>`` (TensorFlow's
    scalar code: the C library's function, as the eager forward; the kernel if not given);
    other dtypes the numba source ``general``."""

    def whole(c: KernelCall) -> str:
        if c.dtype == np.float32:
            return f"K.map32(K.{name}32, K.{number or name + '32'}, {c.args[0]})"
        return _fill_x(general, c)

    return Kernel(whole, float32=f"K.{name}32({{x}})", scalar_tail=bool(number))


def _fill_x(template: str, c: KernelCall) -> str:
    return template.replace("{x}", c.args[0]).replace("{one}", c.scalar(1))


def _fwd_quiet(f: Callable[..., Any]) -> Callable[..., Any]:
    """Numpy forward that, like TensorFlow, gives inf/nan without warnings."""

    def fwd(*xs: Any) -> Any:
        with _quiet():
            return f(*xs)

    fwd.__name__ = getattr(f, "__name__", "fwd")
    return fwd


def _is_complex(v: Any) -> bool:
    """Whether a VJP rule's value (numpy, or a Tensor on the tensor backend) is complex."""
    return type(v) not in _FLOAT_SCALARS and v.dtype.kind == "c"


def conjugate_rule(
    rule: Callable[..., tuple[Any, ...]], *, unary: bool = True
) -> Callable[..., tuple[Any, ...]]:
    """The VJP rule of a holomorphic op with real coefficients, extended to complex inputs.

    TensorFlow's convention: for a real loss L of z = x + iy, ``tape.gradient(L, z)`` is
    ∂L/∂x + i·∂L/∂y, so an op f passes back ``g · conj(f'(z))``.  The real rule computes
    ``g · f'(·)`` from the forward values; since ``f'(conj z) = conj(f'(z))`` for these ops,
    calling it with the conjugated inputs and output gives exactly that.  (``multiply``,
    ``divide`` and ``pow``, the hottest rules, do the same inline.)
    """
    if unary:

        def vjp1(k: Any, g: Any, out: Any, x: Any) -> tuple[Any, ...]:
            if type(out) in _FLOAT_SCALARS or out.dtype.kind != "c":
                return rule(k, g, out, x)
            return rule(k, g, k.conj(out), k.conj(x))

        vjp = vjp1
    else:

        def vjpn(k: Any, g: Any, out: Any, *xs: Any, **attrs: Any) -> tuple[Any, ...]:
            if out.dtype.kind == "c":
                return rule(k, g, k.conj(out), *[k.conj(x) for x in xs], **attrs)
            return rule(k, g, out, *xs, **attrs)

        vjp = vjpn
    vjp.__name__ = getattr(rule, "__name__", "vjp")
    vjp.__doc__ = rule.__doc__
    return vjp


# --- arithmetic --------------------------------------------------------------------------
# The binary rules first try the hot case of scalar training loops: two real numpy numbers
# (numpy backend), where nothing was broadcast and nothing is complex, so that the general
# code's unbroadcast and complex checks would give g's products unchanged.


def _add_vjp(k: Any, g: Any, out: Any, x: Any, y: Any) -> tuple[Any, Any]:
    # d(x+y)/dx = 1, d(x+y)/dy = 1
    if type(x) in _FLOAT_SCALARS and type(y) in _FLOAT_SCALARS:
        return g, g
    return k.unbroadcast(g, x.shape), k.unbroadcast(g, y.shape)


def _sub_vjp(k: Any, g: Any, out: Any, x: Any, y: Any) -> tuple[Any, Any]:
    # d(x-y)/dx = 1, d(x-y)/dy = -1
    if type(x) in _FLOAT_SCALARS and type(y) in _FLOAT_SCALARS:
        return g, -g
    return k.unbroadcast(g, x.shape), k.unbroadcast(-g, y.shape)


def _mul_vjp(k: Any, g: Any, out: Any, x: Any, y: Any, needs: Any = (1, 1)) -> tuple[Any, Any]:
    # d(xy)/dx = y, d(xy)/dy = x  (complex: conjugated, see conjugate_rule)
    if type(x) in _FLOAT_SCALARS and type(y) in _FLOAT_SCALARS:
        return (g * y if needs[0] else None), (x * g if needs[1] else None)
    if type(out) not in _FLOAT_SCALARS and out.dtype.kind == "c":
        x, y = k.conj(x), k.conj(y)
    gx = k.unbroadcast(g * y, x.shape) if needs[0] else None
    gy = k.unbroadcast(x * g, y.shape) if needs[1] else None
    return gx, gy


def _div_vjp(k: Any, g: Any, out: Any, x: Any, y: Any, needs: Any = (1, 1)) -> tuple[Any, Any]:
    # d(x/y)/dx = 1/y, d(x/y)/dy = -x/y²  (TensorFlow's order: g * ((-x / y) / y))
    if type(x) in _FLOAT_SCALARS and type(y) in _FLOAT_SCALARS:
        return (g / y if needs[0] else None), (g * ((-x / y) / y) if needs[1] else None)
    if type(out) not in _FLOAT_SCALARS and out.dtype.kind == "c":
        x, y = k.conj(x), k.conj(y)  # complex: see conjugate_rule
    gx = k.unbroadcast(g / y, x.shape) if needs[0] else None
    gy = k.unbroadcast(g * ((-x / y) / y), y.shape) if needs[1] else None
    return gx, gy


def _pow_may_warn(x: Any, y: Any) -> bool:
    """Whether x**y, or its VJP's x**(y-1) and log x, may be inf/nan with a numpy warning
    (pow's ``may_warn``): false only for float32/64 scalars with 1e-18 < x < 1e18 and
    0 <= y <= 2 (x**2, sqrt-like powers), the common case that may then skip
    ``np.errstate``."""
    global _pow_last
    # (asked twice per op, by the forward and by the tape recording it: the answer for the
    # last two numbers is kept; numpy scalars are immutable, so the same objects give it)
    last = _pow_last
    if last[0] is x and last[1] is y:
        return last[2]
    if type(x) in _WIDE_FLOATS and type(y) in _WIDE_FLOATS:
        f, e = float(x), float(y)  # (Python floats compare faster than numpy scalars)
        may = not (1e-18 < f < 1e18 and 0.0 <= e <= 2.0)
        _pow_last = (x, y, may)
        return may
    return True


_WIDE_FLOATS = frozenset({np.float32, np.float64})  # (float16 tops out at 65504)
_pow_last: tuple[Any, Any, bool] = (None, None, True)  # _pow_may_warn's last scalars


def _pow_fwd(x: Any, y: Any) -> Any:
    # numpy scalars take numpy's scalar power (C's powf/pow, TensorFlow's for a 0-d tensor)
    # for every y: its ufunc can differ in the last bit (0.9f ** 4: 0.6561 vs the nearer
    # 0.6560999), and x ** 2 and x ** 4 would round by different rules.  float32 arrays take
    # Eigen's generic_pow, TensorFlow's packet arithmetic (tapeviz._eigen_pow): so x ** 2 is
    # not always x * x, as in TensorFlow
    if not _pow_may_warn(x, y):
        return x**y
    with _quiet():
        if type(x) in _WIDE_FLOATS and type(x) is type(y):
            return x**y
        if getattr(x, "dtype", None) == _F32 and getattr(y, "dtype", None) == _F32:
            return _eigen_pow.pow(x, y)
        return np.power(x, y)


def _pow_vjp(k: Any, g: Any, out: Any, x: Any, y: Any, needs: Any = (1, 1)) -> tuple[Any, Any]:
    # d(x^y)/dx = y·x^(y-1);  d(x^y)/dy = x^y·log(x), taken as 0 where x <= 0 (TensorFlow)
    if not needs[1] and type(x) in _FLOAT_SCALARS and type(y) in _FLOAT_SCALARS:  # x ** 2
        if type(x) in _WIDE_FLOATS and type(y) is type(x):
            # what k.pow gives for two float32 (or float64) numbers, without its checks:
            # numpy's scalar power (warning-free here, as x ** y was, or the tape silences
            # numpy: see _pow_may_warn)
            return (g * y * x ** (y - 1) if needs[0] else None), None
        return (g * y * k.pow(x, y - 1) if needs[0] else None), None
    gx = gy = None
    if type(out) not in _FLOAT_SCALARS and out.dtype.kind == "c":
        x, y, out = k.conj(x), k.conj(y), k.conj(out)  # complex: see conjugate_rule
    if needs[0]:
        gx = k.unbroadcast(g * y * k.pow(x, y - 1), x.shape)
    if needs[1]:
        # complex x: log is defined away from 0 (TensorFlow masks x == 0 only)
        mask = k.not_equal(x, 0) if _is_complex(x) else k.greater(x, 0)
        safe_x = k.where(mask, x, k.ones_like(x))
        log_x = k.where(mask, k.log(safe_x), k.zeros_like(x))
        gy = k.unbroadcast(g * out * log_x, y.shape)
    return gx, gy


def _pow_kernel(c: KernelCall) -> str:
    # float32: Eigen's generic_pow (as eager arrays), but for the constant exponents that
    # tf.function's graph optimizer rewrites (_eigen_pow.GRAPH_POW_SOURCE); other floats: a
    # constant exponent of 1, 2, 3, 1/2, -1, -2 as multiplications, sqrt, division
    x, y = c.args
    if c.dtype.kind != "f":
        return f"{x} ** {y}"
    if c.dtype == _F32:
        graph = None
        if c.consts[1] is not None and np.ndim(c.consts[1]) == 0:
            graph = _eigen_pow.GRAPH_POW_SOURCE.get(float(c.consts[1]))
        if graph is not None:  # (as tf.function: TensorFlow's graph rewrite of x ** c)
            return graph.replace("{x}", x).replace("{one}", c.scalar(1))
        return f"K.pow32({x}, {y})"
    if c.consts[1] is not None and np.ndim(c.consts[1]) == 0:
        short = {
            1.0: f"{x}",
            2.0: f"{x} * {x}",
            3.0: f"{x} * {x} * {x}",
            0.5: f"np.sqrt({x})",
            -1.0: f"{c.scalar(1)} / {x}",
            -2.0: f"{c.scalar(1)} / ({x} * {x})",
        }.get(float(c.consts[1]))
        if short is not None:
            return short
    return f"np.power({x}, {y})"


add_op = register(
    Op(
        "add",
        operator.add,  # x + y
        _add_vjp,
        "+",
        "x + y",
        ("{g}", "{g}"),
        "Elementwise x + y.",
        elementwise=True,
        kernel=Kernel("{x} + {y}", widens_ints=True),
        broadcasts=True,
    )
)
sub_op = register(
    Op(
        "subtract",
        operator.sub,  # x - y
        _sub_vjp,
        "−",
        "x - y",
        ("{g}", "-{g}"),
        "Elementwise x - y.",
        elementwise=True,
        kernel=Kernel("{x} - {y}", widens_ints=True),
        broadcasts=True,
    )
)
mul_op = register(
    Op(
        "multiply",
        operator.mul,  # x * y
        _mul_vjp,
        "×",
        r"x \cdot y",
        ("{g} · {y}", "{x} · {g}"),
        "Elementwise x * y.",
        elementwise=True,
        kernel=Kernel("{x} * {y}", widens_ints=True),
        takes_needs=True,
        broadcasts=True,
    )
)
div_op = register(
    Op(
        "divide",
        _fwd_quiet(lambda x, y: x / y),
        _div_vjp,
        "÷",
        r"\frac{x}{y}",
        ("{g} / {y}", "{g} · (−{x} / {y}) / {y}"),
        "Elementwise x / y (true division).",
        elementwise=True,
        kernel=Kernel("{x} / {y}"),
        takes_needs=True,
        may_warn=True,
        broadcasts=True,
    )
)
pow_op = register(
    Op(
        "pow",
        _pow_fwd,
        _pow_vjp,
        "^",
        "x^{y}",
        ("{g} · {y} · {x}^({y}−1)", "{g} · {out} · log {x}"),
        "Elementwise x ** y.",
        takes_needs=True,
        may_warn=_pow_may_warn,
        broadcasts=True,
        elementwise=True,
        kernel=Kernel(_pow_kernel, widens_ints=True, scalar_tail=True),
    )
)

add = _binary(add_op)
subtract = _binary(sub_op)
multiply = _binary(mul_op)
pow = _binary(pow_op)  # TensorFlow's name
_divide_float = _binary(div_op)


def divide(x: Any, y: Any, name: str | None = None) -> Tensor:
    """Elementwise true division ``x / y``; integer tensors divide to float64 (int32)
    or float32 (int8/int16), as in TensorFlow.

    >>> import tapeviz as tv
    >>> tv.constant(1) / tv.constant(2)
    <tv.Tensor: shape=(), dtype=float64, numpy=0.5>
    """
    xt, yt = binary_args(x, y, "divide")
    if xt._value.dtype.kind == "b":
        reject_bool("divide")
    if xt.dtype.is_integer:
        target = dtypes.float32 if xt.dtype.np.itemsize <= 2 else dtypes.float64
        xt, yt = cast(xt, target), cast(yt, target)
    return _divide_float(xt, yt, name=name)


truediv = divide


def negative(x: Any, name: str | None = None) -> Tensor:
    """Elementwise -x."""
    x = convert_to_tensor(x)
    if x._value.dtype.kind == "b":
        reject_bool("negative")
    return apply(neg_op, (x,), {}, name=name)


neg_op = register(
    Op(
        "negative",
        lambda x: -x,
        lambda k, g, out, x: (-g,),
        "−",
        "-x",
        ("-{g}",),
        "Elementwise -x.",
        elementwise=True,
        kernel=Kernel("-{x}", widens_ints=True),
    )
)


def _square_vjp(k: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    # d/dx x² = 2x  (TensorFlow: g * (x * 2))
    return (g * (x * 2),)


square = _unary(
    register(
        Op(
            "square",
            lambda x: x * x,
            conjugate_rule(_square_vjp),
            "x²",
            "x^2",
            ("{g} · 2·{x}",),
            "Elementwise x².",
            elementwise=True,
            kernel=Kernel("{x} * {x}", widens_ints=True),
        )
    ),
    float_only=False,
    complex_ok=True,
)


def _sqrt_vjp(k: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    # d/dx √x = 1 / (2√x)  (TensorFlow's SqrtGrad: 0.5 * g / out; inf at 0).  Where g is 0
    # the result is 0, as in TensorFlow, so tv.where(x > 0, tv.sqrt(x), 0.) has no NaN.
    return (_zero_where_g_is_zero(k, g, (g * 0.5) / out),)


def _zero_where_g_is_zero(k: Any, g: Any, grad: Any) -> Any:
    # TensorFlow's SqrtGrad and ReciprocalGrad return 0 where the incoming adjoint is 0
    # (instead of 0 · inf = NaN); log, pow and divide do not.
    return k.where(k.equal(g, 0), k.zeros_like(grad), grad)


sqrt = _unary(
    register(
        Op(
            "sqrt",
            _fwd_quiet(np.sqrt),
            conjugate_rule(_sqrt_vjp),
            "√",
            r"\sqrt{x}",
            ("0.5·{g} / {out}",),
            "Elementwise square root.",
            elementwise=True,
            kernel=Kernel("np.sqrt({x})"),
            may_warn=True,
        )
    ),
    complex_ok=True,
)
exp = _unary(
    register(
        Op(
            "exp",
            _eigen_fwd("exp", np.exp),
            conjugate_rule(lambda k, g, out, x: (g * out,)),  # d/dx eˣ = eˣ
            "exp",
            "e^{x}",
            ("{g} · {out}",),
            "Elementwise eˣ.",
            elementwise=True,
            kernel=_eigen_kernel("exp", "np.exp({x})", "expf"),
            may_warn=True,
        )
    ),
    complex_ok=True,
)
reciprocal = _unary(
    register(
        Op(
            "reciprocal",
            _fwd_quiet(lambda x: 1 / x),
            # d/dx 1/x = -1/x²  (0 where g is 0, as TensorFlow's ReciprocalGrad)
            conjugate_rule(lambda k, g, out, x: (_zero_where_g_is_zero(k, g, -g * (out * out)),)),
            "1/x",
            r"\frac{1}{x}",
            ("−{g} · {out}²",),
            "Elementwise 1/x.",
            elementwise=True,
            kernel=Kernel("{one} / {x}"),
            may_warn=True,
        )
    ),
    complex_ok=True,
)
log = _unary(
    register(
        Op(
            "log",
            _eigen_fwd("log", np.log),
            conjugate_rule(lambda k, g, out, x: (g * k.reciprocal(x),)),  # d/dx log x = 1/x
            "log",
            r"\log x",
            ("{g} · 1/{x}",),
            "Elementwise natural logarithm.",
            elementwise=True,
            kernel=_eigen_kernel("log", "np.log({x})", "logf"),
            may_warn=True,
        )
    ),
    complex_ok=True,
)
expm1 = _unary(
    register(
        Op(
            "expm1",
            _fwd_quiet(np.expm1),
            conjugate_rule(lambda k, g, out, x: (g * k.exp(x),)),  # d/dx (eˣ − 1) = eˣ
            "expm1",
            "e^{x} - 1",
            ("{g} · e^{x}",),
            "Elementwise eˣ − 1, exact for small x (no cancellation).",
            elementwise=True,
            kernel=Kernel("np.expm1({x})"),
            may_warn=True,
        )
    ),
    complex_ok=True,
)
log1p = _unary(
    register(
        Op(
            "log1p",
            _fwd_quiet(np.log1p),
            # d/dx log(1 + x) = 1/(1 + x)  (TensorFlow: g · reciprocal(1 + x))
            conjugate_rule(lambda k, g, out, x: (g * k.reciprocal(x + 1.0),)),
            "log1p",
            r"\log(1 + x)",
            ("{g} · 1/(1 + {x})",),
            "Elementwise log(1 + x), exact for small x.",
            elementwise=True,
            kernel=Kernel("np.log1p({x})"),
            may_warn=True,
        )
    ),
    complex_ok=True,
)
sin = _unary(
    register(
        Op(
            "sin",
            _eigen_fwd("sin", np.sin),
            conjugate_rule(lambda k, g, out, x: (g * k.cos(x),)),  # d/dx sin x = cos x
            "sin",
            r"\sin x",
            ("{g} · cos {x}",),
            "Elementwise sine.",
            elementwise=True,
            kernel=_eigen_kernel("sin", "np.sin({x})", "sinf"),
        )
    ),
    complex_ok=True,
)
cos = _unary(
    register(
        Op(
            "cos",
            _eigen_fwd("cos", np.cos),
            conjugate_rule(lambda k, g, out, x: (-g * k.sin(x),)),  # d/dx cos x = -sin x
            "cos",
            r"\cos x",
            ("−{g} · sin {x}",),
            "Elementwise cosine.",
            elementwise=True,
            kernel=_eigen_kernel("cos", "np.cos({x})", "cosf"),
        )
    ),
    complex_ok=True,
)
tanh = _unary(
    register(
        Op(
            "tanh",
            _eigen_fwd("tanh", np.tanh),
            conjugate_rule(
                lambda k, g, out, x: (g * (1 - out * out),)
            ),  # d/dx tanh x = 1 - tanh² x
            "tanh",
            r"\tanh x",
            ("{g} · (1 − {out}²)",),
            "Elementwise hyperbolic tangent.",
            elementwise=True,
            kernel=_eigen_kernel("tanh", "np.tanh({x})"),
        )
    ),
    complex_ok=True,
)


def _sigmoid_fwd(x: Any) -> Any:
    # 1 / (1 + e^-x) (float64 and complex; float32 takes Eigen's logistic function)
    return 1 / (1 + np.exp(-x))


sigmoid = _unary(
    register(
        Op(
            "sigmoid",
            _eigen_fwd("sigmoid", _sigmoid_fwd),
            conjugate_rule(lambda k, g, out, x: (g * out * (1 - out),)),  # σ' = σ(1-σ)
            "σ",
            r"\sigma(x) = \frac{1}{1+e^{-x}}",
            ("{g} · {out} · (1 − {out})",),
            "Elementwise logistic sigmoid.",
            elementwise=True,
            kernel=_eigen_kernel("sigmoid", "{one} / ({one} + np.exp(-{x}))", "sigmoidf"),
        )
    ),
    complex_ok=True,
)

sign = _unary(
    register(
        Op(
            "sign",
            np.sign,
            lambda k, g, out, x: (k.zeros_like(x),),  # piecewise constant: derivative 0
            "sign",
            r"\mathrm{sign}(x)",
            ("0",),
            "Elementwise sign (-1, 0 or 1).",
            elementwise=True,
            kernel=Kernel("np.sign({x})", widens_ints=True),
        )
    ),
    float_only=False,
)
_real_abs = _unary(
    register(
        Op(
            "abs",
            np.abs,
            lambda k, g, out, x: (g * k.sign(x),),  # d/dx |x| = sign(x), 0 at 0
            "|x|",
            "|x|",
            ("{g} · sign({x})",),
            "Elementwise absolute value.",
            elementwise=True,
            kernel=Kernel("np.abs({x})", widens_ints=True),
        )
    ),
    float_only=False,
)


def _complex_abs_vjp(k: Any, g: Any, out: Any, z: Any) -> tuple[Any]:
    # |z| = √(x² + y²): ∂/∂x = x/|z|, ∂/∂y = y/|z|, so (TensorFlow's convention, see
    # conjugate_rule) the gradient is g·z/|z|; 0 at z = 0, as TensorFlow's div_no_nan
    at_zero = k.equal(out, 0)
    scale = k.where(at_zero, k.zeros_like(g), g / k.where(at_zero, k.ones_like(out), out))
    return (k.complex(scale * k.real(z), scale * k.imag(z)),)


# complex values have no numba kernels: tv.function runs programs that compute with them on
# the numpy interpreter (tapeviz.compiler.tf_function._computes_with_complex)
NO_COMPLEX_KERNELS = (
    "complex values: the numba code generator has no complex kernels, so the numpy interpreter "
    "runs them"
)


complex_abs_op = register(
    Op(
        "complex_abs",
        np.abs,
        _complex_abs_vjp,
        "|z|",
        "|z|",
        ("{g} · {x} / |{x}|",),
        "Magnitude √(re² + im²) of a complex tensor (a real tensor).",
        interpreter_only=NO_COMPLEX_KERNELS,
    )
)


def abs(x: Any, name: str | None = None) -> Tensor:
    """Elementwise absolute value; of a complex tensor its magnitude, a real tensor
    (complex64 -> float32), as in TensorFlow.

    >>> import tapeviz as tv
    >>> tv.abs(tv.constant(3 + 4j))
    <tv.Tensor: shape=(), dtype=float64, numpy=5.0>
    """
    if not isinstance(x, Tensor):
        x = convert_to_tensor(x)
    if x._value.dtype.kind == "c":
        return apply(complex_abs_op, (x,), _NO_ATTRS, name)
    return _real_abs(x, name)


# --- comparisons and selection (no gradient) -------------------------------------------
def _compare(
    name: str, f: Callable[[Any, Any], Any], symbol: str, kernel: Kernel | None
) -> Callable[..., Tensor]:
    op = register(
        Op(
            name,
            f,
            None,
            symbol,
            f"x {symbol} y",
            (),
            f"Elementwise x {symbol} y.",
            elementwise=True,
            kernel=kernel,
        )
    )
    return _binary(op)


def _predicate(expr: str, numpy: str = "") -> Kernel:
    return Kernel(expr, numpy=numpy, predicate=True)


equal = _compare("equal", lambda x, y: np.equal(x, y), "==", _predicate("{x} == {y}"))
not_equal = _compare("not_equal", lambda x, y: np.not_equal(x, y), "!=", _predicate("{x} != {y}"))
greater = _compare("greater", lambda x, y: np.greater(x, y), ">", _predicate("{x} > {y}"))
greater_equal = _compare(
    "greater_equal", lambda x, y: np.greater_equal(x, y), ">=", _predicate("{x} >= {y}")
)
less = _compare("less", lambda x, y: np.less(x, y), "<", _predicate("{x} < {y}"))
less_equal = _compare(
    "less_equal", lambda x, y: np.less_equal(x, y), "<=", _predicate("{x} <= {y}")
)
logical_and = _compare(
    "logical_and",
    lambda x, y: np.logical_and(x, y),
    "∧",
    _predicate("({x} and {y})", numpy="np.logical_and({x}, {y})"),
)
logical_or = _compare(
    "logical_or",
    lambda x, y: np.logical_or(x, y),
    "∨",
    _predicate("({x} or {y})", numpy="np.logical_or({x}, {y})"),
)


def integer_division_by_zero(opname: str, symbol: str, where: str) -> str:
    """The message of an integer ``floordiv``/``mod`` by zero (TensorFlow's InvalidArgumentError
    "Integer division by zero"); ``where`` says where the zero is."""
    return (
        f"Integer division by zero in {opname} (x {symbol} y) of integer tensors: {where} "
        "(TensorFlow raises this error too). To get inf/nan instead, divide floats: "
        f"tv.cast(x, tv.float32) {symbol} tv.cast(y, tv.float32); or keep the zeros out: "
        "tv.where(y == 0, tv.ones_like(y), y)."
    )


def _integer_division(name: str, symbol: str, f: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    """Forward of ``floordiv``/``mod``: numpy's, but an integer zero divisor raises (numpy
    would give 0 with a warning; TensorFlow raises InvalidArgumentError)."""
    quiet = _fwd_quiet(f)

    def fwd(x: Any, y: Any) -> Any:
        y_arr = np.asarray(y)
        if y_arr.dtype.kind in "iu" and not y_arr.all():
            where = "y is 0"
            if y_arr.ndim:
                zeros = np.argwhere(y_arr == 0)
                at = tuple(int(i) for i in zeros[0])
                more = len(zeros) - 1
                where = f"y is 0 at index {at}" + (
                    f" and {more} more place{'s' if more > 1 else ''}" if more else ""
                )
            raise InvalidArgumentError(integer_division_by_zero(name, symbol, where))
        return quiet(x, y)

    fwd.__name__ = name
    return fwd


# No kernel: an integer zero divisor must raise before anything is computed, as the eager
# op does, so the compiler lowers floordiv and mod whole (the check reads the whole
# divisor) and they end a fused loop.
floordiv = _compare("floordiv", _integer_division("floordiv", "//", np.floor_divide), "//", None)
mod = _compare("mod", _integer_division("mod", "%", np.mod), "%", None)
_logical_not_op = register(
    Op(
        "logical_not",
        np.logical_not,
        None,
        "¬",
        r"\lnot x",
        (),
        "Elementwise not.",
        elementwise=True,
        kernel=_predicate("(not {x})", numpy="np.logical_not({x})"),
    )
)


def logical_not(x: Any, name: str | None = None) -> Tensor:
    """Elementwise logical not of a bool tensor."""
    return apply(_logical_not_op, (convert_to_tensor(x),), {}, name=name)


def _maximum_vjp(k: Any, g: Any, out: Any, x: Any, y: Any) -> tuple[Any, Any]:
    # the larger input gets the gradient; ties go to x (TensorFlow: x >= y)
    xmask = k.greater_equal(x, y)
    zeros = k.zeros_like(g)
    return (
        k.unbroadcast(k.where(xmask, g, zeros), x.shape),
        k.unbroadcast(k.where(xmask, zeros, g), y.shape),
    )


def _minimum_vjp(k: Any, g: Any, out: Any, x: Any, y: Any) -> tuple[Any, Any]:
    # the smaller input gets the gradient; ties go to x (TensorFlow: x <= y)
    xmask = k.less_equal(x, y)
    zeros = k.zeros_like(g)
    return (
        k.unbroadcast(k.where(xmask, g, zeros), x.shape),
        k.unbroadcast(k.where(xmask, zeros, g), y.shape),
    )


maximum = _binary(
    register(
        Op(
            "maximum",
            lambda x, y: np.maximum(x, y),
            _maximum_vjp,
            "max",
            r"\max(x, y)",
            ("{g} where {x} ≥ {y}", "{g} where {x} < {y}"),
            "Elementwise maximum (ties: the gradient goes to x).",
            elementwise=True,
            kernel=Kernel("np.maximum({x}, {y})"),
            broadcasts=True,
        )
    )
)
minimum = _binary(
    register(
        Op(
            "minimum",
            lambda x, y: np.minimum(x, y),
            _minimum_vjp,
            "min",
            r"\min(x, y)",
            ("{g} where {x} ≤ {y}", "{g} where {x} > {y}"),
            "Elementwise minimum (ties: the gradient goes to x).",
            elementwise=True,
            kernel=Kernel("np.minimum({x}, {y})"),
            broadcasts=True,
        )
    )
)


def _where_fwd(c: Any, x: Any, y: Any) -> Any:
    return np.where(c, x, y)


def _where_vjp(k: Any, g: Any, out: Any, c: Any, x: Any, y: Any) -> tuple[Any, Any, Any]:
    # the selected branch gets g, the other 0 — note: 0·nan is still nan (TensorFlow too)
    zeros = k.zeros_like(g)
    return (
        None,
        k.unbroadcast(k.where(c, g, zeros), x.shape),
        k.unbroadcast(k.where(c, zeros, g), y.shape),
    )


where_op = register(
    Op(
        "where",
        _where_fwd,
        _where_vjp,
        "?:",
        r"c \,?\, x : y",
        ("", "{g} where c", "{g} where ¬c"),
        "Pick x where the condition holds, else y.",
        nondiff_inputs=(0,),
        may_warn=True,
        broadcasts=True,
        elementwise=True,
        kernel=Kernel("K.select({x}, {y}, {z})"),
    )
)


def where(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> Tensor:
    """Elementwise selection ``x if condition else y`` (broadcasting), as ``tf.where``.

    The unselected branch is still computed: if it is ``nan`` or ``inf`` (``log`` of a
    negative number, say), its gradient ``0 · inf`` is ``nan`` and leaks into the result,
    exactly as in TensorFlow.  Make the unselected input safe instead (see the notebooks).
    """
    c = convert_to_tensor(condition)
    if x is None and y is None:
        return Tensor._wrap(np.argwhere(c._value).astype(np.int64))
    if x is None or y is None:
        raise ValueError("where: give both x and y (or neither, to get the true indices)")
    if not c.dtype.is_bool:
        raise TypeError(f"where: the condition must be a bool tensor, got {c.dtype.name}")
    xt, yt = binary_args(x, y, "where")
    try:
        np.broadcast_shapes(c._value.shape, xt._value.shape, yt._value.shape)
    except ValueError:
        raise ValueError(
            f"where: condition {c.shape}, x {xt.shape} and y {yt.shape} cannot be broadcast "
            "together"
        ) from None
    return apply(where_op, (c, xt, yt), {}, name=name)


def _clip_vjp(k: Any, g: Any, out: Any, x: Any, lo: Any, hi: Any) -> tuple[Any, Any, Any]:
    # the gradient passes where lo <= x <= hi (bounds included, as TensorFlow)
    zeros = k.zeros_like(g)
    inside = k.logical_and(k.greater_equal(x, lo), k.less_equal(x, hi))
    below = k.less(x, lo)
    above = k.greater(x, hi)
    return (
        k.unbroadcast(k.where(inside, g, zeros), x.shape),
        k.unbroadcast(k.where(below, g, zeros), lo.shape),
        k.unbroadcast(k.where(above, g, zeros), hi.shape),
    )


clip_op = register(
    Op(
        "clip_by_value",
        lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
        _clip_vjp,
        "clip",
        r"\min(\max(x, lo), hi)",
        ("{g} where {y} ≤ {x} ≤ {z}", "{g} where {x} < {y}", "{g} where {x} > {z}"),
        "Clamp x to [lo, hi].",
        broadcasts=True,
        elementwise=True,
        kernel=Kernel("np.minimum(np.maximum({x}, {y}), {z})"),
    )
)


def clip_by_value(
    t: Any, clip_value_min: Any, clip_value_max: Any, name: str | None = None
) -> Tensor:
    """Clamp ``t`` to ``[clip_value_min, clip_value_max]``; the gradient passes at the bounds."""
    x = convert_to_tensor(t)
    if x.dtype.is_complex:
        reject_complex("clip_by_value", x.dtype.name)
    _, lo = binary_args(x, clip_value_min, "clip_by_value")
    _, hi = binary_args(x, clip_value_max, "clip_by_value")
    return apply(clip_op, (x, lo, hi), {}, name=name)


# --- casts and identities ----------------------------------------------------------------
def _cast_vjp(k: Any, g: Any, out: Any, x: Any, dtype: str) -> tuple[Any]:
    # a cast between float or complex types passes the gradient (cast back: complex -> real
    # keeps the real part of g, real -> complex gives g + 0i); to/from ints: none
    if np.dtype(dtype).kind not in "fc" or np.dtype(_dtype_name(x)).kind not in "fc":
        return (None,)
    return (k.cast(g, dtype=_dtype_name(x)),)


def _cast_fwd(x: Any, dtype: str) -> Any:
    if x.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        x = np.real(x)  # complex -> real keeps the real part (numpy would warn)
    return np.asarray(x).astype(dtype)[()] if np.ndim(x) == 0 else x.astype(dtype)


def _dtype_name(x: Any) -> str:
    d = x.dtype
    return d.name if isinstance(d, dtypes.DType) else np.dtype(d).name


def _cast_kernel(c: KernelCall) -> str:
    # to bool: "is not zero"; else numba's conversion (float→int truncates toward zero)
    if c.dtype.kind == "b":
        return f"({c.args[0]} != 0)"
    return f"np.{c.dtype.name}({c.args[0]})"


cast_op = register(
    Op(
        "cast",
        _cast_fwd,
        _cast_vjp,
        "cast",
        r"\mathrm{cast}(x)",
        ("cast({g})",),
        "Convert to another dtype.",
        elementwise=True,
        kernel=Kernel(_cast_kernel),
    )
)


def cast(x: Any, dtype: Any, name: str | None = None) -> Tensor:
    """``x`` converted to ``dtype`` (float→int truncates toward zero, as TensorFlow;
    complex→real keeps the real part, with TensorFlow's warning)."""
    t = convert_to_tensor(x)
    d = dtypes.as_dtype(dtype)
    if t._value.dtype == d.np:
        return identity(t, name=name) if name else t
    if t.dtype.is_complex and not d.is_complex:
        warnings.warn(
            f"You are casting an input of type {t.dtype.name} to an incompatible dtype "
            f"{d.name}. This will discard the imaginary part and may not be what you "
            "intended (TensorFlow's warning); tv.math.real / tv.math.imag say so explicitly.",
            stacklevel=2,
        )
    return apply(cast_op, (t,), {"dtype": d.name}, name=name)


identity_op = register(
    Op(
        "identity",
        lambda x: x,
        lambda k, g, out, x: (g,),  # d/dx x = 1
        "id",
        "x",
        ("{g}",),
        "Return the input unchanged (recorded: a read of a Variable).",
        elementwise=True,
        kernel=Kernel("{x}"),
    )
)


def identity(input: Any, name: str | None = None) -> Tensor:
    """A Tensor with the same value; reading a Variable this way is recorded."""
    return apply(identity_op, (convert_to_tensor(input),), {}, name=name)


def stop_gradient(input: Any, name: str | None = None) -> Tensor:
    """The same value, cut off from every tape: no gradient flows through it.

    >>> import tapeviz as tv
    >>> x = tv.Variable(2.0)
    >>> with tv.GradientTape() as tape:
    ...     y = x * tv.stop_gradient(x)
    >>> print(tape.gradient(y, x))
    tv.Tensor(2.0, shape=(), dtype=float32)
    """
    t = convert_to_tensor(input)

    if _state.local.tracer is not None:
        return _state.local.tracer.stop_gradient(t)
    return _named(Tensor._wrap(t._value), name)
