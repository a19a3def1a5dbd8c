"""Strategy choice for a series with RRULE/RDATE: native, split, rolling or expand."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from icalendar import Component

from ical_bridge.convert.expander import Occurrence
from ical_bridge.convert.fastscan import expander_for
from ical_bridge.convert.fields import listify
from ical_bridge.convert.model import Notice
from ical_bridge.convert.rulemath import counted_starts, periodic_nth, simple_start
from ical_bridge.convert.rules import RulePart, RuleShape, analyse_rule
from ical_bridge.convert.timing import When
from ical_bridge.convert.zones import dst_spans, local_to_utc
from ical_bridge.recurrence import (
    Slot,
    format_utc,
    slot_occurrences,
)

if TYPE_CHECKING:
    from ical_bridge.convert.importer import Converter

__all__ = ["DST_HORIZON", "EXPAND_CAP", "RecurringSeries"]

EXPAND_CAP = 500
"""At most this many one-off timers per series with ``--strategy expand``."""
DST_HORIZON = timedelta(days=4 * 366)
"""How far ahead a native slot is checked for DST gaps and overlaps."""
_SLACK = timedelta(days=2)
_ONE_MS = timedelta(milliseconds=1)
_PERIOD_BACK = {
    "daily": timedelta(days=2), "weekly": timedelta(days=8), "monthly": timedelta(days=63),
    "yearly": timedelta(days=9 * 366),  # February 29th: up to eight years apart
}  # fmt: skip
_MAX_COUNT = 100_000


def _meets_a_transition(slot: Slot, spans: tuple[tuple[date, datetime, datetime], ...],
                        since: date) -> bool:  # fmt: skip
    """True when ``slot`` falls into a DST gap or overlap (``spans``, ``dst_spans``) on a
    day from ``since`` on."""
    for day, first, after in spans:
        if day >= since and slot.falls_on(day) and first <= slot.wall_clock(day) < after:
            return True
    return False


class RecurringSeries:
    """Strategy choice for one series with RRULE/RDATE (master + overrides)."""

    def __init__(self, conv: Converter, uid: str, master: Component, overrides: list[Component]):
        self.conv, self.uid, self.master, self.overrides = conv, uid, master, overrides
        self.now = conv.now
        self.rrules = listify(dict.get(master, "RRULE"))

    def run(self) -> None:
        """Add this series' drafts or skip to the converter."""
        try:
            self._run()
        finally:
            # The expander calls back into this object: drop it, so that reference counting
            # frees the series' components now (the cycle collector is paused meanwhile).
            self.__dict__.pop("expander", None)

    def _run(self) -> None:
        conv = self.conv
        when = conv.clock.when_of(self.master)
        if when is None:
            conv.skip(self.uid, "unsupported", "no usable DTSTART")
            return
        self.when = when
        for comp in (self.master, *self.overrides):
            conv.clock.normalize(comp)
        self.bound = self._bound()
        if self.bound is not None and self.bound < self.now:
            conv.skip(self.uid, "ended", "the series ended before now")
            return
        strategy = conv.options.strategy
        if strategy in ("expand", "rolling", "single"):
            nxt = self._next()
            if nxt is None:
                return
            if strategy == "expand":
                self._expand()
            else:
                self._rolling(nxt, "rolling was asked for", forced=strategy)
            return
        # What tickward can repeat is worked out first (it reads only the series): an
        # exact native series needs no expansion at all (``_certain``).
        several = "several RRULEs" if len(self.rrules) > 1 else "an RRULE with RDATEs"
        shape = RuleShape((), several if self.rrules else "RDATE-only series")
        if len(self.rrules) == 1 and dict.get(self.master, "RDATE") is None:
            passed = when.instant < self.now  # then only the slots' own occurrences remain
            shape = analyse_rule(
                self.rrules[0], when.wall, is_date=when.is_date, start_passed=passed
            )
        reason = shape.reason or self._future_exceptions()
        if not reason and not (when.zone.exact and isinstance(when.zone.tz, ZoneInfo)):
            reason = f"its zone is only approximated as {when.zone.name}"
        placed: list[tuple[RulePart, datetime, datetime]] = []
        edge = False
        if not reason and not shape.unsupported:
            placed, edge = self._place(shape)
        forced = strategy in ("native", "split")
        tick_next = min(p[2] for p in placed) if placed else None
        if tick_next is not None and not edge:
            certain, counted = self._certain(placed, tick_next)
            if certain:
                last = self._last_by_slots(placed, tick_next, counted)
                self._native(placed, edge, forced=strategy, last=last)
                return
        nxt = self._next()
        if nxt is None:
            return
        if shape.unsupported:
            conv.skip(self.uid, "unsupported", shape.reason)
            return
        if tick_next is not None:
            if not edge and tick_next != nxt.instant.replace(second=0, microsecond=0):
                reason = "tickward's next occurrence would differ"
            if len(placed) > conv.options.split_cap:
                reason = f"{len(placed)} slots exceed the split cap of {conv.options.split_cap}"
        if not reason and edge and not forced:
            reason = "a future occurrence falls into a DST gap or overlap"
        if reason:
            self._rolling(nxt, reason, forced=strategy if forced else "")
            return
        self._native(placed, edge, forced=strategy)

    def _next(self) -> Occurrence | None:
        """The series' first occurrence after now, by RFC 5545 (the expander), or ``None``
        when there is none or the rule cannot be expanded (the skip is recorded)."""
        conv = self.conv
        try:
            self.expander = expander_for(
                [self.master, *self.overrides],
                fast=conv.options.fast_path,
                x_wr_timezone=conv.x_wr_name,
                instant_of=self._instant_of,
                instant_of_value=self._instant_of_value,
                rebase_before=self.now,
            )
            nxt = self.expander.next_after(self.now, self.bound)
        except Exception as exc:  # the expander refuses malformed rules in many ways
            conv.skip(self.uid, "unsupported", f"the recurrence cannot be expanded: {exc}")
            return None
        if nxt is None:
            conv.skip(self.uid, "ended", "the series has no occurrence after now")
        return nxt

    def _certain(
        self, placed: list[tuple[RulePart, datetime, datetime]], tick_next: datetime
    ) -> tuple[bool, datetime | None]:
        """The fast path's shortcut: tickward's next occurrence of the placed slots *is* the
        series' next occurrence by RFC 5545, so the expansion that would confirm it is
        not made. So it is when the series is a lone master whose one RRULE is the union
        of the slots (``analyse_rule``), no EXDATE, RDATE or override lies ahead
        (``_future_exceptions``), its DTSTART is a date-time in the very IANA zone the
        timers get, on a whole minute, within the split cap, and no DST gap or overlap
        meets a slot up to the series' end or four years ahead (``_place``'s ``edge``; the
        caller checks): then both step the same wall clocks and read them in the same
        zone. The series never ends, or ends within those four years and not before that
        next occurrence: by an UNTIL in UTC (its last occurrence is then the slots' last
        wall clock before UNTIL, ``_last_by_slots``) or by a COUNT whose last start day
        arithmetic names (``_last_counted``); other COUNTs are left to the expansion.
        ``tick_next`` is the placed slots' first instant. Also returns that COUNT's last
        start when it was worked out (``_last_by_slots`` takes it).
        ``tests/convert/test_fast_path.py`` compares the result with the full path's."""
        conv = self.conv
        if not conv.options.fast_path or self.overrides:
            return False, None
        if len(placed) > conv.options.split_cap:
            return False, None
        start = dict.get(self.master, "DTSTART")
        value = getattr(start, "dt", None)
        if type(value) is not datetime or value.tzinfo is not self.when.zone.tz or (
            value.second or value.microsecond  # an RFC occurrence tickward reads a minute on
        ):
            return False, None
        if tick_next > self.now + DST_HORIZON:
            return False, None
        if self.bound is None:
            return True, None
        until = self._until()  # None with a COUNT; ``_last_counted`` is None with an UNTIL
        counted = None if until is not None else self._last_counted()
        end = until or counted
        return end is not None and tick_next <= end <= self.now + DST_HORIZON, counted

    def _until(self) -> datetime | None:
        """The one RRULE's UNTIL when it ends the series: a date-time in UTC, no COUNT."""
        rule = self.rrules[0]
        values = dict.get(rule, "UNTIL")
        if not values or dict.get(rule, "COUNT") or len(values) != 1:
            return None
        until = values[0]
        if type(until) is not datetime or until.utcoffset() != timedelta(0):
            return None
        return until

    def _last_counted(self) -> datetime | None:
        """The instant of a COUNT rule's last start, when day arithmetic names it
        (``simple_start``, ``periodic_nth``: as dateutil counts, DTSTART off the rule not
        counted). The series' DST edges up to its end are checked (``_place``), so that wall
        clock has one instant."""
        rule = self.rrules[0]
        if not dict.get(rule, "COUNT") or dict.get(rule, "UNTIL"):  # both: ``_bound`` reads UNTIL
            return None
        try:
            count = int(rule["COUNT"][0])
        except (TypeError, ValueError):
            return None
        wall = self.when.wall
        last = simple_start(rule, wall, count) or periodic_nth(rule, wall, count)
        if last is None:
            return None
        return local_to_utc(last, self.when.zone.tz)[0]  # not in a gap: ``_place``'s edge

    def _last_by_slots(
        self,
        placed: list[tuple[RulePart, datetime, datetime]],
        tick_next: datetime,
        counted: datetime | None,
    ) -> datetime | None:
        """The last occurrence of a series ``_certain`` placed, for one that ends: its COUNT's
        last start (``counted``, as ``_certain`` found it), or the latest slot wall clock
        whose instant is at or before UNTIL (none is in a DST gap or overlap, so each has
        one instant), looked for from a whole slot period before it."""
        if self.bound is None:
            return None
        if counted is not None:
            return counted  # the last start is the last occurrence: none is dropped ahead
        until = self._until()
        if until is None:
            return None
        tz = self.when.zone.tz
        assert isinstance(tz, ZoneInfo)
        last_day = until.astimezone(tz).date()
        first_day = tick_next.astimezone(tz).date() - timedelta(days=1)
        best = tick_next
        for part, _, _ in placed:
            anchor = part.anchor
            slot = Slot(part.type, anchor.hour, anchor.minute, anchor.weekday(), anchor.day,
                        anchor.month, part.last_day)  # fmt: skip
            for day in slot.local_dates(max(first_day, last_day - _PERIOD_BACK[part.type])):
                instant = local_to_utc(slot.wall_clock(day), tz)[0]
                if instant > until:
                    break
                best = max(best, instant)
        return best

    # -- helpers -----------------------------------------------------------------

    def _instant_of(self, comp: Component) -> datetime | None:
        found = self.conv.clock.when_of(comp)
        return found.instant if found else None

    def _instant_of_value(self, value: date) -> datetime | None:
        if not isinstance(value, date):
            return None
        return self.conv.clock.instant(value)

    def _values(self, name: str, comp: Component) -> Iterable[When]:
        for prop in listify(dict.get(comp, name)):
            tzid = dict.get(prop.params, "TZID") if hasattr(prop, "params") else None
            for item in getattr(prop, "dts", []):
                value = item.dt
                if isinstance(value, tuple):
                    value = value[0]
                if isinstance(value, date):
                    yield self.conv.clock.when(value, str(tzid) if tzid else None, name)

    def _bound(self) -> datetime | None:
        """An instant after every occurrence, or ``None`` for an endless series."""
        ends = [self.when.instant]
        for rule in self.rrules:
            if dict.get(rule, "UNTIL"):
                until = rule["UNTIL"][0]
                if isinstance(until, datetime):
                    ends.append(
                        until.astimezone(UTC) if until.tzinfo else until.replace(tzinfo=UTC)
                    )
                else:
                    ends.append(datetime.combine(until, datetime.min.time(), UTC))
            elif dict.get(rule, "COUNT"):
                last = self._last_by_count(rule)
                if last is None:
                    return None
                # dateutil counts BYSETPOS from a truncated first period: allow a period more.
                ends.append(last + (timedelta(days=370) if dict.get(rule, "BYSETPOS") else _SLACK))
            else:
                return None
        ends += [w.instant for w in self._values("RDATE", self.master)]
        for comp in self.overrides:
            found = self._instant_of(comp)
            if found is not None:
                ends.append(found)
        return max(ends) + _SLACK

    def _last_by_count(self, rule: Any) -> datetime | None:
        try:
            count = int(rule["COUNT"][0])
            if count > _MAX_COUNT:
                return None
            last = simple_start(rule, self.when.wall, count)
            if last is None and isinstance(self.when.wall, datetime):
                last = periodic_nth(rule, self.when.wall, count)
            if last is not None:
                return last.replace(tzinfo=UTC)
            text = rule.to_ical().decode()
            wall = self.when.wall
            if count <= 1000 and not dict.get(rule, "UNTIL") and isinstance(wall, datetime):
                starts = counted_starts(rule, wall)  # the expander lists them again
                last = starts[-1] if starts else None
            else:
                parsed = rrulestr(text, dtstart=self.when.wall)
                for item in islice(iter(parsed), count):
                    last = item
        except Exception:
            return None
        return last.replace(tzinfo=UTC) if isinstance(last, datetime) else None

    def _future_exceptions(self) -> str:
        if any(w.instant > self.now for w in self._values("EXDATE", self.master)):
            return "it has future exceptions (EXDATE)"
        if any(w.instant > self.now for w in self._values("RDATE", self.master)):
            return "it has future extra dates (RDATE)"
        for comp in self.overrides:
            recid = dict.get(comp, "RECURRENCE-ID")
            if str(getattr(recid, "params", {}).get("RANGE", "")).upper() == "THISANDFUTURE":
                return "it has a RANGE=THISANDFUTURE override"
            moved = [
                self._instant_of(comp),
                *(w.instant for w in self._values("RECURRENCE-ID", comp)),
            ]
            if any(m is not None and m > self.now for m in moved):
                return "it has future overrides (RECURRENCE-ID)"
        return ""

    def _place(self, shape: RuleShape) -> tuple[list[tuple[RulePart, datetime, datetime]], bool]:
        tz = self.when.zone.tz
        assert isinstance(tz, ZoneInfo)
        horizon = self.now + DST_HORIZON
        if self.bound is not None:
            horizon = min(horizon, self.bound)
        start = self.now.astimezone(tz).date() - timedelta(days=1)
        spans = dst_spans(self.when.zone.name, start, (horizon - self.now).days + 3)
        edge = False
        placed = []
        for part in shape.parts:
            anchor = part.anchor
            slot = Slot(part.type, anchor.hour, anchor.minute, anchor.weekday(), anchor.day,
                        anchor.month, part.last_day)  # fmt: skip
            days = slot.local_dates(anchor.date())
            instant, warning = local_to_utc(anchor, tz)
            for _ in range(400):
                # A wall clock in a gap does not survive the round trip through target_date
                # (tickward would read another slot back); an ambiguous one does.
                if warning is None or warning.code != "dst_gap":
                    break
                anchor = slot.wall_clock(next(d for d in days if d > anchor.date()))
                instant, warning = local_to_utc(anchor, tz)
            edge = edge or _meets_a_transition(slot, spans, part.anchor.date())
            # out of any gap, the instant reads back as this slot (``Slot.of``): tickward's
            # next occurrence of the timer (``next_occurrence``) is the slot's
            tick = next(slot_occurrences(slot, tz, max(self.now, instant - _ONE_MS)))
            placed.append((part, instant, tick))
        return placed, edge

    def _native(
        self,
        placed: list[tuple[RulePart, datetime, datetime]],
        edge: bool,
        forced: str,
        last: datetime | None = None,
    ) -> None:
        """The native or split drafts; ``last``: the series' last occurrence when known
        without the expander (``_last_by_slots``)."""
        conv, when = self.conv, self.when
        k = len(placed)
        strategy = "native" if k == 1 else "split"
        common = [w for w in when.warnings if w.code not in ("dst_gap", "dst_ambiguous")]
        if forced == "native" and k > 1:
            common.append(Notice("strategy_fallback", f"native impossible; split into {k} timers"))
        if edge:
            common.append(
                Notice(
                    "dst_edge",
                    "a future occurrence falls into a DST gap or "
                    "overlap, where tickward's time differs from RFC 5545",
                )
            )
        if when.wall.second or when.wall.microsecond:
            common.append(
                Notice("seconds_dropped", "tickward repeats to the minute; seconds dropped")
            )
        series_end = None
        if self.bound is not None:
            if last is None:
                found = self.expander.last_before(self.bound, self.now)
                last = found.instant if found else None
            series_end = last
            common.append(
                Notice(
                    "series_end_not_enforced",
                    "the series ends "
                    f"{format_utc(series_end) if series_end else 'soon'}; only sync "
                    "archives the timer then",
                )
            )
        for index, (part, instant, tick) in enumerate(placed):
            recurrence: dict[str, Any] = {"type": part.type, "enabled": True}
            if part.last_day:
                recurrence["lastDay"] = True
            draft = conv.draft(
                self.master, uid=self.uid, recurrence_id=None, part=index, strategy=strategy,
                instant=instant, zone_name=when.zone.name, recurrence=recurrence,
                warnings=list(common), label_suffix=part.suffix, series_end=series_end,
            )  # fmt: skip
            draft.next_occurrence = tick

    def _rolling(self, nxt: Occurrence, reason: str, *, forced: str) -> None:
        conv = self.conv
        bare = nxt.bare()  # a plain occurrence: drafted from the master, without a copy
        source, found = (nxt.component, conv.clock.when_of(nxt.component)) if bare is None else (
            bare[0], conv.clock.start_of(*bare))
        if found is None:  # pragma: no cover - the expander only yields timed occurrences
            conv.skip(self.uid, "unsupported", "no usable DTSTART")
            return
        warnings = list(found.warnings)
        strategy = "single" if forced == "single" else "rolling"
        if forced in ("native", "split"):
            warnings.append(
                Notice("strategy_fallback", f"{forced} is not exact: {reason}; rolling")
            )
        if strategy == "single":
            warnings.append(Notice("recurrence_dropped", "only the next occurrence is imported"))
        else:
            note = "" if forced == "rolling" else f"not repeatable in tickward ({reason}); "
            warnings.append(
                Notice(
                    "rolling",
                    f"{note}the timer shows the next occurrence and goes stale without sync",
                )
            )
        conv.draft(
            source, uid=self.uid, recurrence_id=None, part=0, strategy=strategy,
            instant=nxt.instant, zone_name=found.zone.name, recurrence=None, warnings=warnings,
        )  # fmt: skip

    def _expand(self) -> None:
        conv = self.conv
        end = self.now + conv.options.window
        if self.bound is not None:
            end = min(end, self.bound)
        made = 0
        for occ in self.expander.iter_after(self.now, end):
            if occ.cancelled:
                conv.skip(
                    self.uid, "cancelled", f"the occurrence at {occ.recurrence_id} is cancelled"
                )
                continue
            if made >= EXPAND_CAP:
                conv.warnings.append(
                    Notice(
                        "expand_truncated", f"{self.uid}: only {EXPAND_CAP} occurrences expanded"
                    )
                )
                break
            found = conv.clock.when_of(occ.component)
            conv.draft(
                occ.component, uid=self.uid, recurrence_id=occ.recurrence_id, part=0,
                strategy="expand", instant=occ.instant,
                zone_name=found.zone.name if found else "UTC", recurrence=None,
                warnings=list(found.warnings) if found else [],
            )  # fmt: skip
            made += 1
        if not made:
            conv.skip(self.uid, "outside_window", "no occurrence inside the window")
