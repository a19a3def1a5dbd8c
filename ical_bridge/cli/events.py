"""How the CLI names an event it skipped: its summary and ISO start date, not just a UID.

Dates in messages are shown in one format (ISO 8601: ``2026-03-01 17:00Z``),
whatever form the calendar or the converter used.
"""

from __future__ import annotations

import re

from ical_bridge.convert import Skipped
from ical_bridge.ingest.decode import decode_text, scan_components

__all__ = ["EventIndex", "event_index", "iso_dates", "skip_line"]

EventIndex = dict[str, tuple[str, str]]  # uid → (summary, ISO date of DTSTART)

_BASIC = re.compile(r"\b(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?\b")


def _iso(match: re.Match[str]) -> str:
    year, month, day, hour, minute, second, zulu = match.groups()
    date = f"{year}-{month}-{day}"
    if hour is None:
        return date
    clock = f"{hour}:{minute}" + (f":{second}" if second != "00" else "")
    return f"{date} {clock}{zulu}"


def iso_dates(text: str) -> str:
    """``20260301T170000Z`` → ``2026-03-01 17:00Z`` (and ``20260301`` → ``2026-03-01``)."""
    return _BASIC.sub(_iso, text)


def event_index(data: bytes) -> EventIndex:
    """Summary and start date of every component with a UID (first one wins)."""
    index: EventIndex = {}
    try:
        scan = scan_components(decode_text(data))
    except Exception:
        return index
    for component in scan.components:
        if not component.uid or component.uid in index:
            continue
        summary, start = "", ""
        for line in component.lines[1:]:
            name = line.split(":", 1)[0].split(";", 1)[0].upper()
            value = line.partition(":")[2].strip()
            if name == "SUMMARY" and not summary:
                summary = value.replace("\\,", ",").replace("\\;", ";")
            elif name in ("DTSTART", "DUE") and not start:
                found = _BASIC.search(value)
                start = f"{found.group(1)}-{found.group(2)}-{found.group(3)}" if found else ""
            elif name == "BEGIN":
                break  # a nested component (VALARM): its properties are not the event's
        index[component.uid] = (summary, start)
    return index


def skip_line(skip: Skipped, index: EventIndex) -> str:
    """``x@y: past — "Spring brunch" (2026-03-01): 2026-03-01 17:00Z is in the past``."""
    summary, start = index.get(skip.uid or "", ("", ""))
    name = skip.label or summary
    what = f'"{name}"' if name else ""
    if start:
        what = f"{what} ({start})" if what else start
    ident = skip.uid or skip.timer_id or (f'"{name}"' if name else "an event")
    shown = f" — {what}" if what and what != ident else ""
    return f"{ident}: {skip.code}{shown}: {iso_dates(skip.message)}"
