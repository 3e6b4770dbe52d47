"""Escape hatches: ``custom_gradient`` (your own VJP), ``numpy_function`` (plain numpy, no
gradient), ``name_scope`` (group ops under a name in drawings)."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import _state, dtypes
from .ops._registry import NUMPY, Op, register
from .tape import GradientTape, hidden_from_tapes
from .tensor import Tensor, Variable, convert_to_tensor

__all__ = ["custom_gradient", "numpy_function", "name_scope"]


def _custom_vjp(
    k: Any, g: Any, out: Any, *inputs: Any, grad_fn: Any, n_inputs: int, fname: str
) -> tuple[Any, ...]:
    # the user's grad_fn is the rule; in tensor mode its ops are recorded (higher order)
    numpy_mode = k is NUMPY
    gt = Tensor._wrap(g) if numpy_mode else g
    variables = [v for v in inputs[n_inputs:]]
    if variables:
        res = grad_fn(gt, variables=variables)
        if not (isinstance(res, tuple | list) and len(res) == 2):
            raise TypeError(
                f"custom_gradient {fname}: f uses variables, so its grad_fn must return "
                "(input_grads, variable_grads)"
            )
        in_grads, var_grads = res
        in_grads = list(in_grads) if isinstance(in_grads, list | tuple) else [in_grads]
        grads = in_grads + list(var_grads)
    else:
        res = grad_fn(gt)
        grads = list(res) if isinstance(res, list | tuple) else [res]
    if len(grads) != len(inputs):
        raise ValueError(
            f"custom_gradient {fname}: grad_fn returned {len(grads)} gradient(s) for "
            f"{len(inputs)} input(s); return one per input (None for none)"
        )
    out_grads: list[Any] = []
    for x, gi in zip(inputs, grads, strict=True):
        if gi is None:
            out_grads.append(None)
            continue
        gt_i = gi if isinstance(gi, Tensor) else convert_to_tensor(gi, dtype=_dt(x))
        if tuple(gt_i.shape) != tuple(np.shape(x)):
            raise ValueError(
                f"custom_gradient {fname}: grad_fn returned shape {tuple(gt_i.shape)} for an "
                f"input of shape {tuple(np.shape(x))}"
            )
        out_grads.append(gt_i._value if numpy_mode else gt_i)
    return tuple(out_grads)


def _dt(x: Any) -> Any:
    return x.dtype if isinstance(x, Tensor) else dtypes.from_numpy(np.asarray(x).dtype)


_custom_op = register(
    Op(
        "custom_gradient",
        lambda *xs, **attrs: None,
        _custom_vjp,
        "f",
        "f(x)",
        lambda attrs, n: tuple(
            f"{attrs.get('fname', 'f')}.grad_fn({{g}})[{i}]"
            if n > 1
            else f"{attrs.get('fname', 'f')}.grad_fn({{g}})"
            for i in range(n)
        ),
        "A function with a user-written gradient (tv.custom_gradient).",
        interpreter_only="tv.function traces the ops of f and of grad_fn instead: it is "
        "never an equation of a program",
    )
)


def custom_gradient(f: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: ``f(*x)`` returns ``(y, grad_fn)``; ``grad_fn(dy)`` returns ∂L/∂x.

    The ops inside ``f`` are not recorded; the tape records one ``custom_gradient`` op
    whose VJP is your ``grad_fn``.  ``grad_fn`` itself runs on tapeviz ops, so an outer
    tape records it and second derivatives work.  If ``f`` reads Variables, ``grad_fn``
    must accept ``variables=`` and return ``(input_grads, variable_grads)``.

    >>> import tapeviz as tv
    >>> @tv.custom_gradient
    ... def clip_grad_norm_identity(x):
    ...     def grad_fn(dy):
    ...         return tv.clip_by_value(dy, -1.0, 1.0)
    ...     return tv.identity(x), grad_fn
    >>> x = tv.Variable(2.0)
    >>> with tv.GradientTape() as tape:
    ...     y = clip_grad_norm_identity(x) * 10.0
    >>> print(tape.gradient(y, x))
    tv.Tensor(1.0, shape=(), dtype=float32)
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        local = _state.local
        if local.tracer is not None:
            return local.tracer.custom_gradient(f, args, kwargs)
        return run_custom_gradient(f, args, kwargs, lambda y: Tensor._wrap(y._value))

    return wrapper


def run_custom_gradient(
    f: Callable[..., Any],
    args: Any,
    kwargs: Any,
    wrap_output: Callable[[Tensor], Tensor],
    exclude: Any = None,
) -> Tensor:
    """Run ``f`` hidden from the tapes (watching which Variables it reads), then let every
    recording tape (but ``exclude``) record one ``custom_gradient`` op whose VJP is f's
    ``grad_fn``.  ``wrap_output`` makes the output tensor (eager or, in tv.function,
    symbolic)."""
    fname = getattr(f, "__name__", "f")
    xs = [convert_to_tensor(a) for a in args]
    watcher = GradientTape()
    with hidden_from_tapes(keep=exclude, watcher=watcher) as recording:
        result = f(*xs, **kwargs)
    if not (isinstance(result, tuple) and len(result) == 2 and callable(result[1])):
        raise TypeError(f"custom_gradient: {fname} must return (y, grad_fn)")
    y, grad_fn = result
    out = wrap_output(convert_to_tensor(y))
    # variables passed as arguments are inputs; grad_fn owes gradients for the others
    arg_ids = {x._id for x in xs}
    variables = [v for v in watcher.watched_variables() if v._id not in arg_ids]
    _check_grad_fn(grad_fn, variables, fname)
    inputs = xs + variables
    attrs = {"grad_fn": grad_fn, "n_inputs": len(xs), "fname": fname}
    for t in recording:
        t._record_custom(_custom_op, inputs, out, attrs)
    return out


def _check_grad_fn(grad_fn: Any, variables: list[Variable], fname: str) -> None:
    if not variables:
        return
    try:
        params = inspect.signature(grad_fn).parameters
    except (TypeError, ValueError):
        return
    if "variables" not in params and not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        names = ", ".join(v.name for v in variables)
        raise TypeError(
            f"custom_gradient {fname}: f reads the variables [{names}], so grad_fn must accept "
            "a `variables=` keyword argument and return (input_grads, variable_grads)"
        )


NUMPY_FUNCTION_IN_FUNCTION = (
    "tv.numpy_function is not supported inside tv.function: compiled code cannot call "
    "Python/numpy functions at run time, and running it once while tracing would freeze "
    "its result into the program. Call it outside the tv.function and pass its result in "
    "as an argument, or write the computation with tapeviz ops (with tv.custom_gradient "
    "if it needs your own gradient)."
)


def numpy_function(
    func: Callable[..., Any], inp: Any, Tout: Any, stateful: bool = True, name: Any = None
) -> Any:
    """Run plain numpy code on the values of ``inp``; the result has **no gradient**.

    Like ``tf.numpy_function``: the tape cannot see inside ``func``, so gradients through
    it are ``None``.  To differentiate numpy code, wrap it in :func:`custom_gradient` and
    write its backward pass.  Not available inside :func:`tapeviz.function` (an error
    says so): call it outside and pass the result in.
    """
    tracer = _state.local.tracer
    if tracer is not None:
        raise tracer.value_error(NUMPY_FUNCTION_IN_FUNCTION)
    values = [np.asarray(convert_to_tensor(x)._value) for x in inp]
    result = func(*values)
    if isinstance(Tout, list | tuple):
        if not isinstance(result, list | tuple) or len(result) != len(Tout):
            raise ValueError(
                f"numpy_function: Tout lists {len(Tout)} outputs but func returned {result!r}"
            )
        return [_to_tensor_of(r, d) for r, d in zip(result, Tout, strict=True)]
    return _to_tensor_of(result, Tout)


def _to_tensor_of(value: Any, dtype: Any) -> Tensor:
    d = dtypes.as_dtype(dtype)
    arr = np.asarray(value)
    if arr.dtype != d.np:
        raise TypeError(
            f"numpy_function: func returned {arr.dtype} but Tout is {d.name}; make them agree "
            f"(e.g. return arr.astype(np.{d.name}))"
        )
    return Tensor._wrap(arr.copy())


@contextlib.contextmanager
def name_scope(name: str) -> Iterator[str]:
    """Group ops (and Variables' names) under ``name``, as ``tf.name_scope``.

    Drawings show each scope as a cluster that can be collapsed.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("name_scope: the name must be a non-empty string")
    local = _state.local
    saved = local.scope
    local.scopes.append(name)
    local.scope = saved + name + "/"
    try:
        yield local.scope
    finally:
        local.scopes.pop()
        local.scope = saved
