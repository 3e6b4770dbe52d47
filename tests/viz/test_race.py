"""OptimizerRace: paths from the real optimizers, the documents' numbers, and the widget.

The race must not have an update rule of its own: its paths are compared, bit for bit, with
the optimizers run directly the way the reference documents run them (a ``GradientTape`` and
``apply_gradients`` in a Python loop), and with TensorFlow's numbers in
``tests/data/tf_reference.json``.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tapeviz as tf
from tapeviz import keras
from tapeviz.viz import surfaces
from tapeviz.viz.trajectories import OptimizerRace

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "tf_reference.json"


def tf_values(*keys: str) -> np.ndarray:
    """float32 numbers recorded from TensorFlow, rebuilt exactly from their float.hex text."""
    node: Any = json.loads(REFERENCE.read_text(encoding="utf-8"))
    for k in keys:
        node = node[k]
    hexes = np.asarray(node["hex"], dtype=object)
    return np.vectorize(lambda h: np.float32(float.fromhex(h)), otypes=[np.float32])(hexes)


def direct_run(loss: Any, start: Any, optimizer: Any, steps: int) -> np.ndarray:
    """The documents' loop: tape, gradient, apply_gradients; returns every position."""
    p = tf.Variable(np.asarray(start, dtype=np.float32))
    out = [p.numpy().copy()]
    for _ in range(steps):
        with tf.GradientTape() as tape:
            z = loss(p)
        optimizer.apply_gradients([(tape.gradient(z, p), p)])
        out.append(p.numpy().copy())
    return np.asarray(out)


# --- document 001: SGD on 3x² + 2x − 1 ---------------------------------------------------------
def test_doc001_sgd_race_ends_at_minus_one_third() -> None:
    f = surfaces.quadratic_1d(3.0, 2.0, -1.0)
    race = OptimizerRace(f, (0.0, 0.0), {"SGD": keras.optimizers.SGD(learning_rate=0.1)}, 100)
    path = race.paths["SGD"]
    assert path.shape == (101, 2)
    assert path.dtype == np.float32
    assert path[-1, 0] == np.float32(-0.3333333)
    assert str(path[-1, 0]) == "-0.3333333"
    assert np.all(path[:, 1] == 0.0)  # the passive coordinate never moves

    # ... exactly the document's scalar loop ...
    x = tf.Variable(0.0)
    optimizer = keras.optimizers.SGD(learning_rate=0.1)
    xs = [x.numpy()]
    for _ in range(100):
        with tf.GradientTape() as tape:
            z = 3.0 * x**2 + 2.0 * x - 1
        dz_x = tape.gradient(z, x)
        optimizer.apply_gradients([(dz_x, x)])
        xs.append(x.numpy())
    np.testing.assert_array_equal(path[:, 0], np.asarray(xs, dtype=np.float32))

    # ... and TensorFlow's numbers
    steps = json.loads(REFERENCE.read_text(encoding="utf-8"))["seed_examples"][
        "doc001_sgd_optimizer"
    ]["steps"]
    np.testing.assert_array_equal(
        path[steps, 0], tf_values("seed_examples", "doc001_sgd_optimizer", "x")
    )


# --- document 000: the linear-regression gradients ---------------------------------------------
def linreg_loss(p: Any) -> Any:
    X = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    y = tf.constant([[1.0], [2.0]])
    b = tf.constant(1.0)
    w = tf.reshape(p, (2, 1))
    return tf.reduce_sum(tf.square(tf.matmul(X, w) + b - y))


def test_doc000_linear_regression_race() -> None:
    opts = {"SGD": keras.optimizers.SGD(0.01), "Adam": keras.optimizers.Adam(0.1)}
    race = OptimizerRace(linreg_loss, (1.0, 2.0), opts, steps=20)
    for name in opts:
        np.testing.assert_array_equal(race.gradients[name][0], [70.0, 100.0])
        assert race.losses[name][0] == 125.0
    # one SGD step: w - 0.01 * [70, 100]
    np.testing.assert_array_equal(
        race.paths["SGD"][1], np.float32([1.0, 2.0]) - np.float32(0.01) * np.float32([70, 100])
    )
    # every step equals running the optimizer directly on the document's w
    w = tf.Variable([[1.0], [2.0]])
    b = tf.constant(1.0)
    X = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    y = tf.constant([[1.0], [2.0]])
    sgd = keras.optimizers.SGD(0.01)
    ws = [w.numpy().ravel()]
    for _ in range(20):
        with tf.GradientTape() as tape:
            L = tf.reduce_sum(tf.square(tf.matmul(X, w) + b - y))
        sgd.apply_gradients([(tape.gradient(L, w), w)])
        ws.append(w.numpy().ravel())
    np.testing.assert_array_equal(race.paths["SGD"], np.asarray(ws))
    # a loss that is not elementwise in p is contoured point by point
    pic = race._picture
    for i, j in ((0, 0), (17, 42), (79, 79)):
        p = tf.constant(np.float32([pic.xs[j], pic.ys[i]]))
        assert pic.zs[i, j] == pytest.approx(float(linreg_loss(p).numpy()), rel=1e-6)
    assert 'id="tv-colourbar"' in race._scene["plot"]


# --- document 002: SGD and Adam on the parabola for 1000 steps --------------------------------
def test_doc002_parabola_sgd_and_adam_match_tensorflow() -> None:
    opts = {"SGD": keras.optimizers.SGD(learning_rate=0.01), "Adam": keras.optimizers.Adam(0.01)}
    race = OptimizerRace(surfaces.parabola, optimizers=opts, steps=1000)
    ref = json.loads(REFERENCE.read_text(encoding="utf-8"))["seed_examples"]
    for name, key in (("SGD", "doc002_sgd_apply_gradients_1000"),
                      ("Adam", "doc002_adam_apply_gradients_1000_eager")):  # fmt: skip
        steps = ref[key]["steps"]
        expected = tf_values("seed_examples", key, "x_after_step")
        np.testing.assert_array_equal(race.paths[name][steps, 0], expected)
    assert f"{float(race.paths['SGD'][-1, 0]):.9}" == "0.999998569"  # as tf.print shows it


# --- paths equal direct runs, for every kind of optimizer --------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: keras.optimizers.SGD(0.001),
        lambda: keras.optimizers.SGD(0.001, momentum=0.9),
        lambda: keras.optimizers.SGD(0.001, momentum=0.9, nesterov=True),
        lambda: keras.optimizers.Adam(0.05),
        lambda: keras.optimizers.RMSprop(0.01, momentum=0.5),
        lambda: keras.optimizers.Adagrad(0.5),
    ],
    ids=["sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad"],
)
def test_paths_equal_direct_runs(make: Any) -> None:
    surface = surfaces.rosenbrock
    given = make()
    race = OptimizerRace(surface, optimizers={"opt": given}, steps=60)
    np.testing.assert_array_equal(race.paths["opt"], direct_run(surface, surface.start, make(), 60))
    assert int(given.iterations) == 0, "the optimizer passed in is not used (a copy races)"
    for name, values in race.slots["opt"].items():
        assert values.shape == (61, 2), name
    losses = race.losses["opt"]
    assert losses[0] == np.float32(surface(tf.constant(np.float32(surface.start))).numpy())


def test_slots_are_the_optimizers_own() -> None:
    race = OptimizerRace(
        surfaces.quadratic_bowl,
        optimizers={"m": keras.optimizers.SGD(0.01, momentum=0.9), "a": keras.optimizers.Adam(0.1)},
        steps=5,
    )
    assert set(race.slots["m"]) == {"momentum"}
    assert set(race.slots["a"]) == {"m", "v"}
    # momentum is the displacement of the last step: w_{k+1} = w_k + m_{k+1}
    p, m = race.paths["m"], race.slots["m"]["momentum"]
    np.testing.assert_array_equal(p[1:], p[:-1] + m[1:])


# --- surfaces ----------------------------------------------------------------------------------
@pytest.mark.parametrize("surface", list(surfaces.SURFACES.values()), ids=list(surfaces.SURFACES))
def test_surfaces(surface: surfaces.Surface) -> None:
    p = tf.Variable(np.float32(surface.start))
    with tf.GradientTape() as tape:
        z = surface(p)
    assert z.shape == ()
    assert tape.gradient(z, p).shape == (2,)
    # all grid points at once equals one by one (how the contours are computed)
    pts = np.float32([[surface.start[0], 0.5], [surface.start[1], -0.25]])
    many = surface(tf.constant(pts)).numpy()
    one = [surface(tf.constant(pts[:, i])).numpy() for i in range(2)]
    np.testing.assert_allclose(many, one, rtol=1e-6)
    if surface.minimum is not None:
        q = tf.Variable(np.float32(surface.minimum))
        with tf.GradientTape() as tape:
            z = surface(q)
        np.testing.assert_allclose(tape.gradient(z, q).numpy(), 0.0, atol=1e-4)
    if surface.dims == 1:
        with tf.GradientTape() as tape:
            z = surface(p)
        assert tape.gradient(z, p).numpy()[1] == 0.0  # p[1] is passive


# --- the widget --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def race() -> OptimizerRace:
    return OptimizerRace(
        surfaces.rosenbrock,
        optimizers={
            "SGD": keras.optimizers.SGD(0.001),
            "momentum": keras.optimizers.SGD(0.001, momentum=0.9),
            "Adam": keras.optimizers.Adam(0.1),
        },
        steps=50,
    )  # fmt: skip


def test_widget_steps_without_a_browser(race: OptimizerRace) -> None:
    assert race.index == 0
    race.index = 10
    assert race.index == 10
    race.index = 999
    assert race.index == 50
    race.index = 0
    scene = race._scene
    json.dumps(scene)
    assert scene["steps"] == 50 and len(scene["cursor"]) == 51
    for k, s in enumerate(scene["series"]):
        assert len(s["path_px"]) == len(s["loss_px"]) == len(s["pos"]) == 51
        assert f'<polyline class="tv-path" data-series="{k}"' in scene["paths_svg"]
        assert f'<polyline class="tv-loss" data-series="{k}"' in scene["loss_svg"]
    assert repr(race).startswith("<tv.viz.OptimizerRace on rosenbrock")


def test_rerun_from_the_front_end() -> None:
    race = OptimizerRace(surfaces.quadratic_bowl, optimizers={"SGD": keras.optimizers.SGD(0.01)},
                         steps=10)  # fmt: skip
    before = race.paths["SGD"].copy()
    race._hyper = {"SGD": {"learning_rate": 0.1, "momentum": 0.5}}  # what the inputs do
    assert race._error == ""
    assert race.optimizers["SGD"].get_config()["momentum"] == 0.5
    expected = direct_run(surfaces.quadratic_bowl, surfaces.quadratic_bowl.start,
                          keras.optimizers.SGD(0.1, momentum=0.5), 10)  # fmt: skip
    np.testing.assert_array_equal(race.paths["SGD"], expected)
    assert not np.array_equal(before, race.paths["SGD"])
    assert race._hyper == {"SGD": {"learning_rate": 0.1, "momentum": 0.5}}
    # a bad value is reported in the widget and the race stays as it was
    race._hyper = {"SGD": {"learning_rate": 0.1, "momentum": 7.0}}
    assert "momentum" in race._error
    assert race._hyper == {"SGD": {"learning_rate": 0.1, "momentum": 0.5}}
    np.testing.assert_array_equal(race.paths["SGD"], expected)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="scalar"):
        OptimizerRace(lambda p: p * 2.0, (0.0, 0.0), {"SGD": keras.optimizers.SGD()}, 5)
    with pytest.raises(ValueError, match="pair"):
        OptimizerRace(surfaces.saddle, (0.0, 0.0, 1.0), {"SGD": keras.optimizers.SGD()}, 5)
    with pytest.raises(TypeError, match="start"):
        OptimizerRace(lambda p: tf.reduce_sum(p), optimizers={"SGD": keras.optimizers.SGD()})
    with pytest.raises(TypeError, match=r"tv.keras.optimizers"):
        OptimizerRace(surfaces.saddle, optimizers={"x": object()}, steps=3)


SGD = keras.optimizers.SGD


@pytest.mark.parametrize(
    ("start", "error", "words"),
    [
        (5.0, TypeError, ["start must be a pair of numbers", "5.0", "float"]),
        (("a", "b"), TypeError, ["start[0] is 'a'", "str"]),
        ([[1.0, 2.0], [3.0, 4.0]], ValueError, ["pair of numbers", "shape (2, 2)"]),
        (np.ones((2, 2)), ValueError, ["shape (2, 2)"]),
        ((1.0, 2.0, 3.0), ValueError, ["pair of numbers", "3 values"]),
        ((float("nan"), 1.0), ValueError, ["two finite numbers", "(nan, 1.0)"]),
        ((1.0, float("inf")), ValueError, ["two finite numbers", "inf"]),
        ((True, 1.0), TypeError, ["start[0] is True", "bool"]),
        (None, TypeError, ["start=(x, y)"]),
        ("ab", TypeError, ["start must be a pair of numbers", "'ab'"]),
    ],
)
def test_start_is_checked(start: Any, error: type[Exception], words: list[str]) -> None:
    """Bad starts: a clear error naming what was wrong, before anything runs."""
    with pytest.raises(error) as info:
        OptimizerRace(lambda p: tf.reduce_sum(p * p), start, {"SGD": SGD(0.1)}, steps=3)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_starts_that_are_fine() -> None:
    loss = lambda p: tf.reduce_sum(p * p)  # noqa: E731
    for start in ((1, 2), [1.5, -2.0], np.float32([1.5, -2.0]), tf.constant([1.5, -2.0])):
        race = OptimizerRace(loss, start, {"SGD": SGD(0.1)}, steps=2)
        assert race.start == (float(start[0]), float(start[1]))
        np.testing.assert_array_equal(race.paths["SGD"][0], np.float32(race.start))


@pytest.mark.parametrize(
    ("loss", "error", "words"),
    [
        (lambda p: 3.0, TypeError, ["returned 3.0 (float), not a tensor", "tapeviz ops"]),
        (lambda p: float(p[0].numpy()) ** 2, TypeError, ["(float), not a tensor"]),
        (lambda p: p.numpy().sum(), TypeError, ["(float32), not a tensor"]),
        (lambda p: p * 2.0, ValueError, ["scalar tensor", "shape (2,)"]),
        (lambda p: tf.sqrt(p[0]) + p[1], ValueError, ["loss at the start (-1, 2) is nan"]),
        (lambda p: tf.math.log(p[1] - 2.0), ValueError, ["loss at the start (-1, 2) is -inf"]),
        (lambda p: p[1] / (p[0] + 1.0), ValueError, ["is inf"]),
        (lambda p: tf.constant(1.0), ValueError, ["gradient", "None", "does not depend on p"]),
        (lambda p: tf.sqrt(p[1] - 2.0), ValueError, ["gradient of the loss at the start", "inf"]),
        ("rosenbrock", TypeError, ["loss must be a function", "'rosenbrock' (str)"]),
    ],
)
def test_loss_is_checked(loss: Any, error: type[Exception], words: list[str]) -> None:
    """A loss the race cannot use: a clear error, not one from deep in the tick code."""
    with pytest.raises(error) as info:
        OptimizerRace(loss, (-1.0, 2.0), {"SGD": SGD(0.1)}, steps=3)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"steps": 0}, "steps must be a positive integer, got 0"),
        ({"steps": 2.5}, "steps must be a positive integer, got 2.5"),
        ({"steps": float("nan")}, "steps must be a positive integer, got nan"),
        ({"steps": "10"}, "steps must be a positive integer, got '10'"),
        ({"bounds": ((1.0, -1.0), (0.0, 1.0))}, "bounds must be ((x_min, x_max)"),
        ({"bounds": ((0.0, float("inf")), (0.0, 1.0))}, "finite numbers"),
        ({"bounds": (0.0, 1.0)}, "bounds must be"),
        ({"resolution": 3}, "resolution must be an integer >= 8 (grid points per axis), got 3"),
        ({"optimizers": {}}, "at least one optimizer"),
    ],
)
def test_other_arguments_are_checked(kwargs: dict[str, Any], words: str) -> None:
    args: dict[str, Any] = {"optimizers": {"SGD": SGD(0.1)}, "steps": 3, **kwargs}
    with pytest.raises(ValueError) as info:
        OptimizerRace(surfaces.quadratic_bowl, **args)
    assert words in str(info.value)


# --- divergence --------------------------------------------------------------------------------
def bowl(p: Any) -> Any:
    """A student's own loss: a bowl, steep in y (curvature 6)."""
    return p[0] ** 2 + 3.0 * p[1] ** 2


def test_a_diverging_optimizer_does_not_stretch_the_axes() -> None:
    """SGD with η = 0.4 multiplies y by 1 − 6η = −1.4 each step: it overflows to inf and
    then NaN.  The picture stays around the runs that converge; the table says when it
    diverged; its path ends on the frame."""
    race = OptimizerRace(bowl, (1.0, 1.0), {"SGD": SGD(0.05), "fast": SGD(0.4)}, steps=300)
    path = race.paths["fast"]
    assert not np.isfinite(path[-1]).all() and np.isfinite(race.paths["SGD"]).all()
    pic = race._picture
    (x0, x1), (y0, y1) = pic.xlim, pic.ylim
    assert x1 - x0 < 5 and y1 - y0 < 5, (pic.xlim, pic.ylim)  # not −2e13 … 2e13
    assert x0 < -0.1 and x1 > 1.0 and y0 < -0.1 and y1 > 1.0  # both runs' start and end
    # equal scales: the frame's aspect in pixels is the data's
    frame = race._scene["paths"]["frame"]
    assert (y1 - y0) / (x1 - x0) == pytest.approx((frame[3] - frame[1]) / (frame[2] - frame[0]))
    # it left the frame at step k and never came back
    inside = (path[:, 0] >= x0) & (path[:, 0] <= x1) & (path[:, 1] >= y0) & (path[:, 1] <= y1)
    k = race.diverged["fast"]
    assert inside[k - 1] and not inside[k:].any()
    assert race.diverged == {"fast": k}
    # the table: "diverged at step k" from step k on, no nan anywhere
    scene = race._scene
    fast = scene["series"][1]
    assert fast["status"] == f"diverged at step {k}" and fast["stop"] == k
    text = json.dumps(scene)
    assert "NaN" not in text and "Infinity" not in text and "nan" not in "".join(fast["pos"])
    assert fast["pos"][-1] == "—" and fast["loss"][-1] == "—"
    assert f'<span class="tv-status">diverged at step {k}</span>' in race.static_html()
    assert '<span class="tv-status"></span>' in race.static_html(k - 1)
    # the path is cut where it crosses the frame; nothing is drawn after that
    px = fast["path_px"]
    fx0, fy0, fx1, fy1 = frame
    drawn = [p for p in px if p is not None]
    assert all(fx0 <= x <= fx1 and fy0 <= y <= fy1 for x, y in drawn)
    assert px[k] in drawn and px[k][1] in (fy0, fy1)  # on the top or bottom edge
    assert all(p is None for p in px[k + 1 :])
    # the loss plot keeps the scale of the runs before they diverged
    assert pic.loss_ylim[1] < 10 * race.start_loss
    # the static figure says it too
    legend = [t.get_text() for t in race.figure().axes[-1].get_legend().get_texts()]
    assert legend == ["SGD", f"fast — diverged at step {k}"]


def test_nan_is_a_divergence_with_its_value_named() -> None:
    race = OptimizerRace(bowl, (1.0, 1.0), {"fast": SGD(0.4)}, steps=300)
    (k,) = race.diverged.values()
    note = race._scene["series"][0]["note"]
    loss = race.losses["fast"]
    bad = int(np.flatnonzero(~np.isfinite(loss))[0])  # 3·(1.4^k)² overflows float32 at k ≈ 131
    assert 120 < bad < 140 and k < 10
    assert note == (
        f"fast diverged at step {k}: it left the picture, its loss climbing above every value "
        f"drawn, and never came back.  From step {bad} on, its loss is {loss[bad]}."
    )
    # NaN while still in the picture: the step it became NaN
    race = OptimizerRace(
        lambda p: tf.sqrt(p[0]) + 0.1 * p[1] ** 2, (1.0, 1.0), {"SGD": SGD(2.0)}, steps=3,
        bounds=((-2.0, 2.0), (-2.0, 2.0)),
    )  # fmt: skip
    # x: 1, then 1 − 2·½ = 0, where the gradient of √x is inf: x = −inf, √x = NaN
    first = int(np.flatnonzero(~np.isfinite(race.losses["SGD"]))[0])
    assert first == 2 and race.paths["SGD"][2, 0] == -np.inf
    assert race.diverged == {"SGD": first}
    assert race._scene["series"][0]["note"] == f"SGD diverged at step {first}: its loss became nan."


def test_leaving_the_picture_downhill_is_not_a_divergence() -> None:
    """On the saddle the loss falls without end: SGD leaves the picture, it does not diverge."""
    race = OptimizerRace(surfaces.saddle, optimizers={"SGD": SGD(0.1)}, steps=60)
    assert race.diverged == {}
    (series,) = race._scene["series"]
    k = series["stop"]
    assert series["status"] == f"left the picture at step {k}"
    assert race.losses["SGD"][k] < race.losses["SGD"][0]
    assert series["path_px"][k] is not None and all(p is None for p in series["path_px"][k + 1 :])


# --- the picture -------------------------------------------------------------------------------
def test_background_is_matplotlib_svg_and_the_paths_line_up(race: OptimizerRace) -> None:
    scene = race._scene
    plot = scene["plot"]
    assert plot.startswith('<svg class="tv-race-plot" width="500" height="430" role="img"')
    assert "<?xml" not in plot and "<metadata" not in plot and "<!DOCTYPE" not in plot
    # matplotlib's stylesheet is scoped to its own picture (inline, `*{}` styles the page)
    assert '<style type="text/css">svg.tv-race-plot *{' in plot
    assert '<style type="text/css">*{' not in plot + scene["loss_plot"]
    assert 'id="tv-colourbar"' in plot
    assert "data:image/png;base64," in plot  # the contours, rasterized
    assert "matplotlib" not in plot.split(">", 1)[0]
    assert race._scene_json()["plot"] == plot  # the same picture again: reproducible
    # equal scales on rosenbrock's square region
    pic = race._picture
    assert pic.equal_scales()
    # the start of every path is where the axes put (x, y): a linear map into the frame
    x0, y0, x1, y1 = scene["paths"]["frame"]
    (a, b), (c, d) = pic.xlim, pic.ylim
    sx, sy = race.start
    expected = (x0 + (sx - a) / (b - a) * (x1 - x0), y1 - (sy - c) / (d - c) * (y1 - y0))
    for s in scene["series"]:
        assert s["path_px"][0] == pytest.approx(expected, abs=0.06)
    # and the loss plot's cursor runs from the first step to the last
    lx0, _, lx1, _ = scene["loss"]["frame"]
    assert scene["cursor"][0] == pytest.approx(lx0, abs=0.06)
    assert scene["cursor"][-1] == pytest.approx(lx1, abs=0.06)


def test_figure_for_papers(race: OptimizerRace) -> None:
    from matplotlib.figure import Figure

    fig = race.figure()
    assert isinstance(fig, Figure)
    ax, cbar, lax = fig.axes
    assert cbar.get_gid() == "tv-colourbar" and cbar.get_ylabel() == "loss"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x = p[0]", "y = p[1]")
    assert len(ax.get_xticks()) >= 4 and len(ax.get_yticks()) >= 4
    # equal scales: as many pixels per unit across as up
    box = ax.get_window_extent()
    (a, b), (c, d) = ax.get_xlim(), ax.get_ylim()
    assert box.width / (b - a) == pytest.approx(box.height / (d - c), rel=1e-6)
    assert lax.get_yscale() == ("log" if race._picture.loss_log else "linear")
    assert lax.get_xlim() == (0.0, 50.0) and lax.get_xlabel() == "step"
    paths = {name: path for name, path in race.paths.items()}
    drawn = [(line.get_xdata(), line.get_ydata()) for line in ax.get_lines()]
    for name, path in paths.items():
        assert any(
            len(x) == 51 and np.array_equal(x, path[:, 0]) and np.array_equal(y, path[:, 1])
            for x, y in drawn
        ), name
    early = race.figure(step=10)
    assert any(len(line.get_xdata()) == 11 for line in early.axes[0].get_lines())
    png = io.BytesIO()
    fig.savefig(png, format="png")
    assert png.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    for bad in (-1, 51, 2.0, True):
        with pytest.raises(ValueError, match="step must be between 0 and 50"):
            race.figure(step=bad)  # type: ignore[arg-type]


def test_fonts_fall_back_to_chinese_ones_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib import font_manager

    from tapeviz.viz import theme
    from tapeviz.viz.trajectories import plot_fonts

    fake = font_manager.FontEntry(fname="/nonexistent/NotoSansCJK.ttc", name="Noto Sans CJK SC")
    monkeypatch.setattr(
        font_manager.fontManager, "ttflist", [*font_manager.fontManager.ttflist, fake]
    )
    plot_fonts.cache_clear()
    try:
        # (on a machine with fonts-noto-cjk, its other families follow)
        assert plot_fonts()[:2] == ("DejaVu Sans", "Noto Sans CJK SC")
    finally:
        monkeypatch.undo()
        plot_fonts.cache_clear()
    assert plot_fonts()[0] == "DejaVu Sans"
    assert set(plot_fonts()) <= set(theme.PLOT_FONTS)


def test_no_font_is_looked_for_that_is_not_installed(
    race: OptimizerRace, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="matplotlib.font_manager"):
        race._scene_json()
        race.figure()
    assert not [r for r in caplog.records if "findfont" in r.getMessage()]


def test_chinese_text_shows_with_a_chinese_font() -> None:
    from tapeviz.viz.trajectories import plot_fonts

    if len(plot_fonts()) < 2:
        pytest.skip("no font with Chinese characters installed (Debian: fonts-noto-cjk)")
    valley = surfaces.Surface("碗形山谷", surfaces.quadratic_bowl.fn, "½x² + 5y²",
                              ((-3.0, 3.0), (-2.0, 2.0)), (-2.5, 1.5))  # fmt: skip
    race = OptimizerRace(valley, optimizers={"随机梯度下降": SGD(0.05)}, steps=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would raise
        race.figure().savefig(io.BytesIO(), format="png")


def test_default_optimizers_and_divergence() -> None:
    race = OptimizerRace(surfaces.beale, steps=50)
    assert list(race.paths) == ["SGD", "momentum", "Nesterov", "Adam", "RMSprop", "Adagrad"]
    assert race.optimizers["SGD"].get_config()["learning_rate"] == pytest.approx(0.001)
    fast = {"momentum": keras.optimizers.SGD(0.01, momentum=0.9)}  # diverges on Beale: NaN
    race = OptimizerRace(surfaces.beale, optimizers=fast, steps=200)
    path = race.paths["momentum"]
    assert not np.isfinite(path[-1]).all()
    assert "NaN" not in json.dumps(race._scene)  # JSON without NaN
    # it diverged from the step it left the picture, never to come back
    (k,) = race.diverged.values()
    (x0, x1), (y0, y1) = race._picture.xlim, race._picture.ylim
    inside = (path[:, 0] >= x0) & (path[:, 0] <= x1) & (path[:, 1] >= y0) & (path[:, 1] <= y1)
    assert inside[k - 1] and not inside[k:].any()
    series = race._scene["series"][0]
    assert series["pos"][-1] == "—" and series["loss"][-1] == "—"  # no "nan" in the table
    assert series["status"] == f"diverged at step {k}"
    page = race.static_html()
    assert f'<span class="tv-status">diverged at step {k}</span>' in page
    assert f"momentum diverged at step {k}: it left the picture" in page  # the note
    assert "tv-head tv-diverged" in page and 'class="tv-cross" data-series="0"' in page
    assert f"diverged at step {k}" not in race.static_html(k - 1)


def test_static_fallback_and_mimebundle(race: OptimizerRace) -> None:
    data, _ = race._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    html = data["text/html"]
    assert html.count('class="tv-path"') == 3 and "After step 50 of 50" in html
    early = race.static_html(3)
    assert "After step 3 of 50" in early
    pts = re.search(r'<polyline class="tv-path" data-series="0" points="([^"]*)"', early)
    assert pts is not None and len(pts.group(1).split()) == 4


def test_save_html_is_self_contained(race: OptimizerRace, tmp_path: Path) -> None:
    from .test_player import external_urls

    page = race.save_html(tmp_path / "race.html").read_text(encoding="utf-8")
    assert external_urls(page) == []
    assert "<script src" not in page and "@import" not in page and "<link" not in page
    assert '"_static":true' in page


def test_series_styles_come_from_the_theme(race: OptimizerRace) -> None:
    """Colour and marker of each path: the theme's series palette, two cues per optimizer."""
    from tapeviz.viz import theme

    assert len({s.colour for s in theme.SERIES}) == len(theme.SERIES)
    assert len({s.marker for s in theme.SERIES}) == len(theme.SERIES)
    assert {s.colour for s in theme.SERIES} <= set(theme.OKABE_ITO.values())
    assert theme.OKABE_ITO["yellow"] not in {s.colour for s in theme.SERIES}
    plot = race._scene["paths_svg"]
    for k, s in enumerate(race._scene["series"]):
        style = theme.series(k)
        assert (s["colour"], s["symbol"]) == (style.colour, style.marker)
        assert f'data-series="{k}" d="{style.marker}"' in plot


# Without Chromium or playwright this skips, except under CI (CI=true), where it fails: the
# rule of tests/browser/conftest.py, reused here.
from browser.conftest import CHROMIUM_ARGS, find_chromium, playwright_sync_api  # noqa: E402


@pytest.mark.browser
def test_saved_race_plays_in_chromium(race: OptimizerRace, tmp_path: Path) -> None:
    chromium = find_chromium()
    sync_api = playwright_sync_api()
    page_file = race.save_html(tmp_path / "race.html")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        root = page.locator(".tv-race")
        assert root.get_attribute("data-index") == "0"
        path = page.locator('polyline.tv-path[data-series="2"]')
        assert len((path.get_attribute("points") or "").split()) == 1
        page.click("button.tv-step-forward")
        page.click("button.tv-step-forward")
        assert root.get_attribute("data-index") == "2"
        assert len((path.get_attribute("points") or "").split()) == 3
        row = page.locator('.tv-race-table tr[data-series="2"]')
        assert row.locator("td.tv-pos").inner_text() == race._scene["series"][2]["pos"][2]
        assert row.locator("input.tv-lr").is_disabled()  # no kernel in a saved page
        page.click("button.tv-play")
        page.wait_for_function(
            "document.querySelector('.tv-race').dataset.index === '50'", timeout=10000
        )
        browser.close()
    assert errors == []


# --- saving ------------------------------------------------------------------------------------
class _FullDisk:
    """A file that takes half of what is written, then reports a full disk."""

    def __init__(self, f: Any) -> None:
        self.f = f

    def write(self, data: bytes) -> int:
        self.f.write(data[: len(data) // 2])
        self.f.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.f.close()


def test_save_html_is_atomic(
    race: OptimizerRace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save that fails half-way (a full disk) leaves the page that was there, and no
    temporary file; a page written over keeps its permissions."""
    target = tmp_path / "race.html"
    race.save_html(target)
    old = target.read_bytes()
    os.chmod(target, 0o640)
    real = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: _FullDisk(real(fd, *a, **k)))
    race.index = 7  # a different page
    with pytest.raises(OSError) as info:
        race.save_html(target)
    assert info.value.errno == errno.ENOSPC
    assert str(target) in str(info.value) and "No space left on device" in str(info.value)
    assert "left unchanged" in str(info.value)
    assert target.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.html"]
    monkeypatch.undo()
    race.save_html(target)
    assert target.read_bytes() != old and b'"index":7' in target.read_bytes()
    assert (target.stat().st_mode & 0o777) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.html"]
    race.index = 0
    # a new page gets the usual permissions (the umask applies)
    umask = os.umask(0)
    os.umask(umask)
    fresh = race.save_html(tmp_path / "new.html")
    assert (fresh.stat().st_mode & 0o777) == 0o666 & ~umask
    # a folder that does not exist: the error names the page
    with pytest.raises(OSError, match=r"could not write .*missing.*race.html"):
        race.save_html(tmp_path / "missing" / "race.html")


def test_figure_shows_inline_in_jupyter(tmp_path: Path) -> None:
    """``race.figure()`` as the last line of a notebook cell shows the picture."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import tapeviz as tf\nfrom tapeviz.viz import surfaces\n"
            "race = tf.viz.OptimizerRace(surfaces.quadratic_bowl, steps=5)"
        ),
        nbformat.v4.new_code_cell("race.figure()"),
    ]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute(cwd=str(tmp_path))
    (out,) = nb.cells[1].outputs
    assert "image/png" in out["data"], list(out["data"])
