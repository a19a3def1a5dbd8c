"""Feed tokens: the unguessable secret path part of each subscribable feed URL.

A token is ``secrets.token_urlsafe(32)`` (256 bits), made on first use and kept
in the state store, never in the config file or a log. Lookups compare the
presented token with every known one in constant time. Paths are redacted
before anything is logged.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Iterable
from typing import Protocol

from ical_bridge.clock import Clock

__all__ = [
    "FeedStore",
    "RedactFeedTokens",
    "TokenBook",
    "ensure_token",
    "feed_path",
    "new_token",
    "redact_path",
    "rotate_token",
    "subscription_urls",
]

_FEED_PATH = re.compile(r"(/feeds/)[^/\s?\"']+")
_TOKEN_QUERY = re.compile(r"([?&]token=)[^&\s\"']*")


class FeedStore(Protocol):
    """The part of the state store the feed server uses."""

    def export_token(self, name: str) -> str | None:
        """The token of export ``name``, if one was made."""
        ...

    def set_export_token(self, name: str, token: str) -> None:
        """Store (or replace) the token of export ``name``."""
        ...

    def remember_webhook_event(self, event_id: str) -> bool:
        """Record a webhook event id; True if it was new."""
        ...


def new_token() -> str:
    """A fresh feed token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def ensure_token(store: FeedStore, name: str) -> str:
    """The token of export ``name``, made and stored on first use."""
    token = store.export_token(name)
    if not token:
        token = new_token()
        store.set_export_token(name, token)
    return token


def rotate_token(store: FeedStore, name: str) -> str:
    """Replace the token of export ``name``; the old feed URL stops working."""
    token = new_token()
    store.set_export_token(name, token)
    return token


def feed_path(token: str) -> str:
    """The URL path of the export with ``token`` (its name is not part of it)."""
    return f"/feeds/{token}.ics"


def subscription_urls(base: str, token: str) -> tuple[str, str]:
    """The ``http(s)://`` and ``webcal://`` URLs of the export with ``token`` under ``base``."""
    https = base.rstrip("/") + feed_path(token)
    return https, "webcal://" + https.split("://", 1)[1]


def redact_path(text: str) -> str:
    """``/feeds/<token>.ics`` → ``/feeds/<redacted>``, ``?token=…`` → ``?token=<redacted>``."""
    return _TOKEN_QUERY.sub(r"\1<redacted>", _FEED_PATH.sub(r"\1<redacted>", text))


class RedactFeedTokens(logging.Filter):
    """A logging filter that removes feed tokens from messages and arguments (uvicorn's too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_path(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_path(a) if isinstance(a, str) else a for a in record.args)
        return True


class TokenBook:
    """Known export tokens, re-read from the store at most every ``ttl`` seconds (rotation)."""

    def __init__(self, store: FeedStore, names: Iterable[str], clock: Clock, *, ttl: float = 30.0):
        self._store = store
        self._names = list(names)
        self._clock = clock
        self._ttl = ttl
        self._tokens: dict[str, str] = {}
        self._loaded_at: float | None = None
        self.reload()

    def reload(self) -> None:
        """Read every export's token now (making missing ones)."""
        self._tokens = {name: ensure_token(self._store, name) for name in self._names}
        self._loaded_at = self._clock.monotonic()

    def token_of(self, name: str) -> str:
        """The current token of export ``name``."""
        self._maybe_reload()
        return self._tokens[name]

    def find(self, presented: str) -> str | None:
        """The export whose token equals ``presented`` (constant time over all), else None."""
        self._maybe_reload()
        found: str | None = None
        given = presented.encode()
        for name, token in self._tokens.items():
            if hmac.compare_digest(given, token.encode()):
                found = name
        return found

    def _maybe_reload(self) -> None:
        if self._loaded_at is None or self._clock.monotonic() - self._loaded_at >= self._ttl:
            self.reload()
