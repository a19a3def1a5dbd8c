"""Work sharing between daemon replicas: feed claims with a lease, and first-seen times.

Replicas on one PostgreSQL state store share the feeds through rows of
``feed_claims``: a replica claims a feed with ``SELECT … FOR UPDATE SKIP LOCKED``
(a row another replica is claiming right now is skipped, never waited on) and
holds it until ``lease_until``, renewing while its pass runs. A replica killed
with ``kill -9`` simply stops renewing: once its lease has run out, the next
replica whose timer fires takes the feed over. Times come from the database's
own clock (``now()``), so replicas on machines with skewed clocks still agree.
Every claim gets a new ``token`` (a fencing number), which tags the pass's
requests and log lines.

SQLite is the single-process default: its claims are granted at once, locally
(``LocalClaims``), through the same calls.

``export_versions`` keeps, per export and content digest, the moment that
content was first seen by any replica, so every replica stamps the same
calendar with the same ``DTSTAMP``/``Last-Modified`` and serves the same ETag.
Both tables are created idempotently (``CREATE TABLE IF NOT EXISTS``) by this
module, outside the numbered schema migrations of ``store.schema``.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    and_,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ical_bridge.errors import StoreError
from ical_bridge.store.engine import WRITE_OPTION, make_engine, redact
from ical_bridge.store.schema import UTCDateTime, export_tokens

__all__ = [
    "DEFAULT_LEASE",
    "Claims",
    "LocalClaims",
    "PostgresClaims",
    "SharedVersions",
    "make_claims",
    "replica_id",
]

DEFAULT_LEASE = timedelta(seconds=60)
_PG_CREATE_LOCK = 0x1CB_0004
_SECOND = timedelta(seconds=1)

_md = MetaData()
feed_claims = Table(
    "feed_claims",
    _md,
    Column("feed", String, primary_key=True),
    Column("owner", String, nullable=True),
    Column("token", BigInteger, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("claimed_at", UTCDateTime, nullable=True),
)
export_versions = Table(
    "export_versions",
    _md,
    Column("export", String, nullable=False),
    Column("digest", String, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("export", "digest"),
)


def replica_id() -> str:
    """``host:pid:random``: unique per process, readable in ``feed_claims.owner``."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class Claims(Protocol):
    """Who runs which feed now (one replica at a time per feed)."""

    owner: str
    lease: timedelta
    shared: bool  # True when other processes take part (PostgreSQL)

    def acquire(self, feed: str) -> int | None:
        """Claim ``feed`` for one lease; its fencing token, or None if another replica holds it."""
        ...

    def renew(self, feed: str, token: int) -> bool:
        """Extend the claim by one lease; False when it was lost (expired and taken)."""
        ...

    def release(self, feed: str, token: int) -> None:
        """Give the claim up at once (the pass is over)."""
        ...

    def first_seen(self, export: str, digest: str, now: datetime) -> datetime:
        """When any replica first saw this content of ``export`` (``now`` if nobody did)."""
        ...

    def ensure_tokens(self, tokens: dict[str, str]) -> None:
        """Store each export token that does not exist yet (the first replica's wins)."""
        ...

    def close(self) -> None:
        """Release the connections."""
        ...


class LocalClaims:
    """One process owns everything (SQLite): every claim is granted, tokens count up."""

    shared = False

    def __init__(self, *, lease: timedelta = DEFAULT_LEASE, owner: str | None = None) -> None:
        self.owner = owner or replica_id()
        self.lease = lease
        self._tokens: dict[str, int] = {}
        self._held: set[str] = set()
        self._seen: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()

    def acquire(self, feed: str) -> int | None:
        """Claim ``feed`` (refused only while this process already holds it)."""
        with self._lock:
            if feed in self._held:
                return None
            self._held.add(feed)
            self._tokens[feed] = self._tokens.get(feed, 0) + 1
            return self._tokens[feed]

    def renew(self, feed: str, token: int) -> bool:
        """True while this process holds the claim."""
        with self._lock:
            return feed in self._held and self._tokens.get(feed) == token

    def release(self, feed: str, token: int) -> None:
        """Give the claim up."""
        with self._lock:
            if self._tokens.get(feed) == token:
                self._held.discard(feed)

    def first_seen(self, export: str, digest: str, now: datetime) -> datetime:
        """First time this process saw the content."""
        with self._lock:
            return self._seen.setdefault((export, digest), now)

    def ensure_tokens(self, tokens: dict[str, str]) -> None:
        """Nothing to do: ``feeds.tokens.ensure_token`` makes them in the one process."""

    def close(self) -> None:
        """Nothing to release."""


class SharedVersions:
    """``first_seen`` over the state database (any backend): the first writer's time wins."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def first_seen(self, export: str, digest: str, now: datetime) -> datetime:
        """The stored first-seen time of this content, inserting one if there is none.

        Times only grow, by at least a second (``Last-Modified``'s resolution) per
        new version, so ``If-Modified-Since`` never matches older content; content
        that goes back to an older version counts as new again.
        """
        this = and_(export_versions.c.export == export, export_versions.c.digest == digest)
        newest_q = select(func.max(export_versions.c.seen_at)).where(
            export_versions.c.export == export
        )
        with _guard(self._engine), self._engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                newest: datetime | None = conn.execute(newest_q).scalar_one()
                stamp = now if newest is None else max(now, newest + _SECOND)
                conn.execute(
                    _insert(self._engine.dialect.name)(export_versions)
                    .values(export=export, digest=digest, seen_at=stamp)
                    .on_conflict_do_nothing(index_elements=["export", "digest"])
                )
                found: datetime = conn.execute(
                    select(export_versions.c.seen_at).where(this)
                ).scalar_one()
                newest = conn.execute(newest_q).scalar_one()
                if newest is not None and newest > found:
                    # Only the first replica to see the revert moves it (compare and set).
                    conn.execute(
                        export_versions.update()
                        .where(this, export_versions.c.seen_at == found)
                        .values(seen_at=max(now, newest + _SECOND))
                    )
                    found = conn.execute(select(export_versions.c.seen_at).where(this)).scalar_one()
                # Keep the table small: versions a week older than this one are history.
                conn.execute(
                    export_versions.delete().where(
                        export_versions.c.export == export,
                        export_versions.c.seen_at < found - timedelta(days=7),
                    )
                )
        return found


class PostgresClaims(SharedVersions):
    """Claims as rows of ``feed_claims`` with a lease (see the module docstring)."""

    shared = True

    def __init__(self, engine: Engine, *, lease: timedelta = DEFAULT_LEASE,
                 owner: str | None = None) -> None:
        super().__init__(engine)
        self.owner = owner or replica_id()
        self.lease = lease

    def acquire(self, feed: str) -> int | None:
        """Claim ``feed`` unless another replica's lease on it is still running."""
        lease = text("now() + make_interval(secs => :secs)").bindparams(
            secs=self.lease.total_seconds()
        )
        with _guard(self._engine), self._engine.begin() as conn:
            conn.execute(
                postgresql.insert(feed_claims)
                .values(feed=feed, owner=None, token=0, lease_until=None)
                .on_conflict_do_nothing(index_elements=["feed"])
            )
            free = or_(
                feed_claims.c.lease_until.is_(None),
                feed_claims.c.lease_until < text("now()"),
                feed_claims.c.owner == self.owner,
            )
            row = conn.execute(
                select(feed_claims.c.token)
                .where(feed_claims.c.feed == feed, free)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            token = int(row[0]) + 1
            conn.execute(
                update(feed_claims)
                .where(feed_claims.c.feed == feed)
                .values(owner=self.owner, token=token, lease_until=lease,
                        claimed_at=text("now()"))
            )
            return token

    def renew(self, feed: str, token: int) -> bool:
        """Extend the lease if this replica still holds claim ``token``."""
        lease = text("now() + make_interval(secs => :secs)").bindparams(
            secs=self.lease.total_seconds()
        )
        with _guard(self._engine), self._engine.begin() as conn:
            done = conn.execute(
                update(feed_claims)
                .where(self._mine(feed, token))
                .values(lease_until=lease)
                .returning(feed_claims.c.feed)
            ).first()
        return done is not None

    def release(self, feed: str, token: int) -> None:
        """End the lease now, so the next replica need not wait for it."""
        with _guard(self._engine), self._engine.begin() as conn:
            conn.execute(
                update(feed_claims).where(self._mine(feed, token)).values(lease_until=None)
            )

    def ensure_tokens(self, tokens: dict[str, str]) -> None:
        """Insert the tokens no replica made yet; concurrent starters agree on one each."""
        if not tokens:
            return
        rows = [{"name": k, "token": v} for k, v in tokens.items()]
        stmt = postgresql.insert(export_tokens).on_conflict_do_nothing(index_elements=["name"])
        with _guard(self._engine), self._engine.begin() as conn:
            conn.execute(stmt, rows)

    def close(self) -> None:
        """Release the connections."""
        self._engine.dispose()

    def _mine(self, feed: str, token: int) -> Any:
        return and_(
            feed_claims.c.feed == feed,
            feed_claims.c.owner == self.owner,
            feed_claims.c.token == token,
            feed_claims.c.lease_until.is_not(None),
        )


class _LocalWithVersions(LocalClaims):
    """Local claims whose first-seen times live in the state database (SQLite)."""

    def __init__(self, versions: SharedVersions, *, lease: timedelta) -> None:
        super().__init__(lease=lease)
        self._versions = versions

    def first_seen(self, export: str, digest: str, now: datetime) -> datetime:
        """The stored first-seen time (so a restart keeps the feed's ETag)."""
        return self._versions.first_seen(export, digest, now)

    def close(self) -> None:
        """Release the connections."""
        self._versions._engine.dispose()


def make_claims(url: str, *, lease: timedelta = DEFAULT_LEASE) -> Claims:
    """The claims for a state URL: leased rows on PostgreSQL, local ones on SQLite."""
    engine = make_engine(url)
    try:
        with _guard(engine), engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    # Replicas starting together must not race to create the tables.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CREATE_LOCK})
                # SQLite needs no claim rows: only the first-seen times are kept there.
                shared = engine.dialect.name == "postgresql"
                tables = None if shared else [export_versions]
                _md.create_all(conn, tables=tables, checkfirst=True)
    except BaseException:
        engine.dispose()
        raise
    if engine.dialect.name == "postgresql":
        return PostgresClaims(engine, lease=lease)
    return _LocalWithVersions(SharedVersions(engine), lease=lease)


class _guard:
    """Turn SQLAlchemy errors into ``StoreError`` (never with bound parameters)."""

    def __init__(self, engine: Engine) -> None:
        self._url = redact(engine.url)

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if isinstance(exc, SQLAlchemyError):
            # The type only: a driver's message may quote bound values (tokens).
            what = type(getattr(exc, "orig", None) or exc).__name__
            raise StoreError(f"state store {self._url}: {what}") from exc


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
