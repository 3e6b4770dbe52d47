"""How long drawing a tape takes, and what ``tape.record()`` costs on big tapes.

Run: ``python benchmarks/bench_dot.py`` (or ``make bench``).  Two tables:

1. **Drawing** the training-loop-like chain below (100 to 5 000 ops): DOT emission and
   Graphviz's ``dot`` layout (``tv.viz.to_svg``) for the default drawing, which stays within
   ``max_nodes`` boxes (repeated loop bodies folded, then the earliest nodes left out), and
   for every node (``max_nodes=None``), whose layout grows much faster: ``dot`` routes edges
   across every rank.  Layouts longer than ``--layout-timeout`` seconds show as ``> N s``.
2. **Big tapes** (``--big``; 5 000, 100 000 and 1 000 000 ops by default): each size in a
   process of its own, so that its peak memory is its own: building the tape and its
   gradient, ``tape.record()``, and drawing it with default options (``graph`` + ``to_svg``),
   for a scalar chain ``y = y * w + 0.5`` and for the chain of table 1.  Targets (issue 17):
   ``record()`` of 100 000 ops in 1.5 s, of 1 000 000 in 15 s and 1 GB; drawing 5 000 ops in
   10 s, 100 000 in 30 s.

``--baseline-src DIR`` runs the big-tape table a second time with the ``tapeviz`` package of
``DIR`` (e.g. a checkout of ``main``) on the path: a baseline measured on the same machine in
the same run.  Timings on a shared machine are noisy: compare within one run.

The chain of table 1: per step ``y = tanh(y * w + b) - c / 2`` (four ops, two of them
non-commutative) on 3×2 values, inside a ``tv.name_scope`` per 50 steps.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import tapeviz as tv
from tapeviz.viz import graph, to_svg


def make_tape(n_ops: int) -> tv.GradientTape:
    w = tv.Variable([[0.5, -0.25], [0.1, 0.2], [0.3, 0.4]], name="w")
    b = tv.Variable([0.1, -0.1], name="b")
    c = tv.constant(0.5, name="c")
    y = tv.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], name="x")
    steps = n_ops // 4
    with tv.GradientTape() as tape:
        for i in range(steps):
            with tv.name_scope(f"block{i // 50}"):
                y = tv.tanh(y * w + b) - c / 2.0
        loss = tv.reduce_sum(y)
    tape.gradient(loss, [w, b])
    return tape


def scalar_chain(n_ops: int) -> tv.GradientTape:
    w = tv.Variable(1.00001, name="w")
    y = tv.constant(1.0)
    with tv.GradientTape() as tape:
        for _ in range(n_ops // 2):
            y = y * w + 0.5
    tape.gradient(y, w)
    return tape


def best_of(fn: Any, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def layout_time(dot_source: str, timeout: float) -> str:
    if shutil.which("dot") is None:
        return "no dot"
    t0 = time.perf_counter()
    try:
        subprocess.run(
            ["dot", "-Tsvg", "-o", "/dev/null"],
            input=dot_source.encode(),
            check=True,
            timeout=timeout,
            capture_output=True,
        )
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f} s"
    return f"{time.perf_counter() - t0:.2f} s"


def drawing_table(sizes: list[int], repeat: int, timeout: float) -> None:
    to_svg(graph(make_tape(8)))  # warm up imports and the dot binary
    header = (
        f"{'ops':>6} {'nodes':>6} {'boxes':>6} {'emit (s)':>9} {'layout':>9} "
        f"{'all: DOT KiB':>12} {'emit (s)':>9} {'layout':>9}"
    )
    print("Drawing: default options (within max_nodes) | every node (max_nodes=None)")
    print(header)
    print("-" * len(header))
    for n in sizes:
        rec = make_tape(n).record()
        n_ops = sum(1 for node in rec.nodes if node.kind == "op")
        emit = best_of(lambda rec=rec: graph(rec), repeat)
        emit_all = best_of(lambda rec=rec: graph(rec, max_nodes=None), repeat)
        source = graph(rec).source
        boxes = len(re.findall(r'^\t+"?[\w-]+"? \[id=', source, re.M)) - 1  # not the graph
        all_source = graph(rec, max_nodes=None).source
        print(
            f"{n_ops:>6} {len(rec.nodes):>6} {boxes:>6} {emit:>9.4f} "
            f"{layout_time(source, timeout):>9} {len(all_source.encode()) / 1024:>12.0f} "
            f"{emit_all:>9.4f} {layout_time(all_source, timeout):>9}",
            flush=True,
        )
    print()


def _peak_mb() -> float:
    """The peak resident memory of this process, MB: Linux's VmHWM (getrusage's ru_maxrss would
    count the memory of the parent process this one was forked from)."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def measure(kind: str, n_ops: int, draw: bool) -> None:
    """One big-tape measurement (run in a process of its own): prints a JSON line after
    ``record()`` and, if ``draw``, another after drawing (a layout may time out)."""
    t0 = time.perf_counter()
    tape = scalar_chain(n_ops) if kind == "scalar" else make_tape(n_ops)
    t1 = time.perf_counter()
    before = _peak_mb()
    rec = tape.record()
    t2 = time.perf_counter()
    out = {
        "nodes": len(rec.nodes),
        "tape_s": t1 - t0,
        "record_s": t2 - t1,
        "peak_before_mb": before,
        "peak_record_mb": _peak_mb(),
    }
    print(json.dumps(out), flush=True)
    if draw:
        t3 = time.perf_counter()
        to_svg(graph(tape))
        out["draw_s"] = time.perf_counter() - t3
        out["peak_draw_mb"] = _peak_mb()
        print(json.dumps(out), flush=True)


def big_table(sizes: list[int], draw_limit: int, timeout: float, src: str | None) -> None:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    print(f"Big tapes, one process each ({'tapeviz from ' + src if src else 'this tapeviz'})")
    header = (
        f"{'chain':>7} {'ops':>9} {'nodes':>9} {'tape+grad':>9} {'record':>8} "
        f"{'peak MB':>8} {'(tape)':>7} {'draw':>8} {'peak MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for kind in ("scalar", "3x2"):
        for n in sizes:
            draw = n <= draw_limit
            code = (
                "import sys; sys.path.insert(0, sys.argv[1]); import bench_dot; "
                "bench_dot.measure(sys.argv[2], int(sys.argv[3]), sys.argv[4] == '1')"
            )
            args = [sys.executable, "-c", code, str(Path(__file__).parent), kind, str(n)]
            try:
                done = subprocess.run(
                    [*args, "1" if draw else "0"],
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    env=env,
                    check=True,
                    cwd=Path(__file__).parent,  # not a folder with a tapeviz/ in it
                )
                lines = done.stdout.strip().splitlines()
                late = ""
            except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as e:
                out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
                lines = out.strip().splitlines()
                if isinstance(e, subprocess.TimeoutExpired):
                    late = f"> {timeout:.0f} s"
                else:
                    err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
                    late = "failed"
                    print(f"  ({kind} {n}: {err.strip().splitlines()[-1][:150]})", flush=True)
            if not lines:
                print(f"{kind:>7} {n:>9} {'':>9} {late}", flush=True)
                continue
            m = json.loads(lines[-1])
            if late:
                m["late"] = late
            if "draw_s" in m:
                drawn = f"{m['draw_s']:>7.2f}s {m['peak_draw_mb']:>8.0f}"
            else:
                drawn = f"{m.get('late', '-'):>8}"
            print(
                f"{kind:>7} {n:>9} {m['nodes']:>9} {m['tape_s']:>8.2f}s {m['record_s']:>7.2f}s "
                f"{m['peak_record_mb']:>8.0f} {m['peak_before_mb']:>7.0f} {drawn}",
                flush=True,
            )
    print(
        "peak MB: the process's peak resident memory after record() (tape: before it) and "
        "after drawing; draw = tv.viz.to_svg(tv.viz.graph(tape)), default options"
    )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 5000])
    parser.add_argument("--layout-timeout", type=float, default=120.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--big", action="store_true", help="also the big-tape table")
    parser.add_argument("--big-sizes", type=int, nargs="*", default=[5000, 100_000, 1_000_000])
    parser.add_argument("--draw-limit", type=int, default=100_000, help="draw tapes up to this")
    parser.add_argument("--timeout", type=float, default=600.0, help="per big-tape process")
    parser.add_argument("--baseline-src", help="a tapeviz source tree to measure as baseline")
    args = parser.parse_args()

    drawing_table(args.sizes, args.repeat, args.layout_timeout)
    if args.big:
        big_table(args.big_sizes, args.draw_limit, args.timeout, None)
        if args.baseline_src:
            big_table(args.big_sizes, args.draw_limit, args.timeout, args.baseline_src)


if __name__ == "__main__":
    main()
