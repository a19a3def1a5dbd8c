"""``export --state``: SEQUENCE counts edits like the served feed (issue 11 polish)."""

from __future__ import annotations

from pathlib import Path

import icalendar
from click.testing import CliRunner

from ical_bridge.cli import cli

_FEED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:launch@t
DTSTAMP:20261101T000000Z
DTSTART:20400110T100000Z
SUMMARY:{label}
END:VEVENT
BEGIN:VEVENT
UID:retro@t
DTSTAMP:20261101T000000Z
DTSTART:20400112T100000Z
SUMMARY:Retro
END:VEVENT
END:VCALENDAR
"""


def _sequences(tmp_path: Path, *extra: str) -> dict[str, int]:
    run = CliRunner().invoke(cli, ["--local", str(tmp_path / "tw.sqlite3"), "export",
                                   "--project", "Team", *extra])
    assert run.exit_code == 0, run.output
    calendar = icalendar.Calendar.from_ical(run.stdout_bytes)
    return {str(e["SUMMARY"]).split()[0]: int(e["SEQUENCE"]) for e in calendar.walk("VEVENT")}


def _import(tmp_path: Path, label: str) -> None:
    feed = tmp_path / "team.ics"
    feed.write_text(_FEED.format(label=label))
    run = CliRunner().invoke(cli, ["--local", str(tmp_path / "tw.sqlite3"), "import", str(feed),
                                   "--project", "Team", "--yes", "--window", "6000d",
                                   "--state", str(tmp_path / "import.sqlite3")])
    assert run.exit_code == 0, run.output


def test_export_sequence_counts_each_edit_seen_by_the_state_store(tmp_path: Path) -> None:
    state = ["--state", str(tmp_path / "state.sqlite3")]
    _import(tmp_path, "Launch")
    assert _sequences(tmp_path, *state) == {"Launch": 0, "Retro": 0}
    _import(tmp_path, "Launch v2")
    assert _sequences(tmp_path, *state) == {"Launch": 1, "Retro": 0}
    assert _sequences(tmp_path, *state) == {"Launch": 1, "Retro": 0}  # unchanged: the same
    _import(tmp_path, "Launch v3")
    assert _sequences(tmp_path, *state) == {"Launch": 2, "Retro": 0}
    # without a state store: the stateless value, small and deterministic
    assert _sequences(tmp_path) == {"Launch": 1, "Retro": 0}
