"""The shared ``GET /sync`` snapshot: one conditional read serves every feed of a pass.

The snapshot and its ETag are also kept in the state store's key-value cache, so
a restarted daemon revalidates with ``If-None-Match`` (a ``304``) instead of
downloading everything again. After a feed wrote into a project, the snapshot
is stale for that project only: the next feed that plans the same project
revalidates (the ETag changed, so tickward sends the new snapshot); feeds of
other projects keep using the pass's snapshot.
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
        self._dirty: set[str] = set()
        self._in_pass = False
        where = hashlib.sha256(client.base_url.encode()).hexdigest()[:16]
        self._key = f"sync-snapshot:{where}"

    @property
    def current(self) -> Sync | None:
        """The snapshot held now, without asking tickward (may be stale)."""
        return self._snapshot

    @property
    def dirty(self) -> bool:
        """True when something was written since the held snapshot was read."""
        return bool(self._dirty)

    def begin_pass(self) -> None:
        """Start a pass over all feeds: the first ``get`` revalidates, later ones reuse it."""
        self._fetched_at = None
        self._dirty.clear()
        self._in_pass = True

    def end_pass(self) -> None:
        """The pass is over: later ``get`` calls revalidate once ``fresh_for`` has passed."""
        self._in_pass = False

    def invalidate(self) -> None:
        """Forget the snapshot's freshness: the next ``get`` asks tickward again."""
        self._fetched_at = None

    def mark_dirty(self, *refs: str | None) -> None:
        """A feed wrote into this project (ids or names): whoever plans it next revalidates.

        Feeds of other projects keep planning from the pass's snapshot, so a pass in
        which several feeds changed still reads ``/sync`` once (plus once per project
        that two feeds share).
        """
        self._dirty.update(r.casefold() for r in refs if r)

    async def get(self, project: str | None = None) -> Sync:
        """The snapshot to plan ``project`` with (one conditional ``GET /sync`` at most)."""
        now = self._clock.monotonic()
        fresh = self._fetched_at is not None and (
            self._in_pass or now - self._fetched_at <= self._fresh_for
        )
        stale = project is None or project.casefold() in self._dirty
        if self._snapshot is not None and fresh and not (stale and self._dirty):
            return self._snapshot
        if self._snapshot is None:
            self._load_cached()
        result = await self._client.sync(self._etag if self._snapshot is not None else None)
        self._dirty.clear()
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
