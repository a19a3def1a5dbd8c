"""Planning room under a project's timer cap: delete the bridge's oldest archived timers.

tickward counts archived timers against the per-project cap, so a bridge that
archives forever eventually cannot create anything. When a project is within
``headroom`` of the cap, the oldest *archived, bridge-owned* timers (``icb_`` id
**and** a state record of one of the given sources) become planned deletes,
executed by ``apply_plan`` like every other write. Nothing else is touched.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ical_bridge.convert.model import BRIDGE_ID_PREFIX
from ical_bridge.store.records import TimerRecord
from ical_bridge.sync.plan import Plan, ProjectTarget, make_room

__all__ = ["headroom", "plan_prune"]


def headroom(cap: int) -> int:
    """How far below ``cap`` pruning keeps a project (a tenth, at least two timers)."""
    return max(2, cap // 10)


def plan_prune(
    project: ProjectTarget,
    timers: Sequence[Mapping[str, Any]],
    records: Sequence[TimerRecord],
    *,
    source_keys: Collection[str],
    cap: int,
) -> Plan:
    """The deletes that bring ``project`` (its ``timers`` as tickward JSON) under the headroom."""
    plan = Plan(project=project, source_key="")
    excess = len(timers) - (cap - headroom(cap))
    if excess <= 0:
        return plan
    owned = {r.timer_id: r for r in records if r.source_key in source_keys}
    archived = sorted(
        (
            t
            for t in timers
            if t.get("archived_at")
            and str(t["id"]).startswith(BRIDGE_ID_PREFIX)
            and str(t["id"]) in owned
        ),
        key=lambda t: str(t.get("archived_at")),
    )
    plan.changes = [make_room(owned[str(t["id"])], t) for t in archived[:excess]]
    return plan
