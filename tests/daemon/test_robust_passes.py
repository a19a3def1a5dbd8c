"""Passes that cannot stall the daemon, counted honestly (issue 15.8, 15.13), in process.

A calendar that is costly to convert fails alone once it passes its budget; a pass's
``requests`` are its own, not the feed server's; the first ``sync --once`` converts
each changed feed once. tickward is the local server through httpx's ASGI transport.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ical_bridge.config import load_config
from ical_bridge.daemon.bridge import Bridge
from ical_bridge.daemon.scheduler import DEFAULT_MAINTENANCE
from ical_bridge.feeds import ensure_token, feed_path
from ical_bridge.feeds.server import app_from_config
from ical_bridge.store import StateStore
from tests.daemon.daemon_helpers import NOW, ics, one_offs
from tests.daemon.test_passes import Rig, feed_entry

# FREQ=DAILY on 30 February: dateutil walks every day to year 9999 for each rule.
NEVER = {"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=3"}


def never_matching(count: int = 20) -> bytes:
    """``count`` events whose RRULE never yields its COUNT (minutes to convert)."""
    return ics(
        [
            {
                "UID": f"never-{i}@tests",
                "SUMMARY": f"Never {i}",
                "DTSTART": "20260101T090000Z",
                "RRULE": next(iter(NEVER)),
            }
            for i in range(count)
        ],
        name="Never",
    )


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def test_a_calendar_over_its_convert_budget_fails_alone(rig: Rig) -> None:
    never = rig.tmp / "never.ics"
    never.write_bytes(never_matching())
    good = rig.tmp / "good.ics"
    good.write_bytes(one_offs(2, NOW + timedelta(days=1), label="Good"))
    config = rig.write_config(
        feed_entry("never", str(never), project="Never", convert_budget='"2s"')
        + feed_entry("good", str(good), project="Good")
    )

    async def body(bridge: Bridge) -> dict[str, Any]:
        first = {r.feed: r for r in await bridge.run_all(force=True)}
        good.write_bytes(one_offs(3, NOW + timedelta(days=1), label="Better"))
        second = {r.feed: r for r in await bridge.run_all(force=True)}
        return {"first": first, "second": second}

    results = asyncio.run(_run(rig, config, body))
    for round_ in ("first", "second"):
        never_result = results[round_]["never"]
        assert never_result.outcome == "failed"
        assert "budget" in (never_result.error or "") and never_result.requests == 0
    assert results["first"]["good"].outcome == results["second"]["good"].outcome == "synced"
    state = rig.store.feed("never")
    assert state is not None and state.failures == 2 and "budget" in (state.last_error or "")
    labels = sorted(t.label for t in asyncio.run(rig.snapshot()).timers)
    assert labels == ["Better 0", "Better 1", "Better 2"]  # nothing of "Never" was written


async def _run(rig: Rig, config: Path, body: Any, **kw: Any) -> Any:
    async with rig.client() as client:
        bridge = Bridge(load_config(config), rig.store, client, clock=rig.clock, **kw)
        return await body(bridge)


class _Interleaving(httpx.AsyncBaseTransport):
    """tickward's transport; before the pass's first write, a subscriber fetches the export
    through the feed server (which shares the client, as in the daemon)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.fetch: Any = None
        self.total = 0
        self.by_feed_server = 0
        self._inside = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.total += 1
        if self._inside:
            self.by_feed_server += 1
        elif request.method in ("POST", "PATCH") and self.fetch is not None:
            fetch, self.fetch = self.fetch, None
            self._inside = True
            try:
                # a subscriber's request is its own task (uvicorn's), not part of the pass
                await asyncio.create_task(fetch(), context=contextvars.Context())
            finally:
                self._inside = False
        return await self.inner.handle_async_request(request)


def test_pass_requests_do_not_count_the_feed_servers_calls(rig: Rig) -> None:
    feed = rig.tmp / "team.ics"
    feed.write_bytes(one_offs(2, NOW + timedelta(days=1)))
    config = rig.write_config(
        feed_entry("team", str(feed)) + '[server]\nsync_cache_seconds = 0\n\n'
        '[[exports]]\nname = "team"\nproject = "Team"\n'
    )
    transport = _Interleaving(httpx.ASGITransport(app=rig.app))

    async def main() -> tuple[int, int, int]:
        async with rig.client(transport=transport) as client:
            bridge = Bridge(load_config(config), rig.store, client, clock=rig.clock)
            app = app_from_config(bridge.config, rig.store, client, clock=rig.clock)
            path = feed_path(ensure_token(rig.store, "team"))
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://feeds.test"
            ) as http:

                async def subscriber() -> None:
                    assert (await http.get(path)).status_code == 200

                await bridge.run_all(force=True)  # the project exists from now on
                feed.write_bytes(one_offs(3, NOW + timedelta(days=1), label="More"))
                transport.total = 0
                transport.fetch = subscriber
                [result] = await bridge.run_all(force=True)
        assert result.outcome == "synced"
        return result.requests, transport.total, transport.by_feed_server

    requests, total, by_feed_server = asyncio.run(main())
    assert by_feed_server >= 1  # the subscriber's fetch did reach tickward mid-pass
    assert requests == total - by_feed_server


def test_first_sync_once_converts_each_changed_feed_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    paths = [rig.tmp / f"f{i}.ics" for i in range(2)]
    entries = ""
    for i, path in enumerate(paths):
        path.write_bytes(one_offs(2, NOW + timedelta(days=1), prefix=f"f{i}", label=f"F{i}"))
        entries += feed_entry(f"f{i}", str(path), project=f"P{i}")
    config = rig.write_config(entries)

    async def once(bridge: Bridge) -> None:  # what `sync --once` runs
        results = await bridge.run_all(force=True)
        assert [r.outcome for r in results] == ["synced", "synced"]
        await bridge.maintain(if_older_than=DEFAULT_MAINTENANCE)

    with caplog.at_level(logging.DEBUG, logger="ical_bridge.daemon"):
        asyncio.run(_run(rig, config, once))
    converted = [r.getMessage().split()[0] for r in caplog.records
                 if r.name == "ical_bridge.daemon.convert"]
    assert sorted(converted) == ["feed=f0", "feed=f1"]
    # …and maintenance still runs once time has moved on
    rig.clock.advance(DEFAULT_MAINTENANCE)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="ical_bridge.daemon"):
        asyncio.run(_run(rig, config, lambda b: b.maintain(if_older_than=DEFAULT_MAINTENANCE)))
    assert len([r for r in caplog.records if r.name == "ical_bridge.daemon.convert"]) == 2
    assert isinstance(rig.store, StateStore)
