"""Client-side pacing from ``RateLimit-*`` headers, so a long run never meets a 429.

tickward's budget is per user (120 requests a minute shared by every key of
that user, reads and writes together), so one ``Pacer`` is the budget of one
user: clients acting for the same user share it.

tickward reports, on every authenticated answer, how many requests are left
(``RateLimit-Remaining``) out of ``RateLimit-Limit`` and in how many seconds the
window frees up (``RateLimit-Reset``). While plenty remain, requests go out at
once. At or below ``low_fraction`` of the limit, the remaining requests are spread over
the rest of the window (``reset / remaining`` apart); at zero, the client waits
for the reset (plus a small margin for servers that round down).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ical_bridge.clock import Clock

__all__ = ["Pacer"]


def _number(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


class Pacer:
    """Tracks the server's rate-limit budget and says how long to wait before a request."""

    def __init__(self, clock: Clock, *, low_fraction: float = 0.1, margin: float = 0.25) -> None:
        self._clock = clock
        self._low_fraction = low_fraction
        self._margin = margin
        self._limit: float | None = None
        self._remaining: float | None = None
        self._reset_at: float | None = None
        self._in_flight = 0
        self._exact = False
        self._informed = False

    @property
    def informed(self) -> bool:
        """True once any answer carried the budget (clients share a pacer per account)."""
        return self._informed

    def observe(self, headers: Mapping[str, str]) -> None:
        """Update the budget from a response's headers (any status, 2xx and 429 alike)."""
        remaining = _number(headers, "RateLimit-Remaining")
        reset = _number(headers, "RateLimit-Reset")
        if remaining is None or reset is None:
            return
        self._informed = True
        limit = _number(headers, "RateLimit-Limit")
        if limit is not None:
            self._limit = limit
        # Requests still in flight were sent after this answer was counted.
        self._remaining = max(remaining - max(self._in_flight - 1, 0), 0.0)
        exact = self._exact_reset(headers, reset)
        self._exact = exact is not None
        # An exact reset gets a hair of slack so a request never lands on the very instant
        # the server's window turns over.
        self._reset_at = self._clock.monotonic() + (reset if exact is None else exact + 0.05)

    def _exact_reset(self, headers: Mapping[str, str], reset: float) -> float | None:
        """``RateLimit-Reset`` is whole seconds; ``X-RateLimit-Reset`` (epoch ms) is exact.

        The epoch form is trusted only when it agrees with the seconds form to
        within a second, so a skewed server or local clock falls back safely.
        """
        epoch_ms = _number(headers, "X-RateLimit-Reset")
        if epoch_ms is None:
            return None
        exact = epoch_ms / 1000 - self._clock.now().timestamp()
        return exact if reset - 1 <= exact <= reset else None

    def delay(self) -> float:
        """Seconds to wait before sending the next request (0 when there is budget)."""
        if self._remaining is None or self._reset_at is None:
            return 0.0
        left = self._reset_at - self._clock.monotonic()
        if left <= 0:
            return 0.0
        if self._remaining < 1:
            # whole-second resets may be rounded down by the server: add the margin
            return left if self._exact else left + self._margin
        threshold = max(1.0, (self._limit or 0.0) * self._low_fraction)
        if self._remaining <= threshold:
            return left / self._remaining
        return 0.0

    @property
    def in_flight(self) -> int:
        """Requests sent whose answer has not arrived yet."""
        return self._in_flight

    def sent(self) -> None:
        """Count a request that is about to go out."""
        self._in_flight += 1
        if self._remaining is not None:
            self._remaining = max(self._remaining - 1, 0.0)

    def done(self) -> None:
        """Count a request whose answer (or failure) has arrived."""
        self._in_flight = max(self._in_flight - 1, 0)

    def forget_window(self) -> None:
        """Drop the budget once the window it described has passed."""
        if self._reset_at is not None and self._reset_at <= self._clock.monotonic():
            self._remaining = self._reset_at = None
