"""The honest surface (issue 16): a TensorFlow name tapeviz lacks raises an error that says
so; docs/api.md is generated from the code and up to date."""

from __future__ import annotations

import subprocess
import sys
import traceback
from pathlib import Path

import pytest

import tapeviz as tv
from tapeviz import _surface

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("get", "shown"),
    [
        (lambda: tv.nonexistent_tf_name_for_tests, None),
        (lambda: tv.image, "tf.image"),
        (lambda: tv.device, "tf.device"),
        (lambda: tv.nn.conv2d, "tf.nn.conv2d"),
        (lambda: tv.keras.layers.Conv2D, "tf.keras.layers.Conv2D"),
        (lambda: tv.linalg.det, "tf.linalg.det"),
    ],
)
def test_a_missing_tensorflow_name_says_tapeviz_does_not_implement_it(
    get: object, shown: str | None
) -> None:
    with pytest.raises(AttributeError) as err:
        get()  # type: ignore[operator]
    text = str(err.value)
    assert "tapeviz.ops" not in text and "tapeviz.keras" not in text  # no internal modules
    if shown is None:
        assert not isinstance(err.value, tv.NotImplementedInTapeviz)
        assert "TensorFlow has none either" in text
        return
    assert isinstance(err.value, tv.NotImplementedInTapeviz)
    assert text.startswith(f"tapeviz does not implement `{shown}` yet;")
    assert "docs/api.md" in text


def test_the_message_lists_what_a_small_module_supports() -> None:
    with pytest.raises(tv.NotImplementedInTapeviz) as err:
        _ = tv.keras.layers.Conv2D
    assert "supported in `tf.keras.layers`: " in str(err.value)
    assert "Dense" in str(err.value)


@pytest.mark.parametrize(
    ("module", "name"), [(tv.nn, "elu_like_typo"), (tv.linalg, "det"), (tv, "device")]
)
def test_no_misleading_did_you_mean(module: object, name: str) -> None:
    # Python's own suggestions would offer `relu` for `elu…`, `tensor` for `tensordot`
    with pytest.raises(AttributeError) as err:
        getattr(module, name)
    shown = "".join(traceback.format_exception_only(err.value))
    assert "Did you mean" not in shown and "did you mean" not in shown


def test_a_near_certain_typo_of_a_supported_name_is_suggested() -> None:
    with pytest.raises(AttributeError, match="did you mean `reduce_mean`"):
        _ = tv.reduce_maen  # type: ignore[attr-defined]


def test_python_s_own_suggestion_is_not_printed_in_a_traceback() -> None:
    code = "import tapeviz as tf\ntf.nn.reluu"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("AttributeError: module `tf.nn` has no attribute `reluu`")
    assert "Did you mean" not in out.stderr


def test_private_names_keep_the_plain_error() -> None:
    assert not hasattr(tv.nn, "__wrapped__")
    assert getattr(tv.keras.layers, "_not_there", None) is None


def test_every_mirrored_module_installs_the_surface() -> None:
    import importlib

    for tf_module, path in _surface.MODULES.items():
        mod = importlib.import_module(path)
        name = _surface.tf_names()[tf_module][0]
        if name in _surface.supported(tf_module):
            continue
        with pytest.raises(tv.NotImplementedInTapeviz):
            getattr(mod, name)


def test_supported_names_really_exist_and_partly_notes_name_real_names() -> None:
    for tf_module in _surface.MODULES:
        for name in _surface.supported(tf_module):
            assert name in _surface.tf_names()[tf_module]
    for full in _surface.PARTLY:
        module, _, name = full.rpartition(".")
        assert name in _surface.supported(module), full


def test_docs_api_md_is_generated_and_up_to_date() -> None:
    committed = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == _surface.api_markdown(), "run: python tools/make_api_doc.py"
    assert "| [`tf.nn`](#tfnn) |" in committed
    assert "(docs/api.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
