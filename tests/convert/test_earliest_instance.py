"""The next occurrence of a series is the earliest of all its instances (issue 11, item 1).

An override moving the first instance earlier (same day or the day before)
and an RDATE before DTSTART are instances too. The expected instants come from
recurring-ical-events run on the raw file (an independent RFC 5545 expander).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from ical_bridge.cli import main
from tests.conftest import CORPUS

NOW = "2026-11-30T00:00:00Z"

_MASTER = """BEGIN:VEVENT
UID:weekly-thu@example.com
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Paris:20261203T150000
DTEND;TZID=Europe/Paris:20261203T160000
RRULE:FREQ=WEEKLY
SUMMARY:Thursday sync
END:VEVENT
"""


def _moved(day: str) -> str:
    return f"""BEGIN:VEVENT
UID:weekly-thu@example.com
DTSTAMP:20261101T000000Z
RECURRENCE-ID;TZID=Europe/Paris:20261203T150000
DTSTART;TZID=Europe/Paris:{day}T103000
DTEND;TZID=Europe/Paris:{day}T113000
SUMMARY:Thursday sync (moved)
END:VEVENT
"""


_RDATE_EARLY = """BEGIN:VEVENT
UID:rdate-early@example.com
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Paris:20261210T150000
RRULE:FREQ=WEEKLY
RDATE;TZID=Europe/Paris:20261201T120000
SUMMARY:Kick-off
END:VEVENT
"""


def _calendar(*events: str) -> str:
    body = "".join(events)
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{body}END:VCALENDAR\n"


def _oracle_next(text: str, now: datetime) -> datetime:
    """The first instance after ``now`` per recurring-ical-events."""
    cal = icalendar.Calendar.from_ical(text)
    found = recurring_ical_events.of(cal).between(now, datetime(2027, 6, 1, tzinfo=UTC))
    return min(e["DTSTART"].dt.astimezone(UTC) for e in found if e["DTSTART"].dt > now)


def _convert_json(path: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    with pytest.raises(SystemExit) as exited:
        main(["convert", path, "--now", NOW, "--json"])
    out, err = capsys.readouterr()
    assert exited.value.code == 0, err
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    ("text", "expected_local"),
    [
        (_calendar(_MASTER, _moved("20261203")), "2026-12-03 10:30"),  # same day, earlier
        (_calendar(_MASTER, _moved("20261202")), "2026-12-02 10:30"),  # the day before
        (_calendar(_moved("20261202"), _MASTER), "2026-12-02 10:30"),  # override first in file
        (_calendar(_RDATE_EARLY), "2026-12-01 12:00"),  # RDATE before DTSTART
    ],
    ids=["moved-same-day", "moved-day-before", "override-listed-first", "rdate-before-dtstart"],
)
def test_next_occurrence_is_the_earliest_instance(
    text: str, expected_local: str, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    feed = Path(str(tmp_path)) / "series.ics"
    feed.write_text(text)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    oracle = _oracle_next(text, now)
    paris = oracle.astimezone(ZoneInfo("Europe/Paris"))
    assert paris.strftime("%Y-%m-%d %H:%M") == expected_local  # the oracle agrees with the issue
    data = _convert_json(str(feed), capsys)
    timers = data["timers"]
    assert isinstance(timers, list) and len(timers) == 1
    timer = timers[0]
    assert timer["next_occurrence"] == oracle.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert timer["timer"]["target_date"] == timer["next_occurrence"]
    assert timer["timer"]["timezone"] == "Europe/Paris"
    assert timer["strategy"] == "rolling"  # a future override/RDATE is no native slot


def test_google_birthday_rdates_before_dtstart_come_first(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """ical.js's Google birthday sample: DTSTART 2014, RDATEs 2012 and 2013 (written ``…Z``)."""
    source = CORPUS / "ical.js" / "samples" / "google_birthday.ics"
    text = source.read_text()
    # The oracle reads Google's ``RDATE:20121210Z`` the way ical.js does: as a DATE.
    fixed = re.sub(r"RDATE:(\d{8})Z", r"RDATE;VALUE=DATE:\1", text)
    now = datetime(2011, 1, 1, tzinfo=UTC)
    cal = icalendar.Calendar.from_ical(fixed)
    days = sorted(
        e["DTSTART"].dt
        for e in recurring_ical_events.of(cal).between(now, datetime(2016, 1, 1, tzinfo=UTC))
        if str(e["UID"]) == "2014_BIRTHDAY_79d389868f96182e@google.com"
    )
    assert days[0] == date(2012, 12, 10)
    # All-day dates sit at midnight in the calendar's X-WR-TIMEZONE.
    expected = datetime.combine(days[0], time(0), ZoneInfo("America/Los_Angeles"))
    with pytest.raises(SystemExit):
        main(["convert", str(source), "--now", "2011-01-01T00:00:00Z", "--json"])
    data = json.loads(capsys.readouterr().out)
    (timer,) = [t for t in data["timers"] if t["source"]["uid"].startswith("2014_")]
    assert timer["next_occurrence"] == expected.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert timer["strategy"] == "rolling"
    assert {w["code"] for w in timer["warnings"]} >= {"property_repaired"}
