"""Feed passes and maintenance, in process, at any ``now`` (FixedClock; no scheduler).

tickward is the real local server (through httpx's ASGI transport); feeds are
files or a real HTTP host on 127.0.0.1. Expected values come from the feed
text and dateutil, never from the code under test.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from dateutil.rrule import rrulestr

from ical_bridge.clock import FixedClock
from ical_bridge.config import load_config
from ical_bridge.daemon.bridge import Bridge
from ical_bridge.daemon.runner import backoff_delay
from ical_bridge.daemon.scheduler import build_scheduler, run_daemon, schedule_soon
from ical_bridge.daemon.status import collect_status
from ical_bridge.ingest import calendar_refresh
from ical_bridge.localserver import EMBEDDED_API_KEY, PlanLimits, create_app
from ical_bridge.recurrence import parse_iso
from ical_bridge.store import StateStore
from ical_bridge.sync import Limits
from ical_bridge.tickward import Sync, TickwardClient
from tests.daemon.daemon_helpers import NOW, FeedHost, ics, one_offs

SECRET = "feedtoken-9f8e7d"


class Rig:
    """A local tickward app, a state store and a FixedClock, shared by the bridges of a test."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.clock = FixedClock(NOW)
        self.app = create_app(None, rate_limit=None, clock=self.clock)
        self.store = StateStore(f"sqlite:///{tmp / 'state.sqlite3'}")

    def write_config(self, feeds: str, *, name: str = "cfg.toml") -> Path:
        path = self.tmp / name
        path.write_text(f'[state]\nurl = "sqlite:///{self.tmp / "state.sqlite3"}"\n\n{feeds}')
        return path

    def client(self, **kw: Any) -> TickwardClient:
        transport = kw.pop("transport", httpx.ASGITransport(app=self.app))
        return TickwardClient(
            kw.pop("base", "http://tickward.test/api/v1"),
            EMBEDDED_API_KEY,
            transport=transport,
            clock=self.clock,
            pacing=False,
            **kw,
        )

    def requests(self) -> int:
        return len(self.app.state.requests)

    async def snapshot(self) -> Sync:
        async with self.client() as client:
            result = await client.sync()
        assert result.snapshot is not None
        return result.snapshot


def run(rig: Rig, config: Path, body: Callable[[Bridge], Awaitable[Any]], **kw: Any) -> Any:
    async def main() -> Any:
        async with rig.client(**kw.pop("client_kw", {})) as client:
            bridge = Bridge(load_config(config), rig.store, client, clock=rig.clock, **kw)
            return await body(bridge)

    return asyncio.run(main())


def feed_entry(name: str, where: str, project: str = "Team", **extra: str) -> str:
    key = "url" if "://" in where else "path"
    lines = [f'[[feeds]]\nname = "{name}"\n{key} = "{where}"\nproject = "{project}"']
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n\n"


def labels(snapshot: Sync, *, archived: bool = False) -> list[str]:
    return sorted(t.label for t in snapshot.timers if bool(t.archived_at) == archived)


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def test_unchanged_feed_costs_no_tickward_request_and_a_change_is_synced(rig: Rig) -> None:
    feed = rig.tmp / "team.ics"
    feed.write_bytes(one_offs(3, NOW + timedelta(days=2)))
    config = rig.write_config(feed_entry("team", str(feed), interval='"1m"'))

    async def body(bridge: Bridge) -> None:
        first = await bridge.run_all()
        assert [r.outcome for r in first] == ["synced"]
        before = rig.requests()
        again = await bridge.run_all(force=True)
        assert [r.outcome for r in again] == ["unchanged"]
        assert rig.requests() == before  # not even GET /sync
        feed.write_bytes(one_offs(4, NOW + timedelta(days=2), label="Renamed"))
        changed = await bridge.run_all(force=True)
        assert [r.outcome for r in changed] == ["synced"]

    run(rig, config, body)
    snap = asyncio.run(rig.snapshot())
    assert labels(snap) == [f"Renamed {i}" for i in range(4)]
    assert len({t.id for t in snap.timers}) == len(snap.timers) == 4


def test_http_304_costs_no_tickward_request(rig: Rig, feed_host: FeedHost) -> None:
    (feed_host.root / "team.ics").write_bytes(one_offs(2, NOW + timedelta(days=1)))
    config = rig.write_config(feed_entry("team", f"{feed_host.base}/team.ics?token={SECRET}"))

    async def body(bridge: Bridge) -> None:
        assert (await bridge.run_all())[0].outcome == "synced"
        before = rig.requests()
        result = (await bridge.run_all(force=True))[0]
        assert result.outcome == "not_modified" and result.requests == 0
        assert rig.requests() == before

    run(rig, config, body)
    assert feed_host.count("team.ics", 304) == 1


def test_a_pass_over_several_changed_feeds_reads_sync_once(rig: Rig) -> None:
    paths = [rig.tmp / f"f{i}.ics" for i in range(3)]
    entries = ""
    for i, path in enumerate(paths):
        path.write_bytes(one_offs(2, NOW + timedelta(days=1), prefix=f"f{i}", label=f"F{i}"))
        entries += feed_entry(f"f{i}", str(path), project=f"P{i}")
    entries += feed_entry("f0-too", str(paths[0]), project="P0")  # shares P0 with f0
    config = rig.write_config(entries)

    def syncs() -> int:
        return len([r for r in rig.app.state.requests if r.path == "/sync"])

    async def body(bridge: Bridge) -> None:
        before = syncs()
        await bridge.run_all()
        assert syncs() - before == 2  # once for the pass, once more for the shared project
        for i, path in enumerate(paths):
            path.write_bytes(one_offs(3, NOW + timedelta(days=1), prefix=f"f{i}", label=f"G{i}"))
        before = syncs()
        outcomes = [r.outcome for r in await bridge.run_all(force=True)]
        assert outcomes == ["synced"] * 4
        assert syncs() - before == 2
        rig.clock.advance(timedelta(minutes=2))  # just-planned feeds are not re-planned
        before = syncs()
        await bridge.maintain()  # nothing to change: one conditional read in all
        assert syncs() - before == 1

    run(rig, config, body)
    snap = asyncio.run(rig.snapshot())
    assert len(snap.projects) == 3
    for i in range(3):
        assert [t.label for t in snap.timers if t.project_name == f"P{i}" and not t.archived_at]


def test_rolling_timer_moves_on_and_finished_series_are_archived(rig: Rig) -> None:
    start = NOW + timedelta(days=1, hours=2)  # 2026-12-02 10:00Z
    rolling = "FREQ=DAILY;INTERVAL=3;COUNT=3"
    native = "FREQ=WEEKLY;COUNT=2"
    feed = rig.tmp / "series.ics"
    feed.write_bytes(
        ics(
            [
                {
                    "UID": "roll@t",
                    "SUMMARY": "Every third day",
                    "RRULE": rolling,
                    "DTSTART": start.strftime("%Y%m%dT%H%M%SZ"),
                },
                {
                    "UID": "week@t",
                    "SUMMARY": "Weekly twice",
                    "RRULE": native,
                    "DTSTART": start.strftime("%Y%m%dT%H%M%SZ"),
                },
            ]
        )
    )
    config = rig.write_config(feed_entry("series", str(feed)))
    oracle = list(rrulestr(rolling, dtstart=start))
    weekly_end = list(rrulestr(native, dtstart=start))[-1]

    def timer(snap: Sync, label: str) -> Any:
        return next(t for t in snap.timers if t.label == label)

    async def body(bridge: Bridge) -> None:
        await bridge.run_all()
        snap = await bridge.snapshots.read()
        assert parse_iso(timer(snap, "Every third day").target_date) == oracle[0]
        assert await bridge.next_due() == oracle[0]  # maintenance is due when it passes
        for expected in oracle[1:]:
            rig.clock.set(expected - timedelta(days=1))  # the previous occurrence has passed
            await bridge.maintain()
            bridge.snapshots.invalidate()
            snap = await bridge.snapshots.read()
            assert parse_iso(timer(snap, "Every third day").target_date) == expected
            assert not timer(snap, "Every third day").archived_at
            assert await bridge.next_due() == min(expected, weekly_end)
        rig.clock.set(max(oracle[-1], weekly_end) + timedelta(hours=1))
        await bridge.maintain()
        assert await bridge.next_due() is None  # nothing left that moves on

    run(rig, config, body)
    snap = asyncio.run(rig.snapshot())
    assert labels(snap, archived=True) == ["Every third day", "Weekly twice"]
    assert labels(snap) == []


def test_failing_feed_backs_off_and_others_keep_syncing(rig: Rig, feed_host: FeedHost) -> None:
    good = rig.tmp / "good.ics"
    good.write_bytes(one_offs(2, NOW + timedelta(days=1), label="Good"))
    feed_host.modes["bad.ics"] = "500"
    config = rig.write_config(
        feed_entry(
            "bad", f"{feed_host.base}/bad.ics?token={SECRET}", project="Bad", interval='"10m"'
        )
        + feed_entry("good", str(good), interval='"10m"')
    )
    seen: dict[str, Any] = {}

    async def body(bridge: Bridge) -> None:
        results = {r.feed: r for r in await bridge.run_all()}
        assert results["bad"].outcome == "failed" and results["good"].outcome == "synced"
        seen["first"] = rig.store.feed("bad")
        rig.clock.advance(timedelta(minutes=10))
        good.write_bytes(one_offs(3, NOW + timedelta(days=1), label="Good"))
        results = {r.feed: r for r in await bridge.run_all()}
        assert results["bad"].outcome == "waiting"  # backing off: 2 × 10 min not over yet
        assert results["good"].outcome == "synced"
        rig.clock.advance(timedelta(minutes=15))
        results = {r.feed: r for r in await bridge.run_all()}
        assert results["bad"].outcome == "failed"

    run(rig, config, body, rng=random.Random(1))
    first = seen["first"]
    assert first.failures == 1 and "500" in first.last_error and SECRET not in first.last_error
    wait = first.next_run - first.last_attempt
    assert timedelta(minutes=15) <= wait <= timedelta(minutes=20)  # 10 min × 2¹, jittered
    state = rig.store.feed("bad")
    assert state is not None and state.failures == 2
    assert labels(asyncio.run(rig.snapshot())) == ["Good 0", "Good 1", "Good 2"]


def test_backoff_doubles_and_is_capped() -> None:
    rng = random.Random(7)
    interval, cap = timedelta(minutes=5), timedelta(hours=1)
    delays = [backoff_delay(interval, n, cap, rng) for n in range(1, 8)]
    for n, delay in enumerate(delays[:3], start=1):
        assert 0.75 * interval * 2**n <= delay <= interval * 2**n
    assert all(0.75 * cap <= d <= cap for d in delays[4:])


def test_garbage_feed_fails_without_touching_existing_timers(rig: Rig) -> None:
    feed = rig.tmp / "team.ics"
    feed.write_bytes(one_offs(3, NOW + timedelta(days=1)))
    config = rig.write_config(feed_entry("team", str(feed)))

    async def body(bridge: Bridge) -> None:
        await bridge.run_all()
        feed.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
        before = rig.requests()
        result = (await bridge.run_all(force=True))[0]
        assert result.outcome == "failed" and result.error
        assert rig.requests() == before  # refused before reading tickward

    run(rig, config, body)
    assert labels(asyncio.run(rig.snapshot())) == ["Event 0", "Event 1", "Event 2"]


def test_mass_deletion_is_flagged_not_applied(rig: Rig) -> None:
    feed = rig.tmp / "team.ics"
    feed.write_bytes(one_offs(8, NOW + timedelta(days=1)))
    config = rig.write_config(feed_entry("team", str(feed)))

    async def body(bridge: Bridge) -> None:
        await bridge.run_all()
        feed.write_bytes(one_offs(1, NOW + timedelta(days=1)))  # 7 of 8 events vanished
        result = (await bridge.run_all(force=True))[0]
        assert result.outcome == "suspicious"

    run(rig, config, body)
    state = rig.store.feed("team")
    assert state is not None and state.suspicious
    assert len(labels(asyncio.run(rig.snapshot()))) == 8  # nothing archived
    feeds, _ = collect_status(load_config(config), rig.store)
    assert feeds[0].health == "suspicious"


def test_tickward_down_fails_the_pass_and_the_next_pass_is_exact(rig: Rig) -> None:
    feed = rig.tmp / "team.ics"
    feed.write_bytes(one_offs(3, NOW + timedelta(days=1)))
    config = rig.write_config(feed_entry("team", str(feed)))

    async def no_wait(_: float) -> None:
        return None

    async def down(bridge: Bridge) -> Any:
        return (await bridge.run_all())[0]

    dead = httpx.AsyncHTTPTransport()
    result = run(
        rig,
        config,
        down,
        client_kw={
            "transport": dead,
            "base": "http://127.0.0.1:9/api/v1",
            "max_retries": 1,
            "sleep": no_wait,
        },
    )
    assert result.outcome == "failed" and result.error
    state = rig.store.feed("team")
    assert state is not None and state.failures == 1 and state.content_hash is None

    async def up(bridge: Bridge) -> Any:
        return (await bridge.run_all(force=True))[0]

    assert run(rig, config, up).outcome == "synced"
    snap = asyncio.run(rig.snapshot())
    assert labels(snap) == ["Event 0", "Event 1", "Event 2"]
    assert len({t.id for t in snap.timers}) == 3


def test_feed_refresh_interval_is_respected_unless_disabled(rig: Rig) -> None:
    body_bytes = ics(
        [{"UID": "a@t", "SUMMARY": "A", "DTSTART": "20261210T100000Z"}],
        extra="REFRESH-INTERVAL;VALUE=DURATION:PT6H",
    )
    assert calendar_refresh(body_bytes) == timedelta(hours=6)
    (rig.tmp / "a.ics").write_bytes(body_bytes)
    (rig.tmp / "b.ics").write_bytes(body_bytes.replace(b"a@t", b"b@t"))
    config = rig.write_config(
        feed_entry("a", str(rig.tmp / "a.ics"), project="A", interval='"5m"')
        + feed_entry(
            "b", str(rig.tmp / "b.ics"), project="B", interval='"5m"', respect_feed_refresh="false"
        )
    )

    async def body(bridge: Bridge) -> None:
        await bridge.run_all()
        rig.clock.advance(timedelta(minutes=5))
        results = {r.feed: r.outcome for r in await bridge.run_all()}
        assert results == {"a": "waiting", "b": "unchanged"}
        rig.clock.advance(timedelta(hours=6))
        results = {r.feed: r.outcome for r in await bridge.run_all()}
        assert results == {"a": "unchanged", "b": "unchanged"}

    run(rig, config, body)


def test_pass_log_lines_are_structured_and_secret_free(
    rig: Rig, feed_host: FeedHost, caplog: pytest.LogCaptureFixture
) -> None:
    (feed_host.root / "team.ics").write_bytes(one_offs(2, NOW + timedelta(days=1)))
    feed_host.modes["gone.ics"] = "404"
    config = rig.write_config(
        feed_entry("team", f"{feed_host.base}/team.ics?token={SECRET}")
        + feed_entry(
            "gone",
            f"http://user:{SECRET}@127.0.0.1:{feed_host.server_address[1]}/gone.ics?token={SECRET}",
            project="Gone",
        )
    )
    caplog.set_level(logging.DEBUG, logger="ical_bridge")

    async def body(bridge: Bridge) -> None:
        await bridge.run_all()

    run(rig, config, body)
    lines = [r.getMessage() for r in caplog.records if r.name == "ical_bridge.daemon"]
    assert any(line.startswith("feed=team outcome=synced created=2 ") for line in lines)
    assert any(line.startswith("feed=gone outcome=failed ") and "404" in line for line in lines)
    assert all("requests=" in line and "ms=" in line for line in lines)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert SECRET not in text and EMBEDDED_API_KEY not in text
    feeds, _ = collect_status(load_config(config), rig.store)
    assert all(SECRET not in (f.last_error or "") + f.source for f in feeds)


def test_status_reports_export_urls_with_their_tokens(rig: Rig) -> None:
    config = rig.write_config(
        '[server]\npublic_url = "https://cal.example.org/"\n\n'
        '[[exports]]\nname = "team"\nproject = "Team"\n'
    )
    rig.store.set_export_token("team", "tok123")
    _, exports = collect_status(load_config(config), rig.store, show_tokens=True)
    assert exports[0].url is not None
    assert exports[0].url.startswith("webcal://cal.example.org/") and "tok123" in exports[0].url


def test_now_is_injected_not_read(rig: Rig) -> None:
    feed = rig.tmp / "team.ics"
    feed.write_bytes(one_offs(1, NOW + timedelta(days=1)))
    config = rig.write_config(feed_entry("team", str(feed)))
    run(rig, config, lambda bridge: bridge.run_all())
    state = rig.store.feed("team")
    assert state is not None and state.last_success == NOW  # the FixedClock's time, not today


def test_feed_url_from_environment_is_never_shown(
    rig: Rig, feed_host: FeedHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed_host.modes[f"private-{SECRET}/basic.ics"] = "503"
    monkeypatch.setenv("ICB_TEST_PRIVATE", f"{feed_host.base}/private-{SECRET}/basic.ics")
    monkeypatch.delenv("ICB_TEST_UNSET", raising=False)
    good = rig.tmp / "good.ics"
    good.write_bytes(one_offs(1, NOW + timedelta(days=1), label="Good"))
    config = rig.write_config(
        '[[feeds]]\nname = "private"\nurl_env = "ICB_TEST_PRIVATE"\nproject = "P"\n\n'
        '[[feeds]]\nname = "unset"\nurl_env = "ICB_TEST_UNSET"\nproject = "U"\n\n'
        + feed_entry("good", str(good))
    )
    results = {r.feed: r for r in run(rig, config, lambda bridge: bridge.run_all())}
    assert results["good"].outcome == "synced"
    assert results["private"].outcome == "failed" and "503" in (results["private"].error or "")
    assert results["unset"].outcome == "failed" and "ICB_TEST_UNSET" in (
        results["unset"].error or ""
    )
    feeds, _ = collect_status(load_config(config), rig.store)
    shown = " ".join(f"{f.source} {f.last_error}" for f in feeds)
    assert SECRET not in shown and "$ICB_TEST_PRIVATE" in shown


def test_maintenance_prunes_old_archived_bridge_timers_near_the_cap(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.app = create_app(
        None,
        rate_limit=None,
        clock=rig.clock,
        plan=PlanLimits(
            timers_per_project=10, active_timers_per_space=10, project_create_max_timers=10
        ),
    )
    feed = rig.tmp / "team.ics"
    feed.write_bytes(one_offs(8, NOW + timedelta(hours=1)))  # one a day, the first in an hour
    config = rig.write_config(feed_entry("team", str(feed)))

    async def body(bridge: Bridge) -> None:
        await bridge.run_all()
        snap = await bridge.snapshots.read()
        [project] = snap.projects
        when = (NOW + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        await bridge.client.create_timer(
            project.id,
            {"id": "manual_one", "label": "Mine", "target_date": when, "timezone": "UTC"},
        )
        await bridge.client.update_timer(
            project.id, "manual_one", {"archived_at": "2026-11-01T00:00:00Z"}
        )
        rig.clock.advance(timedelta(days=4, hours=2))  # events 0-4 are over
        await bridge.maintain()

    run(
        rig,
        config,
        body,
        limits=Limits(
            timers_per_project=10, active_timers_per_space=10, project_create_max_timers=10
        ),
    )
    snap = asyncio.run(rig.snapshot())
    # 9 timers, cap 10, headroom 2: one archived bridge timer goes; the foreign one stays
    assert len(snap.timers) == 8
    assert labels(snap) == ["Event 5", "Event 6", "Event 7"]
    assert "Mine" in labels(snap, archived=True)
    assert len(labels(snap, archived=True)) == 5
    remaining = {t.id for t in snap.timers}
    records = {r.timer_id for r in rig.store.timers(snap.projects[0].id)}
    assert records <= remaining  # the pruned timer's record is gone too


def test_scheduler_has_one_coalescing_job_per_enabled_feed_and_maintenance(rig: Rig) -> None:
    feed = rig.tmp / "a.ics"
    feed.write_bytes(one_offs(1, NOW + timedelta(days=1)))
    config = rig.write_config(
        feed_entry("a", str(feed), interval='"90s"')
        + feed_entry("b", str(feed), project="B", interval='"2h"')
        + feed_entry("off", str(feed), project="C", enabled="false")
    )

    async def body(bridge: Bridge) -> None:
        scheduler = build_scheduler(bridge, maintenance_every=timedelta(minutes=7))
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert sorted(jobs) == ["feed:a", "feed:b", "maintenance"]
        assert jobs["feed:a"].trigger.interval == timedelta(seconds=90)
        assert jobs["feed:b"].trigger.interval == timedelta(hours=2)
        assert jobs["maintenance"].trigger.interval == timedelta(minutes=7)
        assert all(j.coalesce and j.max_instances == 1 for j in jobs.values())
        assert all(j.misfire_grace_time for j in jobs.values())

    run(rig, config, body)


def test_run_daemon_syncs_then_stops_on_request(rig: Rig) -> None:
    feed = rig.tmp / "a.ics"
    feed.write_bytes(one_offs(2, NOW + timedelta(days=1)))
    config = rig.write_config(feed_entry("a", str(feed), interval='"1h"'))

    async def body(bridge: Bridge) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_daemon(bridge, stop))
        for _ in range(400):  # the feed job fires at start; wait (bounded) for its pass
            state = rig.store.feed("a")
            if state is not None and state.last_success is not None:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    run(rig, config, body)
    assert labels(asyncio.run(rig.snapshot())) == ["Event 0", "Event 1"]


def test_maintenance_is_scheduled_just_after_the_next_rolling_occurrence(rig: Rig) -> None:
    start = NOW + timedelta(days=1)
    feed = rig.tmp / "roll.ics"
    feed.write_bytes(
        ics(
            [
                {
                    "UID": "r@t",
                    "SUMMARY": "Roll",
                    "RRULE": "FREQ=DAILY;INTERVAL=2",
                    "DTSTART": start.strftime("%Y%m%dT%H%M%SZ"),
                }
            ]
        )
    )
    config = rig.write_config(feed_entry("roll", str(feed), strategy='"rolling"'))

    async def body(bridge: Bridge) -> None:
        await bridge.run_all()
        scheduler = build_scheduler(bridge)
        await schedule_soon(scheduler, bridge)
        job = scheduler.get_job("maintenance-soon")
        assert job is not None
        assert job.trigger.run_date == start + timedelta(seconds=30)

    run(rig, config, body)


def test_daemon_shares_one_sync_snapshot_with_its_feeds_and_they_show_its_writes(
    rig: Rig,
) -> None:
    from ical_bridge.feeds import ensure_token, feed_path
    from ical_bridge.feeds.server import app_from_config

    feed = rig.tmp / "team.ics"
    feed.write_bytes(one_offs(2, NOW + timedelta(days=2)))
    exports = '[[exports]]\nname = "team"\nproject = "Team"\n'
    config = rig.write_config(feed_entry("team", str(feed)) + exports)

    def sync_reads() -> int:
        return len([r for r in rig.app.state.requests if r.path == "/sync"])

    async def body(bridge: Bridge) -> None:
        # What `ical-bridge daemon` wires up: the feed server on the bridge's snapshot.
        app = app_from_config(bridge.config, rig.store, bridge.client, clock=rig.clock,
                              snapshot=bridge.snapshots)
        path = feed_path(ensure_token(rig.store, "team"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://feeds.test") as http:
            assert [r.outcome for r in await bridge.run_all()] == ["synced"]
            first = (await http.get(path)).content
            assert b"SUMMARY:Event 0" in first and b"SUMMARY:Event 1" in first
            # The bridge renames an event: the very next feed request shows it (no 60 s wait).
            feed.write_bytes(one_offs(2, NOW + timedelta(days=2), label="Renamed"))
            assert [r.outcome for r in await bridge.run_all(force=True)] == ["synced"]
            renamed = (await http.get(path)).content
            assert b"SUMMARY:Renamed 0" in renamed and b"SUMMARY:Event 0" not in renamed
            # Minutes later, a pass that plans (the body changed) but writes nothing: one
            # /sync read serves the pass and every feed request after it.
            rig.clock.advance(timedelta(minutes=5))
            before = sync_reads()
            feed.write_bytes(ics([{"UID": f"ev-{i}@tests", "SUMMARY": f"Renamed {i}",
                                   "DTSTART": (NOW + timedelta(days=2 + i)).strftime(
                                       "%Y%m%dT%H%M%SZ")} for i in range(2)],
                                 extra="X-WR-CALDESC:only the description changed"))
            [result] = await bridge.run_all(force=True)
            assert result.outcome == "synced" and result.counts["unchanged"] == 2
            for _ in range(5):
                assert (await http.get(path)).status_code == 200
            assert sync_reads() - before == 1

    run(rig, config, body)
