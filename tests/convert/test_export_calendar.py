"""Exported calendars: valid RFC 5545 that independent parsers and expanders read right."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import vobject
from dateutil import rrule as du_rrule
from hypothesis import given, settings
from hypothesis import strategies as st

from ical_bridge.convert.export import export_calendar
from ical_bridge.recurrence import (
    Slot,
    effective_target_date,
    is_dst_edge,
    occurrences,
    parse_iso,
    rfc_local_to_utc,
    tickward_local_to_utc,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def timer(**fields: Any) -> dict[str, Any]:
    """A tickward Timer object as /sync returns it."""
    base: dict[str, Any] = {
        "object": "timer",
        "id": "icb_0123456789abcdef",
        "project_id": "proj_1",
        "project_name": "Team",
        "label": "Launch",
        "target_date": "2026-12-24T17:00:00.000Z",
        "effective_target_date": "2026-12-24T17:00:00.000Z",
        "timezone": "Europe/Berlin",
        "created_at": "2026-11-01T10:00:00.000Z",
        "updated_at": "2026-11-01T10:00:00.000Z",
        "archived_at": None,
        "color": None,
        "description": None,
        "space_id": None,
        "shared_at": None,
        "notify": False,
        "mode": "until",
        "milestones": None,
        "recurrence": None,
        "pinned": False,
        "image": None,
        "reminders": [],
    }
    base.update(fields)
    return base


def export(*timers: dict[str, Any], **kw: Any) -> bytes:
    kw.setdefault("project_id", "proj_1")
    kw.setdefault("calendar_name", "Team")
    kw.setdefault("now", NOW)
    return export_calendar(list(timers), **kw)


def events(data: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(data).walk("VEVENT"))


# --- format ---------------------------------------------------------------------------------


def test_lines_are_crlf_and_at_most_75_octets_even_with_multibyte_text() -> None:
    label = "Ünïcödé 日本語のラベル 🎉 " * 6
    data = export(timer(label=label[:200], description="a,b;c\\d\nnext line 日本語" * 4))
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    for line in data.split(b"\r\n")[:-1]:
        assert len(line) <= 75
        line.decode("utf-8")  # no UTF-8 sequence was split by folding
    (event,) = events(data)
    assert str(event["SUMMARY"]) == label[:200]
    vevent = vobject.readOne(data.decode("utf-8"), validate=True).vevent
    assert vevent.summary.value == label[:200]
    assert vevent.description.value == "a,b;c\\d\nnext line 日本語" * 4


def test_both_parsers_read_the_calendar_cleanly() -> None:
    data = export(
        timer(id="icb_a", recurrence={"type": "weekly", "enabled": True}, color="#ff7f50"),
        timer(id="icb_b", timezone="America/New_York", notify=True,
              reminders=[{"offset_minutes": 15}, {"offset_minutes": 0}]),
        timer(id="icb_c", timezone="UTC", description="plain"),
    )
    cal = icalendar.Calendar.from_ical(data)
    assert [c.errors for c in cal.walk() if c.errors] == []
    assert len(cal.walk("VEVENT")) == 3 and len(cal.walk("VTIMEZONE")) == 2
    parsed = vobject.readOne(data.decode(), validate=True)
    assert sorted(str(e.uid.value) for e in parsed.vevent_list) == [
        "icb_a@proj_1.tickward", "icb_b@proj_1.tickward", "icb_c@proj_1.tickward"]


def test_calendar_properties() -> None:
    data = export(timer(), calendar_name="Team, Berlin", refresh_interval=timedelta(minutes=30))
    cal = icalendar.Calendar.from_ical(data)
    assert cal["VERSION"] == "2.0" and "PRODID" in cal and cal["CALSCALE"] == "GREGORIAN"
    # icalendar 7 hands NAME/X-WR-CALNAME back still escaped (vUnknown); vobject unescapes TEXT
    parsed = vobject.readOne(data.decode())
    assert parsed.x_wr_calname.value == "Team, Berlin"
    assert parsed.contents["name"][0].value == "Team, Berlin"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT30M\r\n" in data
    assert b"X-PUBLISHED-TTL:PT30M\r\n" in data
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/Berlin"
    mixed = icalendar.Calendar.from_ical(export(timer(), timer(id="icb_2", timezone="Asia/Tokyo")))
    assert "X-WR-TIMEZONE" not in mixed


# --- event fields ---------------------------------------------------------------------------


def test_event_fields_follow_the_mapping() -> None:
    data = export(
        timer(label="Launch", description="Go live", color="#1E90FE", notify=True,
              reminders=[{"offset_minutes": 60}, {"offset_minutes": 5}],
              created_at="2026-11-01T10:00:00.000Z", updated_at="2026-11-02T10:00:00.000Z"),
        duration=timedelta(minutes=15),
        share_urls={"icb_0123456789abcdef": "https://tickward.com/share/abc"},
    )
    (event,) = events(data)
    assert str(event["UID"]) == "icb_0123456789abcdef@proj_1.tickward"
    assert str(event["SUMMARY"]) == "Launch" and str(event["DESCRIPTION"]) == "Go live"
    start = event["DTSTART"].dt
    assert start.tzinfo is not None and str(event["DTSTART"].params["TZID"]) == "Europe/Berlin"
    assert start.astimezone(UTC) == datetime(2026, 12, 24, 17, 0, tzinfo=UTC)
    assert event["DURATION"].dt == timedelta(minutes=15)
    assert event["DTSTAMP"].dt == NOW
    assert event["LAST-MODIFIED"].dt == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert str(event["COLOR"]) == "dodgerblue" and str(event["X-TICKWARD-COLOR"]) == "#1e90fe"
    assert str(event["URL"]) == "https://tickward.com/share/abc"
    alarms = event.walk("VALARM")
    triggers = sorted(a["TRIGGER"].dt for a in alarms)
    assert triggers == [timedelta(minutes=-60), timedelta(minutes=-5)]
    assert {str(a["ACTION"]) for a in alarms} == {"DISPLAY"}
    assert "RRULE" not in event and "STATUS" not in event


def test_zero_duration_by_default_and_utc_zone_as_z() -> None:
    data = export(timer(timezone="UTC", target_date="2026-12-24T17:00:05.000Z"))
    assert b"DTSTART:20261224T170005Z\r\n" in data and b"DURATION:PT0S\r\n" in data
    assert b"VTIMEZONE" not in data


def test_no_alarms_without_notify() -> None:
    (event,) = events(export(timer(notify=False, reminders=[{"offset_minutes": 5}])))
    assert event.walk("VALARM") == []


def test_archived_timers_are_omitted_or_cancelled() -> None:
    archived = timer(id="icb_arch", archived_at="2026-11-10T00:00:00.000Z")
    assert [str(e["UID"]) for e in events(export(timer(), archived))] == [
        "icb_0123456789abcdef@proj_1.tickward"]
    both = {str(e["UID"]): e for e in events(export(timer(), archived, include_archived=True))}
    assert str(both["icb_arch@proj_1.tickward"]["STATUS"]) == "CANCELLED"


def test_since_timers_are_exported_at_their_anchor() -> None:
    (event,) = events(export(timer(mode="since", target_date="2020-01-01T00:00:00.000Z")))
    assert str(event["X-TICKWARD-MODE"]) == "since"
    assert event["DTSTART"].dt.astimezone(UTC) == datetime(2020, 1, 1, tzinfo=UTC)


def test_sequence_without_edit_counts_is_0_for_unedited_and_1_for_edited_timers() -> None:
    # Issue 11: SEQUENCE counts edits (small), never the seconds since creation.
    before = timer(updated_at="2026-11-01T10:00:00.000Z")
    after_label = timer(label="Launch v2", updated_at="2026-11-01T10:05:00.000Z")
    after_move = timer(target_date="2026-12-25T17:00:00.000Z",
                       updated_at="2026-11-03T08:00:00.000Z")
    seqs = [int(events(export(t))[0]["SEQUENCE"]) for t in (before, after_label, after_move)]
    assert seqs == [0, 1, 1]


def test_sequence_comes_from_the_edit_counts_given() -> None:
    edited = timer(label="Launch v3", updated_at="2026-11-03T08:00:00.000Z")
    other = timer(id="icb_other", updated_at="2026-11-05T08:00:00.000Z")
    got = {str(e["UID"]): int(e["SEQUENCE"])
           for e in events(export(edited, other, sequences={"icb_0123456789abcdef": 7}))}
    assert got == {"icb_0123456789abcdef@proj_1.tickward": 7, "icb_other@proj_1.tickward": 1}


def test_export_is_stable_across_runs() -> None:
    timers = [timer(id=f"icb_{n:04d}", label=f"T{n}") for n in range(5)]
    assert export(*timers) == export(*reversed(timers))


def test_one_off_in_the_second_half_of_an_overlap_keeps_its_instant() -> None:
    # 2026-10-25 02:30 happens twice in Berlin; 01:30Z is the second one.
    (event,) = events(export(timer(target_date="2026-10-25T01:30:00.000Z")))
    assert event["DTSTART"].dt.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_labels_cannot_inject_properties() -> None:
    data = export(timer(label="evil\r\nATTENDEE:mailto:x@example.com", description="a\rb"))
    assert b"\r\nATTENDEE" not in data
    (event,) = events(data)
    assert "ATTENDEE" not in event


# --- recurrence: exported RRULE vs tickward's maths ----------------------------------------

SPANS = {"daily": 4, "weekly": 22, "monthly": 130, "yearly": 9 * 366}


def _slot_walls(target: datetime, tz: ZoneInfo, kind: str, last_day: bool) -> Iterator[datetime]:
    """Wall-clock slots from the anchor's date on, exactly as tickward steps them."""
    slot = Slot.of(target, tz, kind, last_day=last_day)  # type: ignore[arg-type]
    for day in slot.local_dates(target.astimezone(tz).date() - timedelta(days=2)):
        yield slot.wall_clock(day)


def _rfc_expected(
    target: datetime, tz: ZoneInfo, kind: str, last_day: bool, now: datetime, count: int
) -> tuple[list[datetime], list[datetime], bool]:
    """(what an RFC 5545 expander must yield, what tickward yields, whether they may differ).

    Both walk the same wall-clock slots; only the final local→UTC step
    differs: tickward's rule (SERVER-NOTES.md) versus RFC 5545 §3.3.5. They
    disagree in DST gaps and overlaps and, because tickward first reads the
    wall clock as UTC, in the hours just before a transition in zones far
    from Greenwich (e.g. Sydney 00:00 on the spring-forward day). Every such
    slot is asserted to lie within a day of a real transition of the zone.
    """
    threshold = target - timedelta(milliseconds=1)
    rfc: list[datetime] = []
    tick: list[datetime] = []
    edge = False
    for wall in _slot_walls(target, tz, kind, last_day):
        ours, theirs = rfc_local_to_utc(wall, tz), tickward_local_to_utc(wall, tz)
        if theirs <= threshold:
            continue  # before the series' first slot (also the DTSTART rule)
        if ours != theirs:
            edge = True
            assert abs(ours - theirs) == timedelta(hours=1)
            assert _near_transition(ours, tz) or is_dst_edge(wall, tz)
        if len(rfc) < count and ours > now:
            rfc.append(ours)
        if len(tick) < count and theirs > now:
            tick.append(theirs)
        if len(rfc) == count and len(tick) == count:
            return rfc, tick, edge
    raise AssertionError("unreachable")


def _near_transition(instant: datetime, tz: ZoneInfo) -> bool:
    day = timedelta(days=1)
    return (instant - day).astimezone(tz).utcoffset() != (instant + day).astimezone(tz).utcoffset()


def _expand(
    data: bytes, now: datetime, kind: str, count: int, start: datetime | None = None
) -> list[datetime]:
    cal = icalendar.Calendar.from_ical(data)
    end = max(now, start or now) + timedelta(days=SPANS[kind] * count)
    found = recurring_ical_events.of(cal).between(now - timedelta(days=2), end)
    starts = sorted(_start(e) for e in found)
    return [s for s in starts if s > now][:count]


def _start(event: Any) -> datetime:
    """An occurrence's instant; an all-day one (a timer at local midnight is exported as
    VALUE=DATE) starts at midnight in the zone its X-TICKWARD-TIMEZONE names."""
    value = event["DTSTART"].dt
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    tz = ZoneInfo(str(event["X-TICKWARD-TIMEZONE"]))
    return datetime.combine(value, datetime.min.time(), tz).astimezone(UTC)


def _check(target_date: str, zone_name: str, recurrence: dict[str, Any], now: datetime) -> None:
    data = export(timer(target_date=target_date, timezone=zone_name, recurrence=recurrence))
    kind, last_day = recurrence["type"], bool(recurrence.get("lastDay"))
    tz = ZoneInfo(zone_name)
    rfc, tick, edge = _rfc_expected(parse_iso(target_date), tz, kind, last_day, now, 3)
    # tickward's own view of the same timer (the local server reports exactly this)
    assert format(tick[0], "%Y-%m-%dT%H:%M:%S.000Z") == effective_target_date(
        target_date, zone_name, recurrence, now
    )
    assert tick == list(_take(occurrences(parse_iso(target_date), tz, kind, now,
                                          last_day=last_day), 3))
    assert _expand(data, now, kind, 3, parse_iso(target_date)) == rfc
    if not edge:
        assert rfc == tick


def _take(items: Iterator[datetime], n: int) -> Iterator[datetime]:
    for _, item in zip(range(n), items, strict=False):
        yield item


@pytest.mark.parametrize(
    ("target", "zone_name", "recurrence", "rule"),
    [
        ("2026-01-05T08:00:00.000Z", "Europe/Berlin", {"type": "daily", "enabled": True},
         "FREQ=DAILY"),
        ("2026-01-05T08:00:00.000Z", "Europe/Berlin", {"type": "weekly", "enabled": True},
         "FREQ=WEEKLY;BYDAY=MO"),
        ("2026-01-31T08:00:00.000Z", "Europe/Berlin", {"type": "monthly", "enabled": True},
         "FREQ=MONTHLY;BYMONTHDAY=31"),
        ("2026-01-31T08:00:00.000Z", "Europe/Berlin",
         {"type": "monthly", "enabled": True, "lastDay": True}, "FREQ=MONTHLY;BYMONTHDAY=-1"),
        ("2024-02-29T08:00:00.000Z", "Europe/Berlin", {"type": "yearly", "enabled": True},
         "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"),
    ],
)
def test_each_recurrence_type_expands_like_tickward(
    target: str, zone_name: str, recurrence: dict[str, Any], rule: str
) -> None:
    data = export(timer(target_date=target, timezone=zone_name, recurrence=recurrence))
    assert f"RRULE:{rule}\r\n".encode() in data
    for now in (NOW, datetime(2027, 2, 27, tzinfo=UTC), datetime(2028, 3, 1, tzinfo=UTC)):
        _check(target, zone_name, recurrence, now)


def test_rrule_also_expands_with_dateutil() -> None:
    data = export(timer(target_date="2026-01-31T08:00:00.000Z",
                        recurrence={"type": "monthly", "enabled": True}))
    (event,) = events(data)
    rule = du_rrule.rrulestr(event["RRULE"].to_ical().decode(), dtstart=event["DTSTART"].dt)
    got = [d.astimezone(UTC) for d in _take(iter(rule), 4)]
    assert [d.date() for d in got] == [date(2026, 1, 31), date(2026, 3, 31), date(2026, 5, 31),
                                       date(2026, 7, 31)]
    want = [parse_iso(effective_target_date(
        "2026-01-31T08:00:00.000Z", "Europe/Berlin", {"type": "monthly", "enabled": True},
        d - timedelta(seconds=1))) for d in got]
    assert got == want


def test_disabled_recurrence_exports_no_rrule() -> None:
    data = export(timer(recurrence={"type": "weekly", "enabled": False}))
    assert b"RRULE" not in data.split(b"BEGIN:VEVENT")[1]


def test_dst_edge_instants_differ_exactly_as_server_notes_say() -> None:
    # SERVER-NOTES.md: Warsaw 2027-03-28 02:30 → tickward 00:30Z, RFC 5545 01:30Z (03:30 CEST);
    # New York 2027-11-07 01:30 → tickward 05:30Z = RFC's first instance.
    now = datetime(2027, 3, 27, 12, tzinfo=UTC)
    warsaw = export(timer(target_date="2026-03-28T01:30:00.000Z", timezone="Europe/Warsaw",
                          recurrence={"type": "yearly", "enabled": True}))
    assert _expand(warsaw, now, "yearly", 1) == [datetime(2027, 3, 28, 1, 30, tzinfo=UTC)]
    assert effective_target_date("2026-03-28T01:30:00.000Z", "Europe/Warsaw",
                                 {"type": "yearly", "enabled": True}, now) == (
        "2027-03-28T00:30:00.000Z")
    now = datetime(2027, 11, 6, tzinfo=UTC)
    new_york = export(timer(target_date="2026-11-07T06:30:00.000Z", timezone="America/New_York",
                            recurrence={"type": "yearly", "enabled": True}))
    assert _expand(new_york, now, "yearly", 1) == [datetime(2027, 11, 7, 5, 30, tzinfo=UTC)]


ZONE_NAMES = ["Europe/Warsaw", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
KINDS = [
    {"type": "daily", "enabled": True},
    {"type": "weekly", "enabled": True},
    {"type": "monthly", "enabled": True},
    {"type": "monthly", "enabled": True, "lastDay": True},
    {"type": "yearly", "enabled": True},
]


@settings(max_examples=60, deadline=None)
@given(
    zone_name=st.sampled_from(ZONE_NAMES),
    recurrence=st.sampled_from(KINDS),
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
    wall=st.sampled_from([(0, 0), (2, 30), (1, 30), (9, 15), (23, 59), (3, 0)]),
    seconds=st.sampled_from([0, 0, 0, 42]),
    ahead=st.integers(min_value=-400, max_value=900),
)
def test_exported_rrule_matches_tickward_for_any_timer(
    zone_name: str,
    recurrence: dict[str, Any],
    day: date,
    wall: tuple[int, int],
    seconds: int,
    ahead: int,
) -> None:
    tz = ZoneInfo(zone_name)
    local = datetime(day.year, day.month, day.day, wall[0], wall[1], seconds)
    target = tickward_local_to_utc(local, tz)
    target_date = target.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    _check(target_date, zone_name, recurrence, target + timedelta(days=ahead))


def test_uid_is_stable_and_project_scoped() -> None:
    data = export(timer(id="icb_x1"), project_id="proj_9")
    assert re.search(rb"\r\nUID:icb_x1@proj_9\.tickward\r\n", data)


def test_unusable_timer_objects_are_left_out_not_fatal() -> None:
    broken = [{"id": "icb_nodate"}, timer(id="icb_bad", target_date="not a date")]
    far = timer(id="icb_far", target_date="9999-06-01T12:00:00.000Z")
    ancient = timer(id="icb_old", target_date="0001-06-01T12:00:00.000Z", timezone="UTC")
    data = export(timer(), *broken, far, ancient)
    uids = sorted(str(e["UID"]) for e in events(data))
    assert uids == ["icb_0123456789abcdef@proj_1.tickward", "icb_far@proj_1.tickward",
                    "icb_old@proj_1.tickward"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=400))
def test_folding_round_trips_any_text(text: str) -> None:
    from ical_bridge.convert.export import fold_line

    line = "SUMMARY:" + text
    folded = fold_line(line)
    assert folded.endswith(b"\r\n")
    physical = folded[:-2].split(b"\r\n")
    assert all(len(part) <= 75 for part in physical)
    assert all(part.startswith(b" ") for part in physical[1:])
    for part in physical:
        part.decode("utf-8")  # never split inside a UTF-8 sequence
    assert folded[:-2].replace(b"\r\n ", b"").decode("utf-8") == line


def test_control_characters_never_reach_the_output() -> None:
    data = export(timer(label="bell\x07 tab\there", description="nul\x00 esc\x1b"))
    assert not any(b in data for b in (b"\x07", b"\x00", b"\x1b"))
    (event,) = events(data)
    assert str(event["SUMMARY"]) == "bell tab\there"
    vobject.readOne(data.decode(), validate=True)
