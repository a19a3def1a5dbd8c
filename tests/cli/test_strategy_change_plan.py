"""A timer replaced because its series changed strategy is reported as such (issue 11, item 4).

Before, the plan archived the left-over split parts saying the event "left the
calendar", although the event was still there.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ical_bridge.cli import cli

_SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:standup@example.com
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Paris:20260105T093000
RRULE:FREQ=WEEKLY;BYDAY=MO,WE
{exdate}SUMMARY:Standup
END:VEVENT
END:VCALENDAR
"""


def test_split_series_that_becomes_rolling_says_replaced_not_left(tmp_path: Path) -> None:
    feed = tmp_path / "team.ics"
    db, state = tmp_path / "tickward.sqlite3", tmp_path / "state.sqlite3"
    args = ["--local", str(db), "import", str(feed), "--project", "Team", "--yes", "--json",
            "--state", str(state)]  # fmt: skip
    feed.write_text(_SERIES.format(exdate=""))
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    created = json.loads(first.stdout)["changes"]
    assert sorted(c["strategy"] for c in created) == ["split", "split"]

    # The organiser cancels one Wednesday (far ahead: the test holds whatever the date);
    # the series is no longer two plain slots.
    feed.write_text(_SERIES.format(exdate="EXDATE;TZID=Europe/Paris:20400111T093000\n"))
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0, second.output
    changes = json.loads(second.stdout)["changes"]
    removed = [c for c in changes if c["action"] in ("archive", "delete")]
    assert len(removed) == 1
    note = removed[0]["note"]
    assert "left the calendar" not in note
    assert "replaced" in note and "rolling" in note and "split" in note
