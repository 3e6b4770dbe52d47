"""Chinese names in pictures: a PNG of a graph shows the characters, not empty boxes.

``make system`` (and Binder's ``binder/apt.txt``) install Debian's ``fonts-noto-cjk``.  The
drawings name a Chinese font in their ``fontname`` and matplotlib's plots list it among their
fonts; these tests check, by rendering, that the font graphviz and matplotlib use does have
the characters.  Without a Chinese font installed they are skipped, saying what to install.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest

import tapeviz as tf
from tapeviz.viz import theme

PIL_Image = pytest.importorskip("PIL.Image")
ttLib = pytest.importorskip("fontTools.ttLib")

NAMES = "权重偏置损失"  # the characters of the names below
CJK = re.compile(r"[\u4e00-\u9fff]")


def _fc(*args: str) -> str:
    return subprocess.run(["fc-match", *args], capture_output=True, text=True, check=True).stdout


def _covering_font_file(families: str, text: str) -> str | None:
    """The font file of the first family in ``families`` (a graphviz/CSS list) that
    fontconfig resolves to a file having every character of ``text``."""
    for family in (f.strip().strip('"') for f in families.split(",")):
        path = _fc("--format=%{file}", family)
        if not path:
            continue
        font = ttLib.TTFont(path, fontNumber=0, lazy=True)
        cmap = font.getBestCmap()
        if all(ord(ch) in cmap for ch in text):
            return path
    return None


def _require_cjk_font() -> None:
    if shutil.which("fc-match") is None or shutil.which("dot") is None:
        pytest.skip("fontconfig (fc-match) or graphviz (dot) not installed: run make system")
    listed = subprocess.run(
        ["fc-list", ":charset=6743", "family"], capture_output=True, text=True, check=False
    ).stdout
    if not listed.strip():
        pytest.skip("no font with Chinese characters installed: run make system "
                    "(apt-get install fonts-noto-cjk)")  # fmt: skip


def _ink_box(png: bytes) -> tuple[int, int]:
    """Width and height of the dark pixels of an image."""
    grey = np.asarray(PIL_Image.open(io.BytesIO(png)).convert("L"))
    rows, cols = np.nonzero(grey < 128)
    assert rows.size, "nothing drawn"
    return int(cols.max() - cols.min() + 1), int(rows.max() - rows.min() + 1)


def _label_png(text: str, font: str) -> bytes:
    dot = (f'digraph {{ node [shape=none fontname="{font}" fontsize=72 margin=0]; '
           f'n [label="{text}"] }}')  # fmt: skip
    return subprocess.run(["dot", "-Tpng"], input=dot.encode(), capture_output=True,
                          check=True).stdout  # fmt: skip


def test_drawings_name_a_font_that_has_the_characters() -> None:
    _require_cjk_font()
    权重 = tf.Variable([1.0, 2.0], name="权重")
    偏置 = tf.Variable(0.5, name="偏置")
    with tf.GradientTape() as tape:
        损失 = tf.reduce_sum(权重 * 权重) + 偏置
    tape.gradient(损失, [权重, 偏置])
    g = tf.viz.graph(tape)
    # every font list that the drawing gives graphviz for its text
    fonts = set(re.findall(r'fontname="([^"]+)"', g.source))
    fonts |= set(re.findall(r'<FONT[^>]*FACE="([^"]+)"', g.source, flags=re.I))
    assert fonts
    names_font = [f for f in fonts if f == theme.FONT]
    assert names_font, fonts
    path = _covering_font_file(theme.FONT, NAMES)
    assert path, f"no family of {theme.FONT!r} resolves to a font with {NAMES}"
    png = g.pipe(format="png")
    assert png.startswith(b"\x89PNG") and len(png) > 1000


@pytest.mark.parametrize("font", [theme.FONT, theme.MONO_FONT], ids=["FONT", "MONO_FONT"])
def test_graphviz_draws_the_glyphs_not_boxes(font: str) -> None:
    """一 is a flat horizontal stroke and 丨 a narrow vertical one; a missing glyph is drawn
    as the same box (with its code inside) for both."""
    _require_cjk_font()
    w1, h1 = _ink_box(_label_png("一", font))
    w2, h2 = _ink_box(_label_png("丨", font))
    assert w1 > 4 * h1, (w1, h1)
    assert h2 > 4 * w2, (w2, h2)


def test_plots_use_a_font_that_has_the_characters() -> None:
    _require_cjk_font()
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    from tapeviz.viz.trajectories import plot_fonts

    fonts = plot_fonts()
    assert any(f in fonts for f in theme.PLOT_FONTS[1:]), fonts
    files = [font_manager.findfont(font_manager.FontProperties(family=f)) for f in fonts]
    cmaps = [ttLib.TTFont(f, fontNumber=0, lazy=True).getBestCmap() for f in files]
    assert any(all(ord(c) in cmap for c in NAMES) for cmap in cmaps), files
    # rendered: the flat and the upright stroke again, with no "Glyph missing" warning
    boxes = []
    for ch in "一丨":
        fig = plt.figure(figsize=(2, 2), dpi=100)
        fig.text(0.5, 0.5, ch, family=list(fonts), fontsize=72, ha="center", va="center")
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message="Glyph .* missing")
            fig.savefig(buf, format="png")
        plt.close(fig)
        boxes.append(_ink_box(buf.getvalue()))
    (w1, h1), (w2, h2) = boxes
    assert w1 > 4 * h1 and h2 > 4 * w2, boxes
