"""Running a feed pass under a claim, so exactly one replica runs it at a time.

``claimed(claims, name)`` claims the feed (``store.claims``), renews the lease
every third of it while the pass runs, and releases it afterwards. When a
renewal finds the claim lost (this replica stalled past its lease and another
took over), the pass is cancelled: that is safe, as every write carries an
idempotency key and the content hash is stored only after a complete apply.
Every tickward request of the pass carries
``X-Correlation-Id: icb.<feed>.<token>.<replica>`` (other characters as ``_``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ical_bridge.errors import StoreError
from ical_bridge.store.claims import Claims
from ical_bridge.tickward.correlation import correlated, correlation_id

__all__ = ["Held", "claimed"]

log = logging.getLogger("ical_bridge.daemon")


@dataclass
class Held:
    """A claim this replica holds (``token``), or None when another replica has the feed."""

    feed: str
    token: int | None
    lost: bool = False


@contextlib.asynccontextmanager
async def claimed(claims: Claims, feed: str) -> AsyncIterator[Held]:
    """Hold ``feed``'s claim inside the block (``Held.token`` None: someone else has it)."""
    try:
        token = await asyncio.to_thread(claims.acquire, feed)
    except StoreError as exc:
        log.warning("feed=%s claim=error error=%s", feed, _quote(str(exc)))
        yield Held(feed, None)
        return
    if token is None:
        log.debug("feed=%s claim=busy", feed)
        yield Held(feed, None)
        return
    held = Held(feed, token)
    if claims.shared:
        log.debug("feed=%s claim=acquired token=%d owner=%s", feed, token, claims.owner)
    task = asyncio.current_task()
    renewer = asyncio.create_task(_renew(claims, held, task)) if claims.shared else None
    try:
        with correlated(correlation_id("icb", feed, token, claims.owner)):
            yield held
    finally:
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        if not held.lost:
            try:
                await asyncio.to_thread(claims.release, feed, token)
            except StoreError as exc:  # the lease runs out by itself
                log.warning("feed=%s claim=release-failed error=%s", feed, _quote(str(exc)))
        if claims.shared:
            log.debug("feed=%s claim=released token=%d", feed, token)


async def _renew(claims: Claims, held: Held, task: asyncio.Task[object] | None) -> None:
    every = max(claims.lease.total_seconds() / 3, 0.05)
    while True:
        await asyncio.sleep(every)
        assert held.token is not None
        try:
            kept = await asyncio.to_thread(claims.renew, held.feed, held.token)
        except StoreError as exc:
            log.warning("feed=%s claim=renew-failed error=%s", held.feed, _quote(str(exc)))
            continue  # the database may be back before the lease ends
        if not kept:
            held.lost = True
            log.warning("feed=%s claim=lost token=%d: pass cancelled", held.feed, held.token)
            if task is not None:
                task.cancel()
            return


def _quote(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'
