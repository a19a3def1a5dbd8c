"""Reminders, notify, filters and targets the user chose, at the command line (issue 13, 4-5).

Each option is given to ``convert --json`` (which prints exactly the bodies ``import``
sends) and, for one case each, to ``import`` against the embedded local server, whose
stored timers are read back.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from ical_bridge.cli import cli
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.tickward import TickwardClient

# Far in the future: the runs use the real clock. Europe/Paris is UTC+1 in January.
_FEED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
X-WR-CALNAME:Choices
X-WR-TIMEZONE:Europe/Paris
BEGIN:VEVENT
UID:review@example.com
DTSTAMP:20261101T000000Z
DTSTART:20400110T100000Z
DTEND:20400110T113000Z
SUMMARY:Design review
CATEGORIES:Work,Design
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER:-PT10M
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:lunch@example.com
DTSTAMP:20261101T000000Z
DTSTART:20400112T120000Z
DTEND:20400112T130000Z
SUMMARY:Team lunch
CATEGORIES:Social
END:VEVENT
BEGIN:VEVENT
UID:holiday@example.com
DTSTAMP:20261101T000000Z
DTSTART;VALUE=DATE:20400120
DTEND;VALUE=DATE:20400121
SUMMARY:Holiday
END:VEVENT
BEGIN:VEVENT
UID:standup@example.com
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Paris:20400102T093000
DTEND;TZID=Europe/Paris:20400102T094500
RRULE:FREQ=WEEKLY
SUMMARY:Standup
END:VEVENT
BEGIN:VTODO
UID:report@example.com
DTSTAMP:20261101T000000Z
DTSTART:20400101T090000Z
DUE:20400125T170000Z
SUMMARY:Report due
END:VTODO
END:VCALENDAR
"""


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    path = tmp_path / "choices.ics"
    path.write_text(_FEED)
    return path


def _convert(feed: Path, *args: str) -> dict[str, Any]:
    run = CliRunner().invoke(cli, ["convert", str(feed), "--json", "--window", "6000d", *args])
    assert run.exit_code == 0, run.output
    out: dict[str, Any] = json.loads(run.stdout)
    return out


def _bodies(feed: Path, *args: str) -> dict[str, dict[str, Any]]:
    return {t["timer"]["label"]: t["timer"] for t in _convert(feed, *args)["timers"]}


def _offsets(body: dict[str, Any]) -> list[int]:
    return [r["offset_minutes"] for r in body.get("reminders", [])]


def test_by_default_only_valarms_remind_and_notify_is_explicit(feed: Path) -> None:
    bodies = _bodies(feed)
    assert _offsets(bodies["Design review"]) == [10] and bodies["Design review"]["notify"] is True
    for label in ("Team lunch", "Holiday", "Standup"):
        assert bodies[label]["notify"] is False  # explicit: tickward would default it to true
        assert _offsets(bodies[label]) == []


def test_default_reminders_fill_events_without_alarms_and_all_day_has_its_own(feed: Path) -> None:
    bodies = _bodies(feed, "--reminders", "15m,1d", "--all-day-reminders", "12h")
    assert _offsets(bodies["Design review"]) == [10]  # keep: the producer's alarm wins
    assert _offsets(bodies["Team lunch"]) == [15, 1440]
    assert _offsets(bodies["Standup"]) == [15, 1440]
    assert _offsets(bodies["Holiday"]) == [720]
    assert bodies["Team lunch"]["notify"] is True


def test_alarms_drop_and_merge(feed: Path) -> None:
    dropped = _bodies(feed, "--reminders", "15m", "--alarms", "drop")
    assert _offsets(dropped["Design review"]) == [15]
    merged = _bodies(feed, "--reminders", "15m,1d", "--alarms", "merge")
    assert _offsets(merged["Design review"]) == [10, 15, 1440]
    assert _offsets(merged["Team lunch"]) == [15, 1440]


def test_notify_choice_overrides_the_default(feed: Path) -> None:
    quiet = _bodies(feed, "--reminders", "15m", "--no-notify")
    assert all(b["notify"] is False for b in quiet.values())
    assert _offsets(quiet["Team lunch"]) == [15]  # the reminders stay, silent
    loud = _bodies(feed, "--notify")
    assert all(b["notify"] is True for b in loud.values())


@pytest.mark.parametrize("bad", ["15s", "29d", "1m,2m,3m,4m,5m,6m", "soon"])
def test_reminders_outside_tickwards_limits_are_a_usage_error(feed: Path, bad: str) -> None:
    run = CliRunner().invoke(cli, ["convert", str(feed), "--reminders", bad])
    assert run.exit_code == 2, run.output


def test_summary_regex_filters(feed: Path) -> None:
    assert set(_bodies(feed, "--include", "^(design|standup)")) == {"Design review", "Standup"}
    result = _convert(feed, "--exclude", "LUNCH|holiday")
    assert {t["timer"]["label"] for t in result["timers"]} == {"Design review", "Standup"}
    assert {s["uid"]: s["code"] for s in result["skipped"]} == {
        "lunch@example.com": "filtered", "holiday@example.com": "filtered",
    }  # fmt: skip


def test_category_filters(feed: Path) -> None:
    assert set(_bodies(feed, "--include-category", "design")) == {"Design review"}
    assert set(_bodies(feed, "--exclude-category", "Social", "--exclude-category", "work")) == {
        "Holiday", "Standup",
    }  # fmt: skip


def test_time_window_filter(feed: Path) -> None:
    bodies = _bodies(feed, "--after", "2040-01-11", "--before", "2040-01-21", "--include-todos")
    # Standup's next occurrence is 2040-01-02 (before --after); the report is due on the 25th.
    assert set(bodies) == {"Team lunch", "Holiday"}


def test_target_end_points_at_the_end(feed: Path) -> None:
    start = _bodies(feed)
    end = _bodies(feed, "--target", "end")
    assert start["Design review"]["target_date"] == "2040-01-10T10:00:00.000Z"
    assert end["Design review"]["target_date"] == "2040-01-10T11:30:00.000Z"
    assert end["Team lunch"]["target_date"] == "2040-01-12T13:00:00.000Z"
    # A weekly series stays native, now at 09:45 Paris time (08:45Z in winter).
    assert end["Standup"]["recurrence"]["type"] == "weekly"
    assert end["Standup"]["target_date"] == "2040-01-02T08:45:00.000Z"
    # An all-day event ends at the start of the next day (the all-day time, in its zone).
    assert end["Holiday"]["target_date"] == "2040-01-20T23:00:00.000Z"
    # The producer's 10-minute alarm now counts back from the end.
    assert _offsets(end["Design review"]) == [10]


def test_todos_count_down_to_due(feed: Path) -> None:
    bodies = _bodies(feed, "--include-todos", "--target", "end")
    assert bodies["Report due"]["target_date"] == "2040-01-25T17:00:00.000Z"


def _stored(local: Path) -> dict[str, dict[str, Any]]:
    async def go() -> dict[str, dict[str, Any]]:
        app = create_app(local, rate_limit=None)
        transport = httpx.ASGITransport(app=app)
        async with TickwardClient("http://embedded.local/api/v1", EMBEDDED_API_KEY,
                                  transport=transport) as client:
            snap = (await client.sync()).snapshot
            assert snap is not None
            return {t.label: t.model_dump(mode="json") for t in snap.timers}

    return asyncio.run(go())


def test_import_writes_what_convert_previews(feed: Path, tmp_path: Path) -> None:
    args = ["--window", "6000d", "--reminders", "15m,1d", "--alarms", "merge", "--exclude",
            "lunch", "--target", "end", "--include-todos"]
    previewed = _bodies(feed, *args[2:])
    local = tmp_path / "tw.sqlite3"
    run = CliRunner().invoke(cli, ["--local", str(local), "import", str(feed), "--project", "C",
                                   "--yes", "--state", str(tmp_path / "s.db"), *args])
    assert run.exit_code == 0, run.output
    stored = _stored(local)
    assert set(stored) == set(previewed) == {"Design review", "Holiday", "Standup", "Report due"}
    for label, body in previewed.items():
        got = stored[label]
        assert got["target_date"] == body["target_date"], label
        assert got["notify"] is body["notify"]
        assert [r["offset_minutes"] for r in got["reminders"]] == _offsets(body)
