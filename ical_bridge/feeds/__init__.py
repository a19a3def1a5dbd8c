"""Subscribable feeds: tickward projects served as ``.ics`` over HTTP, plus a webhook receiver."""

from __future__ import annotations

from ical_bridge.feeds.app import ACCESS_LOGGER, FeedHooks, create_feed_app
from ical_bridge.feeds.render import ExportFeed, Selection, render_feed, select, share_origin
from ical_bridge.feeds.tokens import (
    FeedStore,
    RedactFeedTokens,
    TokenBook,
    ensure_token,
    feed_path,
    new_token,
    redact_path,
    remember_secret,
    rotate_token,
    subscription_urls,
)
from ical_bridge.feeds.webhook import (
    SIGNATURE_HEADER,
    parse_event,
    parse_signature,
    read_limited,
    sign,
    valid_event_id,
    verify_signature,
)

__all__ = [
    "ACCESS_LOGGER",
    "SIGNATURE_HEADER",
    "ExportFeed",
    "FeedHooks",
    "FeedStore",
    "RedactFeedTokens",
    "Selection",
    "TokenBook",
    "create_feed_app",
    "ensure_token",
    "feed_path",
    "new_token",
    "parse_event",
    "parse_signature",
    "read_limited",
    "redact_path",
    "remember_secret",
    "render_feed",
    "rotate_token",
    "select",
    "share_origin",
    "sign",
    "subscription_urls",
    "valid_event_id",
    "verify_signature",
]
