"""The one ``/sync`` snapshot: single flight, persisted ETag, our own writes show at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ical_bridge.errors import TickwardError
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.tickward import SyncSnapshot, TickwardClient
from tests.tickward.tw_helpers import make_clock, run

BASE = "http://tickward.test/api/v1"


class MemoryStore:
    """A ``SnapshotStore``: what a state store's key-value table keeps."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def kv_get(self, key: str) -> str | None:
        return self.values.get(key)

    def kv_set(self, key: str, value: str) -> None:
        self.values[key] = value


def client_for(app: Any, **kw: Any) -> TickwardClient:
    return TickwardClient(BASE, EMBEDDED_API_KEY, transport=httpx.ASGITransport(app=app),
                          pacing=False, **kw)


def sync_statuses(app: Any) -> list[int]:
    return [r.status for r in app.state.requests if r.path == "/sync"]


def test_a_restarted_process_revalidates_its_persisted_snapshot_with_a_304() -> None:
    app, store, clock = create_app(None, rate_limit=None), MemoryStore(), make_clock()

    async def first() -> list[str]:
        async with client_for(app) as client:
            await client.create_project({"name": "Team"})
            snap = SyncSnapshot(client, clock=clock, store=store)
            return [p.name for p in (await snap.read()).projects]

    async def restarted() -> list[str]:
        async with client_for(app) as client:
            return [p.name for p in (await SyncSnapshot(client, clock=clock, store=store).read())
                    .projects]

    assert run(first()) == ["Team"]
    assert sync_statuses(app) == [200]
    assert run(restarted()) == ["Team"]
    assert sync_statuses(app)[-1] == 304  # the persisted ETag still matched


def test_concurrent_readers_share_one_request_and_our_own_write_shows_next() -> None:
    app, clock = create_app(None, rate_limit=None), make_clock()

    async def body() -> None:
        async with client_for(app) as client:
            project = await client.create_project({"name": "Team"})
            snap = SyncSnapshot(client, clock=clock, refresh_seconds=60)
            answers = await asyncio.gather(*(snap.get() for _ in range(20)))
            assert len({a.version for a in answers}) == 1 and len(sync_statuses(app)) == 1
            await client.create_timer(project.id, {"id": "launch_0001", "label": "Launch",
                                                   "target_date": "2027-06-01T10:00:00Z",
                                                   "timezone": "UTC"})
            clock.advance(timedelta(seconds=1))  # well inside the 60 s refresh period
            after = await snap.get()
            assert [t.label for t in after.sync.timers] == ["Launch"]
            assert after.version == answers[0].version + 1

    run(body())


def test_planners_get_the_error_subscribers_get_the_last_good_snapshot() -> None:
    app, clock = create_app(None, rate_limit=None), make_clock()
    down = {"now": False}

    async def handler(request: httpx.Request) -> httpx.Response:
        if down["now"]:
            raise httpx.ConnectError("tickward is down", request=request)
        return await httpx.ASGITransport(app=app).handle_async_request(request)

    async def body() -> None:
        client = TickwardClient(BASE, EMBEDDED_API_KEY, transport=httpx.MockTransport(handler),
                                pacing=False, max_retries=0)
        async with client:
            snap = SyncSnapshot(client, clock=clock, refresh_seconds=1)
            good = await snap.get()
            down["now"] = True
            clock.advance(timedelta(seconds=30))
            assert await snap.get() is good
            with pytest.raises(TickwardError):
                await snap.read()

    run(body())
