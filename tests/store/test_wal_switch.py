"""A new SQLite database opened by several processes at once: none fails on the WAL switch.

SQLite changes the journal mode without calling its busy handler, so two
``sync --once`` runs starting together on a new state store (or two local
servers on a new embedded store) could fail with "database is locked" whatever
their busy timeout (seen in tests/sync/test_concurrent_imports.py, about one
run in ten). ``sqlitewal.enter_wal`` waits for the lock instead.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ical_bridge.localserver.database import Database
from ical_bridge.sqlitewal import enter_wal
from ical_bridge.store import StateStore


def _locked_elsewhere(path: Path) -> sqlite3.Connection:
    """Another connection holding the write lock of a new (rollback-journal) database."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE t (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    return other


def test_sqlite_does_not_wait_for_the_journal_mode_switch(tmp_path: Path) -> None:
    """The premise: a busy timeout does not cover PRAGMA journal_mode."""
    path = tmp_path / "new.db"
    other = _locked_elsewhere(path)
    mine = sqlite3.connect(path, isolation_level=None)
    mine.execute("PRAGMA busy_timeout = 5000")
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        mine.execute("PRAGMA journal_mode = WAL")
    assert time.monotonic() - started < 1  # at once, not after 5 s
    other.rollback()


def test_enter_wal_waits_for_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    other = _locked_elsewhere(path)
    mine = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    done: list[object] = []
    thread = threading.Thread(target=lambda: done.append(enter_wal(mine, 5.0)))
    thread.start()
    thread.join(timeout=0.3)  # it cannot finish while the other connection holds the lock
    assert thread.is_alive() and not done  # still waiting
    other.rollback()
    thread.join(timeout=5)
    assert done == [None]
    assert mine.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_enter_wal_gives_up_after_its_timeout(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    other = _locked_elsewhere(path)
    mine = sqlite3.connect(path, isolation_level=None)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enter_wal(mine, 0.2)
    assert 0.2 <= time.monotonic() - started < 2
    other.rollback()


def _all_at_once(open_one: Callable[[Path], None], rounds: int,
                 tmp_path: Path) -> list[BaseException]:  # fmt: skip
    errors: list[BaseException] = []

    def one(path: Path, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            open_one(path)
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    for round_ in range(rounds):
        path, barrier = tmp_path / f"store-{round_}.db", threading.Barrier(6)
        threads = [threading.Thread(target=one, args=(path, barrier)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    return errors


def test_a_new_state_store_opened_six_times_at_once(tmp_path: Path) -> None:
    def open_one(path: Path) -> None:
        with StateStore(f"sqlite:///{path}") as store:
            store.kv_set("opened", "yes")

    assert _all_at_once(open_one, 40, tmp_path) == []


def test_a_new_local_database_opened_six_times_at_once(tmp_path: Path) -> None:
    def open_one(path: Path) -> None:
        Database(path).close()

    assert _all_at_once(open_one, 40, tmp_path) == []
