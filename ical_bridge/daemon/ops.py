"""The daemon server's operations routes: ``/healthz``, ``/readyz``, ``/metrics``, status page.

- ``/healthz``: liveness: the event loop answers (200, no I/O).
- ``/readyz``: the state store answers a query and every account's tickward
  answers ``GET /capabilities`` (no key sent, so probes never spend an account's
  request budget). Results are cached for ``probe_ttl`` seconds so a tight probe
  interval costs tickward nothing more. 200 when all pass, else 503; the body
  names each check and a short reason, never a URL or key.
- ``/metrics``: Prometheus text format (``ical_bridge.metrics``).
- ``/``: the feed index becomes the status page (same access rule, see
  ``ical_bridge.feeds.app``), built here from the state store and pass history.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ical_bridge.daemon.accounts import Fleet
from ical_bridge.daemon.status import collect_status
from ical_bridge.errors import IcalBridgeError
from ical_bridge.feeds.statuspage import PassRow, StatusRow, status_section
from ical_bridge.metrics import CONTENT_TYPE, exposition

__all__ = ["PROBE_SECONDS", "Readiness", "ops_routes", "status_provider"]

PROBE_SECONDS = 3.0  # one readiness probe of tickward, at most


class Readiness:
    """Checks the state store and every account's tickward; caches the answer briefly."""

    def __init__(self, fleet: Fleet, *, probe_ttl: float = 10.0) -> None:
        self.fleet = fleet
        self.probe_ttl = probe_ttl
        self._checked: tuple[float, dict[str, str]] | None = None
        self._lock = asyncio.Lock()

    async def checks(self) -> dict[str, str]:
        """``{"state": "ok", "tickward:<account>": "ok" | reason}``."""
        async with self._lock:
            if self._checked and time.monotonic() - self._checked[0] < self.probe_ttl:
                return self._checked[1]
            result = {"state": await asyncio.to_thread(self._state)}
            names = list(self.fleet.clients)
            answers = await asyncio.gather(*(self._tickward(n) for n in names))
            result.update({f"tickward:{n}": a for n, a in zip(names, answers, strict=True)})
            self._checked = (time.monotonic(), result)
            return result

    def _state(self) -> str:
        try:
            self.fleet.store.schema_version()
        except IcalBridgeError as exc:
            return f"unavailable: {type(exc).__name__}"
        return "ok"

    async def _tickward(self, account: str) -> str:
        client = self.fleet.clients[account]
        # Through the client's own transport (the embedded store's in-process app, or the
        # network), but a bare request: no key, no retries, no pacing wait.
        transport = self.fleet.transports.get(account)
        borrowed = _Unclosed(transport) if transport is not None else None
        async with httpx.AsyncClient(transport=borrowed, timeout=PROBE_SECONDS) as http:
            try:
                response = await http.get(client.base_url + "/capabilities")
            except httpx.HTTPError as exc:
                return f"unreachable: {type(exc).__name__}"
        if response.status_code >= 500:
            return f"unavailable: HTTP {response.status_code}"
        return "ok"  # a 4xx (even 429) still proves tickward is up and answering


class _Unclosed(httpx.AsyncBaseTransport):
    """Borrow a transport without closing it when the borrowing client closes."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward ``request``."""
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """The owner closes it."""


def ops_routes(fleet: Fleet, readiness: Readiness | None = None) -> list[BaseRoute]:
    """``/healthz``, ``/readyz`` and ``/metrics`` for the daemon's server."""
    ready = readiness or Readiness(fleet)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})

    async def readyz(_: Request) -> Response:
        checks = await ready.checks()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": checks},
            status_code=200 if ok else 503,
            headers={"Cache-Control": "no-store"},
        )

    async def metrics(_: Request) -> Response:
        return PlainTextResponse(exposition(), media_type=CONTENT_TYPE)

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def status_provider(fleet: Fleet) -> Callable[[], Awaitable[str]]:
    """The HTML of the status page's feeds section, read fresh on every request."""

    def rows() -> list[StatusRow]:
        feeds, _ = collect_status(fleet.config, fleet.store)
        accounts = {f.name: f.account for f in fleet.config.feeds}
        return [
            StatusRow(
                name=f.name,
                account=accounts.get(f.name, ""),
                project=f.project,
                source=f.source,
                health=f.health,
                last_attempt=f.last_attempt,
                last_success=f.last_success,
                next_run=f.next_run,
                failures=f.failures,
                last_error=f.last_error,
                history=[
                    PassRow(at, r.outcome, r.ms, r.error) for at, r in fleet.history.get(f.name, ())
                ],
            )
            for f in feeds
        ]

    async def section() -> str:
        built = await asyncio.to_thread(rows)
        return status_section(built, fleet.clock.now())

    return section
