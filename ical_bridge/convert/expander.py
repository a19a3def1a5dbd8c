"""RFC 5545 expansion of one series through recurring-ical-events, in bounded windows."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dateutil.rrule import rrulestr
from icalendar import Calendar, Component
from icalendar.prop import vDDDTypes
from icalendar.prop import vRecur as vRecurType

__all__ = ["Occurrence", "SeriesExpander", "rebased", "rebased_start", "whole_periods"]

_FIRST_SPAN = timedelta(days=8)
_MAX_AHEAD = timedelta(days=50 * 366)
_SLACK = timedelta(days=2)  # floating and all-day values are compared as UTC by the library


class Occurrence:
    """One occurrence: its UTC instant and a component carrying its own DTSTART etc."""

    __slots__ = ("_component", "_raw", "instant")

    def __init__(self, raw: object, instant: datetime) -> None:
        self._raw = raw
        self.instant = instant
        self._component: Component | None = None

    @property
    def component(self) -> Component:
        """The occurrence as a component (made on first use: copying is not free)."""
        if self._component is None:
            self._component = self._raw.as_component(False)  # type: ignore[attr-defined]
        return self._component

    def bare(self) -> tuple[Component, date, str | None] | None:
        """``(master, start, TZID)`` when a draft of ``component`` is a draft of the master
        whose DTSTART is ``start`` in zone ``TZID`` (see ``fastscan``); else None."""
        return None

    @property
    def cancelled(self) -> bool:
        """True when an override cancels this occurrence."""
        source = getattr(getattr(self._raw, "_adapter", None), "_component", None)
        if source is None:
            source = self.component
        return str(dict.get(source, "STATUS", "")).upper() == "CANCELLED"

    @property
    def recurrence_id(self) -> str:
        """The occurrence's RECURRENCE-ID in iCalendar text form (UTC when zoned)."""
        prop = dict.get(self.component, "RECURRENCE-ID")
        value = getattr(prop, "dt", None)
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
            return value.strftime("%Y%m%dT%H%M%S")
        if value is not None:
            return str(value.strftime("%Y%m%d"))
        return self.instant.strftime("%Y%m%dT%H%M%SZ")


class SeriesExpander:
    """Occurrences of one series (master + overrides) between UTC instants."""

    def __init__(
        self,
        components: list[Component],
        *,
        x_wr_timezone: str | None,
        instant_of: Callable[[Component], datetime | None],
        instant_of_value: Callable[[date], datetime | None],
        rebase_before: datetime | None = None,
    ) -> None:
        # Imported here: a feed of plain series never needs them (convert starts faster).
        import recurring_ical_events
        import x_wr_timezone as x_wr_timezone_module

        calendar = Calendar()
        if x_wr_timezone:
            calendar.add("X-WR-TIMEZONE", x_wr_timezone)
        for comp in components:
            calendar.add_component(comp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Google's meaning first, so that rebasing moves local wall-clock times.
            calendar = x_wr_timezone_module.to_standard(calendar)
            masters = [c for c in calendar.subcomponents if dict.get(c, "RECURRENCE-ID") is None]
            # Only the rule's own occurrences that whole_periods added before DTSTART are
            # spurious; overrides and RDATEs may lie before DTSTART (issue 11, item 1).
            self._not_before: datetime | None = None
            self._rdates: set[datetime] = set()
            if rebase_before is not None:
                subcomponents = []
                for comp in calendar.subcomponents:
                    if dict.get(comp, "RECURRENCE-ID") is None:
                        moved = whole_periods(rebased(comp, rebase_before))
                        kept = dict.get(moved, "DTSTART") is dict.get(comp, "DTSTART")
                        if not kept and len(masters) == 1:
                            self._not_before = instant_of(masters[0])
                            self._rdates = _rdate_instants(comp, instant_of_value)
                        comp = moved
                    subcomponents.append(comp)
                calendar.subcomponents = subcomponents
            self._query = recurring_ical_events.of(calendar)
        self._instant_of_value = instant_of_value

    def between(self, start: datetime, end: datetime) -> list[Occurrence]:
        """Occurrences with ``start < instant <= end``, in order."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = self._query._occurrences_between(start - _SLACK, end + _SLACK)
        found: list[Occurrence] = []
        for item in raw:
            occurrence = Occurrence(item, start)
            instant = self._instant_of_value(item.start)
            if instant is None or self._spurious(item, instant):
                continue
            if start < instant <= end:
                occurrence.instant = instant
                found.append(occurrence)
        found.sort(key=lambda o: o.instant)
        return found

    def _spurious(self, item: Any, instant: datetime) -> bool:
        """An occurrence whole_periods generated before the real DTSTART."""
        if self._not_before is None or instant >= self._not_before or instant in self._rdates:
            return False
        source = getattr(getattr(item, "_adapter", None), "_component", None)
        return source is None or dict.get(source, "RECURRENCE-ID") is None

    def iter_after(self, now: datetime, bound: datetime | None) -> Iterator[Occurrence]:
        """Occurrences after ``now`` in order, in widening windows up to ``bound``."""
        limit = now + _MAX_AHEAD if bound is None else min(bound, now + _MAX_AHEAD)
        start, span = now, _FIRST_SPAN
        while start < limit:
            end = min(start + span, limit)
            found = self.between(start, end)
            yield from found
            start = end
            span = span if found else span * 2

    def next_after(self, now: datetime, bound: datetime | None) -> Occurrence | None:
        """The first occurrence after ``now`` that is not cancelled."""
        for occurrence in self.iter_after(now, bound):
            if not occurrence.cancelled:
                return occurrence
        return None

    def last_before(self, bound: datetime, now: datetime) -> Occurrence | None:
        """The last non-cancelled occurrence in ``(now, bound]``, searched backwards."""
        end, span = bound, _FIRST_SPAN
        while end > now:
            start = max(now, end - span)
            found = [o for o in self.between(start, end) if not o.cancelled]
            if found:
                return found[-1]
            end, span = start, span * 2
        return None


_REBASE_MARGIN = timedelta(days=40)


def _rdate_instants(
    master: Component, instant_of_value: Callable[[date], datetime | None]
) -> set[datetime]:
    found: set[datetime] = set()
    values = dict.get(master, "RDATE")
    for prop in values if isinstance(values, list) else [values] if values is not None else []:
        for item in getattr(prop, "dts", []):
            value = item.dt[0] if isinstance(item.dt, tuple) else item.dt
            instant = instant_of_value(value) if isinstance(value, date) else None
            if instant is not None:
                found.add(instant)
    return found


def rebased(master: Component, before: datetime) -> Component:
    """A copy of ``master`` whose DTSTART is moved forward by whole periods of its rule.

    Expanding an endless rule costs one step per occurrence since DTSTART, so a
    daily series from 1997 is slow in every window. Moving DTSTART forward by
    whole periods (× INTERVAL) keeps every occurrence after ``before`` as it
    was; rules with COUNT, BYWEEKNO or BYYEARDAY are left alone.
    """
    prop = dict.get(master, "DTSTART")
    start = getattr(prop, "dt", None)
    rules = dict.get(master, "RRULE")
    if not isinstance(start, date):
        return master
    new = rebased_start(start, rules, before)
    if new is None:
        return master
    clone = master.copy()
    clone.subcomponents = list(master.subcomponents)
    clone["DTSTART"] = _with_params(vDDDTypes(new), prop)
    end_prop = dict.get(master, "DTEND")
    end: Any = getattr(end_prop, "dt", None)
    if end_prop is not None:
        try:
            clone["DTEND"] = _with_params(vDDDTypes(new + (end - start)), end_prop)
        except (TypeError, ValueError):  # DTEND of another kind than DTSTART: drop it
            del clone["DTEND"]
    return clone


def rebased_start(start: date, rules: object, before: datetime) -> date | None:
    """The DTSTART ``rebased`` moves to (``None``: left alone), without copying anything."""
    if not isinstance(rules, vRecurType):
        return None
    rule: Any = rules
    if dict.get(rule, "COUNT") or dict.get(rule, "BYWEEKNO") or dict.get(rule, "BYYEARDAY"):
        return None
    try:
        interval = int(dict.get(rule, "INTERVAL", [1])[0])
    except (TypeError, ValueError):
        return None
    freq = str(dict.get(rule, "FREQ", [""])[0]).upper()
    ref_day = (before - _REBASE_MARGIN).date()  # the fields of the instants, as dates
    start_day = start.date() if isinstance(start, datetime) else start
    if interval < 1 or (ref_day - start_day).days < 400:
        return None
    if freq in ("DAILY", "WEEKLY"):
        step = interval * (1 if freq == "DAILY" else 7)
        return start + timedelta(days=(ref_day - start_day).days // step * step)
    if freq == "MONTHLY":
        if start.day > 28 and not dict.get(rule, "BYMONTHDAY") and not dict.get(rule, "BYDAY"):
            return None
        months = (ref_day.year - start.year) * 12 + ref_day.month - start.month - 1
        months = months // interval * interval
        total = start.month - 1 + months
        # With explicit BY-parts the day only anchors the expansion; any day ≤ 28 exists.
        return start.replace(
            year=start.year + total // 12, month=total % 12 + 1, day=min(start.day, 28)
        )
    if freq == "YEARLY":
        if (start.month, start.day) == (2, 29):
            return None
        years = (ref_day.year - start.year - 1) // interval * interval
        return start.replace(year=start.year + years)
    return None


def _with_params(value: vDDDTypes, source: Any) -> vDDDTypes:
    value.params = source.params.copy()
    return value


_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def whole_periods(master: Component) -> Component:
    """A copy of a BYSETPOS series whose DTSTART starts its period (week, month, year).

    dateutil (under recurring-ical-events) drops the days before DTSTART from
    the first period *before* applying BYSETPOS, so a DTSTART in mid-period
    yields occurrences RFC 5545 does not have. Starting the expansion at the
    period's start (derived BY-parts made explicit, COUNT raised by the
    occurrences before the real DTSTART) and dropping everything before the
    real DTSTART gives RFC 5545's set.
    """
    rules = dict.get(master, "RRULE")
    prop = dict.get(master, "DTSTART")
    start = getattr(prop, "dt", None)
    if not isinstance(rules, vRecurType) or not isinstance(start, date) or "BYSETPOS" not in rules:
        return master
    rule: Any = vRecurType(dict(rules))
    freq = str(dict.get(rule, "FREQ", [""])[0]).upper()
    naive = start.replace(tzinfo=None) if isinstance(start, datetime) else start
    if freq == "WEEKLY":
        wkst = str(dict.get(rule, "WKST", ["MO"])[0]).upper()
        back = (naive.weekday() - _WEEKDAYS.index(wkst)) % 7 if wkst in _WEEKDAYS else 0
        new = start - timedelta(days=back)
        rule.setdefault("BYDAY", [_WEEKDAYS[naive.weekday()]])
    elif freq == "MONTHLY":
        new = start.replace(day=1)
        if not dict.get(rule, "BYDAY"):
            rule.setdefault("BYMONTHDAY", [naive.day])
    elif freq == "YEARLY":
        new = start.replace(month=1, day=1)
        if not any(rule.get(k) for k in ("BYDAY", "BYYEARDAY", "BYWEEKNO")):
            rule.setdefault("BYMONTH", [naive.month])
            rule.setdefault("BYMONTHDAY", [naive.day])
        elif dict.get(rule, "BYMONTHDAY") and not dict.get(rule, "BYMONTH"):
            rule["BYMONTH"] = [naive.month]
    else:
        return master
    if isinstance(start, datetime) and not isinstance(new, datetime):  # pragma: no cover
        return master
    if new == start:
        return master
    if isinstance(naive, datetime):
        rule.setdefault("BYHOUR", [naive.hour])
        rule.setdefault("BYMINUTE", [naive.minute])
        rule.setdefault("BYSECOND", [naive.second])
    if dict.get(rule, "COUNT"):
        try:
            text = rule.to_ical().decode()
            first = _as_datetime(new)
            real = _as_datetime(start)
            early = rrulestr(text, dtstart=first).between(first, real, inc=True)
            rule["COUNT"] = [int(rule["COUNT"][0]) + len([e for e in early if e < real])]
        except Exception:
            return master
    clone = master.copy()
    clone.subcomponents = list(master.subcomponents)
    clone["DTSTART"] = _with_params(vDDDTypes(new), prop)
    clone["RRULE"] = rule
    end_prop = dict.get(master, "DTEND")
    if end_prop is not None:
        try:
            clone["DTEND"] = _with_params(vDDDTypes(new + (end_prop.dt - start)), end_prop)
        except (TypeError, ValueError):
            del clone["DTEND"]
    return clone


def _as_datetime(value: date) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value, datetime.min.time())
