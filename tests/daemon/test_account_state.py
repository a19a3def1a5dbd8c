"""Per-account config, state and feed serving (in process; the HTTP-level proof of
isolation is in ``test_accounts.py``)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any

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


class _HoldFirstDelete(httpx.AsyncBaseTransport):
    """An account's transport whose DELETE waits (at most 3 s) for the other account's."""

    def __init__(self, app: Any, mine: asyncio.Event, theirs: asyncio.Event) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.mine, self.theirs = mine, theirs

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":  # only pruning deletes here: this account prunes now
            self.mine.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.theirs.wait(), 3)
        return await self.inner.handle_async_request(request)


def test_every_account_is_pruned_while_another_account_prunes(tmp_path: Path) -> None:
    """Regression: one claim name for every account's pruning let only one account prune."""
    from ical_bridge.localserver import PlanLimits
    from ical_bridge.store.claims import LocalClaims
    from ical_bridge.sync import Limits
    from tests.daemon.daemon_helpers import NOW, one_offs

    caps = {"timers_per_project": 10, "active_timers_per_space": 10,
            "project_create_max_timers": 10}
    feeds = ""
    for account in ("school", "club"):
        path = tmp_path / f"{account}.ics"
        path.write_bytes(one_offs(8, NOW + timedelta(hours=1), label=account))  # one a day
        feeds += (f'[[feeds]]\nname = "{account}-team"\npath = "{path}"\nproject = "Team"\n'
                  f'account = "{account}"\n')
    config = load_config(config_file(tmp_path, ACCOUNTS + feeds))
    clock = FixedClock(NOW)
    apps = {a: create_app(None, rate_limit=None, clock=clock, plan=PlanLimits(**caps))
            for a in ("school", "club")}

    async def scenario() -> dict[str, list[tuple[str, bool]]]:
        deleting = {a: asyncio.Event() for a in apps}
        clients = {
            a: TickwardClient(
                "http://tickward.test/api/v1", EMBEDDED_API_KEY, clock=clock, pacing=False,
                transport=_HoldFirstDelete(app, deleting[a],
                                           deleting["club" if a == "school" else "school"]),
            )
            for a, app in apps.items()
        }
        with StateStore(config.state.url) as store:
            # one claims object for the whole fleet, as `daemon` builds it
            fleet = Fleet(config, store, clients, clock=clock, claims=LocalClaims(),
                          limits=Limits(**caps))
            assert all(r.outcome == "synced" for r in await fleet.run_all())
            for client in clients.values():  # a user's own archived timer in each project
                [project] = (await client.sync()).snapshot.projects  # type: ignore[union-attr]
                when = (NOW + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
                await client.create_timer(project.id, {"id": "manual_one", "label": "Mine",
                                                       "target_date": when, "timezone": "UTC"})
                await client.update_timer(project.id, "manual_one",
                                          {"archived_at": "2026-11-01T00:00:00Z"})
            clock.advance(timedelta(days=4, hours=2))  # events 0-4 are over: 9 timers, cap 10
            await fleet.maintain()
            found = {}
            for account, client in clients.items():
                snap = (await client.sync()).snapshot
                assert snap is not None
                found[account] = sorted((t.label, bool(t.archived_at)) for t in snap.timers)
        for client in clients.values():
            await client.aclose()
        return found

    for account, timers in asyncio.run(scenario()).items():
        # headroom 2 under the cap of 10: one archived bridge timer goes, the user's stays
        assert len(timers) == 8, (account, timers)
        assert ("Mine", True) in timers
        assert [label for label, archived in timers if not archived] == [
            f"{account} {i}" for i in (5, 6, 7)
        ]
