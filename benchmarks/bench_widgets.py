"""How fast the widgets are: SweepPlayer on a 60-node tape, OptimizerRace with 6 × 200 steps.

Run: ``python benchmarks/bench_widgets.py`` (or ``make bench``).  Prints a table against the
targets of issue 6:

* **frames/s, 60-node graph** (target >= 10): measured in the *browser*, where playback runs.
  The player's page (``save_html``, the same front-end module as in Jupyter) is opened in
  headless Chromium; every frame is shown by pressing "Step forward" and then forcing style
  and layout (``getBoundingClientRect``), so the time covers the restyle of the SVG, the
  formula and the adjoint table.  A second number plays the frames one per
  ``requestAnimationFrame`` and counts the frames actually painted per second (capped by the
  display rate, 60 Hz headless).  Without Chromium (or ``--no-browser``) the table shows the
  Python side instead: bytes of data per frame and the cost of setting ``player.index``.
* **widget creation, 60-node tape** (target <= 1 s): ``SweepPlayer(tape)`` including the
  Graphviz layout (median of ``--repeat`` runs, imports warmed up).
* **OptimizerRace 6 optimizers × 200 steps** (target <= 1 s): ``OptimizerRace(rosenbrock,
  steps=200)`` with the six default optimizers: the runs (``record_run``), the loss on the
  contour grid, the two matplotlib pictures (contours with colour bar, loss axes) and the
  scene; each part on its own row; ``race.figure()`` (the static matplotlib figure); also
  its browser frame rate.

Set ``CHROMIUM=/path/to/chromium`` if it is not ``/usr/bin/chromium``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tapeviz as tv
from tapeviz.viz import surfaces
from tapeviz.viz.player import SweepPlayer
from tapeviz.viz.trajectories import OptimizerRace, _Picture, default_optimizers, run_race

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def make_tape(layers: int = 11) -> tv.GradientTape:
    """A small deep network, one unit wide: per layer ``y = tanh(y * w + b)`` (5 nodes)."""
    x = tv.constant([[0.5, -1.0]], name="x")
    ws = [tv.Variable([[0.3 + 0.05 * i, -0.2]], name=f"w{i}") for i in range(layers)]
    bs = [tv.Variable(0.1 * i, name=f"b{i}") for i in range(layers)]
    with tv.GradientTape() as tape:
        y = x
        for w, b in zip(ws, bs, strict=True):
            y = tv.tanh(y * w + b)
        loss = tv.reduce_sum(tv.square(y - 0.5))
    tape.gradient(loss, ws + bs)
    return tape


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of ``repeat`` calls (seconds), and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


_SYNC_JS = """(root) => {
  const q = (c) => document.querySelector(c);
  const first = q('.tv-first'), fwd = q('.tv-step-forward');
  let frames = 0;
  const t0 = performance.now();
  for (let r = 0; r < 5; r++) {
    first.click(); document.body.getBoundingClientRect();
    while (!fwd.disabled) { fwd.click(); document.body.getBoundingClientRect(); frames++; }
  }
  return {frames, ms: performance.now() - t0};
}"""

_RAF_JS = """() => new Promise((done) => {
  const q = (c) => document.querySelector(c);
  const first = q('.tv-first'), fwd = q('.tv-step-forward');
  first.click();
  let frames = 0;
  const t0 = performance.now();
  const tick = () => {
    if (fwd.disabled) first.click(); else fwd.click();
    frames++;
    if (performance.now() - t0 < 2000) requestAnimationFrame(tick);
    else done({frames, ms: performance.now() - t0});
  };
  requestAnimationFrame(tick);
})"""


def browser_rates(pages: list[Path]) -> list[tuple[float, float]] | None:
    """(restyle frames/s, painted frames/s) for each saved page; None without Chromium."""
    if not Path(CHROMIUM).exists():
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for page_file in pages:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_file.as_uri())
            page.wait_for_selector(".tv-step-forward")
            sync = page.evaluate(_SYNC_JS)
            raf = page.evaluate(_RAF_JS)
            out.append((1000 * sync["frames"] / sync["ms"], 1000 * raf["frames"] / raf["ms"]))
            page.close()
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()

    # warm up: imports, the dot binary, numpy paths
    SweepPlayer(make_tape(2))
    OptimizerRace(surfaces.quadratic_bowl, steps=5)

    tape = make_tape()
    record = tape.record()
    n_nodes = len(record.nodes)
    t_player, player = timed(lambda: SweepPlayer(tape), args.repeat)
    t_race, race = timed(lambda: OptimizerRace(surfaces.rosenbrock, steps=200), args.repeat)
    t_runs, _ = timed(
        lambda: run_race(
            surfaces.rosenbrock, surfaces.rosenbrock.start, default_optimizers(0.1), 200
        ),
        args.repeat,
    )
    t_grid, _ = timed(lambda: _Picture(race), args.repeat)  # the loss on the grid, the fates
    t_scene, _ = timed(race._scene_json, args.repeat)  # the matplotlib SVGs + the scene
    t_figure, _ = timed(race.figure, args.repeat)
    payload = len(json.dumps(player._frames, ensure_ascii=False).encode())
    svg_kib = len(player._svg.encode()) / 1024

    def set_all() -> None:
        for k in range(len(player.frames)):
            player.index = k

    t_index, _ = timed(set_all, args.repeat)
    per_index_ms = 1000 * t_index / len(player.frames)

    rates = None
    with tempfile.TemporaryDirectory() as tmp:
        pages = [
            player.save_html(Path(tmp) / "player.html"),
            race.save_html(Path(tmp) / "race.html"),
        ]
        if not args.no_browser:
            rates = browser_rates(pages)

    rows: list[tuple[str, str, str]] = []
    n_frames = len(player.frames)
    if rates is not None:
        (p_sync, p_raf), (r_sync, r_raf) = rates
        rows.append(
            (
                f"SweepPlayer frames/s, {n_nodes}-node graph (browser restyle + layout)",
                f"{p_sync:,.0f}",
                ">= 10",
            )
        )
        rows.append(
            ("SweepPlayer frames/s painted (one per animation frame)", f"{p_raf:.0f}", ">= 10")
        )
        rows.append(
            ("OptimizerRace frames/s, 6 x 200 (browser restyle + layout)", f"{r_sync:,.0f}", "")
        )
        rows.append(
            ("OptimizerRace frames/s painted (one per animation frame)", f"{r_raf:.0f}", "")
        )
    else:
        rows.append(
            (
                f"SweepPlayer per frame, {n_nodes}-node graph (no browser: Python side)",
                f"{payload / n_frames / 1024:.1f} KiB, index set {per_index_ms:.2f} ms",
                "",
            )
        )
    rows.append((f"SweepPlayer(tape) creation, {n_nodes}-node tape", f"{t_player:.3f} s", "<= 1 s"))
    rows.append(("OptimizerRace(rosenbrock) 6 optimizers x 200 steps", f"{t_race:.3f} s", "<= 1 s"))
    rows.append(("  of which the 6 runs (record_run)", f"{t_runs:.3f} s", ""))
    rows.append(("  of which the loss on the contour grid", f"{1000 * t_grid:.1f} ms", ""))
    rows.append(("  of which the matplotlib pictures and the scene", f"{t_scene:.3f} s", ""))
    rows.append(("race.figure() (static matplotlib figure)", f"{t_figure:.3f} s", ""))
    rows.append(
        (
            f"SweepPlayer data sent once: SVG + {n_frames} frames",
            f"{svg_kib:.0f} KiB + {payload / 1024:.0f} KiB",
            "",
        )
    )
    rows.append(("SweepPlayer: setting player.index in Python", f"{per_index_ms:.3f} ms", ""))
    rows.append(
        ("OptimizerRace data sent once", f"{len(json.dumps(race._scene)) / 1024:.0f} KiB", "")
    )

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'result':>28}  target")
    print("-" * (width + 40))
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>28}  {target}")
    if rates is None:
        print("\n(frames/s need Chromium and playwright; the Python-side cost is shown instead)")


if __name__ == "__main__":
    main()
