"""Exported feeds read by two independent parsers: Python ``icalendar`` and Mozilla ``ical.js``.

Every sample feed is imported into the local tickward server over real HTTP (share
links need a server that serves them: the embedded store has none), exported with
``--share-links --include-archived``, and read back by both parsers; what they
read is checked against tickward's own timers (from ``/sync``), not against the
exporter. A size-capped export must still be a calendar both accept.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
import uvicorn
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


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, int]:
    """``app`` over real HTTP on an ephemeral 127.0.0.1 port, in a thread."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    return server, thread, port


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], str]:
    tmp = tmp_path_factory.mktemp("parsers")
    db = tmp / "tickward.sqlite3"
    app = create_app(db, rate_limit=None)
    server, thread, port = _serve(app)
    api = ["--api-url", f"http://127.0.0.1:{port}/api/v1", "--api-key", EMBEDDED_API_KEY]
    files = []
    try:
        for sample in SAMPLES:
            project = sample.stem
            _invoke(*api, "import", str(sample), "--project", project, "--yes",
                    "--state", str(tmp / "state.sqlite3"))
            out = tmp / f"{project}.ics"
            _invoke(*api, "export", "--project", project, "--share-links",
                    "--include-archived", "-o", str(out))
            files.append(out)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.db.close()
    return db, files, f"http://127.0.0.1:{port}/share/"


def test_both_parsers_read_every_exported_event_as_tickward_has_it(
    exported: tuple[Path, list[Path], str], icaljs: Path
) -> None:
    db, files, share_base = exported
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
            assert event["url"].startswith(share_base)  # the server's own share link
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
    exported: tuple[Path, list[Path], str], icaljs: Path, tmp_path: Path
) -> None:
    db, files, _ = exported
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
