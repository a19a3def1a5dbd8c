"""Operability of a real ``daemon`` process over real HTTP: health, readiness, metrics,
the status page (in a real headless Chromium) and JSON log lines."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ical_bridge.localserver import EMBEDDED_API_KEY
from tests.conftest import REPO
from tests.daemon.daemon_helpers import OBSERVER_KEY, FeedHost, Tickward, one_offs, wait_for

START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
SECRET = "tok-ops-5ec7e7"
CHROMIUM = Path("/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Daemon:
    def __init__(self, tmp: Path, feed_host: FeedHost, tickward: Tickward) -> None:
        self.port = free_port()
        config = tmp / "bridge.toml"
        config.write_text(
            f'[state]\nurl = "sqlite:///{tmp / "state.sqlite3"}"\n\n'
            f'[server]\nhost = "127.0.0.1"\nport = {self.port}\n\n'
            '[[exports]]\nname = "team-feed"\nproject = "Good"\n\n'
            f'[[feeds]]\nname = "good"\nurl = "{feed_host.base}/good.ics"\nproject = "Good"\n'
            'interval = "1s"\n\n'
            f'[[feeds]]\nname = "broken"\nurl = "{feed_host.base}/broken.ics?token={SECRET}"\n'
            'project = "Broken"\ninterval = "1s"\n'
        )
        self.log_path = tmp / "daemon.log"
        self.log = self.log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if k != "TICKWARD_API_KEY"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ical_bridge", "--api-url", tickward.url, "--api-key",
             tickward.key, "daemon", "--config", str(config), "--log-format", "json"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=self.log,
            env={**env, "PYTHONUNBUFFERED": "1"},
        )
        wait_for(self._up, 30, "the daemon's server", step=0.1)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _up(self) -> bool:
        assert self.proc.poll() is None, self.log_path.read_text()
        try:
            return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def daemon(
    tmp_path: Path, feed_host: FeedHost, tickward_factory: Callable[[], Tickward]
) -> Iterator[tuple[Daemon, Tickward, FeedHost]]:
    tickward = tickward_factory()
    (feed_host.root / "good.ics").write_bytes(one_offs(2, START, label="Good"))
    feed_host.modes["broken.ics"] = "500"
    running = Daemon(tmp_path, feed_host, tickward)
    try:
        yield running, tickward, feed_host
    finally:
        running.stop()


def timers_on(tickward: Tickward) -> list[dict[str, object]]:
    headers = {"Authorization": f"Bearer {OBSERVER_KEY}"}
    response = httpx.get(f"{tickward.url}/sync", headers=headers, timeout=10)
    response.raise_for_status()
    return list(response.json()["timers"])


def samples(base: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.slow
def test_health_readiness_and_metrics_over_http(
    daemon: tuple[Daemon, Tickward, FeedHost],
) -> None:
    running, tickward, feed_host = daemon
    assert httpx.get(f"{running.base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{running.base}/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready", "checks": {"state": "ok", "tickward:default": "ok"},
    }
    # a few passes: the good feed is synced, then answered 304; the broken one fails
    wait_for(lambda: feed_host.count("good.ics", 304) >= 2, 60, "304 passes", step=0.2)
    wait_for(lambda: feed_host.count("broken.ics", 500) >= 2, 60, "failed passes", step=0.2)
    found = samples(running.base)
    d = "default"
    assert value(found, "ical_bridge_passes_total", account=d, outcome="synced") >= 1
    assert value(found, "ical_bridge_passes_total", account=d, outcome="not_modified") >= 1
    assert value(found, "ical_bridge_passes_total", account=d, outcome="failed") >= 1
    assert value(found, "ical_bridge_pass_duration_seconds_count", account=d) >= 3
    # what the servers themselves recorded is the oracle
    written = value(found, "ical_bridge_timers_written_total", account=d, action="create")
    assert written == len(timers_on(tickward)) == 2  # the good feed's two events
    fetched_304 = value(found, "ical_bridge_feed_fetches_total", outcome="not_modified")
    assert 2 <= fetched_304 <= feed_host.count("good.ics", 304)
    assert value(found, "ical_bridge_feed_fetches_total", outcome="http_5xx") >= 2
    assert value(found, "ical_bridge_feed_fetches_total", outcome="ok") >= 1
    ok_answers = value(found, "ical_bridge_tickward_requests_total", account=d, status="200")
    assert 1 <= ok_answers <= sum(1 for r in tickward.requests if r.status == 200)
    assert value(found, "ical_bridge_tickward_rate_limited_total", account=d) == 0
    health = value(found, "ical_bridge_feed_server_responses_total", route="health", status="200")
    assert health >= 2
    metrics_text = httpx.get(f"{running.base}/metrics").text
    assert "# TYPE ical_bridge_claim_events_total counter" in metrics_text  # defined for replicas
    assert SECRET not in metrics_text and EMBEDDED_API_KEY not in metrics_text

    export = httpx.get(f"{running.base}/feeds/not-a-token.ics")
    assert export.status_code == 404
    counted = value(samples(running.base), "ical_bridge_feed_server_responses_total",
                    route="feed", status="404")
    assert counted >= 1

    tickward.stop()  # tickward goes away: not ready (within the probe cache), still alive
    def not_ready() -> httpx.Response | None:
        answer = httpx.get(f"{running.base}/readyz", timeout=10)
        return answer if answer.status_code == 503 else None

    answer = wait_for(not_ready, 40, "/readyz to notice", step=0.5)
    assert answer.json()["checks"]["tickward:default"].startswith("unreachable")
    assert answer.json()["checks"]["state"] == "ok"
    assert httpx.get(f"{running.base}/healthz").status_code == 200

    log = running.stop()
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert lines and all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    passes = [line for line in lines if line.get("feed") == "good"]
    assert passes and all(line["account"] == "default" for line in passes)
    assert {"synced", "not_modified"} <= {line["outcome"] for line in passes}
    assert all(isinstance(line["ms"], int) for line in passes)
    assert SECRET not in log and EMBEDDED_API_KEY not in log


@pytest.mark.slow
def test_status_page_in_headless_chromium(
    daemon: tuple[Daemon, Tickward, FeedHost], tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        if os.environ.get("ICAL_BRIDGE_REQUIRE_CHROMIUM") or os.environ.get("CI"):
            pytest.fail("CI must have /usr/bin/chromium (.ci/run installs it)")
        pytest.skip("no /usr/bin/chromium (apt-get install chromium); CI installs it")
    running, _, feed_host = daemon
    wait_for(lambda: feed_host.count("good.ics", 304) >= 2, 60, "passes", step=0.2)
    wait_for(lambda: feed_host.count("broken.ics", 500) >= 2, 60, "failed passes", step=0.2)
    profile = tmp_path / "chromium-profile"
    common = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        f"--user-data-dir={profile}", "--window-size=1400,700",
    ]
    dom = subprocess.run(
        [*common, "--dump-dom", f"{running.base}/"], capture_output=True, timeout=120, check=True
    ).stdout.decode()
    assert "<title>ical-bridge status</title>" in dom
    assert 'data-feed="good" data-health="ok"' in dom
    assert 'data-feed="broken" data-health="failing"' in dom
    assert "HTTP 500" in dom or "500" in dom.split('data-feed="broken"')[1]
    assert SECRET not in dom  # the broken feed's URL is shown redacted
    history = dom.split('data-feed="good"')[1].split("</tr>")[0]
    assert 'class="hist"' in history and history.count("<span style") >= 2
    assert "team-feed" in dom and "webcal://" in dom  # the exports stay on the page
    shot = tmp_path / "status.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", f"{running.base}/"],
        capture_output=True, timeout=120, check=True,
    )
    assert shot.stat().st_size > 10_000
    if os.environ.get("ICAL_BRIDGE_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["ICAL_BRIDGE_KEEP_SCREENSHOT"])
    # not for other machines: through a proxy the page is the plain 404
    proxied = httpx.get(f"{running.base}/", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 404
