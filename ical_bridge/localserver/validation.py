"""Request bodies with tickward's rules: normalised dicts or every field error at once.

Each ``*_body`` function takes the parsed JSON and returns a normalised dict
(only the keys that were sent, for updates), or leaves the problems in the
``Checker`` (``Checker.done()`` raises them as one ``ApiProblem``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ical_bridge.localserver.checker import (
    MISSING,
    PLAN_HASH,
    SPACE_ID,
    TIMER_ID,
    TIMER_KEYS,
    TIMER_PATCH_KEYS,
    Checker,
    kind_of,
    parse_instant,
)
from ical_bridge.localserver.problems import ApiProblem

__all__ = [
    "project_create_body",
    "project_update_body",
    "share_create_body",
    "since_anchor",
    "space_create_body",
    "space_update_body",
    "timer_create_body",
    "timer_update_body",
]


def _keep(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not MISSING:
        out[key] = value


def timer_create_body(
    c: Checker, body: object, base: str, now: datetime, *, nested: bool = False
) -> dict[str, Any]:
    """A TimerCreateRequest (or the nested form, which may not carry ``space_id``)."""
    obj = c.obj(body, base)
    if obj is None:
        return {}
    if nested and "space_id" in obj:
        c.fail(f"{base}/space_id", "Expected never, received " + kind_of(obj["space_id"]) + ".")
    c.strict(obj, TIMER_KEYS, base)
    out: dict[str, Any] = {}
    _keep(out, "id", c.string(obj, "id", base, pattern=TIMER_ID))
    label = c.string(obj, "label", base, required=True, min_len=1, max_len=200, trim=True)
    _keep(out, "label", label)
    _keep(out, "target_date", c.instant(obj, "target_date", base, required=True))
    _keep(out, "timezone", c.timezone(obj, "timezone", base, required=True))
    _keep(out, "color", c.color(obj, "color", base, nullable=False))
    _keep(out, "description", _description(c, obj, base))
    if not nested:
        _keep(
            out, "space_id", c.string(obj, "space_id", base, min_len=1, max_len=64, nullable=True)
        )
    for key in ("notify", "pinned"):
        _keep(out, key, c.boolean(obj, key, base))
    mode = obj.get("mode", "until")
    if mode not in ("until", "since"):
        c.fail(f"{base}/mode", "Invalid enum value. Expected 'until' | 'since'.")
    out["mode"] = mode
    _keep(out, "milestones", c.milestones(obj, base))
    _keep(out, "recurrence", c.recurrence(obj, base))
    _keep(out, "image", c.image(obj, base))
    _keep(out, "reminders", c.reminders(obj, base))
    _mode_rules(c, obj, out, base, now, mode)
    return out


def _description(c: Checker, obj: dict[str, Any], base: str) -> Any:
    # trimmed; empty (or only spaces) reads back null
    description = c.string(obj, "description", base, max_len=200, trim=True)
    return description or None if description is not MISSING else MISSING


def _mode_rules(
    c: Checker, obj: dict[str, Any], out: dict[str, Any], base: str, now: datetime, mode: object
) -> None:
    # zod's refinements: answered 422 (with errors[]) by Checker.done
    if mode == "since":
        if "milestones" not in obj:
            c.fail(f"{base}/milestones", "Since timers need at least one milestone rule.")
        if "recurrence" in obj:
            c.fail(f"{base}/recurrence", "Since timers cannot recur.")
    elif "milestones" in obj:
        c.fail(f"{base}/milestones", "Only since timers can define milestones.")


def since_anchor(data: dict[str, Any], now: datetime) -> None:
    """Refuse a since timer anchored in the future (422, text only, as measured)."""
    if data.get("mode") != "since" or "target_date" not in data:
        return
    anchor = parse_instant(data["target_date"])
    if anchor is None or anchor > now + timedelta(seconds=60):
        raise ApiProblem.plain("Anchor must be in the past.", 422)


def timer_update_body(c: Checker, body: object) -> dict[str, Any]:
    """A TimerUpdateRequest: only the keys sent, ``None`` where a field is cleared."""
    obj = c.obj(body, "#")
    if obj is None:
        return {}
    c.strict(obj, TIMER_PATCH_KEYS, "#")
    out: dict[str, Any] = {}
    _keep(out, "label", c.string(obj, "label", "#", min_len=1, max_len=200, trim=True))
    _keep(out, "target_date", c.instant(obj, "target_date", "#"))
    _keep(out, "timezone", c.timezone(obj, "timezone", "#", required=False))
    # archived_at: any string, stored as sent (a non-date fails later, as on the real server)
    _keep(out, "archived_at", c.string(obj, "archived_at", "#", nullable=True))
    _keep(out, "color", c.color(obj, "color", "#", nullable=False))
    _keep(out, "description", _description(c, obj, "#"))
    _keep(out, "space_id", c.string(obj, "space_id", "#", min_len=1, max_len=64, nullable=True))
    for key in ("notify", "pinned"):
        _keep(out, key, c.boolean(obj, key, "#"))
    if "mode" in obj:
        if obj["mode"] not in ("until", "since"):
            c.fail("#/mode", "Invalid enum value. Expected 'until' | 'since'.")
        else:
            out["mode"] = obj["mode"]
    if obj.get("recurrence", MISSING) is None:
        c.fail("#/recurrence", "Expected object, received null. Send enabled: false instead.")
    else:
        _keep(out, "recurrence", c.recurrence(obj, "#"))
    _keep(out, "milestones", c.milestones(obj, "#"))
    _keep(out, "image", c.image(obj, "#"))
    _keep(out, "reminders", c.reminders(obj, "#"))
    mode = obj.get("mode")
    if mode == "since" and "recurrence" in out:
        c.fail("#/recurrence", "Since timers cannot recur.")
    elif mode == "until" and "milestones" in obj:
        c.fail("#/milestones", "Only since timers can define milestones.")
    return out


def space_create_body(c: Checker, body: object, base: str = "#") -> dict[str, Any]:
    """A SpaceCreateRequest."""
    obj = c.obj(body, base)
    if obj is None:
        return {}
    out: dict[str, Any] = {}
    _keep(out, "id", c.string(obj, "id", base, pattern=SPACE_ID))
    _keep(out, "name", c.string(obj, "name", base, required=True, min_len=1, max_len=30, trim=True))
    _keep(out, "color", c.color(obj, "color", base, nullable=False))
    return out


def space_update_body(c: Checker, body: object) -> dict[str, Any]:
    """A SpaceUpdateRequest (``color`` may be null or empty to clear)."""
    obj = c.obj(body, "#")
    if obj is None:
        return {}
    out: dict[str, Any] = {}
    _keep(out, "name", c.string(obj, "name", "#", min_len=1, max_len=30, trim=True))
    _keep(out, "color", c.color(obj, "color", "#", nullable=True))
    return out


def project_update_body(c: Checker, body: object) -> dict[str, Any]:
    """A ProjectUpdateRequest."""
    obj = c.obj(body, "#")
    if obj is None:
        return {}
    out: dict[str, Any] = {}
    _keep(out, "name", c.string(obj, "name", "#", min_len=1, max_len=40, trim=True))
    _keep(out, "color", c.color(obj, "color", "#", nullable=True))
    return out


def project_create_body(c: Checker, body: object, now: datetime) -> dict[str, Any]:
    """A ProjectCreateRequest with nested ``spaces[].timers[]`` and top-level ``timers[]``."""
    obj = c.obj(body, "#")
    if obj is None:
        return {}
    out: dict[str, Any] = {"spaces": [], "timers": []}
    _keep(out, "name", c.string(obj, "name", "#", required=True, min_len=1, max_len=40, trim=True))
    _keep(out, "color", c.color(obj, "color", "#", nullable=False))
    _keep(out, "expected_plan_hash", c.string(obj, "expected_plan_hash", "#", pattern=PLAN_HASH))
    for key in ("spaces", "timers"):
        if key in obj and not isinstance(obj[key], list):
            c.fail(f"#/{key}", f"Expected array, received {kind_of(obj[key])}.")
    spaces = obj.get("spaces")
    for index, raw in enumerate(spaces if isinstance(spaces, list) else []):
        base = f"#/spaces/{index}"
        space = space_create_body(c, raw, base)
        timers: list[dict[str, Any]] = []
        if isinstance(raw, dict) and "timers" in raw:
            if not isinstance(raw["timers"], list):
                c.fail(f"{base}/timers", f"Expected array, received {kind_of(raw['timers'])}.")
            else:
                for j, item in enumerate(raw["timers"]):
                    timers.append(
                        timer_create_body(c, item, f"{base}/timers/{j}", now, nested=True)
                    )
        space["timers"] = timers
        out["spaces"].append(space)
    timers_in = obj.get("timers")
    for index, raw in enumerate(timers_in if isinstance(timers_in, list) else []):
        out["timers"].append(timer_create_body(c, raw, f"#/timers/{index}", now))
    return out


def share_create_body(c: Checker, body: object) -> str:
    """A ShareCreateRequest: the timer id."""
    obj = c.obj(body, "#")
    if obj is None:
        return ""
    value = c.string(obj, "timer_id", "#", required=True, min_len=1, max_len=128)
    return value if isinstance(value, str) else ""
