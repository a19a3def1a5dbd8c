"""``unsync`` and ``sync --full`` (issue 13, item 6): undo everything, forget the state."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from ical_bridge.cli import cli
from ical_bridge.errors import UserError
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.store import StateStore
from ical_bridge.tickward import TickwardClient

_FEED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
X-WR-CALNAME:Team
{events}END:VCALENDAR
"""
_EVENT = """BEGIN:VEVENT
UID:{uid}
DTSTAMP:20261101T000000Z
DTSTART:2040011{day}T100000Z
SUMMARY:{label}
END:VEVENT
"""


def _write_feed(path: Path, labels: list[str]) -> None:
    events = "".join(_EVENT.format(uid=f"e{i}@t", day=i, label=label)
                     for i, label in enumerate(labels))
    path.write_text(_FEED.format(events=events))


def _setup(tmp_path: Path) -> Path:
    _write_feed(tmp_path / "team.ics", ["One", "Two", "Three"])
    config = tmp_path / "bridge.toml"
    config.write_text(f"""
[tickward]
local = "{tmp_path / 'tw.sqlite3'}"
[state]
url = "sqlite:///{tmp_path / 'state.sqlite3'}"
[[feeds]]
name = "team"
path = "team.ics"
project = "Team"
window = "6000d"
""")
    return config


def _cli(*args: str) -> Any:
    run = CliRunner().invoke(cli, list(args))
    return run


async def _call(local: Path, what: str) -> Any:
    app = create_app(local, rate_limit=None)
    async with TickwardClient("http://embedded.local/api/v1", EMBEDDED_API_KEY,
                              transport=httpx.ASGITransport(app=app)) as client:
        if what == "manual":
            project = next(p for p in await client.list_projects() if p.name == "Team")
            await client.create_timer(project.id, {"label": "Mine", "notify": False,
                                                   "target_date": "2040-02-01T10:00:00Z",
                                                   "timezone": "UTC"})
            return None
        snap = (await client.sync()).snapshot
        assert snap is not None
        return {t.label: t.model_dump(mode="json") for t in snap.timers}


def _timers(tmp_path: Path) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = asyncio.run(_call(tmp_path / "tw.sqlite3", "timers"))
    return result


def _state(tmp_path: Path) -> tuple[int, bool]:
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}") as store:
        records = sum(len(store.timers(p)) for p in {r for r in _project_ids(store)})
        return records, store.feed("team") is not None


def _project_ids(store: StateStore) -> set[str]:
    with store._read() as conn:  # the test looks at every project's records
        from sqlalchemy import select

        from ical_bridge.store.schema import timer_records
        return {row[0] for row in conn.execute(select(timer_records.c.project_id)).all()}


def test_unsync_feed_dry_run_then_apply_leaves_no_bridge_timer_and_no_state(
    tmp_path: Path,
) -> None:
    config = _setup(tmp_path)
    assert _cli("sync", "--config", str(config), "--once").exit_code == 0
    assert set(_timers(tmp_path)) == {"One", "Two", "Three"}
    asyncio.run(_call(tmp_path / "tw.sqlite3", "manual"))  # a timer the bridge did not make
    assert _state(tmp_path) == (3, True)

    dry = _cli("unsync", "--feed", "team", "--config", str(config), "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.stdout)
    assert planned["summary"] == {"archive": 3, "delete": 0}
    assert {c["label"] for c in planned["changes"]} == {"One", "Two", "Three"}
    assert not any(t["archived_at"] for t in _timers(tmp_path).values())  # nothing written
    assert _state(tmp_path) == (3, True)

    refused = _cli("unsync", "--feed", "team", "--config", str(config))
    # Not a terminal and no --yes: the CLI's main() turns this UserError into exit 2.
    assert isinstance(refused.exception, UserError) and "--yes" in str(refused.exception)

    done = _cli("unsync", "--feed", "team", "--config", str(config), "--yes")
    assert done.exit_code == 0, done.output
    timers = _timers(tmp_path)
    active = {label for label, t in timers.items() if not t["archived_at"]}
    assert active == {"Mine"}
    assert _state(tmp_path) == (0, False)


def test_unsync_project_delete_removes_every_bridge_timer_but_not_others(
    tmp_path: Path,
) -> None:
    config = _setup(tmp_path)
    assert _cli("sync", "--config", str(config), "--once").exit_code == 0
    asyncio.run(_call(tmp_path / "tw.sqlite3", "manual"))
    done = _cli("--local", str(tmp_path / "tw.sqlite3"), "unsync", "--project", "Team",
                "--delete", "--yes", "--state", str(tmp_path / "state.sqlite3"), "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["result"]["done"] == {"delete": 3}
    assert set(_timers(tmp_path)) == {"Mine"}
    assert _state(tmp_path)[0] == 0


def test_unsync_needs_one_target(tmp_path: Path) -> None:
    assert _cli("unsync").exit_code == 2
    assert _cli("unsync", "--feed", "team").exit_code == 2  # --feed needs --config


def test_sync_full_replans_although_the_feed_did_not_change(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    assert _cli("sync", "--config", str(config), "--once").exit_code == 0
    again = _cli("sync", "--config", str(config), "--once", "--json")
    assert json.loads(again.stdout)["feeds"][0]["outcome"] == "unchanged"  # same bytes: no re-plan
    full = _cli("sync", "--config", str(config), "--once", "--json", "--full")
    assert full.exit_code == 0, full.output
    result = json.loads(full.stdout)["feeds"][0]
    assert result["outcome"] == "synced" and result["counts"]["unchanged"] == 3
    after = _cli("sync", "--config", str(config), "--once", "--json")
    assert json.loads(after.stdout)["feeds"][0]["outcome"] == "unchanged"  # --full was for one pass


def test_unsync_feed_finds_its_timers_after_the_state_was_lost(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    assert _cli("sync", "--config", str(config), "--once").exit_code == 0
    (tmp_path / "state.sqlite3").unlink()  # the state store is gone
    done = _cli("unsync", "--feed", "team", "--config", str(config), "--yes", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["result"]["done"] == {"archive": 3}
    assert all(t["archived_at"] for t in _timers(tmp_path).values())


def test_unsync_feed_whose_source_is_gone_removes_what_the_state_remembers(
    tmp_path: Path,
) -> None:
    config = _setup(tmp_path)
    assert _cli("sync", "--config", str(config), "--once").exit_code == 0
    (tmp_path / "team.ics").unlink()
    done = _cli("unsync", "--feed", "team", "--config", str(config), "--yes", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["result"]["done"] == {"archive": 3}
    assert "cannot read feed 'team'" in done.stderr
