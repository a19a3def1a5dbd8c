"""Stored rows → tickward's response objects (Project, Space, Timer, Share)."""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from ical_bridge.localserver.checker import parse_instant
from ical_bridge.localserver.database import Row
from ical_bridge.recurrence import (
    effective_target_date,
    format_utc,
    tickward_local_to_utc,
    zone,
)

__all__ = ["effective_date", "project_json", "share_json", "space_json", "timer_json"]


def project_json(row: Row, timer_count: int, space_count: int) -> dict[str, Any]:
    """A Project object (unlike timers, spaces and shares: no ``project_name``)."""
    return {
        "object": "project",
        "id": row["id"],
        "name": row["name"],
        "color": row["color"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "claimed_at": row["claimed_at"],
        "timer_count": timer_count,
        "space_count": space_count,
    }


def space_json(row: Row, project_name: str) -> dict[str, Any]:
    """A Space object."""
    return {
        "object": "space",
        "id": row["id"],
        "project_id": row["project_id"],
        "project_name": project_name,
        "name": row["name"],
        "color": row["color"],
        "created_at": row["created_at"],
    }


def timer_json(row: Row, project_name: str, now: datetime) -> dict[str, Any]:
    """A Timer object, ``effective_target_date`` computed for ``now``."""
    return {
        "object": "timer",
        "id": row["id"],
        "project_id": row["project_id"],
        "project_name": project_name,
        "label": row["label"],
        "target_date": row["target_date"],
        "effective_target_date": effective_date(row, now),
        "timezone": row["timezone"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "archived_at": row["archived_at"],
        "color": row["color"],
        "description": row["description"],
        "space_id": row["space_id"],
        "shared_at": row["shared_at"],
        "notify": row["notify"],
        "mode": row["mode"],
        "milestones": row["milestones"],
        "recurrence": row["recurrence"],
        "pinned": row["pinned"],
        "image": row["image"],
        "reminders": row["reminders"],
    }


def share_json(row: Row, project_name: str, timer: Row | None) -> dict[str, Any]:
    """A Share object."""
    return {
        "object": "share",
        "id": row["id"],
        "project_id": row["project_id"],
        "project_name": project_name,
        "timer_id": row["timer_id"],
        "timer_label": timer["label"] if timer else None,
        "shared_at": timer["shared_at"] if timer else None,
        "url_path": f"/share/{row['id']}",
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def effective_date(row: Row, now: datetime) -> str:
    """The current derived occurrence of a stored timer."""
    target: str = row["target_date"]
    anchor = parse_instant(target)
    if anchor is None:  # pragma: no cover - validated on the way in
        return target
    try:
        if row["mode"] == "since" and row["milestones"]:
            return _next_milestone(anchor, row["timezone"], row["milestones"]["rules"], now, target)
        recurrence = row["recurrence"]
        if not recurrence or not recurrence.get("enabled"):
            return target
        # offset-less anchors are read in the server's zone (UTC) before the maths
        return effective_target_date(format_utc(anchor), row["timezone"], recurrence, now)
    except (ValueError, OverflowError):  # a slot beyond year 9999: nothing left to count to
        return target


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _milestone(local: datetime, unit: str, amount: int) -> datetime:
    if unit == "days":
        return local + timedelta(days=amount)
    if unit == "weeks":
        return local + timedelta(weeks=amount)
    months = amount if unit == "months" else amount * 12
    return datetime.combine(_add_months(local.date(), months), local.time())


def _next_milestone(
    anchor: datetime, timezone: str, rules: list[dict[str, Any]], now: datetime, target: str
) -> str:
    tz = zone(timezone)
    local = anchor.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
    best: datetime | None = None
    for rule in rules:
        unit = rule["unit"]
        if "at" in rule:
            amounts: Iterable[int] = [int(n) for n in rule["at"]]
        else:
            # start from an under-estimate of the elapsed count, then walk forward
            every = int(rule["every"])
            days = {"days": 1, "weeks": 7, "months": 31, "years": 366}[unit]
            first = max(1, (now - anchor).days // (days * every) - 1)
            amounts = (every * n for n in itertools.count(first))
        for amount in amounts:
            instant = tickward_local_to_utc(_milestone(local, unit, amount), tz)
            if instant > now:
                best = instant if best is None or instant < best else best
                break
    return format_utc(best) if best is not None else target
