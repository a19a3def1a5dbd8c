"""Feed tokens: the unguessable secret path part of each subscribable feed URL.

A token is ``secrets.token_urlsafe(32)`` (256 bits), made on first use and kept
in the state store, never in the config file or a log. Lookups compare the
presented token with every known one in constant time.

Log lines are redacted by token *value*, not by path shape: every token this
process has handled (feed tokens, the index token, the webhook secret) is
remembered, and any run of URL-safe characters that shares a long fragment with
one of them (in any letter case, percent-encoded or not) becomes ``<redacted>``,
wherever it appears (``/feeds//T.ics``, ``/FEEDS/T.ics``, ``/T.ics``, a query).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import threading
from collections.abc import Iterable
from typing import Protocol
from urllib.parse import unquote

from ical_bridge.clock import Clock
from ical_bridge.errors import StoreError

__all__ = [
    "FeedStore",
    "RedactFeedTokens",
    "TokenBook",
    "ensure_token",
    "feed_path",
    "new_token",
    "redact_path",
    "remember_secret",
    "rotate_token",
    "subscription_urls",
]

log = logging.getLogger("ical_bridge.feeds")

_FEED_PATH = re.compile(r"(/feeds/)[^/\s?\"']+")
_TOKEN_QUERY = re.compile(r"([?&]token=)[^&\s\"']*")
# A fragment this long shared with a known secret marks a run as (part of) that secret;
# random URL-safe text shares one with a 43-character token about once in 10^17 tries.
_FRAGMENT = 12
_RUN = re.compile(r"[A-Za-z0-9_\-]+")
_secrets_lock = threading.Lock()
# (fragments of every remembered secret, lowercased; their lengths): swapped whole, read lock-free.
_known: tuple[frozenset[str], frozenset[int]] = (frozenset(), frozenset())


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

    def kv_get(self, key: str) -> str | None:
        """A small stored value (e.g. a feed's Last-Modified), if any."""
        ...

    def kv_set(self, key: str, value: str) -> None:
        """Store a small value under ``key``."""
        ...


def remember_secret(secret: str | None) -> None:
    """Redact ``secret`` (and any long fragment of it) from every later log line of this process."""
    global _known
    if not secret:
        return
    lowered = secret.lower()
    size = min(_FRAGMENT, len(lowered))
    new = {lowered[i : i + size] for i in range(len(lowered) - size + 1)}
    with _secrets_lock:
        _known = (_known[0] | new, _known[1] | {size})


def _is_secret(run: str, fragments: frozenset[str], sizes: frozenset[int]) -> bool:
    lowered = run.lower()
    return any(
        lowered[i : i + size] in fragments
        for size in sizes
        for i in range(len(lowered) - size + 1)
    )


def _redact_secrets(text: str) -> str:
    fragments, sizes = _known
    if not fragments:
        return text
    for _ in range(3):  # percent-encoded (even twice) is still the token
        if "%" not in text:
            break
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return _RUN.sub(
        lambda m: "<redacted>" if _is_secret(m.group(), fragments, sizes) else m.group(), text
    )


def new_token() -> str:
    """A fresh feed token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def ensure_token(store: FeedStore, name: str) -> str:
    """The token of export ``name``, made and stored on first use."""
    token = store.export_token(name)
    if not token:
        token = new_token()
        store.set_export_token(name, token)
    remember_secret(token)
    return token


def rotate_token(store: FeedStore, name: str) -> str:
    """Replace the token of export ``name``; the old feed URL stops working."""
    token = new_token()
    store.set_export_token(name, token)
    remember_secret(token)
    return token


def feed_path(token: str) -> str:
    """The URL path of the export with ``token`` (its name is not part of it)."""
    return f"/feeds/{token}.ics"


def subscription_urls(base: str, token: str) -> tuple[str, str]:
    """The ``http(s)://`` and ``webcal://`` URLs of the export with ``token`` under ``base``."""
    https = base.rstrip("/") + feed_path(token)
    return https, "webcal://" + https.split("://", 1)[1]


def redact_path(text: str) -> str:
    """``/feeds/<anything>`` and ``?token=…`` → ``<redacted>``, then every known secret too."""
    text = _TOKEN_QUERY.sub(r"\1<redacted>", _FEED_PATH.sub(r"\1<redacted>", text))
    return _redact_secrets(text)


class RedactFeedTokens(logging.Filter):
    """A logging filter that removes feed tokens from messages and arguments (uvicorn's too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_path(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_path(a) if isinstance(a, str) else a for a in record.args)
        return True


class TokenBook:
    """Known export tokens, re-read from the store at most every ``ttl`` seconds (rotation).

    The default 0 re-reads them on every request, so ``export-token rotate`` takes
    effect on a running server at the next request (one small read per export).
    """

    def __init__(self, store: FeedStore, names: Iterable[str], clock: Clock, *, ttl: float = 0.0):
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
            try:
                self.reload()
            except StoreError as exc:  # keep serving the tokens last read; rotation waits
                if not self._tokens:
                    raise
                log.warning("export tokens not re-read: %s", exc)
