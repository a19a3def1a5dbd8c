"""Knobs of the local tickward server: rate limits, plan limits, request log entries."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["EMBEDDED_API_KEY", "PlanLimits", "RateLimitConfig", "RecordedRequest"]

EMBEDDED_API_KEY = "tw_local_embedded"


@dataclass(frozen=True)
class RateLimitConfig:
    """Sliding-window request limits (tickward's hosted values by default).

    ``per_user`` is one bucket shared by every API key of the account (as
    measured on the real server); ``per_key`` is its older name, still accepted.
    """

    per_user: int = 120
    per_ip: int = 300
    window_seconds: float = 60.0
    per_key: int | None = None

    def __post_init__(self) -> None:
        if self.per_key is not None:
            object.__setattr__(self, "per_user", self.per_key)


@dataclass(frozen=True)
class PlanLimits:
    """Plan caps (tickward's free-account values by default)."""

    timers_per_project: int = 40
    active_timers_per_space: int = 40
    spaces_per_project: int = 4
    projects: int = 20
    project_create_max_timers: int = 50
    project_create_max_spaces: int = 4
    page_size_max: int = 100


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server answered (kept in ``app.state.requests``)."""

    method: str
    path: str
    status: int
    idempotency_key: str | None
    replayed: bool

    @property
    def is_write(self) -> bool:
        """True for POST, PATCH and DELETE."""
        return self.method in ("POST", "PATCH", "DELETE")
