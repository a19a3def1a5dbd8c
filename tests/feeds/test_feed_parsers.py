"""Exported feeds read by two independent parsers: Python ``icalendar`` and Mozilla ``ical.js``.

Every sample feed is imported into the embedded local tickward, exported with
``--share-links --include-archived``, and read back by both parsers; what they
read is checked against tickward's own timers (from ``/sync``), not against the
exporter. A size-capped export must still be a calendar both accept.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
from click.testing import CliRunner

from ical_bridge.cli import cli
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.tickward import TickwardClient
from tests.conftest import REPO
from tests.feeds.icaljs import icaljs_package, parse_with_icaljs

SAMPLES = sorted((REPO / "sample_feeds").glob("*.ics"))


@pytest.fixture(scope="module")
def icaljs() -> Path:
    return icaljs_package()


def _timers(db: Path) -> dict[str, dict[str, Any]]:
    async def main() -> dict[str, dict[str, Any]]:
        app = create_app(db, rate_limit=None)
        try:
            transport = httpx.ASGITransport(app=app)
            async with TickwardClient("http://t/api/v1", EMBEDDED_API_KEY, transport=transport,
                                      pacing=False) as client:
                snapshot = (await client.sync()).snapshot
                assert snapshot is not None
                return {t.id: t.model_dump(mode="json") for t in snapshot.timers}
        finally:
            app.state.db.close()

    return asyncio.run(main())


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stderr


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    tmp = tmp_path_factory.mktemp("parsers")
    db = tmp / "tickward.sqlite3"
    files = []
    for sample in SAMPLES:
        project = sample.stem
        _invoke("--local", str(db), "import", str(sample), "--project", project, "--yes")
        out = tmp / f"{project}.ics"
        _invoke("--local", str(db), "export", "--project", project, "--share-links",
                "--include-archived", "-o", str(out))
        files.append(out)
    return db, files


def test_both_parsers_read_every_exported_event_as_tickward_has_it(
    exported: tuple[Path, list[Path]], icaljs: Path
) -> None:
    db, files = exported
    timers = _timers(db)
    assert len(files) == len(SAMPLES) >= 5
    for calendar, read in zip(files, parse_with_icaljs(icaljs, *files), strict=True):
        data = calendar.read_bytes()
        assert len(data) <= 1_000_000
        cal = icalendar.Calendar.from_ical(data)
        assert str(cal["METHOD"]) == "PUBLISH" and read["method"] == "PUBLISH"
        assert read["refresh"] and read["refresh"] == read["ttl"]
        py_events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
        assert py_events and set(py_events) == {e["uid"] for e in read["events"]}
        for event in read["events"]:
            timer = timers[event["uid"].split("@", 1)[0]]
            py = py_events[event["uid"]]
            assert event["summary"] == str(py["SUMMARY"]) == timer["label"]
            assert event["url"].startswith("http://embedded.local/share/")
            assert str(py["URL"]) == event["url"]
            target = datetime.fromisoformat(timer["target_date"])
            if event["all_day"]:  # a timer at local midnight: its date in the timer's zone
                local = target.astimezone(ZoneInfo(timer["timezone"]))
                assert event["local"] == local.date().isoformat()
            else:
                assert datetime.fromisoformat(event["start"]) == target.astimezone(UTC)
            repeats = bool(timer.get("recurrence") and timer["recurrence"].get("enabled"))
            assert event["recurring"] == repeats == ("RRULE" in py)


def test_a_size_capped_export_stays_under_the_cap_and_parses(
    exported: tuple[Path, list[Path]], icaljs: Path, tmp_path: Path
) -> None:
    db, files = exported
    biggest = max(files, key=lambda p: p.stat().st_size)
    cap = biggest.stat().st_size // 2
    out = tmp_path / "capped.ics"
    note = _invoke("--local", str(db), "export", "--project", biggest.stem, "--include-archived",
                   "--max-bytes", str(cap), "-o", str(out))
    assert "left out to stay under" in note
    assert 0 < out.stat().st_size <= cap
    [read] = parse_with_icaljs(icaljs, out)
    full = icalendar.Calendar.from_ical(biggest.read_bytes()).walk("VEVENT")
    capped = icalendar.Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    assert 0 < len(read["events"]) == len(capped) < len(full)
