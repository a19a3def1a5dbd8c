"""The fast path: a plain series' occurrences without recurring-ical-events' per-series setup.

``SeriesExpander`` builds a calendar, applies ``x_wr_timezone`` and sets up a
recurring-ical-events query for every series, then expands it over widening
windows just to find the next occurrence. For a *plain* series — one VEVENT
master with one RRULE of the simple parts (``rulemath``), no RDATE or EXRULE, a
date-time DTSTART in an IANA zone, EXDATEs and overrides (if any) in that same
zone; or an all-day DTSTART without EXDATEs, overrides or UNTIL — the answer is
what recurring-ical-events computes underneath: the rule's starts from DTSTART
(plus DTSTART itself), less the EXDATEs and the starts an override names, plus
each override at its own time. ``RuleExpander`` computes that directly (day
arithmetic for simple rules, else one dateutil walk) and yields the same
occurrences, so every decision that follows (strategy, fields, warnings) is made
by the same code on the same inputs.

Anything else, and every series when ``fast`` is off (``ImportOptions(fast_path=False)``,
which the equivalence tests use), takes ``SeriesExpander``; so do the cases where
the full path's answer depends on its search windows (see ``plainseries``, ``_Tie``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from dateutil.rrule import rrule
from icalendar import Component
from icalendar.parser.parameter import Parameters
from icalendar.prop import vDDDTypes

from ical_bridge.convert.expander import Occurrence, SeriesExpander, rebased_start
from ical_bridge.convert.plainbuild import _SharedParameters
from ical_bridge.convert.plainseries import exdate_ids, identities, is_plain_series
from ical_bridge.convert.rulemath import (
    counted_starts,
    known_counted,
    make_rule,
    periodic_nth,
    quick_plan,
    quick_starts,
    simple_start,
)
from ical_bridge.recurrence import in_zone

__all__ = ["RuleExpander", "expander_for", "is_plain_series"]

_MAX_AHEAD = timedelta(days=50 * 366)  # as SeriesExpander: no occurrence is looked for later
_SLACK = timedelta(days=2)
_DAY = timedelta(days=1)
_TAIL = 16  # starts kept before a bound: a DST shift reorders only the last few
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
        moved = item[3] is not None or other[3] is not None
        if other is not item and other[0] == item[0] and moved:
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
    freq = str(dict.get(rule, "FREQ", [""])[0]).upper()
    if dict.get(rule, "COUNT") or freq not in ("DAILY", "WEEKLY"):
        return start
    step = int(dict.get(rule, "INTERVAL", [1])[0]) * (1 if freq == "DAILY" else 7)
    days = (before - _SLACK * 2 - start).days
    if days < step:
        return start
    return start + timedelta(days=days // step * step)


_NOT_COPIED = frozenset({"DURATION", "RRULE", "RDATE", "EXDATE"})
_PARAMETERS: dict[object, Parameters] = {}


def _zone_parameters(moment: datetime) -> Parameters:
    """The parameters icalendar gives a date-time of ``moment``'s zone (``vDDDTypes``),
    one read-only object per zone."""
    kind = (type(moment), getattr(moment, "tzinfo", None))  # a date: VALUE=DATE
    params = _PARAMETERS.get(kind)
    if params is None:
        params = _SharedParameters.__new__(_SharedParameters)
        for key, value in vDDDTypes(moment).params.items():
            OrderedDict.__setitem__(params, key, value)
        if len(_PARAMETERS) < 1024:
            _PARAMETERS[kind] = params
    return params


def _at(moment: datetime, params: Parameters) -> vDDDTypes:
    """``vDDDTypes(moment)`` with the zone's shared parameters."""
    prop = object.__new__(vDDDTypes)
    prop.dt = moment
    prop.params = params
    return prop


class _Tie(Exception):
    """Two occurrences at one instant, one an override: their order is the full path's."""


class _PlainOccurrence(Occurrence):
    """An occurrence of a plain series; recurring-ical-events' objects are made on first use."""

    __slots__ = ("_expander", "_override", "_start")

    def __init__(self, expander: RuleExpander, start: datetime, instant: datetime,
                 override: Component | None = None) -> None:  # fmt: skip
        super().__init__(None, instant)
        self._expander, self._start, self._override = expander, start, override

    def bare(self) -> tuple[Component, date, str | None] | None:
        """The master, the start and its TZID, for an occurrence of the master whose copy
        (``copy_at``) a draft reads as it reads the master: every property the draft reads
        is the master's, those the copy leaves out or adds (RRULE, RDATE, EXDATE, DURATION,
        RECURRENCE-ID, SEQUENCE) are counted as read, and DTSTART's value and TZID are the
        ones returned. Not with VALARMs: an alarm related to the end reads DTEND."""
        master = self._expander._master
        if self._override is not None or master.subcomponents:
            return None
        tzid = _zone_parameters(self._start).get("TZID")
        return master, self._start, str(tzid) if tzid else None

    @property
    def component(self) -> Component:
        """The occurrence as recurring-ical-events makes it (DTSTART, DTEND, RECURRENCE-ID)."""
        if self._component is None and self._override is None:
            self._component = self._expander.copy_at(self._start)
        if self._component is None and self._raw is None:
            self._raw = self._expander.raw(self._start, self._override)
        return super().component

    @property
    def cancelled(self) -> bool:
        """Cancelled by its override, or with the master."""
        if self._override is not None:
            return str(dict.get(self._override, "STATUS", "")).upper() == "CANCELLED"
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
        self.cancelled = str(dict.get(master, "STATUS", "")).upper() == "CANCELLED"
        vrecur: Any = master["RRULE"]
        real: datetime = master["DTSTART"].dt  # type: ignore[union-attr,assignment]
        # An all-day series is walked as naive midnights; its starts are dates again
        # wherever they leave the walk (``_value``), and the instants it is compared with
        # are read as naive (``_cut``): the walks keep two days' slack either way.
        self._all_day = not isinstance(real, datetime)
        if self._all_day:
            real = datetime.combine(real, time())
        moved = rebased_start(real, vrecur, rebase_before)  # the shift SeriesExpander makes
        first = moved if isinstance(moved, datetime) else real
        self._start: datetime = _nearer(first, vrecur, self._cut(rebase_before))
        self._vrecur = vrecur
        # dateutil's rule is made only if day and month arithmetic do not know it (rulemath)
        self._made: rrule | None = None
        until = vrecur["UNTIL"][0] if dict.get(vrecur, "UNTIL") else None  # as dateutil keeps it
        self._until: datetime | None = until
        self._count: int | None = int(vrecur["COUNT"][0]) if dict.get(vrecur, "COUNT") else None
        # recurring-ical-events adds DTSTART itself unless the rule ended before it.
        self._with_start = until is None or not self._start > until
        self._counted: list[datetime] | None = None
        self._plans: dict[bool, Any] = {}  # see _quick
        # a DAILY or WEEKLY COUNT rule's last start (``periodic_nth``) ends it as UNTIL would
        self._count_end = periodic_nth(vrecur, self._start, self._count) if self._count else None
        # A start whose identities meet an EXDATE's or an override's is not the rule's.
        self._excluded: set[datetime] = exdate_ids(master)
        self._moved: list[tuple[datetime, datetime, Component]] = []
        for comp in overrides:
            self._excluded.update(identities(comp["RECURRENCE-ID"].dt))  # type: ignore[union-attr,arg-type]
            start: datetime = comp["DTSTART"].dt  # type: ignore[union-attr,assignment]
            instant = instant_of_value(start)
            if instant is not None:
                self._moved.append((instant, start, comp))
        self._sequence = max(dict.get(comp, "SEQUENCE", -1) for comp in (master, *overrides))
        self._duration: timedelta | None = None

    def _cut(self, moment: datetime) -> datetime:
        """An instant as the walk compares it with its starts (naive for an all-day series)."""
        return moment.replace(tzinfo=None) if self._all_day else moment

    def _value(self, start: datetime) -> datetime:
        """A start of the walk as the series has it (a date for an all-day series)."""
        return start.date() if self._all_day else start  # type: ignore[return-value]

    @property
    def _rule(self) -> rrule:
        if self._made is None:
            self._made = make_rule(self._vrecur, self._start)
        return self._made

    def _dropped(self, start: datetime) -> bool:
        """An EXDATE or an override takes the place of the rule's start (``_ids``)."""
        return bool(self._excluded) and not self._excluded.isdisjoint(identities(start))

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

    def copy_at(self, start: datetime) -> Component:
        """The master as recurring-ical-events' occurrence at ``start`` makes it
        (``as_component(False)``): a shallow copy with DTSTART, DTEND and RECURRENCE-ID
        at the occurrence, without DURATION, RRULE, RDATE and EXDATE, the master's
        subcomponents, and the series' SEQUENCE. The three date-time values share one
        read-only parameter set (the TZID recurring-ical-events gives their zone)."""
        master = self._master
        if self._duration is None:
            from recurring_ical_events.adapters.event import EventAdapter

            self._duration = EventAdapter(master).duration
        params = _zone_parameters(start)
        copy = type(master)()
        for key, value in master.items():
            if key not in _NOT_COPIED:
                OrderedDict.__setitem__(copy, key, value)
        for key, moment in (("DTSTART", start), ("DTEND", start + self._duration)):
            OrderedDict.__setitem__(copy, key, _at(moment, params))
        for sub in master.subcomponents:
            copy.add_component(sub)
        if "RECURRENCE-ID" not in copy:
            OrderedDict.__setitem__(copy, "RECURRENCE-ID", _at(start, params))
        if self._sequence >= 0:
            OrderedDict.__setitem__(copy, "SEQUENCE", self._sequence)
        return copy

    def _all_counted(self) -> list[datetime]:
        """Every start of a COUNT rule (at most 1,000: ``plain_rule``), computed once."""
        if self._counted is None:
            if self._until is None:
                zone = self._start.tzinfo
                naive = counted_starts(self._vrecur, self._start.replace(tzinfo=None))
                self._counted = [in_zone(start, zone) for start in naive]
            else:
                self._counted = list(self._rule)
        return self._counted

    def _quick(self, *, counted: bool) -> Any:
        """The rule's ``quick_plan`` from the series' start, worked out once."""
        if counted not in self._plans:
            self._plans[counted] = quick_plan(self._vrecur, self._start, counted=counted)
        return self._plans[counted]

    def _known_counted(self) -> None:
        """Take the COUNT rule's starts if the series' end already listed them."""
        if self._counted is None and self._count and self._until is None and (
            self._count_end is None
        ):
            if known_counted(self._vrecur, self._start.replace(tzinfo=None)) is not None:
                self._all_counted()

    def _starts(self, after: datetime) -> Iterator[datetime]:
        """Rule starts from ``after`` on (wall clock order), DTSTART merged in."""
        after = self._cut(after)
        pending = self._start if self._with_start and self._start >= after else None
        self._known_counted()
        if self._counted is not None:  # a COUNT rule whose end was already needed
            starts = self._counted
            rule_starts: Iterator[datetime] = iter(starts[bisect_left(starts, after):])
        elif self._count_end is not None:  # its last start, by arithmetic: an UNTIL
            plan = self._quick(counted=True)
            rule_starts = plan(self._count_end, after) if plan is not None else iter(())
        else:
            plan = self._quick(counted=False)
            rule_starts = (plan(self._until, after) if plan is not None
                           else self._rule.xafter(after, inc=True))  # fmt: skip
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
        for instant, start, _ in self._candidates(now, limit):
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
        if not self._moved:
            return None if self.cancelled else self._first(now, bound)
        try:
            return next((o for o in self._iter(now, bound) if not o.cancelled), None)
        except _Tie:
            return self._fallback().next_after(now, bound)

    def _first(self, now: datetime, bound: datetime | None) -> Occurrence | None:
        """``_timeline``'s first occurrence for a series without overrides: the earliest
        instant after ``now``, looked for until the starts are past it by more than a
        DST shift (as ``_timeline`` releases it)."""
        limit = now + _MAX_AHEAD if bound is None else min(bound, now + _MAX_AHEAD)
        best: tuple[datetime, datetime] | None = None
        # A zoned start a day before ``now`` by its own zone is before it by any reading;
        # one two days past the best start's wall clock is later than the best (a DST
        # shift moves an instant by hours).
        floor = None if self._all_day else now - _DAY
        past_best: datetime | None = None
        for instant, value, start in self._candidates(now, limit, floor):
            if past_best is not None and start >= past_best:
                break
            if best is None or (instant, value) < best:  # _timeline's order
                best, past_best = (instant, value), start + _SLACK
            elif best[0] + _SLACK < instant:
                break
        return _PlainOccurrence(self, best[1], best[0]) if best else None

    def _candidates(self, now: datetime, limit: datetime, floor: datetime | None = None,
                    ) -> Iterator[tuple[datetime, datetime, datetime]]:  # fmt: skip
        """(instant, start as the series has it, start of the walk) of the rule's starts
        with ``now < instant <= limit``, not before DTSTART's instant nor dropped, in wall
        clock order; starts before ``floor`` (a zoned start's own reading) are passed over."""
        cut = self._cut(limit)
        for start in self._starts(now - _SLACK):
            if start - _SLACK > cut:
                return
            if (floor is not None and start < floor) or self._dropped(start):
                continue
            value = self._value(start)
            instant = self._instant_of_value(value)
            if instant is not None and self._within(instant, now, limit):
                yield instant, value, start

    def _within(self, instant: datetime, now: datetime, limit: datetime) -> bool:
        """An occurrence's instant in ``(now, limit]`` and not before DTSTART's."""
        if instant <= now or instant > limit:
            return False
        return self._not_before is None or instant >= self._not_before

    def _tail_near(self, bound: datetime, now: datetime) -> deque[datetime] | None:
        """The last ``_TAIL`` starts up to ``bound`` from the rule moved near it (see
        ``_nearer``), instead of walking from ``now``; None when that is not certain."""
        if self._count:
            return None
        freq = str(dict.get(self._vrecur, "FREQ", [""])[0]).upper()
        if freq not in ("DAILY", "WEEKLY"):
            return None
        step = int(dict.get(self._vrecur, "INTERVAL", [1])[0]) * (1 if freq == "DAILY" else 7)
        bound, now = self._cut(bound), self._cut(now)
        anchor = _nearer(self._start, self._vrecur, bound - timedelta(days=(_TAIL + 2) * step))
        if anchor < now - _SLACK or anchor <= self._start:
            return None
        starts = quick_starts(self._vrecur, anchor, self._until, anchor)
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
        """The last starts of a COUNT rule by arithmetic (``simple_start``, ``periodic_nth``)."""
        count = self._count or 0
        bound = self._cut(bound)
        tail: deque[datetime] = deque(maxlen=_TAIL)
        for n in range(max(1, count - _TAIL + 1), count + 1):
            start = simple_start(self._vrecur, self._start, n)
            if start is None:
                start = periodic_nth(self._vrecur, self._start, n)
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
        if tail is None and self._count:
            tail = self._simple_tail(bound)
        if tail is None and self._count:
            self._all_counted()  # COUNT ≤ 1,000 starts, listed once: _starts bisects them
        if tail is None:
            tail = deque(maxlen=_TAIL)
            cut = self._cut(bound)
            for start in self._starts(now - _SLACK):
                if start - _SLACK > cut:
                    break
                if not self._dropped(start):
                    tail.append(start)
        best: tuple[datetime, datetime] | None = None
        for start in reversed(tail):  # the latest first: earlier ones cannot be later by far
            if best is not None and self._value(start) < best[1] - _SLACK:
                break  # a day's DST shift cannot move it past the best
            start = self._value(start)
            instant = self._instant_of_value(start)
            if instant is None or not self._within(instant, now, bound):
                continue
            if best is None or instant > best[0]:  # of equal instants, the later start
                best = (instant, start)
        return _PlainOccurrence(self, best[1], best[0]) if best else None
