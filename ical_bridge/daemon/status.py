"""What ``status`` shows: how each feed is doing and where each export can be subscribed.

Everything is read from the config and the state store, so ``status`` works
whether or not a daemon is running. Feed sources are shown redacted (feed URLs
carry tokens). Export subscription URLs contain their secret token, so they are
left out unless asked for (``status --show-tokens``, or ``export-token show``);
they are never logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ical_bridge.config import (
    DEFAULT_ACCOUNT,
    BridgeConfig,
    ExportConfig,
    FeedConfig,
    ServerConfig,
)
from ical_bridge.daemon.accounts import scoped_store
from ical_bridge.daemon.bridge import display_source, feed_spec
from ical_bridge.daemon.runner import feed_refresh, planned_run
from ical_bridge.feeds import subscription_urls
from ical_bridge.recurrence import format_utc
from ical_bridge.store import FeedState, StateStore

__all__ = ["ExportStatus", "FeedStatus", "collect_status", "subscription_url"]


@dataclass(frozen=True)
class FeedStatus:
    """One feed's health, as the state store remembers it."""

    name: str
    source: str  # redacted
    project: str
    enabled: bool
    health: str  # ok | failing | suspicious | never | disabled
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    next_run: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    suspicious: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    account: str = DEFAULT_ACCOUNT  # the tickward account ([tickward] or an [[accounts]] name)

    def to_json(self) -> dict[str, Any]:
        """The ``status --json`` entry for this feed."""
        return {
            "name": self.name,
            "source": self.source,
            "project": self.project,
            "enabled": self.enabled,
            "health": self.health,
            "last_attempt": _iso(self.last_attempt),
            "last_success": _iso(self.last_success),
            "next_run": _iso(self.next_run),
            "failures": self.failures,
            "last_error": self.last_error,
            "suspicious": self.suspicious,
            "counts": dict(self.counts),
            "account": self.account,
        }


@dataclass(frozen=True)
class ExportStatus:
    """One export and its subscription URL (None unless asked for and its token exists)."""

    name: str
    project: str
    url: str | None
    has_token: bool = False

    def to_json(self) -> dict[str, Any]:
        """The ``status --json`` entry for this export."""
        return {
            "name": self.name,
            "project": self.project,
            "url": self.url,
            "has_token": self.has_token,
        }


def _iso(value: datetime | None) -> str | None:
    return format_utc(value) if value is not None else None


def _health(enabled: bool, state: FeedState | None) -> str:
    if not enabled:
        return "disabled"
    if state is None or (state.last_attempt is None and state.last_success is None):
        return "never"
    if state.failures:
        return "failing"
    if state.suspicious:
        return "suspicious"
    return "ok"


def subscription_url(server: ServerConfig, token: str) -> str:
    """``webcal://…`` URL of an export, from ``[server] public_url`` or host and port."""
    return subscription_urls(server.base_url, token)[1]


def collect_status(
    config: BridgeConfig, store: StateStore, *, show_tokens: bool = False
) -> tuple[list[FeedStatus], list[ExportStatus]]:
    """The status of every configured feed and export (export URLs only with ``show_tokens``)."""
    feeds = []
    for feed in config.feeds:
        state = store.feed(feed.name)
        feeds.append(
            FeedStatus(
                name=feed.name,
                source=display_source(feed),
                project=feed.project,
                enabled=feed.enabled,
                health=_health(feed.enabled, state),
                last_attempt=state.last_attempt if state else None,
                last_success=state.last_success if state else None,
                next_run=_next_run(feed, store, state),
                failures=state.failures if state else 0,
                last_error=state.last_error if state else None,
                suspicious=state.suspicious if state else None,
                counts=dict(state.counts) if state else {},
                account=feed.account,
            )
        )
    exports = [_export(config.server, e, store, show_tokens) for e in config.exports]
    return feeds, exports


def _next_run(feed: FeedConfig, store: StateStore, state: FeedState | None) -> datetime | None:
    """What the scheduler will use (``runner.planned_run``), not the raw stored value."""
    if state is None or not feed.enabled:
        return None
    # the feed's own refresh hint lives in its account's view of the store, as the runner wrote it
    refresh = feed_refresh(scoped_store(store, feed.account), feed.name)
    return planned_run(state, feed_spec(feed), refresh)


def _export(
    server: ServerConfig, export: ExportConfig, store: StateStore, show_tokens: bool
) -> ExportStatus:
    token = store.export_token(export.name)
    url = subscription_url(server, token) if token and show_tokens else None
    return ExportStatus(export.name, export.project, url, has_token=bool(token))
