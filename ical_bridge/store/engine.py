"""Turning a state URL into a configured SQLAlchemy engine (SQLite or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from ical_bridge.errors import ConfigError, StoreError
from ical_bridge.sqlitewal import enter_wal

__all__ = [
    "BUSY_TIMEOUT_MS",
    "POSTGRES_EXTRA",
    "WRITE_OPTION",
    "default_state_url",
    "make_engine",
    "redact",
]

BUSY_TIMEOUT_MS = 10_000
# Execution option that marks a connection whose transaction will write.
WRITE_OPTION = "ical_bridge_write"

# What a plain install lacks for a postgresql:// state url.
POSTGRES_EXTRA = "pip install 'ical-bridge[postgres]'"

_PG_DRIVERS = {"postgresql", "postgres", "postgresql+psycopg"}
_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}


def default_state_url() -> str:
    """``sqlite:///<user data dir>/state.sqlite3``: where the state lives unless configured."""
    path = Path(platformdirs.user_data_dir("ical-bridge")) / "state.sqlite3"
    return f"sqlite:///{path}"


def redact(url: str | URL) -> str:
    """The URL with any password hidden, for messages."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        return "<unparseable state url>"
    return parsed.render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files (and their folders) are created as needed."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"invalid state url {redact(url)!r}: expected sqlite:///PATH or postgresql://…"
        ) from exc
    if parsed.drivername in _PG_DRIVERS:
        try:
            return create_engine(
                parsed.set(drivername="postgresql+psycopg"), pool_pre_ping=True
            )
        except ImportError as exc:  # the driver is an optional extra
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]  # psycopg's span lines
            raise ConfigError(
                f"{redact(parsed)} needs the PostgreSQL driver, which is missing ({reason}): "
                + POSTGRES_EXTRA,
                key="state.url",
            ) from None
    if parsed.drivername in _SQLITE_DRIVERS:
        return _sqlite_engine(parsed)
    raise StoreError(
        f"unsupported state url {redact(parsed)!r}: use sqlite:///PATH or postgresql://…"
    )


def _sqlite_engine(parsed: URL) -> Engine:
    database = parsed.database or ""
    memory = database in ("", ":memory:") or database.startswith("file::memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if memory:
        # One shared connection, or every checkout would see a different empty database.
        kwargs["poolclass"] = StaticPool
    else:
        path = Path(database).expanduser()
        try:
            # Private from the start: the state holds export tokens and feed bodies.
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not path.exists():
                path.touch(mode=0o600)  # an empty file is an empty SQLite database
        except OSError as exc:
            raise StoreError(f"cannot create the state store folder {path.parent}: {exc}") from exc
        parsed = parsed.set(drivername="sqlite+pysqlite", database=str(path))
    engine = create_engine(parsed, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own is deferred-only).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not memory:
                enter_wal(cursor, BUSY_TIMEOUT_MS / 1000)  # a new store opened twice at once
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front, so it waits (busy_timeout) instead of
        # failing when it would otherwise upgrade a read lock under another writer.
        write = bool(conn.get_execution_options().get(WRITE_OPTION))
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
