"""``StateStore``: what the bridge remembers between runs, in SQLite or PostgreSQL."""

from __future__ import annotations

import contextvars
import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, RowMapping, Table, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError, StatementError

from ical_bridge.clock import Clock, SystemClock
from ical_bridge.errors import StoreError
from ical_bridge.store.engine import WRITE_OPTION, make_engine, redact
from ical_bridge.store.records import FeedState, TimerRecord
from ical_bridge.store.schema import (
    current_version,
    export_tokens,
    feed_states,
    kv,
    migrate,
    timer_records,
    webhook_events,
)

__all__ = ["WEBHOOK_EVENT_TTL", "StateStore"]

WEBHOOK_EVENT_TTL = timedelta(days=7)
_PG_TXN_LOCK = 0x1CB_0002
# The open transaction() blocks of this thread / asyncio task: (store, connection) pairs.
_OPEN: contextvars.ContextVar[tuple[tuple[StateStore, Connection], ...]] = contextvars.ContextVar(
    "ical_bridge_store_transactions", default=()
)


class StateStore:
    """The bridge's state: timer records, feed states, export tokens, webhook ids, small kv.

    Every method is synchronous, thread-safe and commits atomically on its own;
    ``with store.transaction():`` groups several calls (on this thread) into one commit.
    """

    def __init__(self, url: str, *, clock: Clock | None = None) -> None:
        self._url = redact(url)
        self._clock: Clock = clock or SystemClock()
        self._closed = False
        self._engine = make_engine(url)
        try:
            with self._guard(), self._engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    self._version = migrate(conn)
        except BaseException:
            self._engine.dispose()
            raise

    # --- lifecycle --------------------------------------------------------------
    @property
    def url(self) -> str:
        """The state URL with any password hidden."""
        return self._url

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return str(self._engine.dialect.name)

    def schema_version(self) -> int:
        """The schema version the database is at."""
        with self._read() as conn:
            return current_version(conn)

    def close(self) -> None:
        """Release every connection; the store cannot be used afterwards."""
        self._closed = True
        self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group the calls made inside the block into one atomic commit.

        Blocks run one at a time across every process sharing the store (SQLite's write
        lock, a PostgreSQL advisory lock), so a read-modify-write inside one is safe.
        Nested blocks join the outer one. The block belongs to this thread or asyncio
        task (a context variable); other threads and tasks are not part of it. Keep it
        short and do not ``await`` network calls inside: the write lock is held.
        """
        if self._current() is not None:
            yield  # already inside one: join it
            return
        self._check_open()
        with self._guard(), self._engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    # Match SQLite's one-writer-at-a-time: grouped blocks never interleave.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_TXN_LOCK})
                token = _OPEN.set((*_OPEN.get(), (self, conn)))
                try:
                    yield
                finally:
                    _OPEN.reset(token)

    # --- timers -------------------------------------------------------------------
    def timers(self, project_id: str, source_key: str | None = None) -> list[TimerRecord]:
        """The timer records of a project (of one source when ``source_key`` is given)."""
        query = select(timer_records).where(timer_records.c.project_id == project_id)
        if source_key is not None:
            query = query.where(timer_records.c.source_key == source_key)
        with self._read() as conn:
            rows = conn.execute(query.order_by(timer_records.c.timer_id)).all()
        # The table's columns are in TimerRecord's field order (pinned by a test).
        return [TimerRecord(*row) for row in rows]

    def put_timer(self, rec: TimerRecord) -> None:
        """Insert or replace the record of one timer."""
        self.put_timers([rec])

    def put_timers(self, records: Iterable[TimerRecord]) -> None:
        """Insert or replace the records of several timers in one statement and one commit
        (all or none); a later record of the same timer wins."""
        # one row per timer: a multi-row upsert may not touch a row twice (PostgreSQL)
        latest = {(rec.project_id, rec.timer_id): rec for rec in records}
        rows = [_timer_values(rec) for rec in latest.values()]
        if not rows:
            return
        with self._write() as conn:
            self._upsert(conn, timer_records, rows, ("project_id", "timer_id"))

    def delete_timer(self, project_id: str, timer_id: str) -> None:
        """Forget one timer (no error if it was not recorded)."""
        query = delete(timer_records).where(
            timer_records.c.project_id == project_id, timer_records.c.timer_id == timer_id
        )
        with self._write() as conn:
            conn.execute(query)

    # --- feeds ----------------------------------------------------------------------
    def feed(self, name: str) -> FeedState | None:
        """The state of one feed, or None if it never ran."""
        with self._read() as conn:
            row = conn.execute(select(feed_states).where(feed_states.c.name == name)).mappings()
            found = row.first()
        return _feed_from_row(found) if found is not None else None

    def feeds(self) -> list[FeedState]:
        """Every feed's state, by name."""
        with self._read() as conn:
            rows = conn.execute(select(feed_states).order_by(feed_states.c.name)).mappings().all()
        return [_feed_from_row(row) for row in rows]

    def put_feed(self, state: FeedState) -> None:
        """Insert or replace one feed's state."""
        for label in ("last_attempt", "last_success", "next_run"):
            moment = getattr(state, label)
            if moment is not None and moment.utcoffset() is None:
                raise StoreError(f"FeedState.{label} must be timezone-aware")
        counts = {str(k): int(v) for k, v in state.counts.items()}
        values = {
            "name": state.name,
            "etag": state.etag,
            "last_modified": state.last_modified,
            "content_hash": state.content_hash,
            "body": bytes(state.body) if state.body is not None else None,
            "last_attempt": state.last_attempt,
            "last_success": state.last_success,
            "next_run": state.next_run,
            "failures": int(state.failures),
            # Free text (may quote a hostile feed): NUL cannot be stored in PostgreSQL text.
            "last_error": _printable(state.last_error),
            "suspicious": _printable(state.suspicious),
            "counts": json.dumps(counts, sort_keys=True),
        }
        with self._write() as conn:
            self._upsert(conn, feed_states, values, ("name",))

    def delete_feed(self, name: str) -> None:
        """Forget one feed's state (no error if there was none)."""
        with self._write() as conn:
            conn.execute(delete(feed_states).where(feed_states.c.name == name))

    # --- export tokens, webhook ids, kv -------------------------------------------------
    def export_token(self, name: str) -> str | None:
        """The secret URL token of one export, or None if none was made yet."""
        query = select(export_tokens.c.token).where(export_tokens.c.name == name)
        with self._read() as conn:
            found: str | None = conn.execute(query).scalar_one_or_none()
        return found

    def set_export_token(self, name: str, token: str) -> None:
        """Set (or replace) the secret URL token of one export."""
        with self._write() as conn:
            self._upsert(conn, export_tokens, {"name": name, "token": token}, ("name",))

    def remember_webhook_event(self, event_id: str) -> bool:
        """Record a webhook delivery id; True if it was not seen in the last 7 days."""
        if "\x00" in event_id:
            raise StoreError("a webhook event id cannot contain a NUL character")
        now = self._clock.now()
        with self._write() as conn:
            expired = webhook_events.c.seen_at < now - WEBHOOK_EVENT_TTL
            conn.execute(delete(webhook_events).where(expired))
            values = {"event_id": event_id, "seen_at": now}
            inserted = conn.execute(_remember_statement(conn.dialect.name), values).first()
            return inserted is not None

    def kv_get(self, key: str) -> str | None:
        """A small cached value (e.g. the /sync ETag), or None."""
        with self._read() as conn:
            found: str | None = conn.execute(
                select(kv.c.value).where(kv.c.key == key)
            ).scalar_one_or_none()
        return found

    def kv_set(self, key: str, value: str) -> None:
        """Set a small cached value."""
        with self._write() as conn:
            self._upsert(conn, kv, {"key": key, "value": value}, ("key",))

    def kv_delete(self, key: str) -> None:
        """Remove a cached value (no error if absent)."""
        with self._write() as conn:
            conn.execute(delete(kv).where(kv.c.key == key))

    # --- plumbing -----------------------------------------------------------------------
    def _current(self) -> Connection | None:
        return next((conn for store, conn in _OPEN.get() if store is self), None)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the state store {self._url} is closed")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except StatementError as exc:
            # Never str(exc) itself: it carries the bound parameters (tokens, bodies).
            raise StoreError(f"state store {self._url}: {exc.orig or type(exc).__name__}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"state store {self._url}: {type(exc).__name__}") from exc
        except UnicodeError as exc:
            raise StoreError(f"state store {self._url}: text is not valid Unicode") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        outer = self._current()
        if outer is not None:
            with self._guard():
                yield outer
            return
        self._check_open()
        with self._guard(), self._engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        outer = self._current()
        if outer is not None:
            with self._guard():
                yield outer
            return
        self._check_open()
        with self._guard(), self._engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    @staticmethod
    def _upsert(
        conn: Connection,
        table: Table,
        values: Mapping[str, Any] | list[dict[str, Any]],
        keys: tuple[str, ...],
    ) -> None:
        """Insert or update one row (a mapping), or several (a list: one executemany)."""
        rows = values if isinstance(values, list) else [dict(values)]
        for row in rows:
            for column, value in row.items():
                if isinstance(value, str) and "\x00" in value:
                    # PostgreSQL refuses NUL in text; refuse it everywhere so backends agree.
                    raise StoreError(f"{table.name}.{column} contains a NUL character")
        stmt = _upsert_statement(conn.dialect.name, table, keys)
        conn.execute(stmt, rows if isinstance(values, list) else rows[0])


def _timer_values(rec: TimerRecord) -> dict[str, Any]:
    return {
        "project_id": rec.project_id,
        "timer_id": rec.timer_id,
        "source_key": rec.source_key,
        "uid": rec.uid,
        "recurrence_id": rec.recurrence_id,
        "part": int(rec.part),
        "strategy": rec.strategy,
        "fingerprint": rec.fingerprint,
        "remote_updated_at": rec.remote_updated_at,
        "series_end": rec.series_end,
    }


@functools.cache
def _upsert_statement(dialect: str, table: Table, keys: tuple[str, ...]) -> Any:
    # Built once: constructing an upsert costs milliseconds, executing one does not.
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    changes = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=changes)


@functools.cache
def _remember_statement(dialect: str) -> Any:
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(webhook_events)
    # RETURNING, not rowcount: psycopg reports -1 for an ON CONFLICT insert.
    stmt = stmt.on_conflict_do_nothing(index_elements=["event_id"])
    return stmt.returning(webhook_events.c.event_id)


def _printable(text: str | None) -> str | None:
    return text.replace("\x00", "\ufffd") if text is not None else None


def _feed_from_row(row: RowMapping) -> FeedState:
    values = dict(row)
    counts = json.loads(values.pop("counts") or "{}")
    body = values.pop("body")
    return FeedState(
        **values,
        body=bytes(body) if body is not None else None,
        counts={str(k): int(v) for k, v in counts.items()},
    )
