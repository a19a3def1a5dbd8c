"""Per-account config, state and feed serving (in process; the HTTP-level proof of
isolation is in ``test_accounts.py``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from ical_bridge.cli.logs import parse_pairs
from ical_bridge.cli.sync import server_app
from ical_bridge.clock import FixedClock
from ical_bridge.config import load_config
from ical_bridge.daemon.accounts import Fleet, account_targets
from ical_bridge.errors import ConfigError
from ical_bridge.feeds import ensure_token
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.store import StateStore
from ical_bridge.tickward import TickwardClient
from tests.feeds.feed_harness import START, timer_body

ACCOUNTS = """
[[accounts]]
name = "school"
api_url = "http://school.test/api/v1"
api_key_env = "SCHOOL_KEY"

[[accounts]]
name = "club"
local = "club.sqlite3"
"""


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bridge.toml"
    path.write_text(f'[state]\nurl = "sqlite:///{tmp_path / "state.sqlite3"}"\n' + text)
    return path


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('[[feeds]]\nname = "a"\npath = "a.ics"\nproject = "P"\naccount = "scool"\n',
         "feeds[0].account", "did you mean 'school'"),
        ('[[exports]]\nname = "e"\nproject = "P"\naccount = "nobody"\n',
         "exports[0].account", "no [[accounts]] entry is called 'nobody'"),
        ('[[accounts]]\nname = "default"\nlocal = "x.sqlite3"\n',
         "accounts[2].name", "[tickward] account"),
        ('[[accounts]]\nname = "bare"\n', "accounts[2]", "api_key_env"),
        ('[[accounts]]\nname = "leak"\napi_key = "tw_live_SECRET1"\n',
         "accounts[2].api_key", "api_key_env"),
        ('[[accounts]]\nname = "school"\nlocal = "y.sqlite3"\n', "accounts[2].name", "duplicate"),
    ],
)
def test_account_references_and_secrets_are_checked(
    tmp_path: Path, text: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(config_file(tmp_path, ACCOUNTS + text))
    assert caught.value.key == key
    assert words in str(caught.value)
    assert "SECRET1" not in str(caught.value)


def test_only_the_accounts_in_use_get_a_client(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, ACCOUNTS + (
        '[[feeds]]\nname = "a"\npath = "a.ics"\nproject = "P"\naccount = "club"\n'
        '[[exports]]\nname = "e"\nproject = "P"\naccount = "school"\n'
    )))
    targets = account_targets(config)
    assert list(targets) == ["school", "club"]  # no feed or export uses [tickward]
    assert targets["club"].local == tmp_path / "club.sqlite3"  # relative to the config file


def test_each_account_keeps_its_own_snapshot_and_serves_its_own_exports(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, ACCOUNTS + (
        '[[exports]]\nname = "school-feed"\nproject = "Team"\naccount = "school"\n'
        '[[exports]]\nname = "club-feed"\nproject = "Team"\naccount = "club"\n'
    )))

    async def scenario() -> tuple[str, str, list[str]]:
        apps = {name: create_app(None, rate_limit=None) for name in ("school", "club")}
        clients = {
            # both servers name their API alike: only the account tells them apart
            name: TickwardClient("http://tickward.test/api/v1", EMBEDDED_API_KEY,
                                 transport=httpx.ASGITransport(app=app), pacing=False)
            for name, app in apps.items()
        }
        for name, client in clients.items():  # a project "Team" in each, different timers
            project = await client.create_project({"name": "Team"})
            await client.create_timer(project.id, timer_body(label=f"{name.title()} event"))
        with StateStore(config.state.url) as store:
            fleet = Fleet(config, store, clients, clock=FixedClock(START))
            tokens = {e.name: ensure_token(store, e.name) for e in config.exports}
            app = server_app(config, fleet)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://f.test") as http:
                school = (await http.get(f"/feeds/{tokens['school-feed']}.ics")).text
                club = (await http.get(f"/feeds/{tokens['club-feed']}.ics")).text
            keys = sorted(k for k in _kv_keys(store) if "sync-snapshot" in k)
        for client in clients.values():
            await client.aclose()
        return school, club, keys

    school, club, keys = asyncio.run(scenario())
    assert "SUMMARY:School event" in school and "Club event" not in school
    assert "SUMMARY:Club event" in club and "School event" not in club
    # the same API URL for both, yet two persisted snapshots: one per account
    assert len([k for k in keys if not k.endswith(":etag")]) == 2
    assert any(k.startswith("account:club:") for k in keys)
    assert any(k.startswith("account:school:") for k in keys)


def _kv_keys(store: StateStore) -> list[str]:
    from sqlalchemy import select

    from ical_bridge.store.schema import kv

    with store._read() as conn:
        return [row[0] for row in conn.execute(select(kv.c.key))]


@pytest.mark.parametrize(
    ("line", "pairs"),
    [
        ('feed=team outcome=synced created=2 requests=5 ms=41',
         {"feed": "team", "outcome": "synced", "created": 2, "requests": 5, "ms": 41}),
        ('feed=x outcome=failed error="http://h/x.ics: HTTP 500 \\"oops\\""',
         {"feed": "x", "outcome": "failed", "error": 'http://h/x.ics: HTTP 500 "oops"'}),
        ("daemon started feeds=3", None),
        ("webhook evt_1 (timer.updated): snapshot invalidated", None),
    ],
)
def test_json_logs_lift_only_whole_key_value_lines(line: str, pairs: object) -> None:
    assert parse_pairs(line) == pairs


def test_moving_a_feed_to_another_account_forces_a_fresh_plan(tmp_path: Path) -> None:
    from ical_bridge.daemon.bridge import feed_spec

    feed = '[[feeds]]\nname = "a"\npath = "a.ics"\nproject = "P"\n'
    before = load_config(config_file(tmp_path, ACCOUNTS + feed)).feeds[0]
    after = load_config(config_file(tmp_path, ACCOUNTS + feed + 'account = "club"\n')).feeds[0]
    # the content hash includes the fingerprint: "unchanged" must not hide a new tickward
    assert feed_spec(before).fingerprint != feed_spec(after).fingerprint
