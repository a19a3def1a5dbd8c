"""PRIORITY 1–4 / X-TICKWARD-PINNED → ``pinned`` (MAPPING.md: optional, off by default)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
from click.testing import CliRunner

from ical_bridge.cli import cli
from ical_bridge.convert import ImportOptions, convert_calendar, export_calendar
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.tickward import TickwardClient

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _calendar(*events: str) -> str:
    body = "".join(
        f"BEGIN:VEVENT\r\nUID:{uid}@example.com\r\nDTSTAMP:20261101T000000Z\r\n"
        f"DTSTART:20261224T180000Z\r\nSUMMARY:{uid}\r\n{extra}END:VEVENT\r\n"
        for uid, extra in (e.split("|", 1) for e in events)
    )
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{body}END:VCALENDAR\r\n"


CAL = _calendar(
    "urgent|PRIORITY:1\r\n",
    "medium|PRIORITY:4\r\n",
    "low|PRIORITY:9\r\n",
    "plain|",
    "marked|X-TICKWARD-PINNED:TRUE\r\n",
)


def _pins(options: ImportOptions) -> dict[str, object]:
    result = convert_calendar(CAL, options)
    return {d.timer["label"]: d.timer.get("pinned") for d in result.timers}


def test_priority_pins_only_when_asked_and_the_marker_always_does() -> None:
    assert _pins(ImportOptions(now=NOW)) == {
        "urgent": None, "medium": None, "low": None, "plain": None, "marked": True,
    }
    assert _pins(ImportOptions(now=NOW, pin_priority=True)) == {
        "urgent": True, "medium": True, "low": None, "plain": None, "marked": True,
    }


def test_a_pinned_timer_survives_export_and_reimport() -> None:
    timers = [
        {"id": f"timer{n:03d}", "label": f"T{n}", "target_date": "2026-12-24T18:00:00.000Z",
         "timezone": "Europe/Warsaw", "pinned": pinned, "created_at": "2026-11-01T00:00:00.000Z",
         "updated_at": "2026-11-01T00:00:00.000Z", "recurrence": None}
        for n, pinned in enumerate((True, False))
    ]
    text = export_calendar(timers, project_id="p1", calendar_name="Pins", now=NOW)
    assert text.count(b"X-TICKWARD-PINNED:TRUE") == 1
    back = convert_calendar(text, ImportOptions(now=NOW))
    assert {d.timer["label"]: bool(d.timer.get("pinned")) for d in back.timers} == {
        "T0": True, "T1": False,
    }


async def _pinned_on_server(db: Path) -> dict[str, bool]:
    app = create_app(db, rate_limit=None)
    async with TickwardClient("http://embedded.local/api/v1", EMBEDDED_API_KEY,
                              transport=httpx.ASGITransport(app=app)) as client:
        snapshot = (await client.sync()).snapshot
        assert snapshot is not None
        return {t.label: t.pinned for t in snapshot.timers}


def test_import_with_pin_priority_pins_on_tickward_and_is_stable(tmp_path: Path) -> None:
    source = tmp_path / "prio.ics"
    source.write_text(CAL)
    db, state = tmp_path / "tw.sqlite3", tmp_path / "state.sqlite3"
    args = ["--local", str(db), "import", str(source), "--project", "Pins", "--yes", "--json",
            "--state", str(state), "--pin-priority"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert asyncio.run(_pinned_on_server(db)) == {
        "urgent": True, "medium": True, "low": False, "plain": False, "marked": True,
    }
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["changes"] == []
