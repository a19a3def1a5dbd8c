"""The user's per-event choices: reminders, notify, filters, target (one set for every entry).

``convert``, ``import`` and a feed's config keys all build one ``EventChoices``
(through ``parse_reminders``/``parse_instant``/``check_pattern`` here), so
``convert`` previews exactly what ``import`` and ``sync`` write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ical_bridge.errors import ConfigError, UserError
from ical_bridge.vocabulary import ALARM_CHOICES, TARGET_CHOICES, parse_duration

__all__ = [
    "MAX_REMINDERS",
    "MAX_REMINDER_MINUTES",
    "EventChoices",
    "check_pattern",
    "parse_instant",
    "parse_reminders",
]

MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 40320
"""tickward's reminder limits: ≤ 5 unique ``offset_minutes`` in 0…40320."""


@dataclass(frozen=True)
class EventChoices:
    """What the user chose per event; the defaults change nothing."""

    reminders: tuple[int, ...] = ()  # default reminders, minutes before the target
    all_day_reminders: tuple[int, ...] | None = None  # for all-day events; None → ``reminders``
    alarms: str = "keep"  # the producer's VALARMs: keep (else defaults) | drop | merge
    notify: bool | None = None  # None: on exactly when the timer has reminders
    include: str | None = None  # summary regex (case-insensitive): only matching events
    exclude: str | None = None  # summary regex: matching events are left out
    include_categories: tuple[str, ...] = ()
    exclude_categories: tuple[str, ...] = ()
    after: datetime | None = None  # countdowns whose target is before this are left out
    before: datetime | None = None  # … or at/after this
    target: str = "start"  # which instant of an event the countdown points at

    def __post_init__(self) -> None:
        if self.alarms not in ALARM_CHOICES:
            raise UserError(f"alarms must be one of {', '.join(ALARM_CHOICES)}")
        if self.target not in TARGET_CHOICES:
            raise UserError(f"target must be one of {', '.join(TARGET_CHOICES)}")
        for pattern in (self.include, self.exclude):
            check_pattern(pattern)
        for moment in (self.after, self.before):
            if moment is not None and moment.tzinfo is None:
                raise UserError("after/before must carry a time zone")

    def reminders_for(self, all_day: bool) -> tuple[int, ...]:
        """The default reminders of a timed or an all-day event."""
        if all_day and self.all_day_reminders is not None:
            return self.all_day_reminders
        return self.reminders


def _minutes(value: str | int) -> int:
    if isinstance(value, bool):
        raise UserError(f"{value!r} is not a reminder offset")
    if isinstance(value, int) or str(value).strip().isdigit():
        return int(value)  # a bare number counts minutes
    try:
        span = parse_duration(str(value))
    except ConfigError:
        raise UserError(f"{value!r} is not a reminder offset (use e.g. 15m, 1h, 1d)") from None
    if span % timedelta(minutes=1):
        raise UserError(f"{value!r}: reminder offsets are whole minutes")
    return int(span // timedelta(minutes=1))


def parse_reminders(values: object) -> tuple[int, ...]:
    """``["15m", "1d"]`` (or ``"15m,1d"``) → sorted unique minutes; tickward's limits enforced."""
    if values is None:
        return ()
    if isinstance(values, str):
        items: list[str | int] = [v for v in values.split(",") if v.strip()]
    elif isinstance(values, list | tuple):
        items = list(values)
    else:
        raise UserError("reminders must be a list like [\"15m\", \"1d\"]")
    found = sorted({_minutes(v) for v in items})
    if any(m < 0 or m > MAX_REMINDER_MINUTES for m in found):
        raise UserError(f"a reminder must be 0…{MAX_REMINDER_MINUTES} minutes (28 days) ahead")
    if len(found) > MAX_REMINDERS:
        raise UserError(f"at most {MAX_REMINDERS} different reminders")
    return tuple(found)


def parse_instant(value: str | date | None) -> datetime | None:
    """An ISO date or date-time for ``after``/``before`` (a date or a zone-less time is UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise UserError(f"{value!r} is not an ISO date or date-time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_pattern(pattern: str | None) -> str | None:
    """``pattern`` if it is a valid regular expression; ``UserError`` otherwise."""
    if pattern is None:
        return None
    try:
        re.compile(pattern)
    except re.error as exc:
        raise UserError(f"{pattern!r} is not a valid regular expression: {exc}") from None
    return pattern
