"""A faithful local tickward API: the embedded default store, the emulator, the test double.

``create_app()`` builds a Starlette app mounted at ``/api/v1`` over SQLite
that answers the subset of tickward's API the bridge uses, with tickward's
validation, error shapes, idempotency, rate limits and plan limits.
"""

from __future__ import annotations

from ical_bridge.localserver.app import create_app
from ical_bridge.localserver.config import (
    EMBEDDED_API_KEY,
    PlanLimits,
    RateLimitConfig,
    RecordedRequest,
)

__all__ = ["EMBEDDED_API_KEY", "PlanLimits", "RateLimitConfig", "RecordedRequest", "create_app"]
