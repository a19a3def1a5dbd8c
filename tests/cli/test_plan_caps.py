"""Raising ``--limits`` above the server's plan (issue 11.9): one refused write per cap, the
rest listed as left out; the embedded store takes the emulator's limit options."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ical_bridge.cli import cli
from ical_bridge.localserver import EMBEDDED_API_KEY, PlanLimits, create_app
from tests.sync.import_helpers import LiveServer, calendar, start_live, stop_live, team_events


@pytest.fixture
def capped(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """The local server over real HTTP with the plan given as the test's parameter."""
    live = start_live(create_app(tmp_path / "tw.sqlite3", rate_limit=None, plan=request.param))
    yield live
    stop_live(live)


@pytest.mark.slow
@pytest.mark.parametrize(("capped", "extra", "kind"), [
    (PlanLimits(timers_per_project=100), [], "100 timers per project"),
    (PlanLimits(timers_per_project=2000, active_timers_per_space=30), ["--space", "Meetings"],
     "30 active timers per space"),
], indirect=["capped"])
def test_a_thousand_event_import_sends_one_refused_write_per_cap(
    capped: LiveServer, extra: list[str], kind: str, tmp_path: Path
) -> None:
    source = tmp_path / "big.ics"
    source.write_bytes(calendar(team_events(1000)))
    args = ["--api-url", capped.url, "--api-key", EMBEDDED_API_KEY, "import", str(source),
            "--project", "Big", "--window", "1100d", "--limits", "5000/5000/4", "--yes",
            "--json", "--state", str(tmp_path / "s.db"), *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output + result.stderr
    requests = capped.app.state.requests
    refused = [r for r in requests if r.method in ("POST", "PATCH") and r.status >= 400
               and r.path != "/projects/preview"]
    assert len(refused) <= 1, [(r.method, r.path, r.status) for r in refused]
    body = json.loads(result.stdout)["result"]
    created = sum(1 for r in requests if r.method == "POST" and r.status == 201)
    assert len(body["left_out"]) + len(body["failed"]) == 1000 - body["done"]["create"]
    assert len(body["left_out"]) > 800 and created < 200
    assert all(kind in item["message"] for item in body["left_out"])


def test_the_embedded_store_takes_the_emulators_limit_options(tmp_path: Path) -> None:
    source = tmp_path / "team.ics"
    source.write_bytes(calendar(team_events(12)))
    args = ["--local", str(tmp_path / "tw.sqlite3"), "--timers-per-project", "5",
            "--project-create-max-timers", "2", "import", str(source), "--project", "Team",
            "--yes", "--state", str(tmp_path / "s.db")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output + result.stderr
    assert "5 timers created" in result.output
    assert "6 change(s) left out: tickward allows 5 timers per project" in result.stderr
    assert result.stderr.count("failed: create") == 1
