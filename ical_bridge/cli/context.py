"""Builds the tickward client a command uses: remote with an API key, else the embedded store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import platformdirs

from ical_bridge.cli import Settings
from ical_bridge.tickward import TickwardClient, account_pacer

__all__ = ["EMBEDDED_BASE_URL", "LOCAL_DB_NAME", "embedded_db_path", "open_client"]

EMBEDDED_BASE_URL = "http://embedded.local/api/v1"
LOCAL_DB_NAME = "local-tickward.sqlite3"


def embedded_db_path(local: Path | None) -> Path:
    """Where the embedded store lives: ``--local`` (a file, or a directory to hold one) or
    the user data dir."""
    if local is None:
        return Path(platformdirs.user_data_dir("ical-bridge")) / LOCAL_DB_NAME
    local = local.expanduser()
    return local / LOCAL_DB_NAME if local.is_dir() else local


def open_client(
    settings: Settings,
    *,
    stderr_note: Callable[[str], None],
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
) -> TickwardClient:
    """A ``TickwardClient`` for ``settings``; use it as ``async with open_client(...) as c``.

    Every client of one account in this process shares one rate-limit ``Pacer``
    (tickward has one bucket per user, not per client); ``wrap`` wraps the client's
    transport (the daemon counts requests for its metrics).
    """
    if settings.api_key:
        network = wrap(httpx.AsyncHTTPTransport()) if wrap else None
        pacer = account_pacer(settings.api_url, settings.api_key)
        return TickwardClient(
            settings.api_url, settings.api_key, transport=network, pacer=pacer
        )
    # Imported here: the local server is only needed when no API key is configured.
    from ical_bridge.localserver import EMBEDDED_API_KEY, create_app

    path = embedded_db_path(settings.local)
    path.parent.mkdir(parents=True, exist_ok=True)
    app = create_app(path, rate_limit=None)
    stderr_note(f"using the embedded local tickward store at {path} (no API key set)")
    store = getattr(app.state, "db", None)
    transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=app)
    return TickwardClient(
        EMBEDDED_BASE_URL,
        EMBEDDED_API_KEY,
        transport=wrap(transport) if wrap else transport,
        pacing=False,  # the embedded store has no rate limit
        on_close=getattr(store, "close", None),
    )
