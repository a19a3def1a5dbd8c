"""Builds the tickward client a command uses: remote with an API key, else the embedded store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import platformdirs

from ical_bridge.cli import Settings
from ical_bridge.errors import StoreError, UserError
from ical_bridge.tickward import InProcessTransport, TickwardClient, account_pacer

__all__ = [
    "EMBEDDED_BASE_URL",
    "LOCAL_DB_NAME",
    "embedded_client",
    "embedded_db_path",
    "open_client",
]

EMBEDDED_BASE_URL = "http://embedded.local/api/v1"
LOCAL_DB_NAME = "local-tickward.sqlite3"


def embedded_db_path(local: Path | None) -> Path:
    """Where the embedded store lives: ``--local`` (a file, or a directory to hold one) or
    the user data dir."""
    if local is None:
        return Path(platformdirs.user_data_dir("ical-bridge")) / LOCAL_DB_NAME
    local = local.expanduser()
    return local / LOCAL_DB_NAME if local.is_dir() else local


_SQLITE_HEADER = b"SQLite format 3\x00"


def _check_store_file(path: Path, *, read_only: bool) -> None:
    """Never turn a file that is not an SQLite database into one (an empty file neither);
    a read-only command does not create a store at all."""
    if not path.exists():
        if read_only:
            raise UserError(f"--local: no tickward store at {path} (nothing imported yet?)")
        return
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise UserError(f"--local: cannot read {path}: {exc.strerror}") from None
    if head != _SQLITE_HEADER:
        raise UserError(f"--local: {path} is not a tickward store (not an SQLite database); "
                        "it was left untouched")


def open_client(
    settings: Settings,
    *,
    stderr_note: Callable[[str], None],
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
    read_only: bool = False,
) -> TickwardClient:
    """A ``TickwardClient`` for ``settings``; use it as ``async with open_client(...) as c``.

    Every client of one account in this process shares one rate-limit ``Pacer``
    (tickward has one bucket per user, not per client); ``wrap`` wraps the client's
    transport (the daemon counts requests for its metrics); ``read_only``: the command
    only reads, so a missing embedded store is an error.
    """
    if settings.api_key:
        network = wrap(httpx.AsyncHTTPTransport()) if wrap else None
        pacer = account_pacer(settings.api_url, settings.api_key)
        return TickwardClient(
            settings.api_url, settings.api_key, transport=network, pacer=pacer
        )
    # Imported here: the local server is only needed when no API key is configured.
    from ical_bridge.cli.plan_limits import plan_limits
    from ical_bridge.localserver import EMBEDDED_API_KEY, create_app

    path = embedded_db_path(settings.local)
    _check_store_file(path, read_only=read_only)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        app = create_app(path, rate_limit=None, plan=plan_limits(settings.local_limits))
    except StoreError as exc:  # --local names something that is not a tickward store
        raise UserError(f"--local: {exc}") from None
    stderr_note(f"using the embedded local tickward store at {path} (no API key set)")
    return embedded_client(app, EMBEDDED_API_KEY, wrap=wrap)


def embedded_client(
    app: Any,
    api_key: str,
    *,
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
) -> TickwardClient:
    """A client of the local server ``app`` running in this process (the embedded store):
    requests go straight to the app (``InProcessTransport``), unpaced (it has no rate
    limit), and closing the client closes the app's database."""
    store = getattr(app.state, "db", None)
    transport: httpx.AsyncBaseTransport = InProcessTransport(app)
    return TickwardClient(
        EMBEDDED_BASE_URL,
        api_key,
        transport=wrap(transport) if wrap else transport,
        pacing=False,  # the embedded store has no rate limit
        on_close=getattr(store, "close", None),
        in_process=True,
    )
