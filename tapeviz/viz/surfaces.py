"""Loss surfaces to race optimizers on (:class:`tapeviz.viz.OptimizerRace`).

Each surface is a :class:`Surface`: a function of one tensor ``p`` of shape ``(2,)`` (a
``tv.Variable`` during the race) that returns a scalar tensor, written with tapeviz ops so
that a ``GradientTape`` differentiates it, plus what a picture of it needs (the region to
draw, a good start, the minimum).

=====================  ===============================================  ===============
surface                loss                                             minimum
=====================  ===============================================  ===============
``quadratic_bowl``     ½x² + 5y² (a long narrow valley, condition 10)   (0, 0)
``rosenbrock``         (1 − x)² + 100(y − x²)²                          (1, 1)
``beale``              (1.5 − x + xy)² + (2.25 − x + xy²)²              (3, 0.5)
                       + (2.625 − x + xy³)²
``saddle``             x² − y² (no minimum: a saddle point at 0)        none
``parabola``           x² − 2x + 1, the third reference document's      x = 1
                       ``a*x**2 + b*x + c`` with a = 1, b = −2, c = 1
=====================  ===============================================  ===============

One-dimensional surfaces
------------------------
A 1-D loss such as the parabola still takes ``p`` of shape ``(2,)``: it reads ``p[0]`` only.
``p[1]`` is a passive coordinate: its gradient is 0, so no optimizer ever moves it (every
Keras optimizer leaves a coordinate with zero gradient, and zero slots, where it is), and
``race.paths[name][:, 1]`` stays at ``start[1]``.  The race draws such a surface
(``dims == 1``) as the curve ``loss(x)`` with each optimizer's points on it, instead of
contours.  :func:`quadratic_1d` makes one for any ``a, b, c``:

>>> import tapeviz as tv
>>> from tapeviz.viz import surfaces
>>> f = surfaces.quadratic_1d(3.0, 2.0, -1.0)     # the second document's 3x² + 2x − 1
>>> print(f(tv.constant([0.5, 7.0])))
tv.Tensor(0.75, shape=(), dtype=float32)
>>> surfaces.rosenbrock.minimum
(1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Surface",
    "quadratic_bowl",
    "rosenbrock",
    "beale",
    "saddle",
    "parabola",
    "quadratic_1d",
    "SURFACES",
]


@dataclass(frozen=True)
class Surface:
    """A named loss of a 2-vector, with what a picture of it needs.

    Attributes
    ----------
    name : str
        Short name (``"rosenbrock"``).
    fn : callable
        ``fn(p) -> scalar tensor`` for ``p`` of shape ``(2,)``.  Written with elementwise
        tapeviz ops on ``p[0]`` and ``p[1]``, so it also works on ``p`` of shape ``(2, n)``
        (n points at once), which is how the contours are computed.
    formula : str
        The loss written out, for titles.
    bounds : ((x_min, x_max), (y_min, y_max))
        The region to draw.  For a 1-D surface only the x range matters.
    start : (x, y)
        A start that makes a good race.
    minimum : (x, y) or None
        Where the global minimum is (marked with a star), if there is one.
    dims : int
        2, or 1 for a loss of ``p[0]`` alone (drawn as a curve).
    log_levels : bool
        Space contour levels logarithmically (for surfaces with a huge range of values).
    lr_scale : float
        How much to scale the default learning rates of SGD, momentum and RMSprop for this
        surface (steep surfaces need smaller steps).
    """

    name: str
    fn: Callable[[Any], Any]
    formula: str
    bounds: tuple[tuple[float, float], tuple[float, float]]
    start: tuple[float, float]
    minimum: tuple[float, float] | None = None
    dims: int = 2
    log_levels: bool = False
    lr_scale: float = 1.0

    def __call__(self, p: Any) -> Any:
        """The surface's height at ``p`` (``[x, y]``; tensors or arrays)."""
        return self.fn(p)

    def __repr__(self) -> str:
        return f"<tv.viz.surfaces.{self.name}: {self.formula}>"


def _bowl(p: Any) -> Any:
    x, y = p[0], p[1]
    return 0.5 * x**2 + 5.0 * y**2


def _rosenbrock(p: Any) -> Any:
    x, y = p[0], p[1]
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def _beale(p: Any) -> Any:
    x, y = p[0], p[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _saddle(p: Any) -> Any:
    x, y = p[0], p[1]
    return x**2 - y**2


quadratic_bowl = Surface(
    "quadratic_bowl", _bowl, "½x² + 5y²", ((-3.0, 3.0), (-2.0, 2.0)), (-2.5, 1.5), (0.0, 0.0)
)
rosenbrock = Surface(
    "rosenbrock",
    _rosenbrock,
    "(1 − x)² + 100(y − x²)²",
    ((-2.0, 2.0), (-1.0, 3.0)),
    (-1.2, 1.0),
    (1.0, 1.0),
    log_levels=True,
    lr_scale=0.1,
)
beale = Surface(
    "beale",
    _beale,
    "(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
    ((-1.0, 4.5), (-1.5, 2.0)),
    (1.0, 1.5),
    (3.0, 0.5),
    log_levels=True,
    lr_scale=0.1,
)
saddle = Surface("saddle", _saddle, "x² − y²", ((-2.0, 2.0), (-2.0, 2.0)), (-1.8, 0.01), None)


def quadratic_1d(
    a: float = 1.0, b: float = -2.0, c: float = 1.0, *, name: str | None = None
) -> Surface:
    """The parabola ``a·x² + b·x + c`` of ``x = p[0]`` (``p[1]`` is passive, see above).

    Written as the reference documents write it, ``a * x**2 + b * x + c`` with float32
    numbers, so a race reproduces their digits (SGD, learning rate 0.1, 100 steps from 0 on
    ``3x² + 2x − 1`` ends at −0.3333333).  Drawn as a curve over x; the start is x = 0.
    """
    if a <= 0:
        raise ValueError(f"quadratic_1d: a must be > 0 for a minimum to race to, got a={a}")
    x_min = -b / (2.0 * a)
    half = max(2.0, 1.5 * abs(x_min))

    def fn(p: Any) -> Any:
        x = p[0]
        return a * x**2 + b * x + c

    def num(v: float) -> str:
        return f"{v:g}"

    formula = f"{'' if a == 1 else num(a)}x²"
    if b:
        formula += f" {'+' if b > 0 else '−'} {'' if abs(b) == 1 else num(abs(b))}x"
    if c:
        formula += f" {'+' if c > 0 else '−'} {num(abs(c))}"
    return Surface(
        name or "parabola",
        fn,
        formula,
        ((x_min - half, x_min + half), (-1.0, 1.0)),
        (0.0, 0.0),
        (x_min, 0.0),
        dims=1,
    )


parabola = quadratic_1d(1.0, -2.0, 1.0, name="parabola")

#: The built-in surfaces by name.
SURFACES: dict[str, Surface] = {
    s.name: s for s in (quadratic_bowl, rosenbrock, beale, saddle, parabola)
}
