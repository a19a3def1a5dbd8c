"""Which RRULEs tickward can represent: one native slot, or a union of slots (split)."""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ical_bridge.convert.rulemath import remembered, shape_key
from ical_bridge.recurrence import RecurrenceType, Slot

__all__ = ["RulePart", "RuleShape", "analyse_rule"]

_FREQ_TYPE: dict[str, RecurrenceType] = {
    "DAILY": "daily",
    "WEEKLY": "weekly",
    "MONTHLY": "monthly",
    "YEARLY": "yearly",
}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ALLOWED = {
    "FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST",
    "BYDAY", "BYMONTHDAY", "BYMONTH", "BYHOUR", "BYMINUTE", "BYSECOND",
}  # fmt: skip


@dataclass(frozen=True)
class RulePart:
    """One tickward slot of a series: its type, first wall-clock occurrence and label suffix."""

    type: RecurrenceType
    anchor: datetime  # naive wall clock, seconds dropped
    last_day: bool
    suffix: str


@dataclass(frozen=True)
class RuleShape:
    """The tickward slots a rule is the union of, or why it is none."""

    parts: tuple[RulePart, ...]
    reason: str = ""  # empty when representable
    unsupported: bool = False


def _not(reason: str, *, unsupported: bool = False) -> RuleShape:
    return RuleShape((), reason, unsupported)


def _ints(values: Sequence[Any]) -> list[int] | None:
    try:
        return sorted({int(v) for v in values})
    except (TypeError, ValueError):
        return None


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def analyse_rule(
    rule: Mapping[str, Sequence[Any]], start: datetime, *, is_date: bool, start_passed: bool = False
) -> RuleShape:
    """Decompose ``rule`` (an icalendar vRecur) with wall-clock ``start`` into tickward slots.

    ``start_passed``: DTSTART is before ``now``. A DTSTART off the rule's days is then an
    occurrence of the past only; the occurrences still to come are the slots' own.
    """
    shape = shape_key(rule)
    key = None if shape is None else (shape, is_date, start.hour, start.minute, start.second,
                                      start.weekday(), start.day, start.month)  # fmt: skip
    # the slots follow from the rule and DTSTART's fields alone: many series share them
    slots = remembered(_SLOTS, key, lambda: _slots(rule, start, is_date=is_date, shape=shape))
    if isinstance(slots, RuleShape):
        return slots
    wall = start.replace(second=0, microsecond=0) if start.second or start.microsecond else start
    if not start_passed and not any(_carries(slot, wall) for slot, _ in slots):
        return _not("DTSTART is not one of the rule's own occurrences")
    parts = []
    for slot, suffix in slots:
        anchor = _first_on_or_after(slot, wall)
        if anchor is None:
            return _not("a slot of the rule never occurs")
        parts.append(RulePart(slot.type, anchor, slot.last_day, f" ({suffix})" if suffix else ""))
    return RuleShape(tuple(parts))


_SLOTS: dict[tuple[Any, ...], RuleShape | tuple[tuple[Slot, str], ...]] = {}


@dataclass(frozen=True)
class _Plan:
    """What a rule says of its slots before a DTSTART fills in what it leaves out (``None``:
    the DTSTART's own hour, minute, weekday, day or month)."""

    kind: RecurrenceType
    freq: str
    hours: list[int] | None
    minutes: list[int] | None
    weekdays: list[int] | None
    days: list[int] | None
    months: list[int] | None


_PLANS: dict[tuple[Any, ...], RuleShape | _Plan] = {}


def _slots(rule: Mapping[str, Sequence[Any]], start: datetime, *, is_date: bool,
           shape: tuple[Any, ...] | None) -> RuleShape | tuple[tuple[Slot, str], ...]:  # fmt: skip
    """The tickward slots (with label suffixes) of ``rule`` (``shape``: its ``shape_key``)
    from a DTSTART at ``start``'s time, weekday, day and month, or the shape saying why
    there are none."""
    key = None if shape is None else (
        tuple(part for part in shape if part[0] != "COUNT"), is_date)  # fmt: skip
    # what the rule alone says, worked out once for every series with the same rule parts
    plan = remembered(_PLANS, key, lambda: _plan(rule, is_date=is_date))
    if isinstance(plan, RuleShape):
        return plan
    kind = plan.kind
    hours = plan.hours if plan.hours is not None else [start.hour]
    minutes = plan.minutes if plan.minutes is not None else [start.minute]
    times = list(itertools.product(hours, minutes))
    weekdays = plan.weekdays if plan.weekdays is not None else [start.weekday()]
    days = plan.days if plan.days is not None else [start.day]
    months = plan.months if plan.months is not None else [start.month]
    if kind == "yearly":
        for month, day in itertools.product(months, days):
            if day > calendar.monthrange(2024, month)[1]:
                return _not(f"YEARLY on {month}/{day}, a date that never exists")
    slots: list[tuple[Slot, str]] = []
    vary_time = len(times) > 1
    if kind == "daily":
        for h, m in times:
            slots.append((Slot("daily", h, m, 0, 1, 1), f"{h:02d}:{m:02d}" if vary_time else ""))
    elif kind == "weekly":
        for wd, (h, m) in itertools.product(weekdays, times):
            bits = [_DAY_NAMES[wd]] if len(weekdays) > 1 else []
            bits += [f"{h:02d}:{m:02d}"] if vary_time else []
            slots.append((Slot("weekly", h, m, wd, 1, 1), " ".join(bits)))
    elif kind == "monthly":
        for day, (h, m) in itertools.product(days, times):
            last = day == -1
            bits = ["last day" if last else _ordinal(day)] if len(days) > 1 else []
            bits += [f"{h:02d}:{m:02d}"] if vary_time else []
            slots.append((Slot("monthly", h, m, 0, 31 if last else day, 1, last), " ".join(bits)))
    else:
        for (month, day), (h, m) in itertools.product(itertools.product(months, days), times):
            bits = [f"{calendar.month_abbr[month]} {day}"] if len(months) * len(days) > 1 else []
            bits += [f"{h:02d}:{m:02d}"] if vary_time else []
            slots.append((Slot("yearly", h, m, 0, day, month), " ".join(bits)))
    return tuple(slots)


def _plan(rule: Mapping[str, Sequence[Any]], *, is_date: bool) -> RuleShape | _Plan:
    """What ``rule`` alone says of its slots (``_Plan``), or the shape saying why it has none
    whatever its DTSTART."""
    keys = {k.upper() for k in rule}
    if "RSCALE" in keys or "SKIP" in keys:
        return _not("non-Gregorian rule (RFC 7529)", unsupported=True)
    freq = str(rule.get("FREQ", [""])[0]).upper()
    kind = _FREQ_TYPE.get(freq)
    if kind is None:
        return _not(f"FREQ={freq or '?'} has no tickward equivalent")
    extra = keys - _ALLOWED
    if extra:
        return _not(f"{', '.join(sorted(extra))} has no tickward equivalent")
    interval = _ints(rule.get("INTERVAL", [1]))
    if interval != [1]:
        return _not("INTERVAL > 1 has no tickward equivalent")
    # a part left out is the DTSTART's own hour, minute or second: one valid value each
    given_hours, given_minutes = rule.get("BYHOUR"), rule.get("BYMINUTE")
    given_seconds = rule.get("BYSECOND")
    hours = _ints(given_hours) if given_hours is not None else []
    minutes = _ints(given_minutes) if given_minutes is not None else []
    seconds = _ints(given_seconds) if given_seconds is not None else [0]
    if hours is None or minutes is None or seconds is None or len(seconds) != 1:
        return _not("BYSECOND lists several seconds")
    if is_date and ("BYHOUR" in keys or "BYMINUTE" in keys):
        return _not("BYHOUR/BYMINUTE on an all-day series")
    if not all(0 <= h <= 23 for h in hours) or not all(0 <= m <= 59 for m in minutes):
        return _not("BYHOUR/BYMINUTE out of range")
    weekdays: list[int] | None = None
    days: list[int] | None = None
    months: list[int] | None = None
    byday = [str(d).upper() for d in rule.get("BYDAY", [])]
    if any(d not in _WEEKDAYS for d in byday):
        return _not("BYDAY with an ordinal (nth weekday)")
    if kind == "daily":
        if "BYMONTHDAY" in keys or "BYMONTH" in keys:
            return _not("DAILY with BYMONTH/BYMONTHDAY")
        if byday:
            kind, weekdays = "weekly", sorted({_WEEKDAYS.index(d) for d in byday})
    elif kind == "weekly":
        if "BYMONTHDAY" in keys or "BYMONTH" in keys:
            return _not("WEEKLY with BYMONTH/BYMONTHDAY")
        weekdays = sorted({_WEEKDAYS.index(d) for d in byday}) or None
    else:
        if byday:
            return _not(f"{freq} with BYDAY")
        given_days = rule.get("BYMONTHDAY")
        if given_days is not None:
            days = _ints(given_days)
            if days is None or any(d == 0 or d < -1 or d > 31 for d in days):
                return _not("BYMONTHDAY other than a day or -1")
        if kind == "yearly" and "BYMONTHDAY" in keys and "BYMONTH" not in keys:
            kind = "monthly"  # RFC 5545: a YEARLY BYMONTHDAY without BYMONTH is every month's
        if kind == "monthly":
            if "BYMONTH" in keys:
                return _not("MONTHLY with BYMONTH")
        else:
            if days is not None and -1 in days:
                return _not("YEARLY on a month's last day")
            given_months = rule.get("BYMONTH")
            if given_months is not None:
                months = _ints(given_months)
                if months is None or any(not 1 <= m <= 12 for m in months):
                    return _not("BYMONTH out of range")
    return _Plan(kind, freq, hours if given_hours is not None else None,
                 minutes if given_minutes is not None else None, weekdays, days, months)


def _carries(slot: Slot, wall: datetime) -> bool:
    """The slot has an occurrence at ``wall`` (``_first_on_or_after(slot, wall) == wall``)."""
    return slot.falls_on(wall.date()) and slot.wall_clock(wall) == wall


def _first_on_or_after(slot: Slot, wall: datetime) -> datetime | None:
    """The slot's first wall-clock occurrence at or after ``wall``: on ``wall``'s own day if
    the slot falls on it late enough, else on the next day that carries it."""
    day = wall.date()
    if slot.falls_on(day) and slot.wall_clock(day) >= wall:
        return slot.wall_clock(day)
    for later in slot.local_dates(day + timedelta(days=1)):
        return slot.wall_clock(later)
    return None
