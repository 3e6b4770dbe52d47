"""Every string the widgets show, in one table.

The sweep player, the optimizer race and their error messages take their words from
:data:`MESSAGES` through :func:`message`; the browser side of a widget gets the strings it
needs as data (:func:`for_front_end`), so no visible text is written in the JavaScript.
English is the only language so far.  Another language is one more table with the same
keys: ``MESSAGES["zh"] = {...}``; a key missing there falls back to English.

Keys are dotted: ``controls.*`` (the playback toolbar of both widgets), ``player.*``,
``race.*``, and ``error.*`` for exceptions (not sent to the browser).  Fields are
``str.format`` fields: ``message("race.diverged", step=12)`` gives ``"diverged at step 12"``.

>>> from tapeviz.viz.messages import message
>>> message("controls.play")
'Play'
>>> message("player.frame_label", index=3, count=10, phase=message("player.phase.backward"))
'Frame 3 / 10 · reverse sweep'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MESSAGES", "language", "message", "for_front_end"]

_EN: dict[str, str] = {
    # -- the playback toolbar (controls.js), shared by both widgets ------------------------
    "controls.first": "First frame",
    "controls.back": "Step back",
    "controls.play": "Play",
    "controls.pause": "Pause",
    "controls.forward": "Step forward",
    "controls.last": "Last frame",
    "controls.slider": "Frame",
    "controls.speed": "Speed",
    "controls.fps": "{fps} fps",
    "controls.toolbar": "{name} controls",
    "controls.key_hint": "{label} ({keys})",
    # -- SweepPlayer ----------------------------------------------------------------------
    "player.name": "Sweep player",
    "player.aria": "Sweep player: arrow keys step, Space plays, + and − zoom the graph",
    "player.graph": "Graph of the recorded ops (drag to move it; Ctrl + wheel zooms)",
    "player.frame_label": "Frame {index} / {count} · {phase}",
    "player.phase.forward": "forward pass",
    "player.phase.backward": "reverse sweep",
    "player.forward_title": "Forward step {step} of {count}: evaluate {label} ({op})",
    "player.backward_title": "Reverse step {step} of {count}: propagate ∂L/∂{label} through {via}",
    "player.forward_note": (
        "Forward pass: each op is evaluated in recording order; the reverse sweep follows."
    ),
    "player.fan_out": (
        "{names} feeds more than one op: its adjoint is the sum of what each use sends back."
    ),
    "player.adjoints": "Adjoints ∂L/∂value accumulated so far",
    "player.zoom": "Zoom",
    "player.zoom_out": "Zoom out",
    "player.zoom_in": "Zoom in",
    "player.zoom_fit": "Whole graph",
    "player.zoom_reset": "Readable size",
    "player.zoom_level": "{percent}%",
    "player.static_note": "Frame {index} of {count} (static picture: run the notebook to play).",
    "player.page_title": "tapeviz sweep player",
    # -- OptimizerRace --------------------------------------------------------------------
    "race.name": "Optimizer race",
    "race.aria": "Optimizer race: arrow keys step, Space plays",
    "race.step_label": "Step {index} / {count}",
    "race.caption": "After step {index} of {count}",
    "race.col.optimizer": "optimizer",
    "race.col.position": "position (x, y)",
    "race.col.position_1d": "position x",
    "race.col.loss": "loss",
    "race.col.slots": "slots",
    "race.col.settings": "settings",
    "race.col.learning_rate": "learning rate",
    "race.col.momentum": "momentum / β₁",
    "race.learning_rate": "learning rate",
    "race.momentum": "momentum",
    "race.beta_1": "β₁",
    "race.input_aria": "{label} of {name}",
    "race.input_title": "{label}: change to re-run",
    "race.input_title_static": "Re-running the race needs a live kernel",
    "race.note": "Change a learning rate or momentum to run the race again.",
    "race.note_static": (
        "Saved page: the settings are shown read-only (re-running needs a live kernel)."
    ),
    "race.diverged": "diverged at step {step}",
    "race.diverged_nan": "{name} diverged at step {step}: its loss became {value}.",
    "race.diverged_left": (
        "{name} diverged at step {step}: it left the picture, its loss climbing above every "
        "value drawn, and never came back."
    ),
    "race.overflow": "  From step {step} on, its loss is {value}.",
    "race.left": "left the picture at step {step}",
    "race.left_note": "{name} left the picture at step {step} (its loss kept falling).",
    "race.x_label": "x = p[0]",
    "race.y_label": "y = p[1]",
    "race.loss_label": "loss",
    "race.loss_log_label": "loss (log scale)",
    "race.step_axis": "step",
    "race.start": "start",
    "race.minimum": "minimum",
    "race.plot_aria": "Paths of the optimizers on {title}",
    "race.loss_aria": "Loss against step",
    "race.custom_title": "the loss",
    "race.static_note": "Step {index} of {count} (static picture: run the notebook to play).",
    "race.page_title": "tapeviz optimizer race — {title}",
    # -- errors (exceptions; not sent to the browser) -------------------------------------
    "error.player.not_a_tape": (
        "SweepPlayer needs a tv.GradientTape or its record (tape.record()), got {type}"
    ),
    "error.player.empty": (
        "SweepPlayer: the tape recorded no op, so there is nothing to step through "
        "(run some ops inside `with tv.GradientTape() as tape:`)"
    ),
    "error.player.fixed_option": "SweepPlayer draws {option}; the option {option}= is not used",
    "error.race.steps": "OptimizerRace: steps must be a positive integer, got {value!r}",
    "error.race.no_start": "OptimizerRace: give start=(x, y) (only surfaces have a default)",
    "error.race.start_type": (
        "OptimizerRace: start must be a pair of numbers (x, y), got {value!r} ({type}); "
        "for example start=(-1.5, 2.0)"
    ),
    "error.race.start_shape": (
        "OptimizerRace: start must be a pair of numbers (x, y), got {shape}; for a 1-D loss "
        "use (x, 0) and read p[0] only"
    ),
    "error.race.start_item": (
        "OptimizerRace: start must be two numbers, but start[{index}] is {value!r} ({type}); "
        "for example start=(-1.5, 2.0)"
    ),
    "error.race.start_finite": (
        "OptimizerRace: start must be two finite numbers, got ({x}, {y}); choose a point "
        "where the loss can be evaluated"
    ),
    "error.race.loss_type": (
        "OptimizerRace: loss must be a function of one tensor p of shape (2,) (or a surface "
        "from tapeviz.viz.surfaces), got {value!r} ({type})"
    ),
    "error.race.loss_not_tensor": (
        "OptimizerRace: loss(p) returned {value!r} ({type}), not a tensor, so the tape "
        "cannot differentiate it.  Compute the loss with tapeviz ops on p, e.g. "
        "p[0]**2 + 3 * p[1]**2, not with float(...), .numpy() or numpy functions."
    ),
    "error.race.loss_shape": (
        "OptimizerRace: loss(p) must return a scalar tensor for p of shape (2,); it returned "
        "shape {shape}.  Reduce it, e.g. with tv.reduce_sum(...)."
    ),
    "error.race.loss_start": (
        "OptimizerRace: the loss at the start {start} is {value}, so no optimizer can take a "
        "step from there.  Choose a start where the loss is a finite number."
    ),
    "error.race.gradient_none": (
        "OptimizerRace: the gradient of loss(p) with respect to p is None: the loss does not "
        "depend on p through tapeviz ops (was p converted to numpy?)."
    ),
    "error.race.gradient_start": (
        "OptimizerRace: the gradient of the loss at the start {start} is {value}, so no "
        "optimizer can take a step from there.  Choose another start."
    ),
    "error.race.no_optimizer": "OptimizerRace: give at least one optimizer",
    "error.race.optimizer_type": (
        "OptimizerRace: optimizers must be tv.keras.optimizers instances (with get_config "
        "and from_config), got {type}"
    ),
    "error.race.bounds": (
        "OptimizerRace: bounds must be ((x_min, x_max), (y_min, y_max)) with finite numbers "
        "and min < max, got {value!r}"
    ),
    "error.race.resolution": (
        "OptimizerRace: resolution must be an integer >= 8 (grid points per axis), got {value!r}"
    ),
    "error.race.rerun_name": "rerun: no optimizer named {name!r} in this race",
    "error.race.step": "OptimizerRace.figure: step must be between 0 and {steps}, got {value!r}",
}

#: The strings by language, then by key.
MESSAGES: dict[str, Mapping[str, str]] = {"en": _EN}

# The language in use.  (A ``set_language`` is for later: it will set this, and check it.)
_language = "en"


def language() -> str:
    """The language of the messages (``"en"``)."""
    return _language


def message(key: str, /, **fields: Any) -> str:
    """The text of ``key`` in the current language, with ``fields`` filled in.

    A key missing in the current language falls back to English; a key missing in English
    is a bug (``KeyError``).
    """
    template = MESSAGES.get(_language, _EN).get(key)
    if template is None:
        template = _EN[key]
    return template.format(**fields) if fields else template


def for_front_end(*prefixes: str) -> dict[str, str]:
    """The strings whose keys start with one of ``prefixes`` (``"controls."``...), in the
    current language, for a widget's browser side (its ``{field}`` left to fill there)."""
    keys = [k for k in _EN if k.startswith(prefixes) and not k.startswith("error.")]
    return {k: message(k) for k in keys}
