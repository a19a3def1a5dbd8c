"""The injectable clock: code asks a ``Clock`` for the time, tests pass their own."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["Clock", "FixedClock", "SystemClock", "system_zone"]


class Clock(Protocol):
    """Something that tells the current time."""

    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for pacing and timeouts)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FixedClock:
    """A clock that moves only when told to (tests, replays)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, delta: timedelta | float) -> None:
        """Move the clock forward by ``delta`` (a timedelta or seconds)."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        self._now += timedelta(seconds=seconds)
        self._mono += seconds

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (forward only keeps monotonic() honest)."""
        delta = (when.astimezone(UTC) - self._now).total_seconds()
        self.advance(max(delta, 0.0))
        self._now = when.astimezone(UTC)


def _loadable(name: str) -> str | None:
    name = name.strip().lstrip(":")
    if not name or name.startswith("/") or ".." in name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


def system_zone(
    environ: Mapping[str, str] | None = None, etc: Path = Path("/etc")
) -> str | None:
    """The machine's IANA zone name (``TZ``, else ``/etc/localtime``'s link, else
    ``/etc/timezone``); ``None`` when none can be told. Both sources are injectable."""
    env = os.environ if environ is None else environ
    if env.get("TZ"):
        text = env["TZ"].strip().lstrip(":")
        marker = "zoneinfo/"
        if marker in text:  # TZ=:/usr/share/zoneinfo/Europe/Paris
            text = text.rsplit(marker, 1)[1]
        return _loadable(text)
    try:
        target = os.readlink(etc / "localtime")
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        found = _loadable(target.rsplit("zoneinfo/", 1)[1])
        if found:
            return found
    try:
        return _loadable((etc / "timezone").read_text("utf-8").splitlines()[0])
    except (OSError, IndexError, UnicodeDecodeError):
        return None
