"""The one theme of every tapeviz picture: colours, shapes, fonts and SVG class names.

The graphviz emitter (:mod:`tapeviz.viz.dot`), the widgets (``SweepPlayer``,
``OptimizerRace``) and the legend all read their look from here, so that a colour means
the same thing in every picture.

Colours
-------
The palette is Okabe & Ito's (2008) eight colours, chosen to stay distinct for the common
forms of colour blindness.  Each role uses a full-strength colour for lines and a light
*tint* of it for fills, so black text stays readable on a projector:

=====================  ======================  ==========================================
role                   colour                  meaning
=====================  ======================  ==========================================
``variable``           blue                    a ``tv.Variable`` (watched if trainable)
``watched_constant``   bluish green            a tensor passed to ``tape.watch``
``constant``           grey                    any other tensor the tape read
``value``              dark grey, white fill   the output of a recorded op
``op``                 orange                  a recorded op (its symbol: ``×``, ``@``...)
``target``             vermillion, thick       what ``tape.gradient`` differentiated
``gradient``           vermillion text         ∂L/∂value, after a reverse sweep
``group``              reddish purple          ops recorded from another tape's sweep
``scope``              light grey box          a ``tv.name_scope`` (or a Keras layer)
``highlight``          yellow fill, black      the node a widget is showing now
``highlight_edge``     vermillion, thick       the edges a widget is showing now
=====================  ======================  ==========================================

Series (optimizer paths)
------------------------
Curves that are told apart only by their series (the paths of an ``OptimizerRace``, their
losses, their legend swatches) take :data:`SERIES` in turn: each entry pairs an Okabe-Ito
colour with a marker shape, two cues per series, so the paths stay apart in grey scale and
for every form of colour blindness.  :func:`series` cycles through them:

===  ==================  ===============
 k   colour              marker
===  ==================  ===============
 0   blue                circle
 1   vermillion          square
 2   bluish green        triangle
 3   reddish purple      diamond
 4   orange              triangle down
 5   sky blue            plus
 6   black               hexagon
===  ==================  ===============

Yellow is left out (too light on white and on the light contour bands).  The markers are
SVG path data centred on (0, 0), about 13 px across, and the same shapes as matplotlib
markers (``SeriesStyle.mpl_marker``) for the race's static figure.  A run that diverged
ends in :data:`DIVERGED_MARKER`, a cross.

Plots
-----
The static layers of plots (the race's contours, axes, ticks, colour bar, loss axes) are
drawn by matplotlib with :data:`COLOUR_MAP` (*viridis*: perceptually uniform, readable in
grey scale and for every common form of colour blindness) and the fonts
:data:`PLOT_FONTS`: DejaVu Sans, which matplotlib ships, then fonts with Chinese characters
(Noto Sans CJK from Debian's ``fonts-noto-cjk``, and the usual ones on Windows and macOS),
of which matplotlib uses the installed ones for characters DejaVu lacks.

SVG classes and ids
-------------------
Every node, edge and cluster of an SVG made by :func:`tapeviz.viz.to_svg` carries a
stable ``id`` and ``class`` (see :mod:`tapeviz.viz.dot` for the id scheme), so a widget can
lay a graph out once and restyle it frame by frame.  The classes describe *what* an element
is (:data:`CLASS`); the *state* classes (:data:`STATE`) are for widgets to add and remove:

* in the browser: ``svg.getElementById("n4").classList.add("tv-highlight")`` with the
  stylesheet :func:`css` loaded once (it is written for any container);
* in Python (static frames for nbviewer/GitHub): :func:`add_classes` rewrites the
  ``class`` attributes of a rendered SVG string, and :func:`embed_css` puts the stylesheet
  inside the SVG itself.

Graphviz prefixes the classes with ``node``/``edge``/``cluster`` and escapes ``-`` as
``&#45;`` in the SVG text; browsers read that back as ``-``, and :func:`add_classes`
handles it too.

Example
-------
>>> from tapeviz.viz import theme
>>> theme.VARIABLE.stroke, theme.VARIABLE.fill
('#0072B2', '#CCE3F0')
>>> theme.CLASS["op"], theme.STATE["highlight"]
('tv-op', 'tv-highlight')
>>> svg = '<svg><g id="n1" class="node tv&#45;node tv&#45;op"></g></svg>'
>>> theme.add_classes(svg, {"n1": ["tv-highlight"]})
'<svg><g id="n1" class="node tv-node tv-op tv-highlight"></g></svg>'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "OKABE_ITO",
    "Style",
    "VARIABLE",
    "WATCHED_CONSTANT",
    "CONSTANT",
    "VALUE",
    "ELIDED",
    "OP",
    "TARGET",
    "HIGHLIGHT",
    "HIGHLIGHT_EDGE",
    "EDGE",
    "SCOPE",
    "GROUP",
    "COLLAPSED",
    "LOOP",
    "GRADIENT",
    "STEP",
    "MUTED",
    "TEXT",
    "FONT",
    "MONO_FONT",
    "FONT_SIZE",
    "SMALL_FONT_SIZE",
    "SYMBOL_FONT_SIZE",
    "CLASS",
    "STATE",
    "ROLES",
    "SeriesStyle",
    "SERIES",
    "series",
    "DIVERGED_MARKER",
    "COLOUR_MAP",
    "PLOT_FONTS",
    "PLOT_FONT_SIZE",
    "tint",
    "css",
    "embed_css",
    "add_classes",
]

#: Okabe & Ito's colour-blind-safe palette, by name.
OKABE_ITO: Mapping[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}


def tint(colour: str, amount: float) -> str:
    """Mix ``amount`` (0..1) of ``colour`` (``"#RRGGBB"``) with white.

    >>> tint("#0072B2", 0.2)
    '#CCE3F0'
    """
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(255 - amount * (255 - c)) for c in rgb]
    return "#" + "".join(f"{c:02X}" for c in mixed)


#: Text colours.  Dark enough for a projector (contrast >= 7:1 on white).
TEXT = "#1A1A1A"
MUTED = "#595959"
#: The colour of gradients (∂L/∂value) and of everything the reverse sweep did.
GRADIENT = "#B34700"  # vermillion, darkened for text contrast

#: Fonts: graphviz passes the list to fontconfig, SVG viewers to CSS ``font-family``;
#: both take the first family they have.  DejaVu ships with graphviz on Linux and has
#: every symbol we draw (∂ Σ × ² ᵀ √ σ).  Chinese characters (names, the Chinese
#: pictures' words) come from the first family that has them: Noto Sans CJK SC (Debian's
#: ``fonts-noto-cjk``, installed by ``make system`` and on Binder), else the usual Chinese
#: fonts of Windows and macOS; naming it picks the simplified Chinese forms.
FONT = "Helvetica,Arial,DejaVu Sans,Noto Sans CJK SC,Microsoft YaHei,PingFang SC,sans-serif"
MONO_FONT = "DejaVu Sans Mono,Menlo,Consolas,Noto Sans Mono CJK SC,monospace"
FONT_SIZE = 14
SMALL_FONT_SIZE = 10
SYMBOL_FONT_SIZE = 18


@dataclass(frozen=True)
class Style:
    """How one kind of element looks.

    Attributes
    ----------
    name : str
        The role's name (``"variable"``...), also the key of :data:`ROLES`.
    fill, stroke : str
        Fill and line colours (``"#RRGGBB"``).
    penwidth : float
        Line width in points.
    shape : str
        Graphviz shape (``"plain"`` for the HTML-table value boxes).
    css_class : str
        The SVG class that marks elements of this role.
    text : str
        Colour of the text inside.
    legend : str
        What the legend says about it.
    """

    name: str
    fill: str
    stroke: str
    penwidth: float
    shape: str
    css_class: str
    text: str = TEXT
    legend: str = ""


_C = OKABE_ITO

VARIABLE = Style(
    "variable", tint(_C["blue"], 0.2), _C["blue"], 2.0, "plain", "tv-variable",
    legend="variable (tv.Variable)",
)  # fmt: skip
WATCHED_CONSTANT = Style(
    "watched_constant", tint(_C["bluish_green"], 0.2), _C["bluish_green"], 2.0, "plain",
    "tv-watched-constant", legend="watched constant (tape.watch)",
)  # fmt: skip
CONSTANT = Style(
    "constant", "#F2F2F2", "#8C8C8C", 1.0, "plain", "tv-constant",
    legend="constant (not watched)",
)  # fmt: skip
VALUE = Style(
    "value", "#FFFFFF", "#4D4D4D", 1.0, "plain", "tv-intermediate",
    legend="value computed by an op",
)  # fmt: skip
ELIDED = Style(
    "elided", "#FFFFFF", "#B3B3B3", 1.0, "plain", "tv-elided", text=MUTED,
    legend="value from outside the focus",
)  # fmt: skip
OP = Style(
    "op", tint(_C["orange"], 0.3), "#C78A00", 1.5, "circle", "tv-op",
    legend="op (sweep step number)",
)  # fmt: skip
TARGET = Style(
    "target", tint(_C["vermillion"], 0.2), _C["vermillion"], 3.0, "plain", "tv-target",
    legend="target of tape.gradient",
)  # fmt: skip
HIGHLIGHT = Style(
    "highlight", _C["yellow"], _C["black"], 3.0, "plain", "tv-highlight",
    legend="current step (widgets)",
)  # fmt: skip
HIGHLIGHT_EDGE = Style(
    "highlight_edge", _C["vermillion"], _C["vermillion"], 3.0, "", "tv-highlight",
    legend="gradient flowing now (widgets)",
)  # fmt: skip
EDGE = Style("edge", "#4D4D4D", "#4D4D4D", 1.2, "", "tv-edge", text=MUTED, legend="data flow")
SCOPE = Style(
    "scope", "#F7F7F7", "#A6A6A6", 1.0, "box", "tv-scope", text=MUTED,
    legend="tv.name_scope / Keras layer",
)  # fmt: skip
GROUP = Style(
    "group", tint(_C["reddish_purple"], 0.15), _C["reddish_purple"], 2.0, "box", "tv-group",
    text="#8A3D67", legend="ops recorded from an inner tape's reverse sweep",
)  # fmt: skip
COLLAPSED = Style(
    "collapsed", "#EBEBEB", "#4D4D4D", 1.5, "box3d", "tv-collapsed",
    legend="collapsed scope",
)  # fmt: skip
LOOP = Style(
    "loop", tint(_C["sky_blue"], 0.25), "#2E86C1", 1.5, "box3d", "tv-loop",
    legend="repeated loop iterations",
)  # fmt: skip
#: The badge with the reverse-sweep step number on op nodes.
STEP = Style("step", GRADIENT, GRADIENT, 0.0, "", "tv-cell-step", text="#FFFFFF")

#: Every role by name.
ROLES: Mapping[str, Style] = {
    s.name: s
    for s in (
        VARIABLE, WATCHED_CONSTANT, CONSTANT, VALUE, ELIDED, OP, TARGET, HIGHLIGHT,
        HIGHLIGHT_EDGE, EDGE, SCOPE, GROUP, COLLAPSED, LOOP, STEP,
    )
}  # fmt: skip


@dataclass(frozen=True)
class SeriesStyle:
    """How one series of a multi-series plot looks (see "Series" above).

    Attributes
    ----------
    colour_name : str
        The colour's key in :data:`OKABE_ITO` (``"blue"``...).
    colour : str
        The colour (``"#RRGGBB"``), for the line and the marker.
    marker_name : str
        What the marker is (``"circle"``, ``"square"``...), for legends and alt text.
    marker : str
        The marker as SVG path data around (0, 0) (``<path d="..." transform="translate(x,y)">``).
    mpl_marker : str
        The same shape as a matplotlib marker (``"o"``, ``"s"``...).
    """

    colour_name: str
    colour: str
    marker_name: str
    marker: str
    mpl_marker: str = "o"


_MPL_MARKERS = {
    "circle": "o",
    "square": "s",
    "triangle": "^",
    "diamond": "D",
    "triangle down": "v",
    "plus": "P",
    "hexagon": "h",
}


def _series(colour_name: str, marker_name: str, marker: str) -> SeriesStyle:
    return SeriesStyle(colour_name, _C[colour_name], marker_name, marker, _MPL_MARKERS[marker_name])


#: The series styles, in order: neighbours differ strongly in hue and in shape.
#: (Dashed lines would be a third cue, but browsers repaint a dashed polyline of hundreds of
#: short segments slowly: 7 frames/s instead of 60 in Chromium.)
SERIES: tuple[SeriesStyle, ...] = (
    _series("blue", "circle", "M5.5,0A5.5,5.5 0 1,1 -5.5,0A5.5,5.5 0 1,1 5.5,0Z"),
    _series("vermillion", "square", "M-4.8,-4.8H4.8V4.8H-4.8Z"),
    _series("bluish_green", "triangle", "M0,-6.5L6,4.2H-6Z"),
    _series("reddish_purple", "diamond", "M0,-6.5L6.5,0L0,6.5L-6.5,0Z"),
    _series("orange", "triangle down", "M0,6.5L6,-4.2H-6Z"),
    _series("sky_blue", "plus", "M-2.2,-6.5H2.2V-2.2H6.5V2.2H2.2V6.5H-2.2V2.2H-6.5V-2.2H-2.2Z"),
    _series("black", "hexagon", "M6,0L3,5.2H-3L-6,0L-3,-5.2H3Z"),
)


#: Where a run that diverged ends: a cross (SVG path data around (0, 0), about 14 px).
DIVERGED_MARKER = "M-6,-4L-4,-6L0,-2L4,-6L6,-4L2,0L6,4L4,6L0,2L-4,6L-6,4L-2,0Z"

#: matplotlib colour map of the contours (low loss dark, high loss light).
COLOUR_MAP = "viridis"

#: Fonts of matplotlib's pictures, in order of preference; the installed ones are used
#: (:func:`tapeviz.viz.trajectories.plot_fonts`), each for the characters the ones before
#: it lack: DejaVu Sans (shipped with matplotlib), then fonts with Chinese characters.
PLOT_FONTS: tuple[str, ...] = (
    "DejaVu Sans",
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "Arial Unicode MS",
)
#: Text size of matplotlib's pictures, in pixels (points at 72 dpi): ticks; labels are +1.
PLOT_FONT_SIZE = 13


def series(k: int) -> SeriesStyle:
    """The style of the ``k``-th series (cycling through :data:`SERIES`).

    >>> series(0).colour, series(0).marker_name
    ('#0072B2', 'circle')
    >>> series(len(SERIES)) == series(0)
    True
    """
    return SERIES[k % len(SERIES)]


#: Classes that say what an element *is*; put there by the emitter, never changed.
CLASS: Mapping[str, str] = {
    "node": "tv-node",  # every graphviz node
    "value": "tv-value",  # a value box (record node)
    "variable": VARIABLE.css_class,
    "watched_constant": WATCHED_CONSTANT.css_class,
    "constant": CONSTANT.css_class,
    "intermediate": VALUE.css_class,  # value box of an op's output
    "elided": ELIDED.css_class,
    "op": OP.css_class,
    "target": TARGET.css_class,
    "source": "tv-source",  # a source of the last sweep
    "watched": "tv-watched",  # any watched value
    "collapsed": COLLAPSED.css_class,
    "loop": LOOP.css_class,
    "ref": "tv-ref",  # a reference box standing for a far-away value (also tv-ref-<box id>)
    "legend": "tv-legend",
    "edge": EDGE.css_class,  # every edge
    "input": "tv-input",  # value -> op edge
    "output": "tv-output",  # op -> its output value edge
    "cluster": "tv-cluster",
    "scope": SCOPE.css_class,
    "group": GROUP.css_class,
    "cell": "tv-cell",  # a cell of a value box (<g id="n3-grad">)
    "cell_value": "tv-cell-value",
    "cell_grad": "tv-cell-grad",
    "cell_step": STEP.css_class,
}

#: State classes: widgets add/remove them; :func:`css` says how they look.
STATE: Mapping[str, str] = {
    "highlight": "tv-highlight",  # the current node / edge
    "visited": "tv-visited",  # already done (e.g. swept ops)
    "pending": "tv-pending",  # not reached yet (faded)
    "dim": "tv-dim",  # out of interest (strongly faded)
    "hidden": "tv-hidden",  # invisible but keeps its place (e.g. a grad not yet known)
}


def css(root: str = "") -> str:
    """The stylesheet of the state classes, for SVGs made by ``to_svg``.

    Parameters
    ----------
    root : str
        A selector to scope the rules to, e.g. ``".tv-player"`` (default: none).

    The rules rely only on the classes above and use descendant selectors, since graphviz
    nests what it draws: a value box is a filled background path plus an unfilled
    (``fill="none"``) border; an op circle is an ``<ellipse>`` inside the ``<g><a>`` of its
    tooltip.  The step badge of an op (a path inside its ``tv-cell-step`` group) is left
    alone.
    """
    r = f"{root} " if root else ""
    hl, hle = HIGHLIGHT, HIGHLIGHT_EDGE

    def shapes(state: str, fill_only: bool) -> str:
        not_none = ':not([fill="none"])' if fill_only else ""
        return f"{r}.tv-node.{state} :is(path, polygon, ellipse){not_none}:not(.tv-cell-step *)"

    rules = [
        f"{shapes('tv-highlight', True)} {{ fill: {hl.fill}; }}",
        f"{shapes('tv-highlight', False)} {{ stroke: {hl.stroke}; "
        f"stroke-width: {hl.penwidth}px; }}",
        f"{r}.tv-edge.tv-highlight path {{ stroke: {hle.stroke}; "
        f"stroke-width: {hle.penwidth}px; }}",
        f"{r}.tv-edge.tv-highlight polygon {{ fill: {hle.fill}; stroke: {hle.stroke}; "
        f"stroke-width: {hle.penwidth}px; }}",
        f"{r}.tv-edge.tv-highlight text {{ fill: {hle.stroke}; font-weight: bold; }}",
        f"{r}.tv-op.tv-visited ellipse {{ stroke: {GRADIENT}; stroke-width: 2.5px; }}",
        f"{r}.tv-pending {{ opacity: 0.35; }}",
        f"{r}.tv-dim {{ opacity: 0.15; }}",
        f"{r}.tv-hidden {{ visibility: hidden; }}",
        f"{r}.tv-node, {r}.tv-edge {{ transition: opacity 0.2s; }}",
    ]
    return "\n".join(rules) + "\n"


def embed_css(svg: str, stylesheet: str | None = None) -> str:
    """Put a ``<style>`` (default: :func:`css`) inside an SVG string, after ``<svg ...>``."""
    style = css() if stylesheet is None else stylesheet
    m = re.search(r"<svg\b[^>]*>", svg)
    if m is None:
        raise ValueError("embed_css: no <svg> element in the text")
    block = f"\n<style>\n{style}</style>"
    return svg[: m.end()] + block + svg[m.end() :]


_ELEMENT = re.compile(r'<g id="([^"]*)" class="([^"]*)"')


def add_classes(svg: str, classes: Mapping[str, Iterable[str]]) -> str:
    """Add classes to the elements of an SVG string, by element id (no re-layout).

    ``classes`` maps an SVG id (``"n4"``, ``"e1-4-0"``, ``"v4-grad"``) to the classes to
    add.  Ids not in the SVG are ignored.  The result is the same SVG text with those
    ``class`` attributes extended, so one layout can give many frames.
    """
    if not classes:
        return svg

    def fix(m: re.Match[str]) -> str:
        element_id = m.group(1).replace("&#45;", "-")
        extra = classes.get(element_id)
        if not extra:
            return m.group(0)
        old = m.group(2).replace("&#45;", "-").split()
        new = old + [c for c in extra if c not in old]
        return f'<g id="{element_id}" class="{" ".join(new)}"'

    return _ELEMENT.sub(fix, svg)
