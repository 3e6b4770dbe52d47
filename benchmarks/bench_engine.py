"""Eager engine cost: recorded ops, forward + reverse sweep, against numpy baselines.

Run: ``.venv/bin/python benchmarks/bench_engine.py``.  Every row is measured in the same
run; the table gives medians of repeated timings (the machine is shared and noisy, so
compare rows with each other rather than with numbers from another day).

Rows
----
* a 200-op scalar chain (alternating ``sin`` and ``* c``): tapeviz forward only, tapeviz
  tape + gradient, a plain-numpy forward, and a hand-written numpy forward + backward;
* the same chain on 10 000-element float32 arrays;
* the third document's loop: 1000 × {tape, gradient, ``x.assign_sub(lr * g)``} on
  ``a*x**2 + b*x + c``, beside a hand-written numpy version of the same float32 steps;
* ``import tapeviz`` in a fresh interpreter.

Against another checkout (e.g. the commit before a change), in the same run::

    git worktree add /tmp/old <commit>
    .venv/bin/python benchmarks/bench_engine.py --against /tmp/old --rounds 5

runs this benchmark alternately on this checkout's tapeviz and on the other's (each round
in fresh interpreters, the other one first every second round, so that both see the same
load) and prints, per row, the median over the rounds of each, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

import tapeviz as tv

N_OPS = 200
C = 1.0001


def median_seconds(fn: Callable[[], object], repeat: int = 9, number: int = 1) -> float:
    times = []
    fn()  # warm-up
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def chain_tapeviz(x0: object, record: bool) -> Callable[[], object]:
    def run() -> object:
        x = tv.Variable(x0)
        if not record:
            y = x
            for i in range(N_OPS):
                y = tv.sin(y) if i % 2 == 0 else y * C
            return y
        with tv.GradientTape() as tape:
            y = x
            for i in range(N_OPS):
                y = tv.sin(y) if i % 2 == 0 else y * C
        return tape.gradient(y, x)

    return run


def chain_numpy(x0: np.ndarray | np.floating, backward: bool) -> Callable[[], object]:
    c = np.float32(C)

    def run() -> object:
        y = x0
        saved = []
        for i in range(N_OPS):
            if i % 2 == 0:
                if backward:  # the backward needs sin's inputs
                    saved.append(y)
                y = np.sin(y)
            else:
                y = y * c
        if not backward:
            return y
        g = np.ones_like(y)
        for i in range(N_OPS - 1, -1, -1):
            g = g * np.cos(saved.pop()) if i % 2 == 0 else g * c
        return g

    return run


def quadratic_tapeviz() -> object:
    a, b, c = tv.constant(1.0), tv.constant(-2.0), tv.constant(1.0)
    x = tv.Variable(0.0)
    for _ in range(1000):
        with tv.GradientTape() as tape:
            y = a * x**2 + b * x + c
        g = tape.gradient(y, x)
        x.assign_sub(0.01 * g)
    return x


def quadratic_numpy() -> object:
    a, b = np.float32(1.0), np.float32(-2.0)
    lr = np.float32(0.01)
    x = np.float32(0.0)
    for _ in range(1000):
        g = a * (np.float32(2.0) * x) + b
        x = x - lr * g
    return x


def import_time() -> float:
    code = "import time; t = time.perf_counter(); import tapeviz; print(time.perf_counter() - t)"
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(5)
    ]
    return statistics.median(runs)


def measure() -> list[tuple[str, float, str]]:
    """Every row: (name, median seconds, the median as shown)."""
    rows: list[tuple[str, float, str]] = []
    # the steady state: eager float32 transcendentals compiled by numba, which a process
    # loads (out of its way) after using the numpy versions for a while (a checkout
    # without them has no load_compiled)
    load = getattr(getattr(tv, "_eigen_f32", None), "load_compiled", None)
    if load is not None:
        load(wait=True)
    scalar = np.float32(0.5)
    arr = np.random.default_rng(0).uniform(-1, 1, 10_000).astype(np.float32)
    for label, x0 in (("scalar", scalar), ("10k array", arr)):
        np_fwd = median_seconds(chain_numpy(x0, backward=False), number=5)
        np_both = median_seconds(chain_numpy(x0, backward=True), number=5)
        tv_fwd = median_seconds(chain_tapeviz(x0, record=False), number=5)
        tv_both = median_seconds(chain_tapeviz(x0, record=True), number=5)
        rows += [
            (f"{N_OPS}-op chain, {label}: numpy forward", np_fwd, _per_op(np_fwd)),
            (
                f"{N_OPS}-op chain, {label}: numpy forward+backward (hand-written)",
                np_both,
                _per_op(np_both),
            ),
            (f"{N_OPS}-op chain, {label}: tapeviz forward, no tape", tv_fwd, _per_op(tv_fwd)),
            (f"{N_OPS}-op chain, {label}: tapeviz tape + gradient", tv_both, _per_op(tv_both)),
        ]
    q_np = median_seconds(quadratic_numpy)
    q_tv = median_seconds(quadratic_tapeviz)
    rows += [
        ("doc-3 loop, 1000 steps: hand-written numpy float32", q_np, _ms(q_np)),
        ("doc-3 loop, 1000 steps: tapeviz tape+gradient+assign_sub", q_tv, _ms(q_tv)),
    ]
    t_imp = import_time()
    rows.append(("import tapeviz (fresh interpreter)", t_imp, f"{t_imp * 1e3:7.1f} ms"))
    return rows


def _per_op(seconds: float) -> str:
    return f"{seconds / N_OPS * 1e6:7.2f} µs/op"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.2f} ms"


def _shown(name: str, seconds: float) -> str:
    """A median in the unit of its row."""
    if "op chain" in name:
        return _per_op(seconds)
    if name.startswith("import"):
        return f"{seconds * 1e3:7.1f} ms"
    return _ms(seconds)


def compare(other: str, rounds: int) -> None:
    """Time this checkout and the checkout ``other`` alternately, in the same run."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    checkouts = {"this": here, "other": os.path.abspath(other)}
    if not os.path.isfile(os.path.join(checkouts["other"], "tapeviz", "__init__.py")):
        sys.exit(f"--against: {other} is not a tapeviz checkout (no tapeviz/__init__.py)")
    runs: dict[str, list[dict[str, float]]] = {"this": [], "other": []}
    for r in range(rounds):
        order = ("this", "other") if r % 2 == 0 else ("other", "this")
        for which in order:
            env = dict(os.environ, PYTHONPATH=checkouts[which])
            out = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                cwd=checkouts[which],
            ).stdout
            runs[which].append(json.loads(out))
            print(f"round {r + 1}/{rounds}: {which} done", file=sys.stderr)
    names = list(runs["this"][0])
    width = max(len(n) for n in names)
    print(f"this checkout: {here}\nother checkout: {checkouts['other']}")
    print(f"medians over {rounds} alternating rounds (each row itself a median of 9 runs)\n")
    print(f"{'benchmark':<{width}}  {'this':>14}  {'other':>14}  {'this/other':>10}")
    print("-" * (width + 44))
    for n in names:
        a = statistics.median(run[n] for run in runs["this"])
        b = statistics.median(run[n] for run in runs["other"])
        print(f"{n:<{width}}  {_shown(n, a):>14}  {_shown(n, b):>14}  {a / b:10.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", metavar="CHECKOUT", help="another tapeviz checkout")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (--against)")
    parser.add_argument("--json", action="store_true", help="print {row: median seconds}")
    args = parser.parse_args()
    if args.against:
        compare(args.against, args.rounds)
        return
    rows = measure()
    if args.json:
        print(json.dumps({name: seconds for name, seconds, _ in rows}))
        return
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'median':>14}")
    print("-" * (width + 16))
    for name, _, shown in rows:
        print(f"{name:<{width}}  {shown:>14}")
    print("\ntargets: <= 3 µs per recorded scalar op (forward + backward); doc-3 loop <= 15 ms;")
    print("import <= 300 ms.  Medians of 9 runs; 2-core shared machine, numbers are noisy.")


if __name__ == "__main__":
    main()
