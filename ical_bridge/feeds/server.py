"""Running the feed server: building it from the config, and a uvicorn that never logs tokens."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import uvicorn
from starlette.applications import Starlette

from ical_bridge.clock import Clock, SystemClock
from ical_bridge.config import BridgeConfig, ExportConfig
from ical_bridge.feeds.app import FeedHooks, create_feed_app, is_loopback
from ical_bridge.feeds.guard import harden
from ical_bridge.feeds.render import ExportFeed
from ical_bridge.feeds.tokens import FeedStore, RedactFeedTokens
from ical_bridge.tickward import SyncSnapshot, TickwardClient

__all__ = [
    "app_from_config",
    "build_feed_app",
    "exports_from_config",
    "is_loopback",
    "make_server",
]


def exports_from_config(entries: Iterable[ExportConfig]) -> list[ExportFeed]:
    """``ExportFeed``s for the config's ``[[exports]]`` entries."""
    return [
        ExportFeed(
            name=e.name,
            project=e.project,
            space=e.space,
            calendar_name=e.calendar_name,
            duration=e.duration,
            refresh=e.refresh,
            include_archived=e.include_archived,
            max_bytes=e.max_bytes,
        )
        for e in entries
    ]


def build_feed_app(
    entries: Iterable[ExportConfig],
    *,
    client: TickwardClient,
    store: FeedStore,
    clock: Clock,
    host: str,
    public_url: str | None = None,
    refresh_seconds: float = 60.0,
    webhook_secret: str | None = None,
    index_token: str | None = None,
    snapshot: SyncSnapshot | None = None,
    hooks: FeedHooks | None = None,
    allow_proxied_index: bool = False,
) -> Starlette:
    """The feed app for a config over ``snapshot`` (default: its own); index as in ``app``."""
    source = snapshot or SyncSnapshot(client, clock=clock, refresh_seconds=refresh_seconds)
    return create_feed_app(
        exports_from_config(entries),
        source=source,
        store=store,
        clock=clock,
        webhook_secret=webhook_secret,
        index_token=index_token,
        loopback_index=is_loopback(host) and public_url is None,
        public_url=public_url,
        hooks=hooks,
        allow_proxied_index=allow_proxied_index,
    )


def app_from_config(
    config: BridgeConfig,
    store: FeedStore,
    client: TickwardClient,
    *,
    clock: Clock | None = None,
    snapshot: SyncSnapshot | None = None,
    hooks: FeedHooks | None = None,
) -> Starlette:
    """The feed app for the config's ``[[exports]]`` and ``[server]`` (``snapshot``: shared)."""
    server = config.server
    return build_feed_app(
        config.exports,
        client=client,
        store=store,
        clock=clock or SystemClock(),
        host=server.host,
        public_url=server.public_url,
        refresh_seconds=float(server.sync_cache_seconds),
        webhook_secret=server.webhook_secret(),
        index_token=server.index_token(),
        snapshot=snapshot,
        hooks=hooks,
        allow_proxied_index=server.allow_proxied_index,
    )


def make_server(
    app: Starlette, *, host: str, port: int, access_log: bool = False
) -> uvicorn.Server:
    """A hardened uvicorn server for ``app`` whose logs never carry a feed token.

    ``serve`` and the daemon both get it from here: request deadlines, header size
    and connection limits (``feeds.guard.harden``). uvicorn's own access log is off
    by default (the app logs requests with the token redacted); a redacting filter
    is installed on uvicorn's loggers anyway, so turning it on stays safe.
    """
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactFeedTokens) for f in logger.filters):
            logger.addFilter(RedactFeedTokens())
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=access_log,
        log_config=None,
        server_header=False,
        lifespan="off",
    )
    return harden(uvicorn.Server(config))
