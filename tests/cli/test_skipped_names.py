"""Skipped events are named by summary and ISO date, not only by UID (issue 11 polish)."""

from __future__ import annotations

import re
from pathlib import Path

import icalendar
from click.testing import CliRunner

from ical_bridge.cli import cli
from tests.conftest import SAMPLE_FEEDS

FEED = SAMPLE_FEEDS / "google_export_x_wr_timezone.ics"
NOW = "2026-11-30T00:00:00Z"


def _past_event() -> tuple[str, str, str]:
    """(uid, summary, ISO start date) of the feed's one past event, read with icalendar."""
    cal = icalendar.Calendar.from_ical(FEED.read_bytes())
    [event] = [e for e in cal.walk("VEVENT") if "past" in str(e["UID"])]
    return str(event["UID"]), str(event["SUMMARY"]), event["DTSTART"].dt.date().isoformat()


def test_convert_names_a_skipped_event_by_summary_and_iso_date() -> None:
    uid, summary, day = _past_event()
    result = CliRunner().invoke(cli, ["convert", "-v", "--now", NOW, str(FEED)])
    assert result.exit_code == 0, result.output
    [line] = [ln for ln in result.stdout.splitlines() if "skipped " + uid in ln]
    assert f'"{summary}" ({day})' in line
    assert not re.search(r"\d{8}T\d{6}", line), line  # one date format: ISO


def test_import_names_it_the_same_way(tmp_path: Path) -> None:
    uid, summary, day = _past_event()
    args = ["--local", str(tmp_path / "tw.sqlite3"), "import", str(FEED), "--project", "G",
            "--dry-run", "-v", "--state", str(tmp_path / "s.db")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith("skipped " + uid)]
    assert f'"{summary}" ({day})' in line and not re.search(r"\d{8}T\d{6}", line)
