"""The shared ``GET /sync`` snapshot: one conditional read serves every feed of a pass.

The snapshot and its ETag are also kept in the state store's key-value cache, so
a restarted daemon revalidates with ``If-None-Match`` (a ``304``) instead of
downloading everything again. After a feed wrote something the snapshot is
stale; ``invalidate`` makes the next ``get`` revalidate (the ETag changed, so
tickward sends the new snapshot).
"""

from __future__ import annotations

import hashlib

import pydantic

from ical_bridge.clock import Clock
from ical_bridge.errors import TickwardError
from ical_bridge.store import StateStore
from ical_bridge.tickward import Sync, TickwardClient

__all__ = ["SnapshotCache"]


class SnapshotCache:
    """Hands out one ``/sync`` snapshot per pass, revalidated with its ETag."""

    def __init__(
        self, client: TickwardClient, store: StateStore, clock: Clock, *, fresh_for: float = 5.0
    ) -> None:
        self._client = client
        self._store = store
        self._clock = clock
        self._fresh_for = fresh_for
        self._snapshot: Sync | None = None
        self._etag: str | None = None
        self._fetched_at: float | None = None
        where = hashlib.sha256(client.base_url.encode()).hexdigest()[:16]
        self._key = f"sync-snapshot:{where}"

    def begin_pass(self) -> None:
        """Start a pass: the first ``get`` revalidates, later ones reuse its answer."""
        self._fetched_at = None

    def invalidate(self) -> None:
        """Something was written: the next ``get`` must ask tickward again."""
        self._fetched_at = None

    async def get(self) -> Sync:
        """The current snapshot (one conditional ``GET /sync`` at most per pass)."""
        now = self._clock.monotonic()
        if (
            self._snapshot is not None
            and self._fetched_at is not None
            and now - self._fetched_at <= self._fresh_for
        ):
            return self._snapshot
        if self._snapshot is None:
            self._load_cached()
        result = await self._client.sync(self._etag if self._snapshot is not None else None)
        if result.not_modified and self._snapshot is not None:
            self._fetched_at = self._clock.monotonic()
            return self._snapshot
        if result.snapshot is None:  # 304 to an unconditional request: ask plainly
            result = await self._client.sync(None)
        if result.snapshot is None:
            raise TickwardError("GET /sync answered without a snapshot")
        self._snapshot, self._etag = result.snapshot, result.etag
        self._fetched_at = self._clock.monotonic()
        if result.etag:
            self._store.kv_set(self._key + ":etag", result.etag)
            self._store.kv_set(self._key, result.snapshot.model_dump_json())
        return result.snapshot

    def _load_cached(self) -> None:
        etag = self._store.kv_get(self._key + ":etag")
        raw = self._store.kv_get(self._key)
        if not etag or not raw:
            return
        try:
            self._snapshot = Sync.model_validate_json(raw)
            self._etag = etag
        except pydantic.ValidationError:
            self._snapshot, self._etag = None, None
