"""The SQLite file (or memory) behind the local tickward server.

One connection guarded by a lock serves every thread; writes run inside
``transaction()`` so a refused nested create leaves nothing behind. A
``transaction()`` opened inside another (on the same thread) is a savepoint of
it: its own failure rolls back only its part, and the outer block commits once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ical_bridge.errors import StoreError
from ical_bridge.recurrence import format_utc, parse_iso
from ical_bridge.sqlitewal import enter_wal

__all__ = [
    "SCHEMA_VERSION",
    "Database",
    "Row",
    "decode",
    "encode",
    "fetch_all",
    "fetch_one",
    "insert",
    "next_stamp",
    "stamp",
    "update",
]

Row = dict[str, Any]
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, color TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, claimed_at TEXT
);
CREATE TABLE IF NOT EXISTS spaces (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    id TEXT NOT NULL, name TEXT NOT NULL, color TEXT, created_at TEXT NOT NULL,
    UNIQUE (project_id, id)
);
CREATE TABLE IF NOT EXISTS timers (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    id TEXT NOT NULL, label TEXT NOT NULL, target_date TEXT NOT NULL, timezone TEXT NOT NULL,
    color TEXT, description TEXT, space_id TEXT, notify INTEGER NOT NULL DEFAULT 0,
    mode TEXT NOT NULL DEFAULT 'until', milestones TEXT, recurrence TEXT,
    pinned INTEGER NOT NULL DEFAULT 0, image TEXT, reminders TEXT NOT NULL DEFAULT '[]',
    archived_at TEXT, shared_at TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    UNIQUE (project_id, id)
);
CREATE TABLE IF NOT EXISTS shares (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    timer_id TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    UNIQUE (project_id, timer_id)
);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
    body TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_at);
"""

_JSON_COLUMNS = ("milestones", "recurrence", "image", "reminders")
_BOOL_COLUMNS = ("notify", "pinned")


def stamp(now: datetime) -> str:
    """tickward's timestamp format: ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return format_utc(now)


def next_stamp(previous: str | None, now: datetime) -> str:
    """A stamp for ``now`` that is strictly later than ``previous`` (a version never repeats)."""
    if previous is not None:
        floor = parse_iso(previous) + timedelta(milliseconds=1)
        if floor > now:
            return stamp(floor)
    return stamp(now)


class Database:
    """A thread-safe SQLite connection with tickward's tables."""

    def __init__(self, path: str | Path | None) -> None:
        target = ":memory:" if path is None else str(path)
        self._lock = threading.RLock()
        try:
            if path is not None:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{target}: cannot open the local tickward database ({exc})") from exc
        self._conn.row_factory = sqlite3.Row
        self._depth = 0  # open transaction() blocks (guarded by the lock)
        try:
            self._prepare(on_disk=path is not None)
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(f"{target}: not a usable local tickward database ({exc})") from exc

    def _prepare(self, *, on_disk: bool) -> None:
        self._conn.execute("PRAGMA foreign_keys = ON")
        if on_disk:
            self._conn.execute("PRAGMA busy_timeout = 5000")
            enter_wal(self._conn, 5.0)  # a new database opened by two processes at once
            # WAL keeps every commit atomic and durable against a crash of the process;
            # NORMAL skips the fsync per commit (only a power cut can lose the last ones).
            self._conn.execute("PRAGMA synchronous = NORMAL")
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise sqlite3.DatabaseError(f"unknown schema version {version}")
        self._conn.executescript(_SCHEMA)
        self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block atomically (rolled back if it raises); nested: a savepoint."""
        with self._lock:
            depth = self._depth
            begin, undo, end = (
                ("BEGIN IMMEDIATE", "ROLLBACK", "COMMIT")
                if depth == 0
                else (f"SAVEPOINT tx{depth}", f"ROLLBACK TO tx{depth}", f"RELEASE tx{depth}")
            )
            self._conn.execute(begin)
            self._depth = depth + 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute(undo)
                if depth:
                    self._conn.execute(end)  # a savepoint stays open after ROLLBACK TO
                raise
            finally:
                self._depth = depth
            self._conn.execute(end)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Run read-only statements (each its own snapshot; no write lock taken)."""
        with self._lock:
            yield self._conn

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


def decode(row: sqlite3.Row | None) -> Row | None:
    """A row as a plain dict with JSON and boolean columns decoded."""
    if row is None:
        return None
    out = dict(row)
    for key in _JSON_COLUMNS:
        if key in out and out[key] is not None:
            out[key] = json.loads(out[key])
    for key in _BOOL_COLUMNS:
        if key in out:
            out[key] = bool(out[key])
    return out


def encode(value: Any) -> Any:
    """A Python value as a column value (JSON for structures)."""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    if isinstance(value, bool):
        return int(value)
    return value


def fetch_all(conn: sqlite3.Connection, sql: str, *args: Any) -> list[Row]:
    """Every row of a query, decoded."""
    return [r for r in (decode(row) for row in conn.execute(sql, args)) if r is not None]


def fetch_one(conn: sqlite3.Connection, sql: str, *args: Any) -> Row | None:
    """The first row of a query, decoded (None if none)."""
    return decode(conn.execute(sql, args).fetchone())


def insert(conn: sqlite3.Connection, table: str, row: Row) -> None:
    """Insert ``row`` into ``table``."""
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    conn.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({marks})", [encode(v) for v in row.values()]
    )


def update(conn: sqlite3.Connection, table: str, changes: Row, where: Row) -> None:
    """Update the columns in ``changes`` on the rows matching ``where``."""
    if not changes:
        return
    sets = ", ".join(f"{k} = ?" for k in changes)
    cond = " AND ".join(f"{k} = ?" for k in where)
    conn.execute(
        f"UPDATE {table} SET {sets} WHERE {cond}",
        [encode(v) for v in changes.values()] + list(where.values()),
    )
