"""Public share links for ``export --share-links``: planned (pure), then created by one executor.

Each exported event may carry the ``URL`` of its timer's public link. The plan
lists the timers that still lack one (archived ones only when they are
exported); ``create_shares`` sends the ``POST``s, each with a ``change_key``
so a retried export never creates a second link.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ical_bridge.tickward import TickwardClient, Timer, change_key

__all__ = ["SharePlan", "create_shares", "plan_shares"]


@dataclass
class SharePlan:
    """The links a project has (timer id → url path) and the timers that need one."""

    project_id: str
    existing: dict[str, str] = field(default_factory=dict)
    create: list[str] = field(default_factory=list)


def plan_shares(
    project_id: str,
    timers: Iterable[Timer],
    existing: Mapping[str, str],
    *,
    include_archived: bool,
) -> SharePlan:
    """Which of ``timers`` need a share link (``existing``: timer id → url path)."""
    missing = [
        t.id
        for t in timers
        if t.id not in existing and (include_archived or not t.archived_at)
    ]
    return SharePlan(project_id, dict(existing), missing)


async def create_shares(client: TickwardClient, plan: SharePlan) -> dict[str, str]:
    """Create the planned links; every link of the plan as timer id → url path."""
    links = dict(plan.existing)
    for timer_id in plan.create:
        key = change_key(plan.project_id, timer_id, "create-share", None)
        share = await client.create_share(plan.project_id, timer_id, idempotency_key=key)
        links[timer_id] = share.url_path
    return links
