"""The import pipeline: ingest → convert → plan → apply, shared by ``import`` and the daemon.

``plan`` is the pure decision table (``fields`` compares one timer's managed
fields), ``apply`` is the one executor of tickward writes, and ``pipeline``
is the entry point that reads tickward and the state store for the planner.
"""

from __future__ import annotations

from ical_bridge.sync.apply import ApplyReport, Failure, apply_plan, create_shares, reconcile
from ical_bridge.sync.fields import fingerprint, patch_body
from ical_bridge.sync.pipeline import SyncOptions, desired_from, import_options, plan_source
from ical_bridge.sync.plan import (
    Action,
    Change,
    Limits,
    Plan,
    Policy,
    ProjectTarget,
    SpaceCreate,
    build_plan,
    make_room,
    space_id_for,
)
from ical_bridge.sync.prune import headroom, plan_prune
from ical_bridge.sync.shares import SharePlan, plan_shares
from ical_bridge.sync.unsync import plan_unsync

__all__ = [
    "Action",
    "ApplyReport",
    "Change",
    "Failure",
    "Limits",
    "Plan",
    "Policy",
    "ProjectTarget",
    "SharePlan",
    "SpaceCreate",
    "SyncOptions",
    "apply_plan",
    "build_plan",
    "create_shares",
    "desired_from",
    "fingerprint",
    "headroom",
    "import_options",
    "make_room",
    "patch_body",
    "plan_prune",
    "plan_shares",
    "plan_source",
    "plan_unsync",
    "reconcile",
    "space_id_for",
]
