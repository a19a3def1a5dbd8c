"""Every timer body the converter emits is one the real tickward stores unchanged (issue 9.2):
valid against openapi.json's ``TimerCreateRequest`` with no unknown key, ``notify`` explicit,
a zone it accepts, and text already trimmed and within limits the way the server counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ical_bridge.convert import ImportOptions, convert_calendar
from ical_bridge.errors import IcalBridgeError
from ical_bridge.timezones import is_accepted
from tests.conftest import CORPUS, OPENAPI, SAMPLE_FEEDS
from tests.convert.convert_helpers import calendar, codes, convert_text

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
FILES = sorted(
    [p for p in CORPUS.rglob("*") if p.is_file() and p.suffix.lower() in (".ics", ".ical")]
    + list(SAMPLE_FEEDS.glob("*.ics"))
)
# JavaScript's String.prototype.trim set: what the server strips before storing.
JS_BLANKS = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" \
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    spec = json.loads(OPENAPI.read_text())
    schema = dict(spec["components"]["schemas"]["TimerCreateRequest"])
    schema["additionalProperties"] = False  # the real server refuses unknown keys (SERVER-NOTES)
    return Draft202012Validator({**schema, "components": spec["components"]})


def body_problems(timer: dict[str, Any]) -> list[str]:
    """Why tickward would refuse ``timer`` or store it differently ([] when it would not)."""
    # "No recurrence" is sent as the field's absence (the JSON shows it as null).
    body = {k: v for k, v in timer.items() if not (k == "recurrence" and v is None)}
    problems = [f"{e.json_path}: {e.message}" for e in _validator().iter_errors(body)]
    if not isinstance(body.get("notify"), bool):
        problems.append("notify is not explicit")
    if not is_accepted(str(body.get("timezone"))):
        problems.append(f"zone {body.get('timezone')} is refused by tickward")
    for key in ("label", "description"):
        text = body.get(key)
        if isinstance(text, str):
            if text != text.strip(JS_BLANKS) or not text:
                problems.append(f"{key} {text[:30]!r} is not stored as sent (trim)")
            if len(text.encode("utf-16-le")) // 2 > 200:
                problems.append(f"{key} is over 200 UTF-16 units")
    return problems


def test_the_files_are_there() -> None:
    assert len(FILES) > 400


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_converted_body_is_stored_as_sent(path: Path) -> None:
    try:
        result = convert_calendar(
            path.read_bytes(), ImportOptions(now=NOW, window=timedelta(days=366))
        )
    except IcalBridgeError:
        return  # refused cleanly (not a calendar): nothing to send
    for draft in result.timers:
        assert body_problems(draft.timer) == [], (draft.source, draft.timer)


def test_blank_text_is_trimmed_and_an_empty_label_gets_a_fallback() -> None:
    result = convert_text(calendar(
        "UID:a\nSUMMARY:\\u00a0\\u3000 \nDESCRIPTION: \\n \nDTSTART:20261201T100000Z",
        "UID:b\nSUMMARY:  Team\tsync  \nDESCRIPTION:  Room 4  \nDTSTART:20261201T100000Z",
    ).replace("\\u00a0", "\u00a0").replace("\\u3000", "\u3000"))
    blank, team = sorted(result.timers, key=lambda d: d.source.uid)
    assert blank.timer["label"] == "(untitled)" and "untitled" in codes(blank)
    assert "description" not in blank.timer  # only blanks: tickward would store null
    assert (team.timer["label"], team.timer["description"]) == ("Team sync", "Room 4")
    assert blank.timer["notify"] is False and team.timer["notify"] is False


def test_limits_count_what_the_server_counts_after_trimming() -> None:
    emoji = "🎉" * 150  # 150 code points, 300 UTF-16 units
    result = convert_text(calendar(f"UID:e\nSUMMARY:  {emoji}  \nDTSTART:20261201T100000Z"))
    (draft,) = result.timers
    assert body_problems(draft.timer) == []
    assert draft.timer["label"].endswith("…") and "label_truncated" in codes(draft)
    padded = convert_text(calendar(f"UID:p\nSUMMARY:{' ' * 50}{'x' * 200}\n"
                                   "DTSTART:20261201T100000Z"))
    assert padded.timers[0].timer["label"] == "x" * 200  # trimmed first, then measured
