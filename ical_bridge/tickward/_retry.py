"""When to retry a request and how long to wait first (full-jitter exponential backoff)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import httpx

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "is_retryable_exception"]

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


def is_retryable_exception(exc: BaseException) -> bool:
    """Network failures worth another attempt: connect, read/write, timeouts, broken protocol."""
    return isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)


@dataclass
class RetryPolicy:
    """Bounded retries: ``max_retries`` extra attempts, backoff capped at ``cap`` seconds."""

    max_retries: int = 6
    base: float = 0.5
    cap: float = 30.0
    # Honour a server's Retry-After up to this many seconds; longer ones are clamped.
    max_retry_after: float = 120.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based): uniform(0, base·2^(retry-1))."""
        ceiling = min(self.cap, self.base * (2 ** max(retry - 1, 0)))
        return self.rng.uniform(0.0, ceiling)

    def delay(self, retry: int, retry_after: float | None) -> float:
        """The wait before ``retry``: the server's ``Retry-After`` when given, else the backoff."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return self.backoff(retry)
