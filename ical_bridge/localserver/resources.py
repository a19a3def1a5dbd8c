"""The stored world of one tickward account: projects, spaces, timers, shares.

Every method runs in one transaction, raises ``ApiProblem`` for refusals and
returns response-ready JSON objects.
"""

from __future__ import annotations

import hashlib
import json
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
from ical_bridge.localserver.problems import ApiProblem
from ical_bridge.localserver.render import project_json, share_json, space_json, timer_json
from ical_bridge.localserver.timers import add_timer, change_timer, find_timer, remove_timer

__all__ = ["Resources", "plan_hash"]

_PROJECT_SQL = (
    "SELECT p.*, (SELECT COUNT(*) FROM timers t WHERE t.project_id = p.id) AS timer_count,"
    " (SELECT COUNT(*) FROM spaces s WHERE s.project_id = p.id) AS space_count"
    " FROM projects p"
)


def plan_hash(body: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical create body (``expected_plan_hash`` left out)."""
    payload = {k: v for k, v in body.items() if k != "expected_plan_hash"}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


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
        changes = [{"action": "delete", "type": "project", "id": project_id, "name": name}]
        changes += [
            {
                "action": "delete",
                "type": "space",
                "id": s["id"],
                "name": s["name"],
                "project_id": project_id,
                "reason": "cascade",
            }
            for s in spaces
        ]
        changes += [
            {
                "action": "delete",
                "type": "timer",
                "id": t["id"],
                "label": t["label"],
                "project_id": project_id,
                "reason": "cascade",
            }
            for t in timers
        ]
        changes += [
            {
                "action": "delete",
                "type": "share_link",
                "id": s["id"],
                "project_id": project_id,
                "reason": "cascade",
            }
            for s in shares
        ]
        return {
            "object": "delete_preview",
            "dry_run": True,
            "operation": "delete_project",
            "target": {"type": "project", "id": project_id, "name": name},
            "would_change": True,
            "summary": {
                "projects": {"delete": 1},
                "spaces": {"delete": len(spaces)},
                "timers": {"delete": len(timers)},
                "share_links": {"delete": len(shares)},
            },
            "changes": changes,
            "warnings": [],
            "apply": {
                "method": "DELETE",
                "path": f"/api/v1/projects/{project_id}",
                "requires_idempotency_key": True,
            },
        }

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
            name = self._project(conn, project_id)["name"]
            space = self._space(conn, project_id, space_id)
            timers = fetch_all(
                conn, "SELECT * FROM timers WHERE project_id=? AND space_id=?", project_id, space_id
            )
            if not dry_run:
                update(
                    conn,
                    "timers",
                    {"space_id": None},
                    {"project_id": project_id, "space_id": space_id},
                )
                conn.execute(
                    "DELETE FROM spaces WHERE project_id=? AND id=?", (project_id, space_id)
                )
                return {
                    "object": "space",
                    "id": space_id,
                    "project_id": project_id,
                    "project_name": name,
                    "name": space["name"],
                    "deleted": True,
                }
        changes = [
            {
                "action": "delete",
                "type": "space",
                "id": space_id,
                "name": space["name"],
                "project_id": project_id,
                "project_name": name,
            }
        ]
        changes += [
            {
                "action": "update",
                "type": "timer",
                "id": t["id"],
                "label": t["label"],
                "project_id": project_id,
                "reason": "unassign_space",
            }
            for t in timers
        ]
        return {
            "object": "delete_preview",
            "dry_run": True,
            "operation": "delete_space",
            "target": {
                "type": "space",
                "id": space_id,
                "name": space["name"],
                "project_id": project_id,
                "project_name": name,
            },
            "would_change": True,
            "summary": {"spaces": {"delete": 1}, "timers": {"update": len(timers)}},
            "changes": changes,
            "warnings": [],
            "apply": {
                "method": "DELETE",
                "path": f"/api/v1/projects/{project_id}/spaces/{space_id}",
                "requires_idempotency_key": True,
            },
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
            rows = fetch_all(
                conn, "SELECT * FROM shares WHERE project_id=? ORDER BY rowid", project_id
            )
            return [share_json(r, name, self._share_timer(conn, r)) for r in rows]

    def _share_timer(self, conn: sqlite3.Connection, share: Row) -> Row | None:
        return fetch_one(
            conn,
            "SELECT * FROM timers WHERE project_id=? AND id=?",
            share["project_id"],
            share["timer_id"],
        )

    def _share(self, conn: sqlite3.Connection, project_id: str, share_id: str) -> Row:
        row = fetch_one(
            conn, "SELECT * FROM shares WHERE project_id=? AND id=?", project_id, share_id
        )
        if row is None:
            raise ApiProblem.not_found("Share")
        return row

    def get_share(self, project_id: str, share_id: str) -> dict[str, Any]:
        """One share link."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
            row = self._share(conn, project_id, share_id)
            return share_json(row, name, self._share_timer(conn, row))

    def create_share(self, project_id: str, timer_id: str, now: datetime) -> dict[str, Any]:
        """The timer's share link, created on first use (idempotent per timer)."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
            timer = find_timer(conn, project_id, timer_id)
            row = fetch_one(
                conn, "SELECT * FROM shares WHERE project_id=? AND timer_id=?", project_id, timer_id
            )
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
                timer["shared_at"] = stamp(now)
                update(
                    conn,
                    "timers",
                    {"shared_at": timer["shared_at"]},
                    {"project_id": project_id, "id": timer_id},
                )
            return share_json(row, name, timer)

    def delete_share(self, project_id: str, share_id: str) -> dict[str, Any]:
        """Delete a share link and clear the timer's shared state."""
        with self.db.transaction() as conn:
            name = self._project(conn, project_id)["name"]
            row = self._share(conn, project_id, share_id)
            timer = self._share_timer(conn, row)
            conn.execute("DELETE FROM shares WHERE id=?", (share_id,))
            update(
                conn,
                "timers",
                {"shared_at": None},
                {"project_id": project_id, "id": row["timer_id"]},
            )
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
