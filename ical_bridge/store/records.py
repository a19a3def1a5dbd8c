"""The records the state store keeps: what the bridge wrote, and how each feed is doing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["FeedState", "TimerRecord"]


@dataclass
class TimerRecord:
    """One bridge-owned timer: where it came from and what was last written."""

    project_id: str
    timer_id: str
    source_key: str
    uid: str
    recurrence_id: str | None
    part: int
    strategy: str
    fingerprint: str
    remote_updated_at: str | None = None
    series_end: str | None = None


@dataclass
class FeedState:
    """How one configured feed was last fetched and synced (datetimes aware UTC)."""

    name: str
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    body: bytes | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    next_run: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    suspicious: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
