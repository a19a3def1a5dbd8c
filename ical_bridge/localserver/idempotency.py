"""Idempotency-Key records: replay, conflict and in-flight detection."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from ical_bridge.localserver.database import Database, fetch_one, stamp
from ical_bridge.recurrence import parse_iso

__all__ = ["KEY_PATTERN", "TTL", "IdempotencyStore", "StoredResponse", "fingerprint"]

KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{8,128}")
TTL = timedelta(hours=24)


@dataclass(frozen=True)
class StoredResponse:
    """A response kept for replay."""

    fingerprint: str
    status: int
    body: str
    expires_at: str


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests identical: method, path, sorted query, key-sorted JSON body."""
    sorted_query = urlencode(sorted(parse_qsl(query, keep_blank_values=True)))
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    text = "\n".join((method, path, sorted_query, canonical))
    return hashlib.sha256(text.encode()).hexdigest()


class IdempotencyStore:
    """Completed responses in SQLite (24 h), in-flight keys in memory."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()

    @staticmethod
    def scope(api_key: str, key: str) -> str:
        """The stored handle of a key: a hash, scoped to the API key."""
        return hashlib.sha256(f"{api_key}\0{key}".encode()).hexdigest()

    def begin(self, scope: str) -> bool:
        """Mark ``scope`` in flight; False if it already is."""
        with self._lock:
            if scope in self._in_flight:
                return False
            self._in_flight.add(scope)
            return True

    def end(self, scope: str) -> None:
        """The request holding ``scope`` is over."""
        with self._lock:
            self._in_flight.discard(scope)

    def lookup(self, scope: str, now: datetime) -> StoredResponse | None:
        """The live stored response for ``scope`` (expired records are dropped)."""
        with self._db.read() as conn:  # the common case, an unused key, takes no write lock
            if fetch_one(conn, "SELECT 1 FROM idempotency WHERE scope = ?", scope) is None:
                return None
        with self._db.transaction() as conn:
            row = fetch_one(conn, "SELECT * FROM idempotency WHERE scope = ?", scope)
            if row is None:
                return None
            if parse_iso(row["expires_at"]) <= now:
                conn.execute("DELETE FROM idempotency WHERE scope = ?", (scope,))
                return None
            return StoredResponse(row["fingerprint"], row["status"], row["body"], row["expires_at"])

    def atomic(self) -> AbstractContextManager[object]:
        """A block whose writes, and the record ``save`` keeps of their answer, commit
        together (the handler's own transaction becomes a savepoint of it)."""
        return self._db.transaction()

    def save(self, scope: str, record: StoredResponse, now: datetime) -> None:
        """Keep a response for replay (and forget the records that have expired)."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM idempotency WHERE expires_at <= ?", (stamp(now),))
            conn.execute(
                "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?)",
                (scope, record.fingerprint, record.status, record.body, record.expires_at),
            )

    @staticmethod
    def expiry(now: datetime) -> str:
        """When a record made ``now`` expires."""
        return stamp(now + TTL)
