"""The line scanner: plain VEVENTs built without icalendar's content-line parser.

``PlainBuilder`` turns the unfolded lines of one VEVENT into the component
icalendar's ``Calendar.from_ical`` would build from them: the same value types,
values, parameters and order (``tests/convert/test_fast_path.py`` compares
them over the corpus). It only takes *plain* events: the properties below (and
VALARMs of ACTION/TRIGGER/DESCRIPTION/SUMMARY), parameters only TZID or VALUE
with token values, no quotes or backslashes before the value. Anything else
returns ``None`` and icalendar parses it.

What makes it cheap: the line splitting is ours; text, date-time and rule
values are made directly in their final form (icalendar builds each value
twice and three parameter dictionaries per property); what each property head
(name and parameters) means, a TZID's zone and an RRULE's parts are worked out
once per feed, and equal parameters are one shared object; and the component
answers ``get`` with one dictionary look-up, its keys being upper case already.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Component
from icalendar.cal import Event
from icalendar.parser.parameter import Parameters
from icalendar.parser.property import unescape_backslash
from icalendar.prop import vDDDTypes, vInt, vRecur, vText
from icalendar.timezone import tzp

__all__ = ["PlainBuilder", "PlainEvent", "PlainRecur", "build_plain_event"]

_EVENT_PROPS = frozenset({
    "UID", "DTSTAMP", "SUMMARY", "DESCRIPTION", "LOCATION", "DTSTART", "DTEND", "RRULE",
    "CREATED", "LAST-MODIFIED", "SEQUENCE", "STATUS", "TRANSP", "CLASS", "EXDATE",
    "RECURRENCE-ID",
})  # fmt: skip
_ALARM_PROPS = frozenset({"ACTION", "TRIGGER", "DESCRIPTION", "SUMMARY"})
_PARAM_KEYS = frozenset({"TZID", "VALUE"})
_PARAM_VALUE = re.compile(r"^[A-Za-z0-9_/+\-]+$")
_DATETIME_NAMES = frozenset({"DTSTART", "DTEND", "RECURRENCE-ID", "DUE", "RDATE", "EXDATE"})
_MISSING = object()
_NO_ZONE = object()


class _UpperKeys:
    """Look-ups that skip icalendar's case folding when they can (``CaselessDict`` keys are
    stored upper case, so an upper case name is found, or known to be absent, with one
    dictionary look-up; any other name goes the ordinary way)."""

    def get(self, key: Any, default: Any = None) -> Any:
        """``get``, one dictionary look-up for an upper case name."""
        found = dict.get(self, key, _MISSING)  # type: ignore[call-overload]
        if found is not _MISSING:
            return found
        if isinstance(key, str) and key.isupper():
            return default
        return super().get(key, default)  # type: ignore[misc]

    def __getitem__(self, key: Any) -> Any:
        found = dict.get(self, key, _MISSING)  # type: ignore[call-overload]
        return super().__getitem__(key) if found is _MISSING else found  # type: ignore[misc]

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):  # type: ignore[operator]
            return True
        return not (isinstance(key, str) and key.isupper()) and (
            super().__contains__(key)  # type: ignore[misc]
        )


class PlainEvent(_UpperKeys, Event):
    """An ``Event`` whose property look-ups skip icalendar's case folding (``_UpperKeys``)."""


class PlainRecur(_UpperKeys, vRecur):
    """A ``vRecur`` whose part look-ups skip icalendar's case folding (``_UpperKeys``); in
    everything else, icalendar's own type."""


class _SharedParameters(_UpperKeys, Parameters):
    """The parameters of every value of one feed written with the same parameter text.

    A feed repeats a handful of parameter sets (none, ``TZID=Europe/Berlin``, …)
    over thousands of values; one object each instead of one per value saves a
    fifth of a large feed's memory. Nothing reads them otherwise than icalendar's
    own ``Parameters``; they refuse changes, so no value can alter another's
    (a copy is an ordinary, changeable ``Parameters``). Their keys being upper case,
    look-ups skip icalendar's case folding (``_UpperKeys``).
    """

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("shared iCalendar parameters are read-only; copy them first")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _refuse

    def copy(self) -> Parameters:  # type: ignore[override]
        """An ordinary ``Parameters`` with the same items."""
        fresh = Parameters.__new__(Parameters)
        for key, value in self.items():
            OrderedDict.__setitem__(fresh, key, value)
        return fresh


class PlainBuilder:
    """Builds the plain VEVENTs of one feed: ``builder(lines)`` → component or ``None``.

    Make one per feed: it remembers what icalendar resolved each TZID to while
    that feed's VTIMEZONEs are the ones it knows.
    """

    def __init__(self) -> None:
        self._zones: dict[str, object] = {}
        self._rules: dict[str, list[tuple[str, list[Any]]]] = {}
        self._rule_parts: dict[str, list[Any]] = {}
        self._moments: dict[str | None, dict[str, Any]] = {}  # per TZID: text -> value
        self._utc: tzinfo | None = None
        self._zoneinfo = tzp.uses_zoneinfo()  # icalendar's zone provider (pytz localizes)
        self._shared: dict[str, Parameters] = {}
        self._heads: dict[bool, dict[str, Any]] = {False: {}, True: {}}  # in a VALARM?

    def __call__(self, lines: list[str]) -> Component | None:
        """The VEVENT of ``lines`` (unfolded, BEGIN…END), or ``None`` unless it is plain."""
        if len(lines) < 2 or lines[0] != "BEGIN:VEVENT" or lines[-1] != "END:VEVENT":
            return None
        event = PlainEvent()
        current: Component = event
        heads = self._heads[False]
        for line in lines[1:-1]:
            head, sep, value = line.partition(":")
            if not sep:
                return None
            if head == "BEGIN" or head == "END":
                if head == "BEGIN" and value == "VALARM" and current is event:
                    current = Event.get_component_class("VALARM")()
                    heads = self._heads[True]
                elif head == "END" and value == "VALARM" and current is not event:
                    event.add_component(current)
                    current, heads = event, self._heads[False]
                else:
                    return None
                continue
            spec = heads.get(head)
            if spec is None:
                spec = self._head(head, current is not event)
            if spec is False:
                return None
            name, params, kind, tzid = spec
            prop = self._value(kind, value, tzid)
            if prop is None:
                return None
            prop.params = params
            if dict.__contains__(current, name):  # an upper case name, as the keys are
                current.add(name, prop, encode=False)  # a second value: icalendar's list
            else:
                OrderedDict.__setitem__(current, name, prop)
        return event if current is event else None

    def _head(self, head: str, in_alarm: bool) -> Any:
        """What a property's name and parameters say, worked out once per feed:
        (name, shared parameters, value type, TZID), or ``False`` unless plain."""
        spec: Any = False
        name, *raw_params = head.split(";")
        allowed = _ALARM_PROPS if in_alarm else _EVENT_PROPS
        if name in allowed and '"' not in head and "\\" not in head:
            params = self._parameters(raw_params)
            if params is not None:
                kind = self._kind(name, dict.get(params, "VALUE") if raw_params else None)
                tzid = dict.get(params, "TZID") if raw_params and name in _DATETIME_NAMES else None
                if kind is not None:
                    spec = (name, params, kind, tzid)
        heads = self._heads[in_alarm]
        if len(heads) < 4096:
            heads[head] = spec
        return spec

    def _parameters(self, raw_params: list[str]) -> Parameters | None:
        """The shared, read-only parameters of ``KEY=value`` parts, ``None`` unless plain."""
        params = _SharedParameters.__new__(_SharedParameters)
        for raw in raw_params:
            key, eq, item = raw.partition("=")
            if not eq or key not in _PARAM_KEYS or not _PARAM_VALUE.match(item):
                return None
            OrderedDict.__setitem__(params, key, item)
        text = ";".join(raw_params)
        return self._shared.setdefault(text, params) if len(self._shared) < 1024 else params

    def _value(self, kind: Any, value: str, tzid: str | None) -> Any:
        """The value as icalendar's parser makes it (without its parameters), or ``None`` to
        leave the event to that parser."""
        try:
            text = unescape_backslash(value) if "\\" in value else value
            if kind is vText:
                prop: Any = str.__new__(vText, text)
                prop.encoding = "utf-8"
            elif kind is vDDDTypes:
                prop = object.__new__(vDDDTypes)
                prop.dt = self._date_time(text, tzid)
            elif kind is vRecur:
                prop = self._rule(text)
            elif kind is vInt:
                number = int(text)  # as vInt.from_ical reads it
                if not vInt.min <= number <= vInt.max:
                    return None
                prop = int.__new__(vInt, number)
            else:
                parsed = kind.from_ical(text, tzid) if tzid else kind.from_ical(text)
                # icalendar wraps the value in its type once more; one of that type already
                # is the same value (its parameters are replaced by the caller either way)
                prop = parsed if type(parsed) is kind else kind(parsed)
        except (ValueError, TypeError):
            return None  # icalendar's own parser decides what a broken value becomes
        return prop

    @staticmethod
    def _kind(name: str, value_type: str | None) -> Any:
        """icalendar's value type of a property, None for one parsed from the line."""
        kind = Event.types_factory.for_property(name, value_type)
        return None if getattr(kind, "get_value_from_content_line", None) is not None else kind

    def _date_time(self, text: str, tzid: str | None) -> Any:
        """``vDDDTypes.from_ical(text, tzid)``, each text read once per TZID and feed (a
        feed repeats many: every event's DTSTAMP is often one instant). The values are
        immutable (dates, date-times, durations, periods), so properties may share them."""
        memo = self._moments.get(tzid)
        if memo is None:
            memo = self._moments[tzid] = {}
        found = memo.get(text)
        if found is None:
            found = self._read_date_time(text, tzid)
            if len(memo) < 65536:
                memo[text] = found
        return found

    def _read_date_time(self, text: str, tzid: str | None) -> Any:
        """``vDDDTypes.from_ical(text, tzid)``, with the zone looked up once per TZID."""
        utc = len(text) == 16 and text[15] == "Z"
        if not (len(text) == 15 or utc) or text[8] != "T" or not text[:8].isdecimal() or (
            not text[9:15].isdecimal()
        ):
            parse: Any = vDDDTypes.from_ical
            return parse(text, tzid) if tzid else parse(text)
        naive = datetime.fromisoformat(text[:15])  # the basic format: Python 3.11 reads it
        if tzid:
            zone = self._zone(tzid)
            if type(zone) is ZoneInfo and self._zoneinfo:
                return datetime.combine(naive, naive.time(), zone)  # the provider's localize
            if zone is not None:
                return tzp.localize(naive, zone)
        if utc:
            if self._utc is None:  # what icalendar's zone provider gives a UTC value
                self._utc = tzp.localize_utc(naive).tzinfo
            return naive.replace(tzinfo=self._utc)
        return naive

    def _zone(self, tzid: str) -> tzinfo | None:
        zone = self._zones.get(tzid, _NO_ZONE)
        if zone is _NO_ZONE:
            zone = self._zones[tzid] = tzp.timezone(tzid)
        return zone  # type: ignore[return-value]

    def _rule(self, text: str) -> vRecur:
        """``vRecur.from_ical(text)`` as a fresh object; the text is parsed once per feed, and
        each of its ``KEY=values`` parts once per feed too (rules share most of theirs)."""
        parts = self._rules.get(text)
        if parts is None:
            found: dict[str, list[Any]] = {}
            for pair in text.split(";"):  # as vRecur.from_ical reads it
                name, eq, text_values = pair.partition("=")
                if not eq or "=" in text_values:
                    continue  # icalendar skips a part that is not one KEY=values
                parsed = self._rule_parts.get(pair)
                if parsed is None:
                    parsed = self._rule_parts[pair] = self._rule_part(name, text_values)
                found[name.upper()] = parsed  # CaselessDict: the last of a key wins, in place
            parts = self._rules[text] = list(found.items())
        rule = PlainRecur.__new__(PlainRecur)
        for key, values in parts:
            OrderedDict.__setitem__(rule, key, list(values))
        return rule

    def _rule_part(self, key: str, values: str) -> list[Any]:
        """``vRecur.parse_type(key, values)``: an UNTIL's date-time made as a DTSTART's is;
        a part icalendar refuses raises ``ValueError``, as the whole rule then does."""
        if key.upper() == "UNTIL":
            return [self._date_time(value, None) for value in values.split(",")]
        try:
            return list(vRecur.parse_type(key, values))  # type: ignore[no-untyped-call]
        except ValueError:
            raise
        except Exception as exc:  # vRecur.from_ical says ValueError for any failure
            raise ValueError(f"Error in recurrence rule part: {key}={values}") from exc


def build_plain_event(lines: list[str]) -> Component | None:
    """One VEVENT through a fresh ``PlainBuilder`` (tests and one-off callers)."""
    return PlainBuilder()(lines)
