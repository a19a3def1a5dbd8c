"""tickward's recurrence maths, exactly as the real server computes it.

A recurring timer has a *slot* read from ``target_date`` in its ``timezone``:
wall-clock time to the minute, plus the weekday (weekly), day of month
(monthly) or month and day (yearly). Occurrences are stepped on local
wall-clock dates; only the final local→UTC conversion looks at the zone, and
it does so the way tickward does (see ``tickward_local_to_utc``), which
differs from RFC 5545 inside DST gaps and overlaps.

This module is shared by the local tickward server (to compute
``effective_target_date``), the converter (to decide whether a series is
native-exact) and the tests. It is pure: ``now`` is always a parameter.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "RecurrenceType",
    "Slot",
    "effective_target_date",
    "format_utc",
    "in_zone",
    "is_dst_edge",
    "next_occurrence",
    "occurrences",
    "parse_iso",
    "rfc_local_to_utc",
    "slot_occurrences",
    "tickward_local_to_utc",
    "wall_of",
    "zone",
]

RecurrenceType = Literal["daily", "weekly", "monthly", "yearly"]

_ONE_MS = timedelta(milliseconds=1)


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``UTC`` included); ``KeyError`` if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise KeyError(name) from exc


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 instant with ``Z`` or an offset into an aware UTC datetime."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no offset")
    return parsed.astimezone(UTC)


def format_utc(instant: datetime) -> str:
    """Format an instant the way tickward normalises it: ``YYYY-MM-DDTHH:MM:SS.000Z``."""
    utc = instant.astimezone(UTC)
    if utc.year >= 1000:  # isoformat pads years to 4 digits, as strftime does from 1000 on
        return utc.isoformat(timespec="milliseconds")[:-6] + "Z"  # less its "+00:00"
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _offset_at(tz: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None
    return offset


def tickward_local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """Convert a naive wall-clock time to UTC the way tickward does.

    The local fields are first read as if they were UTC and the zone's offset
    at that instant is applied; the offset at the result is checked, and if it
    differs the time is re-adjusted by it and checked once more; if the offsets
    still disagree the larger one wins (date-fns-tz's ``fixOffset``, which
    reproduces every instant measured in SERVER-NOTES.md). Valid, unambiguous
    wall times therefore agree with RFC 5545; in a spring-forward gap the
    result lands one hour earlier than RFC 5545, and in a fall-back overlap it
    is the first instance west of Greenwich and the second east of it.
    """
    as_utc = in_zone(local, UTC)  # the local fields read as UTC
    first = _offset_at(tz, as_utc)
    second = _offset_at(tz, as_utc - first)
    if first == second:
        return as_utc - first
    third = _offset_at(tz, as_utc - second)
    if second == third:
        return as_utc - second
    return as_utc - max(second, third)


def rfc_local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """Convert a naive wall-clock time to UTC per RFC 5545 §3.3.5.

    A time in a gap moves forward by the gap; an ambiguous one is the first
    instance. (``zoneinfo`` with ``fold=0`` does exactly that.)
    """
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def wall_of(moment: datetime) -> datetime:
    """``moment.replace(tzinfo=None)`` (fold kept) at a fifth of its cost."""
    return datetime.combine(moment, moment.time())


def in_zone(wall: datetime, tz: tzinfo | None, fold: int = 0) -> datetime:
    """``wall.replace(tzinfo=tz, fold=fold)`` at a fraction of its cost (``wall``'s own zone,
    if any, is dropped)."""
    if wall.fold == fold:
        return datetime.combine(wall, wall.time(), tz)
    return datetime(wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second,
                    wall.microsecond, tz, fold=fold)  # fmt: skip


def is_dst_edge(local: datetime, tz: ZoneInfo) -> bool:
    """True when the wall-clock time falls in a DST gap or overlap of ``tz``."""
    naive = local if local.tzinfo is None else local.replace(tzinfo=None)
    early = in_zone(naive, tz)
    if early.utcoffset() != in_zone(naive, tz, 1).utcoffset():
        return True  # ambiguous (overlap) or non-existent (gap): the folds disagree
    if type(tz) is ZoneInfo:
        return False  # zoneinfo gives a gap's two folds the offsets on either side of it
    back = early.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return back != naive


@dataclass(frozen=True)
class Slot:
    """The repeating wall-clock slot of a recurring timer."""

    type: RecurrenceType
    hour: int
    minute: int
    weekday: int  # Monday = 0
    day: int
    month: int
    last_day: bool = False

    @classmethod
    def of(
        cls, target: datetime, tz: ZoneInfo, type: RecurrenceType, *, last_day: bool = False
    ) -> Slot:
        """Read the slot from an anchor instant seen in ``tz`` (seconds dropped)."""
        local = target.astimezone(tz)
        return cls(
            type=type,
            hour=local.hour,
            minute=local.minute,
            weekday=local.weekday(),
            day=local.day,
            month=local.month,
            last_day=last_day and type == "monthly",
        )

    def local_dates(self, start: date) -> Iterator[date]:
        """Every local date on or after ``start`` that carries this slot, in order."""
        if self.type == "daily":
            day = start
            while True:
                yield day
                day += timedelta(days=1)
        elif self.type == "weekly":
            day = start + timedelta(days=(self.weekday - start.weekday()) % 7)
            while True:
                yield day
                day += timedelta(days=7)
        elif self.type == "monthly":
            year, month = start.year, start.month
            while True:
                last = calendar.monthrange(year, month)[1]
                if self.last_day:
                    candidate: date | None = date(year, month, last)
                else:
                    candidate = date(year, month, self.day) if self.day <= last else None
                if candidate is not None and candidate >= start:
                    yield candidate
                month += 1
                if month == 13:
                    year, month = year + 1, 1
        else:
            year = start.year
            while True:
                if self.month != 2 or self.day != 29 or calendar.isleap(year):
                    candidate = date(year, self.month, self.day)
                    if candidate >= start:
                        yield candidate
                year += 1

    def falls_on(self, day: date) -> bool:
        """True when this slot is on local date ``day`` (``next(local_dates(day)) == day``)."""
        if self.type == "daily":
            return True
        if self.type == "weekly":
            return day.weekday() == self.weekday
        if self.type == "monthly":
            if self.last_day:
                return day.day == calendar.monthrange(day.year, day.month)[1]
            return day.day == self.day
        return (day.month, day.day) == (self.month, self.day)

    def wall_clock(self, day: date) -> datetime:
        """The naive local datetime of this slot on ``day``."""
        return datetime.combine(day, time(self.hour, self.minute))


def occurrences(
    target: datetime,
    tz: ZoneInfo,
    type: RecurrenceType,
    after: datetime,
    *,
    last_day: bool = False,
) -> Iterator[datetime]:
    """tickward's occurrences of a recurring timer strictly after ``after``, in order (UTC)."""
    slot = Slot.of(target, tz, type, last_day=last_day)
    yield from slot_occurrences(slot, tz, max(after, target - _ONE_MS))


def slot_occurrences(slot: Slot, tz: ZoneInfo, threshold: datetime) -> Iterator[datetime]:
    """The instants of ``slot`` in ``tz`` strictly after ``threshold``, in order: what
    ``occurrences`` yields for a target whose slot (``Slot.of``) is ``slot``."""
    # Start a day early: local dates and UTC instants differ by at most ~26 hours.
    start = threshold.astimezone(tz).date() - timedelta(days=2)
    for day in slot.local_dates(start):
        instant = tickward_local_to_utc(slot.wall_clock(day), tz)
        if instant > threshold:
            yield instant


def next_occurrence(
    target: datetime,
    tz: ZoneInfo,
    type: RecurrenceType,
    now: datetime,
    *,
    last_day: bool = False,
) -> datetime:
    """The first slot instant strictly after ``max(now, target − 1 ms)``."""
    return next(occurrences(target, tz, type, now, last_day=last_day))


def effective_target_date(
    target_date: str,
    timezone: str,
    recurrence: dict[str, object] | None,
    now: datetime,
) -> str:
    """``effective_target_date`` as tickward reports it for a stored timer.

    Non-recurring timers (or a disabled recurrence) return ``target_date``
    exactly as it was sent; recurring ones the next slot, normalised to
    ``YYYY-MM-DDTHH:MM:SS.000Z``.
    """
    if not recurrence or not recurrence.get("enabled"):
        return target_date
    kind = recurrence.get("type")
    if kind not in ("daily", "weekly", "monthly", "yearly"):
        return target_date
    instant = next_occurrence(
        parse_iso(target_date),
        zone(timezone),
        kind,
        now,
        last_day=bool(recurrence.get("lastDay")),
    )
    return format_utc(instant)
