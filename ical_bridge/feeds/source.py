"""One cached ``GET /sync`` shared by every feed the server publishes.

Subscribers poll often (Google every few hours, Apple every few minutes, a
thousand of them at once after a restart); tickward allows 120 requests a
minute per key. So the server asks tickward at most once per refresh period,
with ``If-None-Match`` (a 304 costs nothing), and all requests that arrive
while a refresh is running wait on that one refresh (single flight). If
tickward cannot be reached the last good snapshot keeps being served.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from ical_bridge.clock import Clock
from ical_bridge.errors import TickwardError
from ical_bridge.tickward import Sync, TickwardClient

__all__ = ["Snapshot", "SnapshotSource", "SnapshotUnavailable"]

log = logging.getLogger(__name__)


class SnapshotUnavailable(TickwardError):
    """No snapshot was ever read and tickward cannot be reached now."""


@dataclass(frozen=True)
class Snapshot:
    """A ``/sync`` answer, numbered: ``version`` grows only when the content changed."""

    sync: Sync
    etag: str | None
    version: int
    changed_at: datetime  # when this content was first seen (clock time): DTSTAMP, Last-Modified


class SnapshotSource:
    """Serves one ``/sync`` snapshot, refreshed at most every ``refresh_seconds``."""

    def __init__(
        self,
        client: TickwardClient,
        *,
        clock: Clock,
        refresh_seconds: float = 60.0,
        retry_seconds: float = 10.0,
        max_wait: float = 5.0,
    ) -> None:
        self._client = client
        self._clock = clock
        self._refresh = refresh_seconds
        self._retry = min(retry_seconds, refresh_seconds)
        self._max_wait = max_wait
        self._current: Snapshot | None = None
        self._checked_at: float | None = None  # monotonic time of the last attempt
        self._task: asyncio.Task[None] | None = None
        self.upstream_requests = 0
        self.failures = 0

    @property
    def current(self) -> Snapshot | None:
        """The last good snapshot, without asking tickward."""
        return self._current

    def invalidate(self) -> None:
        """Something changed in tickward (a webhook said so): the next ``get`` revalidates."""
        self._checked_at = None

    def _fresh(self) -> bool:
        if self._checked_at is None:
            return False
        period = self._refresh if self.failures == 0 else self._retry
        return self._clock.monotonic() - self._checked_at < period

    async def get(self) -> Snapshot:
        """The current snapshot; at most one upstream request per period, shared by all callers.

        A refresh in progress is shared (single flight). Callers that already
        have a snapshot to fall back on wait for it at most ``max_wait`` seconds
        (the client may be backing off a 429 or a dead network) and then get
        the last good snapshot; the refresh carries on in the background.
        """
        if self._current is not None and self._fresh():
            return self._current
        if self._task is None or self._task.done():
            # No await between the freshness check and here: one task per period.
            self._checked_at = self._clock.monotonic()
            self._task = asyncio.create_task(self._refresh_now())
            self._task.add_done_callback(_consume)
        task = self._task
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

    async def _refresh_now(self) -> None:
        self.upstream_requests += 1
        etag = self._current.etag if self._current is not None else None
        try:
            result = await self._client.sync(etag)
        except TickwardError as exc:
            self.failures += 1
            # Retried after ``retry_seconds``; until then (and after) the last good one is served.
            log.warning("tickward /sync failed (%s); serving the last good snapshot", exc)
            return
        self.failures = 0
        if result.not_modified and self._current is not None:
            return
        if result.snapshot is None:  # pragma: no cover - a 304 to an unconditional request
            return
        version = self._current.version + 1 if self._current is not None else 1
        self._current = Snapshot(result.snapshot, result.etag, version, self._clock.now())


def _consume(task: asyncio.Task[None]) -> None:
    """Retrieve a background refresh's outcome so an unexpected error is logged, not lost."""
    if not task.cancelled() and task.exception() is not None:
        log.error("snapshot refresh failed", exc_info=task.exception())
