"""``sync --once`` and ``status`` through the real CLI, against a real local tickward."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from ical_bridge.cli import cli
from tests.daemon.daemon_helpers import FeedHost, Tickward, one_offs

SECRET = "cli-secret-77"
START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)


def config_file(tmp: Path, feeds: str) -> Path:
    path = tmp / "bridge.toml"
    path.write_text(f'[state]\nurl = "sqlite:///{tmp / "state.sqlite3"}"\n\n{feeds}')
    return path


def invoke(tickward: Tickward, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["--api-url", tickward.url, "--api-key", tickward.key, *args], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def test_sync_once_exit_codes_and_status(
    tmp_path: Path, feed_host: FeedHost, tickward_factory: Callable[..., Tickward]
) -> None:
    tickward = tickward_factory()
    (feed_host.root / "team.ics").write_bytes(one_offs(2, START, label="Demo"))
    feeds = (
        f'[[feeds]]\nname = "team"\nurl = "{feed_host.base}/team.ics?token={SECRET}"\n'
        'project = "Team"\n\n'
    )
    config = config_file(tmp_path, feeds)

    code, out, err = invoke(tickward, "sync", "--config", str(config), "--once")
    assert code == 0, err
    assert "team: synced (create=2)" in out
    code, out, _ = invoke(tickward, "sync", "--config", str(config), "--once", "--json")
    assert code == 0
    [result] = json.loads(out)["feeds"]  # issue 11: one object with a version field
    assert (result["feed"], result["outcome"], result["requests"]) == ("team", "not_modified", 0)

    feed_host.modes["broken.ics"] = "502"
    config = config_file(
        tmp_path,
        feeds + f'[[feeds]]\nname = "broken"\nurl = "{feed_host.base}/broken.ics?token={SECRET}"\n'
        'project = "Broken"\n',
    )
    code, out, err = invoke(tickward, "sync", "--config", str(config), "--once")
    assert code == 1
    assert "broken: failed" in out and "502" in err
    assert SECRET not in out + err

    code, out, _ = invoke(tickward, "status", "--config", str(config))
    assert code == 0
    assert "team [ok]" in out and "broken [failing]" in out and "last error:" in out
    assert SECRET not in out
    code, out, _ = invoke(tickward, "status", "--config", str(config), "--json")
    report = {f["name"]: f for f in json.loads(out)["feeds"]}
    assert report["team"]["counts"]["create"] == 2
    assert report["broken"]["failures"] == 1 and "502" in report["broken"]["last_error"]
