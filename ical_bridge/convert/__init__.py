"""The converter: iCalendar → tickward timer drafts (import) and timers → iCalendar (export).

Pure code: no network, no clock, no database; ``now`` is always a parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ical_bridge.convert.choices import EventChoices
from ical_bridge.convert.importer import convert_calendar
from ical_bridge.convert.jsonout import to_json, to_json_text
from ical_bridge.convert.model import (
    BRIDGE_ID_PREFIX,
    CalendarInfo,
    ConversionResult,
    ImportOptions,
    Notice,
    Skipped,
    SourceRef,
    TimerDraft,
    timer_id,
)

__all__ = [
    "BRIDGE_ID_PREFIX",
    "CalendarInfo",
    "ConversionResult",
    "EventChoices",
    "ImportOptions",
    "Notice",
    "Skipped",
    "SourceRef",
    "TimerDraft",
    "convert_calendar",
    "export_calendar",
    "timer_id",
    "to_json",
    "to_json_text",
]

if TYPE_CHECKING:
    from ical_bridge.convert.export import export_calendar


def __getattr__(name: str) -> Any:
    """Import the export direction on first use (``convert`` does not need it)."""
    if name == "export_calendar":
        from ical_bridge.convert.export import export_calendar

        return export_calendar
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
