"""Round trips through the local tickward server: import, read /sync, export, import again."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from roundtrip_model import content_of

from ical_bridge.clock import FixedClock
from ical_bridge.convert import export_calendar
from ical_bridge.localserver import EMBEDDED_API_KEY, PlanLimits, create_app
from ical_bridge.store import StateStore
from ical_bridge.sync import ApplyReport, Plan, SyncOptions, apply_plan, plan_source
from ical_bridge.tickward import TickwardClient

__all__ = ["BASE", "NOW", "LiveServer", "Tickward", "comparable", "start_live", "stop_live"]

BASE = "http://tickward.test/api/v1"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WRITES = ("POST", "PATCH", "DELETE")


def comparable(timers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Timers by content (ids differ by design), in a stable order."""
    found = [content_of(t) for t in timers]
    return sorted(found, key=lambda c: (c["target"], c["label"], repr(c)))


@dataclass
class Tickward:
    """The local server in-process (fixed clock), a state store, and import/export through both."""

    app: Any
    store: StateStore

    @classmethod
    def open(cls, tmp: Path, plan: PlanLimits | None = None) -> Tickward:
        """A fresh server and state store under ``tmp``."""
        app = create_app(tmp / "tickward.sqlite3", rate_limit=None, clock=FixedClock(NOW),
                         plan=plan or PlanLimits())
        return cls(app, StateStore(f"sqlite:///{tmp / 'state.sqlite3'}"))

    def close(self) -> None:
        """Close the state store."""
        self.store.close()

    def client(self) -> TickwardClient:
        """A client talking to the app in-process."""
        return TickwardClient(BASE, EMBEDDED_API_KEY, transport=httpx.ASGITransport(app=self.app))

    def writes(self) -> int:
        """How many writes the server has handled so far."""
        return sum(1 for r in self.app.state.requests if r.method in WRITES)

    def import_(
        self, data: bytes, project: str, source_key: str, **kw: Any
    ) -> tuple[Plan, ApplyReport]:
        """Plan and apply one import of ``data`` into ``project`` (``kw``: more SyncOptions)."""

        async def go() -> tuple[Plan, ApplyReport]:
            async with self.client() as client:
                kw.setdefault("now", NOW)
                options = SyncOptions(project=project, source_key=source_key, **kw)
                plan = await plan_source(client, self.store, data, options)
                return plan, await apply_plan(client, self.store, plan)

        return asyncio.run(go())

    def project_timers(self, project: str) -> tuple[str, list[dict[str, Any]]]:
        """The project's id and its (non-archived) timers as ``/sync`` reports them."""

        async def go() -> tuple[str, list[dict[str, Any]]]:
            async with self.client() as client:
                snap = (await client.sync()).snapshot
                assert snap is not None
                ids = [p.id for p in snap.projects if p.name == project]
                assert len(ids) == 1, (project, [p.name for p in snap.projects])
                timers = [t.model_dump(mode="json") for t in snap.timers
                          if t.project_id == ids[0] and not t.archived_at]
                return ids[0], timers

        return asyncio.run(go())

    def create(self, project: str, timers: list[dict[str, Any]]) -> None:
        """Create ``project`` holding ``timers`` (TimerCreateRequest bodies)."""

        async def go() -> None:
            async with self.client() as client:
                created = await client.create_project({"name": project})
                for body in timers:
                    await client.create_timer(created.id, body)

        asyncio.run(go())

    def export(self, project: str) -> bytes:
        """``GET /sync`` + ``export_calendar`` for ``project``."""
        project_id, timers = self.project_timers(project)
        return export_calendar(timers, project_id=project_id, calendar_name=project, now=NOW)


@dataclass
class LiveServer:
    """A uvicorn server on an ephemeral loopback port, in a thread."""

    app: Any
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def base_url(self) -> str:
        """The API base URL."""
        return f"http://127.0.0.1:{self.port}/api/v1"


def start_live(app: Any) -> LiveServer:
    """Serve ``app`` on 127.0.0.1 (an ephemeral port); wait until it accepts connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return LiveServer(app, port, server, thread)


def stop_live(live: LiveServer) -> None:
    """Stop the server and wait for its thread."""
    live.server.should_exit = True
    live.thread.join(timeout=10)
