"""Import / sync core: plan one source against tickward and the state store, then apply it.

``plan_source`` converts the calendar, reads what tickward has (one ``GET /sync``
unless the daemon passes its snapshot in) and what the state store remembers,
and hands plain data to the pure planner. ``apply_plan`` (re-exported from
``ical_bridge.apply``) executes the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal

from ical_bridge.apply import ApplyReport, Failure, apply_plan
from ical_bridge.convert import ConversionResult, ImportOptions, convert_calendar
from ical_bridge.errors import UserError
from ical_bridge.plan import (
    Desired,
    Limits,
    Note,
    Origin,
    Plan,
    Policy,
    ProjectTarget,
    SkipNote,
    build_plan,
)
from ical_bridge.recurrence import format_utc
from ical_bridge.store import StateStore
from ical_bridge.tickward import Sync, TickwardClient

__all__ = [
    "ApplyReport",
    "Failure",
    "SyncOptions",
    "apply_plan",
    "desired_from",
    "find_project",
    "plan_source",
]

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, kw_only=True)
class SyncOptions:
    """What to import where, and how (contract 5)."""

    project: str
    now: datetime
    space: str | None = None
    categories_to_spaces: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    strategy: str = "auto"
    window: timedelta = timedelta(days=90)
    on_delete: Literal["archive", "delete", "keep"] = "archive"
    conflict: Literal["feed-wins", "tickward-wins"] = "feed-wins"
    timezone: str | None = None
    include_todos: bool = False
    source_key: str = ""
    allow_empty: bool = False
    mass_delete_ratio: float = 0.5
    limits: Limits = field(default_factory=Limits)
    follow_calendar_color: bool = True
    pin_priority: bool = False
    local_timezone: str | None = None  # the machine's zone: floating/all-day after ``timezone``


def desired_from(result: ConversionResult, *, space: str | None = None) -> list[Desired]:
    """The converter's drafts as planner input (``space`` fills drafts without one)."""
    out = []
    for draft in result.timers:
        body: dict[str, Any] = dict(draft.timer)
        if space and not body.get("space_id"):
            body["space_id"] = space
        if body.get("recurrence") is None:
            body.pop("recurrence", None)
        end = format_utc(draft.series_end) if draft.series_end else None
        src = draft.source
        origin = Origin(src.uid, src.recurrence_id, src.part, draft.strategy, end)
        out.append(Desired(body, origin, draft.next_occurrence))
    return out


def _notes(result: ConversionResult) -> list[Note]:
    notes = [Note(w.code, w.message) for w in result.warnings]
    for draft in result.timers:
        label = draft.timer.get("label", "")
        notes.extend(Note(w.code, f"{label}: {w.message}") for w in draft.warnings)
    return notes


def find_project(snapshot: Sync, ref: str) -> Any | None:
    """The project whose id is ``ref``, else whose name is ``ref`` (exact, then any case)."""
    for project in snapshot.projects:
        if project.id == ref:
            return project
    exact = [p for p in snapshot.projects if p.name == ref]
    loose = exact or [p for p in snapshot.projects if p.name.casefold() == ref.casefold()]
    if len(loose) > 1:
        ids = ", ".join(p.id for p in loose)
        raise UserError(f"several projects are named {ref!r} ({ids}); pass --project with an id")
    return loose[0] if loose else None


async def plan_source(
    client: TickwardClient,
    store: StateStore,
    data: bytes,
    options: SyncOptions,
    *,
    snapshot: Sync | None = None,
) -> Plan:
    """Plan importing the calendar ``data`` (contract 5); reads tickward, writes nothing."""
    result = convert_calendar(data, ImportOptions(
        now=options.now,
        default_tz=options.timezone,
        strategy=options.strategy,
        window=options.window,
        include_todos=options.include_todos,
        categories_to_spaces=options.categories_to_spaces,
        source_key=options.source_key,
        pin_priority=options.pin_priority,
        local_tz=options.local_timezone,
    ))
    # tickward keeps 40 characters of a project name: look up what it would have kept.
    name = (options.project or result.calendar.name or "").strip()[:40]
    if not name:
        raise UserError("the calendar has no name (X-WR-CALNAME/NAME): pass --project NAME|ID")
    if snapshot is None:
        snapshot = (await client.sync()).snapshot
        assert snapshot is not None  # no ETag was sent, so never 304
    project = find_project(snapshot, name)
    limits = options.limits
    color = result.calendar.color
    nested = True
    if project is None:
        if len(snapshot.projects) >= limits.projects:
            raise UserError(
                f"cannot create project {name!r}: the account already has "
                f"{len(snapshot.projects)} projects (the plan allows {limits.projects})"
            )
        caps = await client.capabilities()
        limits = Limits(
            timers_per_project=limits.timers_per_project,
            active_timers_per_space=limits.active_timers_per_space,
            spaces_per_project=limits.spaces_per_project,
            projects=limits.projects,
            project_create_max_timers=caps.limits.project_create_max_timers,
            project_create_max_spaces=caps.limits.project_create_max_spaces,
        )
        nested = bool(caps.features.get("nested_project_create", True))
        target = ProjectTarget(None, name, None, color)
        timers: list[dict[str, Any]] = []
        spaces: list[dict[str, Any]] = []
        records = []
    else:
        follow = options.follow_calendar_color and color is not None
        differs = follow and (project.color or "").lower() != (color or "").lower()
        target = ProjectTarget(project.id, project.name, project.color, color if differs else None)
        timers = [t.model_dump(mode="json") for t in snapshot.timers if t.project_id == project.id]
        spaces = [s.model_dump(mode="json") for s in snapshot.spaces if s.project_id == project.id]
        records = store.timers(project.id)
    policy = Policy(
        on_delete=options.on_delete,
        conflict=options.conflict,
        allow_empty=options.allow_empty,
        mass_delete_ratio=options.mass_delete_ratio,
        limits=limits,
    )
    plan = build_plan(
        desired_from(result, space=options.space),
        project=target,
        timers=timers,
        spaces=spaces,
        records=records,
        source_key=options.source_key,
        now=options.now,
        policy=policy,
        source_skipped=[SkipNote(s.code, s.message, uid=s.uid) for s in result.skipped],
        warnings=_notes(result),
        empty_source=not result.timers and not result.skipped,
    )
    plan.nested_create = nested
    return plan
