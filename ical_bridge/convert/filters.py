"""Per-feed filters: include/exclude by summary regex, category and time window (issue 13, 5)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from ical_bridge.convert.choices import EventChoices
from ical_bridge.recurrence import format_utc

__all__ = ["FILTERED", "event_filter", "window_filter"]

FILTERED = "filtered"
"""The skip code of an event (or countdown) the user's filters leave out."""


def _folded(values: Iterable[str]) -> set[str]:
    return {v.strip().casefold() for v in values if v.strip()}


def event_filter(choices: EventChoices, summary: str, categories: Iterable[str]) -> str | None:
    """Why the user's summary/category filters leave this event out, or None."""
    text = " ".join(summary.split())
    if choices.include and not re.search(choices.include, text, re.IGNORECASE):
        return f"summary does not match include {choices.include!r}"
    if choices.exclude and re.search(choices.exclude, text, re.IGNORECASE):
        return f"summary matches exclude {choices.exclude!r}"
    cats = _folded(categories)
    if choices.include_categories and not cats & _folded(choices.include_categories):
        return f"no category among include_categories {list(choices.include_categories)}"
    hit = cats & _folded(choices.exclude_categories)
    if hit:
        return f"category {sorted(hit)[0]!r} is excluded"
    return None


def window_filter(choices: EventChoices, instant: datetime) -> str | None:
    """Why a countdown to ``instant`` falls outside the user's ``after``/``before``, or None."""
    if choices.after is not None and instant < choices.after:
        return f"{format_utc(instant)} is before {format_utc(choices.after)} (after)"
    if choices.before is not None and instant >= choices.before:
        return f"{format_utc(instant)} is not before {format_utc(choices.before)} (before)"
    return None
