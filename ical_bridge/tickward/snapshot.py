"""The one ``GET /sync`` snapshot of a process: shared by the planners and the feed server.

tickward allows 120 requests a minute per key, and subscribers poll often, so
every reader in a process shares one snapshot:

- **Single flight.** Callers that arrive while a read is running wait on that
  one read; at most one request is in flight.
- **ETag.** A revalidation sends ``If-None-Match``; a ``304`` costs nothing.
- **Stale on error.** The feed server (``get``) serves the last good snapshot
  when tickward is slow or down; planners (``read``) get the error instead,
  because a plan must not be made from an answer known to be old.
- **Invalidated by our own writes.** Every successful write through the same
  client marks the snapshot stale, so the next feed request shows it. During a
  sync pass planners stay on the pass's snapshot except for the projects a feed
  wrote into (``mark_dirty``): a pass reads ``/sync`` once, plus once per
  project that two feeds share.
- **Persisted** through ``SnapshotStore`` (the state store fits), so a restarted
  process revalidates with its old ETag instead of downloading everything. The
  ETag and the body it validated are saved as one sealed value (one atomic
  write, with a digest of both): a failed or damaged save is never trusted.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx
import pydantic

from ical_bridge.clock import Clock
from ical_bridge.errors import SnapshotUnavailable, StoreError, TickwardError
from ical_bridge.tickward.client import TickwardClient
from ical_bridge.tickward.models import Sync

__all__ = ["Snapshot", "SnapshotStore", "SyncSnapshot"]

log = logging.getLogger("ical_bridge.tickward")
_FORMAT = ":v2"  # one sealed value: {"etag", "sha256", "body"}
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Snapshot:
    """A ``/sync`` answer, numbered: ``version`` grows only when the content changed."""

    sync: Sync
    etag: str | None
    version: int
    changed_at: datetime  # when this content was first seen (clock time): DTSTAMP, Last-Modified


class SnapshotStore(Protocol):
    """Where the snapshot and its ETag survive a restart (``StateStore`` fits)."""

    def kv_get(self, key: str) -> str | None:
        """The stored value of ``key``, if any."""

    def kv_set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""


class SyncSnapshot:
    """The process's one ``/sync`` snapshot (see the module docstring for the rules)."""

    def __init__(
        self,
        client: TickwardClient,
        *,
        clock: Clock,
        store: SnapshotStore | None = None,
        refresh_seconds: float = 60.0,
        retry_seconds: float = 10.0,
        max_wait: float = 5.0,
        fresh_for: float = 5.0,
        watch_writes: bool = True,
    ) -> None:
        self._client = client
        self._clock = clock
        self._store = store
        self._refresh = refresh_seconds
        self._retry = min(retry_seconds, refresh_seconds)
        self._max_wait = max_wait
        self._fresh_for = fresh_for
        self._current: Snapshot | None = None
        self._checked_at: float | None = None  # monotonic time of the last attempt
        self._written = False  # a write went through our client since the last read
        self._dirty: set[str] = set()
        self._in_pass = False
        self._task: asyncio.Task[None] | None = None
        self._error: TickwardError | None = None
        self._loaded = False
        self.upstream_requests = 0
        self.failures = 0
        where = hashlib.sha256(client.base_url.encode()).hexdigest()[:16]
        self._key = f"sync-snapshot:{where}"
        if watch_writes:  # off for a snapshot read once and dropped (a one-shot import)
            _watch_writes(client, self._on_write)

    @property
    def current(self) -> Snapshot | None:
        """The snapshot held now, without asking tickward (may be stale)."""
        return self._current

    @property
    def dirty(self) -> bool:
        """True when something was written since the held snapshot was read."""
        return self._written or bool(self._dirty)

    def invalidate(self) -> None:
        """Something changed in tickward (a webhook said so): the next read revalidates."""
        self._checked_at = None

    def begin_pass(self) -> None:
        """Start a sync pass: the first ``read`` revalidates, later ones reuse its answer."""
        self._checked_at = None
        self._dirty.clear()
        self._in_pass = True

    def end_pass(self) -> None:
        """The pass is over: ``read`` revalidates again once ``fresh_for`` has passed."""
        self._in_pass = False

    def mark_dirty(self, *refs: str | None) -> None:
        """A feed wrote into this project (ids or names): whoever plans it next revalidates."""
        self._dirty.update(r.casefold() for r in refs if r)

    async def read(self, project: str | None = None) -> Sync:
        """The snapshot to plan ``project`` with; raises when tickward cannot be read."""
        held = self._current
        if held is not None and self._checked_at is not None and self._error is None:
            age = self._clock.monotonic() - self._checked_at
            fresh = self._in_pass or age <= self._fresh_for
            if project is None:
                stale = self.dirty
            else:
                stale = project.casefold() in self._dirty or (not self._in_pass and self._written)
            if fresh and not stale:
                return held.sync
        await asyncio.shield(self._start())
        if self._error is not None:
            raise self._error
        assert self._current is not None  # a read without error always leaves a snapshot
        return self._current.sync

    async def get(self) -> Snapshot:
        """The current snapshot for subscribers: one read per refresh period, stale on error.

        Callers that already have a snapshot to fall back on wait for a running
        read at most ``max_wait`` seconds (the client may be backing off a 429
        or a dead network) and then get the last good one; the read carries on
        in the background.
        """
        if self._current is not None and self._fresh_for_feeds():
            return self._current
        task = self._start()
        if self._current is None:
            await asyncio.shield(task)
        else:
            try:
                await asyncio.wait_for(asyncio.shield(task), self._max_wait)
            except TimeoutError:
                log.warning("tickward /sync is slow; serving the last good snapshot meanwhile")
        if self._current is None:
            raise SnapshotUnavailable("tickward cannot be reached and no snapshot is cached yet")
        return self._current

    def _fresh_for_feeds(self) -> bool:
        if self._checked_at is None or self._written:
            return False
        period = self._refresh if self.failures == 0 else self._retry
        return self._clock.monotonic() - self._checked_at < period

    def _start(self) -> asyncio.Task[None]:
        """The running read, or a new one (no await here: one task at a time)."""
        if self._task is None or self._task.done():
            self._checked_at = self._clock.monotonic()
            self._task = asyncio.create_task(self._read_now())
            self._task.add_done_callback(_consume)
        return self._task

    async def _read_now(self) -> None:
        if not self._loaded:
            self._loaded = True
            self._load()
        self.upstream_requests += 1
        held = self._current
        written = self._written
        self._written = False
        try:
            result = await self._client.sync(held.etag if held is not None else None)
            if result.not_modified and held is None:  # a 304 to an unconditional request
                result = await self._client.sync(None)
        except TickwardError as exc:
            self.failures += 1
            self._error = exc
            self._written = self._written or written
            log.warning("tickward /sync failed (%s); the last good snapshot stays", exc)
            return
        self.failures = 0
        self._error = None
        self._dirty.clear()
        if result.not_modified and held is not None:
            return
        if result.snapshot is None:
            self._error = TickwardError("GET /sync answered without a snapshot")
            return
        version = held.version + 1 if held is not None else 1
        self._current = Snapshot(result.snapshot, result.etag, version, self._clock.now())
        if result.etag and self._store is not None:
            self._save(result.etag, result.snapshot.model_dump_json())

    def _save(self, etag: str, body: str) -> None:
        """Validator and body in ONE value (one atomic write), sealed by the body's digest."""
        assert self._store is not None
        sealed = json.dumps({"etag": etag, "sha256": _digest(etag, body), "body": body})
        try:
            self._store.kv_set(self._key + _FORMAT, sealed)
        except StoreError as exc:  # disk full: the held snapshot is right, only not kept
            log.warning("the /sync snapshot could not be saved (%s); the next run downloads "
                        "it again", exc)

    def _load(self) -> None:
        if self._store is None or self._current is not None:
            return
        raw = self._store.kv_get(self._key + _FORMAT)
        if not raw:
            return  # (the old two-key format is ignored: its halves may not belong together)
        try:
            saved = json.loads(raw)
            etag, body = str(saved["etag"]), str(saved["body"])
            if saved.get("sha256") != _digest(etag, body):
                log.warning("the saved /sync snapshot does not match its validator; ignored")
                return
            self._current = Snapshot(Sync.model_validate_json(body), etag, 1, self._clock.now())
        except (ValueError, KeyError, TypeError, pydantic.ValidationError):
            self._current = None

    def _on_write(self) -> None:
        self._written = True


def _digest(etag: str, body: str) -> str:
    return hashlib.sha256(f"{len(etag)}:{etag}:{body}".encode()).hexdigest()


def _watch_writes(client: TickwardClient, hook: Callable[[], None]) -> None:
    """Call ``hook()`` after every successful write sent through ``client``."""

    async def on_response(response: httpx.Response) -> None:
        request = response.request
        if (
            request.method in _WRITES
            and response.status_code < 400
            and not request.url.path.endswith("/preview")
        ):
            hook()

    # The client is this package's own: its httpx client's hook list is the seam.
    client._http.event_hooks["response"].append(on_response)


def _consume(task: asyncio.Task[None]) -> None:
    """Retrieve a background read's outcome so an unexpected error is logged, not lost."""
    if not task.cancelled() and task.exception() is not None:
        log.error("snapshot read failed", exc_info=task.exception())
