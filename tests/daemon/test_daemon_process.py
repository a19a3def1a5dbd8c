"""The daemon as a real process, against a real local tickward and a real feed host.

Every wait is a poll with a deadline; nothing asserts wall-clock durations
except the documented shutdown bound (exit within 10 s of SIGTERM).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ical_bridge.config import load_config
from ical_bridge.daemon.bridge import Bridge
from ical_bridge.localserver import EMBEDDED_API_KEY, RateLimitConfig, create_app
from ical_bridge.store import StateStore
from ical_bridge.tickward import TickwardClient
from tests.conftest import REPO
from tests.daemon.daemon_helpers import OBSERVER_KEY, FeedHost, Tickward, ics, one_offs, wait_for

SECRET = "tok-daemon-5ec7e7"
START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


class Daemon:
    """``python -m ical_bridge … daemon --config`` with its stderr kept in a file."""

    def __init__(self, tmp: Path, config: Path, tickward: Tickward, command: str = "daemon"):
        self.log_path = tmp / f"daemon-{time.monotonic_ns()}.log"
        self.log = self.log_path.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("TICKWARD_API_KEY", None)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ical_bridge",
                "--api-url",
                tickward.url,
                "--api-key",
                tickward.key,
                command,
                "--config",
                str(config),
            ],
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def stop(self, timeout: float = 10.0) -> tuple[int, float]:
        """SIGTERM; the exit code and how long the exit took."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"daemon did not exit within {timeout} s of SIGTERM") from None
        finally:
            self.log.close()
        return code, time.monotonic() - started

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
        daemon.log.close()


def write_config(
    tmp: Path, feeds: list[tuple[str, str, str]], interval: str = "1s", extra: str = ""
) -> Path:
    text = f'[state]\nurl = "sqlite:///{tmp / "state.sqlite3"}"\n\n{extra}'
    for name, url, project in feeds:
        text += (
            f'[[feeds]]\nname = "{name}"\nurl = "{url}"\nproject = "{project}"\n'
            f'interval = "{interval}"\n\n'
        )
    path = tmp / "bridge.toml"
    path.write_text(text)
    return path


def timers(tickward: Tickward) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {OBSERVER_KEY}"}
    for _ in range(20):  # the observer has its own rate-limit bucket; wait when it is spent
        response = httpx.get(f"{tickward.url}/sync", headers=headers)
        if response.status_code != 429:
            break
        time.sleep(min(float(response.headers.get("Retry-After", "1")), 5.0))
    response.raise_for_status()
    return list(response.json()["timers"])


def active_labels(tickward: Tickward, project_name: str | None = None) -> list[str]:
    return sorted(
        t["label"]
        for t in timers(tickward)
        if not t.get("archived_at") and (project_name is None or t["project_name"] == project_name)
    )


def status(config: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "ical_bridge", "status", "--config", str(config), "--json",
         "--show-tokens"],
        cwd=REPO,
        capture_output=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(out.stdout))


def test_daemon_syncs_changes_and_a_304_pass_costs_no_tickward_request(
    tmp_path: Path,
    feed_host: FeedHost,
    tickward_factory: Callable[..., Tickward],
    daemons: list[Daemon],
) -> None:
    tickward = tickward_factory()
    feed = feed_host.root / "team.ics"
    feed.write_bytes(one_offs(3, START, label="Standup"))
    port = _closed_port()
    exports = (
        f'[server]\nhost = "127.0.0.1"\nport = {port}\nsync_cache_seconds = 0\n\n'
        '[[exports]]\nname = "team-feed"\nproject = "Team"\n\n'
    )
    config = write_config(
        tmp_path, [("team", f"{feed_host.base}/team.ics?token={SECRET}", "Team")], extra=exports
    )
    daemon = Daemon(tmp_path, config, tickward)
    daemons.append(daemon)
    want = ["Standup 0", "Standup 1", "Standup 2"]
    wait_for(lambda: active_labels(tickward) == want, 30, "the first sync")

    # settled: from now on every pass is a conditional GET answered 304
    wait_for(lambda: feed_host.count("team.ics", 304) >= 1, 20, "a first 304")
    before = len(tickward.requests)
    seen = feed_host.count("team.ics", 304)
    wait_for(lambda: feed_host.count("team.ics", 304) >= seen + 3, 20, "three more 304 passes")
    assert len(tickward.requests) == before, "a 304 pass must not call tickward"

    feed.write_bytes(one_offs(4, START, label="Retro"))
    wait_for(
        lambda: active_labels(tickward) == [f"Retro {i}" for i in range(4)],
        20,
        "the change to reach tickward",
    )

    # the daemon also serves the export; status shows where to subscribe
    [export] = status(config)["exports"]
    assert export["url"].startswith(f"webcal://127.0.0.1:{port}/feeds/")
    served = httpx.get("http" + export["url"].removeprefix("webcal"), timeout=30)
    assert served.status_code == 200 and served.text.startswith("BEGIN:VCALENDAR")
    assert all(f"SUMMARY:Retro {i}" in served.text for i in range(4))
    code, took = daemon.stop()
    assert code == 0 and took < 10
    log = daemon.output()
    assert "feed=team outcome=synced" in log
    assert SECRET not in log and tickward.key not in log


def test_broken_feeds_back_off_visibly_while_the_good_one_syncs(
    tmp_path: Path,
    feed_host: FeedHost,
    tickward_factory: Callable[..., Tickward],
    daemons: list[Daemon],
) -> None:
    tickward = tickward_factory()
    good = feed_host.root / "good.ics"
    good.write_bytes(one_offs(2, START, label="Good"))
    for name, mode in (("e500.ics", "500"), ("garbage.ics", "garbage"), ("big.ics", "big")):
        feed_host.modes[name] = mode
    down = f"http://127.0.0.1:{_closed_port()}/down.ics?token={SECRET}"
    feeds = [("good", f"{feed_host.base}/good.ics", "Good")]
    feeds += [
        (n, f"{feed_host.base}/{n}.ics?token={SECRET}", n) for n in ("e500", "garbage", "big")
    ]
    feeds.append(("down", down, "Down"))
    config = write_config(tmp_path, feeds)
    daemon = Daemon(tmp_path, config, tickward, command="sync")
    daemons.append(daemon)

    def failing() -> bool:
        # polled in process (cheap); the CLI's view is checked once below
        with StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}") as store:
            states = {n: store.feed(n) for n in ("good", "e500", "garbage", "big", "down")}
        bad = [states[n] for n in ("e500", "garbage", "big", "down")]
        good_ok = (good := states["good"]) is not None and good.last_success is not None
        return good_ok and all(s is not None and s.failures and s.last_error for s in bad)

    wait_for(failing, 45, "every broken feed to record its error", step=0.2)
    report = {f["name"]: f for f in status(config)["feeds"]}
    assert report["good"]["health"] == "ok"
    assert all(report[n]["health"] == "failing" for n in ("e500", "garbage", "big", "down"))
    assert "500" in report["e500"]["last_error"]
    assert "limit" in report["big"]["last_error"]
    for name in ("e500", "garbage", "big", "down"):
        entry = report[name]
        assert SECRET not in json.dumps(entry)
        wait = datetime.fromisoformat(entry["next_run"]) - datetime.fromisoformat(
            entry["last_attempt"]
        )
        assert wait >= timedelta(seconds=1.5)  # 1 s × 2^failures, jitter at most −25 %
    assert active_labels(tickward, "Good") == ["Good 0", "Good 1"]
    good.write_bytes(one_offs(3, START, label="Better"))
    wait_for(
        lambda: active_labels(tickward, "Good") == ["Better 0", "Better 1", "Better 2"],
        30,
        "the good feed to keep syncing",
    )
    code, took = daemon.stop()
    assert code == 0 and took < 10
    assert SECRET not in daemon.output()


@pytest.mark.slow
def test_sigterm_during_a_pass_then_restart_ends_exact_without_duplicates(
    tmp_path: Path,
    feed_host: FeedHost,
    tickward_factory: Callable[..., Tickward],
    daemons: list[Daemon],
) -> None:
    # A tight rate limit stretches the big pass over several seconds.
    tickward = tickward_factory(RateLimitConfig(per_key=8, per_ip=1000, window_seconds=3.0))
    feed = feed_host.root / "team.ics"
    feed.write_bytes(one_offs(2, START, label="Warmup"))
    config = write_config(tmp_path, [("team", f"{feed_host.base}/team.ics", "Team")], "2s")
    first = Daemon(tmp_path, config, tickward)
    daemons.append(first)
    wait_for(lambda: active_labels(tickward) == ["Warmup 0", "Warmup 1"], 30, "the first sync", 0.5)

    events = [
        {
            "UID": f"big-{i}@tests",
            "SUMMARY": f"Session {i:02d}",
            "DTSTART": (START + timedelta(hours=i)).strftime("%Y%m%dT%H%M%SZ"),
        }
        for i in range(30)
    ]
    feed.write_bytes(ics(events))

    def timer_writes() -> int:
        return sum(1 for r in tickward.requests if r.method == "POST" and "/timers" in r.path)

    wait_for(lambda: timer_writes() >= 3, 60, "the big pass to be under way")
    code, took = first.stop()
    assert code == 0 and took < 10
    interrupted = active_labels(tickward)
    second = Daemon(tmp_path, config, tickward)
    daemons.append(second)
    want = sorted(e["SUMMARY"] for e in events)
    wait_for(lambda: active_labels(tickward) == want, 90, "the restarted daemon to finish", 0.5)
    code, _ = second.stop()
    assert code == 0

    final = [t for t in timers(tickward) if not t.get("archived_at")]
    assert len({t["id"] for t in final}) == len(final) == 30
    by_label = {t["label"]: t for t in final}
    for event in events:  # each timer is exactly its event (oracle: the feed text)
        expected = datetime.strptime(event["DTSTART"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        got = datetime.fromisoformat(by_label[event["SUMMARY"]]["target_date"])
        assert got == expected
    archived = sorted(t["label"] for t in timers(tickward) if t.get("archived_at"))
    assert archived == ["Warmup 0", "Warmup 1"]
    assert len(interrupted) <= 30  # the first daemon may or may not have finished in its grace
    # … and the same as a run that was never interrupted (in process, fresh tickward and state)
    warmup = one_offs(2, START, label="Warmup")
    reference = uninterrupted(tmp_path / "reference", [warmup, ics(events)])
    assert {_key(t) for t in timers(tickward)} == reference


def _key(timer: dict[str, Any]) -> tuple[str, str, str, bool]:
    return (timer["id"], timer["label"], timer["target_date"], bool(timer.get("archived_at")))


def uninterrupted(tmp: Path, bodies: list[bytes]) -> set[tuple[str, str, str, bool]]:
    """Timers after syncing each body in turn, uninterrupted, as feed "team" → "Team"."""
    tmp.mkdir()
    feed = tmp / "team.ics"
    config = tmp / "ref.toml"
    config.write_text(
        f'[state]\nurl = "sqlite:///{tmp / "state.sqlite3"}"\n\n'
        f'[[feeds]]\nname = "team"\npath = "{feed}"\nproject = "Team"\n'
    )
    app = create_app(None, rate_limit=None)

    async def main() -> set[tuple[str, str, str, bool]]:
        with StateStore(f"sqlite:///{tmp / 'state.sqlite3'}") as store:
            transport = httpx.ASGITransport(app=app)
            async with TickwardClient(
                "http://ref/api/v1", EMBEDDED_API_KEY, transport=transport, pacing=False
            ) as client:
                bridge = Bridge(load_config(config), store, client)
                for body in bodies:
                    feed.write_bytes(body)
                    assert all(r.ok for r in await bridge.run_all(force=True))
                snapshot = (await client.sync()).snapshot
        assert snapshot is not None
        return {_key(t.model_dump(mode="json")) for t in snapshot.timers}

    return asyncio.run(main())


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
