"""Feeds every calendar app accepts: size cap, refresh hints, Last-Modified, gzip (issue 13.7)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest

from ical_bridge.feeds import create_feed_app, sign
from ical_bridge.feeds.render import ExportFeed
from ical_bridge.feeds.shaping import MIN_REFRESH, fit_calendar
from tests.feeds.feed_harness import START, WEBHOOK_SECRET, Harness, harness, later, timer_body

Check = Callable[[Harness], Awaitable[None]]


def run(test: Check, tmp_path: Path, **options: Any) -> None:
    async def main() -> None:
        async with harness(tmp_path, **options) as h:
            await test(h)

    asyncio.run(main())


def _timer(i: int, when: datetime, *, archived: datetime | None = None) -> dict[str, Any]:
    return {
        "id": f"t{i:03d}",
        "target_date": when.isoformat(),
        "archived_at": archived.isoformat() if archived else None,
    }


def test_fit_leaves_out_archived_then_past_then_furthest_upcoming_and_no_more() -> None:
    now = START
    timers = [
        _timer(0, now + timedelta(days=3)),
        _timer(1, now - timedelta(days=9), archived=now - timedelta(days=2)),
        _timer(2, now - timedelta(days=5)),
        _timer(3, now + timedelta(days=30)),
        _timer(4, now - timedelta(days=1), archived=now - timedelta(days=8)),
        _timer(5, now - timedelta(days=20)),
    ]

    def render(chosen: list[Any]) -> bytes:  # 100 bytes of header, 100 per event (its id)
        return b"h" * 100 + b"".join(t["id"].encode().ljust(100) for t in chosen)

    assert fit_calendar(timers, render, now=now, max_bytes=700).dropped_total == 0
    for cap, left_out in [
        (600, ["t004"]),  # the oldest archived first
        (500, ["t004", "t001"]),
        (400, ["t004", "t001", "t005"]),  # then the oldest past one
        (300, ["t004", "t001", "t005", "t002"]),
        (200, ["t004", "t001", "t005", "t002", "t003"]),  # then the furthest upcoming
    ]:
        fitted = fit_calendar(timers, render, now=now, max_bytes=cap)
        assert len(fitted.body) <= cap
        assert fitted.body == render([t for t in timers if t["id"] not in left_out])
        assert fitted.dropped_total == len(left_out)


def test_a_served_feed_over_its_cap_drops_past_timers_first_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def check(h: Harness) -> None:
        for i in range(12):  # past timers, each with a long description
            await h.writer.create_timer(h.project.id, timer_body(
                id=f"past_{i:04d}", label=f"Past {i}", description="x" * 190,
                target_date=(START - timedelta(days=i + 1)).isoformat()))
        full = await h.http.get(h.feed_path(), headers={"Accept-Encoding": "identity"})
        assert len(full.content) > 6000
        small = await h.http.get(h.feed_path("small"), headers={"Accept-Encoding": "identity"})
        assert len(small.content) <= 6000
        events = icalendar.Calendar.from_ical(small.content).walk("VEVENT")
        names = {str(e["SUMMARY"]) for e in events}
        assert {"Launch", "Deploy"} <= names  # the upcoming ones stay
        past_kept = sorted(int(n.split()[1]) for n in names if n.startswith("Past"))
        assert past_kept == list(range(len(past_kept)))  # the most recent past ones stay
        assert len(past_kept) < 12

    exports = [
        ExportFeed(name="team", project="Team"),
        ExportFeed(name="small", project="Team", max_bytes=6000),
    ]
    with caplog.at_level("WARNING", logger="ical_bridge.feeds.app"):
        run(check, tmp_path, exports=exports)
    assert any("left out to stay under 6000 bytes" in r.getMessage() for r in caplog.records)


def _refresh(body: bytes) -> tuple[str, str]:
    cal = icalendar.Calendar.from_ical(body)
    return cal["REFRESH-INTERVAL"].to_ical().decode(), str(cal["X-PUBLISHED-TTL"])


def test_refresh_hints_shrink_as_the_next_target_approaches(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        await h.writer.create_timer(h.project.id, timer_body(
            id="soon_0001", label="Soon", target_date=(START + timedelta(minutes=40)).isoformat()))
        h.source.invalidate()
        first = await h.http.get(h.feed_path())
        # the next target is 40 min away: come back a minute after it, not in an hour
        assert _refresh(first.content) == ("PT41M", "PT41M")
        assert first.headers["cache-control"] == f"max-age={41 * 60}"
        later(h.clock, 20 * 60)
        closer = await h.http.get(h.feed_path())
        assert _refresh(closer.content) == ("PT21M", "PT21M")
        later(h.clock, 15 * 60)  # 5 min to go: never below the floor
        floor = int(MIN_REFRESH.total_seconds() // 60)
        assert _refresh((await h.http.get(h.feed_path())).content) == (f"PT{floor}M",) * 2
        later(h.clock, 10 * 60)  # passed; the next one is weeks away: the configured hour
        assert _refresh((await h.http.get(h.feed_path())).content) == ("PT1H", "PT1H")

    run(check, tmp_path)


def _ims(h: Harness, since: str) -> dict[str, str]:
    return {"If-Modified-Since": since, "Accept-Encoding": "identity"}


def test_if_modified_since_only_clients_see_a_change_made_within_the_same_second(
    tmp_path: Path,
) -> None:
    async def check(h: Harness) -> None:
        first = await h.http.get(h.feed_path())
        stamp = first.headers["last-modified"]
        assert (await h.http.get(h.feed_path(), headers=_ims(h, stamp))).status_code == 304
        await h.writer.update_timer(h.project.id, "launch_0001", {"label": "Moved"})
        body = json.dumps({"id": "evt_1", "type": "timer.updated", "data": {}}).encode()
        signature = sign(body, WEBHOOK_SECRET, int(h.clock.now().timestamp()))
        await h.http.post("/hooks/tickward", content=body,
                          headers={"tickward-signature": signature})
        # same clock second as the first answer: Apple's client sends only If-Modified-Since
        changed = await h.http.get(h.feed_path(), headers=_ims(h, stamp))
        assert changed.status_code == 200 and b"SUMMARY:Moved" in changed.content
        newer = parsedate_to_datetime(changed.headers["last-modified"])
        assert newer > parsedate_to_datetime(stamp)
        again = await h.http.get(h.feed_path(), headers=_ims(h, changed.headers["last-modified"]))
        assert again.status_code == 304

    run(check, tmp_path)


def test_a_change_elsewhere_keeps_last_modified_and_gzip_only_when_asked(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        first = await h.http.get(h.feed_path(), headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in first.headers
        assert first.content.startswith(b"BEGIN:VCALENDAR")
        other = await h.writer.create_project({"name": "Elsewhere"})
        await h.writer.create_timer(other.id, timer_body(id="else_0001", label="Else"))
        later(h.clock, 61)  # the snapshot is revalidated and changed, this calendar did not
        same = await h.http.get(h.feed_path(), headers=_ims(h, first.headers["last-modified"]))
        assert same.status_code == 304
        zipped = await h.http.get(h.feed_path(), headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.content == first.content  # httpx undid the gzip it asked for
        assert len(zipped.headers["content-length"]) and int(
            zipped.headers["content-length"]) < len(first.content)

    run(check, tmp_path)


def test_last_modified_survives_a_restart_of_the_feed_server(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        first = await h.http.get(h.feed_path())
        stamp = first.headers["last-modified"]
        later(h.clock, 3600)
        # a new feed server process: same state store, same tickward content
        restarted = create_feed_app([ExportFeed(name="team", project="Team")], source=h.source,
                                    store=h.store, clock=h.clock)
        transport = httpx.ASGITransport(app=restarted)
        async with httpx.AsyncClient(transport=transport, base_url="http://feeds.test") as http:
            again = await http.get(h.feed_path(), headers=_ims(h, stamp))
        assert again.status_code == 304 and again.headers["last-modified"] == stamp

    run(check, tmp_path)
