"""Share links: one stable public link per timer."""

from __future__ import annotations

import secrets
import sqlite3
from datetime import datetime

from ical_bridge.localserver.database import Row, fetch_one, insert, stamp, update
from ical_bridge.localserver.problems import ApiProblem

__all__ = ["ensure_share", "find_share", "remove_share", "share_timer"]


def find_share(conn: sqlite3.Connection, project_id: str, share_id: str) -> Row:
    """The stored share link, or 404."""
    sql = "SELECT * FROM shares WHERE project_id=? AND id=?"
    row = fetch_one(conn, sql, project_id, share_id)
    if row is None:
        raise ApiProblem.not_found("Share")
    return row


def share_timer(conn: sqlite3.Connection, share: Row) -> Row | None:
    """The timer a share link points at (None if it is gone)."""
    sql = "SELECT * FROM timers WHERE project_id=? AND id=?"
    return fetch_one(conn, sql, share["project_id"], share["timer_id"])


def ensure_share(conn: sqlite3.Connection, timer: Row, now: datetime) -> tuple[Row, Row]:
    """The timer's link, created on first use; marks the timer shared. Returns (link, timer)."""
    project_id, timer_id = timer["project_id"], timer["id"]
    sql = "SELECT * FROM shares WHERE project_id=? AND timer_id=?"
    row = fetch_one(conn, sql, project_id, timer_id)
    if row is None:
        row = {
            "id": "shr_" + secrets.token_hex(10),
            "project_id": project_id,
            "timer_id": timer_id,
            "created_at": stamp(now),
            "updated_at": stamp(now),
        }
        insert(conn, "shares", row)
    if timer["shared_at"] is None:
        timer = {**timer, "shared_at": stamp(now)}
        where = {"project_id": project_id, "id": timer_id}
        update(conn, "timers", {"shared_at": timer["shared_at"]}, where)
    return row, timer


def remove_share(conn: sqlite3.Connection, share: Row) -> tuple[Row, Row | None]:
    """Delete a link and clear its timer's ``shared_at``. Returns (link, timer)."""
    timer = share_timer(conn, share)
    conn.execute("DELETE FROM shares WHERE id=?", (share["id"],))
    where = {"project_id": share["project_id"], "id": share["timer_id"]}
    update(conn, "timers", {"shared_at": None}, where)
    return share, timer
