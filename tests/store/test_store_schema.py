"""Opening a store: schema versions, migrations, SQLite settings, URL handling, errors."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import platformdirs
import pytest
from sqlalchemy import inspect, text

from ical_bridge.errors import StoreError
from ical_bridge.store import SCHEMA_VERSION, StateStore, TimerRecord, default_state_url
from ical_bridge.store.engine import make_engine
from ical_bridge.store.schema import migrate


def version_in_db(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT version FROM schema_version")).scalar_one())
    finally:
        engine.dispose()


def test_fresh_database_is_at_the_newest_version(store_url: str) -> None:
    with StateStore(store_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
    assert version_in_db(store_url) == SCHEMA_VERSION == 2


def test_version_1_database_is_migrated_and_keeps_its_rows(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        with engine.begin() as conn:
            assert migrate(conn, target=1) == 1
            conn.execute(
                text(
                    "INSERT INTO timer_records (project_id, timer_id, source_key, uid,"
                    " recurrence_id, part, strategy, fingerprint, remote_updated_at, series_end)"
                    " VALUES ('prj_1', 'icb_1', 'feed:team', 'u@x', NULL, 0, 'single', 'fp',"
                    " '2026-01-01T00:00:00Z', NULL)"
                )
            )
            conn.execute(text("INSERT INTO kv (key, value) VALUES ('sync_etag', 'W/\"7\"')"))
        with engine.connect() as conn:
            indexes = {ix["name"] for ix in inspect(conn).get_indexes("webhook_events")}
        assert "ix_webhook_events_seen_at" not in indexes
    finally:
        engine.dispose()
    assert version_in_db(store_url) == 1

    with StateStore(store_url) as store:
        assert store.schema_version() == 2
        assert store.timers("prj_1") == [
            TimerRecord(
                "prj_1", "icb_1", "feed:team", "u@x", None, 0, "single", "fp",
                "2026-01-01T00:00:00Z", None,
            )
        ]
        assert store.kv_get("sync_etag") == 'W/"7"'
        assert store.remember_webhook_event("evt") is True

    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            indexes = {ix["name"] for ix in inspect(conn).get_indexes("webhook_events")}
            timer_indexes = {ix["name"] for ix in inspect(conn).get_indexes("timer_records")}
    finally:
        engine.dispose()
    assert "ix_webhook_events_seen_at" in indexes
    assert "ix_timer_records_project_source" in timer_indexes
    assert version_in_db(store_url) == 2


def test_newer_schema_is_refused_and_left_alone(store_url: str) -> None:
    with StateStore(store_url) as store:
        store.kv_set("k", "v")
    engine = make_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE schema_version SET version = 99"))
    finally:
        engine.dispose()
    with pytest.raises(StoreError, match=r"schema version 99, newer .* upgrade ical-bridge"):
        StateStore(store_url)
    assert version_in_db(store_url) == 99


def test_reopening_does_not_rerun_migrations(store_url: str) -> None:
    for _ in range(3):
        with StateStore(store_url) as store:
            store.kv_set("opened", str(int(store.kv_get("opened") or "0") + 1))
    with StateStore(store_url) as store:
        assert store.kv_get("opened") == "3"
        assert store.schema_version() == 2


def test_sqlite_uses_wal_and_creates_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.sqlite3"
    with StateStore(f"sqlite:///{path}") as store:
        store.kv_set("k", "v")
        assert store.dialect == "sqlite"
        independent = sqlite3.connect(path)
        try:
            assert independent.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert independent.execute("SELECT value FROM kv").fetchall() == [("v",)]
        finally:
            independent.close()


def test_sqlite_connections_have_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 1000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        engine.dispose()


def test_sqlite_stores_datetimes_as_utc_text(tmp_path: Path) -> None:
    from ical_bridge.store import FeedState

    path = tmp_path / "s.db"
    moment = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    with StateStore(f"sqlite:///{path}") as store:
        store.put_feed(FeedState(name="f", next_run=moment))
    raw = sqlite3.connect(path)
    try:
        [(stored,)] = raw.execute("SELECT next_run FROM feed_states").fetchall()
    finally:
        raw.close()
    assert str(stored).startswith("2026-07-01 12:00:00")


def test_in_memory_sqlite_works_across_threads() -> None:
    import threading

    with StateStore("sqlite://") as store:
        worker = threading.Thread(target=store.kv_set, args=("k", "from-thread"))
        worker.start()
        worker.join(timeout=30)
        assert store.kv_get("k") == "from-thread"


def test_default_state_url_is_under_the_user_data_dir() -> None:
    url = default_state_url()
    expected = Path(platformdirs.user_data_dir("ical-bridge")) / "state.sqlite3"
    assert url == "sqlite:///" + str(expected)
    assert expected.is_absolute()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url", "postgresql+psycopg2://h/db"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(StoreError, match="url"):
        StateStore(url)


def test_unreachable_postgres_error_hides_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        StateStore("postgresql://bridge:hunter2-secret@127.0.0.1:1/state?connect_timeout=3")
    assert "hunter2-secret" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_new_sqlite_state_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "state.sqlite3"
    with StateStore(f"sqlite:///{path}") as store:
        store.set_export_token("team", "secret")
    assert path.stat().st_mode & 0o077 == 0
    assert path.parent.stat().st_mode & 0o077 == 0
