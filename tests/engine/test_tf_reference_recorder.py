"""tools/record_tf_reference.py, the recorder of tests/data/tf_reference.json, without TensorFlow.

The recorder runs only where TensorFlow is installed; these tests import it (and its section
modules) to check that every section of the committed file has a recorder, and that the
file is exactly what the recorder's writer makes of its own contents.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
REFERENCE = Path(__file__).resolve().parents[1] / "data" / "tf_reference.json"


@pytest.fixture(scope="module")
def recorder() -> ModuleType:
    sys.path.insert(0, str(TOOLS))
    try:
        module = importlib.import_module("record_tf_reference")
    finally:
        sys.path.remove(str(TOOLS))
    return module


def test_the_recorder_imports_without_tensorflow(recorder: ModuleType) -> None:
    recorder.recorders()  # imports every section module
    assert "tensorflow" not in sys.modules


def test_every_section_of_the_file_has_a_recorder(recorder: ModuleType) -> None:
    committed = json.loads(REFERENCE.read_text(encoding="utf-8"))
    table = recorder.recorders()
    assert list(committed) == list(table)  # the same sections, in the file's order
    assert all(callable(fn) for fn in table.values())


def test_the_file_is_written_as_the_recorder_writes_it(recorder: ModuleType) -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    assert recorder.dumps(json.loads(text)) + "\n" == text


def test_check_masks_only_run_to_run_parts(recorder: ModuleType) -> None:
    glog = "W0000 00:00:1795433668.322319   11449 local_rendezvous.cc:412] aborting\n"
    later = "W0000 00:00:1796494742.359024   28825 local_rendezvous.cc:412] aborting\n"
    assert recorder.keep_volatile({"e": later}, {"e": glog}) == {"e": glog}
    addr = "<function f at 0x7f277a2f47c0>"
    assert recorder.masked(addr) == recorder.masked("<function f at 0x7f9b59a6b6a0>")
    assert recorder.masked("{'lr', 'decay'}") == recorder.masked("{'decay', 'lr'}")
    # a changed number is not volatile: it is reported
    assert recorder.keep_volatile({"v": "1.0"}, {"v": "1.5"}) == {"v": "1.0"}
    diffs = recorder._differences({"a": {"hex": ["0x1p+0"]}}, {"a": {"hex": ["0x1.8p+0"]}}, "s")
    assert diffs == ["s/a/hex[0]: now '0x1p+0', committed '0x1.8p+0'"]
