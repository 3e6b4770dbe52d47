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
* ``00_start_here`` links every notebook;
* the Chinese notebooks (``notebooks/zh/``) are the English ones with Chinese prose: the same
  code (plus ``tf.viz.set_language("zh")`` in the first cell) but for the text of its string
  literals, and the same printed numbers, in particular the documents' numbers in 01–04; what
  they print is Chinese (but for a short list of kinds of line that stay as TF writes them);
  the two start pages link each other.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import tokenize
from pathlib import Path
from typing import Any

import pytest

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"
ZH_DIR = NB_DIR / "zh"
EN_NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
ZH_NOTEBOOKS = sorted(ZH_DIR.glob("[0-9][0-9]_*.ipynb"))
NOTEBOOKS = EN_NOTEBOOKS + ZH_NOTEBOOKS
SOURCES = sorted((NB_DIR / "src").glob("[0-9][0-9]_*.py"))
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


def _nb_id(path: Path) -> str:
    return str(path.relative_to(NB_DIR))


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_notebook_matches_its_source(src: Path, lang: str) -> None:
    pytest.importorskip("nbformat")
    problem = _build_module().check(src, lang)
    assert problem is None, problem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_nb_id)
def test_executed_in_order(path: Path) -> None:
    nb = _load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: run all cells once, in order"


def _tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_nb_id)
def test_errors_only_where_expected(path: Path) -> None:
    for i, cell in enumerate(c for c in _load(path)["cells"] if c["cell_type"] == "code"):
        expected = "raises-exception" in _tags(cell)
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        assert bool(errors) == expected, f"{path.name} code cell {i}: error output {errors!r}"
        # nbval warns when its comment and the tag say the same; JupyterLab reads the tag only
        assert "NBVAL_RAISES_EXCEPTION" not in _source(cell), f"{path.name} code cell {i}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_nb_id)
def test_imports_tapeviz_as_tf(path: Path) -> None:
    if path.name.startswith("00_"):
        return
    code = "\n".join(_source(c) for c in _load(path)["cells"] if c["cell_type"] == "code")
    assert re.search(r"^import tapeviz as tf$", code, re.M), path.name
    assert "import tensorflow" not in code


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_nb_id)
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
# What the checkers say in the Chinese notebooks (notebooks/src/zh/_common.py).
WORDS = {"en": (NOT_DONE, CORRECT), "zh": ("还没完成", "正确！")}  # noqa: RUF001


def _words(path: Path) -> tuple[str, str]:
    """The checkers' "not done yet" and "correct!" in the language of ``path``."""
    return WORDS["zh" if path.parent == ZH_DIR else "en"]


# The solutions' code is shared by both languages; the checkers' words are not.
EXERCISE_NOTEBOOKS = [p for p in NOTEBOOKS if "# %% [solution]" in _source_text(p)]


def _stdout(cell: dict[str, Any]) -> str:
    texts = (o.get("text", "") for o in cell.get("outputs", []) if o["output_type"] == "stream")
    return "".join("".join(t) if isinstance(t, list) else t for t in texts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_nb_id)
def test_run_all_leaves_the_exercises_undone(path: Path) -> None:
    """The committed outputs are those of Run All: no solution ran, no checker is pleased."""
    not_done, correct = _words(path)
    cells = _load(path)["cells"]
    solutions = [c for c in cells if "solution" in _tags(c)]
    checkers = [c for c in cells if c["cell_type"] == "code" and not_done in _source(c)]
    assert len(solutions) == len(checkers), f"{path.name}: one solution per exercise"
    for cell in solutions:
        text = _source(cell)
        assert cell["cell_type"] == "markdown", f"{path.name}: a solution is a code cell"
        assert text.startswith("<details><summary>") and text.endswith("</details>"), text
        assert "<details open" not in text and "\n```python\n" in text
    for cell in checkers:
        assert not_done in _stdout(cell), f"{path.name}: {_source(cell)[:200]}"
    for cell in cells:
        assert correct not in _stdout(cell), f"{path.name}: a checker ran on a solution"


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=_nb_id)
def test_every_solution_satisfies_its_checker(path: Path) -> None:
    """The notebook with its solutions as code cells, run top to bottom in a fresh kernel
    (as a student who pastes each solution under its exercise): every checker says
    "not done yet" first, then "correct!" for the solution (in the notebook's language)."""
    pytest.importorskip("nbclient")
    not_done, correct = _words(path)
    build = _build_module()
    lang = "zh" if path.parent == ZH_DIR else "en"
    nb = build.build(NB_DIR / "src" / f"{path.stem}.py", lang=lang, solutions="code")
    build.execute(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    solutions = [c for c in code if "solution" in c.metadata.get("tags", [])]
    assert solutions
    for cell in code:
        if "solution" in cell.metadata.get("tags", []):
            assert correct in _stdout(cell) and not_done not in _stdout(cell), cell.source
        elif not_done in cell.source:
            assert not_done in _stdout(cell), cell.source


@pytest.mark.parametrize("folder", [NB_DIR, ZH_DIR], ids=["en", "zh"])
def test_start_here_lists_every_notebook(folder: Path) -> None:
    start = folder / "00_start_here.ipynb"
    if not start.exists():
        pytest.skip("00_start_here.ipynb not written yet")
    text = "\n".join(_source(c) for c in _load(start)["cells"])
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        if path != start:
            assert f"({path.name})" in text, f"00_start_here does not link {path.name}"
        assert (folder / path.name).exists()


def test_start_pages_link_each_other() -> None:
    en = "\n".join(_source(c) for c in _load(NB_DIR / "00_start_here.ipynb")["cells"])
    zh = "\n".join(_source(c) for c in _load(ZH_DIR / "00_start_here.ipynb")["cells"])
    assert "(zh/00_start_here.ipynb)" in en
    assert "(../00_start_here.ipynb)" in zh


# --- the Chinese edition ---------------------------------------------------------------------
PAIRS = [(NB_DIR / p.name, p) for p in ZH_NOTEBOOKS]
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_notebook_has_its_chinese_counterpart() -> None:
    assert [p.name for p in ZH_NOTEBOOKS] == [p.name for p in EN_NOTEBOOKS]


def _printed(cell: dict[str, Any]) -> list[str]:
    """What a code cell printed (streams and plain-text results), one string per output."""
    out = []
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream":
            text = o["text"]
        elif o["output_type"] == "execute_result" and set(o["data"]) == {"text/plain"}:
            text = o["data"]["text/plain"]
        else:
            continue
        out.append("".join(text) if isinstance(text, list) else text)
    return out


# Printed lines that are in the pictures' language (SweepPlayer's frame titles and repr).
LANGUAGE_LINE = re.compile(r"^(?:<tv\.viz\.\w+|(?:Forward|Reverse) step \d|[正反]向第 \d)")


NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _numbers_only(texts: list[str]) -> list[list[str]]:
    """The numbers of each printed line, as printed (the words around them are translated)."""
    lines = "\n".join(texts).splitlines()
    # kernels name their temporary files (/tmp/ipykernel_<pid>/...): not part of a result
    lines = [re.sub(r"ipykernel_\d+/\d+", "ipykernel", x) for x in lines]
    return [NUMBER.findall(x) for x in lines if not LANGUAGE_LINE.match(x.strip())]


def _code_tokens(code: str) -> list[tuple[int, str]]:
    """The tokens of ``code``, each string literal as one placeholder: what must not change
    when a notebook's printed text is translated."""
    toks = tokenize.generate_tokens(io.StringIO(code).readline)
    return [(t.type, "<str>" if t.type == tokenize.STRING else t.string) for t in toks]


@pytest.mark.parametrize(("en", "zh"), PAIRS, ids=[p.stem for _, p in PAIRS])
def test_chinese_notebook_has_the_same_code_and_numbers(en: Path, zh: Path) -> None:
    en_cells, zh_cells = _load(en)["cells"], _load(zh)["cells"]
    assert [c["cell_type"] for c in zh_cells] == [c["cell_type"] for c in en_cells]
    en_code = [c for c in en_cells if c["cell_type"] == "code"]
    zh_code = [c for c in zh_cells if c["cell_type"] == "code"]
    first = _source(zh_code[0]).splitlines()
    assert first[first.index("import tapeviz as tf") + 1] == 'tf.viz.set_language("zh")'
    first.remove('tf.viz.set_language("zh")')
    zh_sources = ["\n".join(first)] + [_source(z) for z in zh_code[1:]]
    for e, z in zip(en_code, zh_sources, strict=True):
        # the same code but for the text of string literals (what it prints)
        assert _code_tokens(z) == _code_tokens(_source(e)), _source(e)[:300]
    if en.name.startswith("08_"):
        return  # it prints timings measured live
    for e, z in zip(en_code, zh_code, strict=True):
        if any(o["output_type"] == "error" for o in e.get("outputs", [])):
            continue  # tapeviz's own error messages are in the pictures' language too
        assert _numbers_only(_printed(z)) == _numbers_only(_printed(e)), _source(e)[:300]
    prose = [_source(c) for c in zh_cells if c["cell_type"] == "markdown"]
    assert all(HAN.search(p) for p in prose), "a markdown cell of the Chinese notebook is English"


# The documents' numbers, as the Chinese notebooks print them (a selection per document).
DOCUMENT_NUMBERS = {
    "01_autodiff_basics": ["tv.Tensor(9.0,", "tv.Tensor(6.0,", "tv.Tensor(125.0,",
                           "[[ 70.]\n [100.]]", "tv.Tensor(30.0,"],
    "02_gradienttape_and_optimizers": ["numpy=9.0>", "numpy=42.0>", "numpy=13.0>",
                                       "numpy=14.0>", "numpy=20.0>", "numpy=-0.3333333>"],
    "03_autodiff_mechanism": ["tv.Tensor(-2.0,", "tv.Tensor(2.0,", "x =  0.999998569",
                              "1.00000083", "0.0503761768"],
    "04_custom_layers_numpy_vs_tape": ["34.0", "20.0", "1 + 6 + 27 = 34"],
}  # fmt: skip


@pytest.mark.parametrize("stem", sorted(DOCUMENT_NUMBERS))
def test_chinese_notebooks_print_the_documents_numbers(stem: str) -> None:
    path = ZH_DIR / f"{stem}.ipynb"
    printed = "\n".join(t for c in _load(path)["cells"] for t in _printed(c))
    for number in DOCUMENT_NUMBERS[stem]:
        assert number in printed, f"zh/{path.name} does not print {number!r}"


# --- the Chinese notebooks print Chinese ---------------------------------------------------
# A printed line of a Chinese notebook is Chinese if it has a Chinese character, or if no
# English word of four letters or more is left once these are taken out: what TensorFlow or
# tapeviz writes as it would in English, and a student searches for.
KEEP_AS_TF_WRITES = [
    re.compile(r"<[^<>]*>"),  # reprs: <tv.Tensor: ...>, <tv.ConcreteFunction f: 4 equations>
    re.compile(r"tv\.Tensor\(|\b(?:shape|dtype|numpy)=[\w.()\[\], -]*"),  # tensor reprs
    re.compile(r"\b[A-Za-z_][\w.]*[_.:\d][\w.:]*"),  # identifiers: Variable:0, tf.range, f32
]
KEEP_LINES = [
    # the listing of a traced program (tv.function): its equations, loops, prints, returns
    re.compile(r"^\s*(?:t\d+: \w+\[.*?\] = |for t\d+: \w+\[\] in range\(|return t\d+$)"),
    re.compile(r"^\s*(?:print t\d+|\w+ <- t\d+)$"),
    re.compile(r"^A non-persistent GradientTape can only be used to compute one set"),  # TF's
]
# Words that are names: the kinds of a recorded node, op names (added below), Keras's
# optimizers, Python's constants.
KEEP_WORDS = {"variable", "constant", "Variable", "Tensor", "True", "False", "None",
              "momentum", "Nesterov", "Adagrad", "RMSprop", "Adam"}  # fmt: skip
ENGLISH_WORD = re.compile(r"[A-Za-z]{4,}")


def _english_lines(path: Path) -> list[str]:
    """The lines ``path`` prints (stdout and plain-text results, not warnings on stderr)
    that are English."""
    from tapeviz.ops._registry import REGISTRY

    keep = KEEP_WORDS | set(REGISTRY)
    found = []
    for i, cell in enumerate(_load(path)["cells"]):
        outputs = [o for o in cell.get("outputs", []) if o.get("name") != "stderr"]
        for text in _printed(dict(cell, outputs=outputs)):
            for line in text.splitlines():
                if HAN.search(line) or any(p.search(line) for p in KEEP_LINES):
                    continue
                rest = line
                for fragment in KEEP_AS_TF_WRITES:
                    rest = fragment.sub(" ", rest)
                if set(ENGLISH_WORD.findall(rest)) - keep:
                    found.append(f"cell {i}: {line}")
    return found


@pytest.mark.parametrize("path", ZH_NOTEBOOKS, ids=_nb_id)
def test_chinese_notebooks_print_chinese(path: Path) -> None:
    """What a Chinese notebook's code prints is translated (``[strings]`` in its source
    under notebooks/src/zh/): no English sentence left in its outputs."""
    english = _english_lines(path)
    assert not english, f"{path.name} prints English: " + "\n".join(english)


def test_the_english_check_finds_english() -> None:
    """The check above reads the English notebooks as English (so it can fail)."""
    assert len(_english_lines(NB_DIR / "04_custom_layers_numpy_vs_tape.ipynb")) >= 15
    assert _english_lines(NB_DIR / "08_function_and_numba.ipynb")


# --- the build's table of printed text ----------------------------------------------------
def test_strings_replace_text_inside_string_literals_only() -> None:
    build = _build_module()
    code = 'steps = 3\nprint("steps:", steps)  # steps'
    out, used = build.apply_strings(code, {'"steps:"': '"步数："'})
    assert out == 'steps = 3\nprint("步数：", steps)  # steps' and used == {'"steps:"'}
    with pytest.raises(ValueError, match=r"outside a string literal .*line 1"):
        build.apply_strings(code, {"steps": "步数"})


def test_a_strings_entry_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    build = _build_module()
    src = NB_DIR / "src" / "01_autodiff_basics.py"
    prose = (NB_DIR / "src" / "zh" / src.name).read_text(encoding="utf-8")
    stale = prose.replace('    "value =": "值 =",', '    "value is": "值是",')
    assert stale != prose
    (tmp_path / src.name).write_text(stale, encoding="utf-8")
    lang = dict(build.LANGUAGES["zh"], prose=tmp_path)
    build.LANGUAGES["zh-test"] = lang
    try:
        with pytest.raises(ValueError, match=r"match no string literal.*'value is'"):
            build.build(src, lang="zh-test")
    finally:
        del build.LANGUAGES["zh-test"]


def test_every_shared_strings_entry_is_used() -> None:
    """``src/zh/_common.py``'s entries each translate something (a notebook's own entries are
    checked by the build)."""
    build = _build_module()
    common = build.common_strings("zh")
    assert common
    used: set[str] = set()
    for src in SOURCES:
        for cell in build.parse_source(src.read_text(encoding="utf-8")):
            if cell["kind"] != "markdown":
                used |= build.apply_strings(cell["source"], common, where=src.name)[1]
    assert sorted(set(common) - used) == []
