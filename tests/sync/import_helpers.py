"""Helpers for import tests: calendars built on the fly, the local tickward server, a harness."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn

from ical_bridge.localserver import EMBEDDED_API_KEY
from ical_bridge.store import StateStore
from ical_bridge.sync import ApplyReport, Plan, SyncOptions, apply_plan, plan_source
from ical_bridge.tickward import TickwardClient

BASE = "http://tickward.test/api/v1"
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class Event:
    """One VEVENT of a test calendar."""

    uid: str
    summary: str
    days: int  # days from today (at 09:30 UTC)
    rrule: str | None = None
    status: str | None = None
    description: str | None = None

    def ical(self) -> str:
        start = (TODAY + timedelta(days=self.days, hours=9, minutes=30)).strftime("%Y%m%dT%H%M%SZ")
        lines = ["BEGIN:VEVENT", f"UID:{self.uid}", "DTSTAMP:20260101T000000Z",
                 f"DTSTART:{start}", f"SUMMARY:{self.summary}"]
        if self.rrule:
            lines.append(f"RRULE:{self.rrule}")
        if self.status:
            lines.append(f"STATUS:{self.status}")
        if self.description:
            lines.append(f"DESCRIPTION:{self.description}")
        return "\r\n".join([*lines, "END:VEVENT"])


def calendar(events: Sequence[Event], *, name: str = "Team", color: str | None = None) -> bytes:
    """A VCALENDAR with ``events``."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//ical-bridge tests//EN",
            f"X-WR-CALNAME:{name}"]
    if color:
        head.append(f"X-APPLE-CALENDAR-COLOR:{color}")
    body = [e.ical() for e in events]
    return ("\r\n".join([*head, *body, "END:VCALENDAR"]) + "\r\n").encode()


def team_events(n: int = 5) -> list[Event]:
    """``n`` one-off meetings in the next weeks."""
    return [Event(f"meeting-{i}@tests", f"Meeting {i}", i + 1) for i in range(n)]


@dataclass
class Harness:
    """The local tickward server in-process, a state store, and import runs against both."""

    app: Any
    store: StateStore
    source_key: str = "import:test"
    runs: list[tuple[Plan, ApplyReport | None]] = field(default_factory=list)

    @property
    def requests(self) -> list[Any]:
        """Every request the server handled."""
        return list(self.app.state.requests)

    def client(self) -> TickwardClient:
        """A client talking to the app in-process."""
        return TickwardClient(BASE, EMBEDDED_API_KEY, transport=httpx.ASGITransport(app=self.app))

    def options(self, **kw: Any) -> SyncOptions:
        """Import options with the test defaults."""
        kw.setdefault("project", "Team")
        kw.setdefault("source_key", self.source_key)
        return SyncOptions(now=datetime.now(UTC), **kw)

    def run(self, data: bytes, *, apply: bool = True, **kw: Any) -> tuple[Plan, ApplyReport | None]:
        """Plan (and apply) one import of ``data``."""

        async def go() -> tuple[Plan, ApplyReport | None]:
            async with self.client() as client:
                plan = await plan_source(client, self.store, data, self.options(**kw))
                report = await apply_plan(client, self.store, plan) if apply else None
                return plan, report

        result = asyncio.run(go())
        self.runs.append(result)
        return result

    def timers(self, project: str = "Team") -> dict[str, dict[str, Any]]:
        """Every timer of ``project`` as tickward reports it (read through /sync)."""

        async def go() -> dict[str, dict[str, Any]]:
            async with self.client() as client:
                snap = (await client.sync()).snapshot
                assert snap is not None
                ids = {p.id for p in snap.projects if p.name == project or p.id == project}
                return {t.id: t.model_dump(mode="json") for t in snap.timers
                        if t.project_id in ids}

        return asyncio.run(go())

    def project_id(self, name: str = "Team") -> str:
        """The id of the project named ``name``."""
        async def go() -> str:
            async with self.client() as client:
                return next(p.id for p in await client.list_projects() if p.name == name)

        return asyncio.run(go())


def writes_since(requests: Sequence[Any], start: int) -> list[Any]:
    """Writes (preview excluded: it changes nothing) among ``requests[start:]``."""
    return [r for r in requests[start:] if r.method in ("POST", "PATCH", "DELETE")
            and r.path != "/projects/preview"]


def free_port() -> int:
    """An ephemeral loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """The local tickward server over real HTTP on 127.0.0.1 (a uvicorn thread)."""

    app: Any
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        """The API base URL."""
        return f"http://127.0.0.1:{self.port}/api/v1"


def start_live(app: Any) -> LiveServer:
    """Serve ``app`` on an ephemeral port; wait until it accepts connections."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return LiveServer(app, port, server, thread)


def stop_live(live: LiveServer) -> None:
    """Stop a live server and wait for its thread."""
    live.server.should_exit = True
    live.thread.join(timeout=10)


__all__ = [
    "Event", "Harness", "LiveServer", "calendar", "free_port", "start_live", "stop_live",
    "team_events", "writes_since",
]
