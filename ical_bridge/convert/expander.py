"""RFC 5545 expansion of one series through recurring-ical-events, in bounded windows."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import recurring_ical_events
from icalendar import Calendar, Component

__all__ = ["Occurrence", "SeriesExpander"]

_FIRST_SPAN = timedelta(days=8)
_MAX_AHEAD = timedelta(days=50 * 366)
_SLACK = timedelta(days=2)  # floating and all-day values are compared as UTC by the library


class Occurrence:
    """One occurrence: its UTC instant and a component carrying its own DTSTART etc."""

    __slots__ = ("_raw", "component", "instant")

    def __init__(self, raw: object, instant: datetime) -> None:
        self._raw = raw
        self.instant = instant
        self.component: Component = raw.as_component(False)  # type: ignore[attr-defined]

    @property
    def cancelled(self) -> bool:
        """True when an override cancels this occurrence."""
        return str(self.component.get("STATUS", "")).upper() == "CANCELLED"

    @property
    def recurrence_id(self) -> str:
        """The occurrence's RECURRENCE-ID in iCalendar text form (UTC when zoned)."""
        prop = self.component.get("RECURRENCE-ID")
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
    ) -> None:
        calendar = Calendar()
        if x_wr_timezone:
            calendar.add("X-WR-TIMEZONE", x_wr_timezone)
        for comp in components:
            calendar.add_component(comp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._query = recurring_ical_events.of(calendar)
        self._instant_of = instant_of

    def between(self, start: datetime, end: datetime) -> list[Occurrence]:
        """Occurrences with ``start < instant <= end``, in order."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = self._query._occurrences_between(start - _SLACK, end + _SLACK)
        found: list[Occurrence] = []
        for item in raw:
            occurrence = Occurrence(item, start)
            instant = self._instant_of(occurrence.component)
            if instant is not None and start < instant <= end:
                occurrence.instant = instant
                found.append(occurrence)
        found.sort(key=lambda o: o.instant)
        return found

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
