"""Undo: plan the removal of everything the bridge created for a feed or a project.

``plan_unsync`` is pure, like ``build_plan``: it returns a ``Plan`` of archives
(or deletes) that ``apply_plan`` executes, and lists every state record of the
removed timers in ``forget``, so after applying the bridge remembers nothing of
them. Only bridge timers are touched: ids with the bridge prefix, and only those
of the given sources when ``source_keys`` is set.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from ical_bridge.convert.model import BRIDGE_ID_PREFIX
from ical_bridge.recurrence import format_utc
from ical_bridge.store.records import TimerRecord
from ical_bridge.sync.plan import Change, Plan, ProjectTarget

__all__ = ["plan_unsync"]


def plan_unsync(
    *,
    project: ProjectTarget,
    timers: Sequence[Mapping[str, Any]],
    records: Sequence[TimerRecord],
    now: datetime,
    source_keys: Collection[str] | None = None,
    delete: bool = False,
    also: Collection[str] = (),
) -> Plan:
    """Archive (or ``delete``) the project's bridge timers of ``source_keys`` (None: every
    bridge timer of the project) and forget their records. ``also``: ids the source's
    drafts have now (its deterministic ids), found even when the state store lost them."""
    mine = [r for r in records if source_keys is None or r.source_key in source_keys]
    wanted = {r.timer_id for r in mine} | set(also)
    if source_keys is None:  # a whole project: state or not, every id the bridge makes
        wanted |= {str(t["id"]) for t in timers if str(t["id"]).startswith(BRIDGE_ID_PREFIX)}
    plan = Plan(project=project, source_key="unsync")
    for timer in sorted(timers, key=lambda t: str(t["id"])):
        tid = str(timer["id"])
        if tid not in wanted or not tid.startswith(BRIDGE_ID_PREFIX):
            continue
        label = str(timer.get("label", ""))
        base = timer.get("updated_at")
        if delete:
            plan.changes.append(Change("delete", tid, label, None, {}, base, None,
                                       "unsync", remote=timer))
        elif not timer.get("archived_at"):
            plan.changes.append(Change("archive", tid, label, None,
                                       {"archived_at": format_utc(now)}, base, None,
                                       "unsync", remote=timer))
        else:
            plan.changes.append(Change("unchanged", tid, label, None, {}, base, None,
                                       "already archived", remote=timer))
    plan.forget = sorted(r.timer_id for r in mine)
    return plan
