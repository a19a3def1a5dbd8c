"""``to_json_text`` is exactly the text of ``json.dumps(to_json(...))``, on every file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ical_bridge.convert import ImportOptions, convert_calendar, to_json, to_json_text
from ical_bridge.errors import IcalBridgeError
from tests.conftest import CORPUS, REPO, SAMPLE_FEEDS

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
FILES = sorted([*CORPUS.rglob("*.ics"), *SAMPLE_FEEDS.rglob("*.ics")])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(Path(p).relative_to(REPO.parent)))
def test_the_streamed_text_is_the_dumped_object(path: Path) -> None:
    try:
        result = convert_calendar(path.read_bytes(), ImportOptions(now=NOW))
    except IcalBridgeError:
        return
    text = to_json_text(result)
    assert text == json.dumps(to_json(result), ensure_ascii=False)
    assert json.loads(text) == to_json(result)


def test_the_corpus_has_timers_skips_and_warnings_to_write() -> None:
    """The comparison above covers every part of the object, non-ASCII text included."""
    seen = {"timers": 0, "skipped": 0, "warnings": 0, "non_ascii": 0}
    for path in FILES:
        try:
            result = convert_calendar(path.read_bytes(), ImportOptions(now=NOW))
        except IcalBridgeError:
            continue
        seen["timers"] += len(result.timers)
        seen["skipped"] += len(result.skipped)
        seen["warnings"] += len(result.warnings)
        seen["non_ascii"] += any(not str(d.timer["label"]).isascii() for d in result.timers)
    assert all(n > 5 for n in seen.values()), seen


def _one_offs(count: int) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN"]
    for i in range(count):  # an hour apart from the day after NOW: all in the window
        start = datetime(2026, 11, 23, tzinfo=UTC) + timedelta(hours=i)
        lines += ["BEGIN:VEVENT", f"UID:e{i}", f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
                  f"SUMMARY:Ereignis {i} ü", "END:VEVENT"]
    return "\r\n".join([*lines, "END:VCALENDAR", ""]).encode()


@pytest.mark.parametrize("count", [0, 1, 255, 256, 257, 512, 600])
def test_the_text_is_the_same_however_many_timers_there_are(count: int) -> None:
    """The timers are written in batches; no count of them may show where one ends."""
    result = convert_calendar(_one_offs(count), ImportOptions(now=NOW))
    assert len(result.timers) == count
    text = to_json_text(result)
    assert text == json.dumps(to_json(result), ensure_ascii=False)
    assert [t["timer"]["label"] for t in json.loads(text)["timers"]] == [
        d.timer["label"] for d in result.timers
    ]
