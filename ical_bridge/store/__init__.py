"""The state store: what the bridge remembers between runs (SQLite or PostgreSQL)."""

from __future__ import annotations

from ical_bridge.store.engine import default_state_url
from ical_bridge.store.records import FeedState, TimerRecord
from ical_bridge.store.schema import SCHEMA_VERSION
from ical_bridge.store.state import WEBHOOK_EVENT_TTL, StateStore

__all__ = [
    "SCHEMA_VERSION",
    "WEBHOOK_EVENT_TTL",
    "FeedState",
    "StateStore",
    "TimerRecord",
    "default_state_url",
]
