"""Record what an optimizer does, step by step, for plots and the optimizer race.

:func:`record_run` runs the *real* optimizer (``apply_gradients``, the same code a training
loop uses) on a loss for a number of steps and keeps, for every step, the variables'
values, the gradients, the optimizer's slot values (Adam's ``m`` and ``v``...), the loss and
the learning rate.  Nothing of an update rule is written twice: the recorder only reads
the variables and ``optimizer.get_slot(...)`` after each step.

:func:`record_race` does the same for several optimizers started from one point of a
loss surface written as a function of its coordinates — the data of
``tv.viz.OptimizerRace``.

>>> import tapeviz as tv
>>> runs = tv.keras.optimizers.record_race(
...     {"SGD": tv.keras.optimizers.SGD(0.1), "Adam": tv.keras.optimizers.Adam(0.1)},
...     lambda x, y: x**2 + 10.0 * y**2, start=[1.0, 1.0], steps=50)
>>> runs["Adam"].path.shape
(51, 2)
>>> float(runs["SGD"].loss[0])
11.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._nest import positional_names
from ..tape import GradientTape
from ..tensor import Tensor, Variable

if TYPE_CHECKING:
    from .optimizers import Optimizer

__all__ = ["Run", "record_run", "record_race"]


@dataclass(frozen=True)
class Run:
    """One optimizer's trajectory, as recorded by :func:`record_run`.

    Index ``k`` of every per-position array means "after ``k`` steps" (``k = 0`` is the
    start), so ``values[n][k]``, ``loss[k]`` and ``slots[n][s][k]`` describe the same point;
    ``gradients[n][k]`` and ``learning_rate[k]`` are what step ``k + 1`` used there.

    Attributes
    ----------
    optimizer : str
        The optimizer's class name (``"Adam"``).
    config : dict
        ``optimizer.get_config()`` when the run started.
    names : tuple of str
        The variables' names (``"x:0"``), in ``var_list`` order; keys of the dicts below.
    values : dict name -> ndarray, shape (steps + 1, *variable.shape)
    gradients : dict name -> ndarray, shape (steps, *variable.shape)
        The gradient computed at ``values[k]`` (before any clipping the optimizer does;
        NaN where the tape gave ``None``).
    slots : dict name -> dict slot name -> ndarray, shape (steps + 1, *variable.shape)
        The optimizer's slot variables (``"m"``, ``"v"``, ``"momentum"``...); index 0 holds
        their initial values.
    loss : ndarray, shape (steps + 1,)
        The loss at ``values[k]`` (float64 holding the loss dtype's exact values).
    learning_rate : ndarray, shape (steps,)
        The learning rate step ``k + 1`` used (after schedules and ``decay``).
    """

    optimizer: str
    config: dict[str, Any]
    names: tuple[str, ...]
    values: dict[str, np.ndarray]
    gradients: dict[str, np.ndarray]
    slots: dict[str, dict[str, np.ndarray]]
    loss: np.ndarray
    learning_rate: np.ndarray
    label: str = field(default="")

    @property
    def steps(self) -> int:
        """The number of steps taken."""
        return int(self.loss.shape[0]) - 1

    @property
    def path(self) -> np.ndarray:
        """All variables flattened side by side: shape (steps + 1, total size).

        For two scalar variables ``x, y`` this is the (x, y) path across a contour plot.
        """
        cols = [self.values[n].reshape(self.steps + 1, -1) for n in self.names]
        return np.concatenate(cols, axis=1) if cols else np.zeros((self.steps + 1, 0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (lists; non-finite numbers as None) for a web front end."""

        def clean(a: np.ndarray) -> Any:
            arr = np.asarray(a, dtype=np.float64)
            return np.where(np.isfinite(arr), arr, np.nan).tolist() if arr.size else []

        def jsonable(x: Any) -> Any:
            if isinstance(x, float) and not np.isfinite(x):
                return None
            if isinstance(x, list):
                return [jsonable(e) for e in x]
            return x

        return {
            "label": self.label,
            "optimizer": self.optimizer,
            "config": self.config,
            "names": list(self.names),
            "values": {n: jsonable(clean(v)) for n, v in self.values.items()},
            "gradients": {n: jsonable(clean(v)) for n, v in self.gradients.items()},
            "slots": {
                n: {s: jsonable(clean(a)) for s, a in d.items()} for n, d in self.slots.items()
            },
            "loss": jsonable(clean(self.loss)),
            "learning_rate": jsonable(clean(self.learning_rate)),
        }


def _unique_names(var_list: Sequence[Variable]) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    names = []
    for v in var_list:
        n = v.name
        if n in seen:
            seen[n] += 1
            n = f"{n}#{seen[n]}"
        else:
            seen[n] = 0
        names.append(n)
    return tuple(names)


def _loss_value(loss: Any) -> float:
    value = loss._value if isinstance(loss, Tensor) else loss
    return float(np.sum(value))


def record_run(
    optimizer: Optimizer,
    loss: Callable[[], Any],
    var_list: Sequence[Variable],
    steps: int,
    *,
    callback: Callable[[int, Optimizer], Any] | None = None,
    label: str = "",
) -> Run:
    """Run ``steps`` updates of ``optimizer`` on ``loss`` and record every step.

    Each step is exactly what a training loop does: the loss under a
    :class:`~tapeviz.GradientTape`, ``tape.gradient``, then
    ``optimizer.apply_gradients`` — so the run also changes the variables and the
    optimizer's state, as training would.

    Parameters
    ----------
    optimizer : keras optimizer
        Any ``tv.keras.optimizers`` optimizer (usually a fresh one).
    loss : callable with no arguments
        Returns the scalar loss, computed from the variables (as for ``minimize``).
    var_list : list of Variable
        The float variables to optimize.
    steps : int
        The number of updates.
    callback : callable(step, optimizer), optional
        Called after each update with its number (1..steps).
    label : str, optional
        Stored in ``Run.label`` (e.g. the name shown in a legend).

    Returns
    -------
    Run

    >>> import tapeviz as tv
    >>> x = tv.Variable(0.0, name="x")
    >>> run = tv.keras.optimizers.record_run(
    ...     tv.keras.optimizers.Adam(0.01), lambda: (x - 1.0) ** 2, [x], steps=3)
    >>> run.values["x:0"]
    array([0.        , 0.00999998, 0.01999719, 0.02998986], dtype=float32)
    >>> run.slots["x:0"]["m"][1]
    np.float32(-0.20000005)
    """
    if int(steps) != steps or steps < 0:
        raise ValueError(f"record_run: steps must be a non-negative integer, got {steps!r}")
    steps = int(steps)
    if not callable(loss):
        raise TypeError(
            "record_run: `loss` must be a function with no arguments that computes the loss "
            "from the variables, e.g. lambda: (x - 1.0) ** 2"
        )
    var_list = optimizer._check_var_list(list(var_list))
    if not var_list:
        raise ValueError("record_run: var_list is empty")
    names = _unique_names(var_list)
    optimizer._create_all_slots(var_list)  # slots exist (with their initial values) from step 0
    slot_names = optimizer.get_slot_names()

    variables = dict(zip(names, var_list, strict=True))
    slot_vars = {n: {s: optimizer.get_slot(v, s) for s in slot_names} for n, v in variables.items()}

    def history(v: Variable, length: int) -> np.ndarray:
        """Room for ``length`` values of the shape and dtype of ``v``."""
        return np.empty((length, *np.shape(v._value)), v._value.dtype)

    name = type(optimizer).__name__
    run = Run(  # filled in below, step by step
        optimizer=name,
        config=optimizer.get_config(),
        names=names,
        values={n: history(v, steps + 1) for n, v in variables.items()},
        gradients={n: history(v, steps) for n, v in variables.items()},
        slots={n: {s: history(v, steps + 1) for s in slot_names} for n, v in variables.items()},
        loss=np.empty(steps + 1, np.float64),
        learning_rate=np.empty(steps, np.float64),
        label=label or name,
    )

    def snapshot(k: int) -> None:
        for n, v in variables.items():
            run.values[n][k] = v._value
            for s, sv in slot_vars[n].items():
                run.slots[n][s][k] = sv._value

    snapshot(0)
    for k in range(steps):
        with GradientTape() as tape:
            loss_value = loss()
        gs = tape.gradient(loss_value, var_list)
        run.loss[k] = _loss_value(loss_value)
        for n, g in zip(names, gs, strict=True):
            run.gradients[n][k] = np.nan if g is None else g._value
        run.learning_rate[k] = float(optimizer._lr_for_next_step(np.float32))
        optimizer.apply_gradients(list(zip(gs, var_list, strict=True)))
        snapshot(k + 1)
        if callback is not None:
            callback(k + 1, optimizer)
    run.loss[steps] = _loss_value(loss())
    return run


def _argument_names(fn: Callable[..., Any], n: int) -> list[str]:
    params = positional_names(fn)
    if len(params) >= n:
        return params[:n]
    return ["x", "y", "z"][:n] if n <= 3 else [f"x{i}" for i in range(n)]


def record_race(
    optimizers: Mapping[str, Optimizer] | Sequence[Optimizer],
    loss: Callable[..., Any],
    start: Sequence[Any],
    steps: int,
) -> dict[str, Run]:
    """Race several optimizers from the same starting point; one :class:`Run` each.

    Parameters
    ----------
    optimizers : dict label -> optimizer, or a list of optimizers
        Fresh optimizers (a list is labelled by class name: ``"SGD"``, ``"Adam"``,
        ``"Adam (2)"``...).
    loss : callable(*variables) -> scalar Tensor
        The loss as a function of its coordinates, e.g. Rosenbrock's
        ``lambda x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2``.
    start : sequence
        One initial value per argument of ``loss`` (floats, or arrays for vector
        arguments).  Each optimizer gets its own float32 Variables, named after the
        arguments of ``loss`` (``x:0``, ``y:0``).
    steps : int

    Returns
    -------
    dict label -> Run
        In the order given; ``run.path`` is the trajectory, ``run.loss`` the loss curve.
    """
    if isinstance(optimizers, Mapping):
        items = list(optimizers.items())
    else:
        items = []
        counts: dict[str, int] = {}
        for opt in optimizers:
            base = type(opt).__name__
            counts[base] = counts.get(base, 0) + 1
            items.append((base if counts[base] == 1 else f"{base} ({counts[base]})", opt))
    arg_names = _argument_names(loss, len(start))
    runs: dict[str, Run] = {}
    for label, opt in items:
        variables = [
            Variable(np.asarray(s, dtype=np.float32), name=n)
            for s, n in zip(start, arg_names, strict=True)
        ]

        def objective(vs: list[Variable] = variables) -> Any:
            return loss(*vs)

        runs[label] = record_run(opt, objective, variables, steps, label=label)
    return runs
