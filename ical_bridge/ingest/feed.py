"""A calendar decoded once: its text for ``convert`` and its own metadata for the daemon.

The daemon reads a changed feed's bytes once (``decode_feed``) and hands the
result to the import pipeline; the converter parses the text, the scheduler
reads ``refresh_interval`` — nobody decodes the bytes a second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from icalendar.prop import vDuration

from ical_bridge.ingest.decode import decode_text

__all__ = ["DecodedFeed", "calendar_refresh", "decode_feed"]

_HEAD_CHARS = 65536  # calendar properties come first; this is plenty to find them


@dataclass(frozen=True)
class DecodedFeed:
    """Decoded iCalendar text plus calendar-level metadata read from it."""

    text: str
    refresh_interval: timedelta | None = None  # REFRESH-INTERVAL, else X-PUBLISHED-TTL


def decode_feed(data: bytes | str) -> DecodedFeed:
    """Decode ``data`` once (``NotACalendarError`` if it is no calendar) and read its metadata."""
    text = decode_text(data)
    return DecodedFeed(text, calendar_refresh(text))


def calendar_refresh(text: str | bytes) -> timedelta | None:
    """REFRESH-INTERVAL (RFC 7986) or X-PUBLISHED-TTL from the calendar's own properties."""
    if isinstance(text, bytes):
        text = text[:_HEAD_CHARS].decode("utf-8", "replace")
    head = text[:_HEAD_CHARS].replace("\r\n ", "").replace("\n ", "")
    found: dict[str, timedelta] = {}
    for raw in head.splitlines():
        line = raw.strip()
        upper = line.upper()
        if upper.startswith("BEGIN:") and upper != "BEGIN:VCALENDAR":
            break  # calendar properties come before the first component
        name, _, value = line.partition(":")
        key = name.split(";", 1)[0].upper()
        if key in ("REFRESH-INTERVAL", "X-PUBLISHED-TTL") and value:
            try:
                parsed = vDuration.from_ical(value.strip())  # type: ignore[no-untyped-call]
            except ValueError:
                continue
            if isinstance(parsed, timedelta):
                found[key] = parsed
    return found.get("REFRESH-INTERVAL") or found.get("X-PUBLISHED-TTL")
