"""``SweepPlayer``: step through the forward pass and the reverse sweep of a tape.

The player reads the public record of a tape (:mod:`tapeviz.graph`) and turns it into a list
of *frames*:

* one **forward** frame per recorded op, in recording order: the op is evaluated and its value
  appears (``t2 = X @ w = [[5],[11]]``);
* one **backward** frame per step of the reverse sweep, in the order the sweep visited the ops
  (reverse recording order): the op whose adjoint is propagated is highlighted, the edges that
  carry contributions back to its inputs are highlighted, the vector-Jacobian rule is written
  out with numbers (``∂L/∂w += Xᵀ · ∂L/∂t2 = [[70],[100]]``), and a table shows every adjoint
  accumulated so far.  Where a value fans out, its adjoint is a sum and the table says so:
  ``∂L/∂x = 27 + 6 + 1 = 34``.

The adjoints of the last frame are what ``tape.gradient`` returned.

The graph is laid out once by graphviz (:func:`tapeviz.viz.dot.to_svg`) and sent to the
browser once; a frame only changes CSS classes and a few texts, so playback runs in the
browser without a round trip to the kernel.

>>> import tapeviz as tv
>>> from tapeviz.viz.player import build_frames
>>> x = tv.Variable(3.0, name="x")
>>> with tv.GradientTape() as tape:
...     y = x**2 + x
>>> _ = tape.gradient(y, x)
>>> [(f.phase, f.node) for f in build_frames(tape.record())]
[('forward', 2), ('forward', 3), ('backward', 3), ('backward', 2)]
>>> build_frames(tape.record())[-1].accumulation[0]
'∂L/∂x = 1 + 6 = 7'
>>> player = tv.viz.SweepPlayer(tape)          # in Jupyter: the widget

DOM hooks (for browser tests and custom styling)
------------------------------------------------
The widget's root element is ``div.tv-widget.tv-player`` and carries, for the frame shown:

``data-index``           the frame index (0-based),
``data-phase``           ``"forward"`` or ``"backward"``,
``data-current-node``    the record id of the highlighted node,
``data-adjoints``        the text of the adjoint table, one row per line
                         (``∂L/∂x = 1 + 6 = 7``; empty during the forward pass).

Controls (every ``<button>`` shows an inline SVG icon, never a font glyph, and has an
``aria-label`` and a tooltip; they are reached with Tab and pressed with Enter or Space; the
arrow keys, Home, End and Space also work while the widget has the focus, and + / − / 0 / W
zoom):

``button.tv-first``         "First frame"
``button.tv-step-back``     "Step back"
``button.tv-play``          "Play" / "Pause", icon and word (``aria-pressed`` is ``"true"``
                            while playing)
``button.tv-step-forward``  "Step forward"
``button.tv-last``          "Last frame"
``input.tv-slider``         ``type="range"``, ``aria-label="Frame"``
``select.tv-speed``         ``aria-label="Speed"``, frames per second
``button.tv-zoom-out``,     zoom out / in by 1.25 (also Ctrl + wheel at the pointer, and a
``button.tv-zoom-in``       touchpad pinch); dragging the graph moves it
``button.tv-zoom-reset``    "Readable size": the graph's smallest text 14.5 px on screen (the
                            start); ``.tv-zoom-level`` shows the zoom relative to it, and the
                            root's ``data-zoom`` the same number
``button.tv-zoom-fit``      "Whole graph": zoom out until the whole graph is in view
``.tv-frame-label``         "Frame 3 / 14 · forward pass" (an ``aria-live`` region)
``div.tv-graph``            the graph's viewport (the SVG's ``viewBox`` is the view); each
                            frame brings its nodes into view: the op and the value it makes
                            (forward), or the op and the values it sends gradients to
``.tv-formula``             the formula of the frame, beside the graph (below it when the
                            output is narrower than 720 px)
``table.tv-adjoint-table``  the adjoints so far; the rows updated by the frame have the
                            class ``tv-updated``; ``tr[data-node="3"]`` is node 3's row.

Every visible word comes from :mod:`tapeviz.viz.messages`.

In the graph, ``g#n3`` is record node 3 and ``g#e3-5-0`` the edge from node 3 into input
position 0 of node 5 (ids of :mod:`tapeviz.viz.dot`).  Per frame, the op's circle and value
boxes get the state classes of :data:`tapeviz.viz.theme.STATE`: ``tv-pending`` (not
evaluated yet), ``tv-highlight`` (the op of the frame: its circle and its output's box),
``tv-visited`` (an op circle the sweep has passed); a value box also gets ``tv-has-adjoint``
and ``tv-updated`` (its adjoint changed in this frame), and its ``grad`` cell ``tv-hidden``
until its adjoint is known.  An edge gets ``tv-pending`` or ``tv-highlight`` (it feeds the op
of a forward frame, or carries a contribution back in a backward frame).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import anywidget
import numpy as np
import traitlets

from ..graph import Node, Record, format_value
from . import static, theme
from .dot import node_labels, to_svg, value_box_id, value_lines
from .messages import for_front_end, message

__all__ = ["Frame", "SweepPlayer", "build_frames", "forward_formula"]


@dataclass(frozen=True)
class Frame:
    """One picture of the step-through.

    Attributes
    ----------
    phase : str
        ``"forward"`` (an op is evaluated) or ``"backward"`` (a step of the reverse sweep).
    node : int
        Record id of the op node this frame is about.
    formula : str
        Forward: ``"t2 = X @ w = [[5],[11]]"``.  Backward: the VJP rule with numbers, as
        :attr:`tapeviz.graph.SweepStep.formula` wrote it.
    adjoints : mapping int -> numpy.ndarray
        ∂L/∂(node) accumulated so far, for every node the sweep has reached (empty during
        the forward pass).  In the last frame these are the gradients.
    title : str
        A one-line caption, e.g. ``"Reverse step 2 of 5: propagate ∂L/∂t7 through x²"``.
    edges : tuple of (src, dst, position)
        Forward: the edges feeding the op.  Backward: the edges that carry a contribution.
    updated : tuple of int
        Nodes whose adjoint changed in this frame (backward only).
    accumulation : mapping int -> str
        For each node in ``adjoints``, how its value was summed:
        ``"∂L/∂x = 27 + 6 + 1 = 34"`` at a fan-out, ``"∂L/∂t4 = 1 (seed)"`` for a target.
    """

    phase: str
    node: int
    formula: str
    adjoints: Mapping[int, np.ndarray] = field(compare=False)
    title: str = ""
    edges: tuple[tuple[int, int, int], ...] = ()
    updated: tuple[int, ...] = ()
    accumulation: Mapping[int, str] = field(default_factory=dict, compare=False)


# --- forward formulas --------------------------------------------------------------------------
_INFIX = frozenset({"+", "−", "×", "÷", "@", "^", "==", "!=", ">", ">=", "<", "<=", "//", "%"})
_PREFIX = {"negative": "−{}", "sqrt": "√{}", "square": "{}²", "reciprocal": "1/{}"}
_POSTFIX = {"transpose": "{}ᵀ", "abs": "|{}|"}


def forward_formula(node: Node, labels: Mapping[int, str]) -> str:
    """``"t2 = X @ w = [[5],[11]]"``: what a forward frame shows for an op node."""
    args = [labels[i] for i in node.inputs]
    sym = node.symbol or node.op or "?"
    op = node.op or "?"
    if len(args) == 2 and sym in _INFIX:
        expr = f"{args[0]} {sym} {args[1]}"
    elif len(args) == 1 and op in _PREFIX:
        expr = _PREFIX[op].format(args[0])
    elif len(args) == 1 and op in _POSTFIX:
        expr = _POSTFIX[op].format(args[0])
    else:
        expr = f"{op}({', '.join(args)})"
    return f"{labels[node.id]} = {expr} = {format_value(node.value)}"


# --- frames ------------------------------------------------------------------------------------
def _seed(record: Record, target: int, received: Mapping[int, list[np.ndarray]]) -> np.ndarray:
    """The adjoint a target started with (1, or ``output_gradients``)."""
    final = np.asarray(record.gradients[target])
    parts = received.get(target, [])
    if not parts:
        return final
    seed = final - sum(parts[1:], parts[0])
    if np.allclose(seed, 1.0):
        return np.ones_like(final)
    return seed.astype(final.dtype)


def _accumulation(label: str, seed: np.ndarray | None, parts: list[np.ndarray]) -> str:
    """``"∂L/∂x = 7.38906 + 0.909297 − 0.832294 = 7.46606"``: how an adjoint was summed.

    A negative scalar part after the first is written ``− 0.832294``; arrays keep ``+ [..]``.
    """
    values = ([seed] if seed is not None else []) + list(parts)
    total = _sum([seed] if seed is not None else [], parts)
    if len(values) == 1:
        suffix = message("player.seed") if seed is not None else ""
        return f"∂L/∂{label} = {format_value(values[0])}{suffix}"
    text = format_value(values[0])
    for v in values[1:]:
        term = format_value(v)
        if np.ndim(v) == 0 and term.startswith("-"):
            text += f" − {term[1:]}"
        else:
            text += f" + {term}"
    return f"∂L/∂{label} = {text} = {format_value(total)}"


def _is_sum(accumulation: str) -> bool:
    """Whether an accumulation text adds up more than one term (a fan-out)."""
    return " + " in accumulation or " − " in accumulation


def _sum(seed: list[np.ndarray], parts: list[np.ndarray]) -> np.ndarray:
    values = seed + parts
    total = values[0]
    for v in values[1:]:
        total = total + v  # the order of the engine's sweep, so float32 digits agree
    return np.asarray(total)


def build_frames(record: Record) -> list[Frame]:
    """The frames of a record: forward frames, then one backward frame per sweep step.

    Parameters
    ----------
    record : tapeviz.graph.Record
        ``tape.record()``; without a reverse sweep (``gradient`` not called) only forward
        frames are made.

    Returns
    -------
    list of Frame
        Forward frames in recording order, then backward frames in the order the sweep
        visited the ops.  Adjoints are summed in the sweep's order, so the last frame's
        adjoints equal ``record.gradients`` digit for digit.
    """
    labels = node_labels(record)
    frames: list[Frame] = []
    ops = [n for n in record.nodes if n.kind == "op"]
    empty: Mapping[int, np.ndarray] = MappingProxyType({})
    for k, n in enumerate(ops):
        frames.append(
            Frame(
                phase="forward",
                node=n.id,
                formula=forward_formula(n, labels),
                adjoints=empty,
                title=message(
                    "player.forward_title",
                    step=k + 1,
                    count=len(ops),
                    label=labels[n.id],
                    op=n.op,
                ),
                edges=tuple((src, n.id, pos) for pos, src in enumerate(n.inputs)),
            )
        )
    if not record.sweep:
        return frames

    # Everything each node will receive, to work out the targets' seeds.
    received_all: dict[int, list[np.ndarray]] = {}
    for step in record.sweep:
        for i, c in step.contributions.items():
            received_all.setdefault(i, []).append(np.asarray(c))
    seeds: dict[int, np.ndarray] = {
        t: _seed(record, t, received_all) for t in record.targets if t in record.gradients
    }

    received: dict[int, list[np.ndarray]] = {}
    adjoints: dict[int, np.ndarray] = dict(seeds)
    accumulation: dict[int, str] = {t: _accumulation(labels[t], s, []) for t, s in seeds.items()}
    total = len(record.sweep)
    for k, step in enumerate(record.sweep):
        node = record.node(step.node)
        updated = []
        for i, c in step.contributions.items():
            received.setdefault(i, []).append(np.asarray(c))
            seed = seeds.get(i)
            adjoints[i] = _sum([seed] if seed is not None else [], received[i])
            accumulation[i] = _accumulation(labels[i], seed, received[i])
            updated.append(i)
        edges = tuple(
            (src, node.id, pos) for pos, src in enumerate(node.inputs) if src in step.contributions
        )
        via = node.symbol or node.op
        frames.append(
            Frame(
                phase="backward",
                node=node.id,
                formula=step.formula,
                adjoints=MappingProxyType(dict(adjoints)),
                title=message(
                    "player.backward_title", step=k + 1, count=total, label=labels[node.id], via=via
                ),
                edges=edges,
                updated=tuple(updated),
                accumulation=MappingProxyType(dict(accumulation)),
            )
        )
    return frames


# --- the widget --------------------------------------------------------------------------------
def _as_record(tape_or_record: Any) -> Record:
    if isinstance(tape_or_record, Record):
        return tape_or_record
    record = getattr(tape_or_record, "record", None)
    if callable(record):
        rec = record()
        if isinstance(rec, Record):
            return rec
    raise TypeError(message("error.player.not_a_tape", type=type(tape_or_record).__name__))


# Graphviz writes a cell's caption ("value", "grad") as a <text> just before the cell; wrap it
# in a <g id="<cell>-caption"> so that a frame can hide both.
_CELL = re.compile(r'(<g id="([^"]+)" class="tv-cell [^"]*">\n)((?:<text [^>]*>[^<]*</text>\n)+)')
_TEXT = re.compile(r"(<text [^>]*>)[^<]*(</text>)")


def _set_cell_lines(svg: str, texts: Mapping[str, list[str]]) -> str:
    """Replace the text lines of cells (``{"v4-grad": ["7"]}``) in an SVG string."""
    if not texts:
        return svg

    def fix(m: re.Match[str]) -> str:
        lines = texts.get(m.group(2))
        if lines is None:
            return m.group(0)
        parts = iter(lines)
        body = _TEXT.sub(
            lambda t: t.group(1) + html.escape(next(parts, "")) + t.group(2), m.group(3)
        )
        return m.group(1) + body

    return _CELL.sub(fix, svg)


class _Ids:
    """The SVG ids of a record node (:mod:`tapeviz.viz.dot`'s scheme)."""

    def __init__(self, node: Node) -> None:
        self.box = value_box_id(node)
        self.circle = f"n{node.id}" if node.kind == "op" else None
        self.value = f"{self.box}-value"
        self.grad = f"{self.box}-grad"
        self.step = f"n{node.id}-step" if node.kind == "op" else None
        self.out = f"o{node.id}" if node.kind == "op" else None


def _edge_id(edge: tuple[int, int, int]) -> str:
    src, dst, pos = edge
    return f"e{src}-{dst}-{pos}"


class SweepPlayer(static.StaticFallback, anywidget.AnyWidget):
    """Step through the forward pass and the reverse sweep of a tape, op by op.

    Parameters
    ----------
    tape_or_record : GradientTape or tapeviz.graph.Record
        A tape after ``tape.gradient(...)`` (or its ``tape.record()``).  Without a gradient
        call only the forward frames exist.
    index : int
        The frame to show first (default 0).
    fps : float
        Frames per second when playing (the speed menu changes it).
    **graph_options
        Passed to :func:`tapeviz.viz.graph` (``rankdir="TB"``, ``shapes=False``,
        ``focus=...``, ``collapse=...``).

    Attributes
    ----------
    frames : list of Frame
        Every frame: ``phase``, ``node``, ``formula``, ``adjoints`` (and ``title``,
        ``edges``, ``updated``, ``accumulation``).
    index : int
        The frame shown (settable; playing in the browser changes it too).
    record : tapeviz.graph.Record
        What the player shows.

    Examples
    --------
    >>> import tapeviz as tv
    >>> X = tv.constant([[1., 2.], [3., 4.]], name="X")
    >>> w = tv.Variable([[1.], [2.]], name="w"); b = tv.Variable(1.0, name="b")
    >>> with tv.GradientTape() as tape:
    ...     L = tv.reduce_sum(tv.square(X @ w + b - tv.constant([[1.], [2.]])))
    >>> _ = tape.gradient(L, [w, b])
    >>> player = tv.viz.SweepPlayer(tape)
    >>> len(player.frames), player.frames[-1].formula
    (10, '∂L/∂w += Xᵀ · ∂L/∂t2 = [[1,3],[2,4]] · [[10],[20]] = [[70],[100]]')
    >>> player.index = 9
    >>> player.frame.adjoints[1].tolist()
    [[70.0], [100.0]]
    >>> player.save_html("sweep.html")        # doctest: +SKIP
    """

    _esm = static.esm("player.js")
    _css = static.widget_css()

    index = traitlets.Int(0).tag(sync=True)
    fps = traitlets.Float(1.0).tag(sync=True)
    _svg = traitlets.Unicode("").tag(sync=True)
    _nodes: traitlets.List[Any] = traitlets.List().tag(sync=True)
    _edges: traitlets.List[Any] = traitlets.List().tag(sync=True)
    _frames: traitlets.List[Any] = traitlets.List().tag(sync=True)
    _text: traitlets.Dict[str, str] = traitlets.Dict().tag(sync=True)

    def __init__(
        self, tape_or_record: Any, *, index: int = 0, fps: float = 1.0, **graph_options: Any
    ) -> None:
        record = _as_record(tape_or_record)
        frames = build_frames(record)
        if not frames:
            raise ValueError(message("error.player.empty"))
        for fixed in ("values", "grads", "sweep_order"):
            if fixed in graph_options:
                raise TypeError(message("error.player.fixed_option", option=fixed))
        self.record = record
        self.frames = frames
        self._labels = node_labels(record)
        svg = _svg_body(to_svg(record, **graph_options))
        self._ids = {n.id: _Ids(n) for n in record.nodes}
        self._pos = {n.id: k for k, n in enumerate(n for n in record.nodes if n.kind == "op")}
        super().__init__(
            index=index,
            fps=fps,
            _svg=svg,
            _nodes=self._nodes_json(),
            _edges=self._edges_json(),
            _frames=[self._frame_json(f) for f in frames],
            _text=for_front_end("controls.", "player."),
        )

    # -- what the front end gets ---------------------------------------------------------
    def _nodes_json(self) -> list[dict[str, Any]]:
        out = []
        for n in self.record.nodes:
            ids = self._ids[n.id]
            out.append(
                {
                    "id": n.id,
                    "label": self._labels[n.id],
                    "pos": self._pos.get(n.id, -1),
                    "box": ids.box,
                    "circle": ids.circle,
                    "value": ids.value,
                    "grad": ids.grad,
                    "step": ids.step,
                    "out": ids.out,
                }
            )
        return out

    def _edges_json(self) -> list[list[Any]]:
        out: list[list[Any]] = [[_edge_id(e), e[1]] for e in self.record.edges]
        out += [[f"o{n.id}", n.id] for n in self.record.nodes if n.kind == "op"]
        return out

    def _adjoint_rows(self, frame: Frame) -> list[dict[str, Any]]:
        rows = []
        for i in frame.updated or tuple(frame.adjoints):
            text = frame.accumulation[i]
            name, _, total = text.partition(" = ")
            rows.append(
                {
                    "id": i,
                    "name": name,
                    "sum": total,
                    "text": text,
                    "lines": value_lines(frame.adjoints[i]),
                }
            )
        return rows

    def _frame_json(self, frame: Frame) -> dict[str, Any]:
        ids = self._ids[frame.node]
        edges = [_edge_id(e) for e in frame.edges]
        if ids.out is not None:
            edges.append(ids.out)
        data: dict[str, Any] = {
            "phase": frame.phase,
            "node": frame.node,
            "pos": self._pos.get(frame.node, -1) if frame.phase == "forward" else 1 << 30,
            "title": frame.title,
            "formula": frame.formula,
            "edges": edges,
            "updated": list(frame.updated),
            "set": [],
            "note": "",
        }
        if frame.phase == "backward":
            first = frame is next(f for f in self.frames if f.phase == "backward")
            if first:  # the seeds come in with the first reverse step
                seeds = [i for i in frame.adjoints if i not in frame.updated]
                data["set"] = self._adjoint_rows(
                    Frame(frame.phase, frame.node, "", frame.adjoints,
                          updated=tuple(seeds), accumulation=frame.accumulation)
                )  # fmt: skip
            data["set"] += self._adjoint_rows(frame)
            fan = [i for i in frame.updated if _is_sum(frame.accumulation[i])]
            if fan:
                names = ", ".join(self._labels[i] for i in fan)
                data["note"] = message("player.fan_out", names=names)
        return data

    # -- Python side ---------------------------------------------------------------------
    @traitlets.validate("index")
    def _clamp_index(self, proposal: Any) -> int:
        return max(0, min(len(self.frames) - 1, int(proposal["value"])))

    @property
    def frame(self) -> Frame:
        """The frame shown now (``frames[index]``)."""
        return self.frames[self.index]

    def step(self, by: int = 1) -> Frame:
        """Move ``by`` frames (negative: back) and return the frame now shown."""
        self.index = self.index + by
        return self.frame

    def play_widget(self) -> Any:
        """A standard ``ipywidgets.Play`` jslinked to :attr:`index` (plays in the browser).

        >>> import ipywidgets                                     # doctest: +SKIP
        >>> ipywidgets.VBox([player.play_widget(), player])        # doctest: +SKIP
        """
        return static.linked_play(self, len(self.frames))

    def frame_svg(self, index: int | None = None) -> str:
        """The graph as an SVG string styled like frame ``index`` (default: the last).

        The same restyling the browser does, done in Python: for static pages and tests.
        """
        k = len(self.frames) - 1 if index is None else index
        frame = self.frames[k]
        pos = self._pos.get(frame.node, -1) if frame.phase == "forward" else 1 << 30
        visited = {f.node for f in self.frames[: k + 1] if f.phase == "backward"}
        classes: dict[str, list[str]] = {}

        def add(element: str | None, cls: str) -> None:
            if element is not None:
                classes.setdefault(element, []).append(cls)

        texts: dict[str, list[str]] = {}
        for n in self.record.nodes:
            ids = self._ids[n.id]
            pending = frame.phase == "forward" and self._pos.get(n.id, -1) > pos
            for element in (ids.box, ids.circle):
                if pending:
                    add(element, "tv-pending")
                if n.id == frame.node:
                    add(element, "tv-highlight")
            if pending:
                add(ids.value, "tv-hidden")
                add(ids.value + "-caption", "tv-hidden")
            if n.id in frame.adjoints:
                add(ids.box, "tv-has-adjoint")
                texts[ids.grad] = value_lines(frame.adjoints[n.id])
            else:
                add(ids.grad, "tv-hidden")
                add(ids.grad + "-caption", "tv-hidden")
            if n.id in frame.updated:
                add(ids.box, "tv-updated")
            if n.id not in visited:
                add(ids.step, "tv-hidden")
            elif n.id != frame.node:
                add(ids.circle, "tv-visited")
        for e in self.record.edges:
            if frame.phase == "forward" and self._pos.get(e[1], -1) > pos:
                add(_edge_id(e), "tv-pending")
        for n in self.record.nodes:
            if n.kind == "op" and frame.phase == "forward" and self._pos[n.id] > pos:
                add(f"o{n.id}", "tv-pending")
        for element in self._frame_json(frame)["edges"]:
            add(element, "tv-highlight")
        return theme.add_classes(_set_cell_lines(self._svg, texts), classes)

    def static_html(self, index: int | None = None) -> str:
        """Frame ``index`` (default: the last) as static HTML: graph, formula, adjoints."""
        k = len(self.frames) - 1 if index is None else index
        frame = self.frames[k]
        rows = []
        for i, text in frame.accumulation.items():
            name, _, total = text.partition(" = ")
            cls = ' class="tv-updated"' if i in frame.updated else ""
            rows.append(
                f'<tr data-node="{i}"{cls}><th scope="row">{html.escape(name)}</th>'
                f"<td>{html.escape(total)}</td></tr>"
            )
        table = (
            f'<table class="tv-adjoint-table"><caption>{html.escape(message("player.adjoints"))}'
            f"</caption><tbody>{''.join(rows)}</tbody></table>"
            if rows
            else ""
        )
        phase = f"tv-phase-{frame.phase}"
        body = (
            f'<div class="tv-player {phase}" data-index="{k}" data-phase="{frame.phase}" '
            f'data-current-node="{frame.node}"><div class="tv-body">'
            f'<div class="tv-graph">{_svg_body(self.frame_svg(k))}</div>'
            f'<div class="tv-side"><div class="tv-step-text"><div class="tv-title">'
            f'{html.escape(frame.title)}</div><div class="tv-formula">'
            f'{html.escape(frame.formula)}</div></div><div class="tv-adjoints">{table}</div></div>'
            "</div></div>"
        )
        note = message("player.static_note", index=k + 1, count=len(self.frames))
        return static.fallback_html("player", body, note=note)

    def save_html(self, path: str | Path, *, title: str | None = None) -> Path:
        """Write a self-contained HTML page with the player (no kernel, no network).

        The page has the same graph, animation and controls; it starts at the current
        frame.  Returns the path written.
        """
        state = {
            "index": self.index,
            "fps": self.fps,
            "_svg": self._svg,
            "_nodes": self._nodes,
            "_edges": self._edges,
            "_frames": self._frames,
            "_text": self._text,
        }
        return static.write_html(
            path,
            title=title or message("player.page_title"),
            module=static.esm("player.js"),
            state=state,
            fallback=self.static_html(),
        )

    def __repr__(self) -> str:
        n_fwd = sum(f.phase == "forward" for f in self.frames)
        n_bwd = len(self.frames) - n_fwd
        return message(
            "player.repr",
            count=len(self.frames),
            forward=n_fwd,
            backward=n_bwd,
            index=self.index + 1,
        )


def _svg_body(svg: str) -> str:
    """An SVG string without its XML prolog and doctype (to inline it in HTML)."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg
