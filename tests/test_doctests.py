"""The runnable examples in the docstrings of every tapeviz module.

Each module that has examples (``>>>`` lines) is one test: its examples run with
``doctest`` (ellipsis and whitespace-insensitive), as ``pytest --doctest-modules tapeviz``
would run them.  Modules added later are found by walking the package, so a new module's
examples are checked without listing it here.
"""

from __future__ import annotations

import builtins
import doctest
import importlib
import pkgutil
from types import ModuleType
from typing import Any

import pytest

import tapeviz

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules_with_examples() -> list[str]:
    names = ["tapeviz"] + [m.name for m in pkgutil.walk_packages(tapeviz.__path__, "tapeviz.")]
    finder = doctest.DocTestFinder()
    return [
        name
        for name in sorted(names)
        if any(t.examples for t in finder.find(importlib.import_module(name)))
    ]


MODULES = _modules_with_examples()


def _globals(module: ModuleType) -> dict[str, Any]:
    """The module's names without those that shadow Python's builtins.

    tapeviz defines ``tv.print``, ``tv.abs``, ``tv.pow``... (bound in ``tapeviz``'s namespace
    once first used): an example's ``print(...)`` means Python's, as for a reader who typed
    ``import tapeviz as tv``, whatever ran before it.
    """
    return {k: v for k, v in vars(module).items() if k.startswith("__") or not hasattr(builtins, k)}


def test_the_walk_finds_the_modules_known_to_have_examples() -> None:
    """The discovery is not silently empty (e.g. after a package is renamed)."""
    for name in ("tapeviz", "tapeviz.graph", "tapeviz.keras.optimizers", "tapeviz.viz.player"):
        assert name in MODULES, name


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, globs=_globals(module), optionflags=FLAGS, verbose=False)
    assert result.attempted > 0, f"no docstring examples found in {name}"
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
