"""A real local tickward server, a real client over ASGITransport, a state store and a feed app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from ical_bridge.clock import FixedClock
from ical_bridge.feeds import ExportFeed, create_feed_app
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.store import StateStore
from ical_bridge.tickward import Project, SyncSnapshot, TickwardClient

START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
REFRESH = 60.0
WEBHOOK_SECRET = "whsec_test_secret_0123456789"


async def _no_sleep(_: float) -> None:
    return None


@dataclass
class Harness:
    """Everything a feed test touches."""

    tickward: Starlette
    writer: TickwardClient  # changes timers in tickward, like a user would
    source: SyncSnapshot
    store: StateStore
    clock: FixedClock
    app: Starlette
    http: httpx.AsyncClient
    project: Project

    def sync_requests(self) -> int:
        """How many ``GET /sync`` the local tickward server answered."""
        return sum(1 for r in self.tickward.state.requests if r.path == "/sync")

    def token(self, name: str = "team") -> str:
        token = self.store.export_token(name)
        assert token is not None
        return token

    def feed_path(self, name: str = "team") -> str:
        return f"/feeds/{self.token(name)}.ics"


def timer_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "launch_0001",
        "label": "Launch",
        "target_date": "2026-12-24T17:00:00Z",
        "timezone": "Europe/Berlin",
    }
    body.update(fields)
    return body


@asynccontextmanager
async def harness(
    tmp_path: Path,
    *,
    upstream: httpx.AsyncBaseTransport | None = None,
    exports: list[ExportFeed] | None = None,
    max_wait: float = 5.0,
    **app_options: Any,
) -> AsyncIterator[Harness]:
    """Seed project "Team" (timer "Launch", timer "Deploy" in space "Ops"); serve export "team"."""
    tickward = create_app(None, rate_limit=None)
    transport = httpx.ASGITransport(app=tickward)
    clock = FixedClock(START)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    writer = TickwardClient("http://tickward.test/api/v1", EMBEDDED_API_KEY,
                            transport=transport, pacing=False, sleep=_no_sleep)
    reader = TickwardClient("http://tickward.test/api/v1", EMBEDDED_API_KEY,
                            transport=upstream or transport, pacing=False, sleep=_no_sleep,
                            max_retries=0)
    try:
        project = await writer.create_project({"name": "Team"})
        await writer.create_timer(project.id, timer_body())
        source = SyncSnapshot(reader, clock=clock, refresh_seconds=REFRESH, max_wait=max_wait)
        await writer.create_space(project.id, {"id": "ops", "name": "Ops"})
        await writer.create_timer(project.id, timer_body(id="deploy_0001", label="Deploy",
                                                         space_id="ops", timezone="UTC"))
        exports = exports or [ExportFeed(name="team", project="Team", refresh=timedelta(hours=1))]
        app_options.setdefault("webhook_secret", WEBHOOK_SECRET)
        app = create_feed_app(exports, source=source, store=store, clock=clock, **app_options)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://feeds.test"
        ) as http:
            yield Harness(tickward, writer, source, store, clock, app, http, project)
    finally:
        await writer.aclose()
        await reader.aclose()
        store.close()
        tickward.state.db.close()


def later(clock: FixedClock, seconds: float) -> None:
    clock.advance(timedelta(seconds=seconds))
