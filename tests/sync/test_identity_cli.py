"""Issue 11.2: one calendar imported under different identities never duplicates a timer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from import_helpers import Event, LiveServer, calendar, team_events
from test_import_live import snapshot

from ical_bridge.cli import cli
from ical_bridge.localserver import EMBEDDED_API_KEY

REPO = Path(__file__).resolve().parents[2]
TEAM = REPO / "sample_feeds" / "team_meetings.ics"


def run(live: LiveServer, *args: str, stdin: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--api-url", live.url, "--api-key", EMBEDDED_API_KEY,
                                      *args], input=stdin)
    return result.exit_code, result.output


def imp(live: LiveServer, source: str, state: Path, *extra: str,
        stdin: bytes | None = None) -> dict[str, Any]:
    code, out = run(live, "import", source, "--project", "Team", "--state", str(state),
                    "--yes", "--json", *extra, stdin=stdin)
    assert code == 0, out
    return dict(json.loads(out))


def sync_once(live: LiveServer, tmp: Path, feeds: str) -> tuple[int, str]:
    config = tmp / "bridge.toml"
    config.write_text(f'[state]\nurl = "sqlite:///{tmp / "state.db"}"\n\n{feeds}')
    return run(live, "sync", "--config", str(config), "--once", "--json")


def feed(name: str, path: Path, **keys: str) -> str:
    extra = "".join(f"{k} = {v}\n" for k, v in keys.items())
    return f'[[feeds]]\nname = "{name}"\npath = "{path}"\nproject = "Team"\n{extra}\n'


def active(live: LiveServer) -> list[str]:
    return sorted(t["label"] for t in snapshot(live).values() if not t["archived_at"])


def test_readme_flow_import_then_sync_adopts_instead_of_duplicating(
    live_factory: Any, tmp_path: Path
) -> None:
    live = live_factory(tmp_path)
    first = imp(live, str(TEAM), tmp_path / "state.db")
    made = first["summary"]["create"]
    assert made > 0 and len(active(live)) == made
    code, out = sync_once(live, tmp_path, feed("team-meetings", TEAM))
    assert code == 0, out
    assert json.loads(out)["feeds"][0]["counts"]["create"] == 0
    assert len(snapshot(live)) == made  # every timer once, none archived
    assert len(active(live)) == made
    # From now on the feed owns them: an import of the same file is told so, nothing doubles.
    again = imp(live, str(TEAM), tmp_path / "state.db", "--dry-run")
    assert again["summary"]["create"] == 0 and again["summary"]["archive"] == 0
    assert any(s["code"] == "not_ours" and "team-meetings" in s["message"]
               for s in again["skipped"])


def test_the_same_file_from_another_path_is_adopted_and_the_plan_says_so(
    live_factory: Any, tmp_path: Path
) -> None:
    live = live_factory(tmp_path)
    copy = tmp_path / "team (1).ics"
    shutil.copy(TEAM, copy)
    made = imp(live, str(TEAM), tmp_path / "state.db")["summary"]["create"]
    plan = imp(live, str(copy), tmp_path / "state.db")
    assert plan["summary"]["create"] == 0 and plan["summary"]["archive"] == 0
    assert any(w["code"] == "adopted" for w in plan["warnings"])
    assert len(snapshot(live)) == made
    # The first path's import now finds its events adopted: no archive, no create there either.
    back = imp(live, str(TEAM), tmp_path / "state.db", "--dry-run")
    assert back["summary"]["create"] == 0 and back["summary"]["archive"] == 0


def test_a_second_calendar_on_stdin_does_not_plan_to_archive_the_first(
    live_factory: Any, tmp_path: Path
) -> None:
    live = live_factory(tmp_path)
    state = tmp_path / "state.db"
    first = calendar(team_events(4), name="Team A")
    second = calendar([Event(f"other-{i}@t", f"Other {i}", i + 2) for i in range(3)],
                      name="Team B")
    assert imp(live, "-", state, stdin=first)["summary"]["create"] == 4
    plan = imp(live, "-", state, stdin=second)
    assert plan["summary"]["create"] == 3
    assert plan["summary"]["archive"] == 0 and plan["suspicious"] is None
    assert len(active(live)) == 7
    # The first calendar piped in again is recognised: nothing to do.
    assert imp(live, "-", state, "--dry-run", stdin=first)["summary"]["create"] == 0


def test_a_second_feed_claiming_another_feeds_timers_is_reported_not_duplicated(
    live_factory: Any, tmp_path: Path
) -> None:
    live = live_factory(tmp_path)
    code, out = sync_once(live, tmp_path, feed("team-meetings", TEAM))
    assert code == 0, out
    made = len(snapshot(live))
    copy = tmp_path / "copy.ics"
    shutil.copy(TEAM, copy)
    code, out = sync_once(live, tmp_path, feed("team-meetings", TEAM) + feed("team-copy", copy))
    assert len(snapshot(live)) == made and len(active(live)) == made
    results = {r["feed"]: r for r in json.loads(out)["feeds"]}
    assert results["team-copy"]["counts"]["create"] == 0
    assert results["team-copy"]["counts"]["archive"] == 0


def test_the_sync_mass_deletion_guard_names_the_feeds_allow_empty_key(
    live_factory: Any, tmp_path: Path
) -> None:
    live = live_factory(tmp_path)
    source = tmp_path / "team.ics"
    source.write_bytes(calendar(team_events(5)))
    assert sync_once(live, tmp_path, feed("team", source))[0] == 0
    source.write_bytes(calendar(team_events(1)))
    assert sync_once(live, tmp_path, feed("team", source))[0] == 0
    assert len(active(live)) == 5
    _, out = run(live, "status", "--config", str(tmp_path / "bridge.toml"))
    assert "suspicious" in out and "allow_empty = true" in out and "--allow-empty" not in out, out


def test_a_pre_upgrade_stdin_import_is_adopted_not_re_created(
    live_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = live_factory(tmp_path)
    state = tmp_path / "state.db"
    data = calendar(team_events(4), name="Team A")
    with monkeypatch.context() as old:  # the old version: every stdin import is import:stdin
        old.setattr("ical_bridge.sync.pipeline.calendar_source_key", lambda key, _: key)
        assert imp(live, "-", state, stdin=data)["summary"]["create"] == 4
    ids = set(snapshot(live))
    plan = imp(live, "-", state, stdin=data)
    assert plan["summary"]["create"] == 0 and plan["summary"]["archive"] == 0
    assert set(snapshot(live)) == ids  # the same timers, same deterministic ids
