"""Maintenance's pruning: plan room under each synced project's cap, then apply it.

The rule (which archived bridge timers go, and when) is ``sync.prune.plan_prune``;
the deletes go through ``apply_plan`` like every other write, with its
idempotency keys and state bookkeeping.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

from ical_bridge.store import StateStore
from ical_bridge.sync import ProjectTarget, apply_plan, plan_prune
from ical_bridge.tickward import Sync, TickwardClient, find_project

__all__ = ["PruneReport", "prune_archived"]

log = logging.getLogger("ical_bridge.daemon")


@dataclass
class PruneReport:
    """What pruning did."""

    deleted: int = 0
    failed: int = 0


async def prune_archived(
    client: TickwardClient,
    store: StateStore,
    snapshot: Sync,
    *,
    projects: Collection[str],
    source_keys: Collection[str],
    cap: int,
) -> PruneReport:
    """Delete old archived bridge timers in ``projects`` (names or ids) near ``cap``."""
    report = PruneReport()
    found = (find_project(snapshot, ref) for ref in projects)  # the one name rule
    for project in {p.id: p for p in found if p is not None}.values():
        timers = [t.model_dump(mode="json") for t in snapshot.timers if t.project_id == project.id]
        plan = plan_prune(
            ProjectTarget(project.id, project.name),
            timers,
            store.timers(project.id),
            source_keys=source_keys,
            cap=cap,
        )
        if plan.empty:
            continue
        done = await apply_plan(client, store, plan)
        deleted = done.done.get("delete", 0)
        report.deleted += deleted
        report.failed += len(done.failed)
        for failure in done.failed:
            log.warning("prune project=%s timer=%s failed: %s",
                        project.id, failure.timer_id, failure.message)
        if deleted:
            log.info("prune project=%s deleted=%d cap=%d", project.id, deleted, cap)
    return report
