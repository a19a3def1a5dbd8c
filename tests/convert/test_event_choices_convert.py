"""The converter's side of the user's event choices: targets at the end, filters, reminders.

Expected instants are worked out by hand from the calendars (and, for series, checked
against recurring-ical-events, an independent RFC 5545 expander).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import recurring_ical_events
from convert_helpers import NOW, by_label, calendar, convert_text, skipped
from icalendar import Calendar

from ical_bridge.convert.choices import EventChoices, parse_instant, parse_reminders
from ical_bridge.errors import UserError

_END = EventChoices(target="end")


def test_a_long_event_that_started_days_ago_counts_down_to_its_end() -> None:
    text = calendar("UID:conf\nDTSTART:20261118T090000Z\nDTEND:20261125T170000Z\n"
                    "SUMMARY:Conference")
    assert skipped(convert_text(text)) == {"conf": "past"}
    (draft,) = convert_text(text, choices=_END).timers
    assert draft.timer["target_date"] == "2026-11-25T17:00:00.000Z"


def test_end_target_of_a_series_with_exdate_and_moved_override_matches_an_expander() -> None:
    text = calendar(
        "UID:s\nDTSTART;TZID=Europe/Berlin:20261123T100000\n"
        "DTEND;TZID=Europe/Berlin:20261123T110000\nRRULE:FREQ=WEEKLY;COUNT=6\n"
        "EXDATE;TZID=Europe/Berlin:20261130T100000\nSUMMARY:Sync",
        "UID:s\nRECURRENCE-ID;TZID=Europe/Berlin:20261207T100000\n"
        "DTSTART;TZID=Europe/Berlin:20261208T140000\nDTEND;TZID=Europe/Berlin:20261208T143000\n"
        "SUMMARY:Sync (moved)",
    )
    ends = sorted(
        (e["DTEND"].dt.astimezone(UTC) for e in recurring_ical_events.of(
            Calendar.from_ical(text)).between(NOW - timedelta(days=1), NOW + timedelta(days=60))),
    )
    expected = [e for e in ends if e > NOW]
    result = convert_text(text, choices=_END, strategy="expand")
    got = sorted(d.next_occurrence for d in result.timers)
    assert got == expected
    assert datetime(2026, 11, 30, 10, tzinfo=UTC) not in got  # the EXDATE still applies
    assert datetime(2026, 12, 8, 13, 30, tzinfo=UTC) in got  # the override's own end
    rolling = convert_text(text, choices=_END)
    assert [d.next_occurrence for d in rolling.timers] == expected[:1]


def test_a_cancelled_override_still_cancels_its_occurrence_with_target_end() -> None:
    text = calendar(
        "UID:s\nDTSTART:20261123T100000Z\nDTEND:20261123T110000Z\nRRULE:FREQ=DAILY;COUNT=3\n"
        "SUMMARY:Daily",
        "UID:s\nRECURRENCE-ID:20261123T100000Z\nDTSTART:20261123T100000Z\n"
        "DTEND:20261123T110000Z\nSUMMARY:Cancelled: Daily",
    )
    result = convert_text(text, choices=_END, strategy="expand")
    assert [d.next_occurrence.day for d in result.timers] == [24, 25]


def test_method_cancel_marks_every_component_and_says_so() -> None:
    text = calendar("UID:a\nDTSTART:20261201T100000Z\nSUMMARY:A",
                    "UID:b\nDTSTART:20261202T100000Z\nSUMMARY:B", header="METHOD:CANCEL")
    result = convert_text(text)
    assert not result.timers and skipped(result) == {"a": "cancelled", "b": "cancelled"}
    assert {w.code for s in result.skipped for w in s.warnings} == {"cancelled_by_method"}


def test_filters_see_the_master_not_each_override() -> None:
    text = calendar(
        "UID:s\nDTSTART:20261201T100000Z\nRRULE:FREQ=DAILY;COUNT=3\nSUMMARY:Standup",
        "UID:s\nRECURRENCE-ID:20261202T100000Z\nDTSTART:20261202T120000Z\nSUMMARY:Other",
    )
    kept = convert_text(text, strategy="expand", choices=EventChoices(include="standup"))
    assert len(kept.timers) == 3
    gone = convert_text(text, strategy="expand", choices=EventChoices(exclude="standup"))
    assert not gone.timers and skipped(gone) == {"s": "filtered"}


def test_a_filtered_out_cancelled_event_is_reported_as_cancelled() -> None:
    text = calendar("UID:c\nDTSTART:20261201T100000Z\nSUMMARY:Canceled: Lunch")
    result = convert_text(text, choices=EventChoices(exclude="lunch"))
    assert skipped(result) == {"c": "cancelled"}


def test_reminders_after_start_alarm_and_merge_cap_at_five() -> None:
    alarms = "".join(f"BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT{m}M\nEND:VALARM\n"
                     for m in (1, 2, 3))
    text = calendar(f"UID:r\nDTSTART:20261201T100000Z\nSUMMARY:R\n{alarms}")
    choices = EventChoices(reminders=parse_reminders(["10m", "1h", "1d"]), alarms="merge")
    (draft,) = convert_text(text, choices=choices).timers
    assert [r["offset_minutes"] for r in draft.timer["reminders"]] == [1, 2, 3, 10, 60]
    assert "alarms_truncated" in {w.code for w in draft.warnings}
    assert by_label(convert_text(text))["R"].timer["notify"] is True


@pytest.mark.parametrize(("given", "minutes"), [
    (["15m", "1d"], (15, 1440)), ("1h,30", (30, 60)), ([0, "PT2H", "15m", 15], (0, 15, 120)),
    (None, ()), (["4w"], (40320,)),
])  # fmt: skip
def test_parse_reminders(given: object, minutes: tuple[int, ...]) -> None:
    assert parse_reminders(given) == minutes


@pytest.mark.parametrize("bad", [["4w1m"], ["30s"], ["x"], [True], 15])
def test_parse_reminders_refuses(bad: object) -> None:
    with pytest.raises(UserError):
        parse_reminders(bad)


def test_parse_instant_and_bad_choices() -> None:
    assert parse_instant("2026-12-01") == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_instant("2026-12-01T10:00:00+01:00") == datetime(2026, 12, 1, 9, tzinfo=UTC)
    with pytest.raises(UserError):
        parse_instant("next week")
    with pytest.raises(UserError):
        EventChoices(include="(")
    with pytest.raises(UserError):
        EventChoices(alarms="sometimes")
