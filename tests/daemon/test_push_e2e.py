"""Push freshness end to end over real HTTP (issue 13.1).

The local tickward runs under uvicorn in a thread with its lifespan on, so its
``timer.ended`` scheduler ticks and signed webhooks go out by themselves; the
daemon is a real subprocess whose feed server listens on loopback and is its
``public_url``. Feeds are polled once an hour, so anything that happens within
seconds happened because of a webhook.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from dateutil.rrule import DAILY, rrule

from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from tests.conftest import REPO
from tests.daemon.daemon_helpers import OBSERVER_KEY, FeedHost, ics, wait_for
from tests.daemon.test_daemon_process import Daemon, _closed_port, daemons, status

__all__ = ["daemons"]

pytestmark = pytest.mark.slow
LEAD = timedelta(seconds=25)  # time for the daemon to start, sync and register before T


class LiveTickward:
    """The local tickward under uvicorn with its lifespan (delivery, timer.ended) running."""

    def __init__(self, db: Path) -> None:
        keys = {EMBEDDED_API_KEY: "full_access", OBSERVER_KEY: "read"}
        self.app = create_app(db, api_keys=keys, rate_limit=None, allow_private_webhooks=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        self.key = EMBEDDED_API_KEY
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {EMBEDDED_API_KEY}"}
        )

    def writes(self, path_part: str = "") -> int:
        return sum(1 for r in list(self.app.state.requests) if r.is_write and path_part in r.path)

    def sync(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/sync", headers={"Authorization": f"Bearer {OBSERVER_KEY}"})
        answer.raise_for_status()
        return dict(answer.json())


@pytest.fixture
def tickward(tmp_path: Path) -> Iterator[LiveTickward]:
    live = LiveTickward(tmp_path / "tickward.sqlite3")
    live.thread.start()
    wait_for(lambda: live.server.started, 10, "tickward to start")
    yield live
    live.server.should_exit = True
    live.thread.join(10)
    live.http.close()
    live.sock.close()


def _config(tmp: Path, feed_url: str, port: int) -> Path:
    text = (
        f'[state]\nurl = "sqlite:///{tmp / "state.sqlite3"}"\n\n'
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'public_url = "http://127.0.0.1:{port}"\nsync_cache_seconds = 600\n\n'
        f'[[feeds]]\nname = "team"\nurl = "{feed_url}"\nproject = "Team"\n'
        'strategy = "rolling"\ninterval = "1h"\n\n'
        '[[exports]]\nname = "team-feed"\nproject = "Team"\n'
    )
    path = tmp / "bridge.toml"
    path.write_text(text)
    return path


def _webhook(tickward: LiveTickward) -> dict[str, Any] | None:
    hooks = tickward.http.get("/webhooks").json()["data"]
    return hooks[0] if len(hooks) == 1 and hooks[0]["last_delivered_at"] else None


def test_webhooks_advance_rolling_timers_refresh_feeds_and_echoes_cost_nothing(
    tmp_path: Path, feed_host: FeedHost, tickward: LiveTickward, daemons: list[Daemon]
) -> None:
    first = datetime.now(UTC).replace(microsecond=0) + LEAD
    feed_host.root.joinpath("team.ics").write_bytes(
        ics([{"UID": "standup@t", "SUMMARY": "Standup", "DTSTART": f"{first:%Y%m%dT%H%M%SZ}",
              "RRULE": "FREQ=DAILY"}])
    )
    port = _closed_port()
    config = _config(tmp_path, f"{feed_host.base}/team.ics", port)
    daemon = Daemon(tmp_path, config, tickward)  # type: ignore[arg-type]
    daemons.append(daemon)

    def standup() -> dict[str, Any] | None:
        found = [t for t in tickward.sync()["timers"] if t["label"] == "Standup"]
        return found[0] if found else None

    timer = wait_for(standup, 20, "the first sync")
    hook = wait_for(lambda: _webhook(tickward), 20, "the webhook to be registered and tested")
    assert hook["url"] == f"http://127.0.0.1:{port}/hooks/tickward"
    assert "timer.ended" in hook["event_types"]
    assert datetime.fromisoformat(timer["target_date"]) == first  # rolling: the next occurrence
    assert first - datetime.now(UTC) > timedelta(seconds=3), "set-up took too long for this test"

    # An edit in tickward reaches the subscribed feed within 2 s (snapshot cache: 600 s).
    feed_url = "http" + status(config)["exports"][0]["url"].removeprefix("webcal")
    assert "SUMMARY:Standup" in httpx.get(feed_url).text
    project_id = timer["project_id"]
    other = tickward.http.post(
        f"/projects/{project_id}/timers",
        json={"label": "Launch", "target_date": "2030-01-01T09:00:00Z", "timezone": "UTC"},
    ).json()
    wait_for(lambda: "SUMMARY:Launch" in httpx.get(feed_url).text, 5, "the created timer")
    edited = time.monotonic()
    tickward.http.patch(f"/projects/{project_id}/timers/{other['id']}", json={"label": "Liftoff"})
    wait_for(lambda: "SUMMARY:Liftoff" in httpx.get(feed_url).text, 2, "the edit in the feed")
    assert time.monotonic() - edited < 2.0

    # The rolling timer moves on within 2 s of its occurrence passing, with no feed poll.
    polls = feed_host.count("team.ics")
    writes_before = tickward.writes(f"/timers/{timer['id']}")
    wait = (first - datetime.now(UTC)).total_seconds() + 2.0
    moved = wait_for(
        lambda: (t := standup()) is not None and t["target_date"] != timer["target_date"] and t,
        wait,
        "the rolling timer to advance",
        step=0.1,
    )
    expected = rrule(DAILY, dtstart=first, count=2)[1]  # independent oracle: the next occurrence
    assert datetime.fromisoformat(moved["target_date"]) == expected
    assert feed_host.count("team.ics") == polls, "the advance must not come from a feed poll"
    assert tickward.writes(f"/timers/{timer['id']}") == writes_before + 1

    # The advance's own timer.updated comes back: recognised, and it costs nothing.
    wait_for(lambda: "webhook echo ignored: timer.updated" in daemon.output(), 10, "the echo")
    writes_after_echo = tickward.writes()
    time.sleep(1.5)
    assert tickward.writes() == writes_after_echo
    assert tickward.writes(f"/timers/{timer['id']}") == writes_before + 1

    # Rotating the secret: a new endpoint, tested against the running daemon, the old one gone.
    env = {**os.environ}
    env.pop("TICKWARD_API_KEY", None)
    rotated = subprocess.run(
        [sys.executable, "-m", "ical_bridge", "--api-url", tickward.url, "--api-key",
         tickward.key, "webhook", "rotate", "--config", str(config), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=60, env=env,
    )
    assert rotated.returncode == 0, rotated.stderr
    hooks = tickward.http.get("/webhooks").json()["data"]
    assert [h["id"] for h in hooks] != [hook["id"]] and len(hooks) == 1
    tickward.http.patch(f"/projects/{project_id}/timers/{other['id']}", json={"label": "Again"})
    wait_for(lambda: "SUMMARY:Again" in httpx.get(feed_url).text, 2, "an edit after rotation")

    code, _ = daemon.stop()
    assert code == 0
    log = daemon.output()
    assert "whsec_" not in log and tickward.key not in log
