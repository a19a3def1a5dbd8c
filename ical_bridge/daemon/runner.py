"""One sync pass for one feed: fetch, decide, plan, guard, apply, remember.

A pass is cheap when nothing changed: the fetch is conditional (304) and the
body's hash is compared with the hash of the last body that was applied, so an
unchanged feed costs no tickward request at all. Only a changed feed (or a
maintenance re-plan) reads the shared ``/sync`` snapshot and writes.

State discipline: the body and HTTP validators are saved as soon as they are
fetched, but ``content_hash`` only after the plan was applied completely, so a
pass that failed half-way is re-planned (exactly, thanks to idempotency keys)
on the next attempt instead of being mistaken for "unchanged".
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import httpx

from ical_bridge.clock import Clock
from ical_bridge.convert import ConversionResult
from ical_bridge.daemon.worker import DEFAULT_CONVERT_BUDGET, convert_isolated
from ical_bridge.errors import IcalBridgeError, SourceError
from ical_bridge.ingest import decode_feed
from ical_bridge.ingest.fetch import fetch_source, hide_urls, redact_url, scrub_secrets
from ical_bridge.store import FeedState, StateStore
from ical_bridge.sync import (
    Failure,
    SyncOptions,
    apply_plan,
    import_options,
    plan_source,
    reconcile,
)
from ical_bridge.sync.lock import project_lock
from ical_bridge.tickward import SyncSnapshot, TickwardClient, count_requests
from ical_bridge.vocabulary import MAX_SOURCE_BYTES

__all__ = [
    "FeedSpec",
    "PassGate",
    "PassResult",
    "backoff_delay",
    "content_hash",
    "feed_refresh",
    "is_due",
    "log_pass",
    "planned_run",
    "run_feed_pass",
    "stored_plan",
]

log = logging.getLogger("ical_bridge.daemon")
convert_log = logging.getLogger("ical_bridge.daemon.convert")  # one DEBUG line per conversion

_REFRESH_KEY = "feed-refresh:{}"
_LOGGED_COUNTS = (
    ("create", "created"),
    ("update", "updated"),
    ("archive", "archived"),
    ("delete", "deleted"),
    ("unchanged", "unchanged"),
    ("skipped", "skipped"),
    ("failed", "failed"),
)


@dataclass(frozen=True)
class FeedSpec:
    """What a pass needs to know about one configured feed."""

    name: str
    source: str
    interval: timedelta
    options: Callable[[datetime], SyncOptions]
    fingerprint: str = ""  # the sync settings, so a config change forces a re-plan
    respect_refresh: bool = True
    max_backoff: timedelta = timedelta(hours=6)
    max_bytes: int = MAX_SOURCE_BYTES
    timeout: float = 30.0
    label: str = ""  # how to show the source; default: the URL redacted
    problem: str | None = None  # set when the feed cannot run (e.g. its URL variable is unset)
    secret_source: bool = False  # the whole URL is a secret (url_env): shown only as ``label``
    convert_budget: float = DEFAULT_CONVERT_BUDGET  # seconds; past it the pass fails

    @property
    def safe_source(self) -> str:
        """The source with credentials and query removed (for logs and status)."""
        return self.label or redact_url(self.source)


@dataclass
class PassGate:
    """How concurrent passes share the daemon.

    Fetching and converting run side by side, at most ``slots`` at a time, so a
    slow source delays nobody but itself; reading tickward, planning and writing
    take ``writer`` one pass at a time (one rate-limit bucket, one snapshot).
    """

    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))
    writer: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class PassResult:
    """What one pass did (also the content of its log line)."""

    feed: str
    outcome: str  # not_modified|unchanged|synced|suspicious|partial|failed|waiting|noop
    counts: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    ms: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """False when the pass failed (an error is recorded and the feed backs off)."""
        return self.outcome not in ("failed", "partial")


def backoff_delay(
    interval: timedelta, failures: int, cap: timedelta, rng: random.Random
) -> timedelta:
    """``interval × 2^failures`` capped at ``cap``, with up to 25 % jitter taken off."""
    base = interval.total_seconds() * (2 ** min(failures, 30))
    ceiling = max(cap.total_seconds(), interval.total_seconds())
    return timedelta(seconds=min(base, ceiling) * rng.uniform(0.75, 1.0))


def content_hash(body: bytes, spec: FeedSpec) -> str:
    """Hash of the body together with the feed's sync settings."""
    digest = hashlib.sha256(body)
    digest.update(b"\0" + spec.fingerprint.encode())
    return digest.hexdigest()


def planned_run(
    state: FeedState | None, spec: FeedSpec, refresh: timedelta | None = None
) -> datetime | None:
    """When the feed is next due (``None``: at once), under the interval configured NOW.

    The stored ``next_run`` was computed with the interval of the last pass; after a
    success it is brought forward to the last attempt plus today's interval (or the
    feed's own longer refresh), so a shortened ``interval`` counts from the next start.
    A backoff after failures is kept as stored.
    """
    if state is None or state.next_run is None:
        return None
    if state.failures or state.last_attempt is None:
        return state.next_run
    wait = spec.interval
    if spec.respect_refresh and refresh is not None and refresh > wait:
        wait = refresh
    return min(state.next_run, state.last_attempt + wait)


def stored_plan(store: StateStore, spec: FeedSpec) -> datetime | None:
    """``planned_run`` from what ``store`` holds for the feed: what status and scheduler show."""
    return planned_run(store.feed(spec.name), spec, feed_refresh(store, spec.name))


def is_due(
    state: FeedState | None, spec: FeedSpec, now: datetime, refresh: timedelta | None = None
) -> bool:
    """True when the feed may be fetched now (not backing off, refresh interval respected)."""
    planned = planned_run(state, spec, refresh)
    if planned is None:
        return True
    # Half an interval of slack: the scheduler's own jitter must not make us skip a turn.
    slack = spec.interval / 2
    return now + slack >= planned


async def run_feed_pass(
    spec: FeedSpec,
    *,
    client: TickwardClient,
    store: StateStore,
    snapshots: SyncSnapshot,
    clock: Clock,
    rng: random.Random,
    force: bool = False,
    replan: bool = False,
    fetch_transport: httpx.AsyncBaseTransport | None = None,
    gate: PassGate | None = None,
) -> PassResult:
    """Run one pass for ``spec``; never raises for feed or tickward trouble (see ``error``).

    ``requests`` counts only this pass's tickward requests, whoever else shares ``client``.
    """
    started = time.perf_counter()
    now = clock.now()
    state = store.feed(spec.name) or FeedState(name=spec.name)
    refresh = feed_refresh(store, spec.name)
    if not force and not replan and not is_due(state, spec, now, refresh):
        return PassResult(spec.name, "waiting")
    if replan and (state.body is None or state.content_hash is None or state.failures):
        return PassResult(spec.name, "noop")  # nothing applied yet, or a normal pass is owed
    result = PassResult(spec.name, "failed", error=spec.problem)
    with count_requests() as tally:
        try:
            if spec.problem is None:
                result = await _pass(
                    spec, state, client, store, snapshots, now, replan, fetch_transport,
                    gate or PassGate(),
                )
        except IcalBridgeError as exc:
            result.error = _clean(str(exc), spec)
        except Exception as exc:  # a bug must not stop the other feeds
            result.error = _clean(f"internal error: {type(exc).__name__}: {exc}", spec)
            log.debug("feed=%s internal error", spec.name, exc_info=True)
    result.requests = tally.requests
    result.ms = int((time.perf_counter() - started) * 1000)
    if result.outcome != "noop":
        _remember(spec, store, result, now, rng, replan=replan)
    log_pass(result)
    return result


async def _pass(
    spec: FeedSpec,
    state: FeedState,
    client: TickwardClient,
    store: StateStore,
    snapshots: SyncSnapshot,
    now: datetime,
    replan: bool,
    fetch_transport: httpx.AsyncBaseTransport | None,
    gate: PassGate,
) -> PassResult:
    body = state.body
    outcome_if_same = "unchanged"
    async with gate.slots:  # no tickward request in here: fetch and convert only
        if not replan:
            fetched = await fetch_source(
                spec.source,
                etag=state.etag if state.body is not None else None,
                last_modified=state.last_modified if state.body is not None else None,
                max_bytes=spec.max_bytes,
                timeout=spec.timeout,
                transport=fetch_transport,
                label=spec.safe_source if spec.secret_source else None,
            )
            if fetched.not_modified:
                outcome_if_same = "not_modified"
            else:
                body = fetched.body
                _save_fetch(store, spec.name, fetched.body, fetched.etag, fetched.last_modified)
        if body is None:  # a 304 although no validators were sent
            raise SourceError(
                f"{spec.safe_source}: 304 without a stored body", source=spec.safe_source
            )
        digest = content_hash(body, spec)
        if not replan and digest == state.content_hash:
            return PassResult(spec.name, outcome_if_same)
        options = spec.options(now)
        feed = decode_feed(body)  # once; a broken feed fails here, before any tickward request
        converting = time.perf_counter()
        converted = await convert_isolated(
            feed.text, import_options(options), budget=spec.convert_budget,
            what=f"feed {spec.name!r}",
        )
        convert_log.debug(
            "feed=%s converted timers=%d ms=%d", spec.name, len(converted.timers),
            int((time.perf_counter() - converting) * 1000),
        )
    async with gate.writer:
        return await _plan_and_apply(
            spec, client, store, snapshots, feed.refresh_interval, options, converted,
            digest, replan=replan,
        )


async def _plan_and_apply(
    spec: FeedSpec,
    client: TickwardClient,
    store: StateStore,
    snapshots: SyncSnapshot,
    refresh: timedelta | None,
    options: SyncOptions,
    converted: ConversionResult,
    digest: str,
    *,
    replan: bool,
) -> PassResult:
    async with project_lock(store, options.project) as waited:  # one writer per project (15.3)
        if waited:
            snapshots.mark_dirty(options.project)  # another run wrote there meanwhile
        snapshot = await snapshots.read(options.project)
        plan = await plan_source(
            client, store, b"", options, snapshot=snapshot, converted=converted
        )
        _remember_refresh(store, spec.name, refresh)
        if replan and plan.empty:
            reconcile(store, plan)  # every run records what tickward has (issue 15.1)
            return PassResult(spec.name, "noop")
        report = await apply_plan(client, store, plan)
    if not plan.empty:
        snapshots.mark_dirty(options.project, plan.project.id, plan.project.name, report.project_id)
    counts = {k: v for k, v in plan.summary.items() if isinstance(v, int)}
    counts["failed"] = len(report.failed)
    result = PassResult(spec.name, "synced", counts=counts)
    if report.failed or report.aborted:
        result.outcome = "partial"
        result.error = _clean(_failure_text(report.failed, report.aborted), spec)
        return result
    _save_applied(store, spec.name, digest, plan.suspicious)
    if plan.suspicious:
        result.outcome = "suspicious"
    return result


def _failure_text(failed: list[Failure], aborted: str | None) -> str:
    parts = [aborted] if aborted else []
    if failed:
        first = failed[0]
        what = f"{first.action} {first.label or first.timer_id}: {first.message}"
        parts.append(f"{len(failed)} change(s) failed, first: {what}")
    return "; ".join(parts)


def _save_fetch(
    store: StateStore, name: str, body: bytes | None, etag: str | None, modified: str | None
) -> None:
    state = store.feed(name) or FeedState(name=name)
    store.put_feed(replace(state, body=body, etag=etag, last_modified=modified))


def _save_applied(store: StateStore, name: str, digest: str, suspicious: str | None) -> None:
    state = store.feed(name) or FeedState(name=name)
    store.put_feed(replace(state, content_hash=digest, suspicious=suspicious))


def _remember_refresh(store: StateStore, name: str, interval: timedelta | None) -> None:
    """Keep the calendar's REFRESH-INTERVAL / X-PUBLISHED-TTL (or forget a removed one)."""
    seconds = int(interval.total_seconds()) if interval and interval > timedelta(0) else 0
    store.kv_set(_REFRESH_KEY.format(name), str(seconds))


def feed_refresh(store: StateStore, name: str) -> timedelta | None:
    """The refresh interval the feed itself asked for, if any."""
    raw = store.kv_get(_REFRESH_KEY.format(name))
    return timedelta(seconds=int(raw)) if raw and raw.isdigit() and int(raw) > 0 else None


def _remember(
    spec: FeedSpec,
    store: StateStore,
    result: PassResult,
    now: datetime,
    rng: random.Random,
    *,
    replan: bool,
) -> None:
    if result.outcome == "waiting":
        return
    state = store.feed(spec.name) or FeedState(name=spec.name)
    if replan:  # maintenance: the fetch schedule is not affected
        if result.ok:
            state.counts = dict(result.counts) or state.counts
        else:
            state.last_error = result.error
        store.put_feed(state)
        return
    state.last_attempt = now
    if result.ok:
        state.last_success = now
        state.failures = 0
        state.last_error = None
        if result.counts:
            state.counts = dict(result.counts)
        wait = spec.interval
        refresh = feed_refresh(store, spec.name) if spec.respect_refresh else None
        if refresh is not None and refresh > wait:
            wait = refresh
        state.next_run = now + wait
    else:
        state.failures += 1
        state.last_error = result.error
        if result.counts:
            state.counts = dict(result.counts)
        state.next_run = now + backoff_delay(spec.interval, state.failures, spec.max_backoff, rng)
    store.put_feed(state)


def _clean(text: str, spec: FeedSpec) -> str:
    """Take the feed URL's secrets out of a message (defence in depth)."""
    if spec.secret_source:
        return hide_urls(text, [spec.source], spec.safe_source)[:500]
    return scrub_secrets(text, spec.source, shown=spec.safe_source)[:500]


def log_pass(result: PassResult, extra: Mapping[str, object] | None = None) -> None:
    """One structured ``key=value`` line per pass on the ``ical_bridge.daemon`` logger."""
    fields: dict[str, object] = {"feed": result.feed, "outcome": result.outcome}
    for key, shown in _LOGGED_COUNTS:
        if result.counts.get(key):
            fields[shown] = result.counts[key]
    fields["requests"] = result.requests
    fields["ms"] = result.ms
    if result.error:
        fields["error"] = result.error
    fields.update(extra or {})
    line = " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
    quiet = result.outcome in ("waiting", "noop")
    level = logging.WARNING if not result.ok else logging.DEBUG if quiet else logging.INFO
    log.log(level, "%s", line)


def _quote(value: object) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
    return text
