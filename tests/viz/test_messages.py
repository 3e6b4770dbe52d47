"""The message table: every visible word of the widgets comes from it, in one place.

The JavaScript and the Python of the widgets ask for messages by key; every key they use
must be in the English table, and the ones the browser uses must be sent to it.  Another
language is one more table with the same keys (issue 15 adds Chinese).
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from tapeviz.viz import messages, static
from tapeviz.viz.messages import MESSAGES, for_front_end, message

VIZ = Path(messages.__file__).parent
EN = MESSAGES["en"]


KEY = re.compile(r"""["'`]((?:controls|player|race|error)\.[a-z_][a-z_.0-9]*)["'`]""")


def keys_in(text: str) -> set[str]:
    """String literals that look like message keys (not file names like "race.js")."""
    return {k for k in KEY.findall(text) if not k.endswith((".js", ".css", ".py", ".pdf"))}


def without_comments(code: str) -> str:
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", code, flags=re.S)


def keys_in_js(name: str) -> set[str]:
    return keys_in(without_comments(static.asset(name)))


def test_every_key_the_front_end_uses_is_in_the_table_and_sent() -> None:
    controls = keys_in_js("controls.js")
    player, race = keys_in_js("player.js"), keys_in_js("race.js")
    assert {"controls.play", "controls.pause", "controls.forward"} <= controls
    assert {"player.zoom_in", "player.frame_label"} <= player
    assert {"race.caption", "race.col.loss"} <= race
    # keys built at run time: player.phase.<phase>
    player |= {"player.phase.forward", "player.phase.backward"}
    for used, sent in ((controls | player, for_front_end("controls.", "player.")),
                       (controls | race, for_front_end("controls.", "race."))):  # fmt: skip
        assert used <= set(EN), sorted(used - set(EN))
        assert used <= set(sent), sorted(used - set(sent))
    assert not any(k.startswith("error.") for k in for_front_end("controls.", "race.", "error."))


def test_every_key_the_python_uses_is_in_the_table() -> None:
    used: set[str] = set()
    for name in ("player.py", "trajectories.py"):
        used |= keys_in((VIZ / name).read_text(encoding="utf-8"))
    assert {"error.race.start_type", "race.diverged", "player.fan_out"} <= used
    assert used <= set(EN), sorted(used - set(EN))


def test_templates_have_only_named_fields() -> None:
    for key, template in EN.items():
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        assert all(re.fullmatch(r"[a-z_]+", f) for f in fields), (key, fields)


def test_no_visible_text_or_glyph_icon_in_the_javascript() -> None:
    for name in ("controls.js", "player.js", "race.js"):
        code = without_comments(static.asset(name))
        for glyph in "⏸⏵⏯⏮⏭▶◀«»⤢⤡":
            assert glyph not in code, (name, glyph)
        for word in ('"Play"', '"Pause"', '"Step back"', '"Fit width"', '"loss"'):
            assert word not in code, (name, word)


def test_another_language_is_one_more_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MESSAGES, "xx", {"controls.play": "Los", "race.diverged": "weg ab {step}"})
    monkeypatch.setattr(messages, "_language", "xx")
    assert messages.language() == "xx"
    assert message("controls.play") == "Los"
    assert message("race.diverged", step=4) == "weg ab 4"
    assert message("controls.pause") == "Pause"  # not translated yet: English
    assert for_front_end("controls.")["controls.play"] == "Los"
    with pytest.raises(KeyError):
        message("no.such.key")


def test_widgets_send_their_words(monkeypatch: pytest.MonkeyPatch) -> None:
    import tapeviz as tv

    x = tv.Variable(3.0, name="x")
    with tv.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    player = tv.viz.SweepPlayer(tape)
    assert player._text["controls.play"] == "Play"
    assert player._text["player.zoom_fit"] == "Whole graph"
    assert "race.caption" not in player._text
    page = player.save_html(Path(str(tape.record().tape_id)).with_suffix(".html").name)
    try:
        assert '"controls.play":"Play"' in page.read_text(encoding="utf-8")
    finally:
        page.unlink()
