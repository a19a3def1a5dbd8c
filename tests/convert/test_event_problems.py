"""Problems of one event are reported with that event, with a code (issue 11, items 1c and 4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dateutil.rrule import rrulestr

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


def test_an_end_is_checked_by_instant_not_by_wall_clock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Wall clocks of one zone in order are not always instants in order: 02:30 on
    2027-03-28 does not exist in Berlin, and RFC 5545 reads it with the offset before the
    gap (+01:00: 01:30Z), so a DTEND of 03:10 (+02:00: 01:10Z) is before it. An overnight
    event across the autumn change is in order both ways."""
    feed = _write(
        tmp_path,
        _event("gap", "DTSTART;TZID=Europe/Berlin:20270328T023000\n"
                      "DTEND;TZID=Europe/Berlin:20270328T031000\nSUMMARY:Gap"),
        _event("night", "DTSTART;TZID=Europe/Berlin:20271030T233000\n"
                        "DTEND;TZID=Europe/Berlin:20271031T023000\nSUMMARY:Night"),
        _event("hour", "DTSTART;TZID=Europe/Berlin:20270115T090000\n"
                       "DTEND;TZID=Europe/Berlin:20270115T100000\nSUMMARY:Hour"),
        _event("equal", "DTSTART;TZID=Europe/Berlin:20270115T090000\n"
                        "DTEND;TZID=Europe/Berlin:20270115T090000\nSUMMARY:Equal"),
    )  # fmt: skip
    _, out = _convert(feed, capsys, "--json", "--window", "400d")
    timers = {t["source"]["uid"]: t for t in json.loads(out)["timers"]}
    assert timers["gap"]["next_occurrence"] == "2027-03-28T01:30:00.000Z"
    assert {u for u, t in timers.items() if "dtend_before_dtstart" in _codes(t)} == {"gap"}


def _codes(entry: dict[str, object]) -> set[str]:
    warnings = entry.get("warnings", [])
    assert isinstance(warnings, list)
    return {w["code"] for w in warnings}


def test_rrule_with_stray_spaces_is_read_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """phpicalendar-style ``RRULE:…;BYDAY=TH `` was dropped: skipped as past, no warning."""
    feed = _write(tmp_path, _event("php", "DTSTART:20261001T090000Z\n"
                                   "RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=TH \nSUMMARY:Weekly"))
    _, out = _convert(feed, capsys, "--json")
    data = json.loads(out)
    assert data["skipped"] == []
    (timer,) = data["timers"]
    # dateutil on the rule without the space: Thursdays 09:00Z; the first after now is Dec 3.
    oracle = rrulestr("FREQ=WEEKLY;INTERVAL=1;BYDAY=TH", dtstart=datetime(2026, 10, 1, 9, 0,
                      tzinfo=UTC)).after(datetime(2026, 11, 30, tzinfo=UTC))
    assert timer["next_occurrence"] == oracle.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert timer["strategy"] == "native"
    assert "property_repaired" in _codes(timer)
    assert "property_repaired" in {w["code"] for w in data["warnings"]}  # file level too


def test_unreadable_rrule_is_reported_per_event_in_json_and_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = _write(
        tmp_path,
        _event("past-start", "DTSTART:20261001T090000Z\nRRULE:FREQ=WEEKLY;BYDAY=THURSDAY\n"
               "SUMMARY:Started"),
        _event("future-start", "DTSTART:20261210T090000Z\nRRULE:FREQ=WEEKLY;BYDAY=THURSDAY\n"
               "SUMMARY:Starts soon"),
    )  # fmt: skip
    _, out = _convert(feed, capsys, "--json")
    data = json.loads(out)
    # Not "past": the series probably goes on, but its occurrences are unknown.
    (skip,) = data["skipped"]
    assert skip["uid"] == "past-start" and skip["code"] == "unsupported"
    assert "bad_rrule" in _codes(skip)
    (timer,) = data["timers"]
    assert timer["source"]["uid"] == "future-start"
    assert timer["next_occurrence"] == "2026-12-10T09:00:00.000Z"  # DTSTART is an occurrence
    assert {"bad_rrule", "recurrence_dropped"} <= _codes(timer)
    assert {w["code"] for w in data["warnings"]} == {"bad_property"}  # file-level list

    _, table = _convert(feed, capsys)  # no -v: the user still sees both events' problem
    assert "bad_rrule" in table.split("timer(s)")[0]  # the timer's row
    assert "skipped past-start: unsupported" in table and table.count("bad_rrule") == 2


def test_json_keeps_its_keys_and_adds_feed_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = _write(tmp_path, _event("ok", "DTSTART:20261210T090000Z\nSUMMARY:Fine"))
    _, out = _convert(feed, capsys, "--json")
    data = json.loads(out)
    assert list(data) == ["timers", "skipped", "warnings"]
    assert data["warnings"] == []
    (timer,) = data["timers"]
    assert list(timer) == ["timer", "source", "strategy", "next_occurrence", "warnings"]


def test_rrule_line_that_cannot_even_be_split_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """icalendar drops such a line with an error that names no property: it was silent."""
    feed = _write(tmp_path, _event("unsplit", "DTSTART:20261001T090000Z\n"
                                   "RRULE;=:FREQ=WEEKLY\nSUMMARY:Weekly"))  # fmt: skip
    _, out = _convert(feed, capsys, "--json")
    (skip,) = json.loads(out)["skipped"]
    assert skip["code"] == "unsupported" and "bad_rrule" in _codes(skip)
    assert ";=:FREQ=WEEKLY" in skip["warnings"][0]["message"]
