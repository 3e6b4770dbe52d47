"""Pictures of the tape: graphviz drawings, the sweep player, the optimizer race.

``tv.viz.graph(tape)`` draws what a tape recorded (values, gradients, the reverse-sweep
order) and shows itself inline in Jupyter; ``tv.viz.to_svg(...)`` gives the SVG text;
``tv.viz.legend()`` the key of colours and shapes, which :mod:`tapeviz.viz.theme` defines
for every picture.  ``tv.viz.set_language("zh")`` switches their words to Chinese
(``"en"``, the default, back to English).  The widgets ``SweepPlayer`` and
``OptimizerRace`` load on first use.

Everything here reads only the public record of a tape (:mod:`tapeviz.graph`).
"""

from __future__ import annotations

import importlib
from typing import Any

from . import theme
from .dot import GraphvizNotFoundError, TapeGraph, graph, legend, node_labels, to_svg
from .messages import get_language, set_language

# Widgets (ipywidgets/matplotlib) are imported only when asked for.
_LAZY = {
    "SweepPlayer": ".player",
    "OptimizerRace": ".trajectories",
    "surfaces": ".surfaces",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name], __name__)
        value = module if name == "surfaces" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tapeviz.viz' has no attribute {name!r}")


__all__ = [
    "GraphvizNotFoundError",
    "OptimizerRace",
    "SweepPlayer",
    "TapeGraph",
    "get_language",
    "graph",
    "legend",
    "node_labels",
    "set_language",
    "surfaces",
    "theme",
    "to_svg",
]
