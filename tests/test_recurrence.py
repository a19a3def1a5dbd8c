"""tickward's recurrence maths against an independent RFC 5545 oracle (dateutil.rrule).

The oracle steps wall-clock occurrences with ``dateutil.rrule`` (DAILY;
WEEKLY;BYDAY; MONTHLY;BYMONTHDAY=d or -1; YEARLY;BYMONTH;BYMONTHDAY) and
turns each into UTC the RFC 5545 way. Only where an occurrence's wall time
falls in a DST gap or overlap (detected with ``dateutil.tz``, not with the
code under test) does tickward differ by design; there the oracle applies
the rule SERVER-NOTES.md documents, written out here on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as rr
from dateutil.tz import datetime_ambiguous, datetime_exists
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ical_bridge.recurrence import (
    Slot,
    effective_target_date,
    is_dst_edge,
    next_occurrence,
    occurrences,
)

ZONES = [
    "Europe/Warsaw",
    "America/New_York",
    "Australia/Sydney",
    "America/Santiago",
    "Pacific/Auckland",
    "Asia/Kolkata",
    "UTC",
]
KINDS = ["daily", "weekly", "monthly", "yearly", "lastDay"]
_ONE_MS = timedelta(milliseconds=1)


# -- the oracle ---------------------------------------------------------------
def documented_rule(wall: datetime, tz: ZoneInfo) -> datetime:
    """SERVER-NOTES: read as UTC, apply the offset there, recheck; larger offset wins."""
    read_as_utc = wall.replace(tzinfo=UTC)
    first = read_as_utc.astimezone(tz).utcoffset()
    assert first is not None
    moved = read_as_utc - first
    second = moved.astimezone(tz).utcoffset()
    assert second is not None
    return moved if first == second else read_as_utc - max(first, second)


def at_dst_edge(wall: datetime, tz: ZoneInfo) -> bool:
    """The wall time does not exist (gap) or exists twice (overlap) in ``tz``."""
    return not datetime_exists(wall, tz) or datetime_ambiguous(wall, tz)


def wall_to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """RFC 5545 local→UTC, except at DST edges where tickward documents its own rule."""
    if at_dst_edge(wall, tz):
        return documented_rule(wall, tz)
    return wall.replace(tzinfo=tz).astimezone(UTC)


def oracle(anchor: datetime, zone_name: str, kind: str, now: datetime) -> Iterator[datetime]:
    """Occurrences strictly after ``max(now, anchor − 1 ms)``, from an RRULE."""
    tz = ZoneInfo(zone_name)
    local = anchor.astimezone(tz)
    slot = datetime(local.year, local.month, local.day, local.hour, local.minute)
    threshold = max(now, anchor - _ONE_MS)
    # enumerate from a few days before the threshold, never before DTSTART
    near = threshold.astimezone(tz).replace(tzinfo=None) - timedelta(days=3)
    near = max(slot, near.replace(hour=slot.hour, minute=slot.minute, second=0, microsecond=0))
    if kind == "daily":
        rule = rr.rrule(rr.DAILY, dtstart=near)
    elif kind == "weekly":
        rule = rr.rrule(rr.WEEKLY, dtstart=near, byweekday=slot.weekday())
    elif kind in ("monthly", "lastDay"):
        month_start = max(slot.replace(day=1), near.replace(day=1))
        day = -1 if kind == "lastDay" else slot.day
        rule = rr.rrule(rr.MONTHLY, dtstart=month_start, bymonthday=day)
    else:
        year_start = max(slot.replace(month=1, day=1), near.replace(month=1, day=1))
        rule = rr.rrule(rr.YEARLY, dtstart=year_start, bymonth=slot.month, bymonthday=slot.day)
    for wall in rule:
        if wall < slot:
            continue
        instant = wall_to_utc(wall, tz)
        if instant > threshold:
            yield instant


def _library(anchor: datetime, zone_name: str, kind: str, now: datetime) -> list[datetime]:
    tz = ZoneInfo(zone_name)
    typ = "monthly" if kind == "lastDay" else kind
    found = occurrences(anchor, tz, typ, now, last_day=kind == "lastDay")  # type: ignore[arg-type]
    return list(islice(found, 3))


# -- strategies ---------------------------------------------------------------
@cache
def transitions(zone_name: str, year: int) -> tuple[datetime, ...]:
    """The instants in ``year`` where the zone's UTC offset changes (to the second)."""
    tz = ZoneInfo(zone_name)
    out = []
    step = timedelta(hours=12)
    t = datetime(year, 1, 1, tzinfo=UTC)
    while t.year == year:
        if t.astimezone(tz).utcoffset() != (t + step).astimezone(tz).utcoffset():
            lo, hi = t, t + step
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == lo.astimezone(tz).utcoffset():
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
        t += step
    return tuple(out)


@st.composite
def anchors(draw: st.DrawFn, zone_name: str) -> datetime:
    """Anchor instants whose wall time is often near the hours where DST changes."""
    tz = ZoneInfo(zone_name)
    year = draw(st.integers(2020, 2034))
    month = draw(st.integers(1, 12))
    day = min(
        draw(st.integers(1, 31)),
        [31, 29 if year % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1],
    )
    hour = draw(st.integers(0, 23) | st.sampled_from([0, 1, 2, 3, 23]))
    minute = draw(st.sampled_from([0, 30, 59]) | st.integers(0, 59))
    second = draw(st.just(0) | st.integers(0, 59))
    millis = draw(st.just(0) | st.integers(0, 999))
    fold = draw(st.integers(0, 1))
    local = datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=tz, fold=fold)
    return local.astimezone(UTC)


@st.composite
def nows(draw: st.DrawFn, zone_name: str) -> datetime:
    """Instants in 2020–2035, often within days of one of the zone's DST transitions."""
    plain = st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31)).map(
        lambda d: d.replace(tzinfo=UTC)
    )
    year = draw(st.integers(2020, 2035))
    near = transitions(zone_name, year)
    if not near or draw(st.booleans()):
        return draw(plain)
    pivot = draw(st.sampled_from(near))
    return pivot + timedelta(seconds=draw(st.integers(-3 * 86400, 86400)))


@st.composite
def cases(draw: st.DrawFn) -> tuple[datetime, str, str, datetime]:
    zone_name = draw(st.sampled_from(ZONES))
    return draw(anchors(zone_name)), zone_name, draw(st.sampled_from(KINDS)), draw(nows(zone_name))


# -- properties ---------------------------------------------------------------
# The notes' rule read as a single recheck would also shift some *valid* wall times
# next to a transition (Santiago 2020-04-05 00:00 → 03:00Z, RFC 04:00Z); the rule as
# date-fns-tz's fixOffset runs it (re-adjust, recheck, larger offset wins if they still
# disagree) reproduces every measured example and leaves valid times on RFC 5545.
# ``documented_rule`` above is only ever applied to gap and overlap wall times, where
# both readings agree.


def _check(case: tuple[datetime, str, str, datetime]) -> None:
    anchor, zone_name, kind, now = case
    expected = list(islice(oracle(anchor, zone_name, kind, now), 3))
    assert _library(anchor, zone_name, kind, now) == expected
    typ = "monthly" if kind == "lastDay" else kind
    tz = ZoneInfo(zone_name)
    nxt = next_occurrence(anchor, tz, typ, now, last_day=kind == "lastDay")  # type: ignore[arg-type]
    assert nxt == expected[0]
    recurrence = {"type": typ, "enabled": True, "lastDay": kind == "lastDay"}
    sent = anchor.strftime("%Y-%m-%dT%H:%M:%S.") + f"{anchor.microsecond // 1000:03d}Z"
    got = effective_target_date(sent, zone_name, recurrence, now)
    assert got == expected[0].strftime("%Y-%m-%dT%H:%M:%S.000Z")


SANTIAGO_CASE = (
    datetime(2020, 1, 1, 3, 0, tzinfo=UTC),
    "America/Santiago",
    "daily",
    datetime(2020, 4, 5, 3, 0, tzinfo=UTC),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(SANTIAGO_CASE)
@given(cases())
def test_next_occurrence_matches_the_rfc5545_oracle(
    case: tuple[datetime, str, str, datetime],
) -> None:
    _check(case)


@pytest.mark.parametrize(
    ("zone_name", "wall", "rfc"),
    [
        ("America/Santiago", datetime(2020, 4, 5, 0, 0), datetime(2020, 4, 5, 4, 0)),
        ("Europe/Warsaw", datetime(2027, 3, 28, 1, 30), datetime(2027, 3, 28, 0, 30)),
        ("America/New_York", datetime(2027, 11, 7, 3, 30), datetime(2027, 11, 7, 8, 30)),
    ],
)
def test_valid_wall_times_beside_a_dst_change_are_not_shifted(
    zone_name: str, wall: datetime, rfc: datetime
) -> None:
    tz = ZoneInfo(zone_name)
    assert not at_dst_edge(wall, tz)
    anchor = wall.replace(tzinfo=tz) - timedelta(days=7)
    now = wall.replace(tzinfo=tz) - timedelta(hours=12)
    assert next_occurrence(anchor, tz, "daily", now) == rfc.replace(tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    wall=st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31)),
)
def test_is_dst_edge_agrees_with_dateutil(zone_name: str, wall: datetime) -> None:
    tz = ZoneInfo(zone_name)
    assert is_dst_edge(wall, tz) == at_dst_edge(wall, tz)


@pytest.mark.parametrize("zone_name", [z for z in ZONES if z not in ("UTC", "Asia/Kolkata")])
def test_every_transition_hour_is_checked(zone_name: str) -> None:
    # the edge detection is not vacuous: each DST zone has gap and overlap wall times
    tz = ZoneInfo(zone_name)
    edges = []
    for pivot in transitions(zone_name, 2027):
        for minutes in range(-120, 121, 15):
            wall = (pivot + timedelta(minutes=minutes)).astimezone(tz).replace(tzinfo=None)
            edges.append(at_dst_edge(wall, tz) or at_dst_edge(wall + timedelta(hours=1), tz))
    assert any(edges)


# -- measured on the real server (SERVER-NOTES.md), yearly timers, 2027 ---------
MEASURED = [
    # zone, the yearly slot's local wall time in 2027, tickward's answer
    ("Europe/Warsaw", datetime(2027, 3, 28, 2, 30), datetime(2027, 3, 28, 0, 30)),
    ("America/New_York", datetime(2027, 3, 14, 2, 30), datetime(2027, 3, 14, 6, 30)),
    ("Australia/Sydney", datetime(2027, 10, 3, 2, 30), datetime(2027, 10, 2, 15, 30)),
    ("America/New_York", datetime(2027, 11, 7, 1, 30), datetime(2027, 11, 7, 5, 30)),
    ("Europe/Warsaw", datetime(2027, 10, 31, 2, 30), datetime(2027, 10, 31, 1, 30)),
    ("Australia/Sydney", datetime(2027, 4, 4, 2, 30), datetime(2027, 4, 3, 16, 30)),
]


@pytest.mark.parametrize(("zone_name", "wall", "answer"), MEASURED)
def test_measured_server_examples(zone_name: str, wall: datetime, answer: datetime) -> None:
    tz = ZoneInfo(zone_name)
    # anchor: the same wall time one year earlier (an ordinary, unambiguous instant)
    anchor = wall.replace(year=2026, tzinfo=tz).astimezone(UTC)
    assert datetime_exists(wall.replace(year=2026), tz)
    assert not datetime_ambiguous(wall.replace(year=2026), tz)
    now = datetime(2027, 1, 1, tzinfo=UTC)
    expected = answer.replace(tzinfo=UTC)
    assert next_occurrence(anchor, tz, "yearly", now) == expected
    assert next(oracle(anchor, zone_name, "yearly", now)) == expected  # the oracle agrees


def test_non_recurring_and_disabled_keep_target_date_as_sent() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    sent = "2027-04-01T10:15:00.123+02:00"
    assert effective_target_date(sent, "Europe/Warsaw", None, now) == sent
    disabled = {"type": "daily", "enabled": False}
    assert effective_target_date(sent, "Europe/Warsaw", disabled, now) == sent


def test_monthly_31st_skips_short_months_and_feb_29_waits_for_leap_years() -> None:
    tz = ZoneInfo("UTC")
    anchor = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
    got = list(islice(occurrences(anchor, tz, "monthly", anchor), 3))
    assert [d.date() for d in got] == [date(2027, 3, 31), date(2027, 5, 31), date(2027, 7, 31)]
    leap = datetime(2028, 2, 29, 9, 0, tzinfo=UTC)
    assert next_occurrence(leap, tz, "yearly", leap).date() == date(2032, 2, 29)


@pytest.mark.parametrize(
    ("slot", "expected"),
    [
        (Slot("daily", 9, 0, 0, 1, 1), lambda d: True),
        (Slot("weekly", 9, 0, 2, 1, 1), lambda d: d.weekday() == 2),  # Wednesdays
        (Slot("monthly", 9, 0, 0, 31, 1), lambda d: d.day == 31),
        (Slot("monthly", 9, 0, 0, 15, 1), lambda d: d.day == 15),
        (Slot("monthly", 9, 0, 0, 30, 1, last_day=True),
         lambda d: (d + timedelta(days=1)).month != d.month),
        (Slot("yearly", 9, 0, 0, 29, 2), lambda d: (d.month, d.day) == (2, 29)),
        (Slot("yearly", 9, 0, 0, 4, 7), lambda d: (d.month, d.day) == (7, 4)),
    ],
)
def test_a_slot_falls_on_exactly_its_days(slot: Slot, expected: Any) -> None:
    day = date(2027, 1, 1)
    for _ in range(3 * 366 + 40):  # leap 2028 included
        assert slot.falls_on(day) is expected(day), day
        assert slot.falls_on(day) is (next(slot.local_dates(day)) == day), day
        day += timedelta(days=1)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, ZoneInfo("Asia/Kolkata")])))  # fmt: skip
def test_format_utc_is_tickwards_instant_text(instant: datetime) -> None:
    """Milliseconds cut, not rounded; the strftime form is the oracle."""
    from ical_bridge.recurrence import format_utc

    utc = instant.astimezone(UTC)
    expected = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    assert format_utc(instant) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                 allow_imaginary=True),
    st.sampled_from([None, "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
    st.sampled_from(["Europe/Berlin", "America/Santiago", "Asia/Kolkata", "UTC"]),
    st.integers(0, 1), st.integers(0, 1),
)  # fmt: skip
def test_quick_zone_changes_equal_replace(
    moment: datetime, own: str | None, target: str, fold: int, own_fold: int
) -> None:
    """``in_zone`` and ``wall_of`` are ``replace(tzinfo=…, fold=…)`` (cheaper): the same
    fields, fold and zone object."""
    from ical_bridge.recurrence import in_zone, wall_of

    moment = moment.replace(tzinfo=ZoneInfo(own) if own else None, fold=own_fold)
    tz = ZoneInfo(target)
    theirs = moment.replace(tzinfo=tz, fold=fold)
    ours = in_zone(moment, tz, fold)
    assert (ours, ours.fold, ours.tzinfo) == (theirs, theirs.fold, theirs.tzinfo)
    assert ours.utcoffset() == theirs.utcoffset()
    plain = moment.replace(tzinfo=None)
    assert (wall_of(moment), wall_of(moment).fold, wall_of(moment).tzinfo) == (
        plain, plain.fold, None
    )
