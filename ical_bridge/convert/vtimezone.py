"""Rule-based VTIMEZONE blocks that Outlook reads correctly.

icalendar's own generator lists every transition as an RDATE, which Outlook
mis-reads. Here each observance (STANDARD/DAYLIGHT) carries one yearly RRULE
derived from the zone's real transitions (from ``zoneinfo``) in the years a
feed covers; when the rule changes, one observance per rule period is emitted,
each starting at its first transition and ending with an ``UNTIL``.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["Transition", "transitions", "vtimezone_lines"]

_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_SCAN_STEP = timedelta(hours=12)


@dataclass(frozen=True)
class Transition:
    """One change of a zone's UTC offset or abbreviation."""

    instant: datetime  # UTC
    offset_from: timedelta
    offset_to: timedelta
    name: str

    @property
    def local(self) -> datetime:
        """Wall-clock time of the change, read in the offset in force before it (naive)."""
        return (self.instant + self.offset_from).replace(tzinfo=None)

    @property
    def daylight(self) -> bool:
        """True when clocks go forward (the observance is a DAYLIGHT part)."""
        return self.offset_to > self.offset_from


def _state(tz: ZoneInfo, instant: datetime) -> tuple[timedelta, str]:
    local = instant.astimezone(tz)
    offset = local.utcoffset()
    assert offset is not None
    return offset, local.tzname() or ""


@lru_cache(maxsize=256)
def transitions(name: str, first_year: int, last_year: int) -> tuple[Transition, ...]:
    """Every transition of zone ``name`` from ``first_year`` to ``last_year`` inclusive."""
    tz = ZoneInfo(name)
    start = datetime(first_year, 1, 1, tzinfo=UTC) - timedelta(days=1)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    found: list[Transition] = []
    at, prev = start, _state(tz, start)
    while at < end:
        step_end = min(at + _SCAN_STEP, end)
        cur = _state(tz, step_end)
        if cur != prev:
            lo, hi = at, step_end  # state(lo) == prev, state(hi) != prev
            while hi - lo > timedelta(seconds=1):
                mid = (lo + (hi - lo) / 2).replace(microsecond=0)
                if _state(tz, mid) == prev:
                    lo = mid
                else:
                    hi = mid
            if hi.year >= first_year:
                found.append(Transition(hi, prev[0], cur[0], cur[1]))
        at, prev = step_end, cur
    return tuple(found)


# A rule is a tuple of RRULE parts after FREQ=YEARLY, e.g. ("BYMONTH=3", "BYDAY=-1SU").
_Rule = tuple[str, ...]


def _candidates(local: datetime) -> list[_Rule]:
    """Yearly rules that fire on ``local``'s date, most Outlook-friendly first."""
    month, day, weekday = local.month, local.day, _DAYS[local.weekday()]
    last = calendar.monthrange(local.year, month)[1]
    by_month = f"BYMONTH={month}"
    rules: list[_Rule] = []
    if day > last - 7:
        rules.append((by_month, f"BYDAY=-1{weekday}"))
    if day <= 28:
        rules.append((by_month, f"BYDAY={(day - 1) // 7 + 1}{weekday}"))
    rules.append((by_month, f"BYMONTHDAY={day}"))
    # "weekday on or after day d" (e.g. Israel's Fri>=23) as a seven-day window
    for first in range(max(1, day - 6), day + 1):
        if first + 6 <= 31:
            days = ",".join(str(d) for d in range(first, first + 7))
            rules.append((by_month, f"BYDAY={weekday}", f"BYMONTHDAY={days}"))
    return rules


@dataclass
class _Run:
    items: list[Transition]
    rules: list[_Rule]


def _runs(items: Iterable[Transition]) -> list[_Run]:
    """Group same-kind transitions in consecutive years under one common rule."""
    runs: list[_Run] = []
    for item in items:
        run = runs[-1] if runs else None
        if run is not None and item.local.year == run.items[-1].local.year + 1:
            mine = _candidates(item.local)
            common = [rule for rule in run.rules if rule in mine]
            if common:
                run.items.append(item)
                run.rules = common
                continue
        runs.append(_Run([item], _candidates(item.local)))
    return runs


def _offset(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


def _observance(
    kind: str, start: datetime, offset_from: timedelta, offset_to: timedelta, name: str,
    rrule: str | None,
) -> list[str]:
    lines = [
        f"BEGIN:{kind}",
        f"DTSTART:{start:%Y%m%dT%H%M%S}",
        f"TZOFFSETFROM:{_offset(offset_from)}",
        f"TZOFFSETTO:{_offset(offset_to)}",
    ]
    if name:
        lines.append(f"TZNAME:{name}")
    if rrule:
        lines.append(f"RRULE:{rrule}")
    lines.append(f"END:{kind}")
    return lines


def vtimezone_lines(name: str, first_year: int, last_year: int) -> list[str]:
    """Unfolded content lines of a VTIMEZONE for ``name`` valid from ``first_year`` to
    ``last_year`` (and, where the zone's last rule still holds, beyond)."""
    tz = ZoneInfo(name)
    # Scan one year early (so January of first_year is covered by a real
    # transition) and two years late (to tell an open-ended rule from a one-off).
    scan_last = last_year + 2
    found = transitions(name, first_year - 1, scan_last)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]
    scan_start = datetime(first_year - 1, 1, 1, tzinfo=UTC)
    if not found or found[0].instant.year > first_year - 1:
        offset, abbr = _state(tz, scan_start)
        kind = "DAYLIGHT" if (scan_start.astimezone(tz).dst() or timedelta(0)) > timedelta(0) \
            else "STANDARD"
        lines += _observance(kind, datetime(first_year - 1, 1, 1), offset, offset, abbr, None)
    groups: dict[tuple[bool, timedelta, timedelta, str, object], list[Transition]] = {}
    for item in found:
        key = (item.daylight, item.offset_from, item.offset_to, item.name, item.local.time())
        groups.setdefault(key, []).append(item)
    parts: list[tuple[datetime, list[str]]] = []
    for (daylight, offset_from, offset_to, abbr, _), items in groups.items():
        kind = "DAYLIGHT" if daylight else "STANDARD"
        runs = _runs(items)
        for index, run in enumerate(runs):
            first, last = run.items[0], run.items[-1]
            open_ended = index == len(runs) - 1 and last.local.year >= scan_last - 1
            rrule: str | None = None
            if open_ended:
                rrule = ";".join(("FREQ=YEARLY", *run.rules[0]))
            elif len(run.items) > 1:
                until = f"UNTIL={last.instant:%Y%m%dT%H%M%SZ}"
                rrule = ";".join(("FREQ=YEARLY", *run.rules[0], until))
            parts.append(
                (first.instant, _observance(kind, first.local, offset_from, offset_to, abbr, rrule))
            )
    for _, part in sorted(parts, key=lambda p: p[0]):
        lines += part
    lines.append("END:VTIMEZONE")
    return lines
