"""``ical-bridge export``, ``export-token`` and ``app_from_config``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import icalendar
import pytest
from click.testing import CliRunner

from ical_bridge.cli import cli, main
from ical_bridge.config import load_config
from ical_bridge.feeds.server import app_from_config
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.store import StateStore
from ical_bridge.tickward import TickwardClient
from tests.feeds.feed_harness import timer_body


def _client(app: object) -> TickwardClient:
    return TickwardClient("http://tickward.test/api/v1", EMBEDDED_API_KEY,
                          transport=httpx.ASGITransport(app=app), pacing=False)  # type: ignore[arg-type]


def _seed(db: Path) -> None:
    async def main_() -> None:
        app = create_app(db, rate_limit=None)
        async with _client(app) as c:
            project = await c.create_project({"name": "Team"})
            await c.create_space(project.id, {"id": "ops", "name": "Ops"})
            await c.create_timer(project.id, timer_body(
                recurrence={"type": "monthly", "enabled": True, "lastDay": True},
                notify=True, reminders=[{"offset_minutes": 30}], color="#336699"))
            await c.create_timer(project.id, timer_body(id="deploy_0001", label="Deploy",
                                                        space_id="ops"))
            await c.create_timer(project.id, timer_body(id="old_00001", label="Old"))
            await c.update_timer(project.id, "old_00001", {"archived_at": "2026-01-01T00:00:00Z"})
        app.state.db.close()

    asyncio.run(main_())


def _shares(db: Path) -> list[str]:
    async def main_() -> list[str]:
        app = create_app(db, rate_limit=None)
        try:
            async with _client(app) as c:
                (project,) = await c.list_projects()
                return sorted(s.timer_id or "" for s in await c.list_shares(project.id))
        finally:
            app.state.db.close()

    return asyncio.run(main_())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "tickward.sqlite3"
    _seed(path)
    return path


def _events(data: bytes) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(data)
    return {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}


def test_export_writes_the_project_to_a_file(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "team.ics"
    result = CliRunner().invoke(
        cli, ["--local", str(db), "export", "--project", "Team", "--duration", "PT15M",
              "-o", str(out)])
    assert result.exit_code == 0, result.output
    events = _events(out.read_bytes())
    assert sorted(events) == ["Deploy", "Launch"]  # archived left out
    launch = events["Launch"]
    assert launch["RRULE"].to_ical() == b"FREQ=MONTHLY;BYMONTHDAY=-1"
    assert launch["DURATION"].dt.total_seconds() == 900
    assert str(launch["X-TICKWARD-COLOR"]) == "#336699"
    assert [a["TRIGGER"].dt.total_seconds() for a in launch.walk("VALARM")] == [-1800]


def test_export_to_stdout_of_one_space_with_archived(db: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--local", str(db), "export", "--project", "Team", "--space", "Ops",
              "--include-archived"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("BEGIN:VCALENDAR")
    assert sorted(_events(result.stdout_bytes)) == ["Deploy"]
    everything = CliRunner().invoke(
        cli, ["--local", str(db), "export", "--project", "Team", "--include-archived"])
    events = _events(everything.stdout_bytes)
    assert str(events["Old"]["STATUS"]) == "CANCELLED"


def test_share_links_of_the_embedded_store_are_omitted_with_a_warning(db: Path) -> None:
    # issue 11: http://embedded.local/share/… URLs resolve nowhere; say so, write none
    args = ["--local", str(db), "export", "--project", "Team", "--share-links"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "no public share links" in first.stderr
    assert _shares(db) == []
    assert all("URL" not in e for e in _events(first.stdout_bytes).values())
    assert "embedded.local" not in first.stdout


def test_unknown_project_is_a_usage_error_with_close_names(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--local", str(db), "export", "--project", "Tema"])
    assert exit_info.value.code == 2
    assert "did you mean 'Team'" in capsys.readouterr().err


def _config(tmp_path: Path, db: Path) -> Path:
    path = tmp_path / "bridge.toml"
    path.write_text(
        f"""
[tickward]
local = "{db}"

[state]
url = "sqlite:///{tmp_path / 'state.sqlite3'}"

[server]
host = "127.0.0.1"
port = 8799
webhook_secret_env = "ICB_TEST_WEBHOOK_SECRET"

[[exports]]
name = "team"
project = "Team"
refresh = "30m"
""",
        encoding="utf-8",
    )
    return path


def test_export_token_show_and_rotate(db: Path, tmp_path: Path) -> None:
    config = _config(tmp_path, db)
    shown = CliRunner().invoke(cli, ["export-token", "show", "team", "--config", str(config)])
    assert shown.exit_code == 0, shown.output
    webcal, plain = shown.stdout.split()
    assert webcal.startswith("webcal://127.0.0.1:8799/feeds/") and webcal.endswith(".ics")
    again = CliRunner().invoke(cli, ["export-token", "show", "team", "--config", str(config)])
    assert again.stdout.split() == [webcal, plain]
    rotated = CliRunner().invoke(cli, ["export-token", "rotate", "team", "--config", str(config)])
    assert rotated.exit_code == 0
    assert rotated.stdout.split()[0] != webcal
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}") as store:
        token = store.export_token("team")
    assert token is not None and rotated.stdout.split()[0].endswith(f"/feeds/{token}.ics")
    unknown = CliRunner().invoke(cli, ["export-token", "rotate", "teem", "--config", str(config)])
    assert unknown.exit_code != 0 and "did you mean team" in str(unknown.exception)


def test_feed_app_from_the_daemon_config(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICB_TEST_WEBHOOK_SECRET", "whsec_from_env")
    config = load_config(_config(tmp_path, db))

    async def main_() -> None:
        tickward = create_app(db, rate_limit=None)
        with StateStore(config.state.url) as store:
            async with _client(tickward) as client:
                app = app_from_config(config, store, client)
                token = store.export_token("team")
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                             base_url="http://feeds.test") as http:
                    feed = await http.get(f"/feeds/{token}.ics")
                    assert feed.status_code == 200
                    assert feed.headers["cache-control"] == "max-age=1800"
                    unsigned = await http.post("/hooks/tickward", content=b"{}")
                    assert unsigned.status_code == 401  # the secret came from the env
        tickward.state.db.close()

    asyncio.run(main_())
