"""Write docs/api.md from the code (no TensorFlow needed): ``python tools/make_api_doc.py``.

tests/engine/test_api_surface.py checks that the committed file is up to date.
"""

from pathlib import Path

from tapeviz._surface import api_markdown

target = Path(__file__).resolve().parent.parent / "docs" / "api.md"
target.parent.mkdir(exist_ok=True)
target.write_text(api_markdown(), encoding="utf-8")
print(f"wrote {target}")
