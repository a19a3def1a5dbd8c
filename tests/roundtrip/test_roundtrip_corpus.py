"""Issue 6 on the real corpus: every file that converts to timers round-trips through tickward.

For each corpus file with at least one timer: the drafts are created in a
project of the local tickward server, read back through ``GET /sync``,
exported, and the export converted again with the same options: the same
timers by content (label, target, zone, recurrence, description, colour,
reminders). A rolling timer beyond the import window is re-imported with a
window that covers it (``test_a_one_off_beyond_the_import_window_...`` in
``test_roundtrip_pure.py`` pins that behaviour). One pass over the corpus
(~25 s, dominated by converting the files) keeps the test under a minute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from roundtrip_model import dumps
from roundtrip_server import BASE, comparable

from ical_bridge.clock import FixedClock
from ical_bridge.convert import ImportOptions, convert_calendar, export_calendar
from ical_bridge.errors import IcalBridgeError
from ical_bridge.localserver import EMBEDDED_API_KEY, PlanLimits, create_app
from ical_bridge.recurrence import parse_iso
from ical_bridge.tickward import TickwardClient

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
OPTIONS = ImportOptions(now=NOW, window=timedelta(days=3 * 365))
BIG = PlanLimits(timers_per_project=2000, active_timers_per_space=2000, projects=1000,
                 project_create_max_timers=2000)


def corpus_files() -> Iterator[Path]:
    """Every iCalendar file of the corpus (``.ics``, and ``.txt`` bodies starting BEGIN:)."""
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".ics" or (path.suffix == ".txt" and path.read_bytes()[:6] == b"BEGIN:"):
            yield path


def convert(data: bytes, options: ImportOptions = OPTIONS) -> list[dict[str, Any]]:
    """The timer bodies a conversion gives; none for a file that is no calendar."""
    try:
        return [d.timer for d in convert_calendar(data, options).timers]
    except IcalBridgeError:
        return []


async def _push(
    client: TickwardClient, files: dict[str, list[dict[str, Any]]]
) -> dict[str, list[dict[str, Any]]]:
    """Create one project per file with its timers; read everything back through /sync."""
    projects: dict[str, str] = {}
    for index, (name, timers) in enumerate(files.items()):
        project = await client.create_project({"name": f"corpus {index:03d}"})
        projects[project.id] = name
        for body in timers:
            await client.create_timer(project.id, body)
    snap = (await client.sync()).snapshot
    assert snap is not None
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in files}
    for timer in snap.timers:
        if timer.project_id in projects:
            found[projects[timer.project_id]].append(timer.model_dump(mode="json"))
    return found


@pytest.mark.slow
def test_corpus_files_roundtrip_through_tickward() -> None:
    files: dict[str, list[dict[str, Any]]] = {}
    for path in corpus_files():
        timers = convert(path.read_bytes())
        if timers:
            files[str(path.relative_to(CORPUS))] = timers
    assert len(files) >= 50, f"only {len(files)} corpus files gave timers"
    app = create_app(None, rate_limit=None, plan=BIG, clock=FixedClock(NOW))

    async def go() -> dict[str, list[dict[str, Any]]]:
        transport = httpx.ASGITransport(app=app)
        async with TickwardClient(BASE, EMBEDDED_API_KEY, transport=transport) as client:
            return await _push(client, files)

    stored = asyncio.run(go())
    mismatches: list[str] = []
    for name, timers in stored.items():
        assert len(timers) == len(files[name]), name
        # what tickward holds is what the converter asked for
        assert comparable(timers) == comparable(files[name]), name
        project_id = str(timers[0]["project_id"])
        text = export_calendar(timers, project_id=project_id, calendar_name=name, now=NOW)
        # A rolling timer's next occurrence may lie beyond the window (rolling series are
        # not bounded by it, one-offs are): re-import with a window that covers them all.
        last = max(parse_iso(t["target_date"]) for t in timers)
        again = convert(text, replace(OPTIONS, window=max(OPTIONS.window, last - NOW + DAY)))
        if comparable(again) != comparable(timers):
            mismatches.append(
                f"{name}\nstored {dumps(comparable(timers))}\nagain {dumps(comparable(again))}"
            )
    assert not mismatches, f"{len(mismatches)} of {len(stored)} files differ:\n" + "\n".join(
        mismatches[:5]
    )
