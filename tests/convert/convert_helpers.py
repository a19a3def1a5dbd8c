"""Shared helpers for the converter tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ical_bridge.convert import ConversionResult, ImportOptions, convert_calendar
from tests.conftest import SAMPLE_FEEDS

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
"""The day the sample feeds were written against."""


def convert_feed(name: str, **options: Any) -> ConversionResult:
    """Convert ``sample_feeds/<name>`` (``now`` defaults to ``NOW``)."""
    options.setdefault("now", NOW)
    return convert_calendar((SAMPLE_FEEDS / name).read_bytes(), ImportOptions(**options))


def convert_text(text: str, **options: Any) -> ConversionResult:
    """Convert inline iCalendar text (``now`` defaults to ``NOW``)."""
    options.setdefault("now", NOW)
    return convert_calendar(text.encode(), ImportOptions(**options))


def calendar(*events: str, header: str = "") -> str:
    """A VCALENDAR around ``events`` (each the lines of one VEVENT body)."""
    body = "".join(f"BEGIN:VEVENT\n{e.strip()}\nEND:VEVENT\n" for e in events)
    extra = f"{header.strip()}\n" if header.strip() else ""
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{extra}{body}END:VCALENDAR\n"


def by_label(result: ConversionResult) -> dict[str, Any]:
    """Drafts keyed by label (labels are unique in the sample feeds)."""
    return {d.timer["label"]: d for d in result.timers}


def codes(draft: Any) -> set[str]:
    """The warning codes of a draft."""
    return {w.code for w in draft.warnings}


def skipped(result: ConversionResult) -> dict[str, str]:
    """uid → skip code."""
    return {s.uid: s.code for s in result.skipped}
