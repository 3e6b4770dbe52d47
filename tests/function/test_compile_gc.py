"""Python's garbage collector while numba compiles a generated function (issue 19, cold
compile): off during the compilation, back as the caller had it afterwards, and what the
compilation left alive moved to the oldest generation."""

from __future__ import annotations

import gc
import os
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz import _jit

JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


@pytest.fixture
def collector() -> Iterator[None]:
    """The collector enabled and nothing frozen for the test; the session's state after."""
    was_enabled = gc.isenabled()
    gc.enable()
    gc.unfreeze()
    yield
    gc.unfreeze()
    if not was_enabled:
        gc.disable()


def in_generation(obj: Any, generation: int) -> bool:
    return any(o is obj for o in gc.get_objects(generation=generation))


def test_paused_then_back_with_the_new_objects_in_the_oldest_generation(collector: None) -> None:
    with _jit.collector_paused():
        assert not gc.isenabled()
        made = [object()]  # a tracked container made during the "compilation"
        assert in_generation(made, 0)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert in_generation(made, 2)
    assert not in_generation(made, 0)


def test_a_collector_turned_off_by_the_caller_stays_off(collector: None) -> None:
    gc.disable()
    with _jit.collector_paused():
        made = [object()]
    assert not gc.isenabled()
    assert in_generation(made, 0)  # nothing moved: the caller manages the collector


def test_objects_frozen_by_the_caller_stay_frozen(collector: None) -> None:
    frozen = [object()]
    gc.freeze()
    count = gc.get_freeze_count()
    assert count > 0
    with _jit.collector_paused():
        assert not gc.isenabled()
        made = [object()]
    assert gc.isenabled()
    assert gc.get_freeze_count() == count  # (gc.unfreeze would have released them)
    assert not in_generation(frozen, 2)
    assert in_generation(made, 0)


@pytest.mark.skipif(JIT_DISABLED, reason="nothing is compiled")
def test_numba_compiles_a_new_program_with_the_collector_off(
    collector: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from numba.core import compiler

    seen: list[bool] = []
    plain = compiler.compile_extra

    def compile_extra(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return plain(*args, **kwargs)

    monkeypatch.setattr(compiler, "compile_extra", compile_extra)
    c = np.float32(1 + random.random())  # a program no earlier run has cached
    x = tv.Variable(np.float32(0.5))

    @tv.function
    def step() -> Any:
        for _ in tv.range(3):
            x.assign(x * x - c * x)
        return x + c

    out = step()
    eager = np.float32(0.5)
    for _ in range(3):
        eager = eager * eager - c * eager
    assert seen and not any(seen)  # numba compiled, the collector off
    assert gc.isenabled()
    assert out.numpy().tobytes() == (eager + c).tobytes()
