"""``Bridge``: every configured feed, passes over them, and the maintenance re-plan.

The scheduler and ``sync --once`` call the same three coroutines:
``run_feed(name)``, ``run_all()`` and ``maintain()``. Passes fetch and convert
side by side (at most ``parallel`` at a time; conversion in a worker process
under the feed's ``convert_budget``), so a hanging source or a costly calendar
delays only its own feed. Their tickward part (read the shared ``/sync``
snapshot, plan, write) takes one lock: tickward's rate limit is per user, so
writing side by side would only make them wait on each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

import httpx

from ical_bridge.clock import Clock, SystemClock, system_zone
from ical_bridge.config import DEFAULT_ACCOUNT, BridgeConfig, FeedConfig
from ical_bridge.convert import BRIDGE_ID_PREFIX
from ical_bridge.daemon.claims import claimed
from ical_bridge.daemon.prune import prune_archived
from ical_bridge.daemon.runner import (
    FeedSpec,
    PassGate,
    PassResult,
    feed_refresh,
    is_due,
    run_feed_pass,
)
from ical_bridge.daemon.worker import DEFAULT_CONVERT_BUDGET
from ical_bridge.errors import ConfigError, IcalBridgeError
from ical_bridge.ingest.fetch import redact_url
from ical_bridge.recurrence import parse_iso
from ical_bridge.store import StateStore, TimerRecord
from ical_bridge.store.claims import Claims, LocalClaims
from ical_bridge.sync import Limits, SyncOptions
from ical_bridge.tickward import SyncSnapshot, TickwardClient
from ical_bridge.tickward.correlation import install_correlation

__all__ = ["Bridge", "display_source", "feed_spec", "prune_claim"]

_MAINTENANCE_KEY = "daemon:last-maintenance"
_PRUNE_CLAIM = "maintenance/prune"
_JUST_PLANNED = timedelta(minutes=1)  # maintenance re-plans nothing planned this recently
_NOT_FINGERPRINTED = {"interval", "enabled", "name", "convert_budget"}  # no re-plan needed
log = logging.getLogger("ical_bridge.daemon")


def _sync_options(feed: FeedConfig, limits: Limits | None, now: datetime) -> SyncOptions:
    return feed.sync_options(now, limits, local_timezone=system_zone())


def display_source(feed: FeedConfig) -> str:
    """How to show a feed's source: redacted URL, path, or ``$VAR`` for a URL kept in env."""
    env = getattr(feed, "url_env", None)
    if env:
        return f"${env}"  # the whole URL is the secret (tokens often sit in the path)
    try:
        return redact_url(feed.source)
    except ConfigError:
        return "(unavailable)"


def _seconds(budget: timedelta | None) -> float:
    return budget.total_seconds() if budget else DEFAULT_CONVERT_BUDGET


def feed_spec(
    feed: FeedConfig, *, max_backoff: timedelta = timedelta(hours=6), limits: Limits | None = None
) -> FeedSpec:
    """The pass settings of one ``[[feeds]]`` entry (``limits``: the account's plan caps)."""
    settings = feed.model_dump(mode="json", exclude=_NOT_FINGERPRINTED)
    if settings.get("account") == DEFAULT_ACCOUNT:  # as before accounts existed: no re-plan
        del settings["account"]
    fingerprint = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    try:
        source, problem = feed.source, None
    except ConfigError as exc:
        source, problem = "", str(exc)
    return FeedSpec(
        name=feed.name,
        source=source,
        label=display_source(feed),
        problem=problem,
        secret_source=bool(getattr(feed, "url_env", None)),
        convert_budget=_seconds(getattr(feed, "convert_budget", None)),
        interval=feed.interval,
        options=partial(_sync_options, feed, limits),
        fingerprint=fingerprint,
        respect_refresh=feed.respect_feed_refresh,
        max_backoff=max(max_backoff, feed.interval),
    )


def prune_claim(account: str) -> str:
    """The claim under which one replica prunes ``account``'s projects (one per account)."""
    # The default account keeps the name it always had, so replicas of an older release agree.
    return _PRUNE_CLAIM if account == DEFAULT_ACCOUNT else f"{_PRUNE_CLAIM}/{account}"


class Bridge:
    """The feeds of one config, synced into tickward through one client and one store."""

    def __init__(
        self,
        config: BridgeConfig,
        store: StateStore,
        client: TickwardClient,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        fetch_transport: httpx.AsyncBaseTransport | None = None,
        max_backoff: timedelta = timedelta(hours=6),
        limits: Limits | None = None,
        claims: Claims | None = None,
        parallel: int = 4,
    ) -> None:
        self.config = config
        # Which replica runs which feed (PostgreSQL leases; local claims on SQLite).
        self.claims: Claims = claims or LocalClaims()
        self.prune_claim = prune_claim(DEFAULT_ACCOUNT)  # an AccountBridge names its own
        install_correlation(client)
        self.store = store
        self.client = client
        self.clock: Clock = clock or SystemClock()
        self.specs: dict[str, FeedSpec] = {
            f.name: feed_spec(f, max_backoff=max_backoff, limits=limits)
            for f in config.feeds
            if f.enabled
        }
        self.limits = limits or Limits()
        self.snapshots = SyncSnapshot(
            client, clock=self.clock, store=store,
            refresh_seconds=float(config.server.sync_cache_seconds),
        )
        self._rng = rng or random.Random()
        self._fetch_transport = fetch_transport
        self._gate = PassGate(slots=asyncio.Semaphore(max(parallel, 1)))
        self._lock = self._gate.writer  # tickward: one pass (or prune, or due-check) at a time
        self._running = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._planned: dict[str, datetime] = {}  # feed → when a pass last planned it
        self.closing = False

    async def run_feed(self, name: str, *, force: bool = False) -> PassResult | None:
        """One pass for the feed ``name`` (None when the bridge is shutting down)."""
        if self.closing:
            return None
        try:
            return await self._run(self.specs[name], force=force, replan=False)
        except asyncio.CancelledError:
            # Shutdown after the grace period: writes so far are kept, the content hash
            # is not, so the next run re-plans and finishes exactly (idempotency keys).
            log.warning("feed=%s outcome=abandoned (shutdown)", name)
            raise

    async def run_all(self, *, force: bool = False) -> list[PassResult]:
        """One pass over every enabled feed, sharing one ``/sync`` snapshot."""
        return await self._each(list(self.specs.values()), force=force, replan=False)

    async def maintain(self, *, if_older_than: timedelta | None = None) -> list[PassResult]:
        """Re-plan every synced feed from its stored body at the current time.

        Rolling timers move on to their next occurrence, finished series are
        archived (and old archived bridge timers deleted when they crowd the
        project's cap), events that slid out of the window are handled — all
        without fetching anything. Feeds with nothing to change cost no writes.
        With ``if_older_than``, nothing happens unless the last maintenance is
        at least that old (``sync --once`` from cron).
        """
        now = self.clock.now()
        last = self.store.kv_get(_MAINTENANCE_KEY)
        if if_older_than is not None and last:
            if now - datetime.fromisoformat(last) < if_older_than:
                return []
        # `sync --once` (if_older_than): a feed its pass has just planned is not converted
        # again. Scheduled and push-triggered maintenance re-plan every feed: an occurrence
        # may have passed since (that is why a `timer.ended` event calls for it).
        specs = [
            s for s in self.specs.values()
            if if_older_than is None
            or not (when := self._planned.get(s.name))
            or now - when >= _JUST_PLANNED
        ]
        results = await self._each(specs, force=True, replan=True)
        if any(r.outcome != "noop" for r in results):  # noop everywhere: nothing was synced
            await self._prune()
        self.store.kv_set(_MAINTENANCE_KEY, now.isoformat())
        return results

    async def _prune(self) -> None:
        async with self._lock, claimed(self.claims, self.prune_claim) as held:
            if self.closing or held.token is None:
                return
            if self.claims.shared:
                self.snapshots.invalidate()
            try:
                snapshot = await self.snapshots.read()
                await prune_archived(
                    self.client,
                    self.store,
                    snapshot,
                    projects={f.project for f in self.config.feeds if f.enabled},
                    source_keys={f.source_key for f in self.config.feeds},
                    cap=self.limits.timers_per_project,
                )
            except IcalBridgeError as exc:
                log.warning("prune failed: %s", exc)

    async def next_due(self) -> datetime | None:
        """When maintenance is next needed: the earliest future rolling target or series end.

        A rolling timer must move on once its occurrence passes, and a finished
        series must be archived; the scheduler runs maintenance just after that
        instead of waiting for the next regular round.
        """
        keys = {f.source_key for f in self.config.feeds if f.name in self.specs}
        held = self.snapshots.current
        if (
            held is not None
            and not self.snapshots.dirty
            and not any(
                r.strategy == "rolling" or r.series_end
                for p in held.sync.projects
                for r in self.store.timers(p.id)
                if r.source_key in keys
            )
        ):
            return None  # nothing moves on by itself: no need to read tickward
        async with self._lock:
            if self.closing:
                return None
            try:
                snapshot = await self.snapshots.read()
            except IcalBridgeError:
                return None
        now = self.clock.now()
        due: list[datetime] = []
        records: dict[str, dict[str, TimerRecord]] = {}
        for timer in snapshot.timers:
            if timer.archived_at or not timer.id.startswith(BRIDGE_ID_PREFIX):
                continue
            if timer.project_id not in records:
                records[timer.project_id] = {
                    r.timer_id: r for r in self.store.timers(timer.project_id)
                }
            rec = records[timer.project_id].get(timer.id)
            if rec is None or rec.source_key not in keys:
                continue
            when = rec.series_end if rec.series_end else None
            if rec.strategy == "rolling":
                when = timer.target_date
            if when:
                with contextlib.suppress(ValueError):
                    instant = parse_iso(when)
                    if instant > now:
                        due.append(instant)
        return min(due, default=None)

    async def idle(self) -> None:
        """Wait until no pass is running (for a graceful shutdown)."""
        await self._quiet.wait()
        async with self._lock:  # a prune or due-check may still be writing
            return

    async def _each(
        self, specs: Sequence[FeedSpec], *, force: bool, replan: bool
    ) -> list[PassResult]:
        if self.closing:
            return []
        self.snapshots.begin_pass()
        try:
            runs = [self._run(spec, force=force, replan=replan) for spec in specs]
            return list(await asyncio.gather(*runs))
        finally:
            self.snapshots.end_pass()

    async def _run(self, spec: FeedSpec, *, force: bool, replan: bool) -> PassResult:
        if not force and not replan and not is_due(self.store.feed(spec.name), spec,
                                                   self.clock.now(),
                                                   feed_refresh(self.store, spec.name)):
            return PassResult(spec.name, "waiting")  # no claim needed (checked again under it)
        async with claimed(self.claims, spec.name) as held:
            if held.token is None:  # another replica is running this feed right now
                return PassResult(spec.name, "waiting")
            if self.claims.shared:  # another replica may have written since our last read
                self.snapshots.invalidate()
            return await self._pass(spec, force=force, replan=replan)

    async def _pass(self, spec: FeedSpec, *, force: bool, replan: bool) -> PassResult:
        self._running += 1
        self._quiet.clear()
        try:
            now = self.clock.now()
            result = await run_feed_pass(
                spec,
                client=self.client,
                store=self.store,
                snapshots=self.snapshots,
                clock=self.clock,
                rng=self._rng,
                force=force,
                replan=replan,
                fetch_transport=self._fetch_transport,
                gate=self._gate,
            )
            if result.outcome in ("synced", "suspicious"):
                self._planned[spec.name] = now
            return result
        finally:
            self._running -= 1
            if not self._running:
                self._quiet.set()
