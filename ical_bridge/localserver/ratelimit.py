"""Sliding-window rate limits per user (all of its API keys together) and per client IP."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

from ical_bridge.clock import Clock
from ical_bridge.localserver.config import RateLimitConfig

__all__ = ["RateLimiter", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of one request against the limits."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    reset_epoch_ms: int

    def headers(self) -> dict[str, str]:
        """The rate-limit headers every authenticated response carries."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_epoch_ms),
            "Retry-After": str(self.reset_seconds),
        }


class RateLimiter:
    """Counts requests in a sliding window over the clock's ``monotonic()``."""

    def __init__(self, config: RateLimitConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _window(self, bucket: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(bucket, deque())
        while hits and hits[0] <= now - self._config.window_seconds:
            hits.popleft()
        return hits

    def _reset(self, hits: deque[float], now: float) -> int:
        if not hits:
            return math.ceil(self._config.window_seconds)
        return max(1, math.ceil(hits[0] + self._config.window_seconds - now))

    def hit(self, user_id: str, client_ip: str) -> Verdict:
        """Count one request of ``user_id`` from ``client_ip`` (refused ones are not counted)."""
        with self._lock:
            now = self._clock.monotonic()
            buckets = [
                (self._window(f"user:{user_id}", now), self._config.per_user),
                (self._window(f"ip:{client_ip}", now), self._config.per_ip),
            ]
            over = [(hits, limit) for hits, limit in buckets if len(hits) >= limit]
            if over:
                hits, limit = max(over, key=lambda pair: self._reset(pair[0], now))
                return self._verdict(False, hits, limit, now)
            for hits, _ in buckets:
                hits.append(now)
            hits, limit = min(buckets, key=lambda pair: pair[1] - len(pair[0]))
            return self._verdict(True, hits, limit, now)

    def _verdict(self, allowed: bool, hits: deque[float], limit: int, now: float) -> Verdict:
        reset = self._reset(hits, now)
        # RateLimit-Reset is whole seconds (rounded up); the epoch-ms header is exact.
        exact = hits[0] + self._config.window_seconds - now if hits else float(reset)
        epoch_ms = math.ceil((self._clock.now().timestamp() + max(exact, 0.0)) * 1000)
        return Verdict(allowed, limit, max(0, limit - len(hits)), reset, epoch_ms)
