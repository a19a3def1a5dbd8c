"""Issue 15.3: concurrent imports into a project that does not exist yet make ONE project."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from import_helpers import LiveServer, calendar, start_live, stop_live, team_events

from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.tickward import TickwardClient

REPO = Path(__file__).resolve().parents[2]


def slow(app: Any, seconds: float) -> Any:
    """``app`` answering every request ``seconds`` late (a slow tickward)."""

    async def delayed(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(seconds)
        await app(scope, receive, send)

    delayed.state = app.state  # type: ignore[attr-defined]
    return delayed


def start(tmp: Path, delay: float) -> tuple[LiveServer, Any]:
    app = create_app(tmp / "tw.sqlite3", rate_limit=None)
    return start_live(slow(app, delay)), app


def spawn(live: LiveServer, source: Path, state: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TICKWARD_API_KEY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "ical_bridge", "--api-url", live.url, "--api-key",
         EMBEDDED_API_KEY, "import", str(source), "--project", "Team", "--state", str(state),
         "--yes", "--json"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )


def projects(live: LiveServer) -> list[tuple[str, int]]:
    async def go() -> list[tuple[str, int]]:
        async with TickwardClient(live.url, EMBEDDED_API_KEY) as client:
            snap = (await client.sync()).snapshot
            assert snap is not None
            return sorted((p.name, sum(t.project_id == p.id for t in snap.timers))
                          for p in snap.projects)

    return asyncio.run(go())


def test_three_concurrent_imports_make_one_project_and_one_reports_the_creates(
    tmp_path: Path
) -> None:
    live, _ = start(tmp_path, 0.25)
    try:
        sources = [tmp_path / f"team ({i}).ics" for i in range(3)]  # three identities
        for source in sources:
            source.write_bytes(calendar(team_events(6)))
        procs = [spawn(live, source, tmp_path / "state.db") for source in sources]
        outs = [p.communicate(timeout=120) for p in procs]
        for proc, (_, err) in zip(procs, outs, strict=True):
            assert proc.returncode == 0, err.decode()
        assert projects(live) == [("Team", 6)]
        created = sorted(json.loads(out)["summary"]["create"] for out, _ in outs)
        assert created == [0, 0, 6]  # one run created them; the others found them there
    finally:
        stop_live(live)


def test_a_duplicate_project_from_an_old_race_is_recovered(tmp_path: Path) -> None:
    live, _ = start(tmp_path, 0.0)
    try:
        source, state = tmp_path / "team.ics", tmp_path / "state.db"
        source.write_bytes(calendar(team_events(3)))
        first = spawn(live, source, state)
        first.communicate(timeout=60)
        assert first.returncode == 0

        async def duplicate() -> None:  # what a race before this fix left behind
            async with TickwardClient(live.url, EMBEDDED_API_KEY) as client:
                await client.create_project({"name": "Team"})

        asyncio.run(duplicate())
        source.write_bytes(calendar(team_events(4)))
        again = spawn(live, source, state)
        out, err = again.communicate(timeout=60)
        assert again.returncode == 0, err.decode()
        plan = json.loads(out)
        assert plan["summary"]["create"] == 1
        assert any(w["code"] == "duplicate_project" for w in plan["warnings"])
        assert projects(live) == [("Team", 0), ("Team", 4)]
    finally:
        stop_live(live)


def test_two_concurrent_syncs_of_different_feeds_make_one_project(tmp_path: Path) -> None:
    live, _ = start(tmp_path, 0.25)
    try:
        source = tmp_path / "team.ics"
        source.write_bytes(calendar(team_events(5)))
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("TICKWARD_API_KEY", None)
        procs = []
        for name in ("team-a", "team-b"):
            config = tmp_path / f"{name}.toml"
            config.write_text(f'[state]\nurl = "sqlite:///{tmp_path / "state.db"}"\n\n'
                              f'[[feeds]]\nname = "{name}"\npath = "{source}"\n'
                              'project = "Team"\n')
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "ical_bridge", "--api-url", live.url, "--api-key",
                 EMBEDDED_API_KEY, "sync", "--config", str(config), "--once", "--json"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=env))
        outs = [p.communicate(timeout=120) for p in procs]
        for proc, (_, err) in zip(procs, outs, strict=True):
            assert proc.returncode == 0, err.decode()
        assert projects(live) == [("Team", 5)]
        created = sorted(json.loads(out)["feeds"][0]["counts"]["create"] for out, _ in outs)
        assert created == [0, 5]  # the second feed finds the first one's timers: not_ours
    finally:
        stop_live(live)
