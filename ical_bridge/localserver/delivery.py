"""Signed, at-least-once webhook delivery, as tickward does it.

Every queued delivery is POSTed to its endpoint with the event envelope as
the body and ``tickward-signature: t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<body>" keyed with the endpoint's whsec_ secret>``. A 2xx marks it
delivered; anything else (or no answer within 10 s) is retried after 60 s,
5 min, 15 min, 1 h, then marked failed after the fifth attempt. A receiver
therefore dedupes on the envelope ``id``.

``Deliverer.deliver_due()`` sends whatever is due now; the emulator runs it
in the background every second and at once when a write queues an event
(``nudge()``; the app's lifespan), tests call it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx

from ical_bridge.clock import Clock
from ical_bridge.localserver.database import Database, Row, fetch_all, fetch_one, stamp, update

__all__ = ["MAX_ATTEMPTS", "RETRY_SECONDS", "Deliverer", "sign"]

MAX_ATTEMPTS = 5
RETRY_SECONDS = (60, 300, 900, 3600)
_TIMEOUT = 10.0
_log = logging.getLogger(__name__)


def sign(secret: str, body: str, timestamp: int) -> str:
    """The ``tickward-signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class Deliverer:
    """Sends due deliveries from the local server's database."""

    def __init__(
        self, db: Database, clock: Clock, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.transport = transport
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def nudge(self) -> None:
        """Something was queued: deliver now rather than at the next round (any thread)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    def _due(self) -> list[tuple[Row, Row]]:
        now = stamp(self.clock.now())
        with self.db.transaction() as conn:
            sql = (
                "SELECT * FROM webhook_deliveries WHERE status='pending' AND next_attempt_at <= ?"
                " ORDER BY created_at, rowid"
            )
            due = fetch_all(conn, sql, now)
            pairs = []
            for delivery in due:
                endpoint = fetch_one(
                    conn, "SELECT * FROM webhook_endpoints WHERE id=?", delivery["endpoint_id"]
                )
                if endpoint is not None:
                    update(
                        conn, "webhook_deliveries", {"status": "processing"}, {"id": delivery["id"]}
                    )
                    pairs.append((delivery, endpoint))
        return pairs

    async def deliver_due(self) -> int:
        """Attempt every due delivery once; returns how many were delivered."""
        pairs = self._due()
        if not pairs:
            return 0
        delivered = 0
        async with httpx.AsyncClient(
            transport=self.transport, timeout=_TIMEOUT, follow_redirects=False
        ) as client:
            for delivery, endpoint in pairs:
                delivered += await self._attempt(client, delivery, endpoint)
        return delivered

    async def _attempt(self, client: httpx.AsyncClient, delivery: Row, endpoint: Row) -> int:
        payload = delivery["payload"]
        body = payload if isinstance(payload, str) else json.dumps(payload)
        now = self.clock.now()
        headers = {
            "content-type": "application/json",
            "tickward-delivery-id": delivery["id"],
            "tickward-event-id": delivery["event_id"],
            "tickward-event-type": delivery["event_type"],
            "tickward-signature": sign(endpoint["secret"], body, int(now.timestamp())),
            "user-agent": "tickward-webhooks/1.0",
        }
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(endpoint["url"], content=body.encode(), headers=headers)
            status = response.status_code
            if not response.is_success:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        self._record(delivery, endpoint, status, error)
        return 1 if error is None else 0

    def _record(self, delivery: Row, endpoint: Row, status: int | None, error: str | None) -> None:
        now = self.clock.now()
        attempts = int(delivery["attempt_count"]) + 1
        changes: dict[str, Any] = {
            "attempt_count": attempts,
            "last_attempt_at": stamp(now),
            "response_status": status,
            "error": error,
            "updated_at": stamp(now),
        }
        endpoint_changes: dict[str, Any]
        if error is None:
            changes.update(status="delivered", delivered_at=stamp(now))
            endpoint_changes = {"failure_count": 0, "last_delivered_at": stamp(now)}
        else:
            exhausted = attempts >= MAX_ATTEMPTS
            wait = RETRY_SECONDS[min(attempts, len(RETRY_SECONDS)) - 1]
            changes.update(
                status="failed" if exhausted else "pending",
                failed_at=stamp(now) if exhausted else None,
                next_attempt_at=stamp(now if exhausted else now + timedelta(seconds=wait)),
            )
            endpoint_changes = {
                "failure_count": int(endpoint["failure_count"]) + 1,
                "last_failed_at": stamp(now),
            }
        with self.db.transaction() as conn:
            update(conn, "webhook_deliveries", changes, {"id": delivery["id"]})
            update(conn, "webhook_endpoints", endpoint_changes, {"id": endpoint["id"]})

    @contextlib.asynccontextmanager
    async def running(self, every: float = 1.0) -> AsyncIterator[None]:
        """Deliver in the background while the block runs (the emulator's lifespan)."""

        wake = asyncio.Event()
        self._wake, self._loop = wake, asyncio.get_running_loop()

        async def loop() -> None:
            while True:
                wake.clear()
                try:
                    await self.deliver_due()
                except Exception:  # a broken endpoint must not stop the loop
                    _log.exception("webhook delivery failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), every)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            self._wake = self._loop = None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
