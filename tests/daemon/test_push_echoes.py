"""Echoes: tickward's events carry no actor, so the daemon tells its own writes by their stamp."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from ical_bridge.clock import FixedClock
from ical_bridge.daemon.push import EchoBook
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.tickward import TickwardClient

BODY = {"label": "Standup", "target_date": "2030-01-07T09:00:00Z", "timezone": "UTC"}


def test_own_writes_are_echoes_and_a_users_edit_of_the_same_timer_is_not() -> None:
    app = create_app(None, rate_limit=None)
    clock = FixedClock(datetime(2030, 1, 1, tzinfo=UTC))
    book = EchoBook(clock)

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with (
            TickwardClient("http://t/api/v1", EMBEDDED_API_KEY, transport=transport,
                           pacing=False) as bridge,
            TickwardClient("http://t/api/v1", EMBEDDED_API_KEY, transport=transport,
                           pacing=False) as user,
        ):
            book.watch(bridge)
            project = await bridge.create_project({"name": "Team", "timers": [BODY]})
            nested = project.timers[0]
            assert book.is_own(project.id, nested.id, nested.updated_at)  # nested create too
            mine = await bridge.update_timer(project.id, nested.id, {"label": "Standup!"})
            assert book.is_own(project.id, nested.id, mine.updated_at)
            theirs = await user.update_timer(project.id, nested.id, {"label": "Moved"})
            assert theirs.updated_at != mine.updated_at
            assert not book.is_own(project.id, nested.id, theirs.updated_at)
            other = await user.create_timer(project.id, BODY)
            assert not book.is_own(project.id, other.id, other.updated_at)
            assert not book.is_own(project.id, other.id, None)

    asyncio.run(main())
    # a payload without updated_at: only a write of ours moments ago counts as its echo
    book.remember("p1", "t1", None)
    assert book.is_own("p1", "t1", None)
    clock.advance(31)
    assert not book.is_own("p1", "t1", None)
