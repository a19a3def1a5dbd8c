"""The import table of MAPPING.md, one row at a time, on small inline calendars."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from ical_bridge.convert import to_json
from ical_bridge.recurrence import effective_target_date
from tests.conftest import OPENAPI
from tests.convert.convert_helpers import (
    NOW,
    by_label,
    calendar,
    codes,
    convert_text,
    skipped,
)

FUTURE = "DTSTART:20261201T100000Z"


def one(text: str, **options: object) -> object:
    result = convert_text(text, **options)
    assert len(result.timers) == 1, (result.timers, result.skipped)
    return result.timers[0]


# -- labels and descriptions -------------------------------------------------------------


def test_label_is_trimmed_folded_and_cut_at_200_with_an_ellipsis() -> None:
    long = "word " * 60
    draft = one(calendar(f"UID:a\n{FUTURE}\nSUMMARY:  {long}  "))
    label = draft.timer["label"]  # type: ignore[attr-defined]
    assert len(label) == 200 and label.endswith("…") and "  " not in label
    assert "label_truncated" in codes(draft)
    folded = one(calendar(f"UID:b\n{FUTURE}\nSUMMARY:  Tea \\n and\tcake  "))
    assert folded.timer["label"] == "Tea and cake"  # type: ignore[attr-defined]
    assert not codes(folded)


def test_missing_summary_is_untitled_with_a_warning() -> None:
    draft = one(calendar(f"UID:a\n{FUTURE}"))
    assert draft.timer["label"] == "(untitled)"  # type: ignore[attr-defined]
    assert "untitled" in codes(draft)


def test_description_is_cut_at_200_and_location_only_added_when_it_fits() -> None:
    text = "x" * 250
    draft = one(calendar(f"UID:a\n{FUTURE}\nSUMMARY:S\nDESCRIPTION:{text}\nLOCATION:Hall"))
    description = draft.timer["description"]  # type: ignore[attr-defined]
    assert len(description) == 200 and description.endswith("…")
    assert "description_truncated" in codes(draft)
    short = one(calendar(f"UID:b\n{FUTURE}\nSUMMARY:S\nDESCRIPTION:Hi\nURL:https://ex.org/x"))
    assert short.timer["description"] == "Hi\nhttps://ex.org/x"  # type: ignore[attr-defined]


# -- times and zones ---------------------------------------------------------------------


def test_dst_gap_moves_forward_and_overlap_takes_the_first_instant() -> None:
    result = convert_text(
        calendar(
            "UID:gap\nSUMMARY:Gap\nDTSTART;TZID=Europe/Berlin:20270328T023000",
            "UID:overlap\nSUMMARY:Overlap\nDTSTART;TZID=Europe/Berlin:20271031T023000",
        ),
        window=timedelta(days=400),
    )
    drafts = by_label(result)
    # 02:30 does not exist on 2027-03-28: 03:30 CEST = 01:30Z
    assert drafts["Gap"].timer["target_date"] == "2027-03-28T01:30:00.000Z"
    assert "dst_gap" in codes(drafts["Gap"])
    # 02:30 happens twice on 2027-10-31: the first is CEST, 00:30Z
    assert drafts["Overlap"].timer["target_date"] == "2027-10-31T00:30:00.000Z"
    assert "dst_ambiguous" in codes(drafts["Overlap"])


def test_series_on_a_dst_edge_is_rolling_unless_native_is_forced() -> None:
    # Sundays 02:30 in Berlin: 2027-03-28 falls into the gap.
    text = calendar(
        "UID:edge\nSUMMARY:Night job\nDTSTART;TZID=Europe/Berlin:20261206T023000\nRRULE:FREQ=WEEKLY"
    )
    auto = one(text)
    assert auto.strategy == "rolling"  # type: ignore[attr-defined]
    assert auto.timer["target_date"] == "2026-12-06T01:30:00.000Z"  # type: ignore[attr-defined]
    forced = one(text, strategy="native")
    assert forced.strategy == "native"  # type: ignore[attr-defined]
    assert "dst_edge" in codes(forced)


def test_recurring_start_with_seconds_drops_them_with_a_warning() -> None:
    draft = one(
        calendar("UID:s\nSUMMARY:S\nDTSTART;TZID=Asia/Tokyo:20261201T090030\nRRULE:FREQ=DAILY")
    )
    assert draft.strategy == "native"  # type: ignore[attr-defined]
    assert "seconds_dropped" in codes(draft)
    timer = draft.timer  # type: ignore[attr-defined]
    nxt = effective_target_date(timer["target_date"], timer["timezone"], timer["recurrence"], NOW)
    assert nxt == "2026-12-01T00:00:00.000Z"


def test_custom_fixed_offset_zone_without_iana_match_keeps_the_instant() -> None:
    text = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VTIMEZONE\nTZID:Moonbase\n"
        "BEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0553\nTZOFFSETTO:+0553\n"
        "END:STANDARD\nEND:VTIMEZONE\nBEGIN:VEVENT\nUID:m\nSUMMARY:Launch\n"
        "DTSTART;TZID=Moonbase:20261201T120000\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    draft = one(text)
    assert draft.timer["target_date"] == "2026-12-01T06:07:00.000Z"  # type: ignore[attr-defined]
    assert "timezone_approximated" in codes(draft)


def test_unknown_tzid_is_read_as_floating_with_a_warning() -> None:
    draft = one(
        calendar("UID:u\nSUMMARY:U\nDTSTART;TZID=Mars/Olympus:20261201T120000"),
        default_tz="Asia/Tokyo",
    )
    assert draft.timer["timezone"] == "Asia/Tokyo"  # type: ignore[attr-defined]
    assert draft.timer["target_date"] == "2026-12-01T03:00:00.000Z"  # type: ignore[attr-defined]
    assert "unknown_timezone" in codes(draft)


def test_vendor_prefixed_tzid_resolves_to_iana() -> None:
    draft = one(
        calendar(
            "UID:v\nSUMMARY:V\nDTSTART;TZID=/mozilla.org/20070129_1/Europe/Berlin:20261201T120000"
        )
    )
    assert draft.timer["timezone"] == "Europe/Berlin"  # type: ignore[attr-defined]
    assert draft.timer["target_date"] == "2026-12-01T11:00:00.000Z"  # type: ignore[attr-defined]


# -- alarms ------------------------------------------------------------------------------


def _alarm(trigger: str) -> str:
    return f"BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:x\n{trigger}\nEND:VALARM"


def test_alarms_are_deduplicated_range_checked_and_capped_at_five() -> None:
    alarms = "\n".join(_alarm(f"TRIGGER:-PT{m}M") for m in (5, 5, 10, 15, 30, 60, 120, 50000))
    draft = one(calendar(f"UID:a\n{FUTURE}\nSUMMARY:A\n{alarms}"))
    assert draft.timer["reminders"] == [  # type: ignore[attr-defined]
        {"offset_minutes": m} for m in (5, 10, 15, 30, 60)
    ]
    assert {"alarms_truncated", "alarm_out_of_range"} <= codes(draft)


def test_absolute_alarm_on_a_one_off_becomes_an_offset() -> None:
    draft = one(
        calendar(
            f"UID:a\n{FUTURE}\nSUMMARY:A\n" + _alarm("TRIGGER;VALUE=DATE-TIME:20261201T080000Z")
        )
    )
    assert draft.timer["reminders"] == [{"offset_minutes": 120}]  # type: ignore[attr-defined]


def test_a_broken_trigger_costs_only_that_alarm() -> None:
    draft = one(
        calendar(
            f"UID:a\n{FUTURE}\nSUMMARY:Kept\nCREATED:00000101T000000Z\n"
            + _alarm("TRIGGER:PT-2H")
            + "\n"
            + _alarm("TRIGGER:-PT30M")
        )
    )
    assert draft.timer["label"] == "Kept"  # type: ignore[attr-defined]
    assert draft.timer["reminders"] == [{"offset_minutes": 30}]  # type: ignore[attr-defined]


def test_a_broken_utc_offset_costs_only_that_zone() -> None:
    text = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VTIMEZONE\nTZID:Broken\n"
        "BEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+5328\nTZOFFSETTO:+5328\n"
        "END:STANDARD\nEND:VTIMEZONE\n"
        "BEGIN:VEVENT\nUID:a\nSUMMARY:Fine\nDTSTART:20261201T100000Z\nEND:VEVENT\n"
        "BEGIN:VEVENT\nUID:b\nSUMMARY:Broken zone\nDTSTART;TZID=Broken:20261201T100000\n"
        "END:VEVENT\nEND:VCALENDAR\n"
    )
    result = convert_text(text)
    drafts = by_label(result)
    assert drafts["Fine"].timer["target_date"] == "2026-12-01T10:00:00.000Z"
    assert "unknown_timezone" in codes(drafts["Broken zone"])
    assert "bad_property" in {w.code for w in result.warnings}


# -- colour, categories, status, todos, since --------------------------------------------


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ("COLOR:cornflowerblue", "#6495ed"),
        ("X-APPLE-CALENDAR-COLOR:#1BADF8FF", "#1badf8"),
        ("X-TICKWARD-COLOR:#12ab9F", "#12ab9f"),
    ],
)
def test_colours_become_hex(prop: str, expected: str) -> None:
    draft = one(calendar(f"UID:c\n{FUTURE}\nSUMMARY:C\n{prop}"))
    assert draft.timer["color"] == expected  # type: ignore[attr-defined]


def test_cancelled_event_is_skipped_and_past_one_offs_too() -> None:
    result = convert_text(
        calendar(
            f"UID:c\n{FUTURE}\nSUMMARY:C\nSTATUS:CANCELLED",
            "UID:p\nDTSTART:20250101T100000Z\nSUMMARY:P",
            "UID:far\nDTSTART:20280101T100000Z\nSUMMARY:F",
        )
    )
    assert skipped(result) == {"c": "cancelled", "p": "past", "far": "outside_window"}
    wider = convert_text(calendar("UID:far\nDTSTART:20280101T100000Z\nSUMMARY:F"),
                         window=timedelta(days=800))  # fmt: skip
    assert [d.timer["target_date"] for d in wider.timers] == ["2028-01-01T10:00:00.000Z"]


def test_todos_with_due_only_when_asked() -> None:
    text = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VTODO\nUID:t\nSUMMARY:File taxes\n"
        "DUE:20261215T170000Z\nEND:VTODO\nBEGIN:VTODO\nUID:d\nSUMMARY:Done\n"
        "DUE:20261215T170000Z\nSTATUS:COMPLETED\nEND:VTODO\nEND:VCALENDAR\n"
    )
    assert not convert_text(text).timers
    result = convert_text(text, include_todos=True)
    assert [d.timer["label"] for d in result.timers] == ["File taxes"]
    assert result.timers[0].timer["target_date"] == "2026-12-15T17:00:00.000Z"
    assert skipped(result) == {"d": "ended"}


def test_duplicate_uid_keeps_the_newest_sequence() -> None:
    result = convert_text(
        calendar(
            "UID:dup\nSEQUENCE:2\nDTSTAMP:20261101T000000Z\nSUMMARY:New\n" + FUTURE,
            "UID:dup\nSEQUENCE:1\nDTSTAMP:20261110T000000Z\nSUMMARY:Old\n" + FUTURE,
        )
    )
    assert [d.timer["label"] for d in result.timers] == ["New"]
    assert "duplicate_uid" in {w.code for w in result.warnings}


def test_since_mode_exported_by_the_bridge_comes_back_as_a_count_up() -> None:
    draft = one(
        calendar("UID:s\nSUMMARY:Quit smoking\nDTSTART:20250101T000000Z\nX-TICKWARD-MODE:since")
    )
    timer = draft.timer  # type: ignore[attr-defined]
    assert timer["mode"] == "since" and "recurrence" not in timer
    assert timer["target_date"] == "2025-01-01T00:00:00.000Z"
    assert timer["milestones"]["rules"]


# -- strategies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "types"),
    [
        ("FREQ=MONTHLY;BYMONTHDAY=1,15", ["monthly", "monthly"]),
        ("FREQ=DAILY;BYHOUR=9,17", ["daily", "daily"]),
        ("FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=1", ["yearly", "yearly"]),
    ],
)
def test_unions_of_slots_are_split(rule: str, types: list[str]) -> None:
    result = convert_text(
        calendar(f"UID:u\nSUMMARY:U\nDTSTART;TZID=Asia/Tokyo:20260101T090000\nRRULE:{rule}")
    )
    assert [d.strategy for d in result.timers] == ["split"] * len(types)
    assert sorted(d.timer["recurrence"]["type"] for d in result.timers) == types


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;INTERVAL=2",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=DAILY;BYHOUR=1,2,3,4,5,6,7,8,9",
    ],
)
def test_rules_tickward_cannot_repeat_are_rolling(rule: str) -> None:
    draft = one(
        calendar(f"UID:r\nSUMMARY:R\nDTSTART;TZID=Asia/Tokyo:20260105T010000\nRRULE:{rule}")
    )
    assert draft.strategy == "rolling"  # type: ignore[attr-defined]
    assert draft.timer["recurrence"] is None  # type: ignore[attr-defined]


def test_this_and_future_override_moves_every_later_occurrence() -> None:
    draft = one(
        calendar(
            "UID:t\nSUMMARY:Sync\nDTSTART;TZID=Asia/Tokyo:20260105T090000\nRRULE:FREQ=WEEKLY",
            "UID:t\nSUMMARY:Sync (later)\nRECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Asia/Tokyo:"
            "20261116T090000\nDTSTART;TZID=Asia/Tokyo:20261116T110000",
        )
    )
    # Mondays from Nov 16 moved to 11:00 Tokyo: Nov 23 11:00 JST = 02:00Z
    assert draft.timer["target_date"] == "2026-11-23T02:00:00.000Z"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ("RRULE:FREQ=WEEKLY\nEXRULE:FREQ=WEEKLY;INTERVAL=2", "unsupported"),
        ("RRULE:RSCALE=HEBREW;FREQ=YEARLY", "unsupported"),
        ("RRULE:FREQ=HOURLY", "unsupported"),
        ("RRULE:FREQ=DAILY;UNTIL=20260110T000000Z", "ended"),
    ],
)
def test_unsupported_and_ended_series_are_skipped(lines: str, code: str) -> None:
    result = convert_text(calendar(f"UID:x\nSUMMARY:X\nDTSTART:20260105T090000Z\n{lines}"))
    assert not result.timers
    assert skipped(result) == {"x": code}


# -- JSON contract -----------------------------------------------------------------------


def test_json_timers_are_valid_timer_create_requests() -> None:
    spec = json.loads(OPENAPI.read_text())
    schemas = spec["components"]["schemas"]
    timer_schema = {**schemas["TimerCreateRequest"], "components": spec["components"]}
    result = convert_text(
        calendar(
            "UID:a\nSUMMARY:A\nDTSTART;TZID=Europe/Paris:20260105T090000\nRRULE:FREQ=WEEKLY\n"
            "COLOR:gold\n" + _alarm("TRIGGER:-PT10M"),
            f"UID:b\n{FUTURE}\nSUMMARY:B\nDESCRIPTION:d",
        )
    )
    data = to_json(result)
    assert set(data) == {"timers", "skipped", "warnings"}
    assert len(data["timers"]) == 2
    for entry in data["timers"]:
        assert set(entry) == {"timer", "source", "strategy", "next_occurrence", "warnings"}
        body = {k: v for k, v in entry["timer"].items() if v is not None}
        jsonschema.validate(body, timer_schema)
        assert entry["timer"]["target_date"].endswith("Z")
        assert set(entry["source"]) == {"uid", "recurrence_id", "part"}
        assert entry["next_occurrence"].endswith("Z")
    assert json.loads(json.dumps(data)) == data


def test_now_must_be_aware() -> None:
    from ical_bridge.errors import UserError

    with pytest.raises(UserError):
        convert_text(calendar(f"UID:a\n{FUTURE}"), now=datetime(2026, 1, 1))
    later = convert_text(calendar(f"UID:a\n{FUTURE}"), now=datetime(2026, 12, 2, tzinfo=UTC))
    assert skipped(later) == {"a": "past"}


def test_forced_native_keeps_a_series_whose_first_slot_is_ambiguous() -> None:
    # Regression (found by the round-trip suite): monthly on the 2nd at 01:59 New York; the
    # first slot, 2025-11-02 01:59, happens twice. The DST-edge scan started at a moved
    # anchor, missed that date and fell back to rolling.
    text = calendar(
        "UID:m\nSUMMARY:M\nDTSTART;TZID=America/New_York:20251102T015900\nRRULE:FREQ=MONTHLY"
    )
    now = datetime(2025, 10, 20, tzinfo=UTC)
    auto = one(text, now=now)
    assert auto.strategy == "rolling"  # type: ignore[attr-defined]
    forced = one(text, now=now, strategy="native")
    assert forced.strategy == "native"  # type: ignore[attr-defined]
    assert "dst_edge" in codes(forced)
    timer = forced.timer  # type: ignore[attr-defined]
    # The slot stays 01:59 local: RFC's first instance (EDT, 05:59Z) reads back as 01:59.
    assert timer["target_date"] == "2025-11-02T05:59:00.000Z"
    later = datetime(2025, 11, 3, tzinfo=UTC)
    assert (
        effective_target_date(timer["target_date"], timer["timezone"], timer["recurrence"], later)
        == "2025-12-02T06:59:00.000Z"
    )
