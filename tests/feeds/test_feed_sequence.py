"""A subscribed feed's SEQUENCE counts edits (issue 11 polish), over a real local tickward.

tickward runs on its own clock, an hour on per edit: the old exporter wrote the
seconds between created and updated (3600, 7200, …); clients expect 0, 1, 2.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import icalendar

from ical_bridge.clock import FixedClock
from ical_bridge.feeds import ExportFeed, create_feed_app, ensure_token
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.store import StateStore
from ical_bridge.tickward import SyncSnapshot, TickwardClient
from tests.feeds.feed_harness import REFRESH, START, timer_body


async def _no_sleep(_: float) -> None:
    return None


def sequences(body: bytes) -> dict[str, int]:
    return {
        str(e["SUMMARY"]).split()[0]: int(e["SEQUENCE"])
        for e in icalendar.Calendar.from_ical(body).walk("VEVENT")
    }


def test_feed_sequence_counts_edits_and_survives_a_restart(tmp_path: Path) -> None:
    async def main() -> None:
        tw_clock, clock = FixedClock(START), FixedClock(START)
        tickward = create_app(None, rate_limit=None, clock=tw_clock)
        transport = httpx.ASGITransport(app=tickward)
        client = TickwardClient("http://tickward.test/api/v1", EMBEDDED_API_KEY,
                                transport=transport, pacing=False, sleep=_no_sleep)
        store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
        exports = [ExportFeed(name="team", project="Team", refresh=timedelta(hours=1))]
        try:
            project = await client.create_project({"name": "Team"})
            await client.create_timer(project.id, timer_body())
            await client.create_timer(project.id, timer_body(id="deploy_0001", label="Deploy"))

            async def served() -> dict[str, int]:
                source = SyncSnapshot(client, clock=clock, refresh_seconds=REFRESH)
                app = create_feed_app(exports, source=source, store=store, clock=clock)
                token = ensure_token(store, "team")
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                             base_url="http://feeds.test") as http:
                    answer = await http.get(f"/feeds/{token}.ics")
                assert answer.status_code == 200, answer.text
                return sequences(answer.content)

            async def edit(label: str) -> None:
                tw_clock.advance(timedelta(hours=1))
                clock.advance(timedelta(seconds=REFRESH + 1))
                await client.update_timer(project.id, "launch_0001", {"label": label})

            assert await served() == {"Launch": 0, "Deploy": 0}
            await edit("Launch v2")
            assert await served() == {"Launch": 1, "Deploy": 0}
            assert await served() == {"Launch": 1, "Deploy": 0}  # re-served unchanged: same
            await edit("Launch v3")
            assert await served() == {"Launch": 2, "Deploy": 0}
            clock.advance(timedelta(hours=2))  # later, a fresh app on the same store
            assert await served() == {"Launch": 2, "Deploy": 0}
        finally:
            await client.aclose()
            store.close()
            tickward.state.db.close()

    asyncio.run(main())
