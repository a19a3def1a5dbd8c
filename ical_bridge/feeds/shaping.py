"""Shaping an exported calendar so every calendar app takes it.

- **Size.** Google Calendar stops reading subscribed feeds past about 1 MB, so
  a calendar is kept under ``max_bytes`` (default ``DEFAULT_MAX_BYTES``): the
  oldest archived timers go first, then past one-off timers (oldest first),
  and only then upcoming ones (the furthest first). What was left out is
  reported, never silent.
- **Refresh hints.** ``REFRESH-INTERVAL`` / ``X-PUBLISHED-TTL`` (and the feed
  server's ``Cache-Control``) shrink as the next target approaches, so a
  client comes back soon after it passes (when a rolling timer moves on)
  instead of up to a whole interval later; never below ``MIN_REFRESH``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ical_bridge.recurrence import parse_iso

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MIN_REFRESH",
    "Fitted",
    "fit_calendar",
    "next_target",
    "refresh_for",
]

DEFAULT_MAX_BYTES = 1_000_000
MIN_REFRESH = timedelta(minutes=15)
_AFTER_TARGET = timedelta(minutes=1)  # come back just after the target, not just before

TimerJson = Mapping[str, Any]


@dataclass(frozen=True)
class Fitted:
    """A rendered calendar and what was left out of it to respect the size cap."""

    body: bytes
    dropped: dict[str, int] = field(default_factory=dict)  # archived | past | upcoming → count

    @property
    def dropped_total(self) -> int:
        """How many timers were left out."""
        return sum(self.dropped.values())

    def describe(self, max_bytes: int) -> str:
        """One line for logs and stderr (empty when nothing was left out)."""
        if not self.dropped_total:
            return ""
        parts = ", ".join(f"{n} {kind}" for kind, n in self.dropped.items() if n)
        return f"{self.dropped_total} timer(s) left out to stay under {max_bytes} bytes ({parts})"


def _instant(timer: TimerJson, key: str) -> datetime | None:
    value = timer.get(key)
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def _occurrence(timer: TimerJson) -> datetime | None:
    return _instant(timer, "effective_target_date") or _instant(timer, "target_date")


def _repeats(timer: TimerJson) -> bool:
    recurrence = timer.get("recurrence")
    return isinstance(recurrence, Mapping) and bool(recurrence.get("enabled"))


def next_target(timers: Sequence[TimerJson], now: datetime) -> datetime | None:
    """The earliest occurrence after ``now`` among live timers (None: nothing ahead)."""
    ahead = [
        when
        for t in timers
        if not t.get("archived_at") and (when := _occurrence(t)) is not None and when > now
    ]
    return min(ahead, default=None)


def refresh_for(refresh: timedelta, upcoming: datetime | None, now: datetime) -> timedelta:
    """The refresh hint: ``refresh``, shortened to just after the next target when sooner."""
    if upcoming is None:
        return refresh
    until = upcoming - now + _AFTER_TARGET
    minutes = math.ceil(until.total_seconds() / 60)
    return min(refresh, max(MIN_REFRESH, timedelta(minutes=minutes)))


def _drop_order(timers: Sequence[TimerJson], now: datetime) -> list[tuple[str, int]]:
    """``(kind, index)`` in the order timers give way: archived, past, furthest upcoming."""
    far = datetime.max.replace(tzinfo=now.tzinfo)
    archived, past, upcoming = [], [], []
    for i, t in enumerate(timers):
        when = _occurrence(t) or far
        if t.get("archived_at"):
            archived.append((_instant(t, "archived_at") or when, i))
        elif not _repeats(t) and when <= now:
            past.append((when, i))
        else:
            upcoming.append((when, i))
    archived.sort()
    past.sort()
    upcoming.sort(reverse=True)
    return (
        [("archived", i) for _, i in archived]
        + [("past", i) for _, i in past]
        + [("upcoming", i) for _, i in upcoming]
    )


def fit_calendar(
    timers: Sequence[TimerJson],
    render: Callable[[list[TimerJson]], bytes],
    *,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Fitted:
    """``render(timers)``, leaving out the fewest timers (in drop order) to fit ``max_bytes``."""
    body = render(list(timers))
    if len(body) <= max_bytes or not timers:
        return Fitted(body)
    order = _drop_order(timers, now)

    def without(k: int) -> tuple[bytes, set[int]]:
        gone = {i for _, i in order[:k]}
        return render([t for i, t in enumerate(timers) if i not in gone]), gone

    # the size only shrinks as more timers go: the smallest k that fits, by bisection
    low, high = 1, len(order)
    best = without(high)[0]
    while low < high:
        mid = (low + high) // 2
        candidate, _ = without(mid)
        if len(candidate) <= max_bytes:
            high, best = mid, candidate
        else:
            low = mid + 1
    dropped: dict[str, int] = {}
    for kind, _ in order[:high]:
        dropped[kind] = dropped.get(kind, 0) + 1
    return Fitted(best, dropped)
