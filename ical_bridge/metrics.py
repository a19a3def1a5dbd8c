"""Prometheus metrics of a bridge process (served at ``/metrics`` by the daemon's server).

Every metric lives in ``REGISTRY`` (the process's own registry, so tests and
embedding programs never see another library's series) and is named
``ical_bridge_*``. Labels are small closed sets: account names come from the
config, statuses are HTTP codes or ``error``; a feed URL, token or API key is
never a label.

Two httpx transport wrappers count traffic without touching the client code:
``TickwardMetricsTransport`` (every tickward answer by account and status, 429s,
timer writes) and ``FetchMetricsTransport`` (feed fetch outcomes, 304 included).
"""

from __future__ import annotations

import json
import re

import httpx
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

__all__ = [
    "CLAIM_EVENTS",
    "CONTENT_TYPE",
    "FEED_FETCHES",
    "FEED_SERVER_RESPONSES",
    "PASSES",
    "PASS_DURATION",
    "RATE_LIMITED",
    "REGISTRY",
    "TICKWARD_REQUESTS",
    "TIMERS_WRITTEN",
    "FetchMetricsTransport",
    "TickwardMetricsTransport",
    "exposition",
]

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

PASSES = Counter(
    "ical_bridge_passes",
    "Feed passes by account and outcome (synced, unchanged, not_modified, failed, …).",
    ["account", "outcome"],
    registry=REGISTRY,
)
PASS_DURATION = Histogram(
    "ical_bridge_pass_duration_seconds",
    "How long a feed pass took (passes that did work: not waiting or no-op).",
    ["account"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
TICKWARD_REQUESTS = Counter(
    "ical_bridge_tickward_requests",
    "HTTP requests to tickward by account and answer status ('error': no answer).",
    ["account", "status"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "ical_bridge_tickward_rate_limited",
    "429 answers from tickward, by account.",
    ["account"],
    registry=REGISTRY,
)
TIMERS_WRITTEN = Counter(
    "ical_bridge_timers_written",
    "Timer writes tickward accepted (replays not counted), by account and action.",
    ["account", "action"],
    registry=REGISTRY,
)
FEED_FETCHES = Counter(
    "ical_bridge_feed_fetches",
    "HTTP feed fetches by outcome: ok (2xx), not_modified (304), http_4xx, http_5xx, error.",
    ["outcome"],
    registry=REGISTRY,
)
CLAIM_EVENTS = Counter(
    "ical_bridge_claim_events",
    "Replica coordination: feed claims and leases (claimed, renewed, released, expired, lost).",
    ["event"],
    registry=REGISTRY,
)
FEED_SERVER_RESPONSES = Counter(
    "ical_bridge_feed_server_responses",
    "Answers of the feed server by route (feed, hook, index, health, metrics, other) and status.",
    ["route", "status"],
    registry=REGISTRY,
)

_TIMER_PATH = re.compile(r"/projects/[^/]+/timers(/[^/]+)?/?$")
_PROJECTS = re.compile(r"/projects/?$")
_ACTIONS = {"POST": "create", "PATCH": "update", "DELETE": "delete"}


def _nested_timers(content: bytes) -> int:
    try:
        body = json.loads(content or b"{}")
    except ValueError:
        return 0
    if not isinstance(body, dict):
        return 0
    count = len(body.get("timers") or [])
    for space in body.get("spaces") or []:
        if isinstance(space, dict):
            count += len(space.get("timers") or [])
    return count


def exposition() -> bytes:
    """The text exposition format of ``REGISTRY`` (the body of ``/metrics``)."""
    return generate_latest(REGISTRY)


class _Wrapped(httpx.AsyncBaseTransport):
    """Forwards to ``inner``; closing is left to whoever made ``inner`` (``close_inner``)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def aclose(self) -> None:
        """Kept open: fetch clients come and go, the pool lives as long as the process."""

    async def close_inner(self) -> None:
        """Close the wrapped transport for good."""
        await self.inner.aclose()


class TickwardMetricsTransport(_Wrapped):
    """Counts every tickward answer (``account``, status), 429s and accepted timer writes."""

    def __init__(self, inner: httpx.AsyncBaseTransport, account: str) -> None:
        super().__init__(inner)
        self.account = account

    async def aclose(self) -> None:
        """The client owns this transport: closing it closes the wrapped one."""
        await self.inner.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the wrapped transport and count the outcome."""
        try:
            response = await self.inner.handle_async_request(request)
        except Exception:
            TICKWARD_REQUESTS.labels(self.account, "error").inc()
            raise
        status = response.status_code
        TICKWARD_REQUESTS.labels(self.account, str(status)).inc()
        if status == 429:
            RATE_LIMITED.labels(self.account).inc()
        replayed = response.headers.get("Idempotency-Replayed", "").lower() == "true"
        if 200 <= status < 300 and not replayed:
            self._count_writes(request)
        return response

    def _count_writes(self, request: httpx.Request) -> None:
        action = _ACTIONS.get(request.method)
        path = request.url.path
        if action == "create" and _PROJECTS.search(path):  # timers nested in a new project
            nested = _nested_timers(request.content)
            if nested:
                TIMERS_WRITTEN.labels(self.account, "create").inc(nested)
            return
        match = _TIMER_PATH.search(path)
        if action and match and (action == "create") == (match.group(1) is None):
            if action == "update" and b'"archived_at":"' in (request.content or b""):
                action = "archive"
            TIMERS_WRITTEN.labels(self.account, action).inc()


class FetchMetricsTransport(_Wrapped):
    """Counts feed fetches by outcome (redirect hops count as what they answered)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the wrapped transport and count the outcome."""
        try:
            response = await self.inner.handle_async_request(request)
        except Exception:
            FEED_FETCHES.labels("error").inc()
            raise
        status = response.status_code
        if status == 304:
            outcome = "not_modified"
        elif 200 <= status < 300:
            outcome = "ok"
        elif 300 <= status < 400:
            outcome = "redirect"
        else:
            outcome = f"http_{status // 100}xx"
        FEED_FETCHES.labels(outcome).inc()
        return response
