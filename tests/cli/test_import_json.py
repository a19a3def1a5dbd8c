"""`import --json` reports the project it wrote to, with its real id."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from click.testing import CliRunner

from ical_bridge.cli import cli
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.tickward import TickwardClient
from tests.conftest import SAMPLE_FEEDS


async def _projects(db: Path) -> dict[str, str]:
    app = create_app(db, rate_limit=None)
    transport = httpx.ASGITransport(app=app)
    async with TickwardClient("http://embedded.local/api/v1", EMBEDDED_API_KEY,
                              transport=transport) as client:
        return {p.name: p.id for p in await client.list_projects()}


def test_json_of_a_new_project_carries_the_created_id(tmp_path: Path) -> None:
    db, state = tmp_path / "tickward.sqlite3", tmp_path / "state.sqlite3"
    args = ["--local", str(db), "import", str(SAMPLE_FEEDS / "holidays_all_day_yearly.ics"),
            "--project", "Holidays", "--yes", "--json", "--state", str(state)]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    ids = asyncio.run(_projects(db))
    assert body["project"] == {**body["project"], "id": ids["Holidays"], "name": "Holidays"}
    assert body["summary"]["create"] > 0 and not body["dry_run"]

    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)
    assert second["project"]["id"] == ids["Holidays"]
    assert second["summary"]["create"] == 0 and second["changes"] == []
