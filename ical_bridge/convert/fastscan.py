"""The fast path: plain series' occurrences straight from dateutil, no per-series library setup.

``SeriesExpander`` builds a calendar, applies ``x_wr_timezone`` and sets up a
recurring-ical-events query for every series, then expands it over widening
windows just to find the next occurrence. For a *plain* series — one VEVENT,
one RRULE of the simple parts, no overrides, RDATE, EXDATE or EXRULE, a
date-time DTSTART in an IANA zone — that answer is exactly dateutil's
``rrule`` from DTSTART (plus DTSTART itself), which recurring-ical-events runs
underneath. ``RuleExpander`` computes it with one iteration and yields the same
recurring-ical-events occurrence objects, so every decision that follows
(strategy, fields, warnings) is made by the same code on the same inputs.

Anything else, and every series when ``fast`` is off (``ImportOptions(fast_path=False)``,
which the equivalence tests use), takes ``SeriesExpander``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr, weekdays
from icalendar import Component
from icalendar.prop import vRecur

from ical_bridge.convert.expander import Occurrence, SeriesExpander, rebased_start
from ical_bridge.convert.fields import listify

__all__ = [
    "RuleExpander", "counted_starts", "expander_for", "is_plain_series", "make_rule",
    "periodic_starts", "simple_start",
]

_MAX_AHEAD = timedelta(days=50 * 366)  # as SeriesExpander: no occurrence is looked for later
_SLACK = timedelta(days=2)
_TAIL = 16  # starts kept before a bound: a DST shift reorders only the last few
_PARTS = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "WKST"})
_FREQS = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
_DAY = re.compile(r"^[+-]?(?:[1-9]|[1-4]\d|5[0-3])?(?:MO|TU|WE|TH|FR|SA|SU)$")
_ONE_VALUE = ("DTSTART", "DTEND", "RRULE")
_NOT_PLAIN = ("RDATE", "EXRULE", "RECURRENCE-ID", "DURATION")
_NOT_IN_OVERRIDE = ("RRULE", "RDATE", "EXDATE", "EXRULE", "DURATION")


def _int_in(values: list[Any], low: int, high: int) -> bool:
    try:
        return all(low <= abs(int(v)) <= high and int(v) != 0 for v in values)
    except (TypeError, ValueError):
        return False


def _plain_rule(rule: object, start: datetime) -> bool:
    if not isinstance(rule, vRecur):
        return False
    keys = {str(k).upper() for k in rule}
    if not keys <= _PARTS or [str(f).upper() for f in rule.get("FREQ", [])] not in (
        [f] for f in _FREQS
    ):
        return False
    if not _int_in(rule.get("INTERVAL", [1]), 1, 1000) or not _int_in(rule.get("COUNT", [1]),
                                                                      1, 1000):  # fmt: skip
        return False
    if not all(_DAY.match(str(d).upper()) for d in rule.get("BYDAY", [])):
        return False
    days, months = rule.get("BYMONTHDAY", []), rule.get("BYMONTH", [])
    # 29–31 in a fixed month may never exist: dateutil would then search to year 9999.
    if not _int_in(days, 1, 28 if months else 31) or not _int_in(months, 1, 12):
        return False
    if any(int(m) < 0 for m in months):
        return False
    until = rule.get("UNTIL")
    if until is not None:
        value = until[0] if len(until) == 1 else None
        if not isinstance(value, datetime) or value.utcoffset() != timedelta(0):
            return False
    return True


def _same_zone(prop: object, zone: object) -> bool:
    """A single date-time value in exactly ``zone`` (no list, no RANGE parameter)."""
    value = getattr(prop, "dt", None)
    params = getattr(prop, "params", {})
    return isinstance(value, datetime) and value.tzinfo is zone and "RANGE" not in params


def _plain_exceptions(master: Component, zone: object) -> bool:
    """Every EXDATE of ``master`` is a date-time in its DTSTART's zone."""
    for prop in listify(master.get("EXDATE")):
        for item in getattr(prop, "dts", [None]):
            value = getattr(item, "dt", None)
            if not isinstance(value, datetime) or value.tzinfo is not zone:
                return False
    return True


def _ids(moment: datetime) -> tuple[datetime, datetime]:
    """recurring-ical-events' identities of a zoned occurrence: its UTC and its local wall
    clock, both naive; two times match when any identity of one is one of the other."""
    return moment.astimezone(UTC).replace(tzinfo=None), moment.replace(tzinfo=None)


def _exdate_ids(master: Component) -> set[datetime]:
    return {i for prop in listify(master.get("EXDATE")) for item in prop.dts for i in _ids(item.dt)}


def _unambiguous(master: Component, overrides: list[Component]) -> bool:
    """No override whose identities meet an EXDATE's or another override's: there the
    full path's answer depends on its search windows and on SEQUENCE."""
    taken = _exdate_ids(master)
    for comp in overrides:
        ids = _ids(comp["RECURRENCE-ID"].dt)  # type: ignore[union-attr,arg-type]
        if taken.intersection(ids):
            return False
        taken.update(ids)
    return True


def _plain_override(comp: Component, zone: object) -> bool:
    """An override ``RuleExpander`` places exactly as recurring-ical-events does: one
    moved (or restated) occurrence, every date-time in the master's zone."""
    if comp.name != "VEVENT" or any(comp.get(n) is not None for n in _NOT_IN_OVERRIDE):
        return False
    if not _same_zone(comp.get("RECURRENCE-ID"), zone) or not _same_zone(comp.get("DTSTART"),
                                                                          zone):  # fmt: skip
        return False
    return comp.get("DTEND") is None or _same_zone(comp.get("DTEND"), zone)


def is_plain_series(components: list[Component], x_wr_timezone: str | None) -> bool:
    """True when ``RuleExpander`` gives exactly what ``SeriesExpander`` would."""
    if not components:
        return False
    master, overrides = components[0], components[1:]
    if master.name != "VEVENT" or any(master.get(n) is not None for n in _NOT_PLAIN):
        return False
    if any(isinstance(master.get(n), list) for n in _ONE_VALUE):
        return False
    start = getattr(master.get("DTSTART"), "dt", None)
    if not isinstance(start, datetime) or not isinstance(start.tzinfo, ZoneInfo):
        return False
    if x_wr_timezone and start.tzinfo.key in ("UTC", "Etc/UTC"):
        return False  # Google's X-WR-TIMEZONE moves UTC times: the full path knows how
    end_prop = master.get("DTEND")
    if end_prop is not None:
        end = getattr(end_prop, "dt", None)
        if not isinstance(end, datetime) or end.tzinfo is not start.tzinfo:
            return False
    if not _plain_exceptions(master, start.tzinfo):
        return False
    if not all(_plain_override(comp, start.tzinfo) for comp in overrides):
        return False
    return _plain_rule(master.get("RRULE"), start) and _unambiguous(master, overrides)


def expander_for(
    components: list[Component],
    *,
    fast: bool,
    x_wr_timezone: str | None,
    instant_of: Callable[[Component], datetime | None],
    instant_of_value: Callable[[date], datetime | None],
    rebase_before: datetime | None = None,
) -> SeriesExpander | RuleExpander:
    """The expander of one series: ``RuleExpander`` for a plain one when ``fast``."""
    def full() -> SeriesExpander:
        return SeriesExpander(
            components,
            x_wr_timezone=x_wr_timezone,
            instant_of=instant_of,
            instant_of_value=instant_of_value,
            rebase_before=rebase_before,
        )

    if fast and rebase_before is not None and is_plain_series(components, x_wr_timezone):
        return RuleExpander(
            components[0],
            components[1:],
            instant_of=instant_of,
            instant_of_value=instant_of_value,
            rebase_before=rebase_before,
            full=full,
        )
    return full()


def _untied(
    item: tuple[datetime, datetime, int, Component | None],
    others: list[tuple[datetime, datetime, int, Component | None]],
) -> tuple[datetime, datetime, int, Component | None]:
    """``item``, unless an override shares its instant with another occurrence (``_Tie``)."""
    for other in others:
        if other is not item and other[0] == item[0] and (item[3] or other[3]) is not None:
            raise _Tie
    return item


def _nearer(start: datetime, rule: Any, before: datetime) -> datetime:
    """DTSTART moved forward by whole periods of a DAILY/WEEKLY rule to shortly before ``before``.

    dateutil walks every period from DTSTART; a whole number of periods
    (× INTERVAL) keeps every later occurrence (the weekday and WKST week too).
    The moved start itself lies days before ``before``, so the extra occurrence
    recurring-ical-events would add there can never be an answer. Rules with
    COUNT are left alone: they count from the real DTSTART.
    """
    freq = str(rule.get("FREQ", [""])[0]).upper()
    if rule.get("COUNT") or freq not in ("DAILY", "WEEKLY"):
        return start
    step = int(rule.get("INTERVAL", [1])[0]) * (1 if freq == "DAILY" else 7)
    days = (before - _SLACK * 2 - start).days
    if days < step:
        return start
    return start + timedelta(days=days // step * step)


_FREQ_NUMBERS = {"YEARLY": YEARLY, "MONTHLY": MONTHLY, "WEEKLY": WEEKLY, "DAILY": DAILY}
_DAY_NUMBERS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}


def rule_key(vrecur: Any) -> tuple[Any, ...]:
    """A hashable key of a parsed RRULE: equal keys, equal rules."""
    return tuple((str(k), tuple(v)) for k, v in vrecur.items())


def make_rule(vrecur: Any, start: datetime) -> rrule:
    """``rrulestr(vrecur.to_ical(), dtstart=start)`` for a rule of the plain parts
    (``_PARTS``), built from the parsed values as dateutil's own parser would."""
    kwargs: dict[str, Any] = {"dtstart": start, "cache": False}
    freq: Any = None
    for key, values in vrecur.items():
        name = str(key).upper()
        if name == "FREQ":
            freq = _FREQ_NUMBERS[str(values[0]).upper()]
        elif name in ("INTERVAL", "COUNT"):
            kwargs[name.lower()] = int(values[0])
        elif name in ("BYMONTHDAY", "BYMONTH"):
            kwargs[name.lower()] = [int(v) for v in values]
        elif name == "UNTIL":
            kwargs["until"] = values[0]
        elif name == "WKST":
            kwargs["wkst"] = _DAY_NUMBERS[str(values[0]).upper()]
        elif name == "BYDAY":
            days = []
            for value in values:
                text = str(value).upper()
                count = text[:-2]
                day = weekdays[_DAY_NUMBERS[text[-2:]]]
                days.append(day(int(count)) if count else day)
            kwargs["byweekday"] = days
        else:
            raise ValueError(f"not a plain rule part: {name}")
    return rrule(freq, **kwargs)


def periodic_starts(
    vrecur: Any, start: datetime, until: datetime | None, after: datetime, *,
    counted: bool = False,
) -> Iterator[datetime] | None:
    """``rrule.xafter(after, inc=True)`` by day arithmetic for a DAILY or WEEKLY rule
    without COUNT, BYMONTH or BYMONTHDAY (``None`` for any other rule).

    Such a rule repeats a fixed pattern of days every period: DAILY every INTERVAL
    days (BYDAY keeps some weekdays, so the pattern spans INTERVAL weeks), WEEKLY
    every INTERVAL weeks from the WKST week of DTSTART. Each start is DTSTART's wall
    clock on its day, as dateutil makes it; none before DTSTART, none after UNTIL.
    With ``counted`` a COUNT part is allowed and ignored: the caller takes that many.
    """
    names = {str(k).upper() for k in vrecur} - ({"COUNT"} if counted else set())
    if not names <= {"FREQ", "INTERVAL", "UNTIL", "BYDAY", "WKST"}:
        return None
    freq = str(vrecur["FREQ"][0]).upper()
    if freq not in ("DAILY", "WEEKLY"):
        return None
    interval = int(vrecur.get("INTERVAL", [1])[0])
    days = {_DAY_NUMBERS[str(d).upper()[-2:]] for d in vrecur.get("BYDAY", [])}
    first = start.date()
    if freq == "DAILY":
        anchor, period = first, interval * 7 if days else interval
        offsets = [o for o in range(0, period, interval)
                   if not days or (first.weekday() + o) % 7 in days]  # fmt: skip
    else:
        wkst = _DAY_NUMBERS[str(vrecur.get("WKST", ["MO"])[0]).upper()]
        anchor = first - timedelta(days=(first.weekday() - wkst) % 7)
        period = interval * 7
        offsets = sorted({(d - wkst) % 7 for d in (days or {first.weekday()})})
    clock = time(start.hour, start.minute, start.second, tzinfo=start.tzinfo)
    return _periodic(anchor, period, offsets, clock, start, until, after)


def _periodic(anchor: date, period: int, offsets: list[int], clock: time, start: datetime,
              until: datetime | None, after: datetime) -> Iterator[datetime]:  # fmt: skip
    skip = ((after - _SLACK).date() - anchor).days // period if offsets else 0
    base = anchor + timedelta(days=period * max(0, skip))
    step = timedelta(days=period)
    while offsets:
        for offset in offsets:
            moment = datetime.combine(base + timedelta(days=offset), clock)
            if moment < start or moment < after:
                continue
            if until is not None and moment > until:
                return
            yield moment
        base += step


_COUNTED: dict[tuple[Any, ...], list[datetime]] = {}


def counted_starts(vrecur: Any, wall: datetime) -> list[datetime]:
    """Every start of the COUNT rule ``vrecur`` (without UNTIL) from the naive DTSTART ``wall``.

    One dateutil walk, shared by the series' end (``RecurringSeries._bound``) and
    its expander, which needs the same starts again. Callers must not change the list.
    """
    key = (rule_key(vrecur), wall)
    found = _COUNTED.get(key)
    if found is None:
        if len(_COUNTED) > 256:
            _COUNTED.clear()
        count = int(vrecur["COUNT"][0])
        quick = periodic_starts(vrecur, wall, None, wall, counted=True)
        if quick is not None:
            found = list(islice(quick, count))
        elif {str(k).upper() for k in vrecur} <= _PARTS:
            found = list(make_rule(vrecur, wall))
        else:
            found = list(rrulestr(vrecur.to_ical().decode(), dtstart=wall))
        _COUNTED[key] = found
    return found


def known_counted(vrecur: Any, wall: datetime) -> list[datetime] | None:
    """``counted_starts`` if it was already computed, else ``None``."""
    return _COUNTED.get((rule_key(vrecur), wall))


class _Tie(Exception):
    """Two occurrences at one instant, one an override: their order is the full path's."""


class _PlainOccurrence(Occurrence):
    """An occurrence of a plain series; recurring-ical-events' objects are made on first use."""

    __slots__ = ("_expander", "_override", "_start")

    def __init__(self, expander: RuleExpander, start: datetime, instant: datetime,
                 override: Component | None = None) -> None:  # fmt: skip
        super().__init__(None, instant)
        self._expander, self._start, self._override = expander, start, override

    @property
    def component(self) -> Component:
        """The occurrence as recurring-ical-events makes it (DTSTART, DTEND, RECURRENCE-ID)."""
        if self._raw is None:
            self._raw = self._expander.raw(self._start, self._override)
        return super().component

    @property
    def cancelled(self) -> bool:
        """Cancelled by its override, or with the master."""
        if self._override is not None:
            return str(self._override.get("STATUS", "")).upper() == "CANCELLED"
        return self._expander.cancelled


class RuleExpander:
    """Occurrences of a plain series (see ``is_plain_series``) from one dateutil rule.

    EXDATEs remove starts; an override removes the start its RECURRENCE-ID names
    and adds itself at its own DTSTART, as recurring-ical-events does. When an
    override shares its instant with another occurrence, or for the full list of
    a series with overrides (``iter_after``), the answer is the full path's (``full``).
    """

    def __init__(
        self,
        master: Component,
        overrides: list[Component],
        *,
        instant_of: Callable[[Component], datetime | None],
        instant_of_value: Callable[[date], datetime | None],
        rebase_before: datetime,
        full: Callable[[], SeriesExpander],
    ) -> None:
        self._master = master
        self._not_before = instant_of(master)
        self._instant_of_value = instant_of_value
        self._full_factory = full
        self._full: SeriesExpander | None = None
        self.cancelled = str(master.get("STATUS", "")).upper() == "CANCELLED"
        vrecur: Any = master["RRULE"]
        real: datetime = master["DTSTART"].dt  # type: ignore[union-attr,assignment]
        moved = rebased_start(real, vrecur, rebase_before)  # the shift SeriesExpander makes
        first = moved if isinstance(moved, datetime) else real
        self._start: datetime = _nearer(first, vrecur, rebase_before)
        self._vrecur = vrecur
        self._rule = make_rule(vrecur, self._start)
        until = self._rule._until  # type: ignore[attr-defined]
        # recurring-ical-events adds DTSTART itself unless the rule ended before it.
        self._with_start = until is None or not self._start > until
        self._counted: list[datetime] | None = None
        # A start whose identities meet an EXDATE's or an override's is not the rule's.
        self._excluded: set[datetime] = _exdate_ids(master)
        self._moved: list[tuple[datetime, datetime, Component]] = []
        for comp in overrides:
            self._excluded.update(_ids(comp["RECURRENCE-ID"].dt))  # type: ignore[union-attr,arg-type]
            start: datetime = comp["DTSTART"].dt  # type: ignore[union-attr,assignment]
            instant = instant_of_value(start)
            if instant is not None:
                self._moved.append((instant, start, comp))
        self._sequence = max(comp.get("SEQUENCE", -1) for comp in (master, *overrides))

    def _dropped(self, start: datetime) -> bool:
        """An EXDATE or an override takes the place of the rule's start (``_ids``)."""
        return bool(self._excluded) and not self._excluded.isdisjoint(_ids(start))

    def _fallback(self) -> SeriesExpander:
        if self._full is None:
            self._full = self._full_factory()
        return self._full

    def raw(self, start: datetime, override: Component | None = None) -> object:
        """recurring-ical-events' occurrence at ``start`` (what ``SeriesExpander`` yields).

        Its component is a copy of the master (or of the override) with DTSTART,
        DTEND and RECURRENCE-ID replaced, so the master serves as well as the
        moved copy the full path expands.
        """
        from recurring_ical_events.adapters.event import EventAdapter
        from recurring_ical_events.occurrence import Occurrence as Raw

        if override is not None:
            return Raw(EventAdapter(override), sequence=self._sequence)
        adapter = EventAdapter(self._master)
        return Raw(adapter, start, start + adapter.duration, sequence=self._sequence)

    def _all_counted(self) -> list[datetime]:
        """Every start of a COUNT rule (at most 1,000: ``_plain_rule``), computed once."""
        if self._counted is None:
            if self._rule._until is None:  # type: ignore[attr-defined]
                zone = self._start.tzinfo
                naive = counted_starts(self._vrecur, self._start.replace(tzinfo=None))
                self._counted = [start.replace(tzinfo=zone) for start in naive]
            else:
                self._counted = list(self._rule)
        return self._counted

    def _known_counted(self) -> None:
        """Take the COUNT rule's starts if the series' end already listed them."""
        rule: Any = self._rule
        if self._counted is None and rule._count and rule._until is None:
            if known_counted(self._vrecur, self._start.replace(tzinfo=None)) is not None:
                self._all_counted()

    def _starts(self, after: datetime) -> Iterator[datetime]:
        """Rule starts from ``after`` on (wall clock order), DTSTART merged in."""
        pending = self._start if self._with_start and self._start >= after else None
        self._known_counted()
        if self._counted is not None:  # a COUNT rule whose end was already needed
            starts = self._counted
            rule_starts: Iterator[datetime] = iter(starts[bisect_left(starts, after):])
        else:
            until = self._rule._until  # type: ignore[attr-defined]
            quick = periodic_starts(self._vrecur, self._start, until, after)
            rule_starts = quick if quick is not None else self._rule.xafter(after, inc=True)
        for start in rule_starts:
            if pending is not None and pending <= start:
                if pending != start:
                    yield pending
                pending = None
            yield start
        if pending is not None:
            yield pending

    def iter_after(self, now: datetime, bound: datetime | None) -> Iterator[Occurrence]:
        """Occurrences with ``now < instant <= min(bound, now + 50 years)``, in order."""
        if self._moved:
            yield from self._fallback().iter_after(now, bound)
            return
        yield from self._iter(now, bound)

    def _iter(self, now: datetime, bound: datetime | None) -> Iterator[Occurrence]:
        limit = now + _MAX_AHEAD if bound is None else min(bound, now + _MAX_AHEAD)
        for instant, start, _, override in self._timeline(now, limit):
            yield _PlainOccurrence(self, start, instant, override)

    def _timeline(
        self, now: datetime, limit: datetime
    ) -> Iterator[tuple[datetime, datetime, int, Component | None]]:
        """(instant, start, order, override) with ``now < instant <= limit`` in instant order."""
        waiting: list[tuple[datetime, datetime, int, Component | None]] = [
            (instant, start, order, comp)
            for order, (instant, start, comp) in enumerate(self._moved, 1)
            if now < instant <= limit
        ]
        for start in self._starts(now - _SLACK):
            if start - _SLACK > limit:
                break
            if self._dropped(start):
                continue
            instant = self._instant_of_value(start)
            if instant is None or instant <= now or instant > limit:
                continue
            if self._not_before is not None and instant < self._not_before:
                continue
            waiting.append((instant, start, 0, None))
            # instants follow the wall clock except by at most a DST shift: release safely
            while waiting and min(waiting)[0] + _SLACK < instant:
                first = min(waiting)
                waiting.remove(first)
                yield _untied(first, waiting)
        for item in sorted(waiting):
            yield _untied(item, waiting)

    def next_after(self, now: datetime, bound: datetime | None) -> Occurrence | None:
        """The first occurrence after ``now`` that is not cancelled."""
        try:
            return next((o for o in self._iter(now, bound) if not o.cancelled), None)
        except _Tie:
            return self._fallback().next_after(now, bound)

    def _tail_near(self, bound: datetime, now: datetime) -> deque[datetime] | None:
        """The last ``_TAIL`` starts up to ``bound`` from the rule moved near it (see
        ``_nearer``), instead of walking from ``now``; None when that is not certain."""
        if self._rule._count:  # type: ignore[attr-defined]
            return None
        freq = str(self._vrecur.get("FREQ", [""])[0]).upper()
        if freq not in ("DAILY", "WEEKLY"):
            return None
        step = int(self._vrecur.get("INTERVAL", [1])[0]) * (1 if freq == "DAILY" else 7)
        anchor = _nearer(self._start, self._vrecur, bound - timedelta(days=(_TAIL + 2) * step))
        if anchor < now - _SLACK or anchor <= self._start:
            return None
        until = self._rule._until  # type: ignore[attr-defined]
        starts = periodic_starts(self._vrecur, anchor, until, anchor)
        if starts is None:
            starts = make_rule(self._vrecur, anchor).xafter(anchor, inc=True)
        tail: deque[datetime] = deque(maxlen=_TAIL)
        for start in starts:
            if start - _SLACK > bound:
                break
            if not self._dropped(start):
                tail.append(start)
        return tail if len(tail) == _TAIL else None  # fewer: the earlier starts matter

    def _simple_tail(self, bound: datetime) -> deque[datetime] | None:
        """The last starts of a COUNT rule without BY parts, by arithmetic (``simple_start``)."""
        count = int(self._rule._count)  # type: ignore[attr-defined]
        tail: deque[datetime] = deque(maxlen=_TAIL)
        for n in range(max(1, count - _TAIL + 1), count + 1):
            start = simple_start(self._vrecur, self._start, n)
            if start is None or start - _SLACK > bound or self._dropped(start):
                return None
            tail.append(start)
        return tail

    def last_before(self, bound: datetime, now: datetime) -> Occurrence | None:
        """The last occurrence in ``(now, bound]``."""
        if any(instant > now for instant, _, _ in self._moved):
            return self._fallback().last_before(bound, now)
        # A plain rule yields at most one start a day and instants follow the wall clock up
        # to a DST shift, so the last of them lies among the final starts before the bound.
        tail = self._tail_near(bound, now)
        if tail is None and self._rule._count:  # type: ignore[attr-defined]
            tail = self._simple_tail(bound)
        if tail is None and self._rule._count:  # type: ignore[attr-defined]
            self._all_counted()  # COUNT ≤ 1,000 starts, listed once: _starts bisects them
        if tail is None:
            tail = deque(maxlen=_TAIL)
            for start in self._starts(now - _SLACK):
                if start - _SLACK > bound:
                    break
                if not self._dropped(start):
                    tail.append(start)
        best: tuple[datetime, datetime] | None = None
        for start in tail:
            instant = self._instant_of_value(start)
            if instant is None or instant <= now or instant > bound:
                continue
            if self._not_before is not None and instant < self._not_before:
                continue
            if best is None or instant >= best[0]:
                best = (instant, start)
        return _PlainOccurrence(self, best[1], best[0]) if best else None


_SIMPLE_KEYS = frozenset({"FREQ", "COUNT", "INTERVAL", "WKST"})


def simple_start(rule: Any, wall: date, count: int) -> datetime | None:
    """The ``count``-th start of a rule without BY… parts, by arithmetic (None: iterate).

    ``wall`` may carry a zone: the result keeps it (dateutil repeats the wall clock).

    Such a rule repeats DTSTART's wall clock every INTERVAL periods, as dateutil does;
    months are safe while the day exists in every month, years unless it is 29 February.
    """
    if count < 1 or not set(rule) <= _SIMPLE_KEYS:
        return None
    freq = str(rule["FREQ"][0]).upper()
    step = int(rule.get("INTERVAL", [1])[0]) * (count - 1)
    start = wall if isinstance(wall, datetime) else datetime.combine(wall, datetime.min.time())
    start = start.replace(microsecond=0)
    if freq in ("DAILY", "WEEKLY"):
        return start + timedelta(days=step * (1 if freq == "DAILY" else 7))
    if freq == "MONTHLY" and start.day <= 28:
        months = start.year * 12 + start.month - 1 + step
        year, month = divmod(months, 12)
        return start.replace(year=year, month=month + 1) if year <= 9999 else None
    if freq == "YEARLY" and (start.month, start.day) != (2, 29) and start.year + step <= 9999:
        return start.replace(year=start.year + step)
    return None
