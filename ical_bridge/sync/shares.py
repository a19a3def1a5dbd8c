"""Public share links for ``export --share-links``, planned (pure).

Each exported event may carry the ``URL`` of its timer's public link. The plan
lists the timers that still lack one (archived ones only when they are
exported); ``sync.apply.create_shares`` executes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ical_bridge.tickward import Timer

__all__ = ["SharePlan", "plan_shares"]


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
