"""The long-running loop: APScheduler jobs for each feed and maintenance, an optional
feed server, and a graceful stop.

The scheduler only decides *when*; every job calls a ``Bridge`` coroutine that
tests also call directly with a fixed clock. Stopping (SIGTERM/SIGINT or the
``stop`` event): no new passes start, the running pass gets ``grace`` seconds
to finish, then it is cancelled — safe, because every write carries an
idempotency key and the content hash is only stored after a complete apply,
so the next run repeats exactly what was missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ical_bridge.clock import Clock, SystemClock
from ical_bridge.daemon.bridge import Bridge
from ical_bridge.daemon.runner import stored_plan
from ical_bridge.errors import UserError
from ical_bridge.recurrence import format_utc

__all__ = [
    "DEFAULT_MAINTENANCE",
    "build_scheduler",
    "run_daemon",
    "schedule_soon",
    "stop_on_signals",
]

log = logging.getLogger("ical_bridge.daemon")

DEFAULT_MAINTENANCE = timedelta(minutes=15)
_AFTER_DUE = timedelta(seconds=30)


def _jitter(interval: timedelta) -> float:
    """Up to 10 % of the interval (at most a minute), so feeds do not fire in lockstep."""
    return min(interval.total_seconds() * 0.1, 60.0)


def build_scheduler(
    bridge: Bridge,
    *,
    maintenance_every: timedelta = DEFAULT_MAINTENANCE,
    start: datetime | None = None,
    clock: Clock | None = None,
) -> AsyncIOScheduler:
    """An ``AsyncIOScheduler`` with one job per enabled feed plus the maintenance job.

    APScheduler fires on the wall clock, so ``clock`` (default: the system's) is the
    scheduler's, not necessarily the bridge's (tests run the bridge at a fixed ``now``).
    """
    scheduler = AsyncIOScheduler(timezone=UTC)
    first = start or (clock or SystemClock()).now()

    async def run_feed(name: str) -> None:
        result = await bridge.run_feed(name)
        if result is not None and result.outcome in ("synced", "suspicious", "partial"):
            await schedule_soon(scheduler, bridge)

    for name, spec in bridge.specs.items():
        seconds = spec.interval.total_seconds()
        # The stored plan under today's interval (what ``status`` shows): a feed that is
        # not due yet starts then, not at once; a past or missing plan starts now.
        planned = stored_plan(bridge.store, spec)
        when = planned if planned is not None and planned > first else first
        log.info("scheduled job=feed:%s next_run=%s", name, format_utc(when))
        scheduler.add_job(
            run_feed,
            IntervalTrigger(seconds=seconds, jitter=_jitter(spec.interval) or None, timezone=UTC),
            args=[name],
            id=f"feed:{name}",
            name=f"feed {name}",
            next_run_time=when,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(int(seconds), 1),
        )

    scheduler.add_job(
        _maintain,
        IntervalTrigger(seconds=maintenance_every.total_seconds(), timezone=UTC),
        args=[scheduler, bridge],
        id="maintenance",
        name="maintenance",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=max(int(maintenance_every.total_seconds()), 1),
    )
    return scheduler


async def _maintain(scheduler: AsyncIOScheduler, bridge: Bridge) -> None:
    await bridge.maintain()
    await schedule_soon(scheduler, bridge)


async def schedule_soon(scheduler: AsyncIOScheduler, bridge: Bridge) -> None:
    """Run maintenance shortly after the next rolling occurrence or series end passes."""
    due = await bridge.next_due()
    if due is None:
        return
    scheduler.add_job(
        _maintain,
        DateTrigger(run_date=due + _AFTER_DUE, timezone=UTC),
        args=[scheduler, bridge],
        id="maintenance-soon",
        name="maintenance after the next occurrence",
        replace_existing=True,
        misfire_grace_time=None,  # late is still better than waiting for the regular round
    )


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Set ``stop`` on SIGTERM or SIGINT while inside the block (event loop thread only)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no support
            pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def run_daemon(
    bridge: Bridge | Sequence[Bridge],
    stop: asyncio.Event,
    *,
    maintenance_every: timedelta = DEFAULT_MAINTENANCE,
    feed_app: Any | None = None,
    host: str = "127.0.0.1",
    port: int = 8788,
    grace: float = 6.0,
) -> None:
    """Run the scheduler (and the feed server, if ``feed_app`` is given) until ``stop`` is set.

    Several bridges (one per tickward account) get one scheduler each, so an account
    that is slow or rate-limited never holds up another account's jobs.
    """
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    bridges = [bridge] if isinstance(bridge, Bridge) else list(bridge)
    schedulers = [build_scheduler(b, maintenance_every=maintenance_every) for b in bridges]
    server_task: asyncio.Task[None] | None = None
    server: Any = None
    if feed_app is not None:
        server, server_task = await _start_server(feed_app, host, port)
    for scheduler in schedulers:
        scheduler.start()
    log.info("daemon started feeds=%d", sum(len(b.specs) for b in bridges))
    try:
        await stop.wait()
    finally:
        log.info("daemon stopping")
        for b in bridges:
            b.closing = True
        for scheduler in schedulers:
            scheduler.pause()
        try:
            await asyncio.wait_for(asyncio.gather(*(b.idle() for b in bridges)), timeout=grace)
        except TimeoutError:
            log.warning("a pass was still running after %.0f s; abandoned (it will redo)", grace)
        # Cancels whatever is left; APScheduler would log that as a job error.
        logging.getLogger("apscheduler").setLevel(logging.CRITICAL)
        for scheduler in schedulers:
            scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
        if server is not None and server_task is not None:
            server.should_exit = True
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(server_task, timeout=2.0)
        log.info("daemon stopped")


async def _start_server(app: Any, host: str, port: int) -> tuple[Any, asyncio.Task[None]]:
    """Start uvicorn in this event loop, without its own signal handling."""
    from ical_bridge.feeds.server import make_server  # redacts feed tokens in uvicorn's logs

    server = make_server(app, host=host, port=port)
    config = server.config
    config.load()
    server.lifespan = config.lifespan_class(config)
    try:
        await server.startup()
    except SystemExit:  # uvicorn exits when it cannot bind
        raise UserError(f"the feed server cannot listen on {host}:{port} ([server])") from None
    if server.should_exit:
        raise UserError(f"the feed server cannot listen on {host}:{port} ([server])")

    async def serve() -> None:
        await server.main_loop()
        await server.shutdown()

    return server, asyncio.create_task(serve())
