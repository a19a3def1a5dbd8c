"""Switching an SQLite database to write-ahead logging while other processes open it too.

SQLite changes a database's journal mode without calling its busy handler: a
connection that asks for WAL while another process holds a lock on a database
not yet in WAL (two ``sync --once`` runs starting together on a new state
store, say) gets "database is locked" at once, whatever its busy timeout. Once
the database is in WAL, asking again changes nothing and needs no lock.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

__all__ = ["enter_wal"]


def enter_wal(connection: Any, timeout: float) -> None:
    """``PRAGMA journal_mode = WAL`` on ``connection`` (a DB-API connection or cursor),
    tried again while the database is locked, for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
