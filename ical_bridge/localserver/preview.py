"""``POST /projects/preview``: what a nested create would do, and its plan hash."""

from __future__ import annotations

from typing import Any

from ical_bridge.localserver.resources import plan_hash

__all__ = ["preview"]

_NOTIFY_MESSAGE = "Notifications for this timer follow the account's notification settings."
_NOTIFY_FIX = "Check the account's notification settings if reminders should reach you."


def preview(raw: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
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
