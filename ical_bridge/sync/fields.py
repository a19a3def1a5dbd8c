"""What differs between a desired timer and tickward's: normalised views, fingerprints, PATCHes.

A timer body (what the bridge would send) and a tickward Timer (what it has)
are compared on the fields the bridge manages, normalised so that equal
things compare equal: instants as instants, a recurring timer by its slot and
next occurrence, reminders as a set, absent and empty description or colour
alike. ``patch_body`` then sends only what changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ical_bridge.recurrence import Slot, effective_target_date, format_utc, parse_iso, zone

__all__ = ["event_key", "fingerprint", "patch_body"]


def _recurrence(timer: Mapping[str, Any]) -> tuple[str, bool] | None:
    rec = timer.get("recurrence")
    if not isinstance(rec, Mapping) or not rec.get("enabled"):
        return None
    return (str(rec.get("type")), bool(rec.get("lastDay")))


def _slot(timer: Mapping[str, Any], rec: tuple[str, bool]) -> tuple[Any, ...] | None:
    """The parts of the slot that matter for the recurrence type (weekly ignores the day)."""
    try:
        tz = zone(str(timer.get("timezone") or "UTC"))
        s = Slot.of(parse_iso(str(timer["target_date"])), tz, rec[0], last_day=rec[1])  # type: ignore[arg-type]
    except (KeyError, ValueError):
        return None
    extra = {"daily": (), "weekly": (s.weekday,), "yearly": (s.month, s.day),
             "monthly": ("last",) if s.last_day else (s.day,)}.get(s.type, ())
    return (s.type, s.hour, s.minute, *extra)


def _instant(value: Any) -> str | None:
    try:
        return format_utc(parse_iso(str(value)))
    except (TypeError, ValueError):
        return None


def _view(timer: Mapping[str, Any]) -> dict[str, Any]:
    """The managed fields of a timer body or a tickward Timer, normalised."""
    rec = _recurrence(timer)
    slot = _slot(timer, rec) if rec else None
    reminders = sorted(
        {int(r["offset_minutes"]) for r in timer.get("reminders") or () if "offset_minutes" in r}
    )
    return {
        "label": timer.get("label"),
        "target": repr(slot) if rec else _instant(timer.get("target_date")),
        "timezone": timer.get("timezone") or "UTC",
        "recurrence": list(rec) if rec else None,
        "description": timer.get("description") or None,
        "color": str(timer.get("color") or "").lower() or None,
        "notify": bool(timer.get("notify")),
        "reminders": reminders,
        "space_id": timer.get("space_id") or None,
        "archived": bool(timer.get("archived_at")),
        "mode": timer.get("mode") or "until",
        "milestones": _compact(timer.get("milestones")) if timer.get("mode") == "since" else None,
    }


def _compact(value: Any) -> Any:
    """``value`` without null members (a response lists unset optional fields as null)."""
    if isinstance(value, Mapping):
        return {k: _compact(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def fingerprint(timer: Mapping[str, Any]) -> str:
    """A stable hash of a timer's managed fields (same for a body and the Timer it became)."""
    view = _view(timer)
    text = json.dumps(view, sort_keys=True, separators=(",", ":"))
    return "v1:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def event_key(timer: Mapping[str, Any]) -> str:
    """What makes two timers the same event whatever their UIDs: label, start (instant, or a
    recurring timer's slot) and description (where the location lives)."""
    view = _view(timer)
    key = [view["label"], view["target"], view["timezone"], view["recurrence"],
           view["description"]]
    return json.dumps(key, separators=(",", ":"))


def _same_schedule(desired: Mapping[str, Any], remote: Mapping[str, Any], now: datetime) -> bool:
    d_rec, r_rec = _recurrence(desired), _recurrence(remote)
    if d_rec != r_rec:
        return False
    if d_rec is None:
        return _instant(desired.get("target_date")) == _instant(remote.get("target_date"))
    # Recurring: the same slot and the same next occurrence are the same timer to tickward.
    if _slot(desired, d_rec) != _slot(remote, d_rec):
        return False
    try:
        return effective_target_date(
            str(desired["target_date"]), str(desired.get("timezone") or "UTC"),
            dict(desired["recurrence"]), now,
        ) == effective_target_date(
            str(remote["target_date"]), str(remote.get("timezone") or "UTC"),
            dict(remote["recurrence"]), now,
        )
    except (KeyError, ValueError):
        return False


def patch_body(
    desired: Mapping[str, Any], remote: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The PATCH body that turns ``remote`` into ``desired`` (changed fields only)."""
    d, r = _view(desired), _view(remote)
    body: dict[str, Any] = {}
    if d["label"] != r["label"]:
        body["label"] = desired["label"]
    if d["timezone"] != r["timezone"]:
        body["timezone"] = desired["timezone"]
    if not _same_schedule(desired, remote, now):
        if _instant(desired.get("target_date")) != _instant(remote.get("target_date")):
            body["target_date"] = desired["target_date"]
        if d["recurrence"] != r["recurrence"]:
            rec = desired.get("recurrence")
            if rec and rec.get("enabled"):
                body["recurrence"] = dict(rec)
            else:  # recurrence: null is refused; stop repeating instead
                old = remote.get("recurrence") or {}
                body["recurrence"] = {"type": old.get("type", "daily"), "enabled": False}
        elif "target_date" not in body and "timezone" not in body:
            body["target_date"] = desired["target_date"]
    for name in ("description", "color"):
        if name == "color" and not d[name]:
            continue  # the feed sets no colour: one set in tickward is not the feed's to clear
        if d[name] != r[name]:
            body[name] = desired.get(name) or ""  # "" clears; null is refused
    if d["notify"] != r["notify"]:
        body["notify"] = d["notify"]
    if d["reminders"] != r["reminders"]:
        body["reminders"] = [dict(x) for x in desired.get("reminders") or ()]
    if d["space_id"] != r["space_id"]:
        body["space_id"] = d["space_id"]
    if d["mode"] != r["mode"]:
        body["mode"] = d["mode"]
    if d["milestones"] != r["milestones"] and desired.get("milestones"):
        body["milestones"] = desired["milestones"]
    if "pinned" in desired and bool(desired["pinned"]) != bool(remote.get("pinned")):
        body["pinned"] = bool(desired["pinned"])
    if r["archived"]:
        body["archived_at"] = None  # the event is back: restore
    return body
