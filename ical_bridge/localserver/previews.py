"""Dry runs: ``POST /projects/preview`` (with its plan hash) and ``DELETE …?dry_run=true``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ical_bridge.localserver.database import Row

__all__ = ["create_preview", "plan_hash", "project_delete_preview", "space_delete_preview"]

_NOTIFY_MESSAGE = "notify=true uses account-level notification settings."
_NOTIFY_FIX = "Use notify=true only when account alert settings should decide delivery."


def _timer_plan(timer: dict[str, Any], space_id: str | None) -> dict[str, Any]:
    return {
        "color": timer.get("color") or None,
        "description": timer.get("description") or None,
        "id": timer.get("id"),
        "image": timer.get("image"),
        "label": timer["label"],
        "mode": timer.get("mode", "until"),
        "milestones": timer.get("milestones"),
        "notify": timer.get("notify", True),
        "pinned": timer.get("pinned", False),
        "recurrence": timer.get("recurrence"),
        "reminders": timer.get("reminders", []),
        "space_id": space_id or None,
        "target_date": timer["target_date"],
        "timezone": timer["timezone"],
    }


def plan_hash(data: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the normalised plan of a checked create body (defaults filled in).

    As on the real server: sorted keys, compact JSON; ``notify`` true, ``pinned``
    false, ``mode`` "until", ``reminders`` [] when omitted; null for an empty
    colour or description; nested timers with ``space_id`` null. Bodies that
    differ only in defaults hash the same.
    """
    plan = {
        "color": data.get("color") or None,
        "name": data["name"],
        "spaces": [
            {
                "color": space.get("color") or None,
                "id": space.get("id"),
                "name": space["name"],
                "timers": [_timer_plan(t, None) for t in space["timers"]],
            }
            for space in data["spaces"]
        ],
        "timers": [_timer_plan(t, t.get("space_id")) for t in data["timers"]],
    }
    canonical = json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def create_preview(data: dict[str, Any]) -> dict[str, Any]:
    """The ProjectPreview for a checked create body."""
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
        if body.get("notify") is not False:  # omitted means true
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
    # the real server lists top-level timers' warnings before nested ones
    warnings.sort(key=lambda w: not str(w["path"]).startswith("#/timers/"))
    digest = plan_hash(data)
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
                "reason": "cascade",
            }
            for r in rows
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
            "project_name": name,
            "reason": "space_removed",
        }
        for t in timers
    ]
    summary = {
        "share_links": {"delete": 0},
        "spaces": {"delete": 1},
        "timers": {"update": len(timers)},
    }
    path = f"/api/v1/projects/{pid}/spaces/{space['id']}"
    return _delete_preview("delete_space", target, summary, changes, path)
