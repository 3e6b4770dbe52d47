"""Hygiene of the committed notebooks (nbval checks their outputs; this checks the rest).

* each notebook matches its source in ``notebooks/src/`` (see ``notebooks/_build.py``);
* it was executed top to bottom in one run (execution counts 1, 2, 3, ...);
* errors appear only in cells tagged ``raises-exception`` (so that Run All, nbclient and
  nbval go on past them), and those do raise;
* it imports tapeviz the way the documents import TensorFlow, ``import tapeviz as tf``;
* outputs hold no paths of the machine that built them, and stay small;
* exercises are undone after Run All (every checker says "not done yet"); the solutions
  are closed markdown boxes that Run All does not run, and each one, run after its
  exercise, makes the checker say "correct!";
* ``00_start_here`` links every notebook.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
MAX_NOTEBOOK_BYTES = 1_500_000


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location("_nb_build", NB_DIR / "_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks/NN_*.ipynb found"


@pytest.mark.parametrize("src", sorted((NB_DIR / "src").glob("[0-9][0-9]_*.py")), ids=str)
def test_notebook_matches_its_source(src: Path) -> None:
    pytest.importorskip("nbformat")
    problem = _build_module().check(src)
    assert problem is None, problem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executed_in_order(path: Path) -> None:
    nb = _load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: run all cells once, in order"


def _tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_errors_only_where_expected(path: Path) -> None:
    for i, cell in enumerate(c for c in _load(path)["cells"] if c["cell_type"] == "code"):
        expected = "raises-exception" in _tags(cell)
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        assert bool(errors) == expected, f"{path.name} code cell {i}: error output {errors!r}"
        # nbval warns when its comment and the tag say the same; JupyterLab reads the tag only
        assert "NBVAL_RAISES_EXCEPTION" not in _source(cell), f"{path.name} code cell {i}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_imports_tapeviz_as_tf(path: Path) -> None:
    if path.name.startswith("00_"):
        return
    code = "\n".join(_source(c) for c in _load(path)["cells"] if c["cell_type"] == "code")
    assert re.search(r"^import tapeviz as tf$", code, re.M), path.name
    assert "import tensorflow" not in code


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_portable_and_small(path: Path) -> None:
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES, f"{path.name} is too large"
    for cell in _load(path)["cells"]:
        for out in cell.get("outputs", []):
            text = json.dumps(out)
            for marker in ("/work/", "/home/", "/Users/", "site-packages"):
                assert marker not in text, f"{path.name}: output mentions {marker!r}"


def _source_text(path: Path) -> str:
    src = NB_DIR / "src" / f"{path.stem}.py"
    return src.read_text(encoding="utf-8") if src.exists() else ""


NOT_DONE, CORRECT = "not done yet", "correct!"
EXERCISE_NOTEBOOKS = [p for p in NOTEBOOKS if "# %% [solution]" in _source_text(p)]


def _stdout(cell: dict[str, Any]) -> str:
    texts = (o.get("text", "") for o in cell.get("outputs", []) if o["output_type"] == "stream")
    return "".join("".join(t) if isinstance(t, list) else t for t in texts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_run_all_leaves_the_exercises_undone(path: Path) -> None:
    """The committed outputs are those of Run All: no solution ran, no checker is pleased."""
    cells = _load(path)["cells"]
    solutions = [c for c in cells if "solution" in _tags(c)]
    checkers = [c for c in cells if c["cell_type"] == "code" and NOT_DONE in _source(c)]
    assert len(solutions) == len(checkers), f"{path.name}: one solution per exercise"
    for cell in solutions:
        text = _source(cell)
        assert cell["cell_type"] == "markdown", f"{path.name}: a solution is a code cell"
        assert text.startswith("<details><summary>") and text.endswith("</details>"), text
        assert "<details open" not in text and "\n```python\n" in text
    for cell in checkers:
        assert NOT_DONE in _stdout(cell), f"{path.name}: {_source(cell)[:200]}"
    for cell in cells:
        assert CORRECT not in _stdout(cell), f"{path.name}: a checker ran on a solution"


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda p: p.name)
def test_every_solution_satisfies_its_checker(path: Path) -> None:
    """The notebook with its solutions as code cells, run top to bottom in a fresh kernel
    (as a student who pastes each solution under its exercise): every checker says
    "not done yet" first, then "correct!" for the solution."""
    pytest.importorskip("nbclient")
    build = _build_module()
    nb = build.build(NB_DIR / "src" / f"{path.stem}.py", solutions="code")
    build.execute(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    solutions = [c for c in code if "solution" in c.metadata.get("tags", [])]
    assert solutions
    for cell in code:
        if "solution" in cell.metadata.get("tags", []):
            assert CORRECT in _stdout(cell) and NOT_DONE not in _stdout(cell), cell.source
        elif NOT_DONE in cell.source:
            assert NOT_DONE in _stdout(cell), cell.source


def test_start_here_lists_every_notebook() -> None:
    start = NB_DIR / "00_start_here.ipynb"
    if not start.exists():
        pytest.skip("00_start_here.ipynb not written yet")
    text = "\n".join(_source(c) for c in _load(start)["cells"])
    for path in NOTEBOOKS:
        if path != start:
            assert f"({path.name})" in text, f"00_start_here does not link {path.name}"
