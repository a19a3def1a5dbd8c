"""VEVENT → timer drafts: the import direction of the converter (pure; ``now`` injected)."""

from __future__ import annotations

import gc
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from icalendar import Component

from ical_bridge.convert.colors import css_color_to_hex
from ical_bridge.convert.fields import (
    color_of,
    description_of,
    label_of,
    pinned_of,
    reminders_of,
    space_of,
    text_of,
)
from ical_bridge.convert.filters import FILTERED, window_filter
from ical_bridge.convert.model import (
    CalendarInfo,
    ConversionResult,
    ImportOptions,
    Notice,
    Skipped,
    SourceRef,
    TimerDraft,
    timer_id,
)
from ical_bridge.convert.plainbuild import PlainBuilder
from ical_bridge.convert.reminders import choose_reminders
from ical_bridge.convert.series import Series, convert_series
from ical_bridge.convert.timing import Clockwork
from ical_bridge.convert.zones import ZoneResolver, iana_name
from ical_bridge.errors import UserError
from ical_bridge.ingest.decode import ParsedFeed, parse_feed
from ical_bridge.ingest.feed import DecodedFeed
from ical_bridge.recurrence import format_utc, zone
from ical_bridge.vocabulary import STRATEGY_CHOICES

__all__ = ["Converter", "convert_calendar"]

# Properties the converter reads (into a timer field, or to choose, order or skip one).
_USED = frozenset({
    "UID", "RECURRENCE-ID", "SEQUENCE", "DTSTAMP", "STATUS", "SUMMARY", "DESCRIPTION", "URL",
    "LOCATION", "DTSTART", "DTEND", "DURATION", "DUE", "RRULE", "RDATE", "EXDATE", "COLOR",
    "X-APPLE-CALENDAR-COLOR", "CATEGORIES",
})


Progress = Callable[[int, int], None]
"""``progress(done, total)``: how many of a feed's events are converted."""
PROGRESS_EVERY = 250
"""How many events a conversion converts between two ``progress`` calls."""


class Converter:
    """Shared state of one conversion: options, zones, calendar facts, output lists."""

    def __init__(self, feed: ParsedFeed, options: ImportOptions) -> None:
        if options.strategy not in STRATEGY_CHOICES:
            raise UserError(f"unknown strategy {options.strategy!r}")
        if options.now.tzinfo is None:
            raise UserError("now must carry a time zone")
        self.options = options
        self.now = options.now.astimezone(UTC)
        self.feed = feed
        self.timers: list[TimerDraft] = []
        self.dropped: dict[str, int] = defaultdict(int)
        self._counted: set[int] = set()
        self._used = _USED | ({"PRIORITY"} if options.pin_priority else set())
        self.skipped: list[Skipped] = []
        # uid → warnings about the event itself (bad RRULE, DTEND before DTSTART, …): carried
        # by every draft and skip of that uid, so each output says what happened to it.
        self.event_warnings: dict[str, list[Notice]] = defaultdict(list)
        self.warnings: list[Notice] = [
            Notice(p.code, f"{p.uid}: {p.message}" if p.uid else p.message) for p in feed.problems
        ]
        self.lost: dict[str, set[str]] = defaultdict(set)  # uid → properties dropped unread
        for problem in feed.problems:
            if problem.uid and problem.prop:
                self.note_lost(problem.uid, problem.prop, problem.value)
            elif problem.uid:
                self.warn_event(problem.uid, Notice(problem.code, problem.message))
        cal = feed.calendar
        self.method = text_of(cal, "METHOD").strip().upper()  # CANCEL: every item is cancelled
        x_wr = text_of(cal, "X-WR-TIMEZONE").strip() or None
        resolver = ZoneResolver(feed.timezones, self.now)
        try:
            self.clock = Clockwork(
                resolver,
                x_wr_timezone=x_wr,
                default_tz=options.default_tz,
                all_day_time=options.all_day_time,
                local_tz=options.local_tz,
            )
        except KeyError as exc:
            raise UserError(f"unknown time zone {options.default_tz!r}") from exc
        if x_wr and self.clock.x_wr is None:
            self.warnings.append(
                Notice("unknown_timezone", f"X-WR-TIMEZONE {x_wr[:60]!r} is not a known zone")
            )
        # x-wr-timezone needs an IANA name; pass the resolved one to the expander.
        self.x_wr_name = self.clock.x_wr.name if self.clock.x_wr else None
        self.calendar = CalendarInfo(
            name=(text_of(cal, "X-WR-CALNAME") or text_of(cal, "NAME")).strip() or None,
            color=_calendar_color(cal),
            timezone=self.x_wr_name,
            refresh_interval=_refresh_interval(cal),
        )

    # -- building drafts -------------------------------------------------------------

    def skip(self, uid: str, code: str, message: str) -> None:
        """Record a component that yields no timer."""
        self.skipped.append(
            Skipped(uid, code, message, warnings=tuple(self.event_warnings.get(uid, ())))
        )

    def note_lost(self, uid: str, name: str, raw: str) -> None:
        """Note that property ``name`` of event ``uid`` was dropped because it cannot be read."""
        self.lost[uid].add(name)
        shown = f" {raw[:80]!r}" if raw else ""
        if name == "RRULE":
            message = f"RRULE{shown} cannot be parsed; the series' later occurrences are unknown"
            self.warn_event(uid, Notice("bad_rrule", message))
        else:
            self.warn_event(uid, Notice("bad_property", f"unparseable {name}{shown} dropped"))

    def warn_event(self, uid: str, warning: Notice) -> None:
        """Note a problem of event ``uid`` (shown with its timers or skip entry)."""
        if warning not in self.event_warnings[uid]:
            self.event_warnings[uid].append(warning)

    def draft(
        self,
        comp: Component,
        *,
        uid: str,
        recurrence_id: str | None,
        part: int,
        strategy: str,
        instant: datetime,
        zone_name: str,
        recurrence: dict[str, Any] | None,
        warnings: list[Notice],
        label_suffix: str = "",
        alarm_start: datetime | None = None,
        series_end: datetime | None = None,
        extra: dict[str, Any] | None = None,
    ) -> TimerDraft:
        """Build one draft (a ``TimerCreateRequest`` body) from ``comp``."""
        self._count_dropped(comp)
        timer: dict[str, Any] = {
            "id": timer_id(self.options.source_key, uid, recurrence_id, part),
            "label": label_of(comp, warnings, label_suffix),
            "target_date": format_utc(instant),
            "timezone": zone_name,
            "recurrence": recurrence,
        }
        description = description_of(comp, warnings)
        if description:
            timer["description"] = description
        color = color_of(comp, self.calendar.color, warnings)
        if color:
            timer["color"] = color
        choices = self.options.choices
        found = [] if choices.alarms == "drop" else reminders_of(comp, alarm_start, warnings)
        reminders, notify = choose_reminders(
            [r["offset_minutes"] for r in found], all_day=_all_day(comp), choices=choices,
            warnings=warnings,
        )
        # Always explicit: the real tickward defaults an omitted notify to true, the
        # contract to false; a reminder (or the user's notify choice) turns it on.
        timer["notify"] = notify
        if reminders:
            timer["reminders"] = reminders
        pinned = pinned_of(comp, use_priority=self.options.pin_priority)
        if pinned is not None:
            timer["pinned"] = pinned
        space = space_of(comp, self.options.categories_to_spaces)
        if space:
            timer["space_id"] = space
        if extra:
            timer.update(extra)
        unique: list[Notice] = []
        for warning in [*self.event_warnings.get(uid, ()), *warnings]:
            if warning not in unique:
                unique.append(warning)
        draft = TimerDraft(
            timer=timer,
            source=SourceRef(uid, recurrence_id, part),
            strategy=strategy,
            next_occurrence=instant,
            series_end=series_end,
            warnings=unique,
        )
        self.timers.append(draft)
        return draft

    # -- the walk --------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> ConversionResult:
        """Convert every series of the feed; one failing series never stops the rest.
        ``progress(done, total)`` hears how many of the feed's events (series) are done."""
        for uid, start in self.feed.past:
            self.skip(uid, "past", f"{start} is in the past")
        groups: dict[str, list[Component]] = defaultdict(list)
        for comp in self.feed.components:
            if comp.name == "VTODO" and not self.options.include_todos:
                continue
            if comp.name not in ("VEVENT", "VTODO"):
                continue
            self._exported_all_day(comp)
            uid = text_of(comp, "UID").strip()
            if not uid:
                uid = _synthetic_uid(comp)
                self.warnings.append(Notice("missing_uid", f"no UID; using {uid}"))
            groups[f"{comp.name}\x00{uid}"].append(comp)
        past = len(self.feed.past)  # events skipped unread count as done
        total = past + len(groups)
        for done, (key, comps) in enumerate(groups.items()):
            if progress is not None and not done % PROGRESS_EVERY:
                progress(past + done, total)
            uid = key.split("\x00", 1)[1]
            try:
                convert_series(self, Series(uid, comps))
            except Exception as exc:  # a bug or a component icalendar half-parsed
                self.skip(uid, "unsupported", f"could not convert: {type(exc).__name__}: {exc}")
        if progress is not None:
            progress(total, total)
        self._window_filter()
        self.timers.sort(key=lambda d: (d.next_occurrence, d.timer["id"]))
        dropped = dict(sorted(self.dropped.items()))
        return ConversionResult(self.timers, self.skipped, self.warnings, self.calendar, dropped)

    def _window_filter(self) -> None:
        """Leave out countdowns whose target falls outside the user's ``after``/``before``."""
        kept = []
        for draft in self.timers:
            why = window_filter(self.options.choices, draft.next_occurrence)
            if why is None:
                kept.append(draft)
                continue
            self.skipped.append(Skipped(draft.source.uid, FILTERED, why, timer_id=draft.id,
                                        label=str(draft.timer.get("label"))))
        self.timers = kept

    def _exported_all_day(self, comp: Component) -> None:
        """Our export's all-day event (``VALUE=DATE`` + ``X-TICKWARD-TIMEZONE``) → the timer
        it came from: the all-day time in that zone, as a zoned ``DTSTART``."""
        raw = dict.get(comp, "X-TICKWARD-TIMEZONE")
        if raw is None:
            return
        try:
            value = getattr(dict.get(comp, "DTSTART"), "dt", None)
        except Exception:  # icalendar raises its own errors on a broken DTSTART
            return
        if not isinstance(value, date) or isinstance(value, datetime):
            return
        name = iana_name(str(raw).strip())
        if name is None:
            return
        del comp["DTSTART"]
        comp.add("DTSTART", datetime.combine(value, self.options.all_day_time, zone(name)))
        comp.pop("DURATION", None)  # P1D of a date; the timer has no length

    def _count_dropped(self, comp: Component) -> None:
        """Note the properties of ``comp`` that no timer field carries (for ``--verbose``)."""
        if id(comp) in self._counted:
            return
        self._counted.add(id(comp))
        used = self._used
        for name in comp:
            if name not in used and not name.startswith("X-TICKWARD-"):
                self.dropped[name] += 1


def convert_calendar(
    data: DecodedFeed | bytes | str, options: ImportOptions, *, progress: Progress | None = None
) -> ConversionResult:
    """Convert a decoded feed (or raw bytes/text) into timer drafts; ``NotACalendarError``
    if it is no calendar. ``progress(done, total)`` is told, every ``PROGRESS_EVERY`` events
    and at the end, how many of the feed's events are converted (after it is read)."""
    text = data.text if isinstance(data, DecodedFeed) else data
    now = options.now if options.now.tzinfo is not None else None
    if options.choices.target != "start":
        now = None  # an event that started days ago may not have ended: parse every one
    prebuild = PlainBuilder() if options.fast_path else None
    with _collector_paused():
        feed = parse_feed(text, past_before=now, prebuild=prebuild)
        result = Converter(feed, options).run(progress)
        # Freed here by reference counting, not after the collector resumes: its first
        # (young) collection then walks the drafts only, not the feed's components and
        # the scanner's per-feed memos too (10,000 events: ~93,000 objects, not ~540,000).
        del feed, prebuild
    return result


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a feed is converted.

    A conversion allocates hundreds of thousands of small objects that live
    until it ends (a 10,000-event feed: ~540,000) and makes almost no cycles
    (~600 objects), so the collector's passes over them cost about an eighth
    of the CPU and free nearly nothing. Reference counting still frees
    everything else at once; the collector runs as usual afterwards.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        # Not freeze/unfreeze to spare the next young collection the drafts: objects moved
        # to the oldest generation that way never count towards a full collection, so a
        # daemon's cyclic garbage would stay for good (tests/convert/test_collector.py).
        gc.enable()


def _all_day(comp: Component) -> bool:
    prop = dict.get(comp, "DTSTART")
    if prop is None:
        prop = dict.get(comp, "DUE")
    value = getattr(prop, "dt", None)
    return isinstance(value, date) and not isinstance(value, datetime)


def _synthetic_uid(comp: Component) -> str:
    digest = hashlib.sha256()
    for name in ("DTSTART", "SUMMARY", "DTEND", "DUE", "RRULE"):
        digest.update(name.encode())
        prop = comp.get(name)
        if prop is not None and hasattr(prop, "to_ical"):
            try:
                digest.update(prop.to_ical())
            except Exception:
                pass
    return "nouid-" + digest.hexdigest()[:24]


def _calendar_color(cal: Component) -> str | None:
    for name in ("X-TICKWARD-COLOR", "COLOR", "X-APPLE-CALENDAR-COLOR"):
        raw = text_of(cal, name).strip()
        if raw:
            found = css_color_to_hex(raw)
            if found:
                return found
    return None


def _refresh_interval(cal: Component) -> timedelta | None:
    for name in ("REFRESH-INTERVAL", "X-PUBLISHED-TTL"):
        prop = cal.get(name)
        value = getattr(prop, "dt", None)
        if isinstance(value, timedelta) and value > timedelta(0):
            return value
        if prop is not None:
            try:
                from icalendar.prop import vDuration

                parsed = vDuration.from_ical(str(prop).strip())  # type: ignore[no-untyped-call]
            except Exception:
                continue
            if isinstance(parsed, timedelta) and parsed > timedelta(0):
                return parsed
    return None
