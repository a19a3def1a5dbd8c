"""Real components for the replica tests and benchmark: a throwaway PostgreSQL database,
the emulator as a subprocess with its request log (one emulator per tickward account, each
accepting only that account's key), and ``daemon`` replicas as subprocesses.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import REPO
from tests.daemon.daemon_helpers import one_offs, wait_for

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
API_KEY = "tw_replica_test_key_0001"
KEY_ENV = "ICB_REPLICA_TEST_KEY"
MAX_ACCOUNTS = 4


def account_api_key(index: int) -> str:
    """The API key of account ``index`` (0: ``[tickward]``, the default account)."""
    return f"tw_replica_test_key_{index + 1:04d}"


def account_key_env(index: int) -> str:
    """The environment variable that holds account ``index``'s key."""
    return KEY_ENV if index == 0 else f"{KEY_ENV}_{index}"


def account_name(index: int) -> str:
    """The config name of account ``index`` (``default`` is ``[tickward]``)."""
    return "default" if index == 0 else f"acct-{index}"


def pg_base_url() -> str:
    """The test server (``ICAL_BRIDGE_TEST_PG``); skip, or fail if ``ICAL_BRIDGE_REQUIRE_PG=1``."""
    url = os.environ.get("ICAL_BRIDGE_TEST_PG") or DEFAULT_PG
    try:
        with psycopg.connect(libpq(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = f"PostgreSQL unreachable at {make_url(url).render_as_string(hide_password=True)}"
        if os.environ.get("ICAL_BRIDGE_REQUIRE_PG") == "1":
            pytest.fail(f"{reason} ({type(exc).__name__}) and ICAL_BRIDGE_REQUIRE_PG=1")
        pytest.skip(reason)
    return url


def libpq(url: str) -> str:
    """The URL as psycopg accepts it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def throwaway_database(base: str) -> Iterator[str]:
    """A brand-new database on the server of ``base``, dropped afterwards."""
    name = f"icb_replicas_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq(base), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    """An ephemeral port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env() -> dict[str, str]:
    keys = {account_key_env(i): account_api_key(i) for i in range(MAX_ACCOUNTS)}
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **keys}
    env.pop("TICKWARD_API_KEY", None)
    return env


class Process:
    """A subprocess whose output goes to a file."""

    def __init__(self, args: list[str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ical_bridge", *args],
            cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT, env=_env(),
        )

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return int(self.proc.returncode)

    def kill9(self) -> None:
        """``kill -9``: no handler, no cleanup, no released claim."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class Emulator(Process):
    """``ical-bridge emulator`` with ``--request-log`` (and an optional per-request delay)."""

    def __init__(
        self, tmp: Path, *, delay: float = 0.0, name: str = "tickward", key: str = API_KEY,
        wait: bool = True,
    ) -> None:
        self.port = free_port()
        self.key = key
        self.request_log = tmp / f"{name}-requests.jsonl"
        args = [
            "emulator", "--port", str(self.port), "--db", str(tmp / f"{name}.sqlite3"),
            "--api-key", key, "--no-rate-limit", "--projects", "200",
            "--request-log", str(self.request_log), "--request-delay", str(delay),
        ]
        super().__init__(args, tmp / f"{name}.log")
        if wait:
            self.wait_up()

    def wait_up(self) -> None:
        """Until the emulator answers."""
        wait_for(self._up, 30, "the emulator to listen")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def _up(self) -> bool:
        try:
            return httpx.get(self.url + "/sync", headers=self.auth, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def sync(self) -> dict[str, Any]:
        """The whole account (``GET /sync``)."""
        answer: dict[str, Any] = httpx.get(self.url + "/sync", headers=self.auth, timeout=10).json()
        return answer

    def create_project(self, name: str) -> None:
        response = httpx.post(
            self.url + "/projects", json={"name": name}, headers=self.auth, timeout=10
        )
        response.raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        """Every request answered so far, as logged."""
        if not self.request_log.exists():
            return []
        lines = self.request_log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]


@dataclass(frozen=True)
class Workload:
    """``feeds`` file feeds of ``events`` one-off events each, one project per feed."""

    feeds: int = 32
    events: int = 12
    interval: str = "2s"
    lease: str = "3s"
    exports: int = 2
    accounts: int = 1  # feed (and export) i belongs to account i % accounts

    def names(self) -> list[str]:
        return [f"feed-{i:02d}" for i in range(self.feeds)]

    def account_of(self, feed: str) -> int:
        """The index of the account that syncs ``feed`` (``feed-NN``)."""
        return int(feed.rsplit("-", 1)[1]) % self.accounts

    def names_of(self, account: int) -> list[str]:
        """The feeds of account ``account``."""
        return [n for n in self.names() if self.account_of(n) == account]

    def write(self, root: Path, start: datetime) -> None:
        """The feed files under ``root/feeds``."""
        feeds = root / "feeds"
        feeds.mkdir(exist_ok=True)
        for i, name in enumerate(self.names()):
            body = one_offs(self.events, start + timedelta(hours=i), prefix=name, label=name)
            (feeds / f"{name}.ics").write_bytes(body)

    def config(self, root: Path, state_url: str, api_urls: str | Sequence[str], port: int) -> Path:
        """A replica's config file (replicas differ only in their feed server's port).

        ``api_urls``: one tickward per account; the first is ``[tickward]``, the others
        ``[[accounts]]`` entries.
        """
        urls = [api_urls] if isinstance(api_urls, str) else list(api_urls)
        assert len(urls) == self.accounts <= MAX_ACCOUNTS
        lines = [
            "[tickward]", f'api_url = "{urls[0]}"', f'api_key_env = "{KEY_ENV}"', "",
            "[state]", f'url = "{state_url}"', f'lease = "{self.lease}"', "",
            "[server]", 'host = "127.0.0.1"', f"port = {port}", "sync_cache_seconds = 1", "",
        ]
        for k, url in enumerate(urls[1:], start=1):
            lines += [
                "[[accounts]]", f'name = "{account_name(k)}"', f'api_url = "{url}"',
                f'api_key_env = "{account_key_env(k)}"', "",
            ]
        for name in self.names():
            lines += [
                "[[feeds]]", f'name = "{name}"', f'path = "{root / "feeds" / (name + ".ics")}"',
                f'project = "P-{name}"', f'interval = "{self.interval}"',
                f'account = "{account_name(self.account_of(name))}"', "",
            ]
        for i in range(self.exports):
            lines += [
                "[[exports]]", f'name = "export-{i}"', f'project = "P-feed-{i:02d}"',
                f'account = "{account_name(self.account_of(f"feed-{i:02d}"))}"', "",
            ]
        path = root / f"config-{port}.toml"
        path.write_text("\n".join(lines))
        return path


class Emulators:
    """One emulator per account of ``work`` (a tickward user each), with the feeds' projects."""

    def __init__(
        self, tmp: Path, work: Workload, *, delay: float = 0.0, name: str = "tickward"
    ) -> None:
        self.all: list[Emulator] = []
        try:
            for k in range(work.accounts):
                label = name if k == 0 else f"{name}-{account_name(k)}"
                key = account_api_key(k)
                self.all.append(Emulator(tmp, delay=delay, name=label, key=key, wait=False))
            for k, emulator in enumerate(self.all):
                emulator.wait_up()
                for feed in work.names_of(k):
                    emulator.create_project(f"P-{feed}")
        except BaseException:
            self.stop()
            raise

    @property
    def urls(self) -> list[str]:
        """The API URLs, account by account."""
        return [e.url for e in self.all]

    def requests(self) -> list[dict[str, Any]]:
        """Every request any of them answered so far."""
        return [r for e in self.all for r in e.requests()]

    def timers(self) -> dict[str, dict[str, list[tuple[str, str, str, bool]]]]:
        """``timers_by_project`` of each account, by account name."""
        return {account_name(k): timers_by_project(e.sync()) for k, e in enumerate(self.all)}

    def stop(self) -> None:
        """Stop every emulator."""
        for e in self.all:
            e.stop()


def replica(root: Path, config: Path, index: int, command: str = "daemon") -> Process:
    """One ``daemon`` (or ``sync``) replica."""
    return Process([command, "--config", str(config)], root / f"replica-{index}.log")


def feed_states(state_url: str) -> dict[str, dict[str, Any]]:
    """``feed_states`` rows by feed name (read straight from PostgreSQL)."""
    with psycopg.connect(libpq(state_url)) as conn:
        try:
            rows = conn.execute(
                "SELECT name, content_hash, failures, last_success FROM feed_states"
            ).fetchall()
        except psycopg.errors.UndefinedTable:
            return {}
    return {r[0]: {"content_hash": r[1], "failures": r[2], "last_success": r[3]} for r in rows}


def claims(state_url: str) -> dict[str, dict[str, Any]]:
    """``feed_claims`` rows by feed."""
    with psycopg.connect(libpq(state_url)) as conn:
        try:
            rows = conn.execute(
                "SELECT feed, owner, token, lease_until IS NOT NULL FROM feed_claims"
            ).fetchall()
        except psycopg.errors.UndefinedTable:
            return {}
    return {r[0]: {"owner": r[1], "token": r[2], "held": r[3]} for r in rows}


def passes(requests: list[dict[str, Any]]) -> dict[str, dict[str, tuple[float, float, int]]]:
    """Per feed, per pass (``<claim token>.<replica>``): (first start, last end, writes)."""
    found: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for r in requests:
        corr = r.get("correlation") or ""
        if not corr.startswith("icb."):
            continue
        feed, token, owner = corr[len("icb."):].split(".", 2)
        span = found[feed].setdefault(f"{token}.{owner}", [r["start"], r["end"], 0])
        span[0], span[1] = min(span[0], r["start"]), max(span[1], r["end"])
        span[2] += r["method"] in ("POST", "PATCH", "DELETE")
    return {
        feed: {key: (s[0], s[1], int(s[2])) for key, s in by_pass.items()}
        for feed, by_pass in found.items()
    }


def pass_key(token: int, owner: str) -> str:
    """The key of one pass in ``passes``."""
    return f"{token}.{owner}"


def overlapping(spans: dict[str, tuple[float, float, int]]) -> list[tuple[str, str]]:
    """Pairs of passes whose request spans overlap in time."""
    ordered = sorted(spans.items(), key=lambda kv: kv[1][0])
    return [(a[0], b[0]) for a, b in itertools.pairwise(ordered) if b[1][0] < a[1][1]]


def timers_by_project(sync: dict[str, Any]) -> dict[str, list[tuple[str, str, str, bool]]]:
    """(label, target_date, timezone, archived) of each timer, by project name, sorted."""
    names = {p["id"]: p["name"] for p in sync["projects"]}
    out: dict[str, list[tuple[str, str, str, bool]]] = defaultdict(list)
    for t in sync["timers"]:
        out[names[t["project_id"]]].append(
            (t["label"], t["target_date"], t["timezone"], bool(t.get("archived_at")))
        )
    return {k: sorted(v) for k, v in out.items()}


def wait_all_synced(state_url: str, names: list[str], timeout: float) -> None:
    """Until every feed has applied content (``content_hash``) and no failure."""

    def done() -> bool:
        states = feed_states(state_url)
        return all(
            n in states and states[n]["content_hash"] and not states[n]["failures"] for n in names
        )

    wait_for(done, timeout, "every feed to be synced", step=0.2)


def now_monotonic() -> float:
    return time.monotonic()
