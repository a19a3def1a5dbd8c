"""The pipeline's entry point: plan one source against tickward and the state store.

``plan_source`` converts the calendar, reads what tickward has (one ``GET /sync``
unless the caller passes its snapshot in) and what the state store remembers,
and hands plain data to the pure planner; ``apply_plan`` (``sync.apply``)
executes the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from types import MappingProxyType
from typing import Any

from ical_bridge.convert import (
    ConversionResult,
    ImportOptions,
    Notice,
    TimerDraft,
    convert_calendar,
)
from ical_bridge.convert.choices import EventChoices
from ical_bridge.errors import UserError
from ical_bridge.ingest import DecodedFeed
from ical_bridge.store import StateStore
from ical_bridge.sync.intent import adopt_project_intent
from ical_bridge.sync.keys import calendar_source_key, rekey
from ical_bridge.sync.plan import Limits, Plan, Policy, ProjectTarget, build_plan
from ical_bridge.tickward import (
    PROJECT_NAME_MAX,
    Project,
    Sync,
    SyncSnapshot,
    TickwardClient,
    find_project,
)
from ical_bridge.vocabulary import Conflict, OnDelete

__all__ = ["SyncOptions", "desired_from", "import_options", "plan_source"]

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
    on_delete: OnDelete = "archive"
    conflict: Conflict = "feed-wins"
    timezone: str | None = None
    include_todos: bool = False
    all_day_time: time = time(0, 0)
    source_key: str = ""
    allow_empty: bool = False
    mass_delete_ratio: float = 0.5
    limits: Limits = field(default_factory=Limits)
    follow_calendar_color: bool = True
    pin_priority: bool = False
    local_timezone: str | None = None  # the machine's zone: floating/all-day after ``timezone``
    choices: EventChoices = field(default_factory=EventChoices)  # reminders, filters, target


def desired_from(result: ConversionResult, *, space: str | None = None) -> list[TimerDraft]:
    """The converter's drafts as planner input (``space`` fills drafts without one)."""
    out = []
    for draft in result.timers:
        body: dict[str, Any] = dict(draft.timer)
        if space and not body.get("space_id"):
            body["space_id"] = space
        if body.get("recurrence") is None:
            body.pop("recurrence", None)
        out.append(replace(draft, timer=body))
    return out


def _find_target(snapshot: Sync, name: str, store: StateStore) -> tuple[Project | None, str]:
    """The target project; when a name is taken twice (two runs that raced before project
    creation was locked), the one holding the bridge's records, else the oldest, and why."""
    try:
        return find_project(snapshot, name), ""
    except UserError:
        same = [p for p in snapshot.projects if p.name.casefold() == name.casefold()]
        if len(same) < 2:
            raise
    ranked = sorted(same, key=lambda p: (-len(store.timers(p.id)), p.created_at or "", p.id))
    chosen = ranked[0]
    others = ", ".join(p.id for p in ranked[1:])
    return chosen, (f"several projects are named {name!r}; using {chosen.id} (the bridge's "
                    f"records are there, or it is the oldest); not touched: {others}")


def _allow_empty_hint(source_key: str) -> str:
    if source_key.startswith("feed:"):
        return f"set allow_empty = true in feed {source_key[5:]!r}'s config to proceed"
    return "use --allow-empty to proceed"


def _notices(result: ConversionResult) -> list[Notice]:
    notices = list(result.warnings)
    for draft in result.timers:
        label = draft.timer.get("label", "")
        notices.extend(Notice(w.code, f"{label}: {w.message}") for w in draft.warnings)
    return notices


def import_options(options: SyncOptions) -> ImportOptions:
    """The converter's settings for ``options`` (plain values: they may cross processes)."""
    return ImportOptions(
        now=options.now,
        default_tz=options.timezone,
        strategy=options.strategy,
        window=options.window,
        include_todos=options.include_todos,
        all_day_time=options.all_day_time,
        categories_to_spaces=dict(options.categories_to_spaces),
        source_key=options.source_key,
        pin_priority=options.pin_priority,
        local_tz=options.local_timezone,
        choices=options.choices,
    )


async def plan_source(
    client: TickwardClient,
    store: StateStore,
    data: DecodedFeed | bytes,
    options: SyncOptions,
    *,
    snapshot: Sync | None = None,
    converted: ConversionResult | None = None,
) -> Plan:
    """Plan importing the calendar ``data`` (decoded once by the caller, or bytes; contract 5);
    reads tickward, writes nothing. ``converted``: ``data`` already converted with
    ``import_options(options)`` (e.g. in a worker process)."""
    result = converted or convert_calendar(data, import_options(options))
    name = (options.project or result.calendar.name or "").strip()
    if len(name) > PROJECT_NAME_MAX:  # tickward would cut it: two long names, one project
        raise UserError(f"project name {name[:20]!r}… is {len(name)} characters; tickward "
                        f"project names are at most {PROJECT_NAME_MAX}: pass --project NAME")
    if not name:
        raise UserError("the calendar has no name (X-WR-CALNAME/NAME): pass --project NAME|ID")
    source_key = calendar_source_key(options.source_key, result)
    if snapshot is None:  # a one-shot import: a snapshot of its own, read once
        snapshot = await SyncSnapshot(client, clock=client.clock, watch_writes=False).read()
    project, duplicate = _find_target(snapshot, name, store)
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
        adopt_project_intent(store, project.id, project.name, source_key)  # a lost answer
        records = store.timers(project.id)
    policy = Policy(
        on_delete=options.on_delete,
        conflict=options.conflict,
        allow_empty=options.allow_empty,
        mass_delete_ratio=options.mass_delete_ratio,
        limits=limits,
        allow_empty_hint=_allow_empty_hint(options.source_key),
    )
    warnings = _notices(result)
    if duplicate:
        warnings.append(Notice("duplicate_project", duplicate))
    return build_plan(
        rekey(desired_from(result, space=options.space), source_key),
        project=target,
        timers=timers,
        spaces=spaces,
        records=records,
        source_key=source_key,
        now=options.now,
        policy=policy,
        source_skipped=result.skipped,
        warnings=warnings,
        empty_source=not result.timers and not result.skipped,
        nested_create=nested,
    )
