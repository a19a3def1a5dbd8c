"""Webhook endpoints of the account: management, test events and their delivery records.

As on the real server: at most three active endpoints, ``https://`` only and
never a private or loopback target (both ``400 validation_error`` with the
measured messages) unless the server was started with
``allow_private_webhooks`` (off by default; for tests and the emulator, which
deliver to a loopback receiver). Host names are not resolved here: only
literal addresses and ``localhost`` names are recognised as private.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import sqlite3
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ical_bridge.localserver.checker import Checker
from ical_bridge.localserver.database import Database, Row, fetch_all, fetch_one, insert, stamp
from ical_bridge.localserver.database import update as update_rows
from ical_bridge.localserver.problems import ApiProblem

__all__ = [
    "EVENT_TYPES",
    "MAX_ENDPOINTS",
    "Webhooks",
    "check_url",
    "endpoint_json",
    "envelope",
    "webhook_create_body",
    "webhook_update_body",
]

EVENT_TYPES = (
    "project.created",
    "project.updated",
    "project.deleted",
    "timer.created",
    "timer.updated",
    "timer.archived",
    "timer.restored",
    "timer.deleted",
    "timer.ended",
    "timer.milestone",
    "share.created",
    "share.deleted",
)
MAX_ENDPOINTS = 3
EVENT_VERSION = "2026-06-10"
_SECRET_PREFIX = "whsec_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, url TEXT NOT NULL, secret TEXT NOT NULL,
    event_types TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'active',
    failure_count INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    disabled_at TEXT, last_delivered_at TEXT, last_failed_at TEXT
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL, event_type TEXT NOT NULL, payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', attempt_count INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT, last_attempt_at TEXT, delivered_at TEXT, failed_at TEXT,
    response_status INTEGER, error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
"""


def _private(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or address in ipaddress.ip_network("100.64.0.0/10")
    )


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse a URL tickward would not deliver to (400 validation_error, text only)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise ApiProblem.plain("Webhook URL is invalid.") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ApiProblem.plain("Webhook URL is invalid.")
    if parts.username or parts.password:
        raise ApiProblem.plain("Webhook URL cannot include credentials.")
    if allow_private:
        return
    if parts.scheme != "https":
        raise ApiProblem.plain("Webhook URL must use HTTPS.")
    if _private(host):
        raise ApiProblem.plain("Webhook URL cannot target a private network.")


def _event_types(c: Checker, body: dict[str, Any], required: bool = False) -> Any:
    if "event_types" not in body:
        if required:
            c.fail("#/event_types", "Required")
        return None
    value = body["event_types"]
    if not isinstance(value, list) or not 1 <= len(value) <= len(EVENT_TYPES) - 1:
        c.fail("#/event_types", "Expected one to eleven event types.")
        return None
    for index, item in enumerate(value):
        if item not in EVENT_TYPES:
            c.fail(f"#/event_types/{index}", "Invalid enum value.")
    return list(dict.fromkeys(value))


def webhook_create_body(c: Checker, body: object) -> dict[str, Any]:
    """A WebhookEndpointCreateRequest (not strict)."""
    obj = c.obj(body, "#")
    if obj is None:
        return {}
    name = c.string(obj, "name", "#", required=True, min_len=1, max_len=80, trim=True)
    url = c.string(obj, "url", "#", required=True, min_len=1, max_len=2048)
    return {"name": name, "url": url, "event_types": _event_types(c, obj)}


def webhook_update_body(c: Checker, body: object) -> dict[str, Any]:
    """A WebhookEndpointUpdateRequest (strict; at least one field)."""
    obj = c.obj(body, "#")
    if obj is None:
        return {}
    c.strict(obj, frozenset({"name", "event_types", "status"}), "#")
    out: dict[str, Any] = {}
    name = c.string(obj, "name", "#", min_len=1, max_len=80, trim=True)
    if isinstance(name, str):
        out["name"] = name
    types = _event_types(c, obj)
    if types is not None:
        out["event_types"] = types
    if "status" in obj:
        if obj["status"] not in ("active", "disabled"):
            c.fail("#/status", "Invalid enum value. Expected 'active' | 'disabled'.")
        else:
            out["status"] = obj["status"]
    if not c.issues and not out:
        c.fail("#", "Provide at least one webhook field to update.")
    return out


_TEST_MESSAGE = "Test webhook delivery."


def envelope(kind: str, obj: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The event body tickward POSTs (``data.object`` names what changed; no actor)."""
    return {
        "object": "event",
        "id": "evt_" + secrets.token_hex(12),
        "type": kind,
        "created": stamp(now),
        "environment": "development",
        "event_version": EVENT_VERSION,
        "data": {"object": obj},
    }


def endpoint_json(row: Row) -> dict[str, Any]:
    """A WebhookEndpoint object (never the secret)."""
    return {
        "id": row["id"],
        "object": "webhook_endpoint",
        "name": row["name"],
        "url": row["url"],
        "event_types": row["event_types"],
        "status": row["status"],
        "failure_count": row["failure_count"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "disabled_at": row["disabled_at"],
        "last_delivered_at": row["last_delivered_at"],
        "last_failed_at": row["last_failed_at"],
    }


def delivery_json(row: Row) -> dict[str, Any]:
    """A WebhookDelivery object."""
    return {
        "id": row["id"],
        "object": "webhook_delivery",
        "endpoint_id": row["endpoint_id"],
        "event_id": row["event_id"],
        "status": row["status"],
        "attempt_count": row["attempt_count"],
        "next_attempt_at": None if row["status"] == "delivered" else row["next_attempt_at"],
        "last_attempt_at": row["last_attempt_at"],
        "delivered_at": row["delivered_at"],
        "failed_at": row["failed_at"],
        "response_status": row["response_status"],
        "error": row["error"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _decode(row: Row | None) -> Row | None:
    if row is not None and isinstance(row.get("event_types"), str):
        row["event_types"] = json.loads(row["event_types"])
    return row


class Webhooks:
    """The account's webhook endpoints and the deliveries queued for them."""

    def __init__(self, db: Database, *, allow_private: bool = False) -> None:
        self.db = db
        self.allow_private = allow_private
        with db.transaction() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def _endpoint(self, conn: sqlite3.Connection, endpoint_id: str) -> Row:
        row = _decode(fetch_one(conn, "SELECT * FROM webhook_endpoints WHERE id=?", endpoint_id))
        if row is None:
            raise ApiProblem(404, "not_found", "Webhook endpoint not found.")
        return row

    def endpoints(self) -> list[dict[str, Any]]:
        """Every endpoint, newest first."""
        with self.db.transaction() as conn:
            sql = "SELECT * FROM webhook_endpoints ORDER BY created_at DESC, rowid DESC"
            rows = [_decode(r) for r in fetch_all(conn, sql)]
        return [endpoint_json(r) for r in rows if r is not None]

    def get(self, endpoint_id: str) -> dict[str, Any]:
        """One endpoint."""
        with self.db.transaction() as conn:
            return endpoint_json(self._endpoint(conn, endpoint_id))

    def create(self, data: dict[str, Any], now: datetime) -> dict[str, Any]:
        """A new endpoint, with its signing secret (shown only here)."""
        check_url(data["url"], allow_private=self.allow_private)
        with self.db.transaction() as conn:
            active = conn.execute(
                "SELECT COUNT(*) FROM webhook_endpoints WHERE status='active'"
            ).fetchone()[0]
            if active >= MAX_ENDPOINTS:
                raise ApiProblem(
                    409,
                    "limit_exceeded",
                    "Webhook endpoint limit reached. Keep at most"
                    f" {MAX_ENDPOINTS} active endpoints.",
                )
            secret = _SECRET_PREFIX + secrets.token_urlsafe(32)
            row: Row = {
                "id": "wh_" + secrets.token_hex(12),
                "name": data["name"],
                "url": data["url"],
                "secret": secret,
                "event_types": data["event_types"] or list(EVENT_TYPES),
                "status": "active",
                "failure_count": 0,
                "created_at": stamp(now),
                "updated_at": stamp(now),
                "disabled_at": None,
                "last_delivered_at": None,
                "last_failed_at": None,
            }
            insert(conn, "webhook_endpoints", row)
        return {**endpoint_json(row), "signing_secret": secret}

    def update(self, endpoint_id: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Rename, resubscribe, disable or re-activate an endpoint."""
        with self.db.transaction() as conn:
            self._endpoint(conn, endpoint_id)
            changes = dict(data)
            if "status" in data:
                changes["disabled_at"] = stamp(now) if data["status"] == "disabled" else None
                if data["status"] == "active":
                    changes["failure_count"] = 0
            changes["updated_at"] = stamp(now)
            update_rows(conn, "webhook_endpoints", changes, {"id": endpoint_id})
            return endpoint_json(self._endpoint(conn, endpoint_id))

    def delete(self, endpoint_id: str) -> dict[str, Any]:
        """Remove an endpoint and its delivery records."""
        with self.db.transaction() as conn:
            self._endpoint(conn, endpoint_id)
            conn.execute("DELETE FROM webhook_deliveries WHERE endpoint_id=?", (endpoint_id,))
            conn.execute("DELETE FROM webhook_endpoints WHERE id=?", (endpoint_id,))
        return {"object": "webhook_endpoint", "id": endpoint_id, "deleted": True}

    def emit(self, kind: str, obj: dict[str, Any], now: datetime) -> None:
        """Queue one event for every active endpoint subscribed to ``kind``."""
        with self.db.read() as conn:  # most writes happen with no endpoint subscribed
            if not fetch_all(conn, "SELECT 1 FROM webhook_endpoints WHERE status='active'"):
                return
        event = envelope(kind, obj, now)
        with self.db.transaction() as conn:
            rows = fetch_all(conn, "SELECT * FROM webhook_endpoints WHERE status='active'")
            for row in (_decode(r) for r in rows):
                if row is not None and kind in row["event_types"]:
                    self._queue(conn, row, event, now)

    def test(self, endpoint_id: str, event_type: str | None, now: datetime) -> dict[str, Any]:
        """Queue a test event for one endpoint; returns the endpoint and the delivery."""
        with self.db.transaction() as conn:
            endpoint = self._endpoint(conn, endpoint_id)
            kind = event_type or "timer.updated"
            obj = {"id": endpoint_id, "object": "webhook_endpoint", "message": _TEST_MESSAGE}
            delivery = self._queue(conn, endpoint, envelope(kind, obj, now), now)
            return {
                "object": "webhook_test",
                "endpoint": endpoint_json(endpoint),
                "delivery": delivery_json(delivery),
            }

    def deliveries(self, endpoint_id: str, limit: int) -> list[dict[str, Any]]:
        """The endpoint's most recent deliveries, newest first."""
        with self.db.transaction() as conn:
            self._endpoint(conn, endpoint_id)
            sql = (
                "SELECT * FROM webhook_deliveries WHERE endpoint_id=?"
                " ORDER BY created_at DESC, rowid DESC LIMIT ?"
            )
            rows = fetch_all(conn, sql, endpoint_id, limit)
        return [delivery_json(r) for r in rows]

    def _queue(
        self,
        conn: sqlite3.Connection,
        endpoint: Row,
        event: dict[str, Any],
        now: datetime,
    ) -> Row:
        row: Row = {
            "id": "whd_" + secrets.token_hex(12),
            "endpoint_id": endpoint["id"],
            "event_id": event["id"],
            "event_type": event["type"],
            "payload": json.dumps(event, separators=(",", ":"), ensure_ascii=False),
            "status": "pending",
            "attempt_count": 0,
            "next_attempt_at": stamp(now),
            "last_attempt_at": None,
            "delivered_at": None,
            "failed_at": None,
            "response_status": None,
            "error": None,
            "created_at": stamp(now),
            "updated_at": stamp(now),
        }
        insert(conn, "webhook_deliveries", row)
        return row
