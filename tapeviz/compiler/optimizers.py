"""Keras optimizers inside ``tv.function``: an update step as equations of the program.

Eagerly, ``optimizer.apply_gradients`` computes in numpy (``tapeviz.keras.optimizers``):
per call the step's scalars (``_coefficients``: learning rate, Adam's bias-corrected
``alpha``...), then per variable the update rule (``_update``).  While tracing,
``apply_gradients`` hands over to :func:`apply_gradients` here:

* the update rule is the optimizer's own ``_update``, called with symbolic tensors
  instead of numpy values — it is written with operators and ``np.sqrt``/``np.maximum``,
  which tapeviz tensors turn into ops, so the rule is traced, not copied;
* the step's scalars depend on ``iterations``, which changes at run time: they come from
  the optimizer's own ``_coefficients(dtype, k)`` too, run with :class:`TracedScalars` as
  ``k`` — its operations are tapeviz ops (scalar powers through libm's ``powf`` with
  subnormals flushed to zero, as TensorFlow and ``tapeviz.keras._f32`` do), so the
  formulas are written once, in ``tapeviz.keras.optimizers``;
* the new values go to the variables, the slots and ``iterations`` with ``assign``.

Ops run here are hidden from recording tapes, as eager optimizer steps are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops import math as m
from ..ops._registry import TENSOR
from ..tape import hidden_from_tapes
from ..tensor import Tensor, Variable

__all__ = ["apply_gradients"]

TINY32 = float(np.finfo(np.float32).tiny)
TINY64 = float(np.finfo(np.float64).tiny)


def _const(value: Any, dtype: Any) -> Tensor:
    return Tensor._wrap(np.dtype(dtype).type(value))


def _cast(x: Tensor, dtype: Any) -> Tensor:
    return x if x._value.dtype == np.dtype(dtype) else m.cast(x, np.dtype(dtype).name)


def _flush(p: Tensor) -> Tensor:
    """Subnormals flushed to zero, as ``tapeviz.keras._f32`` (TensorFlow's CPU mode)."""
    tiny = TINY32 if p._value.dtype == np.float32 else TINY64
    return m.where(m.less(m.abs(p), tiny), p * 0.0, p)


def _pow(x: Tensor, y: Tensor) -> Tensor:
    """``tapeviz.keras._f32.pow``: libm's pow of scalars, subnormals flushed to zero."""
    return _flush(m.pow(x, y))


def _hyper(opt: Any, name: str, dtype: Any) -> Tensor:
    """``Optimizer._hyper_value`` as a tensor (a hyperparameter Variable is read at run time)."""
    from ..keras.optimizers import _as_number

    value = opt._hyper_setting(name)
    if isinstance(value, Tensor):
        return _cast(value, dtype)
    if callable(value):
        value = _as_number(value())  # evaluated once, while tracing (as TensorFlow)
        if isinstance(value, Tensor):
            return _cast(value, dtype)
    return _const(value, dtype)


def _iterations(opt: Any, plus: int, dtype: Any) -> Tensor:
    it = opt.iterations
    return _cast(it + np.int64(plus) if plus else m.identity(it), dtype)


def _floor(x: Tensor) -> Tensor:
    """``floor(x)``: numpy's floor_divide by one is exact for finite floats."""
    return m.floordiv(x, _const(1, x._value.dtype))


class TracedScalars:
    """The backend of ``Optimizer._coefficients`` and of the schedules' ``_value_at``
    while tracing: the methods of ``tapeviz.keras.optimizers.Scalars``, computing with ops
    (the step's scalars become equations, evaluated each time the program runs)."""

    traced = True
    floor = staticmethod(_floor)
    minimum = staticmethod(m.minimum)
    select = staticmethod(m.where)

    @staticmethod
    def ceil(x: Tensor) -> Tensor:
        return -_floor(-x)

    @staticmethod
    def cos(x: Tensor) -> Tensor:
        # a float32 cos compiles to libm's cosf, as eager; the numpy interpreter uses
        # numpy's own float32 cos (it may differ in the last bit)
        return _flush(m.cos(x))

    def __init__(self, opt: Any) -> None:
        cache = None if opt is None else opt._momentum_cache
        # Nadam's cache as it was before this step (eagerly: _before_apply)
        self._nadam_read = m.identity(cache) if cache is not None else None

    const = staticmethod(_const)
    cast = staticmethod(_cast)
    hyper = staticmethod(_hyper)
    pow = staticmethod(_pow)
    sqrt = staticmethod(m.sqrt)

    @staticmethod
    def step(opt: Any, plus: int, dtype: Any) -> Tensor:
        return _iterations(opt, plus, dtype)

    def schedule(self, opt: Any, schedule: Any, dtype: Any) -> Tensor:
        out: Tensor = schedule._value_at(_iterations(opt, 0, dtype), self)
        return out

    def nadam_cache(self, opt: Any, dtype: Any) -> Tensor:
        assert self._nadam_read is not None
        return _cast(self._nadam_read, dtype)

    @staticmethod
    def set_nadam_cache(opt: Any, value: Tensor, dtype: Any) -> None:
        cache = opt._momentum_cache
        if cache._value.dtype == np.dtype(dtype):
            cache.assign(value)


def apply_gradients(tracer: Any, opt: Any, grads_and_vars: Any) -> Variable:
    """``opt.apply_gradients(grads_and_vars)`` while tracing (see the module docstring)."""
    items = list(grads_and_vars)
    with hidden_from_tapes(keep=tracer.marker):
        given = {}
        for item in items:
            try:
                g, var = item
            except (TypeError, ValueError):
                break  # _check_pairs raises the error
            if isinstance(var, Variable):
                given[var._id] = g
        pairs = opt._check_pairs(items)
        it = opt._step_counter()
        if not pairs:
            return it
        slot_tuples = opt._slots_of(pairs)
        sym: list[tuple[Variable, Tensor]] = []
        for var, gv in pairs:
            g = given.get(var._id)
            if not isinstance(g, Tensor):
                g = Tensor._wrap(np.asarray(gv))
            sym.append((var, g))
        if opt._clips:
            sym = opt._clip(sym, TENSOR)  # the eager clipping, on tensors
        coefficients: dict[Any, Any] = {}
        k = TracedScalars(opt)
        for var, g in sym:
            dtype = var._value.dtype
            c = coefficients.get(dtype)
            if c is None:
                c = coefficients[dtype] = opt._coefficients(dtype, k)
            slots = slot_tuples[var._id]
            value = tracer.symbolic(tracer.atom(var))
            slot_values = tuple(tracer.symbolic(tracer.atom(s)) for s in slots)
            try:
                new_value, new_slots = opt._update(var, value, g, slot_values, c)
            except AttributeError as e:
                raise NotImplementedError(
                    f"tv.function: {type(opt).__name__}'s update rule uses numpy-only "
                    f"attributes ({e}); call apply_gradients outside the tv.function"
                ) from e
            for slot, slot_value in zip(slots, new_slots, strict=True):
                slot.assign(slot_value)
            var.assign(new_value)
        it.assign_add(np.int64(1))
        return it
