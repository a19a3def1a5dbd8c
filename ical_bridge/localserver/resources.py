"""The stored world of one tickward account: projects, spaces, timers, shares.

Every method runs in one transaction, raises ``ApiProblem`` for refusals and
returns response-ready JSON objects.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ical_bridge.localserver.config import PlanLimits
from ical_bridge.localserver.database import (
    Database,
    Row,
    fetch_all,
    fetch_one,
    insert,
    next_stamp,
    stamp,
    update,
)
from ical_bridge.localserver.previews import plan_hash, project_delete_preview, space_delete_preview
from ical_bridge.localserver.problems import ApiProblem
from ical_bridge.localserver.render import project_json, share_json, space_json, timer_json
from ical_bridge.localserver.shares import ensure_share, find_share, remove_share, share_timer
from ical_bridge.localserver.timers import add_timer, change_timer, find_timer, remove_timer

__all__ = ["Resources"]

_PROJECT_SQL = (
    "SELECT p.*, (SELECT COUNT(*) FROM timers t WHERE t.project_id = p.id) AS timer_count,"
    " (SELECT COUNT(*) FROM spaces s WHERE s.project_id = p.id) AS space_count"
    " FROM projects p"
)


_NEWEST_FIRST = " ORDER BY p.created_at DESC, p.rowid DESC"


def _project_obj(row: Row) -> dict[str, Any]:
    return project_json(row, int(row["timer_count"]), int(row["space_count"]))


class Resources:
    """Reads and writes of the account behind every API key of this server."""

    def __init__(
        self,
        db: Database,
        plan: PlanLimits,
        emit: Callable[[str, dict[str, Any], datetime], None] | None = None,
    ) -> None:
        self.db = db
        self.plan = plan
        self.emit = emit  # webhook events, queued after the write commits

    def _timer_event(self, kind: str, timer: dict[str, Any], now: datetime) -> None:
        if self.emit is not None:
            obj = {
                "id": timer["id"],
                "object": "timer",
                "project_id": timer["project_id"],
                "project_name": timer["project_name"],
                "timer_id": timer["id"],
                "timer_label": timer["label"],
                "updated_at": timer.get("updated_at"),  # lets a client tell its own writes
            }
            self.emit(kind, obj, now)

    # -- projects -------------------------------------------------------------
    def _project(self, conn: sqlite3.Connection, project_id: str) -> Row:
        row = fetch_one(conn, _PROJECT_SQL + " WHERE p.id = ?", project_id)
        if row is None:
            raise ApiProblem.not_found("Project")
        return row

    @staticmethod
    def _project_name(conn: sqlite3.Connection, project_id: str) -> str:
        """The project's name, or 404 (without counting its timers and spaces)."""
        row = conn.execute("SELECT name FROM projects WHERE id = ?", (project_id,)).fetchone()
        if row is None:
            raise ApiProblem.not_found("Project")
        return str(row[0])

    def list_projects(
        self, limit: int, after: str | None, before: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of projects, newest first, and whether more follow.

        tickward orders by position (nulls first; API-made projects have none),
        then created desc, then id desc (its ids grow with time: here, rowid).
        An unknown cursor gives an empty page, as measured.
        """
        with self.db.transaction() as conn:
            rows = fetch_all(conn, _PROJECT_SQL + _NEWEST_FIRST)
        cursor = after or before
        if cursor is None:
            page, more = rows[:limit], len(rows) > limit
        else:
            index = next((i for i, r in enumerate(rows) if r["id"] == cursor), None)
            if index is None:
                return [], False
            if before is not None:
                page, more = rows[max(0, index - limit) : index], index > limit
            else:
                rest = rows[index + 1 :]
                page, more = rest[:limit], len(rest) > limit
        return [_project_obj(r) for r in page], more

    def get_project(self, project_id: str) -> dict[str, Any]:
        """One project."""
        with self.db.transaction() as conn:
            return _project_obj(self._project(conn, project_id))

    def create_project(self, data: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Create a project with its nested spaces and timers, atomically."""
        expected = data.get("expected_plan_hash")
        if expected is not None and expected != plan_hash(data):
            raise ApiProblem(
                409, "plan_hash_mismatch", "expected_plan_hash does not match the request body."
            )
        self.check_create_caps(data)
        with self.db.transaction() as conn:
            if conn.execute("SELECT COUNT(*) FROM projects").fetchone()[0] >= self.plan.projects:
                raise ApiProblem(
                    409, "limit_exceeded", f"Maximum {self.plan.projects} projects allowed."
                )
            project_id = "proj_" + secrets.token_hex(10)
            created = stamp(now)
            insert(
                conn,
                "projects",
                {
                    "id": project_id,
                    "name": data["name"],
                    "color": data.get("color"),
                    "created_at": created,
                    "updated_at": created,
                    "claimed_at": None,  # API-made projects are unclaimed (measured)
                },
            )
            spaces: list[Row] = []
            timers: list[Row] = []
            for i, space in enumerate(data["spaces"]):
                row = self._add_space(conn, project_id, space, now, f"#/spaces/{i}")
                spaces.append(row)
                for j, timer in enumerate(space["timers"]):
                    body = {**timer, "space_id": row["id"]}
                    base = f"#/spaces/{i}/timers/{j}"
                    timers.append(add_timer(conn, project_id, body, now, self.plan, base))
            for k, timer in enumerate(data["timers"]):
                timers.append(add_timer(conn, project_id, timer, now, self.plan, f"#/timers/{k}"))
            result = _project_obj(self._project(conn, project_id))
        name = data["name"]
        result["spaces"] = [space_json(s, name) for s in spaces]
        result["timers"] = [timer_json(t, name, now) for t in timers]
        for timer in result["timers"]:
            self._timer_event("timer.created", timer, now)
        return result

    def check_create_caps(self, data: dict[str, Any]) -> None:
        """Refuse an inconsistent or too large nested create, in tickward's order (text only)."""
        spaces = [s.get("id") for s in data["spaces"] if s.get("id")]
        timers = [(t, s.get("id")) for s in data["spaces"] for t in s["timers"]]
        timers += [(t, t.get("space_id")) for t in data["timers"]]
        for kind, ids in (("space", spaces), ("timer", [t.get("id") for t, _ in timers])):
            seen: set[str] = set()
            for value in ids:
                if value in seen:
                    raise ApiProblem.plain(f"Duplicate {kind} id: {value}.")
                if value:
                    seen.add(value)
        if any(space and space not in spaces for t, space in timers if "space_id" in t):
            raise ApiProblem.plain("space_id does not exist in this project.")
        plan = self.plan
        for cap in (plan.project_create_max_timers, plan.timers_per_project):
            if len(timers) > cap:
                raise ApiProblem.plain(f"Maximum {cap} timers allowed.")
        per_space: dict[str | None, int] = {}
        for _, space in timers:
            per_space[space] = per_space.get(space, 0) + 1
        if per_space and max(per_space.values()) > plan.active_timers_per_space:
            raise ApiProblem.plain(
                f"Maximum {plan.active_timers_per_space} active timers allowed per space."
            )
        if len(data["spaces"]) > plan.project_create_max_spaces:
            raise ApiProblem.plain(f"Maximum {plan.project_create_max_spaces} spaces allowed.")

    def update_project(
        self, project_id: str, data: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        """Rename or recolour a project."""
        with self.db.transaction() as conn:
            row = self._project(conn, project_id)
            changes = {k: v for k, v in data.items() if row[k] != v}
            if changes:
                changes["updated_at"] = next_stamp(row["updated_at"], now)
                update(conn, "projects", changes, {"id": project_id})
            return _project_obj(self._project(conn, project_id))

    def delete_project(self, project_id: str, dry_run: bool) -> dict[str, Any]:
        """Delete a project and everything in it (or preview that)."""
        with self.db.transaction() as conn:
            row = self._project(conn, project_id)
            name = row["name"]
            if not dry_run:
                conn.execute("DELETE FROM projects WHERE id = ?", (project_id,))
                return {"object": "project", "id": project_id, "name": name, "deleted": True}
            spaces = fetch_all(conn, "SELECT * FROM spaces WHERE project_id=?", project_id)
            timers = fetch_all(conn, "SELECT * FROM timers WHERE project_id=?", project_id)
            shares = fetch_all(conn, "SELECT * FROM shares WHERE project_id=?", project_id)
        return project_delete_preview(row, spaces, timers, shares)

    # -- spaces ---------------------------------------------------------------
    def _add_space(
        self,
        conn: sqlite3.Connection,
        project_id: str,
        data: dict[str, Any],
        now: datetime,
        base: str,
    ) -> Row:
        space_id = data.get("id") or "spc_" + secrets.token_hex(8)
        if fetch_one(
            conn, "SELECT id FROM spaces WHERE project_id=? AND id=?", project_id, space_id
        ):
            raise ApiProblem.plain("Space id already exists.")
        count = conn.execute("SELECT COUNT(*) FROM spaces WHERE project_id=?", (project_id,))
        if count.fetchone()[0] >= self.plan.spaces_per_project:
            raise ApiProblem.plain(f"Maximum {self.plan.spaces_per_project} spaces allowed.")
        row: Row = {
            "project_id": project_id,
            "id": space_id,
            "name": data["name"],
            "color": data.get("color"),
            "created_at": stamp(now),
        }
        insert(conn, "spaces", row)
        return row

    def _space(self, conn: sqlite3.Connection, project_id: str, space_id: str) -> Row:
        row = fetch_one(
            conn, "SELECT * FROM spaces WHERE project_id=? AND id=?", project_id, space_id
        )
        if row is None:
            raise ApiProblem.not_found("Space")
        return row

    def list_spaces(self, project_id: str) -> list[dict[str, Any]]:
        """Every space of a project."""
        with self.db.transaction() as conn:
            name = self._project_name(conn, project_id)
            rows = fetch_all(
                conn, "SELECT * FROM spaces WHERE project_id=? ORDER BY rowid", project_id
            )
        return [space_json(r, name) for r in rows]

    def get_space(self, project_id: str, space_id: str) -> dict[str, Any]:
        """One space."""
        with self.db.transaction() as conn:
            name = self._project_name(conn, project_id)
            return space_json(self._space(conn, project_id, space_id), name)

    def create_space(self, project_id: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Create a space."""
        with self.db.transaction() as conn:
            name = self._project_name(conn, project_id)
            return space_json(self._add_space(conn, project_id, data, now, "#"), name)

    def update_space(self, project_id: str, space_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Rename or recolour a space."""
        with self.db.transaction() as conn:
            name = self._project_name(conn, project_id)
            self._space(conn, project_id, space_id)
            update(conn, "spaces", data, {"project_id": project_id, "id": space_id})
            return space_json(self._space(conn, project_id, space_id), name)

    def delete_space(self, project_id: str, space_id: str, dry_run: bool) -> dict[str, Any]:
        """Delete a space, unassigning its timers (or preview that)."""
        with self.db.transaction() as conn:
            project = self._project(conn, project_id)
            space = self._space(conn, project_id, space_id)
            sql = "SELECT * FROM timers WHERE project_id=? AND space_id=?"
            timers = fetch_all(conn, sql, project_id, space_id)
            if dry_run:
                return space_delete_preview(project, space, timers)
            where = {"project_id": project_id, "space_id": space_id}
            update(conn, "timers", {"space_id": None}, where)
            conn.execute("DELETE FROM spaces WHERE project_id=? AND id=?", (project_id, space_id))
        return {
            "object": "space",
            "id": space_id,
            "project_id": project_id,
            "project_name": project["name"],
            "name": space["name"],
            "deleted": True,
        }

    # -- timers ---------------------------------------------------------------
    def list_timers(self, project_id: str, now: datetime) -> list[dict[str, Any]]:
        """Every timer of a project, archived ones included."""
        with self.db.transaction() as conn:
            name = self._project_name(conn, project_id)
            rows = fetch_all(
                conn, "SELECT * FROM timers WHERE project_id=? ORDER BY rowid", project_id
            )
        return [timer_json(r, name, now) for r in rows]

    def get_timer(self, project_id: str, timer_id: str, now: datetime) -> dict[str, Any]:
        """One timer."""
        with self.db.transaction() as conn:
            name = self._project_name(conn, project_id)
            return timer_json(find_timer(conn, project_id, timer_id), name, now)

    def create_timer(self, project_id: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Create a timer."""
        with self.db.transaction() as conn:
            name = self._project_name(conn, project_id)
            out = timer_json(add_timer(conn, project_id, data, now, self.plan), name, now)
        self._timer_event("timer.created", out, now)
        return out

    def update_timer(
        self, project_id: str, timer_id: str, data: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        """Patch a timer; every PATCH emits an event, even one that changes nothing (measured)."""
        with self.db.transaction() as conn:
            name = self._project_name(conn, project_id)
            before = find_timer(conn, project_id, timer_id)["archived_at"]
            row = change_timer(conn, project_id, timer_id, data, now, self.plan)
            out = timer_json(row, name, now)
        kind = "timer.updated"
        if not before and out["archived_at"]:
            kind = "timer.archived"
        elif before and not out["archived_at"]:
            kind = "timer.restored"
        self._timer_event(kind, out, now)
        return out

    def delete_timer(self, project_id: str, timer_id: str, now: datetime) -> dict[str, Any]:
        """Delete a timer."""
        with self.db.transaction() as conn:
            name = self._project_name(conn, project_id)
            row = remove_timer(conn, project_id, timer_id)
        out = {
            "object": "timer",
            "id": timer_id,
            "project_id": project_id,
            "project_name": name,
            "label": row["label"],
            "deleted": True,
        }
        self._timer_event("timer.deleted", out, now)
        return out

    # -- shares ---------------------------------------------------------------
    def list_shares(self, project_id: str) -> list[dict[str, Any]]:
        """Every share link of a project."""
        with self.db.transaction() as conn:
            name = self._project_name(conn, project_id)
            sql = "SELECT * FROM shares WHERE project_id=? ORDER BY rowid"
            rows = fetch_all(conn, sql, project_id)
            return [share_json(r, name, share_timer(conn, r)) for r in rows]

    def get_share(self, project_id: str, share_id: str) -> dict[str, Any]:
        """One share link."""
        with self.db.transaction() as conn:
            name = self._project_name(conn, project_id)
            row = find_share(conn, project_id, share_id)
            return share_json(row, name, share_timer(conn, row))

    def create_share(self, project_id: str, timer_id: str, now: datetime) -> dict[str, Any]:
        """The timer's share link, created on first use (idempotent per timer)."""
        with self.db.transaction() as conn:
            name = self._project_name(conn, project_id)
            row, timer = ensure_share(conn, find_timer(conn, project_id, timer_id), now)
            return share_json(row, name, timer)

    def delete_share(self, project_id: str, share_id: str) -> dict[str, Any]:
        """Delete a share link and clear the timer's shared state: the full share + deleted."""
        with self.db.transaction() as conn:
            name = self._project_name(conn, project_id)
            share = find_share(conn, project_id, share_id)
            out = share_json(share, name, share_timer(conn, share))
            remove_share(conn, share)
        return {**out, "deleted": True}

    # -- sync -----------------------------------------------------------------
    def snapshot(self, now: datetime) -> dict[str, list[dict[str, Any]]]:
        """Every project, space and timer (the body of ``/sync`` without ``synced_at``)."""
        with self.db.transaction() as conn:
            projects = fetch_all(conn, _PROJECT_SQL + _NEWEST_FIRST)
            names = {p["id"]: p["name"] for p in projects}
            spaces = fetch_all(conn, "SELECT * FROM spaces ORDER BY rowid")
            timers = fetch_all(conn, "SELECT * FROM timers ORDER BY rowid")
        return {
            "projects": [_project_obj(p) for p in projects],
            "spaces": [space_json(s, names[s["project_id"]]) for s in spaces],
            "timers": [timer_json(t, names[t["project_id"]], now) for t in timers],
        }
