"""Commands speak one vocabulary: the same project names, strategies and size limit everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ical_bridge.cli import cli, main
from ical_bridge.vocabulary import MAX_SOURCE_BYTES
from tests.conftest import SAMPLE_FEEDS

FEED = SAMPLE_FEEDS / "team_meetings.ics"
NOW = "2026-11-02T09:00:00Z"


def invoke(tmp: Path, *args: str) -> Result:
    local = ["--local", str(tmp / "tickward.sqlite3")]
    state = ["--state", str(tmp / "state.sqlite3")] if args[0] == "import" else []
    return CliRunner().invoke(cli, [*local, *args, *state])


def test_export_finds_a_project_by_name_in_any_case_exactly_as_import_does(
    tmp_path: Path,
) -> None:
    created = invoke(tmp_path, "import", str(FEED), "--project", "Team", "--yes", "--json")
    assert created.exit_code == 0, created.output
    team_id = json.loads(created.stdout)["project"]["id"]

    again = invoke(tmp_path, "import", str(FEED), "--project", "team", "--dry-run", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["project"]["id"] == team_id  # found, not created

    exported = invoke(tmp_path, "export", "--project", "team")
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.startswith("BEGIN:VCALENDAR") and "SUMMARY:" in exported.stdout


def _choices(command: str, option: str) -> list[str]:
    help_text = CliRunner().invoke(cli, [command, "--help"], terminal_width=200).stdout
    line = next(part for part in help_text.split("--") if part.startswith(option[2:] + " "))
    return line.split("[", 1)[1].split("]", 1)[0].split("|")


def test_convert_and_import_offer_the_same_strategies() -> None:
    assert _choices("convert", "--strategy") == _choices("import", "--strategy") == [
        "auto", "single", "native", "split", "rolling", "expand",
    ]  # fmt: skip


@pytest.mark.parametrize("strategy", ["single", "split"])
def test_import_accepts_strategies_it_used_to_refuse(strategy: str, tmp_path: Path) -> None:
    shown = CliRunner().invoke(cli, ["convert", str(FEED), "--strategy", strategy, "--json",
                                     "--now", NOW])
    assert shown.exit_code == 0, shown.output
    planned = invoke(tmp_path, "import", str(FEED), "--project", "Team", "--strategy", strategy,
                     "--dry-run", "--json")
    assert planned.exit_code == 0, planned.output
    assert json.loads(planned.stdout)["summary"]["create"] > 0


def test_convert_and_import_refuse_the_same_oversized_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.ics"
    big.write_bytes(FEED.read_bytes() + b" " * MAX_SOURCE_BYTES)
    local = ["--local", str(tmp_path / "tickward.sqlite3")]
    errors = []
    for args in (["convert", str(big)], ["import", str(big), "--project", "Team", "--yes"]):
        with pytest.raises(SystemExit) as exited:
            main([*local, *args])
        assert exited.value.code == 2  # bad input, not a failed run
        errors.append(capsys.readouterr().err.strip())
    assert errors[0] == errors[1] and f"{MAX_SOURCE_BYTES} byte limit" in errors[0]
