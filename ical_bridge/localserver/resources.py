"""The stored world of one tickward account: projects, spaces, timers, shares.

Every method runs in one transaction, raises ``ApiProblem`` for refusals and
returns response-ready JSON objects.
"""

from __future__ import annotations

import secrets
import sqlite3
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


def _project_obj(row: Row) -> dict[str, Any]:
    return project_json(row, int(row["timer_count"]), int(row["space_count"]))


class Resources:
    """Reads and writes of the account behind every API key of this server."""

    def __init__(self, db: Database, plan: PlanLimits) -> None:
        self.db = db
        self.plan = plan

    # -- projects -------------------------------------------------------------
    def _project(self, conn: sqlite3.Connection, project_id: str) -> Row:
        row = fetch_one(conn, _PROJECT_SQL + " WHERE p.id = ?", project_id)
        if row is None:
            raise ApiProblem.not_found("Project")
        return row

    def list_projects(
        self, limit: int, after: str | None, before: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of projects in creation order, and whether more follow."""
        with self.db.transaction() as conn:
            cursor = after or before
            pivot = 0
            if cursor is not None:
                found = conn.execute(
                    "SELECT rowid FROM projects WHERE id = ?", (cursor,)
                ).fetchone()
                if found is None:
                    raise ApiProblem.at("#/after" if after else "#/before", "Unknown cursor.")
                pivot = int(found[0])
            if before is not None:
                sql = _PROJECT_SQL + " WHERE p.rowid < ? ORDER BY p.rowid DESC LIMIT ?"
                rows = fetch_all(conn, sql, pivot, limit + 1)
                more = len(rows) > limit
                rows = list(reversed(rows[:limit]))
            else:
                sql = _PROJECT_SQL + " WHERE p.rowid > ? ORDER BY p.rowid LIMIT ?"
                rows = fetch_all(conn, sql, pivot, limit + 1)
                more = len(rows) > limit
                rows = rows[:limit]
        return [_project_obj(r) for r in rows], more

    def get_project(self, project_id: str) -> dict[str, Any]:
        """One project."""
        with self.db.transaction() as conn:
            return _project_obj(self._project(conn, project_id))

    def create_project(
        self, raw: dict[str, Any], data: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        """Create a project with its nested spaces and timers, atomically."""
        expected = data.get("expected_plan_hash")
        if expected is not None and expected != plan_hash(raw):
            raise ApiProblem(
                409, "plan_hash_mismatch", "The request body no longer matches the preview."
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
                    "claimed_at": created,
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
        return result

    def check_create_caps(self, data: dict[str, Any]) -> None:
        """Refuse a nested create larger than ``project_create_max_*``."""
        count = len(data["timers"]) + sum(len(s["timers"]) for s in data["spaces"])
        if count > self.plan.project_create_max_timers:
            raise ApiProblem.at(
                "#/timers", f"Maximum {self.plan.project_create_max_timers} timers allowed."
            )
        if len(data["spaces"]) > self.plan.project_create_max_spaces:
            raise ApiProblem.at(
                "#/spaces", f"Maximum {self.plan.project_create_max_spaces} spaces allowed."
            )

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
                return {
                    "object": "project",
                    "id": project_id,
                    "name": name,
                    "project_name": name,
                    "deleted": True,
                }
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
            raise ApiProblem.at(f"{base}/id", "Space id already exists.")
        count = conn.execute("SELECT COUNT(*) FROM spaces WHERE project_id=?", (project_id,))
        if count.fetchone()[0] >= self.plan.spaces_per_project:
            raise ApiProblem.at(base, f"Maximum {self.plan.spaces_per_project} spaces allowed.")
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
            name = self._project(conn, project_id)["name"]
            rows = fetch_all(
                conn, "SELECT * FROM spaces WHERE project_id=? ORDER BY rowid", project_id
            )
        return [space_json(r, name) for r in rows]

    def get_space(self, project_id: str, space_id: str) -> dict[str, Any]:
        """One space."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
            return space_json(self._space(conn, project_id, space_id), name)

    def create_space(self, project_id: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Create a space."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
            return space_json(self._add_space(conn, project_id, data, now, "#"), name)

    def update_space(self, project_id: str, space_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Rename or recolour a space."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
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
            name = self._project(conn, project_id)["name"]
            rows = fetch_all(
                conn, "SELECT * FROM timers WHERE project_id=? ORDER BY rowid", project_id
            )
        return [timer_json(r, name, now) for r in rows]

    def get_timer(self, project_id: str, timer_id: str, now: datetime) -> dict[str, Any]:
        """One timer."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
            return timer_json(find_timer(conn, project_id, timer_id), name, now)

    def create_timer(self, project_id: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Create a timer."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
            return timer_json(add_timer(conn, project_id, data, now, self.plan), name, now)

    def update_timer(
        self, project_id: str, timer_id: str, data: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        """Patch a timer."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
            row = change_timer(conn, project_id, timer_id, data, now, self.plan)
            return timer_json(row, name, now)

    def delete_timer(self, project_id: str, timer_id: str) -> dict[str, Any]:
        """Delete a timer."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
            row = remove_timer(conn, project_id, timer_id)
        return {
            "object": "timer",
            "id": timer_id,
            "project_id": project_id,
            "project_name": name,
            "label": row["label"],
            "deleted": True,
        }

    # -- shares ---------------------------------------------------------------
    def list_shares(self, project_id: str) -> list[dict[str, Any]]:
        """Every share link of a project."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
            sql = "SELECT * FROM shares WHERE project_id=? ORDER BY rowid"
            rows = fetch_all(conn, sql, project_id)
            return [share_json(r, name, share_timer(conn, r)) for r in rows]

    def get_share(self, project_id: str, share_id: str) -> dict[str, Any]:
        """One share link."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
            row = find_share(conn, project_id, share_id)
            return share_json(row, name, share_timer(conn, row))

    def create_share(self, project_id: str, timer_id: str, now: datetime) -> dict[str, Any]:
        """The timer's share link, created on first use (idempotent per timer)."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
            row, timer = ensure_share(conn, find_timer(conn, project_id, timer_id), now)
            return share_json(row, name, timer)

    def delete_share(self, project_id: str, share_id: str) -> dict[str, Any]:
        """Delete a share link and clear the timer's shared state."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
            row, timer = remove_share(conn, find_share(conn, project_id, share_id))
        out = {
            "object": "share",
            "id": share_id,
            "project_id": project_id,
            "project_name": name,
            "timer_id": row["timer_id"],
            "deleted": True,
        }
        if timer is not None:
            out["timer_label"] = timer["label"]
        return out

    # -- sync -----------------------------------------------------------------
    def snapshot(self, now: datetime) -> dict[str, list[dict[str, Any]]]:
        """Every project, space and timer (the body of ``/sync`` without ``synced_at``)."""
        with self.db.transaction() as conn:
            projects = fetch_all(conn, _PROJECT_SQL + " ORDER BY p.rowid")
            names = {p["id"]: p["name"] for p in projects}
            spaces = fetch_all(conn, "SELECT * FROM spaces ORDER BY rowid")
            timers = fetch_all(conn, "SELECT * FROM timers ORDER BY rowid")
        return {
            "projects": [_project_obj(p) for p in projects],
            "spaces": [space_json(s, names[s["project_id"]]) for s in spaces],
            "timers": [timer_json(t, names[t["project_id"]], now) for t in timers],
        }
