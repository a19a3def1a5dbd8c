"""Issue 11.5: an all-day event survives tickward and comes back as an all-day event.

tickward has no all-day flag: the import puts an all-day date at 00:00 in its
zone, and the export writes a timer at exactly local midnight as
``DTSTART;VALUE=DATE`` with ``X-TICKWARD-TIMEZONE`` naming whose midnight it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import icalendar
import pytest
from roundtrip_server import Tickward, comparable

SAMPLE_FEEDS = Path(__file__).resolve().parents[2] / "sample_feeds"
HOLIDAYS = (SAMPLE_FEEDS / "holidays_all_day_yearly.ics").read_bytes()


@pytest.fixture
def tickward(tmp_path: Path) -> Iterator[Tickward]:
    tw = Tickward.open(tmp_path)
    yield tw
    tw.close()


def _days(data: bytes) -> dict[str, object]:
    """SUMMARY → DTSTART value of every event (a ``date`` for an all-day event)."""
    cal = icalendar.Calendar.from_ical(data)
    return {str(e["SUMMARY"]): e["DTSTART"].dt for e in cal.walk("VEVENT")}


def test_all_day_events_round_trip_as_all_day_through_the_local_server(
    tickward: Tickward,
) -> None:
    tickward.import_(HOLIDAYS, "Holidays", "holidays", local_timezone="America/Chicago")
    _, stored = tickward.project_timers("Holidays")
    assert {t["timezone"] for t in stored} == {"America/Chicago"}
    exported = tickward.export("Holidays")
    assert b"T000000Z" not in exported
    days = _days(exported)
    original = _days(HOLIDAYS)
    assert set(days) == set(original)
    for label, value in days.items():
        # all-day again, and (for the series) on a day of the same yearly rule
        assert isinstance(value, date) and not hasattr(value, "hour"), (label, value)
    assert days["Christmas Day"].strftime("%m-%d") == "12-25"  # type: ignore[attr-defined]
    # Importing the export elsewhere (another machine's zone) gives the same timers back.
    tickward.import_(exported, "Again", "again", local_timezone="Asia/Tokyo")
    _, again = tickward.project_timers("Again")
    assert comparable(again) == comparable(stored)
    assert tickward.export("Again").count(b"VALUE=DATE") == exported.count(b"VALUE=DATE")


def test_a_timed_event_is_not_turned_into_an_all_day_one(tickward: Tickward) -> None:
    text = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:t\r\n"
        b"SUMMARY:Talk\r\nDTSTART;TZID=Europe/Paris:20261210T093000\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )
    tickward.import_(text, "Talks", "talks")
    exported = tickward.export("Talks")
    assert b"DTSTART;TZID=Europe/Paris:20261210T093000" in exported
    assert b"VALUE=DATE" not in exported
