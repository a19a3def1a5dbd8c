"""Issue 15.1: a lost answer to the last create never leaves that timer unrecorded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from import_helpers import LiveServer, calendar, team_events
from test_import_live import cli_args, snapshot

from ical_bridge.cli import cli
from ical_bridge.ingest.fetch import source_key_for
from ical_bridge.localserver import EMBEDDED_API_KEY
from ical_bridge.store import StateStore
from ical_bridge.sync import SyncOptions, apply_plan, plan_source
from ical_bridge.tickward import TickwardClient


class Killed(BaseException):
    """The process died right after tickward committed the write."""


class LoseLastCreate(httpx.AsyncBaseTransport):
    """Forwards to the server; the answer to the ``n``-th timer create never arrives."""

    def __init__(self, app: Any, n: int) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.n, self.creates = n, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/timers"):
            self.creates += 1
            if self.creates == self.n:
                raise Killed  # committed on the server; the answer is lost with the process
        return response


def _crashed_import(live: LiveServer, data: bytes, state: Path, n: int) -> None:
    async def go() -> None:
        transport = LoseLastCreate(live.app, n)
        async with TickwardClient(live.url, EMBEDDED_API_KEY, transport=transport) as client:
            with StateStore(f"sqlite:///{state}") as store:
                options = SyncOptions(project="Team", now=datetime.now(UTC),
                                      source_key=source_key_for(str(state.parent / "team.ics")))
                plan = await plan_source(client, store, data, options)
                await apply_plan(client, store, plan)

    with pytest.raises(Killed):
        asyncio.run(go())


def test_a_lost_answer_to_the_last_create_is_recorded_on_the_next_run(
    live_factory: Any, tmp_path: Path
) -> None:
    live = live_factory(tmp_path)
    source, state = tmp_path / "team.ics", tmp_path / "state.db"
    events = team_events(4)
    source.write_bytes(calendar(events))
    # The project exists; the import's 4th (last) create commits but its answer is lost.
    asyncio.run(_make_project(live))
    _crashed_import(live, source.read_bytes(), state, n=4)
    assert len(snapshot(live)) == 4
    with StateStore(f"sqlite:///{state}") as store:  # written ahead, not confirmed
        assert sorted(r.fingerprint == "pending" for r in store.timers(_pid(live))) == [
            False, False, False, True]

    again = CliRunner().invoke(cli, cli_args(live, source, state, "--yes"))
    assert again.exit_code == 0, again.output
    assert "Nothing to do" in again.output
    with StateStore(f"sqlite:///{state}") as store:  # reconciled although nothing was written
        records = store.timers(_pid(live))
        assert len(records) == 4 and all(r.fingerprint != "pending" for r in records)

    # The event leaves the calendar: its timer is archived like every other.
    source.write_bytes(calendar(events[:3]))
    gone = CliRunner().invoke(cli, cli_args(live, source, state, "--yes"))
    assert gone.exit_code == 0, gone.output
    archived = [t for t in snapshot(live).values() if t["archived_at"]]
    assert [t["label"] for t in archived] == [events[3].summary]


async def _make_project(live: LiveServer) -> None:
    async with TickwardClient(live.url, EMBEDDED_API_KEY) as client:
        await client.create_project({"name": "Team"})


def _pid(live: LiveServer) -> str:
    async def go() -> str:
        async with TickwardClient(live.url, EMBEDDED_API_KEY) as client:
            return next(p.id for p in await client.list_projects() if p.name == "Team")

    return asyncio.run(go())


def test_a_lost_answer_whose_event_leaves_before_the_next_run_is_archived(
    live_factory: Any, tmp_path: Path
) -> None:
    live = live_factory(tmp_path)
    source, state = tmp_path / "team.ics", tmp_path / "state.db"
    events = team_events(4)
    source.write_bytes(calendar(events))
    asyncio.run(_make_project(live))
    _crashed_import(live, source.read_bytes(), state, n=4)
    source.write_bytes(calendar(events[:3]))  # the lost timer's event leaves the calendar
    gone = CliRunner().invoke(cli, cli_args(live, source, state, "--yes"))
    assert gone.exit_code == 0, gone.output
    archived = [t for t in snapshot(live).values() if t["archived_at"]]
    assert [t["label"] for t in archived] == [events[3].summary]
