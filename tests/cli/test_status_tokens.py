"""Issue 15.6: ``status`` keeps export tokens out unless asked (``--show-tokens``)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ical_bridge.cli import cli
from ical_bridge.feeds import ensure_token
from ical_bridge.store import StateStore


def _config(tmp_path: Path) -> tuple[Path, str]:
    state = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'[state]\nurl = "{state}"\n\n[server]\npublic_url = "https://cal.example.org"\n\n'
        '[[exports]]\nname = "team"\nproject = "Team"\n\n'
        '[[exports]]\nname = "fresh"\nproject = "Fresh"\n'
    )
    with StateStore(state) as store:
        token = ensure_token(store, "team")
    return config, token


def _status(config: Path, *extra: str) -> str:
    result = CliRunner().invoke(
        cli, ["status", "--config", str(config), *extra], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.stdout + result.stderr


def test_status_hides_export_tokens_unless_asked(tmp_path: Path) -> None:
    config, token = _config(tmp_path)
    text = _status(config)
    assert token not in text and token[:16] not in text
    assert "export team (Team): URL hidden" in text and "--show-tokens" in text
    assert "export fresh (Fresh): (no token yet" in text

    report = json.loads(_status(config, "--json"))
    assert token not in json.dumps(report)
    exports = {e["name"]: e for e in report["exports"]}
    assert exports["team"]["url"] is None and exports["team"]["has_token"] is True
    assert exports["fresh"]["url"] is None and exports["fresh"]["has_token"] is False


def test_status_show_tokens_prints_the_subscription_url(tmp_path: Path) -> None:
    config, token = _config(tmp_path)
    url = f"webcal://cal.example.org/feeds/{token}.ics"
    assert f"export team (Team): {url}" in _status(config, "--show-tokens")
    report = json.loads(_status(config, "--json", "--show-tokens"))
    assert {e["name"]: e["url"] for e in report["exports"]} == {"team": url, "fresh": None}


def test_export_token_show_still_prints_the_url(tmp_path: Path) -> None:
    config, token = _config(tmp_path)
    result = CliRunner().invoke(
        cli, ["export-token", "show", "team", "--config", str(config)], catch_exceptions=False
    )
    assert result.exit_code == 0
    assert result.stdout.split() == [
        f"webcal://cal.example.org/feeds/{token}.ics",
        f"https://cal.example.org/feeds/{token}.ics",
    ]


def test_status_names_the_command_that_creates_a_missing_token(tmp_path: Path) -> None:
    # issue 11: it said "start the daemon", but `export-token show` creates it
    config, _ = _config(tmp_path)
    line = next(ln for ln in _status(config).splitlines() if ln.startswith("export fresh"))
    assert "export-token show fresh" in line and "start the daemon once" not in line
    shown = CliRunner().invoke(cli, ["export-token", "show", "fresh", "--config", str(config)])
    assert shown.exit_code == 0
    line = next(ln for ln in _status(config).splitlines() if ln.startswith("export fresh"))
    assert "URL hidden" in line
