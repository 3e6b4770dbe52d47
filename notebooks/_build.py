"""Build the tapeviz notebooks from their sources and execute them.

The notebooks (``notebooks/NN_*.ipynb``) are what students open and what nbval checks; they
are committed *with* their outputs.  Their text lives in ``notebooks/src/NN_*.py`` in the
"percent" format (the subset of jupytext's format shown below), so that a change to a
notebook is a readable diff of a Python file.  This script turns each source into a
notebook, runs it top to bottom in a fresh kernel of the current Python environment, and
writes the ``.ipynb`` next to this file.

Usage (from the repository root)::

    .venv/bin/python notebooks/_build.py                 # every notebook
    .venv/bin/python notebooks/_build.py 01 05           # the ones whose name starts so
    .venv/bin/python notebooks/_build.py --check         # only check .ipynb == sources

Then check them as CI does::

    .venv/bin/python -m pytest --nbval --nbval-current-env \\
        --nbval-sanitize-with notebooks/sanitize.cfg notebooks/*.ipynb

Source format
-------------
``# %% [markdown]``
    A markdown cell; its lines are written as comments (``# text``; ``#`` for a blank line).
``# %%``
    A code cell.
``# %% [raises-exception]``
    A code cell that shows an error on purpose.  It is tagged ``raises-exception``, the tag
    that JupyterLab's *Run All*, nbclient, ``jupyter nbconvert --execute`` and nbval all
    read: they show the error and go on with the next cell.  (Not nbval's comment
    ``# NBVAL_RAISES_EXCEPTION``: nbval warns when a comment and a tag say the same thing,
    and JupyterLab stops at an error that only the comment announces.)
``# %% [solution]``
    The reference solution of the exercise above it: code, but written into the notebook
    as a *markdown* cell that shows the code inside a closed ``<details>`` box.  One click
    opens it; Run All does not run it, so every checker still says "not done yet" after
    Run All.  The student copies the code into a cell to try it.  ``build(...,
    solutions="code")`` makes them code cells instead: ``tests/test_notebooks_meta.py``
    runs every solution with its checker that way.

Prose is per language, code is shared: the words this script itself writes into a
notebook (the solution box's title) come from :data:`LABELS`, one entry per language.

Languages
---------
The English notebooks are ``notebooks/NN_*.ipynb``; the Chinese ones ``notebooks/zh/NN_*.ipynb``
(see :data:`LANGUAGES`).  A translation is a file ``src/<lang>/NN_name.py`` that holds only
markdown cells, in the same format and the same order as the markdown cells of
``src/NN_name.py``: the build takes the code cells from the English source and the k-th
markdown cell from the translation, so the code, and therefore the outputs, cannot differ
between languages.  The one line of code a translation adds is :data:`SETUP_LINE`, after
``import tapeviz as tf`` in the first cell: ``tf.viz.set_language("zh")``.

What the code *prints* is translated too, by a table: a ``# %% [strings]`` cell in the
translation holds a Python dict literal ``{"English text": "中文", ...}``, and the build
replaces each English text by its translation wherever it occurs inside a string literal of a
code cell (``print("optimizer steps:", n)`` becomes ``print("优化器的步数：", n)``).  Only
string literals change, so the code, the numbers and their formatting stay those of the
English notebook.  An entry that matches nothing, or that also matches outside a string
literal (a name, a comment), is an error.  ``src/<lang>/_common.py`` holds entries that every
notebook of the language shares (the checkers' words); a notebook's own entries go first.

    .venv/bin/python notebooks/_build.py --lang zh 05    # only the Chinese 05
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
import time
import tokenize
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

# "# %% <marker>" -> the kind of cell it starts
MARKERS = {
    "": "code",
    "[markdown]": "markdown",
    "[raises-exception]": "raises-exception",
    "[solution]": "solution",
    "[strings]": "strings",  # translations only: the table of printed text (see module doc)
}
RAISES = "raises-exception"  # the cell tag of a deliberate error

# Words this script writes into the notebooks, per language (prose lives in the sources).
LABELS = {
    "en": {"solution": "Solution", "solution_hint": "click to show; Run All does not run it"},
    "zh": {"solution": "参考答案", "solution_hint": "点击展开；Run All 不会运行它"},
}

# Where each language's notebooks go, and where its prose comes from (None: the source).
LANGUAGES: dict[str, dict[str, Path | None]] = {
    "en": {"out": HERE, "prose": None},
    "zh": {"out": HERE / "zh", "prose": SRC / "zh"},
}
COMMON = "_common.py"  # a language's shared [strings] table, beside its translations
IMPORT_LINE = "import tapeviz as tf"
# The code line a translated notebook adds after IMPORT_LINE (its pictures in its language).
SETUP_LINE = 'tf.viz.set_language("{lang}")'


def parse_source(text: str) -> list[dict[str, Any]]:
    """Split a percent-format source into cells: ``{"kind", "source"}`` dicts.

    ``kind`` is a value of :data:`MARKERS`.  Lines before the first marker (a module
    docstring or comment header) are ignored.
    """
    cells: list[dict[str, Any]] = []
    kind: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if kind is None:
            return
        body = list(lines)
        while body and not body[-1].strip():
            body.pop()
        while body and not body[0].strip():
            body.pop(0)
        if kind == "markdown":
            md = []
            for line in body:
                if line.startswith("# "):
                    md.append(line[2:])
                elif line.rstrip() == "#":
                    md.append("")
                else:
                    raise ValueError(f"markdown line is not a comment: {line!r}")
            body = md
        cells.append({"kind": kind, "source": "\n".join(body)})

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            marker = line[4:].strip()
            kind = MARKERS.get(marker)
            if kind is None:
                raise ValueError(f"unknown cell marker: {line!r}")
            lines = []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def solution_markdown(code: str, lang: str = "en") -> str:
    """A solution as a closed ``<details>`` box around its code (a markdown cell)."""
    label = LABELS[lang]
    return (
        f"<details><summary><b>{label['solution']}</b> ({label['solution_hint']})</summary>"
        f"\n\n```python\n{code}\n```\n\n</details>"
    )


def make_cell(cell: dict[str, Any], lang: str = "en", solutions: str = "markdown") -> Any:
    """One nbformat cell from a parsed source cell (``solutions``: "markdown" or "code")."""
    kind, source = cell["kind"], cell["source"]
    if kind == "markdown":
        return new_markdown_cell(source)
    if kind == "solution" and solutions == "markdown":
        return new_markdown_cell(solution_markdown(source, lang), metadata={"tags": ["solution"]})
    nb_cell = new_code_cell(source)
    if kind == "solution":
        nb_cell.metadata["tags"] = ["solution"]
    elif kind == RAISES:
        nb_cell.metadata["tags"] = [RAISES]
    return nb_cell


def translate(cells: list[dict[str, Any]], src: Path, lang: str) -> list[dict[str, Any]]:
    """The cells of ``src`` with their prose and printed text in ``lang`` and its setup line
    (see module doc)."""
    prose_dir = LANGUAGES[lang]["prose"]
    if prose_dir is None:
        return cells
    prose_file = prose_dir / src.name
    if not prose_file.exists():
        raise FileNotFoundError(f"{src.name} has no {lang} prose: write {prose_file}")
    parsed = parse_source(prose_file.read_text(encoding="utf-8"))
    prose = [c for c in parsed if c["kind"] != "strings"]
    if any(c["kind"] != "markdown" for c in prose):
        raise ValueError(f"{prose_file}: a translation holds markdown cells and [strings] only")
    n_md = sum(c["kind"] == "markdown" for c in cells)
    if len(prose) != n_md:
        raise ValueError(
            f"{prose_file} has {len(prose)} markdown cells, {src.name} has {n_md}: "
            "translate the cells that were added or removed"
        )
    texts = iter(c["source"] for c in prose)
    out = [dict(c, source=next(texts)) if c["kind"] == "markdown" else dict(c) for c in cells]
    own = strings_table(parsed, prose_file)
    common = common_strings(lang)
    unused = dict(own)
    for c in out:
        if c["kind"] != "markdown":
            c["source"], used = apply_strings(c["source"], {**own, **common}, where=src.name)
            for english in used:
                unused.pop(english, None)
    if unused:
        raise ValueError(
            f"{prose_file}: [strings] entries match no string literal of {src.name}: "
            + ", ".join(repr(e) for e in unused)
        )
    first = next(c for c in out if c["kind"] == "code")
    lines = first["source"].split("\n")
    if IMPORT_LINE not in lines:
        raise ValueError(f"{src.name}: the first code cell does not `{IMPORT_LINE}`")
    lines.insert(lines.index(IMPORT_LINE) + 1, SETUP_LINE.format(lang=lang))
    first["source"] = "\n".join(lines)
    return out


def strings_table(parsed: list[dict[str, Any]], path: Path) -> dict[str, str]:
    """The ``[strings]`` table of a parsed translation: English text -> translated text."""
    cells = [c for c in parsed if c["kind"] == "strings"]
    if len(cells) > 1:
        raise ValueError(f"{path}: more than one [strings] cell")
    if not cells:
        return {}
    try:
        tree = ast.parse(cells[0]["source"], mode="eval")
        table = ast.literal_eval(tree)
    except (SyntaxError, ValueError) as exc:
        raise ValueError(f"{path}: the [strings] cell is not a dict literal: {exc}") from None
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in table.items()
    ):
        raise ValueError(f"{path}: [strings] maps non-empty English texts to translations")
    assert isinstance(tree.body, ast.Dict)
    keys = [k.value for k in tree.body.keys if isinstance(k, ast.Constant)]
    if len(keys) != len(set(keys)):
        twice = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"{path}: [strings] lists {twice} twice")
    return table


def common_strings(lang: str) -> dict[str, str]:
    """The ``[strings]`` entries every notebook of ``lang`` shares (``src/<lang>/_common.py``)."""
    prose_dir = LANGUAGES[lang]["prose"]
    path = None if prose_dir is None else prose_dir / COMMON
    if path is None or not path.exists():
        return {}
    parsed = parse_source(path.read_text(encoding="utf-8"))
    if any(c["kind"] != "strings" for c in parsed):
        raise ValueError(f"{path}: holds one [strings] cell only")
    return strings_table(parsed, path)


def _string_spans(code: str) -> list[tuple[int, int]]:
    """Where the string literals of ``code`` are: (start, end) offsets."""
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans = []
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.STRING:
            (r0, c0), (r1, c1) = tok.start, tok.end
            spans.append((starts[r0 - 1] + c0, starts[r1 - 1] + c1))
    return spans


def apply_strings(code: str, table: dict[str, str], *, where: str = "") -> tuple[str, set[str]]:
    """``code`` with each key of ``table`` replaced by its value inside string literals; and
    the keys that matched.  A key that occurs outside a string literal is an error."""
    used = set()
    for english, translated in table.items():
        if english not in code:
            continue
        spans = _string_spans(code)
        hits = [m.start() for m in re.finditer(re.escape(english), code)]
        for at in hits:
            if not any(s <= at and at + len(english) <= e for s, e in spans):
                line = code.count("\n", 0, at) + 1
                raise ValueError(
                    f"{where}: {english!r} occurs outside a string literal (code line {line}): "
                    "make the [strings] entry longer"
                )
        for at in reversed(hits):
            code = code[:at] + translated + code[at + len(english) :]
        used.add(english)
    return code, used


def target_of(src: Path, lang: str = "en") -> Path:
    """The notebook built from ``src`` in ``lang``."""
    out = LANGUAGES[lang]["out"]
    assert out is not None
    return out / f"{src.stem}.ipynb"


def build(src: Path, *, lang: str = "en", solutions: str = "markdown") -> Any:
    """The (unexecuted) notebook of one source file, its prose in ``lang``."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    cells = parse_source(src.read_text(encoding="utf-8"))
    if any(c["kind"] == "strings" for c in cells):
        raise ValueError(f"{src.name}: [strings] belongs in a translation (src/<lang>/)")
    cells = translate(cells, src, lang)
    nb.cells = [make_cell(c, lang, solutions) for c in cells]
    # Stable cell ids (nbformat 4.5 requires ids; random ones would churn every rebuild).
    for i, c in enumerate(nb.cells):
        c["id"] = f"{src.stem[:2]}-{i:03d}"
    return nb


def execute(nb: Any, timeout: int = 900, *, cwd: Path = HERE) -> None:
    """Run every cell in a fresh kernel of this Python environment, in ``cwd``."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",  # jupyter_client maps the native "python3" to sys.executable
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
        store_widget_state=False,
    )
    client.execute()  # stops at an error, except in a cell tagged raises-exception
    for c in nb.cells:
        if RAISES not in c.metadata.get("tags", []):
            continue
        if not any(o.output_type == "error" for o in c.outputs):
            raise RuntimeError(f"cell {c.id} is tagged {RAISES} but raised nothing")
        for o in c.outputs:
            if o.output_type == "error":
                o.traceback = _short_traceback(o.traceback)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = _coalesce_streams(c.outputs)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {
        "name": "python",
        "pygments_lexer": "ipython3",
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "codemirror_mode": {"name": "ipython", "version": 3},
        "nbconvert_exporter": "python",
    }


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _portable(text: str) -> str:
    """A traceback line without this machine's paths (repository root, environment)."""
    root = str(HERE.parent) + "/"
    return text.replace(root, "").replace(sys.prefix + "/", "<env>/")


def _short_traceback(lines: list[str]) -> list[str]:
    """The traceback a reader needs: the header, the notebook's own frames, the message.

    Frames inside tapeviz and the libraries are dropped, so that the committed notebook
    neither shows this machine's paths nor changes whenever a library line moves.
    """
    if len(lines) < 2:
        return [_portable(line) for line in lines]
    keep = ("Cell In[", "Traceback (most recent call last)")
    frames = [line for line in lines[1:-1] if any(k in _ANSI.sub("", line) for k in keep)]
    return [_portable(line) for line in [lines[0], *frames, lines[-1]]]


def _coalesce_streams(outputs: list[Any]) -> list[Any]:
    """Merge consecutive stream outputs of the same stream (stdout chunks arrive split)."""
    merged: list[Any] = []
    for o in outputs:
        if (
            o.output_type == "stream"
            and merged
            and merged[-1].output_type == "stream"
            and merged[-1].name == o.name
        ):
            merged[-1].text += o.text
        else:
            merged.append(o)
    return merged


def sources_of(nb: Any) -> list[tuple[str, str, list[str]]]:
    """(cell type, source, tags): what must match between a notebook and its source."""
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells]


def check(src: Path, lang: str = "en") -> str | None:
    """None if ``NN_name.ipynb`` exists (in ``lang``) and has the cells of its sources."""
    target = target_of(src, lang)
    name = target.relative_to(HERE)
    if not target.exists():
        return f"{name}: missing (run notebooks/_build.py --lang {lang} {src.stem[:2]})"
    committed = nbformat.read(target, as_version=4)
    if sources_of(committed) != sources_of(build(src, lang=lang)):
        return f"{name}: cells differ from its sources (run _build.py --lang {lang})"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="prefixes of notebook names (default: all)")
    parser.add_argument("--check", action="store_true", help="only check, do not build")
    parser.add_argument(
        "--lang", choices=[*LANGUAGES, "all"], default="all", help="which language (default: all)"
    )
    args = parser.parse_args(argv)

    srcs = sorted(SRC.glob("[0-9][0-9]_*.py"))
    if args.names:
        srcs = [s for s in srcs if any(s.stem.startswith(n) for n in args.names)]
    if not srcs:
        print("no notebook source matches", args.names, file=sys.stderr)
        return 2
    langs = list(LANGUAGES) if args.lang == "all" else [args.lang]
    status = 0
    for lang in langs:
        for src in srcs:
            target = target_of(src, lang)
            if args.check:
                problem = check(src, lang)
                print(problem or f"{target.relative_to(HERE)}: ok")
                status = status or (1 if problem else 0)
                continue
            nb = build(src, lang=lang)
            start = time.perf_counter()
            print(f"executing {target.relative_to(HERE)} ...", end=" ", flush=True)
            target.parent.mkdir(exist_ok=True)
            execute(nb, cwd=target.parent)
            nbformat.validate(nb)
            nbformat.write(nb, target)
            print(f"{time.perf_counter() - start:.1f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
