"""``OptimizerRace``: several optimizers racing across the same loss surface.

``OptimizerRace(loss, start, optimizers={name: optimizer}, steps=100)`` runs each optimizer
(a fresh copy of it: ``type(opt).from_config(opt.get_config())``) for ``steps`` updates from
``start`` with :func:`tapeviz.keras.optimizers.record_run` — the optimizers' own recording
hook, so the widget never writes an update rule — and shows

* the contours of the loss with a colour bar, one path per optimizer (its colour *and* the
  shape of its marker tell them apart; :data:`tapeviz.viz.theme.SERIES`), the start (○) and
  the minimum (★) when known;
* the loss against the step (logarithmic when the losses span more than two decades);
* a table with each optimizer's position, loss and slot values (SGD's ``momentum``, Adam's
  ``m`` and ``v``, RMSprop's ``rms``, Adagrad's ``accumulator``) at the current step, and
  its learning rate and momentum (or Adam's β₁) as inputs that re-run the race;
* Play, step and slider controls.  All steps are computed up front and sent once; playing
  only redraws the paths up to the current step in the browser (no kernel round trip).

The static layers — contours, colour bar, axes, ticks, the loss plot's axes — are drawn by
matplotlib (:data:`tapeviz.viz.theme.COLOUR_MAP`, equal scales on both axes when the ranges
allow, fonts that can show Chinese when such a font is installed); the browser draws only
the paths and markers over them, at pixel positions that matplotlib's own transforms give.
:meth:`OptimizerRace.figure` returns the same picture as a matplotlib ``Figure``, for static
notebooks and papers.

Divergence
----------
A run *diverges* when its position or loss stops being a finite number, or when it leaves
the picture for good with its loss above every value drawn.  Its path is cut where it
crosses the frame, a cross marks the spot, and the table says "diverged at step k" (never a
row of ``nan``).  A run that leaves the picture with a falling loss (on a saddle, say) is
cut the same way and the table says "left the picture at step k".  Without ``bounds``, the
region drawn is fitted to the runs that do not climb above the start, so one diverging
optimizer does not stretch the axes.

``loss`` takes one Variable ``p`` of shape ``(2,)`` and returns a scalar tensor; ``start`` is
a pair.  :mod:`tapeviz.viz.surfaces` has ready-made surfaces (``quadratic_bowl``,
``rosenbrock``, ``beale``, ``saddle`` and the 1-D ``parabola``), which also bring a region to
draw, a start and their minimum.  A 1-D surface (``dims == 1``) reads ``p[0]`` only and is
drawn as the curve ``loss(x)`` with the iterates on it; see :mod:`tapeviz.viz.surfaces`.

>>> import tapeviz as tv
>>> from tapeviz.viz import surfaces
>>> opt = tv.keras.optimizers
>>> race = tv.viz.OptimizerRace(surfaces.rosenbrock, optimizers={
...     "SGD": opt.SGD(0.001), "momentum": opt.SGD(0.001, momentum=0.9),
...     "Adam": opt.Adam(0.1)}, steps=200)
>>> race.paths["Adam"].shape
(201, 2)
>>> fig = race.figure()                      # a matplotlib Figure: fig.savefig("race.pdf")

DOM hooks (for browser tests)
-----------------------------
The root is ``div.tv-widget.tv-race`` with ``data-index`` (the step shown) and the toolbar
of :mod:`tapeviz.viz.player` (``button.tv-play``, ``button.tv-step-forward``, ...,
``input.tv-slider``, ``select.tv-speed``, ``.tv-frame-label``).  Each plot is a matplotlib
SVG (``svg.tv-race-plot``, ``svg.tv-loss-plot``; the colour bar is ``g#tv-colourbar``) with
an SVG of the same size over it (``svg.tv-race-paths``, ``svg.tv-loss-paths``) where
``rect.tv-frame`` is the plot's frame, ``polyline.tv-path[data-series="k"]`` the k-th
optimizer's path (``points`` grows with the step; ``polyline.tv-path-halo`` the white line
under it), ``path.tv-head[data-series="k"]`` its marker at the current point (moved with
``transform``; class ``tv-diverged`` once the run diverged or left), ``path.tv-loss-head``
the same on the loss curve, ``line.tv-cursor`` the step in the loss plot.
``table.tv-race-table`` has one ``tr[data-series="k"]`` per optimizer; ``.tv-status`` in its
first cell says "diverged at step k" from that step on; ``td.tv-pos``, ``td.tv-loss`` and
``td.tv-slots`` hold the current numbers ("—" for a number that is not finite) and
``input.tv-lr`` / ``input.tv-momentum`` the hyper-parameters (changing one re-runs the race
in the kernel; ``data-running`` is set on the root meanwhile; they are disabled in a saved
HTML page).  Every visible word comes from :mod:`tapeviz.viz.messages`.
"""

from __future__ import annotations

import contextlib
import html
import io
import itertools
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import anywidget
import numpy as np
import traitlets

import tapeviz

from . import static, theme
from .messages import MESSAGES, for_front_end, message
from .surfaces import Surface

__all__ = ["OptimizerRace", "default_optimizers", "plot_fonts", "run_race"]

_uid = itertools.count(1)


# --- running the race --------------------------------------------------------------------
@dataclass(frozen=True)
class _Series:
    name: str
    optimizer: str
    config: dict[str, Any]
    path: np.ndarray  # (steps + 1, 2)
    loss: np.ndarray  # (steps + 1,)
    gradients: np.ndarray  # (steps, 2)
    slots: dict[str, np.ndarray]  # slot -> (steps + 1, 2)


def default_optimizers(lr_scale: float = 1.0) -> dict[str, Any]:
    """Six classic optimizers; ``lr_scale`` scales the steps of SGD, momentum and RMSprop.

    The learning rates suit the built-in surfaces, whose ``lr_scale`` is used by default.
    """
    o = tapeviz.keras.optimizers

    lr = 0.01 * lr_scale
    return {
        "SGD": o.SGD(lr),
        "momentum": o.SGD(lr, momentum=0.9),
        "Nesterov": o.SGD(lr, momentum=0.9, nesterov=True),
        "Adam": o.Adam(0.1),
        "RMSprop": o.RMSprop(lr),
        "Adagrad": o.Adagrad(0.5),
    }


def _fresh(optimizer: Any, **changes: Any) -> Any:
    """A new optimizer with ``optimizer``'s settings (no state), some of them changed."""
    try:
        config = dict(optimizer.get_config())
        config.update(changes)
        return type(optimizer).from_config(config)
    except AttributeError:
        raise TypeError(
            message("error.race.optimizer_type", type=type(optimizer).__name__)
        ) from None


def run_race(
    loss: Callable[[Any], Any],
    start: Sequence[float],
    optimizers: Mapping[str, Any],
    steps: int,
) -> dict[str, _Series]:
    """Run every optimizer (a fresh copy) for ``steps`` steps from ``start``; record them.

    Each run is :func:`tapeviz.keras.optimizers.record_run` on a new float32
    ``Variable`` ``p`` of shape ``(2,)`` with the loss ``loss(p)``.
    """
    record_run = tapeviz.keras.optimizers.record_run
    out: dict[str, _Series] = {}
    for name, opt in optimizers.items():
        fresh = _fresh(opt)
        p = tapeviz.Variable(np.asarray(start, dtype=np.float32), name="p")

        def objective(p: tapeviz.Variable = p) -> Any:
            return loss(p)

        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # runs may diverge
            run = record_run(fresh, objective, [p], steps, label=name)
        key = run.names[0]
        out[name] = _Series(
            name=name,
            optimizer=run.optimizer,
            config=dict(run.config),
            path=np.asarray(run.values[key]).reshape(steps + 1, 2),
            loss=np.asarray(run.loss),
            gradients=np.asarray(run.gradients[key]).reshape(steps, 2),
            slots={s: np.asarray(a).reshape(steps + 1, 2) for s, a in run.slots[key].items()},
        )
    return out


# --- checking the arguments --------------------------------------------------------------------
def _check_start(start: Any) -> tuple[float, float]:
    """``start`` as two finite floats, or a clear error saying what is wrong with it."""
    given = start
    if hasattr(start, "numpy") and callable(start.numpy):  # a tensor
        start = start.numpy()
    if isinstance(start, str | bytes) or not isinstance(start, Sequence | np.ndarray):
        raise TypeError(message("error.race.start_type", value=given, type=type(given).__name__))
    try:
        shape = np.shape(start)
    except ValueError:  # ragged
        shape = (len(start),)
    if shape != (2,):
        what = f"{len(start)} values" if len(shape) == 1 else f"values of shape {shape}"
        raise ValueError(message("error.race.start_shape", shape=what))
    for k, v in enumerate(start):
        if isinstance(v, bool | np.bool_) or not isinstance(v, numbers.Real):
            raise TypeError(
                message("error.race.start_item", index=k, value=v, type=type(v).__name__)
            )
    x, y = float(start[0]), float(start[1])
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(message("error.race.start_finite", x=x, y=y))
    return x, y


def _whole(value: Any, least: int) -> bool:
    """Whether ``value`` is a whole number (an int, or a float like 100.0) >= ``least``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return float(value).is_integer() and float(value) >= least


def _check_loss(loss: Callable[[Any], Any], start: tuple[float, float]) -> float:
    """Evaluate ``loss`` and its gradient at ``start``; a clear error if either is unusable.

    Returns the loss at the start.
    """
    if not callable(loss):
        raise TypeError(message("error.race.loss_type", value=loss, type=type(loss).__name__))
    p = tapeviz.Variable(np.asarray(start, dtype=np.float32), name="p")
    with tapeviz.GradientTape() as tape:
        out = loss(p)
    if not isinstance(out, tapeviz.Tensor):
        raise TypeError(message("error.race.loss_not_tensor", value=out, type=type(out).__name__))
    if tuple(out.shape) != ():
        raise ValueError(message("error.race.loss_shape", shape=tuple(out.shape)))
    value = float(out.numpy())
    where = f"({start[0]:g}, {start[1]:g})"
    if not math.isfinite(value):
        raise ValueError(message("error.race.loss_start", start=where, value=value))
    grad = tape.gradient(out, p)
    if grad is None:
        raise ValueError(message("error.race.gradient_none"))
    g = np.asarray(grad.numpy(), dtype=np.float64)
    if not np.isfinite(g).all():
        raise ValueError(
            message("error.race.gradient_start", start=where, value=f"({g[0]:g}, {g[1]:g})")
        )
    return value


def _check_bounds(bounds: Any) -> tuple[tuple[float, float], tuple[float, float]]:
    try:
        (a, b), (c, d) = bounds
        box = (float(a), float(b)), (float(c), float(d))
    except (TypeError, ValueError):
        raise ValueError(message("error.race.bounds", value=bounds)) from None
    for lo, hi in box:
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(message("error.race.bounds", value=bounds))
    return box


# --- the loss on a grid ----------------------------------------------------------------------
def _grid_values(loss: Callable[[Any], Any], xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``loss`` at every grid point, shape (len(ys), len(xs)).

    First tries all points at once (``p`` of shape ``(2, n)``, which works for losses built
    from elementwise ops on ``p[0]`` and ``p[1]``) and checks a few points one by one;
    otherwise evaluates point by point.
    """
    gx, gy = np.meshgrid(xs.astype(np.float32), ys.astype(np.float32))
    pts = np.stack([gx.ravel(), gy.ravel()])
    with np.errstate(all="ignore"):
        try:
            out = np.asarray(loss(tapeviz.Variable(pts, name="p")).numpy(), dtype=np.float64)
            if out.shape == (pts.shape[1],):
                probe = np.linspace(0, pts.shape[1] - 1, 4).astype(int)
                one = [float(loss(tapeviz.Variable(pts[:, i], name="p")).numpy()) for i in probe]
                if np.allclose(out[probe], one, rtol=1e-4, atol=1e-6, equal_nan=True):
                    return out.reshape(gx.shape)
        except Exception:  # any failure means: not vectorisable
            pass
        flat = [
            float(np.sum(loss(tapeviz.Variable(pts[:, i], name="p")).numpy()))
            for i in range(pts.shape[1])
        ]
    return np.asarray(flat).reshape(gx.shape)


# --- numbers in the table ----------------------------------------------------------------------
def _num(v: float) -> str:
    """Table text: 4 significant digits, exponents for the very large/small, "—" for a
    number that is not finite."""
    if not math.isfinite(v):
        return "—"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e5 or a < 1e-3:
        m, e = f"{v:.1e}".split("e")
        return f"{m.rstrip('0').rstrip('.')}e{int(e)}"
    if a >= 1e4:
        return f"{v:.0f}"
    return f"{v:.4g}"


def _pair_text(row: np.ndarray, dims: int) -> str:
    """``"(x, y)"``, or ``"x"`` for a 1-D loss (its second coordinate is passive)."""
    if dims == 1:
        return _num(float(row[0]))
    if not np.isfinite(np.asarray(row, dtype=np.float64)).all():
        return "—"
    return f"({_num(float(row[0]))}, {_num(float(row[1]))})"


def _surface_name(name: str) -> str:
    """A built-in surface's name in the pictures' language (others: as given)."""
    key = f"race.surface.{name}"
    return message(key) if key in MESSAGES["en"] else name


# --- the picture: matplotlib draws what does not move -------------------------------------------
@cache
def plot_fonts() -> tuple[str, ...]:
    """The fonts of :data:`tapeviz.viz.theme.PLOT_FONTS` that matplotlib finds, in order.

    matplotlib takes a character from the first of them that has it, so with Debian's
    ``fonts-noto-cjk`` (or a Chinese font of Windows or macOS) installed, Chinese text shows.
    """
    from matplotlib import font_manager

    manager = font_manager.fontManager
    installed = {f.name for f in manager.ttflist}
    if not installed.intersection(theme.PLOT_FONTS[1:]):
        # matplotlib lists the system's fonts once, in its cache; a Chinese font installed
        # later (``make system`` after a first run) is on the system but not in the list.
        known = {f.fname for f in manager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in known and "cjk" in Path(path).name.lower():
                with contextlib.suppress(Exception):  # a font file matplotlib cannot read
                    manager.addfont(path)
        installed = {f.name for f in manager.ttflist}
    return tuple(f for f in theme.PLOT_FONTS if f in installed) or ("DejaVu Sans",)


def _style(uid: str) -> Any:
    """The matplotlib settings of every race picture (for ``rc_context``)."""
    size = theme.PLOT_FONT_SIZE
    return {
        "font.family": list(plot_fonts()),
        "font.size": size,
        "axes.labelsize": size + 1,
        "xtick.labelsize": size,
        "ytick.labelsize": size,
        "axes.edgecolor": theme.MUTED,
        "axes.labelcolor": theme.TEXT,
        "text.color": theme.TEXT,
        "xtick.color": theme.MUTED,
        "ytick.color": theme.MUTED,
        "xtick.labelcolor": theme.TEXT,
        "ytick.labelcolor": theme.TEXT,
        "axes.unicode_minus": True,
        "svg.fonttype": "path",  # glyphs as outlines: the browser needs none of the fonts
        "svg.hashsalt": uid,  # ids unique per race (several SVGs in one page), reproducible
        "svg.image_inline": True,
    }


@dataclass(frozen=True)
class _Fate:
    """How a run ended: ``"diverged"`` or ``"left"`` (the picture), from ``step`` on."""

    status: str
    step: int
    note: str


def _box(
    left: float, bottom: float, width: float, height: float, w: float, h: float
) -> list[float]:
    """An axes rectangle in figure fractions from pixels (``bottom`` from the bottom edge)."""
    return [left / w, bottom / h, width / w, height / h]


class _Picture:
    """The static layers of a race and where each step of it is drawn.

    The region, the loss on a grid, the colour levels and the fate of each run are worked
    out once; :meth:`surface` and :meth:`loss_axes` draw them into matplotlib axes, for the
    widget's two backgrounds and for :meth:`OptimizerRace.figure` alike.
    """

    # The contour (or curve) panel and the loss panel, in pixels; margins around the axes.
    W, H = 500, 430
    # right: room for the colour bar
    MARGIN: ClassVar[dict[str, int]] = {"left": 62, "right": 92, "top": 14, "bottom": 50}
    LW, LH = 390, 270
    LMARGIN: ClassVar[dict[str, int]] = {"left": 70, "right": 14, "top": 14, "bottom": 50}
    EQUAL_ASPECT = 3.0  # equal scales unless that leaves less than a third of the frame
    LEVELS = 14

    def __init__(self, race: OptimizerRace) -> None:
        self.race = race
        self.one_d = race.dims == 1
        runs = list(race.series.values())
        self.start_loss = race.start_loss
        self.xlim, self.ylim = self._region(runs)
        if self.one_d:
            self.xs = np.linspace(*self.xlim, 4 * race.resolution)
            self.zs = _grid_values(race.loss, self.xs, np.asarray([race.start[1]]))[0]
        else:
            self.xs = np.linspace(*self.xlim, race.resolution)
            self.ys = np.linspace(*self.ylim, race.resolution)
            self.zs = _grid_values(race.loss, self.xs, self.ys)
        finite = self.zs[np.isfinite(self.zs)]
        self.zmin = float(finite.min()) if finite.size else 0.0
        self.zmax = float(finite.max()) if finite.size else 1.0
        if self.one_d:
            pad = 0.08 * ((self.zmax - self.zmin) or 1.0)
            self.ylim = (self.zmin - pad, self.zmax + pad)
        self.fates = {s.name: self._fate(s) for s in runs}
        self.loss_log, self.loss_ylim = self._loss_scale(runs)

    # -- the region ---------------------------------------------------------------------
    def _frame_aspect(self) -> float:
        m = self.MARGIN
        return (self.H - m["top"] - m["bottom"]) / (self.W - m["left"] - m["right"])

    def _region(self, runs: list[_Series]) -> tuple[tuple[float, float], tuple[float, float]]:
        """The x and y ranges: the given bounds, or around the runs that do not climb above
        the start; widened to equal scales when that keeps most of the frame in use."""
        race = self.race
        if race.bounds is not None:
            (x0, x1), (y0, y1) = race.bounds
        else:
            pts = [np.asarray([race.start], dtype=np.float64)]
            losses = np.concatenate([s.loss for s in runs])
            best = float(np.nanmin(np.where(np.isfinite(losses), losses, np.inf)))
            best = min(best, self.start_loss)
            ceiling = self.start_loss + max(self.start_loss - best, 1e-6 * abs(self.start_loss))
            for s in runs:
                ok = np.isfinite(s.path).all(axis=1) & np.isfinite(s.loss) & (s.loss <= ceiling)
                pts.append(np.asarray(s.path[ok], dtype=np.float64))
            allpts = np.concatenate(pts)
            lo, hi = allpts.min(axis=0), allpts.max(axis=0)
            span = np.maximum(hi - lo, np.maximum(0.5, 0.25 * np.abs(hi + lo) / 2))
            mid = (hi + lo) / 2
            half = span / 2 * 1.3
            (x0, y0), (x1, y1) = mid - half, mid + half
        if self.one_d:
            return (float(x0), float(x1)), (float(y0), float(y1))
        sx, sy, a = x1 - x0, y1 - y0, self._frame_aspect()
        ratio = (sy / sx) / a
        if 1 / self.EQUAL_ASPECT <= ratio <= self.EQUAL_ASPECT:
            if ratio < 1:  # widen y
                extra = (sx * a - sy) / 2
                y0, y1 = y0 - extra, y1 + extra
            else:
                extra = (sy / a - sx) / 2
                x0, x1 = x0 - extra, x1 + extra
        return (float(x0), float(x1)), (float(y0), float(y1))

    def equal_scales(self) -> bool:
        (x0, x1), (y0, y1) = self.xlim, self.ylim
        return not self.one_d and math.isclose((y1 - y0) / (x1 - x0), self._frame_aspect())

    def inside(self, path: np.ndarray) -> np.ndarray:
        x = path[:, 0]
        ok = np.isfinite(x) & (x >= self.xlim[0]) & (x <= self.xlim[1])
        if not self.one_d:
            y = path[:, 1]
            ok &= np.isfinite(y) & (y >= self.ylim[0]) & (y <= self.ylim[1])
        return ok

    # -- how each run ended --------------------------------------------------------------
    def _fate(self, s: _Series) -> _Fate | None:
        finite = np.isfinite(s.path).all(axis=1) & np.isfinite(s.loss)
        inside = self.inside(s.path) & finite
        if inside[-1]:
            return None
        before = np.flatnonzero(inside)
        step = int(before[-1]) + 1 if before.size else 0
        if not finite[step:].all():
            bad = step + int(np.flatnonzero(~finite[step:])[0])
            value = float(s.loss[bad]) if not math.isfinite(s.loss[bad]) else float("nan")
            if bad == step:  # not a number while still in the picture
                note = message("race.diverged_nan", name=s.name, step=step, value=value)
            else:
                note = message("race.diverged_left", name=s.name, step=step) + message(
                    "race.overflow", value=value, step=bad
                )
            return _Fate("diverged", step, note)
        if s.loss[-1] > self.zmax and s.loss[-1] >= s.loss[step]:
            return _Fate("diverged", step, message("race.diverged_left", name=s.name, step=step))
        return _Fate("left", step, message("race.left_note", name=s.name, step=step))

    def status_text(self, name: str) -> str:
        fate = self.fates.get(name)
        if fate is None:
            return ""
        key = "race.diverged" if fate.status == "diverged" else "race.left"
        return message(key, step=fate.step)

    # -- the loss axis ---------------------------------------------------------------------
    def _loss_scale(self, runs: list[_Series]) -> tuple[bool, tuple[float, float]]:
        """Log or linear, and the range: from the losses before each run diverged."""
        kept = []
        for s in runs:
            fate = self.fates[s.name]
            stop = fate.step if fate is not None and fate.status == "diverged" else len(s.loss)
            kept.append(s.loss[: max(1, stop)])
        values = np.concatenate(kept)
        values = values[np.isfinite(values)]
        if values.size == 0:
            values = np.asarray([0.0, 1.0])
        top = max(float(values.max()), self.start_loss)
        positive = values[values > 0]
        if values.min() > 0 and top / max(float(positive.min()), 1e-300) > 100:
            lo = max(float(positive.min()), top * 1e-12)
            return True, (lo / 1.5, top * 1.5)
        lo = float(values.min())
        span = (top - lo) or max(abs(top), 1.0)
        return False, (lo - 0.05 * span, top + 0.05 * span)

    # -- drawing -------------------------------------------------------------------------
    def surface(self, fig: Any, left: float, bottom: float, w: float, h: float) -> Any:
        """Draw the contours (or the curve), the colour bar, ticks, labels, start and
        minimum into ``fig`` (``w`` × ``h`` pixels) with the panel's corner at
        (``left``, ``bottom``) pixels; returns the axes."""
        from matplotlib import colors, ticker

        race, m = self.race, self.MARGIN
        fw, fh = self.W - m["left"] - m["right"], self.H - m["top"] - m["bottom"]
        ax = fig.add_axes(_box(left + m["left"], bottom + m["bottom"], fw, fh, w, h))
        ax.set_xlim(*self.xlim)
        ax.set_ylim(*self.ylim)
        ax.set_xlabel(message("race.x_label"))
        dark = theme.TEXT
        if self.one_d:
            ax.set_ylabel(message("race.loss_label"))
            ax.plot(self.xs, self.zs, color=theme.MUTED, linewidth=1.8, zorder=2)
            ax.grid(True, color="#e6e6e6", linewidth=0.8, zorder=0)
            sx = race.start[0]
            start_xy = (sx, race.start_loss)
        else:
            ax.set_ylabel(message("race.y_label"))
            z = np.ma.masked_invalid(self.zs)
            log = self._log_levels()
            if log:
                positive = self.zs[np.isfinite(self.zs) & (self.zs > 0)]
                lo = max(float(np.quantile(positive, 0.002)), self.zmax * 1e-9)
                levels: Any = np.geomspace(lo, self.zmax, self.LEVELS + 1)
                norm: Any = colors.LogNorm(vmin=lo, vmax=self.zmax)
                z = np.ma.clip(z, lo, self.zmax)
            else:
                levels = ticker.MaxNLocator(nbins=self.LEVELS).tick_values(self.zmin, self.zmax)
                norm = colors.BoundaryNorm(levels, 256)
            filled = ax.contourf(self.xs, self.ys, z, levels=levels, cmap=theme.COLOUR_MAP,
                                 norm=norm, zorder=1)  # fmt: skip
            lines = ax.contour(self.xs, self.ys, z, levels=levels, colors="#ffffff",
                               linewidths=0.5, alpha=0.45, zorder=1)  # fmt: skip
            filled.set_rasterized(True)  # the bands as an image (small); the lines stay crisp
            lines.set_rasterized(False)
            cax = fig.add_axes(
                _box(left + self.W - m["right"] + 12, bottom + m["bottom"], 14, fh, w, h)
            )
            cbar = fig.colorbar(filled, cax=cax)
            cbar.set_label(message("race.loss_label"))
            cbar.outline.set_edgecolor(theme.MUTED)
            if log:
                cbar.ax.yaxis.set_major_locator(ticker.LogLocator())
                cbar.ax.yaxis.set_minor_locator(ticker.NullLocator())
            cax.set_gid("tv-colourbar")
            start_xy = race.start
        ax.tick_params(direction="out", length=4)
        ax.set_axisbelow(False)
        minimum = race.minimum
        if minimum is not None:
            my = race._f(minimum) if self.one_d else minimum[1]
            ax.plot([minimum[0]], [my], marker="*", markersize=18, color="#ffffff",
                    markeredgecolor=dark, markeredgewidth=1.3, zorder=5,
                    label=message("race.minimum"), clip_on=False, linestyle="none")  # fmt: skip
        ax.plot([start_xy[0]], [start_xy[1]], marker="o", markersize=10, color="#ffffff",
                markeredgecolor=dark, markeredgewidth=1.6, zorder=5,
                label=message("race.start"), clip_on=False, linestyle="none")  # fmt: skip
        return ax

    def _log_levels(self) -> bool:
        """Logarithmic colour levels: for surfaces that ask, and for a loss of positive
        values whose range is huge next to its low values (a steep valley)."""
        if self.race.log_levels:
            return self.zmax > 0
        finite = self.zs[np.isfinite(self.zs)]
        if finite.size == 0 or self.zmin < 0:
            return False
        positive = finite[finite > 0]
        return bool(positive.size) and self.zmax / float(np.quantile(positive, 0.05)) > 1e3

    def loss_axes(self, fig: Any, left: float, bottom: float, w: float, h: float) -> Any:
        """Draw the loss plot's axes (no curves) into ``fig``; returns the axes."""
        m = self.LMARGIN
        fw, fh = self.LW - m["left"] - m["right"], self.LH - m["top"] - m["bottom"]
        ax = fig.add_axes(_box(left + m["left"], bottom + m["bottom"], fw, fh, w, h))
        ax.set_xlim(0, max(1, self.race.steps))
        if self.loss_log:
            ax.set_yscale("log")
        ax.set_ylim(*self.loss_ylim)
        ax.set_xlabel(message("race.step_axis"))
        ax.set_ylabel(message("race.loss_log_label" if self.loss_log else "race.loss_label"))
        ax.grid(True, color="#e6e6e6", linewidth=0.8)
        ax.tick_params(direction="out", length=4)
        return ax

    # -- where the steps are drawn ---------------------------------------------------------
    def points(self, s: _Series) -> np.ndarray:
        """The run's points in the surface panel's data coordinates (x, y) or (x, loss)."""
        if self.one_d:
            return np.stack([s.path[:, 0], s.loss], axis=1).astype(np.float64)
        return np.asarray(s.path, dtype=np.float64)

    def stop(self, s: _Series) -> int | None:
        """The step from which a run is gone (diverged or left), or None."""
        fate = self.fates[s.name]
        return None if fate is None else fate.step


def _clip_run(px: np.ndarray, frame: tuple[float, ...], stop: int | None = None) -> list[Any]:
    """Pixel points of a run, clipped at the frame (left, top, right, bottom).

    ``stop`` is the step from which the run stays outside the frame (or is not finite);
    by default worked out from the points.  Up to ``stop`` a point outside is put on the
    frame; the point at ``stop`` is where the last segment crosses the frame; later points,
    and points that are not finite, are ``None``.
    """
    x0, y0, x1, y1 = frame
    finite = np.isfinite(px).all(axis=1)
    if stop is None:
        inside = (
            finite
            & (px[:, 0] >= x0 - 0.05)
            & (px[:, 0] <= x1 + 0.05)
            & (px[:, 1] >= y0 - 0.05)
            & (px[:, 1] <= y1 + 0.05)
        )
        before = np.flatnonzero(inside)
        stop = len(px) if inside[-1] else (int(before[-1]) + 1 if before.size else 0)
    out: list[Any] = []
    for i, ((x, y), ok) in enumerate(zip(px, finite, strict=True)):
        if i > stop or not ok:
            out.append(None)
        elif i == stop:
            prev = out[-1] if out else None
            out.append(None if prev is None else [round(v, 1) for v in _cross(prev, (x, y), frame)])
        else:
            out.append([round(min(max(x, x0), x1), 1), round(min(max(y, y0), y1), 1)])
    return out


def _cross(a: Sequence[float], b: Sequence[float], frame: tuple[float, ...]) -> list[float]:
    """The point where the segment from ``a`` (inside ``frame``) to ``b`` leaves it."""
    x0, y0, x1, y1 = frame
    dx, dy = b[0] - a[0], b[1] - a[1]
    t = 1.0
    for d, p, lo, hi in ((dx, a[0], x0, x1), (dy, a[1], y0, y1)):
        if d > 0:
            t = min(t, (hi - p) / d)
        elif d < 0:
            t = min(t, (lo - p) / d)
    t = max(0.0, t)
    return [a[0] + t * dx, a[1] + t * dy]


def _to_svg(fig: Any, cls: str, aria: str) -> str:
    """A matplotlib figure as inline SVG text: no prolog, sized in pixels, with a class."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", dpi=144, metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    w, h = fig.get_size_inches() * 72
    head_end = svg.index(">") + 1
    head = re.sub(r'\s(width|height)="[^"]*"', "", svg[:head_end])
    head = head.replace(
        "<svg",
        f'<svg class="{cls}" width="{w:g}" height="{h:g}" role="img" '
        f'aria-label="{html.escape(aria, quote=True)}"',
        1,
    )
    body = re.sub(r"<metadata>.*?</metadata>\s*", "", svg[head_end:], flags=re.S)
    # matplotlib's stylesheet says `*{...}`: inline in a page it would style every element
    body = body.replace('<style type="text/css">*{', f'<style type="text/css">svg.{cls} *{{')
    return head + body


def _px_of(ax: Any, xy: np.ndarray, height: float) -> np.ndarray:
    """Data coordinates of ``ax`` to SVG pixels (origin at the top left) of its figure."""
    with np.errstate(all="ignore"):
        disp = ax.transData.transform(np.asarray(xy, dtype=np.float64))
    disp[:, 1] = height - disp[:, 1]
    return np.asarray(disp)


def _frame_of(ax: Any, height: float) -> tuple[float, float, float, float]:
    """The axes' frame in SVG pixels: (left, top, right, bottom)."""
    x0, y0, x1, y1 = ax.bbox.extents
    return (round(x0, 1), round(height - y1, 1), round(x1, 1), round(height - y0, 1))


def _swatch(colour: str, symbol: str) -> str:
    """A small legend picture: a line in the colour with the marker on it."""
    return (
        '<svg class="tv-swatch" width="26" height="14" viewBox="-13 -7 26 14" aria-hidden="true">'
        f'<line x1="-13" y1="0" x2="13" y2="0" stroke="{colour}" stroke-width="2"/>'
        f'<path d="{symbol}" fill="{colour}" stroke="#ffffff" stroke-width="1" '
        'transform="scale(0.9)"/></svg>'
    )


def _points_attr(px: Sequence[Any]) -> str:
    return " ".join(f"{p[0]:g},{p[1]:g}" for p in px if p is not None)


def _last(px: Sequence[Any]) -> Any:
    return next((p for p in reversed(px) if p is not None), None)


def _overlay(scene: Mapping[str, Any], which: str, k: int) -> str:
    """The SVG of the moving layer of a panel (``"paths"`` or ``"loss"``) at step ``k``:
    what the browser redraws for each step, written here for the static picture and as the
    widget's starting state."""
    panel = scene[which]
    x0, y0, x1, y1 = panel["frame"]
    clip = f"{scene['uid']}-{which}-clip"
    cls = "tv-race-paths" if which == "paths" else "tv-loss-paths"
    key = "path_px" if which == "paths" else "loss_px"
    line, head = ("tv-path", "tv-head") if which == "paths" else ("tv-loss", "tv-loss-head")
    scale = "" if which == "paths" else " scale(0.8)"
    parts = [
        f'<svg class="{cls}" viewBox="0 0 {panel["width"]:g} {panel["height"]:g}" '
        f'width="{panel["width"]:g}" height="{panel["height"]:g}" '
        'xmlns="http://www.w3.org/2000/svg" aria-hidden="true">',
        f'<defs><clipPath id="{clip}"><rect x="{x0:g}" y="{y0:g}" width="{x1 - x0:g}" '
        f'height="{y1 - y0:g}"/></clipPath></defs>',
        f'<rect class="tv-frame" x="{x0:g}" y="{y0:g}" width="{x1 - x0:g}" '
        f'height="{y1 - y0:g}" fill="none" stroke="none"/>',
        f'<g clip-path="url(#{clip})">',
    ]
    for j, s in enumerate(scene["series"]):
        pts = _points_attr(s[key][: k + 1])
        if which == "paths":
            parts.append(
                f'<polyline class="tv-path-halo" data-series="{j}" points="{pts}" fill="none" '
                'stroke="#ffffff" stroke-width="5" stroke-linejoin="round" '
                'stroke-linecap="round" stroke-opacity="0.75"/>'
            )
        parts.append(
            f'<polyline class="{line}" data-series="{j}" points="{pts}" fill="none" '
            f'stroke="{s["colour"]}" stroke-width="2.2" stroke-linejoin="round"/>'
        )
    if which == "loss":
        cx = scene["cursor"][k]
        parts.append(
            f'<line class="tv-cursor" x1="{cx:g}" y1="{y0:g}" x2="{cx:g}" y2="{y1:g}" '
            f'stroke="{theme.TEXT}" stroke-width="1" stroke-dasharray="3 3"/>'
        )
    parts.append("</g>")
    for j, s in enumerate(scene["series"]):
        last = _last(s[key][: k + 1])
        stop = s["stop"]
        gone = stop is not None and k >= stop
        place = f"translate({last[0]:g},{last[1]:g}){scale}" if last else "translate(-99,-99)"
        hidden = "" if last else ' visibility="hidden"'
        title = html.escape(s["name"] + (f" — {s['status']}" if gone else ""))
        parts.append(
            f'<path class="{head}{" tv-diverged" if gone else ""}" data-series="{j}" '
            f'd="{s["symbol"]}" transform="{place}" fill="{s["colour"]}" stroke="#ffffff" '
            f'stroke-width="1.2"{hidden}><title>{title}</title></path>'
        )
        if which == "paths" and stop is not None:
            show = "visible" if gone and last else "hidden"
            parts.append(
                f'<path class="tv-cross" data-series="{j}" d="{theme.DIVERGED_MARKER}" '
                f'transform="{place}" fill="{s["colour"]}" stroke="#ffffff" stroke-width="1.2" '
                f'visibility="{show}"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


# --- the widget --------------------------------------------------------------------------------
_HYPER = (
    ("learning_rate", "race.learning_rate"),
    ("momentum", "race.momentum"),
    ("beta_1", "race.beta_1"),
)


class OptimizerRace(static.StaticFallback, anywidget.AnyWidget):
    """Race optimizers across a loss surface; play the paths in the browser.

    Parameters
    ----------
    loss : Surface or callable
        A surface from :mod:`tapeviz.viz.surfaces`, or any ``loss(p) -> scalar tensor`` for a
        Variable ``p`` of shape ``(2,)``, written with tapeviz ops (the tape differentiates
        it).  Its value and gradient at ``start`` must be finite.
    start : pair of float, optional
        Where every optimizer starts: two finite numbers (default: the surface's ``start``).
    optimizers : dict name -> optimizer, optional
        ``tv.keras.optimizers`` instances; each races as a fresh copy (its ``get_config()``),
        so the instances you pass are not changed.  Default: :func:`default_optimizers` with
        the surface's ``lr_scale``.
    steps : int
        Updates per optimizer.
    bounds : ((x_min, x_max), (y_min, y_max)), optional
        The region to draw (default: the surface's, or around the runs that do not climb
        above the start).  Widened to equal scales on both axes when that wastes little.
    resolution : int
        Grid points per axis for the contours.
    index : int, optional
        The step shown first (default 0).
    fps : float
        Steps per second when playing.

    Attributes
    ----------
    paths : dict name -> ndarray (steps + 1, 2)
        Each optimizer's positions, start included (float32).
    losses : dict name -> ndarray (steps + 1,)
    gradients : dict name -> ndarray (steps, 2)
        The gradient each step used.
    slots : dict name -> dict slot -> ndarray (steps + 1, 2)
        The optimizers' slot values after each step (index 0: initial values).
    diverged : dict name -> int
        The optimizers that diverged, and the step from which they did (see the module's
        "Divergence").
    index : int
        The step shown (settable).
    """

    _esm = static.esm("race.js")
    _css = static.widget_css()

    index = traitlets.Int(0).tag(sync=True)
    fps = traitlets.Float(20.0).tag(sync=True)
    _scene: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    _hyper: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    _running = traitlets.Bool(False).tag(sync=True)
    _error = traitlets.Unicode("").tag(sync=True)
    _text: traitlets.Dict[str, str] = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        loss: Surface | Callable[[Any], Any],
        start: Sequence[float] | None = None,
        optimizers: Mapping[str, Any] | None = None,
        steps: int = 100,
        *,
        bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
        resolution: int = 80,
        index: int = 0,
        fps: float = 20.0,
    ) -> None:
        if not _whole(steps, 1):
            raise ValueError(message("error.race.steps", value=steps))
        self.surface = loss if isinstance(loss, Surface) else None
        if not callable(loss):
            raise TypeError(message("error.race.loss_type", value=loss, type=type(loss).__name__))
        self.loss = loss
        if start is None:
            if self.surface is None:
                raise TypeError(message("error.race.no_start"))
            start = self.surface.start
        self.start = _check_start(start)
        self.steps = int(steps)
        if bounds is None and self.surface is not None:
            bounds = self.surface.bounds
        self.bounds = None if bounds is None else _check_bounds(bounds)
        if not _whole(resolution, 8):
            raise ValueError(message("error.race.resolution", value=resolution))
        self.dims = self.surface.dims if self.surface else 2
        self.minimum = self.surface.minimum if self.surface else None
        self.log_levels = self.surface.log_levels if self.surface else False
        self.resolution = int(resolution)
        self.title = (
            message(
                "race.surface_title",
                name=_surface_name(self.surface.name),
                formula=self.surface.formula,
            )
            if self.surface
            else message("race.custom_title")
        )
        if optimizers is None:
            optimizers = default_optimizers(self.surface.lr_scale if self.surface else 1.0)
        self.optimizers = dict(optimizers)
        if not self.optimizers:
            raise ValueError(message("error.race.no_optimizer"))
        for opt in self.optimizers.values():
            _fresh(opt)  # each is an optimizer: checked before anything runs
        self.start_loss = _check_loss(self.loss, self.start)
        self._uid = f"tvr{next(_uid)}"
        self.series: dict[str, _Series] = {}
        self._run()
        super().__init__(
            index=index,
            fps=fps,
            _scene=self._scene_json(),
            _hyper=self._hyper_json(),
            _text=for_front_end("controls.", "race."),
        )

    # -- results ---------------------------------------------------------------------------
    def _run(self) -> None:
        self.series = run_race(self.loss, self.start, self.optimizers, self.steps)
        self._picture = _Picture(self)

    @property
    def paths(self) -> dict[str, np.ndarray]:
        """Each optimizer's path of parameters, one row a step."""
        return {n: s.path for n, s in self.series.items()}

    @property
    def losses(self) -> dict[str, np.ndarray]:
        """Each optimizer's loss at every step."""
        return {n: s.loss for n, s in self.series.items()}

    @property
    def gradients(self) -> dict[str, np.ndarray]:
        """Each optimizer's gradients at every step."""
        return {n: s.gradients for n, s in self.series.items()}

    @property
    def slots(self) -> dict[str, dict[str, np.ndarray]]:
        """Each optimizer's slot values (momentum, ...) at every step."""
        return {n: dict(s.slots) for n, s in self.series.items()}

    @property
    def diverged(self) -> dict[str, int]:
        """The step at which each optimizer that diverged left the finite numbers."""
        return {
            n: f.step
            for n, f in self._picture.fates.items()
            if f is not None and f.status == "diverged"
        }

    def _f(self, point: Sequence[float]) -> float:
        p = tapeviz.Variable(np.asarray(point, dtype=np.float32), name="p")
        return float(np.sum(self.loss(p).numpy()))

    # -- hyper-parameters ------------------------------------------------------------------
    def _hyper_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, opt in self.optimizers.items():
            config = opt.get_config()
            out[name] = {
                key: float(config[key])
                for key, _ in _HYPER
                if isinstance(config.get(key), int | float) and not isinstance(config[key], bool)
            }
        return out

    def rerun(self, **changes: Mapping[str, float]) -> None:
        """Change hyper-parameters and run the race again.

        ``race.rerun(Adam={"learning_rate": 0.05}, momentum={"momentum": 0.5})``: keys are
        optimizer names, values the settings to change (``learning_rate``, ``momentum``,
        ``beta_1``).  The inputs in the widget's table call this.
        """
        for name, settings in changes.items():
            if name not in self.optimizers:
                raise KeyError(message("error.race.rerun_name", name=name))
            self.optimizers[name] = _fresh(self.optimizers[name], **dict(settings))
        self._run()
        self.set_trait("_scene", self._scene_json())
        self.set_trait("_hyper", self._hyper_json())

    @traitlets.observe("_hyper")
    def _on_hyper(self, change: Any) -> None:
        new = change["new"] or {}
        current = self._hyper_json()
        changes = {
            name: {k: float(v) for k, v in values.items() if current.get(name, {}).get(k) != v}
            for name, values in new.items()
            if name in current
        }
        changes = {n: c for n, c in changes.items() if c}
        if not changes:
            return
        self._running = True
        try:
            self.rerun(**changes)
            self._error = ""
        except Exception as exc:  # shown in the widget, the race stays as it was
            self._error = f"{type(exc).__name__}: {exc}"
            self.set_trait("_hyper", current)
        finally:
            self._running = False

    @traitlets.validate("index")
    def _clamp_index(self, proposal: Any) -> int:
        return max(0, min(self.steps, int(proposal["value"])))

    def play_widget(self) -> Any:
        """A standard ``ipywidgets.Play`` jslinked to :attr:`index` (plays in the browser)."""
        return static.linked_play(self, self.steps + 1)

    # -- pictures ----------------------------------------------------------------------------
    def figure(self, step: int | None = None) -> Any:
        """The race as a matplotlib ``Figure``: for static notebooks, papers and slides.

        The same picture as the widget — contours with their colour bar, the paths up to
        ``step`` (default: the last) with each optimizer's marker where it is, the start,
        the minimum, a cross where a run diverged — and the loss against the step beside
        it, with a legend.  In Jupyter it shows inline; ``race.figure().savefig("race.pdf")``
        writes a file.
        """
        k = self.steps if step is None else step
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 0 <= k <= self.steps:
            raise ValueError(message("error.race.step", steps=self.steps, value=step))
        from matplotlib import rc_context
        from matplotlib.figure import Figure

        _inline_display()
        pic = self._picture
        gap, top = 24, 34
        w = pic.W + gap + pic.LW
        h = max(pic.H, pic.LH) + top
        with rc_context(_style(self._uid)):
            fig = Figure(figsize=(w / 72, h / 72), dpi=100)
            ax = pic.surface(fig, 0, 0, w, h)
            lax = pic.loss_axes(fig, pic.W + gap, pic.H - pic.LH, w, h)
            steps = np.arange(self.steps + 1)
            for j, s in enumerate(self.series.values()):
                style = theme.series(j)
                stop = pic.stop(s)
                gone = stop is not None and k >= stop
                pts = pic.points(s)[: (k if stop is None else min(k, stop)) + 1]
                label = s.name
                if gone:
                    label += f" — {pic.status_text(s.name)}"
                    exit_at = _exit_point(pic, s)
                    pts = pts[:-1] if exit_at is None else np.concatenate([pts[:-1], [exit_at]])
                ax.plot(pts[:, 0], pts[:, 1], color="#ffffff", linewidth=4.5, alpha=0.75,
                        zorder=3, solid_capstyle="round")  # fmt: skip
                ax.plot(pts[:, 0], pts[:, 1], color=style.colour, linewidth=2.0, zorder=4)
                last = pts[np.isfinite(pts).all(axis=1)]
                if last.size:
                    ax.plot([last[-1, 0]], [last[-1, 1]], linestyle="none", zorder=6,
                            marker="X" if gone else style.mpl_marker, markersize=10,
                            color=style.colour, markeredgecolor="#ffffff",
                            markeredgewidth=1.2, clip_on=False)  # fmt: skip
                losses = np.where(np.isfinite(s.loss), s.loss, np.nan)[: k + 1]
                if pic.loss_log:
                    losses = np.where(losses > 0, losses, np.nan)
                lax.plot(steps[: k + 1], losses, color=style.colour, linewidth=1.8,
                         marker=style.mpl_marker, markevery=[k] if k else [0], markersize=7,
                         markeredgecolor="#ffffff", label=label)  # fmt: skip
            lax.legend(loc="upper left", bbox_to_anchor=(-0.2, -0.2), frameon=False,
                       fontsize=theme.PLOT_FONT_SIZE)  # fmt: skip
            fig.suptitle(self.title, x=0.01, y=0.99, ha="left", va="top",
                         fontsize=theme.PLOT_FONT_SIZE + 2)  # fmt: skip
        return fig

    # -- what the front end gets -----------------------------------------------------------
    def _scene_json(self) -> dict[str, Any]:
        from matplotlib import rc_context
        from matplotlib.figure import Figure

        pic = self._picture
        with rc_context(_style(self._uid)):
            fig = Figure(figsize=(pic.W / 72, pic.H / 72), dpi=72)
            ax = pic.surface(fig, 0, 0, pic.W, pic.H)
            frame = _frame_of(ax, pic.H)
            plot_px = [_px_of(ax, pic.points(s), pic.H) for s in self.series.values()]
            plot = _to_svg(fig, "tv-race-plot", message("race.plot_aria", title=self.title))
            lfig = Figure(figsize=(pic.LW / 72, pic.LH / 72), dpi=72)
            lax = pic.loss_axes(lfig, 0, 0, pic.LW, pic.LH)
            lframe = _frame_of(lax, pic.LH)
            steps = np.arange(self.steps + 1, dtype=np.float64)
            loss_px = []
            for s in self.series.values():
                values = np.asarray(s.loss, dtype=np.float64)
                if pic.loss_log:
                    values = np.where(values > 0, values, np.nan)
                loss_px.append(_px_of(lax, np.stack([steps, values], axis=1), pic.LH))
            cursor = _px_of(lax, np.stack([steps, np.ones_like(steps)], axis=1), pic.LH)[:, 0]
            loss_plot = _to_svg(lfig, "tv-loss-plot", message("race.loss_aria"))
        series = []
        for k, s in enumerate(self.series.values()):
            style = theme.series(k)
            fate = pic.fates[s.name]
            series.append(
                {
                    "name": s.name,
                    "optimizer": s.optimizer,
                    "colour": style.colour,
                    "symbol": style.marker,
                    "swatch": _swatch(style.colour, style.marker),
                    "path_px": _clip_run(plot_px[k], frame, pic.stop(s)),
                    "loss_px": _clip_run(loss_px[k], lframe),
                    "pos": [_pair_text(row, self.dims) for row in s.path],
                    "loss": [_num(float(v)) for v in s.loss],
                    "slots": {
                        name: [_pair_text(row, self.dims) for row in values]
                        for name, values in s.slots.items()
                    },
                    "stop": None if fate is None else fate.step,
                    "status": pic.status_text(s.name),
                    "note": "" if fate is None else fate.note,
                }
            )
        scene: dict[str, Any] = {
            "uid": self._uid,
            "title": self.title,
            "steps": self.steps,
            "dims": self.dims,
            "plot": plot,
            "loss_plot": loss_plot,
            "paths": {"width": pic.W, "height": pic.H, "frame": list(frame)},
            "loss": {"width": pic.LW, "height": pic.LH, "frame": list(lframe)},
            "cursor": [round(float(c), 1) for c in cursor],
            "series": series,
        }
        scene["paths_svg"] = _overlay(scene, "paths", self.steps)
        scene["loss_svg"] = _overlay(scene, "loss", self.steps)
        return scene

    # -- static pictures, pages, notebook output ----------------------------------------------
    def static_html(self, index: int | None = None) -> str:
        """The race at step ``index`` (default: the last) as static HTML (SVG + table)."""
        k = self.steps if index is None else max(0, min(self.steps, index))
        scene = self._scene
        rows = []
        for j, s in enumerate(scene["series"]):
            slots = "\n".join(f"{n} = {v[k]}" for n, v in s["slots"].items())
            settings = self._hyper.get(s["name"], {})
            hyper = ", ".join(
                f"{message(label)} {_num(settings[key])}"
                for key, label in _HYPER
                if key in settings
            )
            gone = s["stop"] is not None and k >= s["stop"]
            status = html.escape(s["status"]) if gone else ""
            rows.append(
                f'<tr data-series="{j}"><th scope="row">{s["swatch"]}{html.escape(s["name"])}'
                f'<span class="tv-status">{status}</span></th>'
                f'<td class="tv-num tv-pos">{s["pos"][k]}</td>'
                f'<td class="tv-num tv-loss">{s["loss"][k]}</td>'
                f'<td class="tv-num tv-slots">{html.escape(slots) or "—"}</td>'
                f"<td>{html.escape(hyper)}</td></tr>"
            )
        cols = [
            "race.col.optimizer",
            "race.col.position_1d" if self.dims == 1 else "race.col.position",
            "race.col.loss",
            "race.col.slots",
            "race.col.settings",
        ]
        head = "".join(f"<th>{html.escape(message(c))}</th>" for c in cols)
        caption = html.escape(message("race.caption", index=k, count=self.steps))
        table = (
            f'<table class="tv-race-table"><caption>{caption}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
        notes = "".join(
            f'<p class="tv-note tv-fate">{html.escape(s["note"])}</p>'
            for s in scene["series"]
            if s["stop"] is not None and k >= s["stop"]
        )
        legend = "".join(f"<li>{s['swatch']}{html.escape(s['name'])}</li>" for s in scene["series"])
        body = (
            f'<div class="tv-race" data-index="{k}"><div class="tv-title">'
            f'{html.escape(self.title)}</div><div class="tv-body">'
            f'<div class="tv-plot"><div class="tv-stack">{scene["plot"]}'
            f"{_overlay(scene, 'paths', k)}</div></div>"
            f'<div class="tv-loss-panel"><div class="tv-stack">{scene["loss_plot"]}'
            f'{_overlay(scene, "loss", k)}</div><ul class="tv-legend">{legend}</ul>'
            f'<div class="tv-fates">{notes}</div></div>'
            f"</div>{table}</div>"
        )
        note = message("race.static_note", index=k, count=self.steps)
        return static.fallback_html("race", body, note=note)

    def save_html(self, path: str | Path, *, title: str | None = None) -> Path:
        """Write a self-contained HTML page with the race (no kernel, no network).

        The page plays the same animation with the same controls; the learning-rate and
        momentum inputs are read-only there (re-running needs the kernel).  The page is
        written atomically: if writing fails, a page that was there is left unchanged.
        """
        state = {
            "index": self.index,
            "fps": self.fps,
            "_scene": self._scene,
            "_hyper": self._hyper,
            "_running": False,
            "_error": "",
            "_static": True,
            "_text": self._text,
        }
        return static.write_html(
            path,
            title=title or message("race.page_title", title=self.title),
            module=static.esm("race.js"),
            state=state,
            fallback=self.static_html(),
        )

    def __repr__(self) -> str:
        names = ", ".join(self.series)
        return message(
            "race.repr", title=self.title, names=names, steps=self.steps, index=self.index
        )


def _exit_point(pic: _Picture, s: _Series) -> list[float] | None:
    """In data coordinates: where a run that diverged or left crossed the frame; None when
    it became NaN before leaving (its path ends at its last finite point)."""
    stop = pic.stop(s)
    points = pic.points(s)
    if stop is None or stop == 0 or not np.isfinite(points[stop]).all():
        return None
    frame = (pic.xlim[0], pic.ylim[0], pic.xlim[1], pic.ylim[1])
    return _cross(points[stop - 1], points[stop], frame)


def _inline_display() -> None:
    """Let Jupyter show a ``Figure`` inline.  matplotlib-inline registers its figure
    formatter when its backend module is first imported, which pyplot does on first use;
    nothing here goes through pyplot, so import it (it does nothing under another backend)."""
    import importlib
    import sys

    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    if get_ipython() is None:
        return
    with contextlib.suppress(ImportError):
        importlib.import_module("matplotlib_inline.backend_inline")
