"""Issue 12: the embedded store's fast path writes what the HTTP path writes, and a crash
between two batches of create records loses nothing (issue 15.1)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from import_helpers import Event, calendar, team_events

from ical_bridge.cli import cli
from ical_bridge.localserver import EMBEDDED_API_KEY, PlanLimits
from ical_bridge.store import StateStore

RAISED = PlanLimits(timers_per_project=500, active_timers_per_space=500)
CAPS = ["--limits", "500/500/4", "--source-key", "team", "--project", "Team", "--yes"]
LOCAL_CAPS = ["--timers-per-project", "500", "--active-timers-per-space", "500"]
# what a timer is, without what differs between two servers (ids of projects, clocks)
_COLUMNS = ("id, label, target_date, timezone, color, description, space_id, notify, mode,"
            " milestones, recurrence, pinned, image, reminders, archived_at, shared_at")


def _events(n: int) -> list[Event]:
    return [*team_events(n - 1), Event("weekly@tests", "Weekly sync", 2, rrule="FREQ=WEEKLY")]


def _stored_timers(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT {_COLUMNS} FROM timers ORDER BY id").fetchall()


def _idempotency_statuses(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return sorted(r[0] for r in conn.execute("SELECT status FROM idempotency"))


def _records(state: Path) -> list[tuple[Any, ...]]:
    with StateStore(f"sqlite:///{state}") as store, sqlite3.connect(state) as conn:
        [pid] = {r[0] for r in conn.execute("SELECT project_id FROM timer_records")}
        return [(r.timer_id, r.source_key, r.uid, r.recurrence_id, r.part, r.strategy,
                 r.fingerprint, r.series_end) for r in store.timers(pid)]


def _import(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def test_an_embedded_import_stores_what_an_import_over_http_stores(
    live_factory: Any, tmp_path: Path
) -> None:
    source = tmp_path / "team.ics"
    source.write_bytes(calendar(_events(90)))  # a nested create of 50, then single creates
    live = live_factory(tmp_path, plan=RAISED)
    over_http = _import("--api-url", live.url, "--api-key", EMBEDDED_API_KEY, "import",
                        str(source), "--state", str(tmp_path / "http-state.db"), *CAPS)
    local = tmp_path / "embedded.sqlite3"
    embedded = _import("--local", str(local), *LOCAL_CAPS, "import", str(source),
                       "--state", str(tmp_path / "embedded-state.db"), *CAPS)

    for body in (over_http, embedded):
        body["result"].pop("project_id")
        body["project"].pop("id")
    assert embedded == over_http
    assert embedded["result"]["done"]["create"] > 50
    timers = _stored_timers(local)
    assert timers == _stored_timers(tmp_path / "tickward.sqlite3")
    assert len(timers) == embedded["result"]["done"]["create"]
    # every keyed write left the same replayable answer behind
    assert _idempotency_statuses(local) == _idempotency_statuses(tmp_path / "tickward.sqlite3")
    records = _records(tmp_path / "embedded-state.db")
    assert records == _records(tmp_path / "http-state.db")
    assert len(records) == len(timers) and all(r[6] != "pending" for r in records)


_CRASHING_IMPORT = """
import asyncio, os, sys
from datetime import UTC, datetime
from pathlib import Path

import httpx

from ical_bridge.cli.context import embedded_client
from ical_bridge.localserver import EMBEDDED_API_KEY, PlanLimits, create_app
from ical_bridge.store import StateStore
from ical_bridge.sync import Limits, SyncOptions, apply_plan, intent, plan_source

intent.RECORD_BATCH = 10
source, local, state, die_after = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])


class DieAfter(httpx.AsyncBaseTransport):
    # The process dies (no cleanup at all) right after the n-th single create committed.
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.creates = inner, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/timers"):
            self.creates += 1
            if self.creates == die_after:
                os._exit(9)
        return response


async def main() -> None:
    app = create_app(local, rate_limit=None,
                     plan=PlanLimits(timers_per_project=500, active_timers_per_space=500))
    async with embedded_client(app, EMBEDDED_API_KEY, wrap=DieAfter) as client:
        with StateStore(f"sqlite:///{state}") as store:
            options = SyncOptions(project="Team", now=datetime.now(UTC), source_key="team",
                                  limits=Limits(timers_per_project=500,
                                                active_timers_per_space=500))
            plan = await plan_source(client, store, source.read_bytes(), options)
            await apply_plan(client, store, plan)


asyncio.run(main())
"""


def test_a_crash_between_two_batches_of_records_loses_nothing(tmp_path: Path) -> None:
    source, local, state = tmp_path / "team.ics", tmp_path / "local.sqlite3", tmp_path / "s.db"
    events = team_events(80)  # 50 in the nested project create, then 30 single creates
    source.write_bytes(calendar(events))
    script = tmp_path / "crash.py"
    script.write_text(textwrap.dedent(_CRASHING_IMPORT))
    died = subprocess.run([sys.executable, str(script), str(source), str(local), str(state),
                           "25"], capture_output=True, text=True, timeout=120)
    assert died.returncode == 9, died.stderr
    # tickward has 75 timers; records: 50 nested + two batches of 10 confirmed, the 5
    # created after the last batch and the 5 never sent are still pending
    assert len(_stored_timers(local)) == 75
    fingerprints = [r[6] for r in _records(state)]
    assert len(fingerprints) == 80
    assert fingerprints.count("pending") == 10

    again = _import("--local", str(local), *LOCAL_CAPS, "import", str(source),
                    "--state", str(state), *CAPS)
    assert again["result"]["done"] == {"create": 5}  # only the 5 never sent
    timers = _stored_timers(local)
    assert sorted(t[1] for t in timers) == sorted(e.summary for e in events)  # none twice
    records = _records(state)
    assert len(records) == 80 and all(r[6] != "pending" for r in records)
    assert {r[0] for r in records} == {t[0] for t in timers}

    result = CliRunner().invoke(cli, ["--local", str(local), *LOCAL_CAPS, "import", str(source),
                                      "--state", str(state), *CAPS])
    assert result.exit_code == 0, result.output
    assert "Nothing to do" in result.output
