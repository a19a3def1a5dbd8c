"""MAPPING.md: "anything else → dropped, listed in --verbose output"."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from ical_bridge.cli import cli
from ical_bridge.convert import ImportOptions, convert_calendar

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CAL = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
    "BEGIN:VEVENT\r\nUID:a@x\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261201T090000Z\r\n"
    "SUMMARY:Review\r\nLOCATION:Room 4\r\nATTENDEE:mailto:ann@example.com\r\n"
    "ATTENDEE:mailto:bob@example.com\r\nORGANIZER:mailto:cy@example.com\r\nCLASS:PRIVATE\r\n"
    "X-TICKWARD-COLOR:#112233\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:b@x\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261202T090000Z\r\n"
    "SUMMARY:Standup\r\nRRULE:FREQ=WEEKLY;BYDAY=WE,FR\r\nCLASS:PUBLIC\r\nPRIORITY:2\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_unmapped_properties_are_counted_once_per_event() -> None:
    result = convert_calendar(CAL, ImportOptions(now=NOW))
    assert len(result.timers) == 3  # one one-off, a weekly series split in two
    # ATTENDEE twice on one event is one event; the split series counts once, not per part
    assert result.dropped == {"ATTENDEE": 1, "CLASS": 2, "ORGANIZER": 1, "PRIORITY": 1}
    pinned = convert_calendar(CAL, ImportOptions(now=NOW, pin_priority=True))
    assert "PRIORITY" not in pinned.dropped  # read when asked to pin


def test_verbose_convert_lists_them_and_the_json_contract_stays_as_it_was(
    tmp_path: Path,
) -> None:
    source = tmp_path / "cal.ics"
    source.write_text(CAL)
    verbose = CliRunner().invoke(cli, ["-v", "convert", str(source), "--now", NOW.isoformat()])
    assert verbose.exit_code == 0, verbose.output
    assert "dropped (no tickward field): ATTENDEE ×1, CLASS ×2, ORGANIZER ×1" in verbose.stdout
    quiet = CliRunner().invoke(cli, ["convert", str(source), "--now", NOW.isoformat()])
    assert "dropped" not in quiet.stdout
    as_json = CliRunner().invoke(cli, ["convert", str(source), "--json", "--now",
                                       NOW.isoformat()])
    assert set(json.loads(as_json.stdout)) == {"timers", "skipped", "warnings"}
