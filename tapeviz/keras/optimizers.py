"""Keras-2 optimizers: ``SGD``, ``Adam``, ``RMSprop``, ``Adagrad``, ``Adadelta``, ``Adamax``,
``Nadam`` and ``AdamW``.

They follow TensorFlow's ``optimizer_v2`` classes (``tf.keras.optimizers`` in TensorFlow
2.0-2.10, ``tf_keras.optimizers.legacy`` today), down to the order of the float32
operations of TensorFlow's update kernels, so that textbook code prints TensorFlow's
digits.  (``AdamW`` has no legacy version; it follows the Keras-2 ``AdamW``.)

Every optimizer is two small pieces of maths:

* ``_coefficients(dtype, k)`` — the scalars of one step, computed once per
  ``apply_gradients`` call from the hyperparameters and ``iterations`` (for Adam:
  the bias-corrected step size ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``).
  They are written once against a small backend ``k`` (like the VJP rules of the op
  registry): :data:`NUMPY_SCALARS` computes numpy scalars now; inside ``tv.function``
  ``tapeviz.compiler.optimizers`` passes a backend that writes the same formulas as ops;
* ``_update(var, value, g, slots, c)`` — the update rule on numpy values: it returns the
  variable's new value and the new values of its slots (Adam's ``m`` and ``v``).

``apply_gradients`` checks its arguments, creates the slot variables on first use, runs
the rule for each variable and stores the results with ``Variable.assign`` semantics
(a new array each time; nothing is changed in place).  No tapeviz op runs during an
update, so a tape that is recording does not see optimizer steps.

>>> import tapeviz as tv
>>> x = tv.Variable(0.0, name="x")
>>> opt = tv.keras.optimizers.SGD(learning_rate=0.01)
>>> for _ in range(1000):
...     with tv.GradientTape() as tape:
...         y = x**2 - 2.0 * x + 1.0
...     opt.apply_gradients([(tape.gradient(y, x), x)])
<tv.Variable ...>
>>> print(x.numpy())
0.99999857
"""

from __future__ import annotations

import inspect
import re
import sys
import types
import warnings
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from .. import _state, subnormals
from .._readonly import ReadOnly
from .._surface import module_getattr as _module_getattr
from ..custom import name_scope
from ..ops._registry import NUMPY, TENSOR, Backend
from ..tape import GradientTape
from ..tensor import Tensor, Variable
from . import schedules
from .schedules import LearningRateSchedule

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "Nadam",
    "AdamW",
    "get",
    "serialize",
    "deserialize",
    "schedules",
    "legacy",
    "Run",
    "record_run",
    "record_race",
]

_EPSILON = 1e-7  # keras.backend.epsilon()
_ONE64 = np.int64(1)
_FLOAT_DTYPES = frozenset(np.dtype(t) for t in (np.float16, np.float32, np.float64))


def _complex_variable_message(name: str, dtype: str) -> str:
    """Why a complex Variable cannot be optimized, and what to do instead."""
    return (
        f"Cannot optimize variable '{name}' of dtype {dtype}: tapeviz's optimizers update "
        "real (float) variables only. TensorFlow's Keras optimizers run their real formulas "
        "in complex arithmetic (Adam takes the complex square root of g·g, not of |g|²), "
        "which is rarely what is meant. Keep the real and imaginary parts as two float "
        "Variables and build the complex value with tv.complex(re, im); their gradients are "
        "the real and imaginary parts of the complex one."
    )


class _ArrayOps:
    """``sqrt``, ``maximum``, ``abs``, ``reciprocal`` for the update rules: numpy's on numpy
    values, tapeviz's ops on tensors (one rule runs eagerly on arrays and traced inside
    tv.function; numpy functions no longer take tensors, as in TensorFlow)."""

    @staticmethod
    def _on(name: str, *xs: Any) -> Any:
        for x in xs:
            if isinstance(x, Tensor):
                return getattr(TENSOR, name)(*xs)
        return getattr(np, name)(*xs)

    def sqrt(self, x: Any) -> Any:
        return self._on("sqrt", x)

    def maximum(self, x: Any, y: Any) -> Any:
        return self._on("maximum", x, y)

    def abs(self, x: Any) -> Any:
        return self._on("abs", x)

    def reciprocal(self, x: Any) -> Any:
        return self._on("reciprocal", x)


_xp = _ArrayOps()


def _store(var: Variable, value: Any) -> None:
    """``var.assign(value)`` for a freshly computed numpy value (no copy, no checks)."""
    if type(value) is np.ndarray:
        if value.ndim == 0:
            value = value[()]
        elif value.base is None:
            value.flags.writeable = False
    var._set(value)


def _as_number(value: Any) -> Any:
    """A hyperparameter value (number, numpy scalar, Tensor) as a numpy/Python scalar."""
    if isinstance(value, Tensor):
        return value._value
    return value


def _describe(obj: Any) -> str:
    if isinstance(obj, Variable):
        return f"variable '{obj.name}'"
    if isinstance(obj, Tensor):
        return f"a tv.Tensor of shape {obj.shape} (not a tv.Variable)"
    return f"a {type(obj).__name__} ({obj!r:.60})"


def _shape_text(shape: tuple[int, ...]) -> str:
    return str(tuple(shape))


class Scalars(schedules.Scalars):
    """The operations ``_coefficients`` and ``_decayed_lr`` use besides ``+ - * /``: here
    on numpy scalars of ``dtype`` (a numpy scalar type), computed eagerly.  The traced
    backend (``tapeviz.compiler.optimizers``) has the same methods, on tensors."""

    @staticmethod
    def hyper(opt: Optimizer, name: str, dtype: Any) -> Any:
        """A hyperparameter (number, Variable or callable) as a scalar of ``dtype``."""
        return opt._hyper_value(name, dtype)

    @staticmethod
    def step(opt: Optimizer, plus: int, dtype: Any) -> Any:
        """``iterations + plus`` as a scalar of ``dtype``."""
        return dtype(opt.iterations._value + plus)

    @staticmethod
    def schedule(opt: Optimizer, schedule: LearningRateSchedule, dtype: Any) -> Any:
        """The schedule's rate at the step about to be taken (``iterations``)."""
        return schedule._value_at(dtype(opt.iterations._value))

    @staticmethod
    def nadam_cache(opt: Nadam, dtype: Any) -> Any:
        """Nadam's momentum cache as it was before this step."""
        return dtype(opt._m_cache_read)

    @staticmethod
    def set_nadam_cache(opt: Nadam, value: Any, dtype: Any) -> None:
        assert opt._m_cache is not None
        if type(opt._m_cache._value) is dtype:
            _store(opt._m_cache, value)


NUMPY_SCALARS = Scalars()


def _clip_option(name: str, doc: str) -> Any:
    """A read/write property for the clipping option ``name``, kept in ``_<name>``."""
    attr = f"_{name}"

    def get(self: Optimizer) -> Any:
        return getattr(self, attr)

    def set_(self: Optimizer, value: Any) -> None:
        setattr(self, attr, value)

    return property(get, set_, doc=doc)


class Optimizer:
    """Base class of the Keras-2 optimizers (``optimizer_v2`` semantics).

    Parameters
    ----------
    name : str
        Prefix of the slot variables' names (``"Adam/w/m:0"``).
    clipnorm : float, optional
        Clip each gradient to this L2 norm (``tf.clip_by_norm``).
    clipvalue : float, optional
        Clip each gradient element to ``[-clipvalue, clipvalue]``.
    global_clipnorm : float, optional
        Scale all gradients together so that their joint L2 norm is at most this
        (``tf.clip_by_global_norm``).  Not together with ``clipnorm``.
    decay : float, optional
        Old-style time decay: the learning rate becomes ``lr / (1 + decay * iterations)``.
    lr : float, optional
        Deprecated spelling of ``learning_rate`` (accepted with a DeprecationWarning).

    Subclasses define ``_coefficients(dtype, k)`` and ``_update(var, value, g, slots, c)``.

    A step traced inside ``tv.function`` (``tapeviz.compiler.optimizers``) is computed by
    the same methods on symbolic tensors; the compiler reads no field of the optimizer,
    only this protected protocol, which the eager :meth:`apply_gradients` uses too:
    :meth:`_check_pairs`, :meth:`_step_counter`, :meth:`_slots_of`, :attr:`_clips` and
    :meth:`_clip`, :meth:`_coefficients` and :meth:`_update`, :meth:`_hyper_setting` and
    :attr:`_momentum_cache`.
    """

    _ALLOWED_KWARGS: tuple[str, ...] = ("clipnorm", "clipvalue", "lr", "decay", "global_clipnorm")
    # Other names accepted by get_slot for this optimizer's slots (name -> slot name).
    _SLOT_ALIASES: ClassVar[dict[str, str]] = {}
    # The constructor arguments get_config adds to the base ones, in order: ``decay`` (the
    # number given), hyperparameters (as set: a number, or a schedule's config) and
    # attributes of the same name (``epsilon``, ``amsgrad``...).
    _CONFIG: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, **kwargs: Any) -> None:
        allowed = set(self._ALLOWED_KWARGS)
        for k, v in kwargs.items():
            if k not in allowed:
                raise TypeError(
                    f"Unexpected keyword argument passed to optimizer: {k}. Allowed kwargs "
                    f"are {allowed}."
                )
            if k == "lr" or (v is None and k != "decay"):
                pass  # lr: checked as the learning rate; clipping: None is no clipping
            elif isinstance(v, LearningRateSchedule | Tensor) or not callable(v):
                schedules.check_number(type(self).__name__, k, v)
            if isinstance(v, int | float | np.number) and v < 0:
                raise ValueError(f"Expected {k} >= 0, received: {v}")
            if k == "lr":
                warnings.warn(
                    "The `lr` argument is deprecated, use `learning_rate` instead.",
                    DeprecationWarning,
                    stacklevel=3,
                )
        self._name = name
        self._hyper: dict[str, Any] = {}
        self._hyper_config: dict[str, Any] = {}
        self._slots: dict[int, dict[str, Variable]] = {}
        self._slot_tuples: dict[int, tuple[Variable, ...]] = {}
        self._slot_names: list[str] = []
        self._weights: list[Variable] = []
        self._iterations: Variable | None = None
        decay = kwargs.get("decay", 0.0)
        if decay < 0.0:
            raise ValueError(f"decay cannot be less than 0. Received: decay={decay}.")
        self._initial_decay = decay
        self._clipnorm = kwargs.get("clipnorm")
        self._global_clipnorm = kwargs.get("global_clipnorm")
        self._clipvalue = kwargs.get("clipvalue")
        if self._clipnorm is not None and self._global_clipnorm is not None:
            raise ValueError(
                "Cannot accept both `clipnorm` and `global_clipnorm`. Received: "
                f"`clipnorm`={self._clipnorm}, `global_clipnorm`={self._global_clipnorm}."
            )

    # -- hyperparameters: opt.learning_rate, opt.lr, opt.beta_1, ... ---------------------
    def _check_hyper(self, name: str, value: Any) -> None:
        """A clear error now, naming the argument, unless ``value`` is a number, a scalar
        tensor, a function returning a number, or (learning rate) a schedule."""
        is_lr = name == "learning_rate"
        if (is_lr and isinstance(value, LearningRateSchedule)) or (
            callable(value) and not isinstance(value, Tensor | type)
        ):
            return
        owner = type(self).__name__
        default = inspect.signature(type(self).__init__).parameters.get(name)
        example = default.default if default is not None else None
        what = "a number"
        if is_lr:
            what = "a number, a LearningRateSchedule or a function returning a number"
        schedules.check_number(
            owner, name, value, example=example if isinstance(example, float) else None, what=what
        )

    def _epsilon(self, epsilon: Any) -> Any:
        """``epsilon``, checked (None or 0: Keras's default 1e-7)."""
        if epsilon is not None:
            schedules.check_number(type(self).__name__, "epsilon", epsilon, example=1e-7)
        return epsilon or _EPSILON

    def _set_hyper(self, name: str, value: Any) -> None:
        """Set hyperparameter ``name``: numbers live in a float32 Variable (``opt.momentum``)."""
        self._check_hyper(name, value)
        hyper = self._hyper
        prev = hyper.get(name)
        self._hyper_config[name] = value
        if (
            isinstance(value, LearningRateSchedule)
            or callable(value)
            or (isinstance(value, Variable) and value is not prev)
        ):
            hyper[name] = value
        elif isinstance(prev, Variable) and prev._vname.endswith(f"{name}:0"):
            prev.assign(np.asarray(_as_number(value), dtype=prev._value.dtype))
        else:
            number = _as_number(value)
            hyper[name] = Variable(np.float32(number), name=name, trainable=False)

    def _set_hypers(self, learning_rate: Any, **hypers: Any) -> None:
        """Set the learning rate, ``decay`` (as the base constructor took it) and then the
        other hyperparameters (``beta_1=...``), in this order, as Keras creates them."""
        self._set_hyper("learning_rate", learning_rate)
        self._set_hyper("decay", self._initial_decay)
        for name, value in hypers.items():
            self._set_hyper(name, value)

    def _set_momentum(self, momentum: Any) -> None:
        """The ``momentum`` hyperparameter of SGD and RMSprop, checked to lie in [0, 1];
        ``_momentum`` says whether it is used (a tensor or callable may become > 0)."""
        self._check_hyper("momentum", momentum)
        self._momentum = isinstance(momentum, Tensor) or callable(momentum) or momentum > 0
        if isinstance(momentum, int | float) and not 0 <= momentum <= 1:
            raise ValueError(
                f"`momentum` must be between [0, 1]. Received: momentum={momentum} "
                f"(of type {type(momentum)})."
            )
        self._set_hyper("momentum", momentum)

    def _hyper_value(self, name: str, dtype: Any) -> Any:
        """The hyperparameter as a numpy scalar of ``dtype`` (a cast, as ``_get_hyper``)."""
        value = self._hyper[name]
        if isinstance(value, Tensor):
            x = value._value
        elif callable(value) and not isinstance(value, LearningRateSchedule):
            x = _as_number(value())
            if not isinstance(x, int | float | np.integer | np.floating) or isinstance(x, bool):
                schedules.check_number(
                    type(self).__name__, name, x, what=f"a number (what {value!r} returned)"
                )
        else:
            x = value
        return x if type(x) is dtype else dtype(x)

    # -- the protocol of a step (eager here; on symbolic tensors in tv.function) -----------
    def _hyper_setting(self, name: str) -> Any:
        """A hyperparameter as it was set: a number, a Variable, a schedule or a callable."""
        return self._hyper[name]

    def _step_counter(self) -> Variable:
        """``iterations``, created on first use in this optimizer's name scope."""
        it = self._iterations
        if it is None:
            with name_scope(self._name):
                it = self.iterations
        return it

    def _slots_of(self, pairs: list[tuple[Variable, Any]]) -> dict[int, tuple[Variable, ...]]:
        """The slot Variables of every variable, by the variable's id; those of the
        variables in ``pairs`` are created on first use."""
        slot_tuples = self._slot_tuples
        for var, _ in pairs:
            if var._id not in slot_tuples:
                self._create_all_slots([v for v, _ in pairs])
                break
        return slot_tuples

    @property
    def _clips(self) -> bool:
        """Whether gradients are clipped (clipvalue, clipnorm or global_clipnorm)."""
        return (
            self._clipvalue is not None
            or self._clipnorm is not None
            or self._global_clipnorm is not None
        )

    @property
    def _momentum_cache(self) -> Variable | None:
        """Nadam's momentum cache (a Variable), else None."""
        return None

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: hyperparameters by name, `lr` as alias.
        hyper = self.__dict__.get("_hyper")
        if hyper is not None and not name.startswith("__"):
            key = "learning_rate" if name == "lr" else name
            if key in hyper:
                value = hyper[key]
                if callable(value) and not isinstance(value, LearningRateSchedule | Tensor):
                    return value()
                return value
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "lr":
            name = "learning_rate"
        hyper = self.__dict__.get("_hyper")
        if hyper is not None and name in hyper:
            self._set_hyper(name, value)
        else:
            object.__setattr__(self, name, value)

    def __dir__(self) -> list[str]:
        names = set(super().__dir__()) | set(self._hyper)
        if "learning_rate" in self._hyper:
            names.add("lr")
        return sorted(names)

    def _decayed_lr(self, dtype: Any, k: Scalars = NUMPY_SCALARS) -> Any:
        """The learning rate of the next step: schedule(iterations) and old-style decay."""
        value = self._hyper["learning_rate"]
        if type(value) is Variable and not self._initial_decay and not k.traced:
            lr = value._value  # the common case, fast
            return lr if type(lr) is dtype else dtype(lr)
        if isinstance(value, LearningRateSchedule):
            lr = k.cast(k.schedule(self, value, dtype), dtype)
        else:
            lr = k.hyper(self, "learning_rate", dtype)
        if self._initial_decay > 0.0:
            it = k.step(self, 0, dtype)
            lr = lr / (k.const(1.0, dtype) + k.const(self._initial_decay, dtype) * it)
        return lr

    def _lr_for_next_step(self, dtype: Any = np.float32) -> Any:
        """The learning rate the next ``apply_gradients`` will use (for recorders)."""
        return self._decayed_lr(dtype)

    # -- clipping options ---------------------------------------------------------------
    clipnorm = _clip_option(
        "clipnorm", "The norm each gradient is clipped to before the update (None: no clipping)."
    )
    clipvalue = _clip_option(
        "clipvalue", "The bound each gradient entry is clipped to before the update (None: none)."
    )
    global_clipnorm = _clip_option(
        "global_clipnorm", "The norm all gradients together are clipped to (None: no clipping)."
    )

    # -- state: iterations, slots, weights -------------------------------------------------
    name = ReadOnly[str]("_name", "The optimizer's name (its slot Variables' names start with it).")

    @property
    def iterations(self) -> Variable:
        """The number of updates done so far (an int64 Variable, ``iter:0``)."""
        if self._iterations is None:
            self._iterations = Variable(np.int64(0), name="iter", trainable=False)
            self._weights.insert(0, self._iterations)
        return self._iterations

    @iterations.setter
    def iterations(self, variable: Variable) -> None:
        if self._iterations is not None:
            raise RuntimeError(
                "Cannot set `iterations` to a new Variable after the Optimizer weights have "
                f"been created. Here it is attempting to set `iterations` to {variable}."
            )
        self._iterations = variable
        self._weights.insert(0, variable)

    def get_slot_names(self) -> list[str]:
        """The names of the slots this optimizer keeps per variable (``["m", "v"]``)."""
        return list(self._slot_names)

    def _slot_initial_value(self, slot_name: str) -> float:
        return 0.0

    def add_slot(self, var: Variable, slot_name: str, initializer: Any = "zeros") -> Variable:
        """Create (once) the slot variable ``slot_name`` of ``var``, e.g. Adam's ``m``."""
        if slot_name not in self._slot_names:
            self._slot_names.append(slot_name)
        slot_dict = self._slots.setdefault(var._id, {})
        weight = slot_dict.get(slot_name)
        if weight is None:
            if initializer == "zeros":
                fill = 0.0
            elif initializer == "ones":
                fill = 1.0
            else:
                fill = float(initializer)
            value = np.full(np.shape(var._value), fill, dtype=var._value.dtype)
            base = var.name.rsplit(":", 1)[0]
            with name_scope(self._name):
                weight = Variable(value, name=f"{base}/{slot_name}", trainable=False)
            slot_dict[slot_name] = weight
            self._weights.append(weight)
        return weight

    def _create_slots(self, var_list: list[Variable]) -> None:
        """Create this optimizer's slots for new variables (all ``m`` first, then all ``v``)."""
        for slot_name in self._slot_names:
            for var in var_list:
                self.add_slot(var, slot_name, self._slot_initial_value(slot_name))

    def _create_all_slots(self, var_list: list[Variable]) -> None:
        new: dict[int, Variable] = {}
        for var in var_list:
            if var._id not in self._slot_tuples:
                new.setdefault(var._id, var)
        if not new:
            return
        self._create_slots(list(new.values()))
        for var in new.values():
            slot_dict = self._slots.get(var._id, {})
            self._slot_tuples[var._id] = tuple(slot_dict[n] for n in self._slot_names)

    def get_slot(self, var: Variable, slot_name: str) -> Variable:
        """The slot variable ``slot_name`` of ``var`` (e.g. ``opt.get_slot(w, "m")``).

        Slots exist once ``apply_gradients`` (or ``minimize``) has updated ``var``.
        """
        name = self._SLOT_ALIASES.get(slot_name, slot_name)
        slot_dict = self._slots.get(getattr(var, "_id", -1))
        if slot_dict is None or name not in slot_dict:
            what = _describe(var)
            if name not in self._slot_names:
                raise KeyError(
                    f"{type(self).__name__} has no slot named {slot_name!r}; its slots are "
                    f"{self._slot_names}"
                )
            raise KeyError(
                f"{type(self).__name__} has no {slot_name!r} slot for {what} yet: slots are "
                "created by the first apply_gradients/minimize that updates the variable"
            )
        return slot_dict[name]

    def variables(self) -> list[Variable]:
        """The optimizer's variables in creation order: ``iterations``, then the slots."""
        return list(self._weights)

    @property
    def weights(self) -> list[Variable]:
        """The iterations counter and the slot Variables, in creation order."""
        return list(self._weights)

    def get_weights(self) -> list[Any]:
        """The values of :attr:`weights` as numpy arrays."""
        return [w.numpy() for w in self._weights]

    # -- applying gradients ----------------------------------------------------------------
    def _check_pairs(self, grads_and_vars: Iterable[Any]) -> list[tuple[Variable, Any]]:
        """Validate ``(gradient, variable)`` pairs; return ``(variable, gradient value)``."""
        items = (
            grads_and_vars if isinstance(grads_and_vars, tuple | list) else tuple(grads_and_vars)
        )
        pairs: list[tuple[Variable, Any]] = []
        missing: list[Variable] = []
        for item in items:
            try:
                g, var = item
            except (TypeError, ValueError):
                raise TypeError(
                    "apply_gradients expects (gradient, variable) pairs, e.g. "
                    f"zip(grads, model.trainable_weights); got the item {item!r:.80}"
                ) from None
            if not isinstance(var, Variable):
                raise TypeError(
                    f"apply_gradients/minimize can only update tv.Variables, got {_describe(var)}. "
                    "An optimizer changes the variable it is given in place; create it with "
                    "tv.Variable(...) (a tv.Tensor is immutable)."
                )
            val = var._value
            vdtype = val.dtype
            if vdtype not in _FLOAT_DTYPES:
                if vdtype.kind == "c":
                    raise TypeError(_complex_variable_message(var.name, var.dtype.name))
                raise TypeError(
                    f"Cannot optimize variable '{var.name}' of dtype {var.dtype.name}: "
                    "optimizers update floating-point variables (float16/float32/float64). "
                    "Create it from a float, e.g. tv.Variable(0.0)."
                )
            if g is None:
                missing.append(var)
                continue
            if isinstance(g, Tensor):
                gv = g._value
                if gv.dtype is not vdtype and gv.dtype != vdtype:
                    raise TypeError(
                        f"The gradient for variable '{var.name}' is {g.dtype.name} but the "
                        f"variable is {var.dtype.name}; cast it with "
                        f"tv.cast(grad, tv.{var.dtype.name})."
                    )
            else:
                try:
                    gv = np.asarray(_as_number(g), dtype=vdtype)
                except (TypeError, ValueError):
                    raise TypeError(
                        f"The gradient for variable '{var.name}' must be a tv.Tensor or an "
                        f"array-like of numbers, got {type(g).__name__}"
                    ) from None
                if gv.ndim == 0:
                    gv = gv[()]
            if gv.shape != val.shape:
                raise ValueError(
                    f"The gradient for variable '{var.name}' has shape {_shape_text(gv.shape)} "
                    f"but the variable has shape {_shape_text(val.shape)}: a gradient must "
                    "have the shape of its variable (var and grad do not have the same shape)."
                )
            pairs.append((var, gv))
        if not pairs:
            if not items:
                return pairs
            names = ([getattr(v, "name", repr(v)) for _, v in items],)
            raise ValueError(
                f"No gradients provided for any variable: {names}. Provided `grads_and_vars` "
                f"is {tuple(tuple(i) for i in items)}."
            )
        if missing:
            warnings.warn(
                f"Gradients do not exist for variables {[v.name for v in missing]} when "
                "minimizing the loss. If you're using `model.compile()`, did you forget to "
                "provide a `loss` argument?",
                UserWarning,
                stacklevel=3,
            )
        return pairs

    def _clip(
        self, pairs: list[tuple[Variable, Any]], k: Backend = NUMPY
    ) -> list[tuple[Variable, Any]]:
        """clipvalue, then clipnorm, then global_clipnorm, as TensorFlow applies them (on
        numpy gradients, or with ``k=TENSOR`` on tensors inside tv.function)."""
        if self._clipvalue is not None:
            pairs = [(v, _clip_by_value(g, self._clipvalue, k)) for v, g in pairs]
        if self._clipnorm is not None:
            pairs = [(v, _clip_by_norm(g, self._clipnorm, k)) for v, g in pairs]
        if self._global_clipnorm is not None:
            pairs = _clip_by_global_norm(pairs, self._global_clipnorm, k)
        return pairs

    def _before_apply(self) -> None:
        """Hook run once per apply_gradients call before the coefficients (Nadam)."""

    def apply_gradients(
        self,
        grads_and_vars: Iterable[Any],
        name: str | None = None,
        experimental_aggregate_gradients: bool = True,
    ) -> Variable:
        """Update each variable with its gradient; then ``iterations += 1``.

        Parameters
        ----------
        grads_and_vars : iterable of (gradient, Variable)
            A list of pairs or ``zip(grads, variables)``.  Pairs whose gradient is
            ``None`` are skipped with a warning; if every gradient is ``None`` it is a
            ``ValueError``.

        Returns
        -------
        Variable
            ``iterations``.
        """
        tracer = _state.local.tracer
        if tracer is not None and hasattr(tracer, "optimizer_apply"):
            out: Variable = tracer.optimizer_apply(self, grads_and_vars)
            return out
        pairs = self._check_pairs(grads_and_vars)
        it = self._step_counter()
        if not pairs:
            return it
        slot_tuples = self._slots_of(pairs)
        self._before_apply()
        if self._clips:
            pairs = self._clip(pairs)
        # The scalars of this step, once per dtype (TensorFlow's _prepare_local).
        coefficients: dict[Any, Any] = {}
        c_dtype: Any = None
        c: Any = None
        rule = self._update

        def update(*args: Any) -> Any:  # with subnormals flushed, as TF's kernels run it
            return subnormals.flushed(rule, args, {})

        for var, g in pairs:
            value = var._value
            dtype = value.dtype.type
            if dtype is not c_dtype:
                c = coefficients.get(dtype)
                if c is None:
                    c = coefficients[dtype] = self._coefficients(dtype)
                c_dtype = dtype
            slots = slot_tuples[var._id]
            if slots:
                new_value, new_slots = update(var, value, g, tuple([s._value for s in slots]), c)
                for i, slot in enumerate(slots):
                    _store(slot, new_slots[i])
            else:
                new_value = update(var, value, g, (), c)[0]
            _store(var, new_value)
        it._set(it._value + _ONE64)
        return it

    def minimize(
        self,
        loss: Any,
        var_list: Any,
        grad_loss: Any = None,
        name: str | None = None,
        tape: GradientTape | None = None,
    ) -> Variable:
        """One step on ``loss``: compute its gradients with a tape, then apply them.

        Parameters
        ----------
        loss : callable or Tensor
            A function with no arguments returning the loss (it is run under a new
            ``GradientTape``), or a loss Tensor computed under ``tape``.
        var_list : list of Variable, or a callable returning one
        tape : GradientTape, optional
            Required when ``loss`` is a Tensor.

        >>> import tapeviz as tv
        >>> x = tv.Variable(2.0)
        >>> opt = tv.keras.optimizers.SGD(0.1)
        >>> _ = opt.minimize(lambda: x * x, [x])
        >>> print(x.numpy())
        1.6
        """
        if not callable(loss) and tape is None:
            shown = loss.numpy() if isinstance(loss, Tensor) else loss
            raise ValueError(
                "`tape` is required when a `Tensor` loss is passed. "
                f"Received: loss={shown}, tape={tape}."
            )
        tape = tape if tape is not None else GradientTape()
        if callable(loss):
            if not callable(var_list):
                var_list = self._check_var_list(var_list)
            with tape:
                if not callable(var_list):
                    tape.watch(var_list)
                loss = loss()
                if callable(var_list):
                    var_list = var_list()
        var_list = self._check_var_list(var_list)
        grads = tape.gradient(loss, var_list, output_gradients=grad_loss)
        return self.apply_gradients(list(zip(grads, var_list, strict=True)), name=name)

    def _check_var_list(self, var_list: Any) -> list[Variable]:
        flat = _flatten(var_list)
        for v in flat:
            if not isinstance(v, Variable):
                raise TypeError(
                    f"minimize: var_list must contain tv.Variables, got {_describe(v)}. "
                    "Wrap the value in tv.Variable(...) to optimize it."
                )
            if v.dtype.is_complex:
                raise TypeError(_complex_variable_message(v.name, v.dtype.name))
            if not v.dtype.is_floating:
                raise TypeError(
                    f"minimize: variable '{v.name}' has dtype {v.dtype.name}; only "
                    "floating-point variables can be optimized (use tv.Variable(0.0), not 0)."
                )
        return flat

    # -- the maths (per subclass) -----------------------------------------------------------
    def _coefficients(self, dtype: Any, k: Scalars = NUMPY_SCALARS) -> tuple[Any, ...]:
        raise NotImplementedError

    def _update(
        self, var: Variable, value: Any, g: Any, slots: tuple[Any, ...], c: tuple[Any, ...]
    ) -> tuple[Any, tuple[Any, ...]]:
        raise NotImplementedError

    # -- config ---------------------------------------------------------------------------------
    def _serialize_hyperparameter(self, name: str) -> Any:
        value = self._hyper[name]
        if isinstance(value, LearningRateSchedule):
            return schedules.serialize(value)
        if callable(value) and not isinstance(value, Tensor):
            return value()
        given = self._hyper_config.get(name)
        if (
            isinstance(value, Variable)
            and isinstance(given, int | float)
            and not isinstance(given, bool)
        ):
            if np.float32(given) == value._value:
                return given
            return float(value._value)
        if isinstance(value, Tensor):
            return float(value._value)
        return value

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as a dict (``from_config`` rebuilds the optimizer)."""
        config: dict[str, Any] = {"name": self._name}
        if self._clipnorm is not None:
            config["clipnorm"] = self._clipnorm
        if self._clipvalue is not None:
            config["clipvalue"] = self._clipvalue
        if self._global_clipnorm is not None:
            config["global_clipnorm"] = self._global_clipnorm
        for key in self._CONFIG:
            if key == "decay":
                config[key] = self._initial_decay
            elif key in self._hyper:
                config[key] = self._serialize_hyperparameter(key)
            else:
                config[key] = getattr(self, key)
        return config

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Any:
        """A new optimizer (without state) from ``get_config()``'s output."""
        config = dict(config)
        if "lr" in config:
            config["learning_rate"] = config.pop("lr")
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<tv.keras.optimizers.{type(self).__name__} name={self._name!r}>"


def _flatten(obj: Any) -> list[Any]:
    if isinstance(obj, list | tuple):
        out: list[Any] = []
        for o in obj:
            out.extend(_flatten(o))
        return out
    if isinstance(obj, dict):
        out = []
        for k in sorted(obj):
            out.extend(_flatten(obj[k]))
        return out
    return [obj]


# -- gradient clipping (tf.clip_by_value / clip_by_norm / clip_by_global_norm) ---------------
# Written once against the op registry's backends, as the VJP rules are: ``NUMPY`` on the
# gradients' arrays in eager steps, ``TENSOR`` on symbolic tensors inside tv.function.
def _np_dtype(x: Any) -> Any:
    return x._value.dtype if isinstance(x, Tensor) else x.dtype


def _like(x: Any, value: Any) -> Any:
    """``value`` as a scalar of ``x``'s dtype (a numpy scalar, or a constant tensor)."""
    if isinstance(x, Tensor):
        return Tensor._wrap(x._value.dtype.type(value))
    return x.dtype.type(value)


def _cast_like(x: Any, like: Any, k: Backend) -> Any:
    dt = _np_dtype(like)
    return x if _np_dtype(x) == dt else k.cast(x, dtype=dt.name)  # type: ignore[attr-defined]


def _sum(x: Any, k: Backend) -> Any:
    if x.ndim == 0:
        return x
    return k.reduce_sum(x, axis=tuple(range(x.ndim)), keepdims=False)  # type: ignore[attr-defined]


def _clip_by_value(g: Any, clipvalue: Any, k: Backend = NUMPY) -> Any:
    return k.maximum(k.minimum(g, _like(g, clipvalue)), _like(g, -clipvalue))  # type: ignore[attr-defined]


def _clip_by_norm(g: Any, clipnorm: Any, k: Backend = NUMPY) -> Any:
    clip = _like(g, max(clipnorm, 0))
    l2norm = k.sqrt(_sum(g * g, k))  # type: ignore[attr-defined]
    return (g * clip) / k.maximum(l2norm, clip)  # type: ignore[attr-defined]


def _clip_by_global_norm(
    pairs: list[tuple[Variable, Any]], clipnorm: Any, k: Backend = NUMPY
) -> list[tuple[Variable, Any]]:
    g0 = pairs[0][1]
    half = _like(g0, 0.5)
    total = _like(g0, 0)
    for _, g in pairs:
        total = total + _cast_like(_sum(g * g * _cast_like(half, g, k), k), g0, k)
    norm = k.sqrt(total * _like(g0, 2.0))  # type: ignore[attr-defined]
    clip = _like(g0, clipnorm)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero norm gives inf, as in TF
        scale = clip * k.minimum(_like(g0, 1.0) / norm, _like(g0, 1.0) / clip)  # type: ignore[attr-defined]
        scale = scale + (norm - norm)
    return [(v, g * _cast_like(scale, g, k)) for v, g in pairs]


# ------------------------------------------------------------------------------------------
class SGD(Optimizer):
    r"""Gradient descent, with optional (Nesterov) momentum.

    Without momentum: :math:`w \leftarrow w - \eta\, g`.  With momentum :math:`\mu`, a
    velocity slot ``momentum`` keeps :math:`m \leftarrow \mu m - \eta g` and
    :math:`w \leftarrow w + m` (Nesterov: :math:`w \leftarrow w + \mu m - \eta g`).

    Parameters
    ----------
    learning_rate : float, schedule or callable, default 0.01
    momentum : float in [0, 1], default 0.0
    nesterov : bool, default False

    Slots: ``"momentum"`` (also readable as ``"m"`` or ``"velocity"``) when momentum > 0.

    >>> import tapeviz as tv
    >>> x = tv.Variable(0.0)
    >>> opt = tv.keras.optimizers.SGD(learning_rate=0.1)
    >>> for _ in range(100):
    ...     with tv.GradientTape() as tape:
    ...         z = 3. * x ** 2 + 2. * x - 1
    ...     _ = opt.apply_gradients([(tape.gradient(z, x), x)])
    >>> x
    <tv.Variable 'Variable:0' shape=() dtype=float32, numpy=-0.3333333>
    """

    _SLOT_ALIASES: ClassVar[dict[str, str]] = {"m": "momentum", "velocity": "momentum"}

    _CONFIG = ("learning_rate", "decay", "momentum", "nesterov")

    def __init__(
        self,
        learning_rate: Any = 0.01,
        momentum: Any = 0.0,
        nesterov: bool = False,
        name: str = "SGD",
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self._set_hypers(kwargs.get("lr", learning_rate))
        self._set_momentum(momentum)
        self.nesterov = bool(nesterov)
        if self._momentum:
            self._slot_names = ["momentum"]

    def _coefficients(self, dtype: Any, k: Scalars = NUMPY_SCALARS) -> tuple[Any, ...]:
        if self._momentum:
            return self._decayed_lr(dtype, k), k.hyper(self, "momentum", dtype)
        return (self._decayed_lr(dtype, k),)

    def _update(self, var: Variable, value: Any, g: Any, slots: Any, c: Any) -> Any:
        if not self._momentum:
            return value - g * c[0], ()  # ResourceApplyGradientDescent: var -= grad * lr
        lr, momentum = c
        m = slots[0] * momentum - g * lr  # ResourceApplyKerasMomentum
        if self.nesterov:
            return value + (m * momentum - g * lr), (m,)
        return value + m, (m,)


def _adam_scalars(opt: Any, dtype: Any, k: Scalars) -> tuple[Any, ...]:
    """What Adam and Adamax start a step from: the (decayed) learning rate, the step
    number t = iterations + 1, beta_1, beta_2 and 1, in the variable's dtype."""
    lr = opt._decayed_lr(dtype, k)
    t = k.step(opt, 1, dtype)
    beta_1 = k.hyper(opt, "beta_1", dtype)
    beta_2 = k.hyper(opt, "beta_2", dtype)
    return lr, t, beta_1, beta_2, k.const(1, dtype)


def _adam_step(value: Any, g: Any, slots: Any, c: Any, amsgrad: bool) -> Any:
    """Adam's update (TensorFlow's ``ResourceApplyAdam`` kernel, in its order of float
    operations; ``ResourceApplyAdamWithAmsgrad`` with ``amsgrad``) from the coefficients
    ``c = (alpha, 1 - beta_1, 1 - beta_2, epsilon)``: the new value and slots."""
    alpha, one_minus_beta_1, one_minus_beta_2, epsilon = c
    m = slots[0] + (g - slots[0]) * one_minus_beta_1
    v = slots[1] + (g * g - slots[1]) * one_minus_beta_2
    if amsgrad:
        vhat = _xp.maximum(slots[2], v)
        return value - (m * alpha) / (_xp.sqrt(vhat) + epsilon), (m, v, vhat)
    return value - (m * alpha) / (_xp.sqrt(v) + epsilon), (m, v)


class Adam(Optimizer):
    r"""Adam: gradient steps scaled by running averages of the gradient and its square.

    With :math:`t` = ``iterations + 1``,

    .. math::
        \alpha = \eta\,\sqrt{1-\beta_2^t}\,/\,(1-\beta_1^t), \quad
        m \mathrel{+}= (g - m)(1-\beta_1), \quad v \mathrel{+}= (g^2 - v)(1-\beta_2), \quad
        w \mathrel{-}= \alpha\, m / (\sqrt{v} + \hat\epsilon)

    (TensorFlow's ``ResourceApplyAdam`` kernel, in this order).  With ``amsgrad=True`` the
    denominator uses :math:`\hat v = \max(\hat v, v)`.

    Parameters
    ----------
    learning_rate : float, schedule or callable, default 0.001
    beta_1, beta_2 : float, default 0.9, 0.999
    epsilon : float, default 1e-7
    amsgrad : bool, default False

    Slots: ``"m"``, ``"v"`` and, with amsgrad, ``"vhat"``.

    >>> import tapeviz as tv
    >>> x = tv.Variable(0.0, name="x")
    >>> opt = tv.keras.optimizers.Adam(learning_rate=0.01)
    >>> f = lambda: x**2 - 2.0 * x + 1.0
    >>> for _ in range(100):
    ...     _ = opt.minimize(f, [x])
    >>> print(f().numpy(), x.numpy())
    0.050376177 0.77555364
    """

    _CONFIG = ("learning_rate", "decay", "beta_1", "beta_2", "epsilon", "amsgrad")

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: Any = 0.9,
        beta_2: Any = 0.999,
        epsilon: Any = 1e-7,
        amsgrad: bool = False,
        name: str = "Adam",
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self._set_hypers(kwargs.get("lr", learning_rate), beta_1=beta_1, beta_2=beta_2)
        self.epsilon = self._epsilon(epsilon)
        self.amsgrad = bool(amsgrad)
        self._slot_names = ["m", "v", "vhat"] if self.amsgrad else ["m", "v"]

    def _coefficients(self, dtype: Any, k: Scalars = NUMPY_SCALARS) -> tuple[Any, ...]:
        lr, t, beta_1, beta_2, one = _adam_scalars(self, dtype, k)
        alpha = lr * k.sqrt(one - k.pow(beta_2, t)) / (one - k.pow(beta_1, t))
        return alpha, one - beta_1, one - beta_2, k.const(self.epsilon, dtype)

    def _update(self, var: Variable, value: Any, g: Any, slots: Any, c: Any) -> Any:
        return _adam_step(value, g, slots, c, self.amsgrad)


class RMSprop(Optimizer):
    r"""RMSprop: divide the step by a running root-mean-square of the gradients.

    :math:`s \leftarrow \rho s + (1-\rho) g^2`, :math:`w \leftarrow w - \eta g / (\sqrt{s} +
    \hat\epsilon)`.  ``centered=True`` also tracks the mean gradient :math:`\bar g` and
    uses :math:`s - \bar g^2`; ``momentum > 0`` switches to TensorFlow's fused kernel
    :math:`m \leftarrow \mu m + \eta g / \sqrt{s + \hat\epsilon}`, :math:`w \leftarrow w - m`.

    Parameters
    ----------
    learning_rate : float, schedule or callable, default 0.001
    rho : float, default 0.9
    momentum : float, default 0.0
    epsilon : float, default 1e-7
    centered : bool, default False

    Slots: ``"rms"`` (also ``"velocity"``), ``"momentum"`` if momentum > 0, ``"mg"``
    (also ``"average_gradient"``) if centered.
    """

    _SLOT_ALIASES: ClassVar[dict[str, str]] = {"velocity": "rms", "average_gradient": "mg"}

    _CONFIG = ("learning_rate", "decay", "rho", "momentum", "epsilon", "centered")

    def __init__(
        self,
        learning_rate: Any = 0.001,
        rho: Any = 0.9,
        momentum: Any = 0.0,
        epsilon: Any = 1e-7,
        centered: bool = False,
        name: str = "RMSprop",
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self._set_hypers(kwargs.get("lr", learning_rate), rho=rho)
        self._set_momentum(momentum)
        self.epsilon = self._epsilon(epsilon)
        self.centered = bool(centered)
        self._slot_names = ["rms"]
        if self._momentum:
            self._slot_names.append("momentum")
        if self.centered:
            self._slot_names.append("mg")

    def _coefficients(self, dtype: Any, k: Scalars = NUMPY_SCALARS) -> tuple[Any, ...]:
        rho = k.hyper(self, "rho", dtype)
        return (
            self._decayed_lr(dtype, k),
            rho,
            k.hyper(self, "momentum", dtype),
            k.const(self.epsilon, dtype),
            k.const(1.0, dtype) - rho,
        )

    def _update(self, var: Variable, value: Any, g: Any, slots: Any, c: Any) -> Any:
        lr, rho, momentum, epsilon, one_minus_rho = c
        rms = slots[0]
        if self._momentum:  # fused kernels ResourceApply(Centered)RMSProp
            mom = slots[1]
            rms = rms + (g * g - rms) * one_minus_rho
            if self.centered:
                mg = slots[2] + (g - slots[2]) * one_minus_rho
                denom = (rms - mg * mg) + epsilon
                mom = mom * momentum + (g * lr) / _xp.sqrt(denom)
                return value - mom, (rms, mom, mg)
            mom = mom * momentum + (g * lr) / _xp.sqrt(rms + epsilon)
            return value - mom, (rms, mom)
        rms = rho * rms + one_minus_rho * (g * g)  # written with ops in Keras (no kernel)
        if self.centered:
            mg = rho * slots[1] + one_minus_rho * g
            return value - lr * g / (_xp.sqrt(rms - mg * mg) + epsilon), (rms, mg)
        return value - lr * g / (_xp.sqrt(rms) + epsilon), (rms,)


class Adagrad(Optimizer):
    r"""Adagrad: per-coordinate steps that shrink with the accumulated squared gradients.

    :math:`a \leftarrow a + g^2`, :math:`w \leftarrow w - \eta g / (\sqrt{a} + \hat\epsilon)`
    (``ResourceApplyAdagradV2``), with :math:`a` starting at ``initial_accumulator_value``.

    Slots: ``"accumulator"`` (also ``"accumulators"``).
    """

    _SLOT_ALIASES: ClassVar[dict[str, str]] = {"accumulators": "accumulator"}

    _CONFIG = ("learning_rate", "decay", "initial_accumulator_value", "epsilon")

    def __init__(
        self,
        learning_rate: Any = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: Any = 1e-7,
        name: str = "Adagrad",
        **kwargs: Any,
    ) -> None:
        schedules.check_number("Adagrad", "initial_accumulator_value", initial_accumulator_value)
        if initial_accumulator_value < 0.0:
            raise ValueError(
                f"initial_accumulator_value must be non-negative: {initial_accumulator_value}"
            )
        super().__init__(name, **kwargs)
        self._set_hypers(kwargs.get("lr", learning_rate))
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = self._epsilon(epsilon)
        self._slot_names = ["accumulator"]

    def _slot_initial_value(self, slot_name: str) -> float:
        return float(self.initial_accumulator_value)

    def _coefficients(self, dtype: Any, k: Scalars = NUMPY_SCALARS) -> tuple[Any, ...]:
        return self._decayed_lr(dtype, k), k.const(self.epsilon, dtype)

    def _update(self, var: Variable, value: Any, g: Any, slots: Any, c: Any) -> Any:
        lr, epsilon = c
        acc = slots[0] + g * g
        return value - g * lr / (_xp.sqrt(acc) + epsilon), (acc,)


class Adadelta(Optimizer):
    r"""Adadelta: steps scaled by the ratio of running RMS of updates and of gradients.

    :math:`a \leftarrow \rho a + (1-\rho) g^2`,
    :math:`\Delta = \sqrt{u + \hat\epsilon}\,/\sqrt{a + \hat\epsilon}\; g`,
    :math:`w \leftarrow w - \eta\Delta`, :math:`u \leftarrow \rho u + (1-\rho)\Delta^2`.

    Slots: ``"accum_grad"``, ``"accum_var"``.
    """

    _SLOT_ALIASES: ClassVar[dict[str, str]] = {
        "accumulated_grad": "accum_grad",
        "accumulated_delta_var": "accum_var",
    }

    _CONFIG = ("learning_rate", "decay", "rho", "epsilon")

    def __init__(
        self,
        learning_rate: Any = 0.001,
        rho: Any = 0.95,
        epsilon: Any = 1e-7,
        name: str = "Adadelta",
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self._set_hypers(kwargs.get("lr", learning_rate), rho=rho)
        self.epsilon = self._epsilon(epsilon)
        self._slot_names = ["accum_grad", "accum_var"]

    def _coefficients(self, dtype: Any, k: Scalars = NUMPY_SCALARS) -> tuple[Any, ...]:
        rho = k.hyper(self, "rho", dtype)
        return (
            self._decayed_lr(dtype, k),
            rho,
            k.const(self.epsilon, dtype),
            k.const(1, dtype) - rho,
        )

    def _update(self, var: Variable, value: Any, g: Any, slots: Any, c: Any) -> Any:
        lr, rho, epsilon, one_minus_rho = c
        accum, accum_update = slots
        accum = accum * rho + (g * g) * one_minus_rho
        # (accum_update + eps).sqrt() * (accum + eps).rsqrt() * grad, rsqrt being 1 / sqrt
        update = _xp.sqrt(accum_update + epsilon) * _xp.reciprocal(_xp.sqrt(accum + epsilon)) * g
        accum_update = accum_update * rho + (update * update) * one_minus_rho
        return value - update * lr, (accum, accum_update)


class Adamax(Optimizer):
    r"""Adamax: Adam with the infinity norm.

    :math:`m \mathrel{+}= (g - m)(1-\beta_1)`, :math:`u \leftarrow \max(\beta_2 u, |g|)`,
    :math:`w \mathrel{-}= \eta/(1-\beta_1^t)\,\cdot\, m / (u + \hat\epsilon)`.

    Slots: ``"m"``, ``"v"`` (the :math:`u` above).
    """

    _CONFIG = ("learning_rate", "decay", "beta_1", "beta_2", "epsilon")

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: Any = 0.9,
        beta_2: Any = 0.999,
        epsilon: Any = 1e-7,
        name: str = "Adamax",
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self._set_hypers(kwargs.get("lr", learning_rate), beta_1=beta_1, beta_2=beta_2)
        self.epsilon = self._epsilon(epsilon)
        self._slot_names = ["m", "v"]

    def _coefficients(self, dtype: Any, k: Scalars = NUMPY_SCALARS) -> tuple[Any, ...]:
        lr, t, beta_1, beta_2, one = _adam_scalars(self, dtype, k)
        step = lr / (one - k.pow(beta_1, t))
        return step, one - beta_1, beta_2, k.const(self.epsilon, dtype)

    def _update(self, var: Variable, value: Any, g: Any, slots: Any, c: Any) -> Any:
        step, one_minus_beta_1, beta_2, epsilon = c
        m = slots[0] + (g - slots[0]) * one_minus_beta_1
        u = _xp.maximum(beta_2 * slots[1], _xp.abs(g))
        return value - step * (m / (u + epsilon)), (m, u)


class Nadam(Optimizer):
    r"""Nadam: Adam with Nesterov momentum (Dozat, 2015), with its momentum schedule
    :math:`\mu_t = \beta_1 (1 - 0.5\cdot 0.96^{0.004 t})`.

    Slots: ``"m"``, ``"v"``; one extra variable ``momentum_cache`` (the product of the
    :math:`\mu_t` so far).  Learning-rate schedules are not supported (as in Keras).
    """

    _ALLOWED_KWARGS = (*Optimizer._ALLOWED_KWARGS, "schedule_decay")

    _CONFIG = ("learning_rate", "decay", "beta_1", "beta_2", "epsilon")

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: Any = 0.9,
        beta_2: Any = 0.999,
        epsilon: Any = 1e-7,
        name: str = "Nadam",
        **kwargs: Any,
    ) -> None:
        kwargs["decay"] = kwargs.pop("schedule_decay", 0.004)
        learning_rate = kwargs.get("lr", learning_rate)
        if isinstance(learning_rate, LearningRateSchedule):
            raise ValueError(
                "The Nadam optimizer does not support tf.keras.optimizers."
                "LearningRateSchedules as the learning rate."
            )
        super().__init__(name, **kwargs)
        self._set_hypers(learning_rate, beta_1=beta_1, beta_2=beta_2)
        self.epsilon = self._epsilon(epsilon)
        self._m_cache: Variable | None = None
        self._m_cache_read: Any = None
        self._slot_names = ["m", "v"]

    @property
    def _momentum_cache(self) -> Variable | None:
        return self._m_cache

    def _create_slots(self, var_list: list[Variable]) -> None:
        if self._m_cache is None:
            with name_scope(self._name):
                one = np.ones((), dtype=var_list[0]._value.dtype)[()]
                self._m_cache = Variable(one, name="momentum_cache", trainable=False)
            self._weights.append(self._m_cache)
        super()._create_slots(var_list)

    def _lr_for_next_step(self, dtype: Any = np.float32) -> Any:
        return self._hyper_value("learning_rate", dtype)  # Nadam ignores `decay`

    def _before_apply(self) -> None:
        assert self._m_cache is not None
        self._m_cache_read = self._m_cache._value

    def _coefficients(self, dtype: Any, k: Scalars = NUMPY_SCALARS) -> tuple[Any, ...]:
        lr = k.hyper(self, "learning_rate", dtype)
        beta_1 = k.hyper(self, "beta_1", dtype)
        beta_2 = k.hyper(self, "beta_2", dtype)
        local_step, next_step = k.step(self, 1, dtype), k.step(self, 2, dtype)
        decay_base = k.const(0.96, dtype)
        decay = k.const(self._initial_decay, dtype)
        one, half = k.const(1.0, dtype), k.const(0.5, dtype)
        m_t = beta_1 * (one - half * k.pow(decay_base, decay * local_step))
        m_t_1 = beta_1 * (one - half * k.pow(decay_base, decay * next_step))
        m_schedule_new = k.nadam_cache(self, dtype) * m_t
        k.set_nadam_cache(self, m_schedule_new, dtype)
        m_schedule_next = m_schedule_new * m_t_1
        return (
            lr,
            k.const(self.epsilon, dtype),
            beta_1,
            beta_2,
            m_t_1,
            one - beta_1,
            one - beta_2,
            one - m_t,
            one - m_schedule_new,
            one - m_schedule_next,
            one - k.pow(beta_2, local_step),
        )

    def _update(self, var: Variable, value: Any, g: Any, slots: Any, c: Any) -> Any:
        (
            lr,
            epsilon,
            beta_1,
            beta_2,
            m_t_1,
            omb1,
            omb2,
            om_t,
            om_sched_new,
            om_sched_next,
            v_den,
        ) = c
        m, v = slots
        g_prime = g / om_sched_new
        m = beta_1 * m + omb1 * g
        m_prime = m / om_sched_next
        v = beta_2 * v + omb2 * (g * g)
        v_prime = v / v_den
        m_bar = om_t * g_prime + m_t_1 * m_prime
        return value - lr * m_bar / (_xp.sqrt(v_prime) + epsilon), (m, v)

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Any:
        """A Nadam from its config; Keras 2 stores ``schedule_decay`` as ``decay``."""
        config = dict(config)
        if "decay" in config:
            config["schedule_decay"] = config.pop("decay")
        return super().from_config(config, custom_objects)


class AdamW(Optimizer):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter), as Keras 2 defines it.

    Before the Adam step, each variable shrinks by :math:`w \leftarrow w - w\,\lambda\,\eta`
    (``weight_decay`` :math:`\lambda`), then the Adam update of :class:`Adam` follows.
    Keras 2 has AdamW only among its newer optimizers (TensorFlow >= 2.11), so this class
    follows their arithmetic: ``1 - beta_1`` is computed in Python (float64) and rounded,
    the iteration counter is ``iteration:0`` and slots are named ``AdamW/m/w:0``.

    Parameters
    ----------
    learning_rate : float or schedule, default 0.001
    weight_decay : float, default 0.004
    beta_1, beta_2, epsilon, amsgrad : as :class:`Adam`

    Use ``exclude_from_weight_decay(var_list=..., var_names=[...])`` to keep some
    variables (biases, say) from decaying.
    """

    _ALLOWED_KWARGS = ("lr",)

    def __init__(
        self,
        learning_rate: Any = 0.001,
        weight_decay: Any = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm: Any = None,
        clipvalue: Any = None,
        global_clipnorm: Any = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: Any = None,
        jit_compile: bool = True,
        name: str = "AdamW",
        **kwargs: Any,
    ) -> None:
        for k in kwargs:
            if k in ("decay", "gradient_aggregator", "gradient_transformers"):
                raise ValueError(
                    f"{k} is deprecated in the new TF-Keras optimizer, please check the "
                    "docstring for valid arguments."
                )
        super().__init__(name, **kwargs)
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(
                "At most one of `clipnorm` and `global_clipnorm` can be set. Received: "
                f"clipnorm={clipnorm}, global_clipnorm={global_clipnorm}."
            )
        if weight_decay is None:
            raise ValueError(
                f"Argument `weight_decay` must be a float. Received: weight_decay={weight_decay}"
            )
        if use_ema:
            raise NotImplementedError("AdamW(use_ema=True) is not supported by tapeviz")
        self._clipnorm, self._clipvalue, self._global_clipnorm = (
            clipnorm,
            clipvalue,
            global_clipnorm,
        )
        self._set_hyper("learning_rate", kwargs.get("lr", learning_rate))
        for arg, value in (("weight_decay", weight_decay), ("beta_1", beta_1), ("beta_2", beta_2)):
            schedules.check_number("AdamW", arg, value)
        schedules.check_number("AdamW", "epsilon", epsilon, example=1e-7)
        self.weight_decay = weight_decay
        self.beta_1, self.beta_2 = beta_1, beta_2
        self.epsilon = epsilon
        self.amsgrad = bool(amsgrad)
        self.use_ema, self.ema_momentum = use_ema, ema_momentum
        # like TensorFlow without an XLA device, the effective jit_compile is False
        self.ema_overwrite_frequency, self.jit_compile = ema_overwrite_frequency, False
        self._exclude_ids: set[int] = set()
        self._exclude_names: list[str] = []
        self._slot_names = ["m", "v", "vhat"] if self.amsgrad else ["m", "v"]
        self._iterations = Variable(np.int64(0), name="iteration", trainable=False)
        self._weights.append(self._iterations)

    def exclude_from_weight_decay(self, var_list: Any = None, var_names: Any = None) -> None:
        """Do not decay these variables (or those whose name matches a regex in var_names)."""
        for v in var_list or ():
            self._exclude_ids.add(v._id)
        self._exclude_names.extend(var_names or ())

    def _use_weight_decay(self, var: Variable) -> bool:
        if var._id in self._exclude_ids:
            return False
        return not any(re.search(n, var.name) for n in self._exclude_names)

    def _create_slots(self, var_list: list[Variable]) -> None:
        # Keras-3-style names and order: AdamW/m/w:0, AdamW/v/w:0, then the next variable.
        for var in var_list:
            base = var.name.rsplit(":", 1)[0]
            slot_dict = self._slots.setdefault(var._id, {})
            for slot_name in self._slot_names:
                if slot_name in slot_dict:
                    continue
                value = np.zeros(np.shape(var._value), dtype=var._value.dtype)
                with name_scope(self._name):
                    slot = Variable(value, name=f"{slot_name}/{base}", trainable=False)
                slot_dict[slot_name] = slot
                self._weights.append(slot)

    def _clip(
        self, pairs: list[tuple[Variable, Any]], k: Backend = NUMPY
    ) -> list[tuple[Variable, Any]]:
        if self._clipnorm and self._clipnorm > 0:
            return [(v, _clip_by_norm(g, self._clipnorm, k)) for v, g in pairs]
        if self._global_clipnorm and self._global_clipnorm > 0:
            return _clip_by_global_norm(pairs, self._global_clipnorm, k)
        if self._clipvalue and self._clipvalue > 0:
            return [(v, _clip_by_value(g, self._clipvalue, k)) for v, g in pairs]
        return pairs

    def _coefficients(self, dtype: Any, k: Scalars = NUMPY_SCALARS) -> tuple[Any, ...]:
        lr = self._decayed_lr(dtype, k)
        t = k.step(self, 1, dtype)
        one = k.const(1, dtype)
        beta_1_power = k.pow(k.const(self.beta_1, dtype), t)
        beta_2_power = k.pow(k.const(self.beta_2, dtype), t)
        alpha = lr * k.sqrt(one - beta_2_power) / (one - beta_1_power)
        return (
            alpha,
            k.const(1 - self.beta_1, dtype),  # a Python float, rounded: the newer way
            k.const(1 - self.beta_2, dtype),
            k.const(self.epsilon, dtype),
            lr,
            k.const(self.weight_decay, dtype),
        )

    def _update(self, var: Variable, value: Any, g: Any, slots: Any, c: Any) -> Any:
        adam, (lr, weight_decay) = c[:4], c[4:]
        if self._use_weight_decay(var):
            value = value - value * weight_decay * lr
        return _adam_step(value, g, slots, adam, self.amsgrad)

    def get_config(self) -> dict[str, Any]:
        """The arguments of Keras 3's AdamW, which it follows (name, weight decay, clipping...)."""
        lr = self._hyper["learning_rate"]
        if isinstance(lr, LearningRateSchedule):
            lr_config: Any = schedules.serialize(lr)
        else:
            lr_config = float(self._hyper_value("learning_rate", np.float32))
        return {
            "name": self._name,
            "weight_decay": self.weight_decay,
            "clipnorm": self._clipnorm,
            "global_clipnorm": self._global_clipnorm,
            "clipvalue": self._clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "jit_compile": self.jit_compile,
            "is_legacy_optimizer": False,
            "learning_rate": lr_config,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Any:
        """An AdamW from its config (``is_legacy_optimizer`` ignored)."""
        config = dict(config)
        config.pop("is_legacy_optimizer", None)
        return super().from_config(config, custom_objects)


# -- lookup by name, serialization ----------------------------------------------------------
_BY_NAME: dict[str, Any] = {
    cls.__name__.lower(): cls
    for cls in (SGD, Adam, RMSprop, Adagrad, Adadelta, Adamax, Nadam, AdamW)
}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for ``optimizer``."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Optimizer:
    """The optimizer described by :func:`serialize`'s output."""
    name = str(config["class_name"])
    known: dict[str, Any] = {k: v for k, v in _BY_NAME.items()}
    if custom_objects:
        known.update({k.lower(): v for k, v in custom_objects.items()})
    if name.lower() not in known:
        raise ValueError(
            f"Unknown optimizer: '{name}'. Known: {sorted(c.__name__ for c in _BY_NAME.values())}"
        )
    optimizer: Optimizer = known[name.lower()].from_config(config.get("config", {}), custom_objects)
    return optimizer


def get(identifier: Any) -> Optimizer:
    """An optimizer from a name (``"adam"``), a config dict, or an optimizer (returned as is).

    >>> import tapeviz as tv
    >>> tv.keras.optimizers.get("sgd").get_config()["learning_rate"]
    0.01
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"Could not interpret optimizer identifier: {identifier!r}; known names: "
                f"{sorted(_BY_NAME)}"
            )
        return cls()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


# ``tf.keras.optimizers.legacy.SGD`` etc. are the same classes here (they *are* the
# legacy optimizers); ``experimental.AdamW`` is how TensorFlow 2.10 spelled AdamW.
legacy = types.ModuleType(f"{__name__}.legacy", "The optimizer_v2 classes (same as the parent).")
experimental = types.ModuleType(f"{__name__}.experimental", "Keras-2 experimental optimizers.")
_cls: type[Optimizer]
for _cls in (Optimizer, SGD, Adam, RMSprop, Adagrad, Adadelta, Adamax, Nadam):
    setattr(legacy, _cls.__name__, _cls)
for _cls in (SGD, Adam, RMSprop, Adagrad, Adadelta, Adamax, Nadam, AdamW):
    setattr(experimental, _cls.__name__, _cls)
sys.modules[legacy.__name__] = legacy
sys.modules[experimental.__name__] = experimental
sys.modules.setdefault(f"{__name__}.schedules", schedules)

from .recording import Run, record_race, record_run  # noqa: E402  (uses the classes above)

# a TensorFlow name tapeviz lacks: an error that says so (see tapeviz/_surface.py)
__getattr__ = _module_getattr("tf.keras.optimizers")
