"""The pure import planner: desired timers vs what tickward has vs what the state remembers.

``build_plan`` turns plain data (the converter's ``TimerDraft``s, the project's timers and
spaces as tickward JSON, the state store's records) into a ``Plan``: a list of
``Change`` objects (create, update, archive, delete, unchanged) plus what was
left out and why. It does no I/O and reads no clock; ``apply_plan`` executes it.

Decision table for one bridge timer id (``ours`` = ``icb_`` prefix and a state
record of this source, or the deterministic id of a desired draft)::

    desired  remote   record        → action   (fields compared as in ``ical_bridge.sync.fields``)
    yes      absent   none/ours     → create (record: re-create, or kept deleted if tickward wins)
    yes      present  other source  → skipped (the id belongs to another source)
    yes      present  none/ours     → update (changed fields only; restore if archived) / unchanged
    no       present  ours          → archive | delete | keep (per on_delete), unless guarded
    no       absent   ours          → forget the record
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from ical_bridge.convert.model import BRIDGE_ID_PREFIX, Notice, Skipped, SourceRef, TimerDraft
from ical_bridge.recurrence import format_utc, parse_iso
from ical_bridge.store.records import TimerRecord
from ical_bridge.sync.fields import fingerprint, patch_body
from ical_bridge.sync.identity import owner_name, resolve
from ical_bridge.tickward.responses import CapabilityLimits
from ical_bridge.vocabulary import Conflict, OnDelete

__all__ = [
    "Action",
    "Change",
    "Limits",
    "Plan",
    "Policy",
    "ProjectTarget",
    "SpaceCreate",
    "build_plan",
    "make_room",
    "space_id_for",
]

Action = Literal["create", "update", "archive", "delete", "unchanged"]
# Removal causes that count towards the mass-deletion guard (natural expiry does not).
_GUARDED_CAUSES = frozenset({"gone", "cancelled"})
_CAUSE_TEXT = {
    "gone": "event left the calendar",
    "cancelled": "event was cancelled",
    "ended": "the series ended",
    "past": "event is in the past",
    "outside_window": "event is outside the import window",
    "filtered": "event is left out by the filters",
}
_NARROW = {
    "project": "narrow the import with --window or --strategy native/rolling "
               "(or raise --limits if the server allows more)",
    "space": "spread the timers over spaces (--space, categories) or narrow with --window",
}


PENDING = "pending"  # the fingerprint of a record written before its create (sync.intent)
_CAPABILITIES = CapabilityLimits()  # what GET /capabilities answers when it says nothing


@dataclass(frozen=True)
class Limits:
    """Plan caps the plan respects (free-account defaults; self-hosted servers raise them)."""

    timers_per_project: int = 40
    active_timers_per_space: int = 40
    spaces_per_project: int = 4
    projects: int = 20
    project_create_max_timers: int = _CAPABILITIES.project_create_max_timers
    project_create_max_spaces: int = _CAPABILITIES.project_create_max_spaces


@dataclass(frozen=True)
class Policy:
    """The user's choices that shape a plan."""

    on_delete: OnDelete = "archive"
    conflict: Conflict = "feed-wins"
    allow_empty: bool = False
    mass_delete_ratio: float = 0.5
    mass_delete_min: int = 3
    limits: Limits = field(default_factory=Limits)
    allow_empty_hint: str = "use --allow-empty to proceed"  # a feed: its allow_empty key


@dataclass(frozen=True)
class ProjectTarget:
    """The target project: existing (``id``) or to be created (``id is None``)."""

    id: str | None
    name: str
    color: str | None = None
    new_color: str | None = None  # set when the project's colour must follow the calendar

    @property
    def create(self) -> bool:
        """True when the project does not exist yet."""
        return self.id is None


@dataclass(frozen=True)
class SpaceCreate:
    """A space the plan creates (before any timer that uses it)."""

    id: str
    name: str


@dataclass(frozen=True)
class Change:
    """One planned change to one timer."""

    action: Action
    timer_id: str
    label: str
    strategy: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    base_updated_at: str | None = None
    source: SourceRef | None = None
    note: str | None = None
    refresh_record: bool = False
    remote: Mapping[str, Any] | None = None
    series_end: str | None = None  # ISO instant of a finite series' last occurrence

    def to_json(self) -> dict[str, Any]:
        """The ``changes[]`` entry of ``import --json``."""
        out: dict[str, Any] = {
            "action": self.action,
            "timer_id": self.timer_id,
            "label": self.label,
            "strategy": self.strategy,
            "fields": dict(self.fields),
        }
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Plan:
    """What an import would do; ``apply_plan`` executes it."""

    project: ProjectTarget
    source_key: str
    changes: list[Change] = field(default_factory=list)
    spaces: list[SpaceCreate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    forget: list[str] = field(default_factory=list)
    suspicious: str | None = None
    limits: Limits = field(default_factory=Limits)
    nested_create: bool = True

    @property
    def writes(self) -> list[Change]:
        """Changes that send a timer write, in execution order (deletes before creates)."""
        return [c for c in self.changes if c.action != "unchanged"]

    @property
    def summary(self) -> dict[str, int]:
        """Counts per action, plus ``skipped``."""
        counts = {a: 0 for a in ("create", "update", "archive", "delete", "unchanged")}
        for change in self.changes:
            counts[change.action] += 1
        counts["skipped"] = len(self.skipped)
        return counts

    @property
    def empty(self) -> bool:
        """True when applying would send nothing (no timer, space or project writes)."""
        return not (self.writes or self.spaces or self.project.create or self.project.new_color)

    def to_json(self, *, dry_run: bool = False) -> dict[str, Any]:
        """The ``import --json`` object."""
        return {
            "project": {
                "id": self.project.id,
                "name": self.project.name,
                "create": self.project.create,
                "color": self.project.new_color or self.project.color,
            },
            "dry_run": dry_run,
            "summary": self.summary,
            "changes": [c.to_json() for c in self.writes],
            "spaces": [{"id": s.id, "name": s.name} for s in self.spaces],
            "skipped": [_skip_json(s) for s in self.skipped],
            "warnings": [{"code": w.code, "message": w.message} for w in self.warnings],
            "suspicious": self.suspicious,
        }


def _skip_json(skip: Skipped) -> dict[str, Any]:
    out: dict[str, Any] = {"code": skip.code, "message": skip.message}
    for key in ("uid", "timer_id", "label"):
        if getattr(skip, key) is not None:
            out[key] = getattr(skip, key)
    return out


def space_id_for(value: str) -> str:
    """The deterministic id of a space the bridge creates for ``value`` (an id or a name)."""
    if 3 <= len(value) <= 64 and all(c.isascii() and (c.isalnum() or c in "_-") for c in value):
        return value
    return "icb_" + hashlib.sha256(value.encode()).hexdigest()[:16]


# ---------------------------------------------------------------- the planner


@dataclass
class _Ctx:
    policy: Policy
    now: datetime
    source_key: str
    plan: Plan
    remote: dict[str, Mapping[str, Any]]
    records: dict[str, TimerRecord]
    adopted: dict[str, str] = field(default_factory=dict)  # timer id → why (sync.identity)


def make_room(rec: TimerRecord, remote: Mapping[str, Any]) -> Change:
    """The delete of an old archived bridge timer, to make room under the project's cap."""
    return Change("delete", rec.timer_id, str(remote.get("label", "")), rec.strategy, {},
                  remote.get("updated_at"), _source_of(rec),
                  "old archived timer deleted to make room", remote=remote,
                  series_end=rec.series_end)


def _source_of(rec: TimerRecord) -> SourceRef:
    return SourceRef(rec.uid, rec.recurrence_id, rec.part)


def _end(draft: TimerDraft) -> str | None:
    return format_utc(draft.series_end) if draft.series_end else None


def _conflicted(rec: TimerRecord | None, remote: Mapping[str, Any]) -> bool:
    """A person edited the timer in tickward since we last wrote it."""
    if rec is None or rec.remote_updated_at is None:
        return False
    if remote.get("updated_at") == rec.remote_updated_at:
        return False
    return fingerprint(remote) != rec.fingerprint


def _resolve_spaces(
    desired: list[TimerDraft], spaces: Sequence[Mapping[str, Any]], ctx: _Ctx
) -> list[TimerDraft]:
    """Map each draft's space (id or name) to an existing or new space; respect the cap."""
    by_id = {str(s["id"]): s for s in spaces}
    by_name = {str(s.get("name", "")).casefold(): str(s["id"]) for s in spaces}
    room = ctx.policy.limits.spaces_per_project - len(spaces)
    new: dict[str, SpaceCreate] = {}
    out: list[TimerDraft] = []
    for d in desired:
        value = d.timer.get("space_id")
        if not value:
            out.append(d)
            continue
        value = str(value)
        if value in by_id:
            sid = value
        elif value.casefold() in by_name:
            sid = by_name[value.casefold()]
        else:
            sid = space_id_for(value)
            if sid not in new and sid not in by_id:
                if room <= 0:
                    ctx.plan.skipped.append(Skipped(
                        d.source.uid, "limit",
                        f"space {value!r} cannot be created: the project already has "
                        f"{ctx.policy.limits.spaces_per_project} spaces (the plan limit)",
                        timer_id=d.id, label=str(d.timer.get("label")),
                    ))
                    continue
                room -= 1
                new[sid] = SpaceCreate(sid, value[:30])
        out.append(replace(d, timer={**d.timer, "space_id": sid}))
    ctx.plan.spaces.extend(new.values())
    return out


def _plan_desired(d: TimerDraft, ctx: _Ctx) -> Change | None:
    tid = d.id
    rec = ctx.records.get(tid)
    adopted = ctx.adopted.get(tid)
    if adopted is not None:
        rec = None  # another source's record, or one of an old UID: this source's from now
    if rec is not None and rec.source_key != ctx.source_key:
        ctx.plan.skipped.append(Skipped(
            d.source.uid, "not_ours", f"timer id {tid} belongs to {owner_name(rec.source_key)},"
            " which imported it into this project; not duplicated",
            timer_id=tid, label=str(d.timer.get("label")),
        ))
        return None
    label = str(d.timer.get("label"))
    remote = ctx.remote.get(tid)
    end = _end(d)
    if remote is None and rec is not None and rec.fingerprint == PENDING:
        rec = None  # a create that never arrived: simply create it
    if remote is None:
        if rec is not None and ctx.policy.conflict == "tickward-wins":
            ctx.plan.skipped.append(Skipped(
                d.source.uid, "conflict", "deleted in tickward since the last import; kept "
                "deleted (--conflict tickward-wins)", timer_id=tid, label=label,
            ))
            return None
        note = "deleted in tickward since the last import; re-created (feed wins)" if rec else None
        base = rec.remote_updated_at if rec else None  # a re-create is a new logical change
        return Change("create", tid, label, d.strategy, dict(d.timer), base, d.source, note,
                      series_end=end)
    base = remote.get("updated_at")
    conflict = _conflicted(rec, remote)
    fresh = rec is None or rec.remote_updated_at != base
    if conflict and ctx.policy.conflict == "tickward-wins":
        return Change(
            "unchanged", tid, label, d.strategy, {}, base, d.source,
            "conflict: edited in tickward since the last import; kept (tickward wins)",
            refresh_record=False, remote=remote, series_end=end,
        )
    patch = patch_body(d.timer, remote, ctx.now)
    if not patch:
        return Change("unchanged", tid, label, d.strategy, {}, base, d.source, adopted,
                      refresh_record=fresh, remote=remote, series_end=end)
    note = "conflict: edited in tickward since the last import; feed wins" if conflict else None
    if rec is None:
        note = adopted or "adopted an existing timer with this source's id"
    return Change("update", tid, label, d.strategy, patch, base, d.source, note,
                  remote=remote, series_end=end)


def _plan_removal(rec: TimerRecord, cause: str, ctx: _Ctx) -> Change | None:
    remote = ctx.remote[rec.timer_id]
    label = str(remote.get("label", ""))
    origin = _source_of(rec)
    end = rec.series_end
    base = remote.get("updated_at")
    reason = _CAUSE_TEXT.get(cause, cause)
    if _conflicted(rec, remote) and ctx.policy.conflict == "tickward-wins":
        return Change("unchanged", rec.timer_id, label, rec.strategy, {}, base, origin,
                      f"{reason}, but edited in tickward; kept (tickward wins)", remote=remote,
                      series_end=end)
    on_delete = ctx.policy.on_delete
    if on_delete == "keep" or (on_delete == "archive" and remote.get("archived_at")):
        note = f"{reason}; kept (--on-delete keep)" if on_delete == "keep" else None
        return Change("unchanged", rec.timer_id, label, rec.strategy, {}, base, origin, note,
                      remote=remote, series_end=end)
    if on_delete == "delete":
        return Change("delete", rec.timer_id, label, rec.strategy, {}, base, origin, reason,
                      remote=remote, series_end=end)
    fields = {"archived_at": format_utc(ctx.now)}
    return Change("archive", rec.timer_id, label, rec.strategy, fields, base, origin, reason,
                  remote=remote, series_end=end)


def _guard(removals: list[tuple[Change, str]], owned_active: int, empty: bool,
           ctx: _Ctx) -> list[Change]:
    """The mass-deletion guard: drop removals that look like a broken feed."""
    lost = sum(1 for c, cause in removals if cause in _GUARDED_CAUSES
               and c.action in ("archive", "delete"))
    why = None
    if empty and owned_active and lost:
        why = (f"the source yielded no events while the project holds {owned_active} "
               "timers of this source")
    elif (lost >= ctx.policy.mass_delete_min
          and lost > ctx.policy.mass_delete_ratio * max(owned_active, 1)):
        why = (f"{lost} of {owned_active} timers of this source would be removed at once "
               f"(more than {ctx.policy.mass_delete_ratio:.0%})")
    if why is None or ctx.policy.allow_empty:
        return [c for c, _ in removals]
    ctx.plan.suspicious = f"{why}; nothing archived or deleted ({ctx.policy.allow_empty_hint})"
    kept = []
    for change, cause in removals:
        if cause in _GUARDED_CAUSES and change.action in ("archive", "delete"):
            ctx.plan.skipped.append(Skipped(None, "guard", f"not removed: {ctx.plan.suspicious}",
                                            timer_id=change.timer_id, label=change.label))
        else:
            kept.append(change)
    return kept


def _space_of(change: Change) -> str | None:
    if change.action == "create":
        return change.fields.get("space_id") or None
    remote = change.remote or {}
    return (change.fields.get("space_id") if "space_id" in change.fields
            else remote.get("space_id")) or None


def _fit_limits(changes: list[Change], project_timers: Sequence[Mapping[str, Any]],
                order: dict[str, int], ctx: _Ctx) -> list[Change]:
    """Keep the plan inside the plan caps; delete old archived bridge timers to make room."""
    limits = ctx.policy.limits
    creates = sorted((c for c in changes if c.action == "create"),
                     key=lambda c: order.get(c.timer_id, 0))
    others = [c for c in changes if c.action != "create"]
    deleting = {c.timer_id for c in others if c.action == "delete"}
    room = limits.timers_per_project - len(project_timers) + len(deleting)
    if len(creates) > room and not ctx.plan.suspicious:
        touched = {c.timer_id for c in others if c.action != "unchanged" or c.note}
        old = sorted(
            (t for t in project_timers if t.get("archived_at") and str(t["id"]) not in deleting
             and str(t["id"]) in ctx.records and str(t["id"]) not in touched
             and ctx.records[str(t["id"])].source_key == ctx.source_key
             and str(t["id"]) not in order),
            key=lambda t: str(t.get("archived_at")),
        )
        for t in old[: len(creates) - room]:
            rec = ctx.records[str(t["id"])]
            others = [c for c in others if c.timer_id != rec.timer_id]
            others.append(make_room(rec, t))
            room += 1
    active: dict[str | None, int] = {}
    for t in project_timers:
        if not t.get("archived_at"):
            key = t.get("space_id") or None
            active[key] = active.get(key, 0) + 1
    kept: list[Change] = []
    for c in others:  # removals free active slots; restores and moves take them
        remote = c.remote or {}
        was_active = bool(remote) and not remote.get("archived_at")
        old_space = remote.get("space_id") or None
        if c.action in ("archive", "delete") and was_active:
            active[old_space] = active.get(old_space, 0) - 1
    for c in sorted(others, key=lambda c: order.get(c.timer_id, 0)):
        remote = c.remote or {}
        if c.action == "update":
            new_space = _space_of(c)
            was_active = not remote.get("archived_at")
            old_space = remote.get("space_id") or None
            if not was_active or new_space != old_space:
                if active.get(new_space, 0) >= limits.active_timers_per_space:
                    ctx.plan.skipped.append(_limit_skip(c, "space", limits))
                    continue
                active[new_space] = active.get(new_space, 0) + 1
                if was_active:
                    active[old_space] = active.get(old_space, 0) - 1
        kept.append(c)
    for c in creates:
        space = _space_of(c)
        if room <= 0:
            ctx.plan.skipped.append(_limit_skip(c, "project", limits))
            continue
        if active.get(space, 0) >= limits.active_timers_per_space:
            ctx.plan.skipped.append(_limit_skip(c, "space", limits))
            continue
        room -= 1
        active[space] = active.get(space, 0) + 1
        kept.append(c)
    return kept


def _limit_skip(c: Change, which: str, limits: Limits) -> Skipped:
    if which == "project":
        why = f"the project would exceed {limits.timers_per_project} timers (archived included)"
    else:
        why = f"the space would exceed {limits.active_timers_per_space} active timers"
    return Skipped(c.source.uid if c.source else None, "limit",
                   f"left out: {why}; {_NARROW[which]}", timer_id=c.timer_id, label=c.label)


def build_plan(
    desired: Sequence[TimerDraft],
    *,
    project: ProjectTarget,
    timers: Sequence[Mapping[str, Any]],
    spaces: Sequence[Mapping[str, Any]],
    records: Sequence[TimerRecord],
    source_key: str,
    now: datetime,
    policy: Policy | None = None,
    source_skipped: Sequence[Skipped] = (),
    warnings: Sequence[Notice] = (),
    empty_source: bool = False,
    nested_create: bool = True,
) -> Plan:
    """Plan one import of ``desired`` into ``project`` (``timers``/``spaces``: tickward JSON)."""
    policy = policy or Policy()
    plan = Plan(project=project, source_key=source_key, limits=policy.limits,
                skipped=list(source_skipped), warnings=list(warnings),
                nested_create=nested_create)
    ctx = _Ctx(policy, now, source_key, plan, {str(t["id"]): t for t in timers},
               {r.timer_id: r for r in records})
    ordered = sorted(
        enumerate(desired),
        key=lambda p: (p[1].next_occurrence, p[0]),
    )
    wanted: list[TimerDraft] = []
    seen: set[str] = set()
    ended: set[str] = set()
    for _, d in ordered:
        tid = d.id
        if tid in seen:
            plan.skipped.append(Skipped(d.source.uid, "duplicate",
                                        f"a second draft with id {tid}", timer_id=tid))
            continue
        seen.add(tid)
        if d.series_end and d.series_end < now:
            ended.add(tid)  # a finite native/split series whose last occurrence passed
            continue
        wanted.append(d)
    identity = resolve(wanted, records, ctx.remote, source_key)
    wanted, ctx.adopted = identity.drafts, identity.adopted
    plan.skipped.extend(identity.skipped)
    plan.warnings.extend(identity.notices)
    order = {d.id: i for i, d in enumerate(wanted)}
    wanted = _resolve_spaces(wanted, spaces, ctx)
    changes = [c for c in (_plan_desired(d, ctx) for d in wanted) if c is not None]

    causes = {s.uid: s.code for s in source_skipped if s.uid}
    now_as = {d.source.uid: d.strategy for d in wanted}  # a series still in the source
    removals: list[tuple[Change, str]] = []
    owned_active = 0
    for rec in records:
        if not rec.timer_id.startswith(BRIDGE_ID_PREFIX):
            continue  # never ours, whatever a record says
        if rec.source_key != source_key or rec.timer_id in order:
            if rec.source_key == source_key and rec.timer_id in ctx.remote:
                owned_active += not ctx.remote[rec.timer_id].get("archived_at")
            continue
        if rec.timer_id not in ctx.remote:
            plan.forget.append(rec.timer_id)
            continue
        remote = ctx.remote[rec.timer_id]
        owned_active += not remote.get("archived_at")
        cause = "ended" if rec.timer_id in ended else causes.get(rec.uid, "gone")
        if rec.series_end and parse_iso(rec.series_end) < now:
            cause = "ended"
        if cause == "gone" and now_as.get(rec.uid, rec.strategy) != rec.strategy:
            cause = (f"replaced: the series is now imported as {now_as[rec.uid]} "
                     f"(was {rec.strategy})")  # not a loss: outside the mass-deletion guard
        if cause == "unsupported":
            plan.skipped.append(Skipped(rec.uid, "unsupported", "event can no longer be "
                                        "converted; its timer is left as is",
                                        timer_id=rec.timer_id))
            continue
        change = _plan_removal(rec, cause, ctx)
        if change is not None:
            removals.append((change, cause))
    changes.extend(_guard(removals, owned_active, empty_source, ctx))
    changes = _fit_limits(changes, timers, order, ctx)
    rank = {"delete": 0, "archive": 1, "update": 2, "create": 3, "unchanged": 4}
    plan.changes = sorted(changes, key=lambda c: (rank[c.action], order.get(c.timer_id, -1)))
    return plan
