"""The exported text is clean for two independent parsers, and its RRULEs mean what tickward does.

Oracles: icalendar and vobject parse the text; vobject's ``getrruleset()``
(dateutil.rrule with the file's own VTIMEZONEs) expands every RRULE. The
documented DST-edge difference (SERVER-NOTES.md) is modelled exactly: the
expansion gives the same wall-clock slots as tickward; RFC 5545 reads a gap
wall time forward and an overlap as its first instance, tickward reads them
with its own rule (``tickward_local_to_utc``), so the next occurrence equals
tickward's ``effective_target_date`` once each expanded wall time is read
tickward's way, and equals the RFC instant wherever the wall time is no edge.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import vobject
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from roundtrip_model import (
    PROJECT_ID,
    ZONES,
    dumps,
    one_timer,
    timer_json,
    timers_strategy,
    transitions,
)
from roundtrip_server import BASE

from ical_bridge.clock import FixedClock
from ical_bridge.convert import export_calendar
from ical_bridge.localserver import EMBEDDED_API_KEY, PlanLimits, create_app
from ical_bridge.recurrence import (
    effective_target_date,
    format_utc,
    is_dst_edge,
    parse_iso,
    rfc_local_to_utc,
    tickward_local_to_utc,
)
from ical_bridge.tickward import TickwardClient

EXPORT_NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def export(timers: list[dict[str, Any]]) -> bytes:
    """The export under test."""
    return export_calendar(timers, project_id=PROJECT_ID, calendar_name="Parsers; a,b \\ c",
                           now=EXPORT_NOW)


def check_lines(text: bytes) -> None:
    """Every physical line ≤ 75 octets, CRLF-terminated, no bare CR or LF, valid UTF-8."""
    text.decode("utf-8")
    assert text.endswith(b"\r\n")
    for line in text[:-2].split(b"\r\n"):
        assert b"\n" not in line and b"\r" not in line, line
        assert len(line) <= 75, (len(line), line)


def check_icalendar(text: bytes, timers: list[dict[str, Any]]) -> None:
    """icalendar reads it without recording a single parse error, with the same texts."""
    cal = icalendar.Calendar.from_ical(text)
    for comp in cal.walk():
        assert not comp.errors, (comp.name, comp.errors)
    events = {str(e["UID"]).partition("@")[0]: e for e in cal.walk("VEVENT")}
    for timer in timers:
        event = events[timer["id"]]
        assert str(event["SUMMARY"]) == timer["label"]
        assert str(event.get("DESCRIPTION", "")) == (timer["description"] or "")


def vobject_calendar(text: bytes) -> Any:
    """vobject's parse of the text (an independent parser)."""
    return vobject.readOne(text.decode("utf-8"))


def vobject_events(text: bytes) -> dict[str, Any]:
    """vobject's VEVENTs by timer id."""
    return {str(e.uid.value).partition("@")[0]: e for e in vobject_calendar(text).vevent_list}


def file_zones(text: bytes) -> dict[str, Any]:
    """Each VTIMEZONE of the file as a dateutil tzinfo (vobject's ``gettzinfo``)."""
    cal = vobject_calendar(text)
    return {str(v.tzid.value): v.gettzinfo() for v in getattr(cal, "vtimezone_list", [])}


def _wall_and_tzid(event: Any) -> tuple[datetime, str | None]:
    start = event.dtstart.value
    if not isinstance(start, datetime):  # all-day (a timer at local midnight): whose midnight
        return datetime.combine(start, datetime.min.time()), event.x_tickward_timezone.value
    params = event.dtstart.params
    tzid = (params.get("TZID") or params.get("X-VOBJ-ORIGINAL-TZID") or [None])[0]
    wall = start.replace(tzinfo=None) if tzid else start.astimezone(UTC).replace(tzinfo=None)
    return wall, tzid


def _wall_and_rule(event: Any) -> tuple[datetime, str]:
    return _wall_and_tzid(event)[0], str(event.rrule.value)


def check_expansion(event: Any, timer: dict[str, Any], now: datetime, vtz: Any) -> None:
    """dateutil's expansion of the exported RRULE gives tickward's next occurrence after now."""
    expected = _expanded_next(event, timer, now, vtz)
    got = effective_target_date(timer["target_date"], timer["timezone"], timer["recurrence"], now)
    assert got == format_utc(expected), f"{dumps(timer)}\nnow {now}"


def _expanded_next(event: Any, timer: dict[str, Any], now: datetime, vtz: Any) -> datetime:
    """The next occurrence after ``now``: dateutil's wall times, each read tickward's way."""
    tz = ZoneInfo(timer["timezone"])
    target = parse_iso(timer["target_date"])
    threshold = max(now, target - _ONE_MS)
    wall0, rule = _wall_and_rule(event)
    lo = threshold.astimezone(tz).replace(tzinfo=None) - timedelta(days=3)
    walls = rrulestr(rule, dtstart=wall0)
    expected = None
    for wall in walls.xafter(max(lo, wall0), count=30, inc=True):
        if vtz is not None and not is_dst_edge(wall, tz):
            # no edge: the file's VTIMEZONE, RFC 5545 and tickward all give the same instant
            assert wall.replace(tzinfo=vtz).astimezone(UTC) == rfc_local_to_utc(wall, tz)
            assert rfc_local_to_utc(wall, tz) == tickward_local_to_utc(wall, tz)
        instant = tickward_local_to_utc(wall, tz)
        if instant > threshold:
            expected = instant
            break
    assert expected is not None, f"no occurrence expanded\n{dumps(timer)}"
    return expected


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_export_is_clean_for_icalendar_and_vobject_and_rrules_match_tickward(
    data: st.DataObject,
) -> None:
    timers = data.draw(timers_strategy())
    text = export(timers)
    check_lines(text)
    check_icalendar(text, timers)
    events = vobject_events(text)
    zones = file_zones(text)
    assert set(events) == {t["id"] for t in timers}
    for timer in timers:
        event = events[timer["id"]]
        assert event.summary.value == timer["label"]
        if timer["description"]:
            assert event.description.value == timer["description"]
        rec = timer["recurrence"]
        if not rec or not rec["enabled"]:
            assert not hasattr(event, "rrule")
            # the wall time read with the file's own VTIMEZONE (vobject may swap in pytz)
            wall, tzid = _wall_and_tzid(event)
            own = (zones.get(tzid) or ZoneInfo(tzid)) if tzid else UTC
            instant = wall.replace(tzinfo=own).astimezone(UTC)
            assert instant == parse_iso(timer["target_date"]).replace(microsecond=0)
            continue
        anchor = parse_iso(timer["target_date"])
        for shift in (timedelta(0), timedelta(days=-30), timedelta(days=45),
                      timedelta(days=400)):
            check_expansion(event, timer, anchor + shift, zones.get(timer["timezone"]))


def test_gap_and_overlap_slots_differ_from_rfc_exactly_as_documented() -> None:
    """SERVER-NOTES' measured instants, seen through vobject's expansion of the export."""
    cases = [  # zone, anchor (a valid instant of the slot), edge wall, tickward, RFC 5545
        ("Europe/Warsaw", datetime(2027, 1, 28, 1, 30, tzinfo=UTC),
         datetime(2027, 3, 28, 2, 30), "2027-03-28T00:30:00.000Z", "2027-03-28T01:30:00.000Z"),
        ("America/New_York", datetime(2027, 1, 14, 7, 30, tzinfo=UTC),
         datetime(2027, 3, 14, 2, 30), "2027-03-14T06:30:00.000Z", "2027-03-14T07:30:00.000Z"),
        ("Australia/Sydney", datetime(2027, 1, 2, 15, 30, tzinfo=UTC),
         datetime(2027, 10, 3, 2, 30), "2027-10-02T15:30:00.000Z", "2027-10-02T16:30:00.000Z"),
        ("America/New_York", datetime(2027, 1, 7, 6, 30, tzinfo=UTC),
         datetime(2027, 11, 7, 1, 30), "2027-11-07T05:30:00.000Z", "2027-11-07T05:30:00.000Z"),
        ("Europe/Warsaw", datetime(2027, 1, 31, 1, 30, tzinfo=UTC),
         datetime(2027, 10, 31, 2, 30), "2027-10-31T01:30:00.000Z", "2027-10-31T00:30:00.000Z"),
        ("Australia/Sydney", datetime(2027, 1, 3, 15, 30, tzinfo=UTC),
         datetime(2027, 4, 4, 2, 30), "2027-04-03T16:30:00.000Z", "2027-04-03T15:30:00.000Z"),
    ]
    for name, anchor, wall, tickward, rfc in cases:
        tz = ZoneInfo(name)
        timer = timer_json(index=1, label="edge", target=anchor, zone_name=name,
                           recurrence={"type": "monthly", "enabled": True}, description=None,
                           color=None, notify=False, reminders=[])
        event = vobject_events(export([timer]))[timer["id"]]
        found = [o for o in event.getrruleset(addRDate=True).between(
            (anchor + timedelta(days=1)).astimezone(event.dtstart.value.tzinfo),
            datetime(2027, 12, 31, tzinfo=UTC).astimezone(event.dtstart.value.tzinfo))
            if o.replace(tzinfo=None) == wall]
        assert len(found) == 1, (name, wall)
        before = datetime.combine(wall.date(), datetime.min.time(), tz) - timedelta(hours=12)
        assert effective_target_date(timer["target_date"], name, timer["recurrence"],
                                     before) == tickward
        assert format_utc(rfc_local_to_utc(wall, tz)) == rfc
        if wall.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz).replace(
            tzinfo=None
        ) == wall:  # an overlap: dateutil reads the first instance, as RFC 5545 says
            assert format_utc(found[0].astimezone(UTC)) == rfc


def test_every_vtimezone_agrees_with_the_tz_database() -> None:
    """vobject's reading of each exported VTIMEZONE gives zoneinfo's offsets, 2026–2028."""
    timers = [
        timer_json(index=i, label=name, target=datetime(2027, 6, 1, 12, tzinfo=UTC),
                   zone_name=name, recurrence=None, description=None, color=None,
                   notify=False, reminders=[])
        for i, name in enumerate(ZONES)
    ]
    zones = file_zones(export(timers))
    assert set(zones) == set(ZONES) - {"UTC"}
    for timer in timers:
        if timer["timezone"] == "UTC":
            continue
        vtz = zones[timer["timezone"]]
        tz = ZoneInfo(timer["timezone"])
        probes = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=31 * i) for i in range(840)]
        for change in transitions(timer["timezone"]):
            if change.year in (2026, 2027, 2028):  # the years the export covers
                probes += [change - timedelta(minutes=1), change, change + timedelta(minutes=1)]
        for instant in probes:
            assert instant.astimezone(vtz).utcoffset() == instant.astimezone(tz).utcoffset(), (
                timer["timezone"], instant)


_BIG = PlanLimits(timers_per_project=5000, active_timers_per_space=5000)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_the_local_servers_effective_target_date_is_the_expanded_rrules_next_occurrence(
    data: st.DataObject,
) -> None:
    """The same oracle against what the local tickward server answers on ``GET`` a timer."""
    timer = data.draw(one_timer(1))
    rec = data.draw(st.sampled_from(["daily", "weekly", "monthly", "yearly"]))
    timer["recurrence"] = {"type": rec, "enabled": True}
    if rec == "monthly" and data.draw(st.booleans()):
        timer["recurrence"]["lastDay"] = True
    anchor = parse_iso(timer["target_date"])
    nows = [anchor + timedelta(minutes=data.draw(st.integers(-60 * 24 * 40, 60 * 24 * 800)))
            for _ in range(3)]
    event = vobject_events(export([timer]))[timer["id"]]
    zones = file_zones(export([timer]))
    clock = FixedClock(datetime(2020, 1, 1, tzinfo=UTC))
    app = create_app(None, rate_limit=None, plan=_BIG, clock=clock)
    body = {k: timer[k] for k in ("id", "label", "target_date", "timezone", "recurrence")}

    async def go() -> list[str]:
        transport = httpx.ASGITransport(app=app)
        async with TickwardClient(BASE, EMBEDDED_API_KEY, transport=transport) as client:
            project = await client.create_project({"name": "Oracle"})
            await client.create_timer(project.id, body)
            answers = []
            for now in sorted(nows):
                clock.set(now)
                got = await client.get_timer(project.id, timer["id"])
                assert got.effective_target_date is not None
                answers.append(got.effective_target_date)
            return answers

    answers = asyncio.run(go())
    for now, answer in zip(sorted(nows), answers, strict=True):
        expected = _expanded_next(event, timer, now, zones.get(timer["timezone"]))
        assert parse_iso(answer) == expected, f"{dumps(timer)}\nnow {now}"
