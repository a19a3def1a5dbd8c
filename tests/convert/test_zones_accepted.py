"""Every zone the converter emits is one the real tickward accepts, with the same instants
(issue 9.1), and a file's own VTIMEZONE beats a standard name it only resembles (issue 11.1b)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from ical_bridge.recurrence import effective_target_date, parse_iso
from ical_bridge.timezones import is_accepted
from tests.conftest import CORPUS
from tests.convert.convert_helpers import NOW, calendar, codes, convert_text

ISSUE_9_ZONES = ["Asia/Kolkata", "Europe/Kyiv", "Asia/Kathmandu", "US/Eastern",
                 "America/Argentina/Buenos_Aires", "Etc/GMT-3", "Canada/Saskatchewan", "Etc/UTC"]


@pytest.mark.parametrize("name", ISSUE_9_ZONES)
def test_issue_9_zones_are_sent_accepted_at_the_same_instant(name: str) -> None:
    result = convert_text(calendar(f"UID:z\nSUMMARY:Z\nDTSTART;TZID={name}:20261210T093000"))
    (draft,) = result.timers
    assert is_accepted(draft.timer["timezone"])
    expected = datetime(2026, 12, 10, 9, 30, tzinfo=ZoneInfo(name)).astimezone(UTC)
    assert parse_iso(draft.timer["target_date"]) == expected
    # The wall clock a user sees in the sent zone is the one the file wrote.
    shown = expected.astimezone(ZoneInfo(draft.timer["timezone"]))
    assert (shown.hour, shown.minute) == (9, 30)


def test_an_alias_is_silent_a_fixed_offset_substitute_is_explained() -> None:
    kolkata = convert_text(calendar("UID:k\nSUMMARY:K\nDTSTART;TZID=Asia/Kolkata:20261210T093000"))
    assert kolkata.timers[0].timer["timezone"] == "Asia/Calcutta"
    assert not codes(kolkata.timers[0])
    fixed = convert_text(calendar("UID:f\nSUMMARY:F\nDTSTART;TZID=Etc/GMT-12:20261210T093000"))
    (draft,) = fixed.timers
    assert "timezone_substituted" in codes(draft)
    message = next(w.message for w in draft.warnings if w.code == "timezone_substituted")
    assert "Etc/GMT-12 (UTC+12)" in message


def test_fixed_offset_series_stays_native_in_a_substitute_with_the_same_occurrences() -> None:
    text = calendar("UID:w\nSUMMARY:Weekly\nDTSTART;TZID=Etc/GMT-3:20261203T150000\n"
                    "RRULE:FREQ=WEEKLY")
    (draft,) = convert_text(text).timers
    timer = draft.timer
    assert draft.strategy == "native" and is_accepted(timer["timezone"])
    rule = rrulestr("FREQ=WEEKLY", dtstart=datetime(2026, 12, 3, 15, tzinfo=ZoneInfo("Etc/GMT-3")))
    for now in (NOW, datetime(2031, 7, 1, tzinfo=UTC), datetime(2040, 3, 30, tzinfo=UTC)):
        expected = rule.after(now).astimezone(UTC)
        got = effective_target_date(timer["target_date"], timer["timezone"], timer["recurrence"],
                                    now)
        assert parse_iso(got) == expected


def test_utc_minus_12_has_no_accepted_zone_so_utc_at_the_instant_and_series_roll() -> None:
    one_off = convert_text(calendar("UID:o\nSUMMARY:O\nDTSTART;TZID=Etc/GMT+12:20261210T093000"))
    (draft,) = one_off.timers
    assert draft.timer["timezone"] == "UTC"
    assert draft.timer["target_date"] == "2026-12-10T21:30:00.000Z"
    assert "timezone_fallback" in codes(draft)
    assert any("UTC-12" in w.message for w in draft.warnings)
    series = convert_text(calendar("UID:s\nSUMMARY:S\nDTSTART;TZID=Etc/GMT+12:20261203T093000\n"
                                   "RRULE:FREQ=WEEKLY"))
    (rolled,) = series.timers
    assert rolled.strategy == "rolling" and rolled.timer["timezone"] == "UTC"
    assert rolled.timer["target_date"] == "2026-12-03T21:30:00.000Z"


def test_custom_zone_warnings_never_show_python_reprs() -> None:
    path = CORPUS / "icalendar/src/icalendar/tests/calendars"
    path = path / "issue_722_timezone_transition_ambiguity.ics"
    result = convert_text(path.read_text(), now=datetime(2024, 1, 2, tzinfo=UTC),
                          window=timedelta(days=366))
    messages = [w.message for d in result.timers for w in d.warnings]
    assert messages and all(d.timer["timezone"] == "UTC" for d in result.timers)
    assert not [m for m in messages if re.search(r"<\w+|object at 0x|tzical", m)]
    assert any('"MyTimezone"' in m for m in messages)


# -- issue 11.1b: python-recurring-ical-events/benchmark/issue42.ics ------------------------

ISSUE42 = CORPUS / "python-recurring-ical-events/benchmark/issue42.ics"
LISBON_NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _file_zone(cal: Calendar, tzid: str) -> object:
    (comp,) = [c for c in cal.walk("VTIMEZONE") if str(c["TZID"]) == tzid]
    return comp.to_tz(lookup_tzid=False)


def test_lower_case_lisbon_with_cet_rules_keeps_the_files_instants() -> None:
    """The file defines ``Europe/lisbon`` with CET rules (UTC+1/+2): its events come out at
    the file's instants, not an hour late as in Europe/Lisbon, and say so."""
    raw = ISSUE42.read_bytes()
    cal = Calendar.from_ical(raw)
    own = _file_zone(cal, "Europe/lisbon")
    oracle: dict[str, datetime] = {}
    for event in cal.walk("VEVENT"):
        start = event.get("DTSTART")
        if start is None or str(start.params.get("TZID", "")) != "Europe/lisbon":
            continue
        if event.get("RECURRENCE-ID") is not None or event.get("RRULE") is None:
            continue
        rule = event["RRULE"].to_ical().decode()
        if "INTERVAL" in rule or "COUNT" in rule or "UNTIL" in rule or event.get("EXDATE"):
            continue
        wall = start.dt.replace(tzinfo=None)
        nxt = rrulestr(rule, dtstart=wall).after(
            LISBON_NOW.astimezone(own).replace(tzinfo=None))  # type: ignore[arg-type]
        oracle[str(event["UID"])] = nxt.replace(tzinfo=own).astimezone(UTC)
    assert len(oracle) >= 10
    result = convert_text(raw.decode(), now=LISBON_NOW, window=timedelta(days=366))
    drafts = {d.source.uid: d for d in result.timers if d.source.uid in oracle}
    assert set(drafts) == set(oracle)
    for uid, draft in drafts.items():
        assert draft.next_occurrence == oracle[uid], uid
        assert is_accepted(draft.timer["timezone"])
        assert draft.timer["timezone"] != "Europe/Lisbon"
        assert "timezone_guessed" in codes(draft)
