"""Names users choose (a project, a space) are printed as written:
rich must not read them as markup (``[/]`` crashed the plan) or emoji codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ical_bridge.cli import cli

_CALENDAR = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//t//t//EN\r
BEGIN:VEVENT\r
UID:n@example.com\r
DTSTAMP:20261101T000000Z\r
DTSTART:20260105T090000Z\r
RRULE:FREQ=WEEKLY\r
SUMMARY:Stand-up\r
END:VEVENT\r
END:VCALENDAR\r
"""


@pytest.mark.parametrize("project", ["Team [/] ops", "Ops [bold]on call[/bold]", "Party :tada:"])
def test_the_import_plan_prints_the_project_and_space_names_as_written(
    project: str, tmp_path: Path
) -> None:
    source = tmp_path / "named.ics"
    source.write_text(_CALENDAR)
    result = CliRunner().invoke(cli, [
        "--local", str(tmp_path / "local.db"), "import", str(source), "--project", project,
        "--space", "[b]Ops[/b]", "--state", str(tmp_path / "state.db"), "--dry-run",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"Import plan for {project} (new project)" in result.stdout
    assert "spaces to create: [b]Ops[/b]" in result.stdout
