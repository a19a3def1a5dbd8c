"""The state store's tables and the ordered migrations that build them.

``metadata`` describes the newest schema and is what queries use. Each
migration builds its step from its own frozen table definitions, so a later
change to ``metadata`` never rewrites history. ``migrate`` runs inside the
caller's transaction and records the version it reached.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.types import TypeDecorator

from ical_bridge.errors import StoreError

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "UTCDateTime",
    "current_version",
    "export_tokens",
    "feed_states",
    "kv",
    "metadata",
    "migrate",
    "schema_version",
    "timer_records",
    "webhook_events",
]

# Any constant works; it only has to be the same for every ical-bridge process.
_PG_MIGRATION_LOCK = 0x1CB_0001


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("datetimes given to the state store must be timezone-aware")
        value = value.astimezone(UTC)
        # SQLite has no zone-aware type: keep the UTC wall time, re-attach UTC on read.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _version_table(md: MetaData) -> Table:
    return Table(
        "schema_version",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("version", Integer, nullable=False),
    )


def _base_tables(md: MetaData) -> dict[str, Table]:
    """The version-1 tables (also the shape of today's tables, plus later steps)."""
    return {
        "timer_records": Table(
            "timer_records",
            md,
            Column("project_id", String, primary_key=True),
            Column("timer_id", String, primary_key=True),
            Column("source_key", String, nullable=False),
            Column("uid", Text, nullable=False),
            Column("recurrence_id", String, nullable=True),
            Column("part", Integer, nullable=False),
            Column("strategy", String, nullable=False),
            Column("fingerprint", String, nullable=False),
            Column("remote_updated_at", String, nullable=True),
            Column("series_end", String, nullable=True),
            Index("ix_timer_records_project_source", "project_id", "source_key"),
        ),
        "feed_states": Table(
            "feed_states",
            md,
            Column("name", String, primary_key=True),
            Column("etag", Text, nullable=True),
            Column("last_modified", Text, nullable=True),
            Column("content_hash", String, nullable=True),
            Column("body", LargeBinary, nullable=True),
            Column("last_attempt", UTCDateTime, nullable=True),
            Column("last_success", UTCDateTime, nullable=True),
            Column("next_run", UTCDateTime, nullable=True),
            Column("failures", Integer, nullable=False),
            Column("last_error", Text, nullable=True),
            Column("suspicious", Text, nullable=True),
            Column("counts", Text, nullable=False),
        ),
        "export_tokens": Table(
            "export_tokens",
            md,
            Column("name", String, primary_key=True),
            Column("token", String, nullable=False),
        ),
        "webhook_events": Table(
            "webhook_events",
            md,
            Column("event_id", String, primary_key=True),
            Column("seen_at", UTCDateTime, nullable=False),
        ),
        "kv": Table(
            "kv",
            md,
            Column("key", String, primary_key=True),
            Column("value", Text, nullable=False),
        ),
    }


# --- the newest schema, used by queries -------------------------------------
metadata = MetaData()
schema_version = _version_table(metadata)
_tables = _base_tables(metadata)
timer_records = _tables["timer_records"]
feed_states = _tables["feed_states"]
export_tokens = _tables["export_tokens"]
webhook_events = _tables["webhook_events"]
kv = _tables["kv"]
# Added by migration 2: pruning old webhook ids filters on seen_at.
Index("ix_webhook_events_seen_at", webhook_events.c.seen_at)


# --- migrations ---------------------------------------------------------------
def _migrate_1(conn: Connection) -> None:
    """Create the first schema."""
    md = MetaData()
    _base_tables(md)
    md.create_all(conn)


def _migrate_2(conn: Connection) -> None:
    """Index webhook events by age, for the prune that runs on every insert."""
    md = MetaData()
    table = _base_tables(md)["webhook_events"]
    Index("ix_webhook_events_seen_at", table.c.seen_at).create(conn)


MIGRATIONS: tuple[tuple[int, Callable[[Connection], None]], ...] = (
    (1, _migrate_1),
    (2, _migrate_2),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    """The schema version recorded in the database (0 for an empty database)."""
    if not inspect(conn).has_table("schema_version"):
        return 0
    found: Any = conn.execute(select(schema_version.c.version)).scalar_one_or_none()
    return int(found) if found is not None else 0


def migrate(conn: Connection, *, target: int | None = None) -> int:
    """Bring the schema up to ``target`` (default: newest) in ``conn``'s transaction."""
    goal = SCHEMA_VERSION if target is None else target
    if conn.dialect.name == "postgresql":
        # Two processes opening one fresh database must not both create it.
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    version = current_version(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the state store has schema version {version}, newer than this ical-bridge "
            f"understands (up to {SCHEMA_VERSION}); upgrade ical-bridge or use another state url"
        )
    if version == 0:
        _version_table(MetaData()).create(conn, checkfirst=True)
        if conn.execute(select(schema_version.c.id)).first() is None:
            conn.execute(schema_version.insert().values(id=1, version=0))
    for number, step in MIGRATIONS:
        if version < number <= goal:
            step(conn)
            done = update(schema_version).where(schema_version.c.id == 1).values(version=number)
            conn.execute(done)
            version = number
    return version
