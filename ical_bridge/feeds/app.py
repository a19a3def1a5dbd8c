"""The feed server: tickward projects as subscribable ``.ics`` feeds, plus a webhook receiver.

Routes:
- ``GET|HEAD /feeds/<token>.ics`` — one export. Unknown tokens get exactly the
  404 any unknown path gets. Strong ``ETag`` (hash of the body), ``Last-Modified``,
  ``If-None-Match``/``If-Modified-Since`` → 304, gzip on ``Accept-Encoding``,
  ``Cache-Control: max-age=<export refresh>``.
- ``POST /hooks/tickward`` — only with a webhook secret. A valid signature with a
  fresh timestamp invalidates the snapshot at once. Bad, missing or stale
  signatures → 401 and nothing changes (a missing or malformed one before any
  of the body is read). A body over 1 MiB → 413 (at once when Content-Length
  says so, else as soon as the stream passes it), slower than 10 s → 408; both
  close the connection. A signed delivery whose id is not a short printable
  string → 400. A replayed event id (deliveries are at-least-once) → **200 with
  no effect**, so tickward stops redelivering. When the state store cannot record
  the id → 503 with ``Retry-After`` (the snapshot is still invalidated; tickward
  redelivers), any other failure there → 500; one log line, no traceback.
- ``GET /`` — an HTML index with webcal:// links. It reveals every token, so it
  is served only (a) with ``?token=<index_token>`` when an index token is set,
  or (b) when no index token is set, ``loopback_index`` is on (the server is
  bound to loopback and not behind a public URL), the client is loopback and
  the request did not come through a proxy (no ``Forwarded``, ``X-Forwarded-*``,
  ``X-Real-IP`` or ``Via`` header) unless ``allow_proxied_index`` is on.
  Otherwise it is the plain 404.

Requests are logged by this app with every known token redacted by value; run
uvicorn with its own access log off (or install ``RedactFeedTokens`` on
``uvicorn.access``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import hashlib
import hmac
import html
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ical_bridge.clock import Clock
from ical_bridge.errors import SnapshotUnavailable, StoreError, UserError
from ical_bridge.feeds.render import ExportFeed, render_fitted, select
from ical_bridge.feeds.shaping import next_target, refresh_for
from ical_bridge.feeds.statuspage import page
from ical_bridge.feeds.tokens import (
    FeedStore,
    TokenBook,
    redact_path,
    remember_secret,
    subscription_urls,
)
from ical_bridge.feeds.versions import FirstSeen, content_digest
from ical_bridge.feeds.webhook import (
    MAX_BODY_BYTES,
    READ_SECONDS,
    SIGNATURE_HEADER,
    parse_event,
    parse_signature,
    read_limited,
    verify_signature,
)
from ical_bridge.metrics import FEED_SERVER_RESPONSES
from ical_bridge.store import StateStore
from ical_bridge.store.sequences import edit_sequences
from ical_bridge.tickward.snapshot import Snapshot, SyncSnapshot

__all__ = ["ACCESS_LOGGER", "EventHook", "FeedHooks", "create_feed_app", "is_loopback"]

ACCESS_LOGGER = "ical_bridge.feeds.access"
log = logging.getLogger(__name__)
access_log = logging.getLogger(ACCESS_LOGGER)

# Called with each verified, new event; True: refresh the feeds from tickward now.
EventHook = Callable[[dict[str, Any]], Awaitable[bool]]


@dataclass(frozen=True)
class FeedHooks:
    """What the daemon adds to the feed server; every part is optional.

    ``secrets`` (called per delivery) adds the registered endpoints' signing secrets;
    ``on_event(envelope)`` decides whether a verified event refreshes the feeds;
    ``sources`` gives exports of other accounts their account's snapshot;
    ``status_section`` (HTML) turns the index into the daemon's status page;
    ``extra_routes`` (health, metrics) are matched first; ``first_seen`` (shared by
    replicas) dates each content version, else it is dated when this process first saw it.
    """

    secrets: Callable[[], Sequence[str]] | None = None
    on_event: EventHook | None = None
    sources: Mapping[str, SyncSnapshot] | None = None
    status_section: Callable[[], Awaitable[str]] | None = None
    extra_routes: Sequence[BaseRoute] = ()
    first_seen: FirstSeen | None = None

# Headers a reverse proxy adds: a request carrying one did not come from this machine's user.
_PROXY_HEADERS = frozenset({"forwarded", "x-real-ip", "via"})


def _proxied(request: Request) -> bool:
    return any(
        name in _PROXY_HEADERS or name.startswith("x-forwarded-") for name in request.headers
    )


@dataclass(frozen=True)
class _Rendered:
    version: int
    body: bytes
    gzipped: bytes
    digest: str
    last_modified: datetime
    refresh: timedelta


def _not_found() -> Response:
    # Byte-for-byte what Starlette answers for any unknown path.
    return PlainTextResponse("Not Found", status_code=404)


def _accepts_gzip(header: str) -> bool:
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "x-gzip"):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        return q > 0
    return False


def _etag_matches(header: str, digest: str) -> bool:
    for item in header.split(","):
        tag = item.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/").strip('"')
        # Either representation's tag (plain or gzip) names the same content.
        if tag.removesuffix("-gz") == digest:
            return True
    return False


def _refuse(status: int, error: str) -> Response:
    # Close the connection: the client may still be sending a body nobody will read.
    return JSONResponse({"error": error}, status_code=status, headers={"Connection": "close"})


def _not_modified_since(header: str, last_modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return last_modified.replace(microsecond=0) <= since


class _AccessLog:
    """Logs ``method path status`` with feed tokens redacted (instead of uvicorn's access log)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            access_log.info("%s %s %d", scope["method"], redact_path(scope["path"]), status)
            FEED_SERVER_RESPONSES.labels(_route(scope["path"]), str(status)).inc()


def _route(path: str) -> str:
    """The route kind of ``path`` for metrics (never the path: it may hold a token)."""
    if path.startswith("/feeds/"):
        return "feed"
    if path.startswith("/hooks/"):
        return "hook"
    if path == "/":
        return "index"
    if path in ("/healthz", "/readyz"):
        return "health"
    return "metrics" if path == "/metrics" else "other"


class _FeedServer:
    def __init__(
        self,
        exports: Sequence[ExportFeed],
        source: SyncSnapshot,
        store: FeedStore,
        clock: Clock,
        webhook_secret: str | None,
        index_token: str | None,
        loopback_index: bool,
        public_url: str | None,
        token_ttl: float,
        allow_proxied_index: bool,
        secrets: Callable[[], Sequence[str]] | None = None,
        on_event: EventHook | None = None,
        sources: Mapping[str, SyncSnapshot] | None = None,
        status_section: Callable[[], Awaitable[str]] | None = None,
        first_seen: FirstSeen | None = None,
    ) -> None:
        self.first_seen = first_seen
        self.exports = {e.name: e for e in exports}
        self.source = source
        self.sources = dict(sources or {})  # export name → its account's snapshot
        self.status_section = status_section
        self.store = store
        self.clock = clock
        self.webhook_secret = webhook_secret
        self.index_token = index_token
        self.loopback_index = loopback_index
        self.allow_proxied_index = allow_proxied_index
        self.public_url = public_url.rstrip("/") if public_url else None
        self.tokens = TokenBook(store, self.exports, clock, ttl=token_ttl)
        self.rendered: dict[str, _Rendered] = {}
        self.locks = {name: asyncio.Lock() for name in self.exports}
        self.secrets = secrets
        self.on_event = on_event
        self.refreshing: set[asyncio.Task[Any]] = set()
        self.modified: dict[str, tuple[str, datetime]] = {}  # export → (digest, Last-Modified)

    def _secrets(self) -> list[str]:
        """The configured secret and the registered endpoints' secrets (re-read each time)."""
        found = [self.webhook_secret] if self.webhook_secret else []
        if self.secrets is not None:
            found += [s for s in self.secrets() if s and s not in found]
        for secret in found:
            remember_secret(secret)
        return found

    def _refresh_soon(self, envelope: dict[str, Any]) -> None:
        """Re-render the exports of the event's project now, not at the next subscriber poll."""
        data = envelope.get("data")
        obj = data.get("object") if isinstance(data, dict) else None
        names = set()
        if isinstance(obj, dict):
            names = {str(obj.get(k, "")).casefold() for k in ("project_id", "project_name")}
        for name, export in self.exports.items():
            if export.project.casefold() in names:
                task = asyncio.create_task(self._render_quietly(name))
                self.refreshing.add(task)
                task.add_done_callback(self.refreshing.discard)

    async def _render_quietly(self, name: str) -> None:
        try:
            await self._render(name)
        except (SnapshotUnavailable, UserError) as exc:
            log.warning("export %s not refreshed: %s", name, exc)

    def _refresh(self, name: str, snapshot: Snapshot, now: datetime) -> timedelta:
        """The export's refresh hint, shortened as its next target approaches (shaping.py)."""
        export = self.exports[name]
        try:
            timers = select(snapshot.sync, export.project, export.space).timers
        except UserError:
            return export.refresh
        dumped = [t.model_dump(mode="json") for t in timers]
        return refresh_for(export.refresh, next_target(dumped, now), now)

    def _edit_counts(self) -> Callable[[list[Mapping[str, Any]]], Mapping[str, int]] | None:
        """SEQUENCE per timer from the state store's edit counters (none in a bare store)."""
        store = self.store
        if not isinstance(store, StateStore):
            return None

        def counts(timers: list[Mapping[str, Any]]) -> Mapping[str, int]:
            try:
                return edit_sequences(store, timers)
            except StoreError as exc:  # serve all the same, with the stateless values
                log.warning("SEQUENCE counters unavailable: %s", exc)
                return {}

        return counts

    def _held(self, name: str) -> tuple[str, datetime] | None:
        """``(digest, Last-Modified)`` of the body last served for export ``name``."""
        held = self.modified.get(name)
        if held is None:
            raw = None
            with contextlib.suppress(StoreError):  # the store may be down: serve all the same
                raw = self.store.kv_get(f"feed-last-modified:{name}")
            if raw and " " in raw:
                digest, _, text = raw.partition(" ")
                with contextlib.suppress(ValueError):
                    held = (digest, datetime.fromisoformat(text))
        return held

    def _draw(
        self, name: str, snapshot: Snapshot, now: datetime, refresh: timedelta
    ) -> tuple[bytes, datetime]:
        """The body and its Last-Modified (run in a worker thread).

        The body is stamped (DTSTAMP) with the time its content last changed: it is
        first drawn with the previous stamp, and only when that gives a different
        body is it stamped anew — later than before by a whole second at least, so
        an ``If-Modified-Since``-only client (Apple) never keeps an old calendar,
        while changes to other projects leave this feed's Last-Modified alone. The
        stamp is kept in the store, so a restart does not make every client reload.
        """
        export = self.exports[name]
        counts = self._edit_counts()
        if self.first_seen is not None:  # replicas: dated by the shared state, the same everywhere
            digest = content_digest(snapshot.sync, export)
            stamp = self.first_seen(name, digest, snapshot.changed_at)
            fitted = render_fitted(snapshot.sync, export, now=stamp, at=now, refresh=refresh,
                                   sequences=counts)
            if fitted.dropped_total:
                log.warning("export %s: %s", name, fitted.describe(export.max_bytes))
            return fitted.body, stamp.astimezone(UTC).replace(microsecond=0)
        held = self._held(name)

        def draw(stamp: datetime) -> tuple[bytes, str]:
            fitted = render_fitted(snapshot.sync, export, now=stamp, at=now, refresh=refresh,
                                   sequences=counts)
            if fitted.dropped_total:
                log.warning("export %s: %s", name, fitted.describe(export.max_bytes))
            return fitted.body, hashlib.sha256(fitted.body).hexdigest()[:40]

        if held is not None:
            body, digest = draw(held[1])
            if digest == held[0]:
                return body, held[1]
        stamp = now.astimezone(UTC).replace(microsecond=0)
        if held is not None and stamp <= held[1]:
            stamp = held[1] + timedelta(seconds=1)
        body, digest = draw(stamp)
        self.modified[name] = (digest, stamp)
        try:  # kept for restarts; a failing store must not fail the feed itself
            self.store.kv_set(f"feed-last-modified:{name}", f"{digest} {stamp.isoformat()}")
        except StoreError as exc:
            log.warning("export %s: Last-Modified not kept (%s)", name, exc)
        return body, stamp

    async def _render(self, name: str) -> _Rendered:
        snapshot = await self.sources.get(name, self.source).get()
        now = self.clock.now()
        refresh = self._refresh(name, snapshot, now)
        cached = self.rendered.get(name)
        if cached is not None and (cached.version, cached.refresh) == (snapshot.version, refresh):
            return cached
        async with self.locks[name]:  # one render per feed and snapshot, however many wait
            cached = self.rendered.get(name)
            if cached is not None and (cached.version, cached.refresh) == (
                snapshot.version, refresh
            ):
                return cached
            work = functools.partial(self._draw, name, snapshot, now, refresh)
            body, last_modified = await anyio.to_thread.run_sync(work)
            rendered = _Rendered(
                version=snapshot.version,
                body=body,
                gzipped=gzip.compress(body, compresslevel=6, mtime=0),
                digest=hashlib.sha256(body).hexdigest()[:40],
                last_modified=last_modified,
                refresh=refresh,
            )
            self.rendered[name] = rendered
            return rendered

    async def feed(self, request: Request) -> Response:
        filename = request.path_params["filename"]
        if not filename.endswith(".ics"):
            return _not_found()
        name = self.tokens.find(filename[: -len(".ics")])
        if name is None:
            return _not_found()
        try:
            rendered = await self._render(name)
        except SnapshotUnavailable:
            return PlainTextResponse(
                "tickward is unreachable", status_code=503, headers={"Retry-After": "30"}
            )
        except UserError as exc:
            log.warning("export %s cannot be rendered: %s", name, exc)
            return _not_found()
        use_gzip = _accepts_gzip(request.headers.get("accept-encoding", ""))
        headers = {
            "ETag": f'"{rendered.digest}-gz"' if use_gzip else f'"{rendered.digest}"',
            "Last-Modified": format_datetime(rendered.last_modified, usegmt=True),
            "Cache-Control": f"max-age={int(rendered.refresh.total_seconds())}",
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }
        inm = request.headers.get("if-none-match")
        ims = request.headers.get("if-modified-since")
        if (inm is not None and _etag_matches(inm, rendered.digest)) or (
            inm is None and ims is not None and _not_modified_since(ims, rendered.last_modified)
        ):
            return Response(status_code=304, headers=headers)
        body = rendered.gzipped if use_gzip else rendered.body
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        headers["Content-Disposition"] = f'inline; filename="{name}.ics"'
        headers["Content-Length"] = str(len(body))
        return Response(
            b"" if request.method == "HEAD" else body,
            headers=headers,
            media_type="text/calendar; charset=utf-8",
        )

    async def webhook(self, request: Request) -> Response:
        if not self.webhook_secret and self.secrets is None:
            return _not_found()
        header = request.headers.get(SIGNATURE_HEADER)
        if parse_signature(header) is None:  # no need to read a body nobody signed
            why = "malformed signature" if header else "missing signature"
            log.warning("webhook rejected: %s", why)
            return _refuse(401, "invalid or stale signature")
        declared = request.headers.get("content-length", "0")
        if not declared.isascii() or not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
            return _refuse(413, "body too large")
        try:
            with anyio.fail_after(READ_SECONDS):
                body = await read_limited(request.stream(), MAX_BODY_BYTES)
        except TimeoutError:
            return _refuse(408, "body too slow")
        except ClientDisconnect:
            return _refuse(400, "incomplete body")
        if body is None:
            return _refuse(413, "body too large")
        reason: str | None = "no secret yet"
        for secret in self._secrets():
            reason = verify_signature(header, body, secret, now=self.clock.now())
            if reason is None:
                break
        if reason is not None:
            log.warning("webhook rejected: %s", reason)
            return JSONResponse({"error": "invalid or stale signature"}, status_code=401)
        event = parse_event(body)
        if event is None:
            log.warning("webhook rejected: signed, but not a tickward event")
            return JSONResponse({"error": "not a tickward event"}, status_code=400)
        event_id, kind = event
        try:
            new = self.store.remember_webhook_event(event_id)
        except StoreError as exc:
            # Authentic, so refresh anyway; a 503 makes tickward redeliver (it is then recorded).
            self.source.invalidate()
            for source in self.sources.values():
                source.invalidate()
            log.warning(
                "webhook %s (%s): not recorded (%s); asked to redeliver", event_id, kind, exc
            )
            return JSONResponse({"error": "state store unavailable"}, status_code=503,
                                headers={"Retry-After": "30"})
        except Exception as exc:  # a bug: one log line, an answer, and the server keeps serving
            log.warning("webhook %s (%s): internal error %s", event_id, kind, type(exc).__name__)
            return JSONResponse({"error": "internal error"}, status_code=500)
        if not new:
            return JSONResponse({"status": "duplicate"})
        envelope: dict[str, Any] | None = None
        if self.on_event is not None:
            envelope = json.loads(body)  # parse_event checked it is a JSON object
            if not await self.on_event(envelope):
                return JSONResponse({"status": "accepted"})
        self.source.invalidate()
        for source in self.sources.values():  # the event does not say whose account changed
            source.invalidate()
        if envelope is not None:
            self._refresh_soon(envelope)
        log.info("webhook %s (%s): snapshot invalidated", event_id, kind)
        return JSONResponse({"status": "accepted"})

    def _index_allowed(self, request: Request) -> bool:
        if self.index_token:
            given = request.query_params.get("token", "")
            return hmac.compare_digest(given.encode(), self.index_token.encode())
        if not self.loopback_index or request.client is None:
            return False
        if not self.allow_proxied_index and _proxied(request):
            return False
        try:
            return ipaddress.ip_address(request.client.host).is_loopback
        except ValueError:
            return False

    async def index(self, request: Request) -> Response:
        if not self._index_allowed(request):
            return _not_found()
        base = self.public_url or str(request.base_url).rstrip("/")
        rows = []
        for name, feed in sorted(self.exports.items()):
            token = self.tokens.token_of(name)
            title = html.escape(feed.calendar_name or feed.project)
            plain, link = (html.escape(url) for url in subscription_urls(base, token))
            rows.append(
                f"<li><b>{html.escape(name)}</b> — {title}: "
                f'<a href="{link}">subscribe</a> · <a href="{plain}">download</a></li>'
            )
        if self.status_section is not None:
            section = await self.status_section()
            return HTMLResponse(page(section, rows), headers={"Cache-Control": "no-store"})
        index = (
            "<!doctype html><meta charset=utf-8><meta name=referrer content=no-referrer>"
            "<title>ical-bridge feeds</title><h1>ical-bridge feeds</h1><ul>"
            + "".join(rows)
            + "</ul>"
        )
        return HTMLResponse(index, headers={"Cache-Control": "no-store"})


def is_loopback(host: str) -> bool:
    """True for ``127.0.0.1``, ``::1``, ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_feed_app(
    exports: Sequence[ExportFeed],
    *,
    source: SyncSnapshot,
    store: FeedStore,
    clock: Clock,
    webhook_secret: str | None = None,
    index_token: str | None = None,
    loopback_index: bool = False,
    public_url: str | None = None,
    token_ttl: float = 0.0,
    allow_proxied_index: bool = False,
    hooks: FeedHooks | None = None,
) -> Starlette:
    """The feed server as an ASGI app (tokens are made in ``store`` for new exports).

    ``ical_bridge.feeds.server.app_from_config`` builds it from the daemon config;
    ``hooks``: what the daemon adds (push, accounts, status page, replicas).
    """
    hooks = hooks or FeedHooks()
    remember_secret(index_token)
    remember_secret(webhook_secret)
    server = _FeedServer(
        exports, source, store, clock, webhook_secret, index_token, loopback_index, public_url,
        token_ttl, allow_proxied_index, hooks.secrets, hooks.on_event, hooks.sources,
        hooks.status_section, hooks.first_seen,
    )
    app = Starlette(
        routes=[
            *hooks.extra_routes,
            Route("/feeds/{filename}", server.feed, methods=["GET", "HEAD"]),
            Route("/hooks/tickward", server.webhook, methods=["POST"]),
            Route("/", server.index, methods=["GET", "HEAD"]),
        ]
    )
    app.add_middleware(_AccessLog)
    app.state.feed_server = server
    return app

