"""The converter's inputs and outputs: options, timer drafts, warnings, skips."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from types import MappingProxyType
from typing import Any

from ical_bridge.convert.choices import EventChoices
from ical_bridge.ingest.decode import Notice
from ical_bridge.vocabulary import STRATEGIES

__all__ = [
    "BRIDGE_ID_PREFIX",
    "SKIP_CODES",
    "STRATEGIES",
    "CalendarInfo",
    "ConversionResult",
    "ImportOptions",
    "Notice",
    "Skipped",
    "SourceRef",
    "TimerDraft",
    "timer_id",
]

BRIDGE_ID_PREFIX = "icb_"
"""Every timer id the bridge creates starts with this."""
SKIP_CODES = ("past", "cancelled", "outside_window", "ended", "unsupported", "filtered")
"""Codes a ``Skipped`` entry can carry."""

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class ImportOptions:
    """How to convert: ``now`` is injected, never read from a clock."""

    now: datetime
    default_tz: str | None = None  # --tz / a feed's timezone: floating and all-day times
    strategy: str = "auto"
    window: timedelta = timedelta(days=90)
    all_day_time: time = time(0, 0)
    include_todos: bool = False
    categories_to_spaces: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    source_key: str = ""
    split_cap: int = 7
    pin_priority: bool = False  # PRIORITY 1–4 pins the timer (X-TICKWARD-PINNED always does)
    local_tz: str | None = None  # the user's own zone, a guess used after default_tz; else UTC
    fast_path: bool = True  # False: every series through the full expander (equivalence tests)
    choices: EventChoices = field(default_factory=EventChoices)  # reminders, filters, target


@dataclass(frozen=True)
class Skipped:
    """Something that produced no timer (a component, or a draft the plan left out), and why.

    ``warnings`` carries the event's own problems (bad RRULE, DTEND before DTSTART, …).
    """

    uid: str | None
    code: str
    message: str
    timer_id: str | None = None
    label: str | None = None
    warnings: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class SourceRef:
    """Where a draft came from: UID, RECURRENCE-ID (ISO) and split part."""

    uid: str
    recurrence_id: str | None
    part: int


@dataclass
class TimerDraft:
    """One timer the import would create, as a ``TimerCreateRequest`` body."""

    timer: dict[str, Any]
    source: SourceRef
    strategy: str
    next_occurrence: datetime
    series_end: datetime | None = None
    warnings: list[Notice] = field(default_factory=list)

    @property
    def id(self) -> str:
        """The timer id (deterministic, ``icb_…``)."""
        return str(self.timer["id"])


@dataclass(frozen=True)
class CalendarInfo:
    """Calendar-level facts: name, colour (#rrggbb), zone, refresh interval."""

    name: str | None = None
    color: str | None = None
    timezone: str | None = None
    refresh_interval: timedelta | None = None


@dataclass
class ConversionResult:
    """Everything one conversion produced."""

    timers: list[TimerDraft]
    skipped: list[Skipped]
    warnings: list[Notice]
    calendar: CalendarInfo
    # properties of converted components that tickward has no place for → how many components
    dropped: dict[str, int] = field(default_factory=dict)


def timer_id(source_key: str, uid: str, recurrence_id: str | None, part: int) -> str:
    """The deterministic bridge id of a draft: ``icb_`` + 32 hex chars of sha256."""
    pieces: list[bytes] = []
    for piece in (source_key, uid, recurrence_id or "", str(part)):
        encoded = piece.encode("utf-8", "surrogatepass")
        pieces += (len(encoded).to_bytes(8, "big"), encoded)
    return BRIDGE_ID_PREFIX + hashlib.sha256(b"".join(pieces)).hexdigest()[:32]
