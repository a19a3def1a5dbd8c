"""One rate-limit budget per tickward account and process.

tickward counts every request of a user in one bucket, whichever client sent
it. Two clients of one process that each tracked their own budget would both
spend it and meet 429s; ``account_pacer`` hands every client built for the
same account (API URL and key) the same ``Pacer``.
"""

from __future__ import annotations

import hashlib
import threading

from ical_bridge.clock import Clock, SystemClock
from ical_bridge.tickward._pacing import Pacer

__all__ = ["account_pacer"]

_lock = threading.Lock()
_pacers: dict[tuple[str, str], Pacer] = {}


def account_pacer(base_url: str, api_key: str | None, *, clock: Clock | None = None) -> Pacer:
    """The ``Pacer`` shared by every client of this process for ``base_url`` and ``api_key``."""
    # The key is hashed: the registry must not become one more place that holds it.
    account = (base_url.rstrip("/"), hashlib.sha256((api_key or "").encode()).hexdigest())
    with _lock:
        pacer = _pacers.get(account)
        if pacer is None:
            pacer = _pacers[account] = Pacer(clock or SystemClock())
        return pacer
