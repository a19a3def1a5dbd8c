"""``convert`` previews exactly what ``import`` writes, with the same options (issue 11, item 8).

Before, ``import`` refused ``--include-todos``, ``--all-day-time`` and the
``single``/``split`` strategies, and ``convert -v`` (the README's own example)
was a usage error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ical_bridge.cli import cli

# Far in the future, so that the two runs (each with the real clock) see the same calendar.
_FEED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
X-WR-CALNAME:Preview
BEGIN:VEVENT
UID:standup@example.com
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Paris:20400102T093000
RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20400201T000000Z
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:holiday@example.com
DTSTAMP:20261101T000000Z
DTSTART;VALUE=DATE:20400110
SUMMARY:Holiday
END:VEVENT
BEGIN:VEVENT
UID:launch@example.com
DTSTAMP:20261101T000000Z
DTSTART:20400115T120000
PRIORITY:1
SUMMARY:Launch
END:VEVENT
BEGIN:VTODO
UID:report@example.com
DTSTAMP:20261101T000000Z
DUE:20400120T170000Z
SUMMARY:Report due
END:VTODO
END:VCALENDAR
"""

_OPTIONS = ["--include-todos", "--all-day-time", "08:15", "--pin-priority", "--window", "6000d",
            "--tz", "America/New_York"]  # fmt: skip


def _convert(feed: Path, *args: str) -> list[dict[str, Any]]:
    run = CliRunner().invoke(cli, ["convert", str(feed), "--json", *args])
    assert run.exit_code == 0, run.output
    bodies = []
    for entry in json.loads(run.stdout)["timers"]:
        body = {k: v for k, v in entry["timer"].items() if v is not None}
        bodies.append(body)
    return sorted(bodies, key=lambda b: str(b["id"]))


def _import_plan(feed: Path, tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    run = CliRunner().invoke(cli, [
        "--local", str(tmp_path / "tickward.sqlite3"), "import", str(feed), "--dry-run", "--json",
        "--state", str(tmp_path / "state.sqlite3"), *args,
    ])  # fmt: skip
    assert run.exit_code == 0, run.output
    creates = [c["fields"] for c in json.loads(run.stdout)["changes"] if c["action"] == "create"]
    return sorted(creates, key=lambda b: str(b["id"]))


@pytest.mark.parametrize("strategy", ["auto", "single", "native", "split", "rolling", "expand"])
def test_convert_shows_exactly_the_timers_import_would_create(
    strategy: str, tmp_path: Path
) -> None:
    feed = tmp_path / "preview.ics"
    feed.write_text(_FEED)
    args = [*_OPTIONS, "--strategy", strategy]
    previewed = _convert(feed, *args)
    planned = _import_plan(feed, tmp_path, *args)
    assert planned == previewed
    labels = {b["label"] for b in previewed}
    assert "Report due" in labels  # --include-todos reached the converter on both sides
    holiday = next(b for b in previewed if b["label"] == "Holiday")
    assert holiday["target_date"] == "2040-01-10T13:15:00.000Z"  # 08:15 in New York
    launch = next(b for b in previewed if b["label"] == "Launch")
    assert launch["pinned"] is True and launch["timezone"] == "America/New_York"


def test_verbose_is_accepted_after_the_sub_command(tmp_path: Path) -> None:
    feed = tmp_path / "preview.ics"
    feed.write_text(_FEED)
    run = CliRunner().invoke(cli, ["convert", str(feed), "-v", "--now", "2026-11-30T00:00:00Z"])
    assert run.exit_code == 0, run.output  # `convert -v`, as the README shows it
    assert "skipped holiday@example.com: outside_window" in run.stdout  # listed only with -v
    plan = CliRunner().invoke(cli, [
        "--local", str(tmp_path / "t.sqlite3"), "import", str(feed), "--dry-run", "-v",
        "--state", str(tmp_path / "s.sqlite3"),
    ])  # fmt: skip
    assert plan.exit_code == 0, plan.output
