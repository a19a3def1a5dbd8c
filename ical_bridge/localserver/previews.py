"""Dry runs: ``POST /projects/preview`` (with its plan hash) and ``DELETE …?dry_run=true``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ical_bridge.localserver.database import Row

__all__ = ["create_preview", "plan_hash", "project_delete_preview", "space_delete_preview"]

_NOTIFY_MESSAGE = "Notifications for this timer follow the account's notification settings."
_NOTIFY_FIX = "Check the account's notification settings if reminders should reach you."


def plan_hash(body: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical create body (``expected_plan_hash`` left out)."""
    payload = {k: v for k, v in body.items() if k != "expected_plan_hash"}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def create_preview(raw: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The ProjectPreview for a checked create body (``raw`` is the body as sent)."""
    changes: list[dict[str, Any]] = [
        {"action": "create", "type": "project", "path": "#", "name": data["name"]}
    ]
    warnings: list[dict[str, Any]] = []
    timer_count = 0

    def timer(path: str, parent: str, body: dict[str, Any]) -> None:
        nonlocal timer_count
        timer_count += 1
        changes.append(
            {
                "action": "create",
                "type": "timer",
                "path": path,
                "parent_path": parent,
                "label": body["label"],
            }
        )
        if body.get("notify"):
            warnings.append(
                {
                    "code": "timer_notify_uses_account_settings",
                    "path": f"{path}/notify",
                    "message": _NOTIFY_MESSAGE,
                    "remediation": _NOTIFY_FIX,
                }
            )

    for i, space in enumerate(data["spaces"]):
        path = f"#/spaces/{i}"
        changes.append(
            {
                "action": "create",
                "type": "space",
                "path": path,
                "parent_path": "#",
                "name": space["name"],
            }
        )
        for j, body in enumerate(space["timers"]):
            timer(f"{path}/timers/{j}", path, body)
    for k, body in enumerate(data["timers"]):
        timer(f"#/timers/{k}", "#", body)
    digest = plan_hash(raw)
    return {
        "object": "project_preview",
        "dry_run": True,
        "operation": "create_project",
        "plan_hash": digest,
        "summary": {
            "projects": {"create": 1},
            "spaces": {"create": len(data["spaces"])},
            "timers": {"create": timer_count},
        },
        "changes": changes,
        "warnings": warnings,
        "apply": {
            "method": "POST",
            "path": "/api/v1/projects",
            "requires_idempotency_key": True,
            "expected_plan_hash": digest,
        },
    }


def _delete_preview(
    operation: str,
    target: dict[str, Any],
    summary: dict[str, dict[str, int]],
    changes: list[dict[str, Any]],
    path: str,
) -> dict[str, Any]:
    return {
        "object": "delete_preview",
        "dry_run": True,
        "operation": operation,
        "target": target,
        "would_change": True,
        "summary": summary,
        "changes": changes,
        "warnings": [],
        "apply": {"method": "DELETE", "path": path, "requires_idempotency_key": True},
    }


def project_delete_preview(
    project: Row, spaces: list[Row], timers: list[Row], shares: list[Row]
) -> dict[str, Any]:
    """What deleting a project would remove (everything in it, by cascade)."""
    pid, name = project["id"], project["name"]
    changes: list[dict[str, Any]] = [
        {"action": "delete", "type": "project", "id": pid, "name": name}
    ]
    for kind, rows, title in (("space", spaces, "name"), ("timer", timers, "label")):
        changes += [
            {
                "action": "delete",
                "type": kind,
                "id": r["id"],
                title: r[title],
                "project_id": pid,
                "reason": "cascade",
            }
            for r in rows
        ]
    changes += [
        {
            "action": "delete",
            "type": "share_link",
            "id": s["id"],
            "project_id": pid,
            "reason": "cascade",
        }
        for s in shares
    ]
    summary = {
        "projects": {"delete": 1},
        "spaces": {"delete": len(spaces)},
        "timers": {"delete": len(timers)},
        "share_links": {"delete": len(shares)},
    }
    target = {"type": "project", "id": pid, "name": name}
    return _delete_preview("delete_project", target, summary, changes, f"/api/v1/projects/{pid}")


def space_delete_preview(project: Row, space: Row, timers: list[Row]) -> dict[str, Any]:
    """What deleting a space would change (its timers lose their space)."""
    pid, name = project["id"], project["name"]
    target = {
        "type": "space",
        "id": space["id"],
        "name": space["name"],
        "project_id": pid,
        "project_name": name,
    }
    changes: list[dict[str, Any]] = [{"action": "delete", **target}]
    changes += [
        {
            "action": "update",
            "type": "timer",
            "id": t["id"],
            "label": t["label"],
            "project_id": pid,
            "reason": "unassign_space",
        }
        for t in timers
    ]
    summary = {"spaces": {"delete": 1}, "timers": {"update": len(timers)}}
    path = f"/api/v1/projects/{pid}/spaces/{space['id']}"
    return _delete_preview("delete_space", target, summary, changes, path)
