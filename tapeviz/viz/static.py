"""What the widgets need besides Python: their browser code, their stylesheet, and pages.

* :func:`esm` joins the front-end modules in ``tapeviz/viz/static/`` into the one ES module
  that anywidget loads (``controls.js`` — the shared toolbar — comes first).
* :func:`widget_css` is the stylesheet of the widgets: the theme's colours and fonts as CSS
  variables (:mod:`tapeviz.viz.theme` is the only source of colours), the theme's state
  classes, and ``tapeviz.css``.
* :func:`write_html` writes a self-contained page (no network, no CDN: the module, the
  stylesheet and the data are inlined) that runs the same front end as in Jupyter, with a
  stand-in for the widget model; and carries the static picture in ``<noscript>``.  The
  page is written atomically (:func:`write_atomically`): a failed write leaves the file
  that was there before as it was.
* :func:`fallback_html` wraps a widget's final frame (an SVG and some HTML) for notebook
  viewers without a kernel (GitHub, nbviewer): the ``text/html`` of the widget's output.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import secrets
import stat
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from . import theme
from .messages import html_lang

__all__ = [
    "asset",
    "esm",
    "widget_css",
    "theme_variables",
    "write_html",
    "write_atomically",
    "fallback_html",
    "linked_play",
]


@cache
def asset(name: str) -> str:
    """The text of ``tapeviz/viz/static/<name>``."""
    folder = resources.files(__package__).joinpath("static")
    return folder.joinpath(name).read_text(encoding="utf-8")


def esm(main: str) -> str:
    """The anywidget module: ``controls.js`` followed by ``main`` (``"player.js"``...)."""
    return asset("controls.js") + "\n" + asset(main)


def theme_variables(selector: str = ".tv-widget") -> str:
    """The theme as CSS custom properties (``--tv-gradient: #B34700;`` ...)."""
    c = theme.OKABE_ITO
    values = {
        "font": theme.FONT.replace("DejaVu Sans,", '"DejaVu Sans",'),
        "mono": theme.MONO_FONT.replace("DejaVu Sans Mono,", '"DejaVu Sans Mono",'),
        "text": theme.TEXT,
        "muted": theme.MUTED,
        "gradient": theme.GRADIENT,
        "accent": theme.VARIABLE.stroke,
        "focus": c["blue"],
        "highlight-fill": theme.HIGHLIGHT.fill,
        "highlight-stroke": theme.HIGHLIGHT.stroke,
        "edge": theme.EDGE.stroke,
    }
    body = "".join(f"  --tv-{k}: {v};\n" for k, v in values.items())
    return f"{selector} {{\n{body}}}\n"


def widget_css() -> str:
    """The stylesheet of both widgets (theme variables, state classes, layout)."""
    return (
        theme_variables()
        + theme.css(".tv-widget")
        + theme_variables(".tv-static")
        + theme.css(".tv-static")
        + asset("tapeviz.css")
    )


def _script_text(text: str) -> str:
    if "</script" in text.lower() or "<!--" in text:
        raise ValueError("internal error: a front-end module contains '</script' or '<!--'")
    return text


def _json_for_html(data: Any) -> str:
    # '<' only occurs inside JSON strings, where \u003c means the same: no '</script>'.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


_SHIM = """
// A stand-in for the anywidget model: the same get/set/on/off/save_changes, no kernel.
function tvModel(state) {
  const handlers = new Map();
  return {
    get: (key) => state[key],
    set(key, value) {
      if (state[key] === value) return;
      state[key] = value;
      for (const f of handlers.get("change:" + key) || []) f();
    },
    on(event, f) {
      for (const name of event.split(" ")) {
        if (!handlers.has(name)) handlers.set(name, []);
        handlers.get(name).push(f);
      }
    },
    off(event, f) {
      for (const name of (event || "").split(" ")) {
        const list = handlers.get(name) || [];
        handlers.set(name, f ? list.filter((g) => g !== f) : []);
      }
    },
    save_changes() {},
    send() {},
  };
}
const tvState = JSON.parse(document.getElementById("tv-state").textContent);
TV_WIDGET.render({ model: tvModel(tvState), el: document.getElementById("tv-app") });
"""


def write_html(
    path: str | Path,
    *,
    title: str,
    module: str,
    state: dict[str, Any],
    fallback: str,
) -> Path:
    """Write a self-contained page that runs a widget's front end without a kernel.

    Parameters
    ----------
    path : str or Path
        Where to write (``.html``).
    title : str
        The page title.
    module : str
        The widget's ES module (:func:`esm`); its ``export default`` object is rendered.
    state : dict
        The model's state (what the widget syncs), JSON-serialisable.
    fallback : str
        HTML shown when scripts are off (the static final frame).

    Returns
    -------
    Path
        The path written.  The page loads nothing from the network.
    """
    code = _script_text(module).replace("export default", "const TV_WIDGET =", 1)
    if "const TV_WIDGET =" not in code:
        raise ValueError("internal error: the front-end module has no 'export default'")
    page = f"""<!DOCTYPE html>
<html lang="{html_lang()}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tapeviz">
<title>{html.escape(title)}</title>
<style>
body {{ margin: 16px; background: #ffffff; }}
{widget_css()}</style>
</head>
<body>
<main>
<div id="tv-app"></div>
<noscript>{fallback}</noscript>
</main>
<script type="application/json" id="tv-state">{_json_for_html(state)}</script>
<script type="module">
{code}
{_SHIM}
</script>
</body>
</html>
"""
    out = Path(path)
    write_atomically(out, page)
    return out


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file beside it, renamed over it.

    Until the rename, ``path`` keeps its old content: a full disk or an interrupted write
    leaves the page that was there (and no temporary file).  A file that existed keeps its
    permissions; a new one gets the usual ones (the umask applies).

    Raises
    ------
    OSError
        Naming ``path`` and the cause, with the original error chained.
    """
    folder = path.parent
    old_mode = None
    with contextlib.suppress(OSError):
        old_mode = stat.S_IMODE(os.stat(path).st_mode)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    tmp = None
    try:
        for _ in range(100):
            candidate = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
            try:
                fd = os.open(candidate, flags, 0o666)
            except FileExistsError:
                continue
            tmp = candidate
            break
        else:  # pragma: no cover - 100 random names taken
            raise FileExistsError(f"no free temporary name in {folder}")
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        if old_mode is not None:
            os.chmod(tmp, old_mode)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OSError(
            exc.errno,
            f"could not write {path}: {reason} (a file that was there is left unchanged)",
        ) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def fallback_html(kind: str, body: str, *, note: str = "") -> str:
    """A widget's static picture for viewers without a kernel (``text/html`` output).

    The stylesheet is inlined (scoped to ``.tv-static``); ``kind`` is ``"player"`` or
    ``"race"``.
    """
    caption = f'<p class="tv-note">{html.escape(note)}</p>' if note else ""
    return (
        f"<style>{widget_css()}</style>"
        f'<div class="tv-widget tv-static tv-{kind}">{body}{caption}</div>'
    )


def linked_play(widget: Any, count: int) -> Any:
    """An ``ipywidgets.Play`` linked in the browser (``jslink``) to ``widget.index``.

    The widgets have their own Play button; this is for dashboards that drive several
    widgets from one standard control (or a Voila layout).  ``count`` is the number of
    frames; the Play's interval follows ``widget.fps``.  ``play.link`` is the
    ``ipywidgets.jslink`` (``play.link.unlink()`` undoes it).
    """
    import ipywidgets

    play = ipywidgets.Play(
        value=widget.index,
        min=0,
        max=max(0, count - 1),
        interval=max(1, round(1000 / widget.fps)),
        description="Play",
    )
    play.link = ipywidgets.jslink((play, "value"), (widget, "index"))
    return play


class StaticFallback:
    """Mixin for the widgets: the notebook output also carries the final frame as HTML
    (``static_html()``), so a notebook reads well where no kernel runs (GitHub, nbviewer)."""

    def static_html(self) -> str:  # pragma: no cover - provided by the widget
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if bundle is None:
            return {"text/plain": repr(self), "text/html": self.static_html()}
        data, metadata = bundle
        data = dict(data)
        data["text/plain"] = repr(self)
        data["text/html"] = self.static_html()
        return data, metadata
