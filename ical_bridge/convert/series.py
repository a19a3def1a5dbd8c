"""One UID's components → drafts: duplicates, one-offs, to-dos, count-ups; series go on."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from icalendar import Component
from icalendar.prop import vBroken

from ical_bridge.convert.cancel import cancellation
from ical_bridge.convert.fields import listify, text_of
from ical_bridge.convert.filters import FILTERED, event_filter
from ical_bridge.convert.model import Notice
from ical_bridge.convert.recurring import RecurringSeries
from ical_bridge.convert.repair import REPAIRABLE, repaired_value
from ical_bridge.convert.target import point_at_end
from ical_bridge.recurrence import format_utc

if TYPE_CHECKING:
    from ical_bridge.convert.importer import Converter

__all__ = ["Series", "apply_event_rules", "categories_of", "convert_series"]

_DEFAULT_MILESTONES = {"rules": [{"unit": "years", "every": 1}]}


@dataclass
class Series:
    """All components sharing one UID."""

    uid: str
    components: list[Component]


def _instant_key(comp: Component, name: str) -> float:
    value = getattr(comp.get(name), "dt", None)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float("-inf")


def _newness(comp: Component) -> tuple[int, float, float]:
    try:
        sequence = int(str(dict.get(comp, "SEQUENCE", 0)))
    except ValueError:
        sequence = 0
    return sequence, _instant_key(comp, "DTSTAMP"), _instant_key(comp, "LAST-MODIFIED")


def _newest(conv: Converter, uid: str, comps: list[Component], what: str) -> Component:
    if len(comps) > 1:
        conv.warnings.append(
            Notice("duplicate_uid", f"{uid}: {len(comps)} {what} share a UID; the newest is kept")
        )
    best = comps[0]
    for comp in comps[1:]:
        if _newness(comp) >= _newness(best):
            best = comp
    return best


def _recurrence_key(comp: Component) -> str:
    prop = dict.get(comp, "RECURRENCE-ID")
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    return str(prop)


_UNSPLIT = re.compile(r"parsed into parts: '([A-Za-z0-9-]+)([;:].*?)': ")


def _drop_broken(conv: Converter, uid: str, comp: Component) -> None:
    """Repair or remove property values icalendar could not parse (each costs only itself)."""
    if not comp.errors:
        return
    for where, message in comp.errors:
        # A line icalendar could not even split into name, parameters and value.
        found = _UNSPLIT.search(str(message)) if where is None else None
        if found:
            name = found[1].upper()
            conv.warnings.append(Notice("bad_property", f"{uid}: unparseable {name} dropped"))
            conv.note_lost(uid, name, found[2])
    for name in list(comp.keys()):
        values = listify(comp[name])
        good = [v for v in values if not isinstance(v, vBroken)]
        if len(good) == len(values):
            continue
        for value in values:
            if not isinstance(value, vBroken):
                continue
            raw = str(value)
            tzid = dict.get(value.params, "TZID") if name in REPAIRABLE else None
            fixed = repaired_value(name, raw, str(tzid) if tzid else None)
            if fixed is not None:
                good.append(fixed[0])
                note = f"{name} {raw[:80]!r} read as {fixed[1][:80]!r}"
                if fixed[1] == raw:
                    note = f"{name} {raw[:80]!r} read without its parameters"
                conv.warn_event(uid, Notice("property_repaired", note))
                conv.warnings.append(Notice("property_repaired", f"{uid}: {note}"))
                continue
            conv.warnings.append(Notice("bad_property", f"{uid}: unparseable {name} dropped"))
            conv.note_lost(uid, name, raw)
        del comp[name]
        for value in good:
            comp.add(name, value, encode=False)


def _check_end(conv: Converter, uid: str, comp: Component) -> None:
    """A DTEND before DTSTART is dropped: the start is what a timer counts down to."""
    if _plainly_in_order(conv, comp):
        return
    end = conv.clock.when_of(comp, "DTEND") if dict.get(comp, "DTEND") is not None else None
    start = conv.clock.when_of(comp) if end is not None else None
    if end is None or start is None or end.is_date != start.is_date:
        return
    if end.instant < start.instant:
        del comp["DTEND"]
        conv.warn_event(
            uid,
            Notice(
                "dtend_before_dtstart",
                f"DTEND {format_utc(end.instant)} is before DTSTART "
                f"{format_utc(start.instant)}; DTSTART kept, DTEND ignored",
            ),
        )


def _plainly_in_order(conv: Converter, comp: Component) -> bool:
    """DTEND is at or after DTSTART, seen without resolving either: both date-times of one
    IANA zone under one TZID, which the resolver maps to that very zone, at one UTC offset
    (so their instants are their wall clocks less that offset) and in wall-clock order.
    Anything else (no DTEND, floating, two zones, a DST change between them, …) is left to
    the full check."""
    start_prop: Any = dict.get(comp, "DTSTART")
    end_prop: Any = dict.get(comp, "DTEND")
    start, end = getattr(start_prop, "dt", None), getattr(end_prop, "dt", None)
    if type(start) is not datetime or type(end) is not datetime:
        return False
    tz = start.tzinfo
    if type(tz) is not ZoneInfo or end.tzinfo is not tz or start.fold or end.fold:
        return False
    tzid = dict.get(start_prop.params, "TZID")
    if not tzid or dict.get(end_prop.params, "TZID") != tzid:
        return False
    found = conv.clock.resolver.resolve(str(tzid))
    return (found is not None and found.exact and found.tz is tz
            and start.utcoffset() == end.utcoffset() and end >= start)  # fmt: skip


def convert_series(conv: Converter, series: Series) -> None:
    """Turn one UID's components into drafts or skips on ``conv``."""
    uid = series.uid
    for comp in series.components:
        _drop_broken(conv, uid, comp)
        _check_end(conv, uid, comp)
    if not apply_event_rules(conv, series):
        return
    masters = [c for c in series.components if dict.get(c, "RECURRENCE-ID") is None]
    by_recid: dict[str, list[Component]] = {}
    for comp in series.components:
        if dict.get(comp, "RECURRENCE-ID") is not None:
            by_recid.setdefault(_recurrence_key(comp), []).append(comp)
    overrides = {k: _newest(conv, uid, v, "overrides") for k, v in by_recid.items()}
    if not masters:
        for key, comp in overrides.items():
            _one_off(conv, comp, uid, key)
        return
    master = _newest(conv, uid, masters, "events")
    if str(dict.get(master, "STATUS", "")).upper() == "CANCELLED":
        conv.skip(uid, "cancelled", "the event is cancelled")
        return
    if master.name == "VTODO":
        _todo(conv, master, uid)
        return
    if text_of(master, "X-TICKWARD-MODE").strip().lower() == "since":
        _since(conv, master, uid)
        return
    if dict.get(master, "RRULE") is None and "RRULE" in conv.lost.get(uid, ()):
        _unknown_rule(conv, master, uid)
        return
    if dict.get(master, "RRULE") is None and dict.get(master, "RDATE") is None:
        _one_off(conv, master, uid, None)
        return
    rule = dict.get(master, "RRULE")
    freq = str(dict.get(listify(rule)[0], "FREQ", [""])[0]) if rule else ""
    if freq.upper() in ("HOURLY", "MINUTELY", "SECONDLY"):
        conv.skip(uid, "unsupported", f"FREQ={freq.upper()} repeats faster than timers can follow")
        return
    if dict.get(master, "EXRULE") is not None:
        conv.skip(uid, "unsupported", "EXRULE is not supported (obsolete since RFC 5545)")
        return
    RecurringSeries(conv, uid, master, list(overrides.values())).run()


def categories_of(comp: Component) -> list[str]:
    """Every CATEGORIES value of ``comp``."""
    out: list[str] = []
    for prop in listify(dict.get(comp, "CATEGORIES")):
        cats = getattr(prop, "cats", None)
        out.extend(str(c) for c in (cats if cats is not None else [prop]))
    return out


def apply_event_rules(conv: Converter, series: Series) -> bool:
    """The user's and the producer's event-level rules, before any strategy: cancellation in
    every dialect (``convert.cancel``), ``target``, summary/category filters. False when
    the whole series is left out (already recorded as a skip)."""
    choices = conv.options.choices
    for comp in series.components:
        override = dict.get(comp, "RECURRENCE-ID") is not None
        note = cancellation(
            status=str(dict.get(comp, "STATUS", "")), summary=text_of(comp, "SUMMARY"),
            method=conv.method, override=override,
        )  # fmt: skip
        if note is not None:
            comp["STATUS"] = "CANCELLED"  # one decision path for every dialect
            conv.warn_event(series.uid, note)
    if choices.target == "end":
        point_at_end(series.components)
    masters = [c for c in series.components if dict.get(c, "RECURRENCE-ID") is None]
    judged = masters[:1] or series.components
    if not (choices.include or choices.exclude or choices.include_categories
            or choices.exclude_categories):  # fmt: skip
        return bool(judged)  # no filter leaves anything out (nor reads SUMMARY, CATEGORIES)
    kept = []
    for comp in judged:
        if str(dict.get(comp, "STATUS", "")).upper() == "CANCELLED":
            kept.append(comp)  # reported as cancelled, whatever the filters say
            continue
        why = event_filter(choices, text_of(comp, "SUMMARY"), categories_of(comp))
        if why is None:
            kept.append(comp)
        else:
            conv.skip(series.uid, FILTERED, why)
    if masters:
        return bool(kept)
    series.components = kept
    return bool(kept)


def _one_off(
    conv: Converter, comp: Component, uid: str, recurrence_id: str | None, prop: str = "DTSTART"
) -> None:
    if str(dict.get(comp, "STATUS", "")).upper() == "CANCELLED":
        conv.skip(uid, "cancelled", f"the event{_at(recurrence_id)} is cancelled")
        return
    when = conv.clock.when_of(comp, prop)
    if when is None:
        conv.skip(uid, "unsupported", f"no usable {prop}")
        return
    if when.instant <= conv.now:
        conv.skip(uid, "past", f"{format_utc(when.instant)} is in the past")
        return
    if when.instant > conv.now + conv.options.window:
        conv.skip(uid, "outside_window", f"{format_utc(when.instant)} is after the window")
        return
    conv.draft(
        comp, uid=uid, recurrence_id=recurrence_id, part=0, strategy="single",
        instant=when.instant, zone_name=when.zone.name, recurrence=None,
        warnings=list(when.warnings), alarm_start=when.instant,
    )  # fmt: skip


def _unknown_rule(conv: Converter, master: Component, uid: str) -> None:
    """A series whose RRULE cannot be read: only DTSTART is known to be an occurrence."""
    when = conv.clock.when_of(master)
    if when is not None and conv.now < when.instant <= conv.now + conv.options.window:
        conv.draft(
            master, uid=uid, recurrence_id=None, part=0, strategy="single",
            instant=when.instant, zone_name=when.zone.name, recurrence=None,
            warnings=[*when.warnings, Notice(
                "recurrence_dropped", "only the first occurrence is imported (unreadable RRULE)"
            )], alarm_start=when.instant,
        )  # fmt: skip
        return
    conv.skip(uid, "unsupported", "its RRULE cannot be parsed, so its occurrences are unknown")


def _at(recurrence_id: str | None) -> str:
    return f" at {recurrence_id}" if recurrence_id else ""


def _todo(conv: Converter, todo: Component, uid: str) -> None:
    status = str(dict.get(todo, "STATUS", "")).upper()
    if status == "COMPLETED" or dict.get(todo, "COMPLETED") is not None:
        conv.skip(uid, "ended", "the to-do is completed")
        return
    if dict.get(todo, "DUE") is None:
        conv.skip(uid, "unsupported", "a to-do without DUE")
        return
    _one_off(conv, todo, uid, None, "DUE")


def _since(conv: Converter, comp: Component, uid: str) -> None:
    when = conv.clock.when_of(comp)
    if when is None:
        conv.skip(uid, "unsupported", "no usable DTSTART")
        return
    warnings = list(when.warnings)
    if when.instant > conv.now + timedelta(seconds=60):
        warnings.append(
            Notice("since_in_future", "a count-up anchor in the future; imported as a countdown")
        )
        conv.draft(comp, uid=uid, recurrence_id=None, part=0, strategy="single",
                   instant=when.instant, zone_name=when.zone.name, recurrence=None,
                   warnings=warnings, alarm_start=when.instant)  # fmt: skip
        return
    milestones: Any = None
    raw = text_of(comp, "X-TICKWARD-MILESTONES").strip()
    if raw:
        try:
            milestones = json.loads(raw)
        except ValueError:
            milestones = None
    if not isinstance(milestones, dict) or not isinstance(milestones.get("rules"), list):
        milestones = _DEFAULT_MILESTONES
        warnings.append(Notice("since_milestones_defaulted", "count-up milestones set to yearly"))
    draft = conv.draft(
        comp, uid=uid, recurrence_id=None, part=0, strategy="single", instant=when.instant,
        zone_name=when.zone.name, recurrence=None, warnings=warnings,
        extra={"mode": "since", "milestones": milestones},
    )  # fmt: skip
    draft.timer.pop("recurrence", None)  # mutually exclusive with mode=since
