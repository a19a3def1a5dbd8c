"""Make room under a project's timer cap by deleting the bridge's oldest archived timers.

tickward counts archived timers against the per-project cap, so a bridge that
archives forever eventually cannot create anything. Maintenance keeps some
headroom: when a project the bridge syncs into is within ``headroom`` of the
cap, the oldest *archived, bridge-owned* timers (``icb_`` id **and** a state
record of one of this config's feeds) are deleted. Nothing else is touched.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

from ical_bridge.convert import BRIDGE_ID_PREFIX
from ical_bridge.errors import NotFoundError, TickwardError
from ical_bridge.store import StateStore
from ical_bridge.tickward import Sync, TickwardClient

__all__ = ["PruneReport", "prune_archived"]

log = logging.getLogger("ical_bridge.daemon")


@dataclass
class PruneReport:
    """What pruning did."""

    deleted: int = 0
    failed: int = 0


def _headroom(cap: int) -> int:
    return max(2, cap // 10)


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
    wanted = {p.casefold() for p in projects}
    for project in snapshot.projects:
        if project.id.casefold() not in wanted and project.name.casefold() not in wanted:
            continue
        timers = [t for t in snapshot.timers if t.project_id == project.id]
        excess = len(timers) - (cap - _headroom(cap))
        if excess <= 0:
            continue
        owned = {r.timer_id for r in store.timers(project.id) if r.source_key in source_keys}
        archived = sorted(
            (
                t
                for t in timers
                if t.archived_at and t.id.startswith(BRIDGE_ID_PREFIX) and t.id in owned
            ),
            key=lambda t: str(t.archived_at),
        )
        for timer in archived[:excess]:
            try:
                await client.delete_timer(project.id, timer.id)
            except NotFoundError:
                pass  # already gone: forget it below
            except TickwardError as exc:
                report.failed += 1
                log.warning("prune project=%s timer=%s failed: %s", project.id, timer.id, exc)
                continue
            store.delete_timer(project.id, timer.id)
            report.deleted += 1
        if report.deleted:
            log.info("prune project=%s deleted=%d cap=%d", project.id, report.deleted, cap)
    return report
