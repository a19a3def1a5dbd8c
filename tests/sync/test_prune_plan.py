"""Pruning is planned like any other change: old archived bridge timers become deletes."""

from __future__ import annotations

from typing import Any

from ical_bridge.store.records import TimerRecord
from ical_bridge.sync import ProjectTarget, plan_prune

PROJECT = ProjectTarget(id="p1", name="Team")


def timer(tid: str, archived: str | None = None) -> dict[str, Any]:
    return {"id": tid, "label": tid, "archived_at": archived, "updated_at": "2026-01-01T00:00:00Z"}


def record(tid: str, source: str = "feed:team") -> TimerRecord:
    return TimerRecord("p1", tid, source, f"uid-{tid}", None, 0, "single", "v1:x")


def test_the_oldest_archived_bridge_timers_are_planned_as_deletes_near_the_cap() -> None:
    timers = [timer(f"icb_active{i}") for i in range(6)] + [
        timer("icb_old", "2026-01-01T00:00:00Z"),
        timer("icb_older", "2025-06-01T00:00:00Z"),
        timer("icb_newest", "2026-02-01T00:00:00Z"),
        timer("manual_archived", "2024-01-01T00:00:00Z"),  # not the bridge's: never touched
        timer("icb_foreign", "2024-01-01T00:00:00Z"),  # another config's source
    ]
    records = [record(t["id"]) for t in timers if t["id"] != "icb_foreign"]
    records.append(record("icb_foreign", source="feed:elsewhere"))
    plan = plan_prune(PROJECT, timers, records, source_keys={"feed:team"}, cap=12)
    # 11 timers, cap 12, headroom 2 → one must go: the oldest archived one of ours.
    assert [(c.action, c.timer_id) for c in plan.writes] == [("delete", "icb_older")]
    assert plan_prune(PROJECT, timers[:6], records, source_keys={"feed:team"}, cap=12).empty
