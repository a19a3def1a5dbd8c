"""Per-event fields: label, description, colour, reminders, space."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from icalendar import Component

from ical_bridge.convert.colors import css_color_to_hex
from ical_bridge.convert.model import Notice

__all__ = [
    "MAX_DESCRIPTION",
    "MAX_LABEL",
    "MAX_REMINDERS",
    "MAX_REMINDER_MINUTES",
    "UNTITLED",
    "color_of",
    "description_of",
    "fit_label",
    "label_of",
    "listify",
    "pinned_of",
    "reminders_of",
    "server_trim",
    "space_of",
    "text_length",
    "text_of",
]

MAX_LABEL = 200
MAX_DESCRIPTION = 200
MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 40320
UNTITLED = "(untitled)"
_ELLIPSIS = "…"
# What tickward (Node) trims: String.prototype.trim's WhiteSpace and LineTerminator sets.
_JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def server_trim(text: str) -> str:
    """``text`` trimmed exactly as tickward trims ``label``/``description`` before storing."""
    return text.strip(_JS_SPACE)


def text_length(text: str) -> int:
    """Length as a JavaScript server counts it (UTF-16 code units): the stricter limit."""
    if text.isascii():
        return len(text)  # one unit each
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> str:
    """``text`` cut (with …) so that its trimmed form fits ``limit`` UTF-16 units."""
    room = limit - 1
    text = text[:room]  # a code point is at least one UTF-16 unit
    while text and text_length(text) > room:
        text = text[:-1]
    return server_trim(text) + _ELLIPSIS


def listify(value: object) -> list[Any]:
    """A property that may occur several times, always as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def text_of(comp: Component, name: str) -> str:
    """A text property as ``str`` ('' when absent or broken); ``name`` in upper case."""
    # a component keeps its property names in upper case (icalendar's CaselessDict)
    value = dict.get(comp, name)
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0] if value else ""
    try:
        return str(value)
    except Exception:
        return ""


def fit_label(base: str, suffix: str, warnings: list[Notice]) -> str:
    """``base + suffix`` cut to ≤ 200 chars (the cut goes into ``base``, with …)."""
    room = MAX_LABEL - text_length(suffix)
    if text_length(base) > room:
        warnings.append(
            Notice("label_truncated", f"label cut from {len(base)} to {MAX_LABEL} characters")
        )
        base = _cut(base, room)
    return server_trim(base + suffix)


def label_of(comp: Component, warnings: list[Notice], suffix: str = "") -> str:
    """SUMMARY trimmed and whitespace-folded, ≤ 200 chars; ``(untitled)`` when empty."""
    raw = text_of(comp, "SUMMARY")
    label = server_trim(" ".join(raw.split()))
    if not label:
        said = "no SUMMARY" if not raw else "the SUMMARY is only blanks"
        warnings.append(Notice("untitled", f"{said}; labelled {UNTITLED}"))
        label = UNTITLED
    return fit_label(label, suffix, warnings)


def description_of(comp: Component, warnings: list[Notice]) -> str | None:
    """DESCRIPTION trimmed, ≤ 200 chars; LOCATION and URL appended when they fit."""
    text = server_trim(text_of(comp, "DESCRIPTION"))
    if text_length(text) > MAX_DESCRIPTION:
        warnings.append(
            Notice(
                "description_truncated",
                f"description cut from {len(text)} to {MAX_DESCRIPTION} characters",
            )
        )
        text = _cut(text, MAX_DESCRIPTION)
    for extra in (server_trim(text_of(comp, "LOCATION")), server_trim(text_of(comp, "URL"))):
        if extra and extra not in text:
            joined = f"{text}\n{extra}" if text else extra
            if text_length(joined) <= MAX_DESCRIPTION:
                text = joined
    return server_trim(text) or None


def color_of(comp: Component, fallback: str | None, warnings: list[Notice]) -> str | None:
    """``#rrggbb`` from X-TICKWARD-COLOR, COLOR or X-APPLE-CALENDAR-COLOR, else ``fallback``."""
    for name in ("X-TICKWARD-COLOR", "COLOR", "X-APPLE-CALENDAR-COLOR"):
        raw = text_of(comp, name).strip()
        if not raw:
            continue
        hex_value = css_color_to_hex(raw)
        if hex_value is not None:
            return hex_value
        warnings.append(Notice("bad_color", f"{name} {raw[:40]!r} is not a colour; ignored"))
    return fallback


def pinned_of(comp: Component, *, use_priority: bool) -> bool | None:
    """``X-TICKWARD-PINNED`` (our export's own marker), else PRIORITY 1–4 when asked.

    ``None`` means the calendar says nothing, so the timer's pin is left alone.
    """
    marker = text_of(comp, "X-TICKWARD-PINNED").strip().upper()
    if marker in ("TRUE", "YES", "1"):
        return True
    if marker in ("FALSE", "NO", "0"):
        return False
    if use_priority:
        try:
            priority = int(str(dict.get(comp, "PRIORITY", "0")).strip() or "0")
        except ValueError:
            return None
        return 1 <= priority <= 4 or None
    return None


def space_of(comp: Component, mapping: Mapping[str, str]) -> str | None:
    """The space of the first CATEGORIES value the mapping knows (case-insensitive)."""
    if not mapping:
        return None
    folded = {k.casefold(): v for k, v in mapping.items()}
    values = dict.get(comp, "CATEGORIES")
    if values is None:
        return None
    for prop in values if isinstance(values, list) else [values]:
        cats = getattr(prop, "cats", None)
        for cat in cats if cats is not None else [prop]:
            space = folded.get(str(cat).strip().casefold())
            if space:
                return space
    return None


def _duration(comp: Component) -> timedelta:
    start: Any = getattr(dict.get(comp, "DTSTART"), "dt", None)
    end: Any = getattr(dict.get(comp, "DTEND") or dict.get(comp, "DUE"), "dt", None)
    length: Any = getattr(dict.get(comp, "DURATION"), "dt", None)
    try:
        if start is not None and end is not None and type(start) is type(end):
            found = end - start
            if isinstance(found, timedelta):
                return found
        if isinstance(length, timedelta):
            return length
        if isinstance(start, date) and not isinstance(start, datetime):
            return timedelta(days=1)
    except (TypeError, ValueError):
        pass
    return timedelta(0)


def reminders_of(
    comp: Component, start: datetime | None, warnings: list[Notice]
) -> list[dict[str, Any]]:
    """VALARM triggers → ≤ 5 unique minutes-before-start offsets in 0…40320.

    ``start`` is the instant of a one-off; ``None`` for a series, where an
    absolute trigger cannot be expressed relative to every occurrence.
    """
    offsets: set[int] = set()
    if not comp.subcomponents:
        return []  # most events: nothing to walk
    for alarm in comp.walk("VALARM"):
        action = text_of(alarm, "ACTION").strip().upper()
        if action not in ("DISPLAY", "AUDIO", "EMAIL", ""):
            continue
        trigger: Any = dict.get(alarm, "TRIGGER")
        value = getattr(trigger, "dt", None)
        if isinstance(value, timedelta):
            related = str(dict.get(trigger.params, "RELATED", "START")).upper()
            before = -value - (_duration(comp) if related == "END" else timedelta(0))
        elif isinstance(value, datetime) and start is not None and value.tzinfo is not None:
            before = start - value
        elif isinstance(value, datetime):
            warnings.append(
                Notice("alarm_absolute", "an absolute VALARM trigger on a series was dropped")
            )
            continue
        else:
            if trigger is not None:
                warnings.append(Notice("alarm_unreadable", "an unreadable VALARM was dropped"))
            continue
        minutes = round(before.total_seconds() / 60)
        if minutes < 0:
            warnings.append(
                Notice("alarm_after_start", "a VALARM firing after the start was dropped")
            )
        elif minutes > MAX_REMINDER_MINUTES:
            warnings.append(
                Notice("alarm_out_of_range", f"a VALARM {minutes} minutes ahead was dropped")
            )
        else:
            offsets.add(minutes)
    if len(offsets) > MAX_REMINDERS:
        warnings.append(
            Notice("alarms_truncated", f"{len(offsets)} alarms; the {MAX_REMINDERS} nearest kept")
        )
    return [{"offset_minutes": m} for m in sorted(offsets)[:MAX_REMINDERS]]
