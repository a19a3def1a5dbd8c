"""When an iCalendar date-time happens: its zone, wall clock and UTC instant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Component

from ical_bridge.convert.model import Notice
from ical_bridge.convert.zones import ResolvedZone, ZoneResolver, iana_name, local_to_utc
from ical_bridge.recurrence import wall_of, zone

__all__ = ["Clockwork", "When"]

_UTC = ResolvedZone("UTC", zone("UTC"))


@dataclass
class When:
    """A resolved start: naive ``wall`` clock in ``zone``, UTC ``instant``."""

    wall: datetime
    zone: ResolvedZone
    instant: datetime
    is_date: bool
    warnings: list[Notice] = field(default_factory=list)


class Clockwork:
    """Resolves the date-times of one calendar (its zones, X-WR-TIMEZONE, defaults)."""

    def __init__(
        self,
        resolver: ZoneResolver,
        *,
        x_wr_timezone: str | None,
        default_tz: str | None,
        all_day_time: time,
        local_tz: str | None = None,
    ) -> None:
        self.resolver = resolver
        self.all_day_time = all_day_time
        self.x_wr: ResolvedZone | None = None
        if x_wr_timezone:
            self.x_wr = resolver.resolve(x_wr_timezone)
        self.default: ResolvedZone | None = None
        if default_tz:
            name = iana_name(default_tz)
            if name is None:
                raise KeyError(default_tz)
            self.default = resolver.named(name, default_tz)
        self._targets: dict[tzinfo, object] = {}  # IANA zone → the zone ``when`` reads it in
        self._recent: dict[tuple[Any, ...], When] = {}  # see ``when``
        local = iana_name(local_tz) if local_tz else None
        self.local: ResolvedZone | None = resolver.named(local, local_tz or "") if local else None

    @property
    def calendar_zone(self) -> ResolvedZone:
        """The zone of all-day dates and floating times: X-WR-TIMEZONE, else the default
        (``--tz``, a feed's ``timezone``), else the local zone, else UTC."""
        return self.x_wr or self.default or self.local or _UTC

    @property
    def guessed(self) -> bool:
        """True when neither the calendar nor the user named the zone of floating times."""
        return self.x_wr is None and self.default is None

    def _guess(self, warnings: list[Notice], code: str, what: str) -> ResolvedZone:
        chosen = self.calendar_zone
        if chosen.warning is not None:  # e.g. --tz Etc/GMT-12 sent as an accepted substitute
            warnings.append(chosen.warning)
        if self.guessed:
            whose = "the local zone" if self.local is not None else "no local zone is known"
            warnings.append(
                Notice(code, f"{what} read in {chosen.label} ({whose}; --tz or a feed's "
                              "timezone sets another)")
            )
        return chosen

    def floating_zone(self, warnings: list[Notice], what: str) -> ResolvedZone:
        """The zone of a floating time; warns when it is a guess (local zone or UTC)."""
        return self._guess(warnings, "floating_time", f"{what}: a floating time is")

    def when(self, value: date | datetime, tzid: str | None, what: str = "DTSTART") -> When:
        """Resolve a DTSTART-like value (``tzid`` from its TZID parameter).

        A series asks about its DTSTART several times (its end check, its strategy, its
        expander): the last few answers are kept. The key holds the zone object and the
        fold beside the value, because aware values of one zone compare by wall clock
        without their fold, and values of two zones by instant. Nobody changes a
        ``When`` (its warnings are copied by whoever adds to them).
        """
        key = (value, getattr(value, "tzinfo", None), getattr(value, "fold", 0), tzid, what)
        found = self._recent.get(key)
        if found is None:
            if len(self._recent) >= _RECENT:
                self._recent.clear()
            found = self._recent[key] = self._when(value, tzid, what)
        return found

    def _when(self, value: date | datetime, tzid: str | None, what: str) -> When:
        warnings: list[Notice] = []
        if not isinstance(value, datetime):
            resolved = self._guess(warnings, "all_day_zone_guessed", f"{what}: an all-day date is")
            wall = datetime.combine(value, self.all_day_time)
            return self._at(wall, resolved, True, warnings)
        if tzid:
            found = self.resolver.resolve(tzid)
            if found is not None:
                if found.warning is not None:
                    warnings.append(found.warning)
                if value.tzinfo is not None and not found.exact:
                    # Custom zone kept for the instant; the wall clock is the file's.
                    wall = wall_of(value)
                    return self._at(wall, found, False, warnings)
                return self._at(wall_of(value), found, False, warnings)
            warnings.append(
                Notice("unknown_timezone", f"{what}: unknown TZID {tzid[:60]!r}; read as floating")
            )
            return self._at(
                value.replace(tzinfo=None), self.floating_zone(warnings, what), False, warnings
            )
        if value.tzinfo is None:
            return self._at(value, self.floating_zone(warnings, what), False, warnings)
        if value.utcoffset() == _ZERO and _is_utc(value.tzinfo):
            instant = value.astimezone(UTC)
            shown = self.x_wr or _UTC
            return When(
                instant.astimezone(shown.tz).replace(tzinfo=None), shown, instant, False, warnings
            )
        key = getattr(value.tzinfo, "key", None)
        if isinstance(value.tzinfo, ZoneInfo) and key:
            resolved = self.resolver.named(iana_name(key) or "UTC", key)
            if resolved.warning is not None:
                warnings.append(resolved.warning)
            return self._at(wall_of(value), resolved, False, warnings)
        instant = value.astimezone(UTC)
        shown = self.x_wr or self.default or self.local or _UTC
        return When(
            instant.astimezone(shown.tz).replace(tzinfo=None), shown, instant, False, warnings
        )

    def instant(self, value: date) -> datetime:
        """``when(value, None).instant``: quicker for a date-time in an IANA zone, whose
        resolution is looked up once per zone instead of once per value."""
        if not isinstance(value, datetime):
            return self.when(value, None).instant
        tz = value.tzinfo
        if not isinstance(tz, ZoneInfo) or not tz.key:
            return self.when(value, None).instant
        target = self._targets.get(tz, _UNSEEN)
        if target is _UNSEEN:
            if _is_utc(tz) and value.utcoffset() == _ZERO:
                target = None  # UTC: the instant itself
            else:
                target = self.resolver.named(iana_name(tz.key) or "UTC", tz.key).tz
            self._targets[tz] = target
        if target is None:
            return value.astimezone(UTC)
        return local_to_utc(value, target)[0]  # type: ignore[arg-type]

    def normalize(self, comp: Component) -> None:
        """Give zoned values of ``comp`` the IANA zone their TZID resolves to.

        icalendar keeps a custom (dateutil) zone for a TZID with a VTIMEZONE,
        e.g. Outlook's ``W. Europe Standard Time``; those are slow and
        recurring-ical-events would expand in them. When the resolver matched
        the TZID to an IANA zone with the same rules, use that zone instead.
        """
        for name in ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "EXDATE", "RDATE"):
            values = dict.get(comp, name)
            if values is None:
                continue
            for prop in values if isinstance(values, list) else [values]:
                self._swap(prop)

    def _swap(self, prop: object) -> bool:
        params = getattr(prop, "params", None)
        tzid = dict.get(params, "TZID") if params is not None else None
        if not tzid:
            return False
        found = self.resolver.resolve(str(tzid))
        if found is None or not found.exact:
            return False
        items = getattr(prop, "dts", None)
        targets = items if items is not None else [prop]
        changed = False
        item: Any
        for item in targets:
            value = getattr(item, "dt", None)
            if isinstance(value, datetime) and value.tzinfo is not None:
                if value.tzinfo is not found.tz:
                    item.dt = value.replace(tzinfo=found.tz)
                    changed = True
        return changed

    def when_of(self, comp: Component, name: str = "DTSTART") -> When | None:
        """Resolve property ``name`` of ``comp``; ``None`` when absent or broken."""
        prop = dict.get(comp, name)  # its keys are upper case, as ``name`` is
        value = getattr(prop, "dt", None)
        if not isinstance(value, date):
            return None
        tzid = dict.get(prop.params, "TZID") if prop is not None else None
        if name == "DTSTART":
            return self.start_of(comp, value, str(tzid) if tzid else None)
        return self.when(value, str(tzid) if tzid else None, name)

    def start_of(self, comp: Component, value: date, tzid: str | None) -> When:
        """``when_of(c)`` for a copy ``c`` of ``comp`` with DTSTART ``value`` (TZID ``tzid``)
        and otherwise ``comp``'s properties, without making the copy."""
        return self._tickward_zone(comp, self.when(value, tzid, "DTSTART"))

    def _tickward_zone(self, comp: Component, found: When) -> When:
        """Honour our exporter's ``X-TICKWARD-TIMEZONE`` on a UTC ``DTSTART``.

        The exporter writes an instant in the second half of a fall-back hour in
        UTC (a TZID would mean the first instance) and names the zone beside it.
        """
        raw = dict.get(comp, "X-TICKWARD-TIMEZONE")
        if raw is None or found.is_date or found.zone.name != "UTC":
            return found
        name = iana_name(str(raw).strip())
        if name is None or name == "UTC":
            return found
        resolved = self.resolver.named(name)
        wall = found.instant.astimezone(resolved.tz).replace(tzinfo=None)
        return When(wall, resolved, found.instant, False, found.warnings)

    @staticmethod
    def _at(wall: datetime, resolved: ResolvedZone, is_date: bool, warnings: list[Notice]) -> When:
        instant, warning = local_to_utc(wall, resolved.tz)
        if warning is not None:
            warnings.append(warning)
        return When(wall, resolved, instant, is_date, warnings)


_ZERO = datetime(2000, 1, 1, tzinfo=UTC).utcoffset()
_RECENT = 64
_UNSEEN = object()


def _is_utc(tz: tzinfo) -> bool:
    name = (getattr(tz, "key", None) or tz.tzname(None) or "").upper()
    return name in ("UTC", "Z", "ETC/UTC", "GMT", "ETC/GMT", "ZULU") or tz is UTC
