"""Learning-rate schedules, as ``tf.keras.optimizers.schedules`` (Keras 2).

A schedule is a callable ``schedule(step) -> learning rate``.  An optimizer created with a
schedule calls it before every update with the number of updates done so far
(``optimizer.iterations``, as a float32), so the first update uses ``schedule(0)``.

The arithmetic is TensorFlow's, in float32 (the dtype of ``initial_learning_rate``), so the
rates agree with TensorFlow digit for digit.

>>> import tapeviz as tv
>>> lr = tv.keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=5, decay_rate=0.5)
>>> print(lr(5))
tv.Tensor(0.05, shape=(), dtype=float32)
>>> opt = tv.keras.optimizers.SGD(learning_rate=lr)
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _state
from .._surface import module_getattr as _module_getattr
from ..tensor import Tensor, Variable, convert_to_tensor
from . import _f32
from ._config import FromConfig

if TYPE_CHECKING:
    from .._state import Tracer

__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "PiecewiseConstantDecay",
    "InverseTimeDecay",
    "PolynomialDecay",
    "CosineDecay",
    "serialize",
    "deserialize",
]


def _float_dtype(value: Any) -> Any:
    """The numpy dtype TensorFlow would give ``tf.convert_to_tensor(value)`` (floats -> float32)."""
    if isinstance(value, Tensor):
        return value._value.dtype.type
    if isinstance(value, np.ndarray | np.generic) and value.dtype.kind == "f":
        return value.dtype.type
    return np.float32


def _symbolic(step: Any, tracer: Tracer) -> bool:
    """Whether a step seen while tracing has its value only at run time (a Variable —
    whose value changes between calls — or a tensor computed from the arguments)."""
    return isinstance(step, Variable) or (
        isinstance(step, Tensor) and tracer.is_symbolic(step._value)
    )


def _described(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, bool | np.bool_):
        return f"the bool {value}"
    if isinstance(value, complex | np.complexfloating):
        return f"the complex number {value}"
    kind = type(value).__name__
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} ({value!r:.50})"


def check_number(
    owner: str,
    name: str,
    value: Any,
    *,
    example: Any = None,
    minimum: float | None = None,
    positive: bool = False,
    what: str = "a number",
) -> None:
    """Raise unless ``value`` is one finite real number: a Python or numpy int/float, or a
    scalar int/float Tensor.  The message names ``owner`` (``"SGD"``) and its argument
    ``name``; ``what`` says what else would do, ``example`` is a value that works.

    TypeError for a wrong kind of value (None, a string, a bool, a list), ValueError for a
    wrong number (not a scalar, nan/inf, below ``minimum``, not positive)."""
    fix = f" For example {owner}({name}={example!r})." if example is not None else ""
    if isinstance(value, Tensor):
        v = value._value
        if not isinstance(v, np.ndarray | np.generic):
            return  # a symbolic value (inside tv.function): checked where it is made
        if v.dtype.kind not in "iuf":
            raise TypeError(
                f"{owner}: {name} must be {what}, got a tensor of dtype {v.dtype.name}.{fix}"
            )
        if v.ndim:
            raise ValueError(
                f"{owner}: {name} must be a single number, got a tensor of shape {v.shape}.{fix}"
            )
        number: Any = v[()] if isinstance(v, np.ndarray) else v
    elif isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        number = value[()]
    elif isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    ):
        number = value
    else:
        hint = fix
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # (a string that is a number)
                hint = f" Write the number itself: {owner}({name}={float(value)!r})."
        elif isinstance(value, list | tuple | np.ndarray):
            hint = f" Pass one number, not a sequence.{fix}"
        raise TypeError(f"{owner}: {name} must be {what}, got {_described(value)}.{hint}")
    if not np.isfinite(number):
        raise ValueError(f"{owner}: {name} must be a finite number, got {number}.{fix}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {number}.{fix}")
    if positive and not number > 0:
        raise ValueError(f"{owner}: {name} must be > 0, got {number}.{fix}")


def _scalar(value: Any, dtype: Any) -> Any:
    """A Python number, numpy scalar or scalar Tensor as a numpy scalar of ``dtype``."""
    if isinstance(value, Tensor):
        value = value._value
    return dtype(value)


class Scalars:
    """The operations the schedules' (and optimizers') step arithmetic uses besides
    ``+ - * /``, on numpy scalars, computed now.  Written once against this small backend,
    the same formulas run inside ``tv.function`` on a backend whose operations are ops
    (``tapeviz.compiler.optimizers.TracedScalars``), as the VJP rules of the op registry
    run on numpy values or on tensors."""

    traced = False

    @staticmethod
    def const(value: Any, dtype: Any) -> Any:
        """A number as a scalar of ``dtype`` (a numpy scalar type)."""
        return dtype(value)

    @staticmethod
    def cast(x: Any, dtype: Any) -> Any:
        return x if type(x) is dtype else dtype(x)

    pow = staticmethod(_f32.pow)  # libm's powf, subnormals flushed (TensorFlow's CPU)
    cos = staticmethod(_f32.cos)
    sqrt = staticmethod(np.sqrt)
    floor = staticmethod(np.floor)
    ceil = staticmethod(np.ceil)
    minimum = staticmethod(min)

    @staticmethod
    def select(condition: Any, x: Any, y: Any) -> Any:
        """``x if condition else y``."""
        return x if condition else y


NUMPY_SCALARS = Scalars()


class LearningRateSchedule(FromConfig):
    """Base class of learning-rate schedules.

    Subclass it and define ``__call__(self, step)`` (``step`` is a float32 scalar
    :class:`~tapeviz.Tensor`; return a Python float or a scalar Tensor) and
    ``get_config()``.

    >>> import tapeviz as tv
    >>> class Halving(tv.keras.optimizers.schedules.LearningRateSchedule):
    ...     def __init__(self, lr):
    ...         self.lr = lr
    ...     def __call__(self, step):
    ...         return self.lr / (step + 1)
    ...     def get_config(self):
    ...         return {"lr": self.lr}
    >>> print(Halving(0.1)(tv.constant(1.0)))
    tv.Tensor(0.05, shape=(), dtype=float32)
    """

    def __call__(self, step: Any) -> Any:
        """The learning rate at ``step`` (a number or a scalar tensor, also inside tv.function)."""
        if type(self)._value_at is LearningRateSchedule._value_at:
            raise NotImplementedError(
                f"Learning rate schedule '{type(self).__name__}' must override "
                "`__call__(self, step)`."
            )
        tracer = _state.local.tracer
        if tracer is not None and _symbolic(step, tracer):
            # inside tv.function: the rate is computed by ops, at run time (a number or a
            # constant step is computed now, by the eager formula: bit for bit eager's)
            k: Any = tracer.scalars(None)
            out: Tensor = self._value_at(k.cast(convert_to_tensor(step), self._step_dtype()), k)
            return out
        return Tensor._wrap(self._value_at(_scalar(step, self._step_dtype())))

    def _step_dtype(self) -> Any:
        """The float type a step is converted to before ``_value_at``."""
        return np.float32

    def _value_at(self, step: Any, k: Scalars = NUMPY_SCALARS) -> Any:
        """The rate at ``step`` (a numpy float scalar, or a scalar tensor when ``k`` is a
        traced backend) as a numpy scalar (or a tensor)."""
        if k.traced:
            out = self(k.cast(step, np.float32))
            return out if isinstance(out, Tensor) else k.const(out, np.float32)
        out = self(Tensor._wrap(np.float32(step)))
        return out._value if isinstance(out, Tensor) else np.float32(out)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments; a schedule of one's own must define it to be saved."""
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
            "in order to be serializable."
        )

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


@dataclasses.dataclass(eq=False, repr=False)
class _Decay(LearningRateSchedule):
    """What the schedules that decay ``initial_learning_rate`` over ``decay_steps`` share.

    They are dataclasses: the fields are the constructor's arguments in order, kept as
    attributes of the same names, and :meth:`get_config` returns them;
    ``__post_init__`` checks them (each subclass checks its own fields after these two).
    """

    initial_learning_rate: Any
    decay_steps: Any

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_number(owner, "initial_learning_rate", self.initial_learning_rate, example=0.1)
        check_number(owner, "decay_steps", self.decay_steps, positive=True, example=1000)

    def _step_dtype(self) -> Any:
        return _float_dtype(self.initial_learning_rate)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (the dataclass fields), by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclasses.dataclass(eq=False, repr=False)
class _DecayBySteps(_Decay):
    """What ExponentialDecay and InverseTimeDecay share: their arguments and the progress
    ``step / decay_steps`` (rounded down with ``staircase=True``)."""

    decay_rate: Any
    staircase: bool = False
    name: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number(type(self).__name__, "decay_rate", self.decay_rate, example=0.96)

    def _progress(self, step: Any, k: Scalars) -> tuple[Any, Any]:
        dt = _float_dtype(self.initial_learning_rate)
        p = k.cast(step, dt) / k.const(_scalar(self.decay_steps, dt), dt)
        if self.staircase:
            p = k.floor(p)
        return dt, p


class ExponentialDecay(_DecayBySteps):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    With ``staircase=True`` the exponent is rounded down (``floor(step / decay_steps)``),
    so the rate drops in steps.

    >>> import tapeviz as tv
    >>> s = tv.keras.optimizers.schedules.ExponentialDecay(0.1, 5, 0.5, staircase=True)
    >>> [float(s(k)) for k in (0, 4, 5, 10)]
    [0.10000000149011612, 0.10000000149011612, 0.05000000074505806, 0.02500000037252903]
    """

    def _value_at(self, step: Any, k: Scalars = NUMPY_SCALARS) -> Any:
        dt, p = self._progress(step, k)
        initial = k.const(_scalar(self.initial_learning_rate, dt), dt)
        return initial * k.pow(k.const(_scalar(self.decay_rate, dt), dt), p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, then ``values[1]`` while
    ``step <= boundaries[1]``, ..., and ``values[-1]`` after the last boundary.

    >>> import tapeviz as tv
    >>> s = tv.keras.optimizers.schedules.PiecewiseConstantDecay([3, 6], [0.1, 0.05, 0.01])
    >>> [round(float(s(k)), 3) for k in (0, 3, 4, 6, 7)]
    [0.1, 0.1, 0.05, 0.05, 0.01]
    """

    def __init__(self, boundaries: Any, values: Any, name: str | None = None) -> None:
        owner = "PiecewiseConstantDecay"
        for arg, given in (("boundaries", boundaries), ("values", values)):
            if not isinstance(given, list | tuple | np.ndarray | Tensor):
                raise TypeError(
                    f"{owner}: {arg} must be a list of numbers, got {_described(given)}. "
                    "For example PiecewiseConstantDecay(boundaries=[100, 200], "
                    "values=[0.1, 0.01, 0.001])."
                )
        boundaries = list(boundaries)
        values = list(values)
        for arg, items in (("boundaries", boundaries), ("values", values)):
            for i, item in enumerate(items):
                check_number(owner, f"{arg}[{i}]", item)
        for i in range(1, len(boundaries)):
            if _scalar(boundaries[i], np.float64) < _scalar(boundaries[i - 1], np.float64):
                raise ValueError(
                    f"{owner}: boundaries must not decrease, but boundaries[{i}] = "
                    f"{boundaries[i]} < boundaries[{i - 1}] = {boundaries[i - 1]}."
                )
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def _value_at(self, step: Any, k: Scalars = NUMPY_SCALARS) -> Any:
        # TensorFlow casts the boundaries to the step's dtype and compares: the first
        # value while step <= boundaries[0], ..., the last after the last boundary
        sdt = step._value.dtype.type if k.traced else type(step)
        values = [convert_to_tensor(v)._value for v in self.values]
        vdt = np.result_type(*values).type
        out = k.const(values[-1], vdt)
        for b, v in zip(reversed(self.boundaries), reversed(values[:-1]), strict=True):
            bound = k.const(_scalar(b, np.float64), sdt)
            out = k.select(step <= bound, k.const(v, vdt), out)
        return out

    def get_config(self) -> dict[str, Any]:
        """``boundaries``, ``values`` and ``name``."""
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class InverseTimeDecay(_DecayBySteps):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    With ``staircase=True``, ``step / decay_steps`` is rounded down.

    >>> import tapeviz as tv
    >>> s = tv.keras.optimizers.schedules.InverseTimeDecay(0.1, 5, 0.5)
    >>> print(s(10))
    tv.Tensor(0.05, shape=(), dtype=float32)
    """

    def _value_at(self, step: Any, k: Scalars = NUMPY_SCALARS) -> Any:
        dt, p = self._progress(step, k)
        denom = k.const(1, dt) + k.const(_scalar(self.decay_rate, dt), dt) * p
        return k.const(_scalar(self.initial_learning_rate, dt), dt) / denom


@dataclasses.dataclass(eq=False, repr=False)
class PolynomialDecay(_Decay):
    """From ``initial_learning_rate`` to ``end_learning_rate`` in ``decay_steps`` steps:
    ``(initial - end) * (1 - step / decay_steps) ** power + end``.

    After ``decay_steps`` the rate stays at ``end_learning_rate``, unless ``cycle=True``:
    then ``decay_steps`` is stretched to the next multiple of itself and the decay restarts.

    >>> import tapeviz as tv
    >>> s = tv.keras.optimizers.schedules.PolynomialDecay(0.1, 10, 0.01)
    >>> [round(float(s(k)), 3) for k in (0, 5, 10, 20)]
    [0.1, 0.055, 0.01, 0.01]
    """

    end_learning_rate: Any = 0.0001
    power: Any = 1.0
    cycle: bool = False
    name: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "PolynomialDecay"
        check_number(owner, "end_learning_rate", self.end_learning_rate, example=0.0001)
        check_number(owner, "power", self.power, example=1.0)

    def _value_at(self, step: Any, k: Scalars = NUMPY_SCALARS) -> Any:
        dt = _float_dtype(self.initial_learning_rate)
        initial = k.const(_scalar(self.initial_learning_rate, dt), dt)
        end = k.const(_scalar(self.end_learning_rate, dt), dt)
        power = k.const(_scalar(self.power, dt), dt)
        s = k.cast(step, dt)
        steps = k.const(_scalar(self.decay_steps, dt), dt)
        if self.cycle:
            multiplier = k.select(s == k.const(0, dt), k.const(1, dt), k.ceil(s / steps))
            steps = steps * multiplier
        else:
            s = k.minimum(s, steps)
        p = s / steps
        return (initial - end) * k.pow(k.const(1, dt) - p, power) + end


@dataclasses.dataclass(eq=False, repr=False)
class CosineDecay(_Decay):
    """Half a cosine from ``initial_learning_rate`` down to ``alpha * initial_learning_rate``
    over ``decay_steps`` steps, optionally after a linear warm-up to ``warmup_target``.

    ``lr(step) = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * step / decay_steps)) + alpha)``

    >>> import tapeviz as tv
    >>> s = tv.keras.optimizers.schedules.CosineDecay(0.1, 10)
    >>> [round(float(s(k)), 4) for k in (0, 5, 10, 20)]
    [0.1, 0.05, 0.0, 0.0]
    """

    alpha: float = 0.0
    name: str | None = None
    warmup_target: Any = None
    warmup_steps: Any = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "CosineDecay"
        check_number(owner, "alpha", self.alpha, example=0.0)
        if self.warmup_target is not None:
            check_number(owner, "warmup_target", self.warmup_target, example=0.1)
        check_number(owner, "warmup_steps", self.warmup_steps, minimum=0, example=100)

    def _decay(self, step: Any, decay_steps: Any, decay_from: Any, dt: Any, k: Scalars) -> Any:
        fraction = step / decay_steps
        cosine = k.const(0.5, dt) * (k.const(1.0, dt) + k.cos(k.const(math.pi, dt) * fraction))
        decayed = k.const(1 - self.alpha, dt) * cosine + k.const(self.alpha, dt)
        return decay_from * decayed

    def _value_at(self, step: Any, k: Scalars = NUMPY_SCALARS) -> Any:
        dt = _float_dtype(self.initial_learning_rate)
        initial = k.const(_scalar(self.initial_learning_rate, dt), dt)
        decay_steps = k.const(_scalar(self.decay_steps, dt), dt)
        s = k.cast(step, dt)
        if self.warmup_target is None:
            return self._decay(k.minimum(s, decay_steps), decay_steps, initial, dt, k)
        target = k.const(_scalar(self.warmup_target, dt), dt)
        warmup = k.const(_scalar(self.warmup_steps, dt), dt)
        s = k.minimum(s, decay_steps + warmup)
        if not k.traced:  # (eagerly, only the branch taken is computed)
            if s < warmup:
                return (target - initial) * (s / warmup) + initial
            return self._decay(s - warmup, decay_steps, target, dt, k)
        warming = (target - initial) * (s / warmup) + initial
        return k.select(s < warmup, warming, self._decay(s - warmup, decay_steps, target, dt, k))


_BUILTIN: dict[str, type[LearningRateSchedule]] = {
    cls.__name__: cls
    for cls in (
        ExponentialDecay,
        PiecewiseConstantDecay,
        InverseTimeDecay,
        PolynomialDecay,
        CosineDecay,
    )
}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """A JSON-friendly description of ``schedule`` (what ``get_config`` of an optimizer shows).

    >>> import tapeviz as tv
    >>> s = tv.keras.optimizers.schedules
    >>> s.serialize(s.InverseTimeDecay(0.1, 5, 0.5))["class_name"]
    'InverseTimeDecay'
    """
    return {
        "module": "keras.optimizers.schedules",
        "class_name": type(schedule).__name__,
        "config": schedule.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Any:
    """The schedule described by ``config`` (the output of :func:`serialize`)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "deserialize expects a dict with 'class_name' and 'config' keys (the output of "
            f"schedules.serialize), got {config!r}"
        )
    name = config["class_name"]
    known: dict[str, Any] = dict(_BUILTIN)
    if custom_objects:
        known.update(custom_objects)
    if name not in known:
        raise ValueError(
            f"Unknown learning rate schedule: '{name}'. Known: {sorted(known)}; pass "
            "custom_objects={'" + name + "': YourSchedule} for your own class."
        )
    return known[name].from_config(dict(config.get("config", {})))


# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.keras.optimizers.schedules")
