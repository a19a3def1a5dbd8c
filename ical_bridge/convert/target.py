"""``target = "end"``: a countdown to the end of each event instead of its start.

The series is rewritten before any decision: each component's ``DTSTART`` moves
to its end (``DTEND``, or ``DTSTART`` + ``DURATION``; an all-day event without
either lasts one day), and the values that name occurrences by their start
(``RECURRENCE-ID``, ``EXDATE``, ``RDATE``, ``UNTIL``) move with the master's
length, so exceptions and overrides still meet their occurrences. To-dos keep
their ``DUE``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from icalendar import Component
from icalendar.prop import vDDDTypes

from ical_bridge.convert.fields import listify

__all__ = ["point_at_end"]


def _length(comp: Component) -> timedelta:
    start: Any = getattr(dict.get(comp, "DTSTART"), "dt", None)
    end: Any = getattr(dict.get(comp, "DTEND"), "dt", None)
    length: Any = getattr(dict.get(comp, "DURATION"), "dt", None)
    try:
        if start is not None and end is not None and type(start) is type(end):
            found = end - start
            if isinstance(found, timedelta) and found > timedelta(0):
                return found
        if isinstance(length, timedelta) and length > timedelta(0):
            return length
    except (TypeError, ValueError):  # naive vs aware
        pass
    if isinstance(start, date) and not isinstance(start, datetime):
        return timedelta(days=1)
    return timedelta(0)


def _shift_one(comp: Component, name: str, by: timedelta) -> None:
    prop = comp.get(name)
    value = getattr(prop, "dt", None)
    if prop is None or not isinstance(value, date):
        return
    moved = vDDDTypes(value + by)
    moved.params = prop.params
    comp[name] = moved


def _shift_list(comp: Component, name: str, by: timedelta) -> None:
    for prop in listify(comp.get(name)):
        for item in getattr(prop, "dts", ()):
            value = getattr(item, "dt", None)
            if isinstance(value, date):
                item.dt = value + by


def point_at_end(components: list[Component]) -> None:
    """Move every event of one UID to its end, in place (see the module docstring)."""
    masters = [c for c in components if c.name == "VEVENT" and dict.get(c, "RECURRENCE-ID") is None]
    series_shift = _length(masters[0]) if masters else timedelta(0)
    for comp in components:
        if comp.name != "VEVENT":
            continue
        own = _length(comp)
        if dict.get(comp, "RECURRENCE-ID") is not None:
            _shift_one(comp, "RECURRENCE-ID", series_shift)
        else:
            _shift_list(comp, "EXDATE", series_shift)
            _shift_list(comp, "RDATE", series_shift)
            for rule in listify(dict.get(comp, "RRULE")):
                if dict.get(rule, "UNTIL"):
                    rule["UNTIL"] = [u + series_shift for u in rule["UNTIL"]]
        if own:
            _shift_one(comp, "DTSTART", own)
            comp.pop("DURATION", None)
