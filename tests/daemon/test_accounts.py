"""Many accounts in one daemon: one account's 429s or outage never hold up another's feeds.

Two local tickward servers stand for two accounts, each accepting only its own
key. The "club" server is made to misbehave (every request answered 429 with
Retry-After, or every request held without an answer); the "school" account's
feeds must still be synced, and re-synced after a change, while that lasts.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ical_bridge.localserver import create_app
from tests.conftest import REPO
from tests.daemon.daemon_helpers import OBSERVER_KEY, FeedHost, Tickward, one_offs, wait_for

START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
SCHOOL_KEY = "tw_school_0123456789"
CLUB_KEY = "tw_club_9876543210"


class Misbehave:
    """ASGI wrapper: ``mode`` "429" answers the bridge's requests 429, "hang" holds them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.mode = ""
        self.seen = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        observer = (b"authorization", f"Bearer {OBSERVER_KEY}".encode()) in scope.get("headers", [])
        if scope["type"] == "http" and not observer:  # the test's own reads pass
            self.seen += 1
            if self.mode == "429":
                answer = JSONResponse(
                    {"error": {"type": "rate_limited", "message": "slow down"}},
                    status_code=429,
                    headers={"Retry-After": "2"},
                )
                await answer(scope, receive, send)
                return
            while self.mode == "hang":  # noqa: ASYNC110 - set from the test thread
                await asyncio.sleep(0.05)
        await self.app(scope, receive, send)


def account_server(tmp: Path, name: str, key: str) -> tuple[Tickward, Misbehave]:
    server = Tickward(tmp / f"{name}.sqlite3", rate_limit=None)
    server.app = create_app(
        tmp / f"{name}.sqlite3", api_keys={key: "full_access", OBSERVER_KEY: "read"},
        rate_limit=None,
    )
    gate = Misbehave(server.app)
    server.server.config.app = gate
    server.start()
    return server, gate


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, tuple[Tickward, Misbehave]]]:
    made = {
        "school": account_server(tmp_path, "school", SCHOOL_KEY),
        "club": account_server(tmp_path, "club", CLUB_KEY),
    }
    yield made
    for server, gate in made.values():
        gate.mode = ""
        server.stop()


def labels(server: Tickward) -> list[str]:
    response = httpx.get(
        f"{server.url}/sync", headers={"Authorization": f"Bearer {OBSERVER_KEY}"}, timeout=10
    )
    response.raise_for_status()
    return sorted(t["label"] for t in response.json()["timers"] if not t.get("archived_at"))


def write_config(tmp: Path, feeds: FeedHost, school: Tickward, club: Tickward) -> Path:
    text = f'[state]\nurl = "sqlite:///{tmp / "state.sqlite3"}"\n\n'
    text += (
        f'[[accounts]]\nname = "school"\napi_url = "{school.url}"\napi_key_env = "SCHOOL_KEY"\n\n'
        f'[[accounts]]\nname = "club"\napi_url = "{club.url}"\napi_key_env = "CLUB_KEY"\n\n'
    )
    for name, account in (("maths", "school"), ("arts", "school"), ("chess", "club")):
        text += (
            f'[[feeds]]\nname = "{name}"\nurl = "{feeds.base}/{name}.ics"\n'
            f'project = "{name.title()}"\ninterval = "1s"\naccount = "{account}"\n\n'
        )
    path = tmp / "bridge.toml"
    path.write_text(text)
    return path


def run(args: list[str], env: dict[str, str], **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ical_bridge", *args], cwd=REPO, env=env, **kw
    )


def account_env(**keys: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TICKWARD_API_KEY"}
    return {**env, "PYTHONUNBUFFERED": "1", **keys}


@pytest.mark.slow
@pytest.mark.parametrize("trouble", ["429", "hang"])
def test_one_accounts_trouble_never_delays_another_accounts_feeds(
    tmp_path: Path,
    feed_host: FeedHost,
    servers: dict[str, tuple[Tickward, Misbehave]],
    trouble: str,
) -> None:
    school, _ = servers["school"]
    club, club_gate = servers["club"]
    for name in ("maths", "arts", "chess"):
        (feed_host.root / f"{name}.ics").write_bytes(one_offs(2, START, label=name.title()))
    config = write_config(tmp_path, feed_host, school, club)
    club_gate.mode = trouble
    log = (tmp_path / "daemon.log").open("wb")
    daemon = run(
        ["sync", "--config", str(config)],
        account_env(SCHOOL_KEY=SCHOOL_KEY, CLUB_KEY=CLUB_KEY),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wanted = ["Arts 0", "Arts 1", "Maths 0", "Maths 1"]
        wait_for(lambda: labels(school) == wanted, 60, "the school account's feeds", step=0.2)
        # …and they keep their schedule: a change is picked up on a later pass
        (feed_host.root / "maths.ics").write_bytes(one_offs(3, START, label="Algebra"))
        wanted = ["Algebra 0", "Algebra 1", "Algebra 2", "Arts 0", "Arts 1"]
        wait_for(lambda: labels(school) == wanted, 60, "the school feed's change", step=0.2)
        assert club_gate.seen >= 1  # the club account was being tried all along
        assert labels(club) == []  # …and got nowhere (its server answers nothing useful)
        assert club_gate.mode == trouble
        club_gate.mode = ""  # the club's tickward recovers: its feed catches up by itself
        wait_for(lambda: labels(club) == ["Chess 0", "Chess 1"], 90, "the club's feed", step=0.3)
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=20)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
            log.close()
    output = (tmp_path / "daemon.log").read_text(errors="replace")
    assert SCHOOL_KEY not in output and CLUB_KEY not in output

    shown = subprocess.run(
        [sys.executable, "-m", "ical_bridge", "status", "--config", str(config), "--json"],
        cwd=REPO, capture_output=True, timeout=60, check=True, env=account_env(),
    )
    report = {f["name"]: f for f in json.loads(shown.stdout)["feeds"]}
    assert {n: f["account"] for n, f in report.items()} == {
        "maths": "school", "arts": "school", "chess": "club",
    }
    text = subprocess.run(
        [sys.executable, "-m", "ical_bridge", "status", "--config", str(config)],
        cwd=REPO, capture_output=True, timeout=60, check=True, env=account_env(),
    ).stdout.decode()
    assert "(account club)" in text and "(account school)" in text


def test_an_accounts_key_comes_only_from_its_environment_variable(
    tmp_path: Path, feed_host: FeedHost, servers: dict[str, tuple[Tickward, Misbehave]]
) -> None:
    school, _ = servers["school"]
    club, _ = servers["club"]
    for name in ("maths", "arts", "chess"):
        (feed_host.root / f"{name}.ics").write_bytes(one_offs(1, START, label=name.title()))
    config = write_config(tmp_path, feed_host, school, club)
    # the global --api-key (the default account's) is never lent to a named account
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ical_bridge", "--api-key", SCHOOL_KEY, "sync", "--config",
         str(config), "--once"],
        cwd=REPO, capture_output=True, timeout=120, env=account_env(SCHOOL_KEY=SCHOOL_KEY),
    )
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "CLUB_KEY" in err and "Traceback" not in err
    assert SCHOOL_KEY not in err + done.stdout.decode()
    assert labels(club) == [] and time.monotonic() - started < 120

    done = subprocess.run(
        [sys.executable, "-m", "ical_bridge", "sync", "--config", str(config), "--once",
         "--json"],
        cwd=REPO, capture_output=True, timeout=120,
        env=account_env(SCHOOL_KEY=SCHOOL_KEY, CLUB_KEY=CLUB_KEY),
    )
    assert done.returncode == 0, done.stderr.decode()
    results = {r["feed"]: r["outcome"] for r in json.loads(done.stdout)["feeds"]}
    assert results == {"maths": "synced", "arts": "synced", "chess": "synced"}
    assert labels(school) == ["Arts 0", "Maths 0"]
    assert labels(club) == ["Chess 0"]  # each account's timers in its own tickward only
