"""Time zones: TZID → a zone tickward accepts, custom VTIMEZONE matching, wall clock → UTC.

A TZID is resolved in this order: an IANA name (vendor prefixes such as
``/mozilla.org/…/`` stripped, case and spaces forgiven) when the file has no
VTIMEZONE for it or names it exactly; a Windows name (CLDR table shipped with
icalendar); otherwise the file's own VTIMEZONE rules decide: the forgiven
name or ``X-LIC-LOCATION`` when their rules agree, else the IANA zone whose
offsets match over a horizon around ``now``.

What is sent is always a name the real tickward accepts (``ical_bridge.timezones``):
an alias with the same rules silently (``Asia/Kolkata`` → ``Asia/Calcutta``), an
accepted zone with the same offsets over the horizon with ``timezone_substituted``,
else ``UTC`` at the exact instant with ``timezone_fallback`` (a series then rolls).
"""

from __future__ import annotations

import bisect
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from dateutil.rrule import rrulestr
from icalendar import Component
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from ical_bridge.convert.model import Notice
from ical_bridge.recurrence import in_zone, wall_of, zone
from ical_bridge.timezones import accepted_name, describe_zone, equivalent_zone, is_accepted

__all__ = [
    "SUBSTITUTE_YEARS",
    "ResolvedZone",
    "ZoneResolver",
    "accepted_zone",
    "dst_spans",
    "iana_name",
    "local_to_utc",
    "transition_dates",
]

_HORIZON_BACK = timedelta(days=366)
_HORIZON_AHEAD = timedelta(days=3 * 366)
SUBSTITUTE_YEARS = 20
"""A substitute zone must match the source's offsets from last year to this many years ahead."""


@dataclass(frozen=True)
class ResolvedZone:
    """The IANA ``name`` sent to tickward and the ``tz`` used to compute instants."""

    name: str
    tz: tzinfo
    warning: Notice | None = None
    source: str = ""  # the zone as the file or user named it, for messages

    @property
    def label(self) -> str:
        """How messages name the zone: as written, with ``Etc/GMT-12`` explained."""
        return describe_zone(self.source or self.name)

    @property
    def exact(self) -> bool:
        """True when ``name`` describes the source zone exactly."""
        return isinstance(self.tz, ZoneInfo) and self.tz.key == self.name


def accepted_zone(resolved: ResolvedZone, now: datetime) -> ResolvedZone:
    """``resolved`` under a name tickward accepts, with the same instants (see the docstring)."""
    name = resolved.name
    if is_accepted(name):
        return resolved
    source = resolved.source or name
    exact = resolved.exact
    alias = accepted_name(name)
    if alias is not None:
        return ResolvedZone(alias, zone(alias) if exact else resolved.tz, resolved.warning, source)
    first, last = now.year - 1, now.year + SUBSTITUTE_YEARS
    substitute = equivalent_zone(name, first, last) if exact else None
    if substitute is not None:
        return ResolvedZone(
            substitute,
            zone(substitute),
            resolved.warning
            or Notice(
                "timezone_substituted",
                f"{describe_zone(name)} is not a zone tickward accepts; sent as {substitute}, "
                f"which has the same UTC offsets from {first} to {last}",
            ),
            source,
        )
    return ResolvedZone(
        "UTC",
        resolved.tz,
        resolved.warning
        or Notice(
            "timezone_fallback",
            f"no zone tickward accepts has the offsets of {describe_zone(name)}; "
            "times are kept exact and shown in UTC",
        ),
        source,
    )


@lru_cache(maxsize=1)
def _iana_by_lower() -> dict[str, str]:
    names = available_timezones() | {"UTC"}
    return {n.lower(): n for n in sorted(names)}


@lru_cache(maxsize=2048)
def iana_name(tzid: str) -> str | None:
    """The IANA name ``tzid`` denotes without a VTIMEZONE (Windows, vendor prefix…)."""
    text = tzid.strip().strip('"')
    # the common cases, spelled exactly, need no list of every zone (tzdata has all four)
    if text.lower() in ("utc", "etc/utc", "zulu", "etc/zulu"):
        return "UTC"
    if is_accepted(text):
        return text
    lower = _iana_by_lower()
    candidates = [text, text.strip("/")]
    if text in WINDOWS_TO_OLSON:
        candidates.append(WINDOWS_TO_OLSON[text])
    parts = text.strip("/").split("/")
    candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    for cand in candidates:
        for variant in (cand, cand.replace(" ", "_")):
            found = lower.get(variant.lower())
            if found is not None:
                return "UTC" if found.lower() in ("utc", "etc/utc", "zulu", "etc/zulu") else found
    if text.upper() in ("Z", "GMT", "UTC"):
        return "UTC"
    return None


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _sample_days(now: datetime) -> list[datetime]:
    start = (now - _HORIZON_BACK).replace(hour=12, minute=0, second=0, microsecond=0)
    return [start + timedelta(days=i) for i in range((_HORIZON_BACK + _HORIZON_AHEAD).days)]


def _offsets(tz: tzinfo, instants: list[datetime]) -> tuple[timedelta | None, ...]:
    return tuple(t.astimezone(tz).utcoffset() for t in instants)


@lru_cache(maxsize=4)
def _coarse_index(year: int) -> dict[tuple[timedelta | None, ...], list[str]]:
    probes = [datetime(year, m, 15, 12, tzinfo=UTC) for m in (1, 4, 7, 10)]
    index: dict[tuple[timedelta | None, ...], list[str]] = {}
    for name in sorted(available_timezones()):
        try:
            index.setdefault(_offsets(zone(name), probes), []).append(name)
        except KeyError:  # pragma: no cover - tzdata lists only loadable zones
            continue
    return index


OffsetAt = Callable[[datetime], "timedelta | None"]


def _offset_function(comp: Component, start: datetime, end: datetime) -> OffsetAt | None:
    """A fast UTC-instant → offset function from a VTIMEZONE's observances in a window."""
    changes: list[tuple[datetime, timedelta, timedelta]] = []
    try:
        for part in comp.subcomponents:
            if part.name not in ("STANDARD", "DAYLIGHT"):
                continue
            props: Any = part
            first: datetime = props["DTSTART"].dt.replace(tzinfo=None)
            offset_from: timedelta = props["TZOFFSETFROM"].td
            offset_to: timedelta = props["TZOFFSETTO"].td
            locals_: list[datetime] = [first]
            for rule in _as_list(dict.get(part, "RRULE")):
                text = rule.to_ical().decode()
                parsed = rrulestr(text, dtstart=_rebase(first, rule, start.year), ignoretz=True)
                window = (start - timedelta(days=800)).replace(tzinfo=None)
                locals_ += parsed.between(window, end.replace(tzinfo=None), inc=True)
            for rdates in _as_list(dict.get(part, "RDATE")):
                for item in rdates.dts:
                    value = item.dt[0] if isinstance(item.dt, tuple) else item.dt
                    if isinstance(value, datetime):
                        locals_.append(value.replace(tzinfo=None))
            for local in locals_:
                changes.append(((local - offset_from).replace(tzinfo=UTC), offset_from, offset_to))
    except Exception:  # a broken VTIMEZONE: no fast path
        return None
    if not changes:
        return None
    changes.sort(key=lambda c: c[0])
    keys = [c[0] for c in changes]
    before = changes[0][1]

    def offset_at(instant: datetime) -> timedelta | None:
        index = bisect.bisect_right(keys, instant) - 1
        return before if index < 0 else changes[index][2]

    return offset_at


def _rebase(first: datetime, rule: Any, year: int) -> datetime:
    """Move an old yearly observance start close to ``year`` (dateutil iterates from it)."""
    freq = str(dict.get(rule, "FREQ", [""])[0])
    simple = freq.upper() == "YEARLY" and not dict.get(rule, "COUNT")
    if not simple or _as_list(dict.get(rule, "INTERVAL", [1])) not in ([1], ["1"]):
        return first
    target = max(first.year, year - 2)
    try:
        return first.replace(year=target)
    except ValueError:  # Feb 29
        return first


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _slow_offsets(custom: tzinfo) -> OffsetAt:
    return lambda instant: instant.astimezone(custom).utcoffset()


def _same_rules(custom: OffsetAt, iana: ZoneInfo, days: list[datetime]) -> bool:
    """Offsets agree every third day and every hour around the days either changes."""
    previous: tuple[timedelta | None, timedelta | None] | None = None
    for index in range(0, len(days), 3):
        day = days[index]
        here = (custom(day), day.astimezone(iana).utcoffset())
        if here[0] != here[1]:
            return False
        if previous is not None and here != previous:
            for hour in range(-72, 1):
                probe = day + timedelta(hours=hour)
                if custom(probe) != probe.astimezone(iana).utcoffset():
                    return False
        previous = here
    return True


def _etc_name(offset: timedelta | None) -> str | None:
    if offset is None or offset % timedelta(hours=1):
        return None
    hours = int(offset / timedelta(hours=1))
    if hours == 0:
        return "UTC"
    name = f"Etc/GMT{-hours:+d}"  # POSIX sign: Etc/GMT-2 is two hours east
    return name if name in available_timezones() else None


class ZoneResolver:
    """Resolve TZIDs of one calendar (its VTIMEZONEs given) to IANA zones."""

    def __init__(self, vtimezones: list[Component], now: datetime) -> None:
        self._now = now
        self._components: dict[str, Component] = {}
        for comp in vtimezones:
            tzid = str(dict.get(comp, "TZID", "")).strip()
            if tzid:
                self._components.setdefault(tzid, comp)
        self._cache: dict[str, ResolvedZone | None] = {}

    def resolve(self, tzid: str) -> ResolvedZone | None:
        """The zone of ``tzid``; ``None`` when it is unknown and has no usable VTIMEZONE."""
        if tzid not in self._cache:
            found = self._resolve(tzid)
            if found is not None:
                source = found.source or tzid.strip()[:60]
                found = ResolvedZone(found.name, found.tz, found.warning, source)
                found = accepted_zone(found, self._now)
            self._cache[tzid] = found
        return self._cache[tzid]

    def named(self, name: str, source: str = "") -> ResolvedZone:
        """IANA zone ``name`` (as given by the user or our own export) under an accepted name."""
        return accepted_zone(ResolvedZone(name, zone(name), None, source or name), self._now)

    def _resolve(self, tzid: str) -> ResolvedZone | None:
        comp = self._components.get(tzid.strip())
        name = iana_name(tzid)
        if comp is None or (name is not None and _exactly_named(tzid, name)):
            # An IANA name written exactly is trusted over the VTIMEZONE beside it (as
            # calendar apps do); a forgiven one (case, spaces, Windows) only if its rules agree.
            return ResolvedZone(name, zone(name)) if name else None
        lic = dict.get(comp, "X-LIC-LOCATION")
        hints = [h for h in (name, iana_name(str(lic)) if lic else None) if h]
        days = _sample_days(self._now)
        offset_at = _offset_function(comp, days[0], days[-1])
        if offset_at is None:
            custom = self._custom_tz(comp)
            if custom is None:
                return ResolvedZone(hints[0], zone(hints[0])) if hints else None
            offset_at = _slow_offsets(custom)
        for hint in hints:
            if _same_rules(offset_at, zone(hint), days):
                return ResolvedZone(hint, zone(hint))
        match = self._match(tzid, offset_at, days)
        if match is not None:
            shown = accepted_zone(ResolvedZone(match, zone(match)), self._now).name
            differs = f" (its rules are not those of {name})" if name and name != match else ""
            return ResolvedZone(
                match,
                zone(match),
                Notice(
                    "timezone_guessed",
                    f"zone {_quoted(tzid)} is defined in the file{differs}; "
                    f"treated as {describe_zone(shown)}, which has the same rules",
                ),
            )
        custom = self._custom_tz(comp)
        if custom is None:
            return ResolvedZone(hints[0], zone(hints[0])) if hints else None
        return ResolvedZone(
            "UTC",
            custom,
            Notice(
                "timezone_approximated",
                f"zone {_quoted(tzid)} defined in the file matches no known zone; "
                "times are kept exact and shown in UTC",
            ),
        )

    def _custom_tz(self, comp: Component) -> tzinfo | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tz = comp.to_tz(lookup_tzid=False)  # type: ignore[attr-defined]
            self._now.astimezone(tz)
        except Exception:  # icalendar/dateutil raise many kinds on broken VTIMEZONEs
            return None
        return tz  # type: ignore[no-any-return]

    def _match(self, tzid: str, custom: OffsetAt, days: list[datetime]) -> str | None:
        probes = [datetime(self._now.year, m, 15, 12, tzinfo=UTC) for m in (1, 4, 7, 10)]
        try:
            key = tuple(custom(p) for p in probes)
        except Exception:
            return None
        candidates = [
            n
            for n in _coarse_index(self._now.year).get(key, [])
            if _same_rules(custom, zone(n), days)
        ]
        if not candidates:
            return None
        plain = _plain(tzid)
        named = [n for n in candidates if _plain(n.rsplit("/", 1)[-1]) in plain]
        if named:
            return named[0]
        offsets = {custom(d) for d in days}
        if len(offsets) == 1:
            etc = _etc_name(offsets.pop())
            if etc:
                return etc
        canonical = set(WINDOWS_TO_OLSON.values())
        preferred = [n for n in candidates if n in canonical]
        regular = [n for n in candidates if "/" in n and not n.startswith(("Etc/", "US/"))]
        return (preferred or regular or candidates)[0]


def local_to_utc(local: datetime, tz: tzinfo) -> tuple[datetime, Notice | None]:
    """A wall-clock time in ``tz`` → UTC per RFC 5545 (gap forward, overlap first); the
    time's own zone, if any, is not looked at."""
    early = in_zone(local, tz)
    offset = early.utcoffset()
    if offset is not None and offset == in_zone(local, tz, 1).utcoffset():
        moment = early - offset  # what astimezone(UTC) computes
        return datetime.combine(moment, moment.time(), UTC), None
    naive = wall_of(local) if local.tzinfo is not None else local
    instant = early.astimezone(UTC)
    back = instant.astimezone(tz).replace(tzinfo=None)
    if back != naive:
        return instant, Notice(
            "dst_gap", f"{naive:%Y-%m-%d %H:%M} does not exist in {_tzname(tz)}; moved forward"
        )
    return instant, Notice(
        "dst_ambiguous",
        f"{naive:%Y-%m-%d %H:%M} happens twice in {_tzname(tz)}; the first instant is used",
    )


def _tzname(tz: tzinfo) -> str:
    """A zone's name for messages; never a Python repr such as ``<tzicalvtz 'X'>``."""
    name = getattr(tz, "key", None) or getattr(tz, "_tzid", None)
    return describe_zone(str(name)) if name else "its zone"


def _quoted(tzid: str) -> str:
    return '"' + tzid.strip().strip('"')[:60] + '"'


def _exactly_named(tzid: str, name: str) -> bool:
    """True when ``tzid`` spells IANA zone ``name`` exactly (a vendor prefix allowed)."""
    text = tzid.strip().strip('"')
    return text == name or text.endswith("/" + name) or (name == "UTC" and text in _UTC_NAMES)


_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Zulu", "Etc/Zulu", "GMT", "Etc/GMT", "Z"})


_SCAN_DAYS = 4 * 366 + 8
"""One scan per zone and start date covers every horizon the converter asks about."""


@lru_cache(maxsize=1024)
def transition_dates(name: str, start: date, days: int) -> tuple[date, ...]:
    """Local dates in ``[start, start+days)`` on which zone ``name`` changes offset."""
    last = start + timedelta(days=days + 1)
    changes = _changes(name, start, max(days, _SCAN_DAYS))
    found = {d for day in changes if day <= last for d in (day - timedelta(days=1), day)}
    return tuple(sorted(found))


_Span = tuple[date, datetime, datetime]  # a date, the first wall clock in a span, the first after


def dst_spans(name: str, start: date, days: int) -> tuple[_Span, ...]:
    """Where zone ``name``'s wall clocks fall into a DST gap or overlap on the dates of
    ``transition_dates(name, start, days)``: ``(day, first, after)`` per date and span, in
    order, each wall clock ``first <= wall < after`` (naive, on ``day``) being one that
    ``is_dst_edge`` says is skipped or repeated, and no other wall clock of those dates.

    A slot meets a transition when it falls on such a day inside the span: a handful of
    comparisons per series instead of reading the zone for every transition day."""
    last = start + timedelta(days=days + 1)
    return tuple(span for change, span in _spans(name, start, max(days, _SCAN_DAYS))
                 if change <= last)  # fmt: skip


_HOUR = timedelta(hours=1)
_SECOND = timedelta(seconds=1)


@lru_cache(maxsize=256)
def _spans(name: str, start: date, days: int) -> tuple[tuple[date, _Span], ...]:
    """``dst_spans`` over a whole scan, each span with the change (``_changes``) it belongs
    to: for each change, the zone's transitions from two UTC days before it to two after
    (found hour by hour, then to the second), and of each transition at UTC instant ``T``
    from offset ``a`` to ``b`` the wall clocks ``[T + min(a, b), T + max(a, b))``: those a
    gap skips or an overlap repeats (PEP 495: their folds read different offsets), cut at
    midnight, on the change's two dates (``transition_dates``'s)."""
    tz = zone(name)

    def offset(moment: datetime) -> timedelta:
        found = moment.astimezone(tz).utcoffset()
        assert found is not None
        return found

    spans: list[tuple[date, _Span]] = []
    for change in _changes(name, start, days):
        dates = (change - timedelta(days=1), change)
        moment = datetime.combine(change - timedelta(days=2), datetime.min.time(), UTC)
        before = offset(moment)
        for _ in range(4 * 24):
            later = moment + _HOUR
            after = offset(later)
            if after != before:
                low, high = moment, later  # offset(low) == before, offset(high) == after
                while high - low > _SECOND:
                    middle = low + (high - low) / 2
                    middle = middle.replace(microsecond=0)
                    if middle == low:
                        break
                    if offset(middle) == before:
                        low = middle
                    else:
                        high = middle
                instant = high.replace(tzinfo=None)
                first, end = instant + min(before, after), instant + max(before, after)
                day = first.date()
                while datetime.combine(day, datetime.min.time()) < end:
                    midnight = datetime.combine(day, datetime.min.time())
                    if day in dates:
                        spans.append((change, (day, max(first, midnight),
                                               min(end, midnight + timedelta(days=1)))))
                    day += timedelta(days=1)
            moment, before = later, after
    return tuple(sorted(spans))


@lru_cache(maxsize=256)
def _changes(name: str, start: date, days: int) -> tuple[date, ...]:
    """The days in ``(start, start+days+1]`` whose midnight offset differs from the day before."""
    tz = zone(name)
    found: list[date] = []
    previous = datetime.combine(start, datetime.min.time(), tz).utcoffset()
    for i in range(1, days + 2):
        day = start + timedelta(days=i)
        offset = datetime.combine(day, datetime.min.time(), tz).utcoffset()
        if offset != previous:
            found.append(day)
        previous = offset
    return tuple(found)
