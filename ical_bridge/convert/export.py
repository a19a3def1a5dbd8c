"""tickward timers → one VCALENDAR (the export table of MAPPING.md).

Written by hand rather than through icalendar's serializer so that every
byte is under control: CRLF line ends, folding at 75 octets without
splitting a UTF-8 sequence, RFC 5545 text escaping and rule-based
VTIMEZONEs (see ``vtimezone``). The importer reads back exactly what is
written here: ``TZID`` of DTSTART, the RRULE slot, ``X-TICKWARD-COLOR`` and
one VALARM per reminder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from typing import Any
from zoneinfo import ZoneInfo

from ical_bridge.convert.colors import css_color_to_hex, nearest_css_name
from ical_bridge.convert.vtimezone import vtimezone_lines
from ical_bridge.recurrence import Slot, parse_iso, tickward_local_to_utc, zone

__all__ = [
    "PRODID",
    "export_calendar",
    "first_sequence",
    "first_slot",
    "fold_line",
    "format_duration",
]


def _version() -> str:
    # Read from the installed metadata: under some editable installs the
    # top-level package resolves as a namespace without ``__version__``.
    try:
        return metadata.version("ical-bridge")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


PRODID = f"-//ical-bridge//ical-bridge {_version()}//EN"

_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_ONE_MS = timedelta(milliseconds=1)
_KINDS = ("daily", "weekly", "monthly", "yearly")
_MIN_YEAR = 1900
# TEXT may not carry control characters (except HTAB); CR/LF become "\n" below.
_CONTROLS = {c: None for c in (*range(0x00, 0x09), *range(0x0B, 0x0D), *range(0x0E, 0x20), 0x7F)}
_MAX_YEARS_AHEAD = 50


def fold_line(line: str) -> bytes:
    """One content line, folded at 75 octets (never inside a UTF-8 sequence), CRLF-terminated."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return raw + b"\r\n"
    chunks: list[bytes] = []
    current = bytearray()
    limit = 75
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > limit:
            chunks.append(bytes(current))
            current = bytearray(b" ")
            limit = 75  # the leading space counts towards the 75 octets
        current += encoded
    chunks.append(bytes(current))
    return b"\r\n".join(chunks) + b"\r\n"


def _text(value: str) -> str:
    """RFC 5545 §3.3.11 TEXT escaping (control characters other than tab are dropped)."""
    return (
        value.translate(_CONTROLS)
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def format_duration(value: timedelta) -> str:
    """An RFC 5545 DURATION value, e.g. ``PT0S``, ``PT15M``, ``P1DT2H``, ``-PT5M``."""
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}P"
    if days:
        text += f"{days}D"
    clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    if clock:
        text += "T" + clock
    elif not days:
        text += "T0S"
    return text


def _utc(instant: datetime) -> str:
    return _local(instant.astimezone(UTC)) + "Z"


def _local(wall: datetime) -> str:
    # f-string formatting: strftime dominated the export profile
    return (
        f"{wall.year:04d}{wall.month:02d}{wall.day:02d}"
        f"T{wall.hour:02d}{wall.minute:02d}{wall.second:02d}"
    )


def _recurrence(timer: Mapping[str, Any]) -> tuple[str, bool] | None:
    rec = timer.get("recurrence")
    if not isinstance(rec, Mapping) or not rec.get("enabled") or rec.get("type") not in _KINDS:
        return None
    if timer.get("mode") == "since":
        return None
    return str(rec["type"]), bool(rec.get("lastDay")) and rec["type"] == "monthly"


def first_slot(target: datetime, tz: ZoneInfo, kind: str, last_day: bool) -> datetime:
    """Naive wall-clock time of a recurring timer's first tickward occurrence.

    That is the first slot whose instant is strictly after ``target − 1 ms``;
    it differs from ``target`` when the target has seconds (tickward drops
    them) or, with ``lastDay``, is not on a month's last day.
    """
    slot = Slot.of(target, tz, kind, last_day=last_day)  # type: ignore[arg-type]
    threshold = target - _ONE_MS
    for day in slot.local_dates(target.astimezone(tz).date() - timedelta(days=2)):
        wall = slot.wall_clock(day)
        if tickward_local_to_utc(wall, tz) > threshold:
            return wall
    raise AssertionError("unreachable: slots never run out")  # pragma: no cover


def _rrule(kind: str, last_day: bool, wall: datetime) -> str:
    if kind == "daily":
        return "FREQ=DAILY"
    if kind == "weekly":
        return f"FREQ=WEEKLY;BYDAY={_BYDAY[wall.weekday()]}"
    if kind == "monthly":
        return f"FREQ=MONTHLY;BYMONTHDAY={-1 if last_day else wall.day}"
    return f"FREQ=YEARLY;BYMONTH={wall.month};BYMONTHDAY={wall.day}"


def _zone_or_none(name: object) -> ZoneInfo | None:
    if not isinstance(name, str) or name in ("UTC", "Etc/UTC", "Z"):
        return None
    try:
        return zone(name)
    except KeyError:
        return None


class _Event:
    """One timer's DTSTART decision, made before the VTIMEZONEs are written."""

    def __init__(self, timer: Mapping[str, Any]) -> None:
        self.timer = timer
        self.target = parse_iso(str(timer["target_date"]))
        self.tz = _zone_or_none(timer.get("timezone"))
        self.recurrence = _recurrence(timer)
        self.wall: datetime | None = None  # naive local DTSTART, None → UTC
        self.day: date | None = None  # an all-day event (VALUE=DATE): see _all_day
        if self.tz is None:
            if self.recurrence is not None:  # a UTC slot: drop seconds like tickward does
                self.target = first_slot(self.target, ZoneInfo("UTC"), *self.recurrence)
                self.target = self.target.replace(tzinfo=UTC)
            self.day = _all_day(timer, self.target.replace(tzinfo=None))
            return
        if self.recurrence is not None:
            self.wall = first_slot(self.target, self.tz, *self.recurrence)
            self.day = _all_day(timer, self.wall)
            return
        local = self.target.astimezone(self.tz).replace(tzinfo=None, microsecond=0)
        # A one-off in the second half of a fall-back overlap cannot be said
        # with a TZID (RFC 5545 reads the first instance): keep it in UTC.
        if local.replace(tzinfo=self.tz, fold=0).astimezone(UTC) == self.target.replace(
            microsecond=0
        ):
            self.wall = local
            self.day = _all_day(timer, local)

    @property
    def zone_name(self) -> str | None:
        # all-day events keep their zone's VTIMEZONE too: X-TICKWARD-TIMEZONE names it
        return str(self.timer["timezone"]) if self.wall is not None else None

    def year(self) -> int:
        return self.wall.year if self.wall is not None else self.target.year

    def lines(
        self,
        *,
        project_id: str,
        stamp: str,
        duration: str,
        share_url: str | None,
        sequence: int | None = None,
    ) -> list[str]:
        t = self.timer
        lines = ["BEGIN:VEVENT", f"UID:{t['id']}@{project_id}.tickward", f"DTSTAMP:{stamp}"]
        if self.day is not None:
            lines.append(f"DTSTART;VALUE=DATE:{self.day:%Y%m%d}")
            lines.append(f"X-TICKWARD-TIMEZONE:{t['timezone']}")  # whose midnight it is
            lines.append("DURATION:P1D")
        elif self.wall is not None:
            lines.append(f"DTSTART;TZID={t['timezone']}:{_local(self.wall)}")
        else:
            lines.append(f"DTSTART:{_utc(self.target)}")
            if self.tz is not None:  # a UTC DTSTART for an overlap instant: keep the zone too
                lines.append(f"X-TICKWARD-TIMEZONE:{t['timezone']}")
        if self.day is None:
            lines.append(f"DURATION:{duration}")
        if self.recurrence is not None:
            kind, last_day = self.recurrence
            anchor = self.wall if self.wall is not None else self.target
            lines.append(f"RRULE:{_rrule(kind, last_day, anchor)}")
        lines.append(f"SUMMARY:{_text(str(t.get('label') or ''))}")
        if t.get("description"):
            lines.append(f"DESCRIPTION:{_text(str(t['description']))}")
        created, updated = _instant(t.get("created_at")), _instant(t.get("updated_at"))
        if created is not None:
            lines.append(f"CREATED:{_utc(created)}")
        if updated is not None:
            lines.append(f"LAST-MODIFIED:{_utc(updated)}")
        if sequence is None:
            sequence = first_sequence(t.get("created_at"), t.get("updated_at"))
        lines.append(f"SEQUENCE:{sequence}")
        color = css_color_to_hex(str(t["color"])) if t.get("color") else None
        if color is not None:
            lines.append(f"COLOR:{nearest_css_name(color)}")
            lines.append(f"X-TICKWARD-COLOR:{color}")
        if t.get("archived_at"):
            lines.append("STATUS:CANCELLED")
        if t.get("pinned"):
            lines.append("X-TICKWARD-PINNED:TRUE")
        if t.get("mode") == "since":
            lines.append("X-TICKWARD-MODE:since")
        if share_url and "\n" not in share_url and "\r" not in share_url:
            lines.append(f"URL:{share_url}")
        if t.get("notify"):
            lines += _alarms(t.get("reminders") or (), str(t.get("label") or ""))
        lines.append("END:VEVENT")
        return lines


def _all_day(timer: Mapping[str, Any], wall: datetime) -> date | None:
    """The day of a timer that came from an all-day event, else ``None``.

    tickward has no all-day flag; the import puts an all-day date at 00:00 in its
    zone, so a timer at exactly local midnight is written back as ``VALUE=DATE``
    (a countdown to midnight is the start of that day either way). A count-up
    anchor stays an instant.
    """
    if timer.get("mode") == "since" or wall.time() != datetime.min.time():
        return None
    return wall.date()


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def first_sequence(created_at: object, updated_at: object) -> int:
    """The stateless SEQUENCE: 0 for a timer never edited since creation, else 1.

    Used where no state store counts edits (``store.sequences`` does, and starts there).
    """
    created, updated = _instant(created_at), _instant(updated_at)
    if created is None or updated is None or updated <= created:
        return 0
    return 1


def _alarms(reminders: Iterable[Any], label: str) -> list[str]:
    offsets: list[int] = []
    for reminder in reminders:
        minutes = reminder.get("offset_minutes") if isinstance(reminder, Mapping) else None
        if isinstance(minutes, int) and minutes >= 0 and minutes not in offsets:
            offsets.append(minutes)
    lines: list[str] = []
    for minutes in sorted(offsets):
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"TRIGGER:-PT{minutes}M",
            f"DESCRIPTION:{_text(label or 'Reminder')}",
            "END:VALARM",
        ]
    return lines


def export_calendar(
    timers: Sequence[Mapping[str, Any]],
    *,
    project_id: str,
    calendar_name: str,
    now: datetime,
    duration: timedelta = timedelta(0),
    refresh_interval: timedelta = timedelta(hours=1),
    include_archived: bool = False,
    share_urls: Mapping[str, str] | None = None,
    sequences: Mapping[str, int] | None = None,
) -> bytes:
    """Write tickward Timer objects as one RFC 5545 VCALENDAR (UTF-8, CRLF, folded).

    Objects that are not usable timers (no ``id`` or ``target_date``, a date
    out of range) are left out rather than failing the whole calendar.
    ``sequences`` (timer id → edit count, kept by the state store) sets each
    event's SEQUENCE; a timer missing from it gets ``first_sequence``.
    """
    events: list[_Event] = []
    for timer in timers:
        if timer.get("archived_at") and not include_archived:
            continue
        try:
            events.append(_Event(timer))
        except (KeyError, TypeError, ValueError, OverflowError):
            continue  # not a usable Timer object (no id/target_date, or out of range): skip it
    events.sort(key=lambda e: str(e.timer["id"]))
    years: dict[str, set[int]] = {}
    for event in events:
        if event.zone_name is not None:
            years.setdefault(event.zone_name, set()).add(event.year())
    zones_used = {str(e.timer.get("timezone")) for e in events}
    refresh = format_duration(refresh_interval)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_text(calendar_name)}",
        f"NAME:{_text(calendar_name)}",
        f"REFRESH-INTERVAL;VALUE=DURATION:{refresh}",
        f"X-PUBLISHED-TTL:{refresh}",
    ]
    if len(zones_used) == 1:
        lines.append(f"X-WR-TIMEZONE:{zones_used.pop()}")
    this_year = now.astimezone(UTC).year
    for name in sorted(years):
        # Bounded so that a timer dated in year 1 or 9999 cannot make the scan huge.
        last = min(max(max(years[name]), this_year) + 1, this_year + _MAX_YEARS_AHEAD)
        first = min(max(min(min(years[name]), this_year), _MIN_YEAR), last)
        lines += vtimezone_lines(name, first, last)
    stamp = _utc(now)
    length = format_duration(duration)
    urls = share_urls or {}
    for event in events:
        lines += event.lines(
            project_id=project_id,
            stamp=stamp,
            duration=length,
            share_url=urls.get(str(event.timer["id"])),
            sequence=(sequences or {}).get(str(event.timer["id"])),
        )
    lines.append("END:VCALENDAR")
    return b"".join(fold_line(line) for line in lines)


