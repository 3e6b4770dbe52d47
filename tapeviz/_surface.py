"""The honest surface: which TensorFlow names tapeviz has, and a clear error for the rest.

``_tf_names.json`` lists TensorFlow's public names per module (made once with TensorFlow by
``tools/list_tf_names.py`` and committed; TensorFlow is never needed at run time).  Each
tapeviz module that mirrors a TensorFlow module installs :func:`module_getattr`, so that

>>> import tapeviz as tf
>>> tf.nn.no_such_op
Traceback (most recent call last):
...
AttributeError: module `tf.nn` has no attribute `no_such_op` (TensorFlow has none either)

and a TensorFlow name that tapeviz lacks raises :class:`NotImplementedInTapeviz` (an
``AttributeError``) saying so, what the module does support, and where the table is
(``docs/api.md``, generated from this module by ``tools/make_api_doc.py``).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["NotImplementedInTapeviz", "MODULES", "PARTLY", "tf_names", "supported", "missing"]


class NotImplementedInTapeviz(AttributeError):
    """A public TensorFlow name that tapeviz does not implement (yet)."""


NotImplementedInTapeviz.__module__ = "tapeviz"  # its public home (tracebacks print it)


# TensorFlow module -> the tapeviz module that mirrors it
MODULES: dict[str, str] = {
    "tf": "tapeviz",
    "tf.math": "tapeviz.math",
    "tf.linalg": "tapeviz.linalg",
    "tf.nn": "tapeviz.ops.nn",
    "tf.random": "tapeviz.random",
    "tf.dtypes": "tapeviz.dtypes",
    "tf.errors": "tapeviz.errors",
    "tf.data": "tapeviz.datasets",
    "tf.keras": "tapeviz.keras",
    "tf.keras.layers": "tapeviz.keras.layers",
    "tf.keras.losses": "tapeviz.keras.losses",
    "tf.keras.metrics": "tapeviz.keras.metrics",
    "tf.keras.optimizers": "tapeviz.keras.optimizers",
    "tf.keras.optimizers.schedules": "tapeviz.keras.schedules",
    "tf.keras.activations": "tapeviz.keras.activations",
    "tf.keras.initializers": "tapeviz.keras.initializers",
    "tf.keras.backend": "tapeviz.keras.backend",
    "tf.keras.models": "tapeviz.keras.models",
}

# Names tapeviz has with a narrower scope than TensorFlow's: how (shown in docs/api.md)
PARTLY: dict[str, str] = {
    "tf.function": "traces Python code into a compiled program; autograph converts the "
    "function's own `if`/`while`/`for` on tensors (also `break`, `continue`, `return` in "
    "`if`); not converted: `return` inside a loop, loop `else:`, functions it calls unless "
    "they are tf.functions too",
    "tf.cond": "both branches must give the same structure, dtypes and shapes",
    "tf.while_loop": "loop variables keep their shapes (no shape_invariants relaxation); "
    "gradients through a loop on a tensor condition inside tf.function recompute the "
    "iterations instead of storing them",
    "tf.autograph": "to_code and experimental.do_not_convert / set_loop_options only",
    "tf.nn.softmax": "last axis only",
    "tf.nn.log_softmax": "last axis only",
    "tf.nn.softmax_cross_entropy_with_logits": "last axis only",
    "tf.range": "also the loop counter of compiled loops in tf.function",
    "tf.data.Dataset": "in-memory tensors only: from_tensor_slices, batch, shuffle, repeat, take",
    "tf.keras.Model": "eager training loops; no compile/fit, no saving",
    "tf.keras.Sequential": "eager training loops; no compile/fit, no saving",
    "tf.keras.models.Model": "eager training loops; no compile/fit, no saving",
    "tf.keras.models.Sequential": "eager training loops; no compile/fit, no saving",
    "tf.Variable": "no distribution strategies, synchronization or aggregation",
    "tf.GradientTape": "complete for eager code; jacobian without pfor (one sweep per row)",
}

_DOCS = "docs/api.md in the tapeviz repository"
_LIST_AT_MOST = 25


@functools.cache
def tf_names() -> dict[str, list[str]]:
    """TensorFlow's public names per module (recorded from TensorFlow 2.21 / tf_keras)."""
    data = json.loads((Path(__file__).parent / "_tf_names.json").read_text(encoding="utf-8"))
    modules: dict[str, list[str]] = data["modules"]
    return modules


def _has(module: Any, name: str) -> bool:
    if name in vars(module):
        return True
    lazy = getattr(module, "_LAZY", None)  # tapeviz's heavy parts load on first use
    return isinstance(lazy, dict) and name in lazy


def supported(tf_module: str) -> list[str]:
    """The TensorFlow names of ``tf_module`` that tapeviz has."""
    mod = importlib.import_module(MODULES[tf_module])
    return [n for n in tf_names().get(tf_module, []) if _has(mod, n)]


def missing(tf_module: str, name: str) -> AttributeError:
    """The error for ``tf_module.name``, which tapeviz lacks."""
    names = tf_names().get(tf_module, [])
    if name in names:
        have = supported(tf_module)
        if len(have) <= _LIST_AT_MOST:
            listed = f"supported in `{tf_module}`: {', '.join(have)}"
        else:
            listed = f"`{tf_module}` has {len(have)} of TensorFlow's names in tapeviz"
        err: AttributeError = NotImplementedInTapeviz(
            f"tapeviz does not implement `{tf_module}.{name}` yet; {listed}; "
            f"see {_DOCS} for what is supported, partly supported and missing."
        )
    else:
        text = f"module `{tf_module}` has no attribute `{name}` (TensorFlow has none either)"
        # a suggestion only for a near-certain typo of a name tapeviz really has
        close = difflib.get_close_matches(name, supported(tf_module), n=1, cutoff=0.85)
        if close:
            text += f"; did you mean `{close[0]}`?"
        err = AttributeError(text)
    # Python adds its own "Did you mean" from dir(obj) to AttributeErrors without an obj:
    # give one with nothing to suggest (ours is above, or there is none).
    err.name = name
    err.obj = _NOTHING
    return err


class _Nothing:
    def __dir__(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        return "<no attributes>"


_NOTHING = _Nothing()


def module_getattr(tf_module: str) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` raising :func:`missing` for public names."""

    def __getattr__(name: str) -> Any:
        if name.startswith("_"):  # dunder probes (inspect, doctest, pickle): the plain error
            raise AttributeError(f"module `{tf_module}` has no attribute {name!r}")
        raise missing(tf_module, name)

    return __getattr__


def _extras(tf_module: str) -> list[str]:
    """Public names of the tapeviz module that TensorFlow's module does not have."""
    mod = importlib.import_module(MODULES[tf_module])
    tf_set = set(tf_names().get(tf_module, []))
    own = list(getattr(mod, "__all__", []))
    lazy = getattr(mod, "_LAZY", None)
    if isinstance(lazy, dict):
        own += list(lazy)
    return sorted({n for n in own if n not in tf_set and not n.startswith("_")})


def _code_list(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) if names else "—"


def api_markdown() -> str:
    """The text of docs/api.md: per TensorFlow module, what tapeviz supports, partly
    supports (and how) and misses.  Generated from the code (``tools/make_api_doc.py``)."""
    lines = [
        "# The TensorFlow API in tapeviz",
        "",
        "Generated by `tools/make_api_doc.py` from the code and from TensorFlow's list of public",
        "names (`tapeviz/_tf_names.json`, recorded from TensorFlow "
        f"{json.loads((Path(__file__).parent / '_tf_names.json').read_text())['tensorflow']}"
        " with Keras 2). Do not edit by hand.",
        "",
        "Write `import tapeviz as tf`: every name below marked supported behaves as TensorFlow's",
        "(values, dtypes, shapes, gradients). Using a missing name raises",
        "`tapeviz.NotImplementedInTapeviz` (an `AttributeError`) that says so.",
        "",
        "| module | supported | partly | missing |",
        "|---|---:|---:|---:|",
    ]
    sections: list[str] = []
    for tf_module in MODULES:
        names = tf_names()[tf_module]
        have = supported(tf_module)
        partly = [n for n in have if f"{tf_module}.{n}" in PARTLY]
        full = [n for n in have if n not in partly]
        lacking = [n for n in names if n not in have]
        anchor = tf_module.replace(".", "")
        lines.append(
            f"| [`{tf_module}`](#{anchor}) | {len(full)} | {len(partly)} | {len(lacking)} |"
        )
        sections += ["", f"## {tf_module}", "", f"**Supported** ({len(full)}): {_code_list(full)}"]
        if partly:
            sections += ["", "**Partly supported:**", "", "| name | how |", "|---|---|"]
            sections += [f"| `{n}` | {PARTLY[f'{tf_module}.{n}']} |" for n in partly]
        sections += ["", f"**Missing** ({len(lacking)}): {_code_list(lacking)}"]
        extras = _extras(tf_module)
        if extras:
            sections += ["", f"**tapeviz only:** {_code_list(extras)}"]
    return "\n".join(lines + sections) + "\n"
