"""Conflicts as the user meets them (issue 11 polish): a kept conflict is named as such, and
a colour set in tickward survives feed-wins when the feed sets none."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from ical_bridge.cli import cli
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.tickward import TickwardClient
from tests.sync.import_helpers import calendar, team_events


def _edit(db: Path, label: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Edit the timer called ``label`` by hand in the store; returns all timers by label."""

    async def go() -> dict[str, Any]:
        app = create_app(db, rate_limit=None)
        transport = httpx.ASGITransport(app=app)
        try:
            async with TickwardClient("http://embedded.local/api/v1", EMBEDDED_API_KEY,
                                      transport=transport, pacing=False) as client:
                snap = (await client.sync()).snapshot
                assert snap is not None
                timers = {t.label: t for t in snap.timers}
                if patch:
                    target = timers[label]
                    await client.update_timer(target.project_id, target.id, patch)
                    snap = (await client.sync()).snapshot
                    assert snap is not None
                return {t.label: t.model_dump(mode="json") for t in snap.timers}
        finally:
            app.state.db.close()

    return asyncio.run(go())


def _import(tmp_path: Path, source: Path, *extra: str) -> Any:
    args = ["--local", str(tmp_path / "tw.sqlite3"), "import", str(source), "--project", "Team",
            "--yes", "--state", str(tmp_path / "s.db"), *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + result.stderr
    return result


def test_tickward_wins_says_the_conflict_was_kept(tmp_path: Path) -> None:
    source = tmp_path / "team.ics"
    source.write_bytes(calendar(team_events(3)))
    _import(tmp_path, source)
    _edit(tmp_path / "tw.sqlite3", "Meeting 1", {"label": "Meeting 1 (moved room)"})
    again = _import(tmp_path, source, "--conflict", "tickward-wins")
    assert "1 conflict kept (tickward wins)" in again.output
    assert "already matches" not in again.output
    assert "Meeting 1 (moved room)" in _edit(tmp_path / "tw.sqlite3", "", {})


def test_feed_wins_keeps_a_colour_the_feed_does_not_set(tmp_path: Path) -> None:
    source = tmp_path / "team.ics"
    source.write_bytes(calendar(team_events(3)))  # no COLOR anywhere
    _import(tmp_path, source)
    _edit(tmp_path / "tw.sqlite3", "Meeting 1", {"color": "#336699"})
    _import(tmp_path, source, "--conflict", "feed-wins")
    timers = _edit(tmp_path / "tw.sqlite3", "", {})
    assert timers["Meeting 1"]["color"] == "#336699"
