"""Which series the fast path takes: *plain* ones (see ``is_plain_series``).

A plain series is one VEVENT master with one RRULE of the simple parts
(``rulemath``), no RDATE or EXRULE, a date-time DTSTART in an IANA zone, and
EXDATEs and overrides (if any) in that same zone, none of whose identities meet
another's; or an all-day one without EXDATEs, overrides or UNTIL.
``fastscan.RuleExpander`` expands those exactly as recurring-ical-events does.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Component

from ical_bridge.convert.fields import listify
from ical_bridge.convert.rulemath import plain_rule
from ical_bridge.recurrence import wall_of

__all__ = ["exdate_ids", "identities", "is_plain_series"]

_ONE_VALUE = ("DTSTART", "DTEND", "RRULE")
_NOT_PLAIN = ("RDATE", "EXRULE", "RECURRENCE-ID", "DURATION")
_NOT_IN_OVERRIDE = ("RRULE", "RDATE", "EXDATE", "EXRULE", "DURATION")


def _same_zone(prop: object, zone: object) -> bool:
    """A single date-time value in exactly ``zone`` (no list, no RANGE parameter)."""
    value = getattr(prop, "dt", None)
    params = getattr(prop, "params", {})
    return isinstance(value, datetime) and value.tzinfo is zone and "RANGE" not in params


def _plain_exceptions(master: Component, zone: object) -> bool:
    """Every EXDATE of ``master`` is a date-time in its DTSTART's zone."""
    for prop in listify(dict.get(master, "EXDATE")):
        for item in getattr(prop, "dts", [None]):
            value = getattr(item, "dt", None)
            if not isinstance(value, datetime) or value.tzinfo is not zone:
                return False
    return True


def identities(moment: datetime) -> tuple[datetime, datetime]:
    """recurring-ical-events' identities of a zoned occurrence: its UTC and its local wall
    clock, both naive; two times match when any identity of one is one of the other."""
    return wall_of(moment.astimezone(UTC)), wall_of(moment)


def exdate_ids(master: Component) -> set[datetime]:
    """The identities of every EXDATE of ``master``."""
    return {i for prop in listify(dict.get(master, "EXDATE")) for item in prop.dts
            for i in identities(item.dt)}  # fmt: skip


def _unambiguous(master: Component, overrides: list[Component]) -> bool:
    """No override whose identities meet an EXDATE's or another override's: there the
    full path's answer depends on its search windows and on SEQUENCE."""
    taken = exdate_ids(master)
    for comp in overrides:
        ids = identities(comp["RECURRENCE-ID"].dt)  # type: ignore[union-attr,arg-type]
        if taken.intersection(ids):
            return False
        taken.update(ids)
    return True


def _plain_override(comp: Component, zone: object) -> bool:
    """An override ``RuleExpander`` places exactly as recurring-ical-events does: one
    moved (or restated) occurrence, every date-time in the master's zone."""
    if comp.name != "VEVENT" or any(dict.get(comp, n) is not None for n in _NOT_IN_OVERRIDE):
        return False
    if not _same_zone(dict.get(comp, "RECURRENCE-ID"), zone) or not _same_zone(
        dict.get(comp, "DTSTART"), zone
    ):
        return False
    return dict.get(comp, "DTEND") is None or _same_zone(dict.get(comp, "DTEND"), zone)


def is_plain_series(components: list[Component], x_wr_timezone: str | None) -> bool:
    """True when ``RuleExpander`` gives exactly what ``SeriesExpander`` would."""
    if not components:
        return False
    master, overrides = components[0], components[1:]
    if master.name != "VEVENT" or any(dict.get(master, n) is not None for n in _NOT_PLAIN):
        return False
    if any(isinstance(dict.get(master, n), list) for n in _ONE_VALUE):
        return False
    start = getattr(dict.get(master, "DTSTART"), "dt", None)
    if isinstance(start, date) and not isinstance(start, datetime):
        return _plain_all_day(master, overrides, start)
    if not isinstance(start, datetime) or not isinstance(start.tzinfo, ZoneInfo):
        return False
    if x_wr_timezone and start.tzinfo.key in ("UTC", "Etc/UTC"):
        return False  # Google's X-WR-TIMEZONE moves UTC times: the full path knows how
    end_prop = dict.get(master, "DTEND")
    if end_prop is not None:
        end = getattr(end_prop, "dt", None)
        if not isinstance(end, datetime) or end.tzinfo is not start.tzinfo:
            return False
    if not _plain_exceptions(master, start.tzinfo):
        return False
    if not all(_plain_override(comp, start.tzinfo) for comp in overrides):
        return False
    return plain_rule(dict.get(master, "RRULE"), start) and _unambiguous(master, overrides)


def _plain_all_day(master: Component, overrides: list[Component], start: date) -> bool:
    """An all-day series ``RuleExpander`` expands: no EXDATE or override, DTEND a date (or
    none), a plain rule without UNTIL (a date or a date-time; the full path knows both)."""
    if overrides or dict.get(master, "EXDATE") is not None:
        return False
    end = getattr(dict.get(master, "DTEND"), "dt", None)
    if dict.get(master, "DTEND") is not None and (not isinstance(end, date) or isinstance(end,
                                                                                  datetime)):
        return False
    rule: Any = dict.get(master, "RRULE")
    return plain_rule(rule, start) and not dict.get(rule, "UNTIL")
