"""A probe of issue 17 that held, kept as a test: 8 threads, each running 1 000 steps with
nested tapes (a second derivative), switching op by op, never see each other's tapes and
all get exact results.  The other probes that held: 10 000 tape steps with flat memory in
test_memory_threads.py, processes compiling into one cache in
tests/function/test_cache_folder.py.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np

import tapeviz as tv
from tapeviz import _state

THREADS = 8
STEPS = 1000


def _expected(c: np.float32, x: np.float32) -> tuple[np.float32, np.float32]:
    """d/dx and d2/dx2 of c * x**3 in float32, in the order the rules compute them:
    pow's rule g * y * x**(y-1) (g = c), then that of the first derivative."""
    three, two = np.float32(3), np.float32(2)
    dy = (c * three) * x ** np.float32(2)
    d2 = (c * three) * (two * x)
    return dy, d2


def test_eight_threads_with_1000_nested_tapes_each_stay_isolated() -> None:
    barrier = threading.Barrier(THREADS, timeout=60)
    results: dict[int, Any] = {}
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            c = np.float32(k + 1)
            x = tv.Variable(np.float32(0.5 + k / 8), name=f"x{k}")
            barrier.wait()  # all threads start together
            depths, firsts, seconds = set(), [], []
            for step in range(STEPS):
                with tv.GradientTape() as outer:
                    with tv.GradientTape() as inner:
                        depths.add(len(_state.local.tapes))
                        y = c * x**3
                    dy = inner.gradient(y, x)
                d2 = outer.gradient(dy, x)
                firsts.append(dy.numpy())
                seconds.append(d2.numpy())
                if step % 250 == 0:  # only this thread's variable is on its tapes
                    names = {n.name for n in outer.record().nodes if n.kind == "variable"}
                    assert names == {f"x{k}:0"}, names
            results[k] = (depths, firsts, seconds, x.numpy())
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
            barrier.abort()

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # interleave the threads finely
    try:
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors[0]
    assert sorted(results) == list(range(THREADS))
    for k, (depths, firsts, seconds, x) in results.items():
        assert depths == {2}  # its own two tapes, never another thread's
        dy, d2 = _expected(np.float32(k + 1), x)
        assert firsts == [dy] * STEPS and seconds == [d2] * STEPS
