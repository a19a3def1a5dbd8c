"""Problems of one event are reported with that event, with a code (issue 11, items 1c and 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ical_bridge.cli import main

NOW = "2026-11-30T00:00:00Z"


def _convert(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(["convert", str(path), "--now", NOW, *extra])
    out, err = capsys.readouterr()
    assert exited.value.code == 0, err
    return 0, out


def _event(uid: str, body: str) -> str:
    return f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20261101T000000Z\n{body.strip()}\nEND:VEVENT\n"


def _write(tmp_path: Path, *events: str) -> Path:
    feed = tmp_path / "feed.ics"
    feed.write_text("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n" + "".join(events)
                    + "END:VCALENDAR\n")  # fmt: skip
    return feed


_BACKWARDS = """
DTSTART;TZID=Europe/Paris:20261203T150000
DTEND;TZID=Europe/Paris:20261203T140000
"""


def test_dtend_before_dtstart_keeps_dtstart_and_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = _write(
        tmp_path,
        _event("series", _BACKWARDS + "RRULE:FREQ=WEEKLY;INTERVAL=2\nSUMMARY:Fortnightly"),
        _event("weekly", _BACKWARDS + "RRULE:FREQ=WEEKLY\nSUMMARY:Weekly"),
        _event("oneoff", _BACKWARDS + "SUMMARY:Once"),
    )
    _, out = _convert(feed, capsys, "--json")
    timers = {t["source"]["uid"]: t for t in json.loads(out)["timers"]}
    assert set(timers) == {"series", "weekly", "oneoff"}
    for uid, timer in timers.items():
        # 15:00 Paris is 14:00Z; DTEND's 14:00 Paris (13:00Z) was taken before.
        assert timer["next_occurrence"] == "2026-12-03T14:00:00.000Z", uid
        assert "dtend_before_dtstart" in {w["code"] for w in timer["warnings"]}, uid
    assert timers["weekly"]["strategy"] == "native"  # a plain weekly slot again
    assert timers["weekly"]["timer"]["target_date"] == "2026-12-03T14:00:00.000Z"

    _, table = _convert(feed, capsys)
    assert table.count("dtend_before_dtstart") == 3
    assert "Thu 2026-12-03 15:00 CET" in table
