"""Issue 9's proof: every real calendar imports cleanly and a second import is a no-op.

For every ``../shared/corpus`` file and every ``sample_feeds/`` file that yields
timers: import it into a fresh project of a fresh local tickward (faithful to the
measured server: accepted zones, ``notify`` default, trimming, strict bodies, a
free account's caps) through the client's transport, with no write refused; then
import it again: the plan has no write at all. Oracle: the server's own answers
(refusals) and the planner's diff against what the server stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from ical_bridge.clock import FixedClock
from ical_bridge.convert import ImportOptions, convert_calendar
from ical_bridge.errors import IcalBridgeError
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.store import StateStore
from ical_bridge.sync import SyncOptions, apply_plan, plan_source
from ical_bridge.tickward import TickwardClient
from tests.conftest import CORPUS, SAMPLE_FEEDS

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=365)


def calendar_files() -> Iterator[Path]:
    """Every iCalendar file of the corpus and of ``sample_feeds/``."""
    for root in (CORPUS, SAMPLE_FEEDS):
        for path in sorted(root.rglob("*")):
            if not path.is_file():
                continue
            if path.suffix == ".ics" or (
                path.suffix == ".txt" and path.read_bytes()[:6] == b"BEGIN:"
            ):
                yield path


def yields_timers(data: bytes) -> bool:
    try:
        options = ImportOptions(now=NOW, window=WINDOW, source_key="reimport", local_tz="UTC")
        return bool(convert_calendar(data, options).timers)
    except IcalBridgeError:
        return False


async def _import_twice(data: bytes, state: Path) -> tuple[list[str], list[str]]:
    """(refused writes of the first import, writes planned by the second)."""
    app = create_app(None, rate_limit=None, clock=FixedClock(NOW))
    options = SyncOptions(project="Reimport", now=NOW, window=WINDOW, source_key="reimport",
                          local_timezone="UTC")
    with StateStore(f"sqlite:///{state}") as store:
        async with TickwardClient(
            "http://tickward.test/api/v1", EMBEDDED_API_KEY,
            transport=httpx.ASGITransport(app=app), clock=FixedClock(NOW), pacing=False,
        ) as client:
            first = await plan_source(client, store, data, options)
            report = await apply_plan(client, store, first)
            refused = [f"{f.action} {f.label}: {f.message}" for f in report.failed]
            if report.aborted:
                refused.append(report.aborted)
            second = await plan_source(client, store, data, options)
            again = [f"{c.action} {c.label}" for c in second.writes]
            if second.project.create or second.project.new_color or second.spaces:
                again.append("project/space write")
    return refused, again


def test_every_real_calendar_imports_cleanly_and_reimports_as_a_no_op(tmp_path: Path) -> None:
    files = [p for p in calendar_files() if yields_timers(p.read_bytes())]
    assert len(files) >= 50, f"only {len(files)} files yield timers"
    assert any(p.is_relative_to(SAMPLE_FEEDS) for p in files)
    problems: list[str] = []
    for index, path in enumerate(files):
        refused, again = asyncio.run(
            _import_twice(path.read_bytes(), tmp_path / f"state-{index}.sqlite3")
        )
        if refused or again:
            problems.append(f"{path.name}: refused {refused[:3]}, second import {again[:3]}")
    assert not problems, f"{len(problems)} of {len(files)} files:\n" + "\n".join(problems)
