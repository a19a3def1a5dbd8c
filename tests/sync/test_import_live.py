"""The import command over real HTTP: uvicorn on 127.0.0.1, the CLI in-process and as a process."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from import_helpers import Event, Harness, LiveServer, calendar, team_events, writes_since

from ical_bridge.cli import cli
from ical_bridge.errors import UserError
from ical_bridge.localserver import EMBEDDED_API_KEY, RateLimitConfig, create_app
from ical_bridge.store import StateStore
from ical_bridge.tickward import TickwardClient

REPO = Path(__file__).resolve().parents[2]
HAND_MADE = {"id": "kept-by-hand", "label": "Mine", "timezone": "UTC",
             "target_date": "2031-05-05T05:05:00Z"}


class TtyInput(io.BytesIO):
    """Answers typed at a terminal."""

    def isatty(self) -> bool:
        return True


def prepare(live: LiveServer) -> dict[str, Any]:
    """An existing project "Team" with one hand-made timer."""
    before = len(live.app.state.requests)

    async def go() -> dict[str, Any]:
        async with TickwardClient(live.url, EMBEDDED_API_KEY) as client:
            project = await client.create_project({"name": "Team"})
            timer = await client.create_timer(project.id, HAND_MADE)
            return timer.model_dump(mode="json")

    timer = asyncio.run(go())
    settle(live, before + 2)
    return timer


def settle(live: LiveServer, count: int) -> None:
    """Wait until the server has logged ``count`` requests (it logs after answering)."""
    deadline = time.monotonic() + 10
    while len(live.app.state.requests) < count:
        assert time.monotonic() < deadline, "the server never logged the request"
        time.sleep(0.002)


def snapshot(live: LiveServer) -> dict[str, dict[str, Any]]:
    """The timers of "Team", without per-server fields."""

    async def go() -> dict[str, dict[str, Any]]:
        async with TickwardClient(live.url, EMBEDDED_API_KEY) as client:
            snap = (await client.sync()).snapshot
            assert snap is not None
            pid = next(p.id for p in snap.projects if p.name == "Team")
            return {t.id: t.model_dump(mode="json", exclude={
                "project_id", "created_at", "updated_at", "effective_target_date"})
                for t in snap.timers if t.project_id == pid}

    return asyncio.run(go())


def cli_args(live: LiveServer, source: Path, state: Path, *extra: str) -> list[str]:
    return ["--api-url", live.url, "--api-key", EMBEDDED_API_KEY, "import", str(source),
            "--project", "Team", "--state", str(state), *extra]


def test_interactive_confirm_yes_applies_and_no_writes_nothing(
    live_factory: Any, tmp_path: Path
) -> None:
    live = live_factory(tmp_path)
    hand = prepare(live)
    source = tmp_path / "team.ics"
    source.write_bytes(calendar(team_events(3)))
    runner = CliRunner()
    mark = len(live.app.state.requests)
    declined = runner.invoke(cli, cli_args(live, source, tmp_path / "s.db"), input=TtyInput(b"n\n"))
    assert declined.exit_code == 0, declined.output  # a choice, not a failure (issue 11.7)
    assert "Apply these changes?" in declined.output + declined.stderr
    assert writes_since(live.app.state.requests, mark) == []

    accepted = runner.invoke(cli, cli_args(live, source, tmp_path / "s.db"),
                             input=TtyInput(b"y\n"))
    assert accepted.exit_code == 0, accepted.output + accepted.stderr
    assert "timers created" in accepted.output
    timers = snapshot(live)
    assert len(timers) == 4 and timers[hand["id"]]["label"] == "Mine"


def test_non_interactive_run_without_yes_refuses(live_factory: Any, tmp_path: Path) -> None:
    live = live_factory(tmp_path)
    prepare(live)
    source = tmp_path / "team.ics"
    source.write_bytes(calendar(team_events(2)))
    mark = len(live.app.state.requests)
    result = CliRunner().invoke(cli, cli_args(live, source, tmp_path / "s.db"), input=b"")
    assert isinstance(result.exception, UserError)
    assert "--yes" in str(result.exception)
    assert writes_since(live.app.state.requests, mark) == []


def test_dry_run_json_prints_the_plan_and_writes_nothing(live_factory: Any, tmp_path: Path) -> None:
    live = live_factory(tmp_path)
    prepare(live)
    source = tmp_path / "team.ics"
    source.write_bytes(calendar(team_events(3)))
    mark = len(live.app.state.requests)
    result = CliRunner().invoke(cli, cli_args(live, source, tmp_path / "s.db",
                                              "--dry-run", "--json"))
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["dry_run"] is True and out["project"]["name"] == "Team"
    assert out["summary"] == {"create": 3, "update": 0, "archive": 0, "delete": 0,
                              "unchanged": 0, "skipped": 0}
    assert [c["action"] for c in out["changes"]] == ["create"] * 3
    assert {"action", "timer_id", "label", "strategy", "fields"} <= set(out["changes"][0])
    assert writes_since(live.app.state.requests, mark) == []


def _run_cli(live: LiveServer, source: Path, state: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TICKWARD_API_KEY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "ical_bridge", *cli_args(live, source, state, "--yes", "--json")],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )


@pytest.mark.slow
def test_killed_import_resumes_to_the_same_result_without_duplicates(
    live_factory: Any, tmp_path: Path
) -> None:
    source = tmp_path / "team.ics"
    events = [*team_events(24), Event("weekly@t", "Weekly", 3, rrule="FREQ=WEEKLY")]
    source.write_bytes(calendar(events))
    # A small rate limit keeps the run long enough to be killed half-way.
    slow = live_factory(tmp_path / "a", rate_limit=RateLimitConfig(per_key=8, window_seconds=1))
    (tmp_path / "a").mkdir(exist_ok=True)
    hand = prepare(slow)
    requests = slow.app.state.requests
    start = len(requests)
    proc = _run_cli(slow, source, tmp_path / "a-state.db")
    deadline = time.monotonic() + 60
    while len(writes_since(requests, start)) < 5:
        assert proc.poll() is None, "the import finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    seen = len([w for w in writes_since(requests, start) if w.status < 300])
    assert 5 <= seen < 25

    again = _run_cli(slow, source, tmp_path / "a-state.db")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    assert json.loads(out)["result"]["failed"] == []

    (tmp_path / "b").mkdir()
    fresh = live_factory(tmp_path / "b")
    prepare(fresh)
    once = CliRunner().invoke(cli, cli_args(fresh, source, tmp_path / "b-state.db", "--yes"))
    assert once.exit_code == 0, once.output
    assert snapshot(slow) == snapshot(fresh)
    assert len(snapshot(slow)) == 26 and snapshot(slow)[hand["id"]]["label"] == "Mine"
    created = [r for r in requests[start:] if r.method == "POST" and r.status == 201]
    assert len(created) <= 25  # every timer created once (replays aside)

    mark = len(requests)
    last = CliRunner().invoke(cli, cli_args(slow, source, tmp_path / "a-state.db", "--yes"))
    assert last.exit_code == 0 and writes_since(requests, mark) == []


def test_subprocess_without_yes_and_no_tty_exits_2(live_factory: Any, tmp_path: Path) -> None:
    live = live_factory(tmp_path)
    source = tmp_path / "team.ics"
    source.write_bytes(calendar(team_events(2)))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "ical_bridge", *cli_args(live, source, tmp_path / "s.db")],
        stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=120, check=False,
    )
    assert done.returncode == 2
    assert b"--yes" in done.stderr and b"Traceback" not in done.stderr
    assert writes_since(live.app.state.requests, 0) == []


def test_rate_limited_apply_completes_honouring_retry_after(tmp_path: Path) -> None:
    app = create_app(None, rate_limit=RateLimitConfig(per_key=6, window_seconds=1.0))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    with StateStore(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        h = Harness(app, store)
        h.run(calendar(team_events(1)))  # the project exists: the rest are single creates
        events = team_events(14)

        async def go() -> Any:
            from ical_bridge.sync import apply_plan, plan_source

            # No client-side pacing: the server's 429s must be met with Retry-After waits.
            async with TickwardClient("http://t/api/v1", EMBEDDED_API_KEY, pacing=False,
                                      transport=httpx.ASGITransport(app=app),
                                      sleep=sleep) as client:
                plan = await plan_source(client, store, calendar(events), h.options())
                return await apply_plan(client, store, plan), client.stats.rate_limited

        report, limited = asyncio.run(go())
    assert report.ok and report.done == {"create": 13}
    assert limited > 0 and [r.status for r in app.state.requests].count(429) == limited
    assert len(waits) >= limited and all(w >= 1.0 for w in waits)  # Retry-After is ≥ 1 s
    assert len(h.timers()) == 14


def test_limits_option_caps_the_plan(live_factory: Any, tmp_path: Path) -> None:
    live = live_factory(tmp_path)
    prepare(live)  # one hand-made timer already counts
    source = tmp_path / "team.ics"
    source.write_bytes(calendar(team_events(4)))
    result = CliRunner().invoke(cli, cli_args(live, source, tmp_path / "s.db", "--dry-run",
                                              "--json", "--limits", "3/40/4"))
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["summary"]["create"] == 2
    assert [s["code"] for s in out["skipped"]] == ["limit", "limit"]
    bad = CliRunner().invoke(cli, cli_args(live, source, tmp_path / "s.db", "--limits", "x"))
    assert bad.exit_code == 2 and "TIMERS/ACTIVE/SPACES" in bad.output


def test_writes_the_server_refuses_are_listed_and_exit_1(live_factory: Any, tmp_path: Path) -> None:
    from ical_bridge.localserver import PlanLimits

    # The server's plan is smaller than the caps the user claimed with --limits.
    live = live_factory(tmp_path, plan=PlanLimits(timers_per_project=3))
    prepare(live)
    source = tmp_path / "team.ics"
    source.write_bytes(calendar(team_events(5)))
    result = CliRunner().invoke(cli, cli_args(live, source, tmp_path / "s.db", "--yes"))
    assert result.exit_code == 1, result.output + result.stderr
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed: create")]
    # issue 11.9: after the first refusal the rest are left out, not sent
    assert len(failures) == 1 and "Maximum 3 timers" in failures[0]
    assert "2 change(s) left out: tickward allows 3 timers per project" in result.stderr
    assert "2 timers created" in result.output
    assert len(snapshot(live)) == 3
