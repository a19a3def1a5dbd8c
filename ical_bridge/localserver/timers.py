"""Timer writes with tickward's rules: per-project ids, spaces, plan caps, PATCH semantics."""

from __future__ import annotations

import secrets
import sqlite3
from datetime import datetime
from typing import Any

from ical_bridge.localserver.checker import parse_instant
from ical_bridge.localserver.config import PlanLimits
from ical_bridge.localserver.database import (
    Row,
    fetch_one,
    insert,
    next_stamp,
    stamp,
    update,
)
from ical_bridge.localserver.problems import ApiProblem, FieldIssue
from ical_bridge.localserver.validation import since_anchor

__all__ = ["add_timer", "change_timer", "find_timer", "remove_timer"]


def find_timer(conn: sqlite3.Connection, project_id: str, timer_id: str) -> Row:
    """The stored timer, or 404."""
    row = fetch_one(
        conn, "SELECT * FROM timers WHERE project_id = ? AND id = ?", project_id, timer_id
    )
    if row is None:
        raise ApiProblem.not_found("Timer")
    return row


def _count(conn: sqlite3.Connection, sql: str, *args: Any) -> int:
    return int(conn.execute(sql, args).fetchone()[0])


def _check_space(
    conn: sqlite3.Connection,
    project_id: str,
    space_id: str,
    plan: PlanLimits,
    path: str,
    *,
    cap: bool = True,
) -> None:
    if _count(
        conn, "SELECT COUNT(*) FROM spaces WHERE project_id=? AND id=?", project_id, space_id
    ):
        if not cap:
            return
        active = _count(
            conn,
            "SELECT COUNT(*) FROM timers WHERE project_id=? AND space_id=? AND archived_at IS NULL",
            project_id,
            space_id,
        )
        if active >= plan.active_timers_per_space:
            raise ApiProblem.plain(
                f"Maximum {plan.active_timers_per_space} active timers allowed per space."
            )
        return
    raise ApiProblem.plain("space_id does not exist in this project.")


def add_timer(
    conn: sqlite3.Connection,
    project_id: str,
    data: dict[str, Any],
    now: datetime,
    plan: PlanLimits,
    base: str = "#",
) -> Row:
    """Create a timer from a checked create body; returns the stored row."""
    timer_id = data.get("id") or "tmr_" + secrets.token_hex(12)
    if _count(
        conn, "SELECT COUNT(*) FROM timers WHERE project_id=? AND id=?", project_id, timer_id
    ):
        raise ApiProblem.plain("Timer id already exists.")
    total = _count(conn, "SELECT COUNT(*) FROM timers WHERE project_id=?", project_id)
    if total >= plan.timers_per_project:
        raise ApiProblem.plain(f"Maximum {plan.timers_per_project} timers allowed.")
    space_id = data.get("space_id")
    if space_id is not None:
        _check_space(conn, project_id, space_id, plan, f"{base}/space_id")
    created = stamp(now)
    row: Row = {
        "project_id": project_id,
        "id": timer_id,
        "label": data["label"],
        "target_date": data["target_date"],
        "timezone": data["timezone"],
        "color": data.get("color"),
        "description": data.get("description"),
        "space_id": space_id,
        "notify": data.get("notify", True),  # the real server's default (measured)
        "mode": data.get("mode", "until"),
        "milestones": data.get("milestones"),
        "recurrence": data.get("recurrence"),
        "pinned": data.get("pinned", False),
        "image": data.get("image"),
        "reminders": data.get("reminders", []),
        "archived_at": None,
        "shared_at": None,
        "created_at": created,
        "updated_at": created,
    }
    insert(conn, "timers", row)
    return row


def change_timer(
    conn: sqlite3.Connection,
    project_id: str,
    timer_id: str,
    data: dict[str, Any],
    now: datetime,
    plan: PlanLimits,
) -> Row:
    """Apply a checked PATCH body; ``updated_at`` moves only when something changed."""
    row = find_timer(conn, project_id, timer_id)
    mode = row["mode"]
    # checked after the body and the lookup, answered 422 with the text only (measured)
    if "mode" in data and data["mode"] != mode:
        raise ApiProblem.plain("Timer mode cannot be changed.", 422)
    if mode != "since" and "milestones" in data:
        raise ApiProblem.plain("Only since timers can define milestones.", 422)
    if mode == "since":
        since_anchor({"mode": mode, **data}, now)
        if data.get("recurrence") is not None:
            issue = FieldIssue("#/recurrence", "Since timers cannot recur.")
            raise ApiProblem.invalid([issue], 422)
    changes = {k: v for k, v in data.items() if k != "mode" and row.get(k) != v}
    if changes.get("archived_at") is not None and parse_instant(changes["archived_at"]) is None:
        # the real server stores archived_at as sent and fails on a non-date with a bare 500
        raise ApiProblem(500, "", "")
    space_id = changes.get("space_id", row["space_id"])
    archived = changes.get("archived_at", row["archived_at"])
    entering = "space_id" in changes or ("archived_at" in changes and archived is None)
    if space_id is not None and archived is None and entering:
        _check_space(conn, project_id, space_id, plan, "#/space_id")
    elif space_id is not None and "space_id" in changes:
        _check_space(conn, project_id, space_id, plan, "#/space_id", cap=False)
    if changes:
        changes["updated_at"] = next_stamp(row["updated_at"], now)
        update(conn, "timers", changes, {"project_id": project_id, "id": timer_id})
        row.update(changes)
    return row


def remove_timer(conn: sqlite3.Connection, project_id: str, timer_id: str) -> Row:
    """Delete a timer and its share link; returns the deleted row."""
    row = find_timer(conn, project_id, timer_id)
    conn.execute("DELETE FROM shares WHERE project_id=? AND timer_id=?", (project_id, timer_id))
    conn.execute("DELETE FROM timers WHERE project_id=? AND id=?", (project_id, timer_id))
    return row
