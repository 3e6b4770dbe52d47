"""TEMPORARY (not committed): widths of static graphs in JupyterLab at 1280x720."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import Lab
from .test_lab import CELLS_RAN

pytestmark = pytest.mark.browser
OUT = Path("/tmp/i14a/labshots")


@pytest.mark.parametrize(
    "notebook",
    [
        "01_autodiff_basics.ipynb",
        "03_autodiff_mechanism.ipynb",
        "04_custom_layers_numpy_vs_tape.ipynb",
    ],
)
def test_widths(browser: Any, lab: Lab, notebook: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(lab.notebook_url(notebook))
    import re

    page.locator(
        ".jp-StatusBar-TextItem", has_text=re.compile(r"^(?!No Kernel).* \| Idle$")
    ).wait_for(timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(CELLS_RAN, timeout=900_000)
    page.screenshot(path=str(OUT / f"{notebook[:2]}-top.png"))
    info = page.evaluate(
        """() => [...document.querySelectorAll('.jp-RenderedSVG img, .jp-RenderedImage img')].map((img) => {
            const area = img.closest('.jp-OutputArea-output');
            const r = img.getBoundingClientRect();
            return {w: r.width, h: r.height, nw: img.naturalWidth, area: area ? area.clientWidth : null};
        })"""
    )
    (OUT / f"{notebook[:2]}.json").write_text(json.dumps(info, indent=1))
    imgs = page.locator(".jp-RenderedSVG img")
    for k in range(imgs.count()):
        imgs.nth(k).scroll_into_view_if_needed()
        imgs.nth(k).screenshot(path=str(OUT / f"{notebook[:2]}-svg{k}.png"))
    context.close()
