"""Executes a ``Plan`` through the tickward client and records what was written.

Order: the project (one nested create after a preview, or a colour PATCH),
spaces, then timer deletes, archives, updates and creates. Each write carries
an ``Idempotency-Key`` (``tickward.change_key``) of (timer id, action, body, base ``updated_at``)
so a retried or re-run change is never applied twice, and its state record is
written right after it succeeds, so an interrupted run resumes where it stopped.
The records of timer creates are the exception: each create already has a pending
record (``intent``), so their confirmations are written in batches (``RecordBatch``),
and at the end of the run, also an interrupted one. A crash before a batch is written
loses nothing: the next run finds those timers and records them (issue 15.1).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ical_bridge.errors import (
    APIError,
    AuthenticationError,
    NotFoundError,
    PlanCap,
    RateLimitedError,
    StoreError,
    TickwardError,
    TransportError,
    ValidationError,
)
from ical_bridge.recurrence import parse_iso
from ical_bridge.store import StateStore
from ical_bridge.sync.fields import patch_body
from ical_bridge.sync.intent import (
    RecordBatch,
    adopt_project_intent,
    note_creates,
    note_project_creates,
    timer_record,
)
from ical_bridge.sync.plan import Change, Plan
from ical_bridge.sync.shares import SharePlan
from ical_bridge.tickward import ProjectCreateResult, TickwardClient, Timer, change_key

__all__ = ["ApplyReport", "Failure", "apply_plan", "create_shares", "reconcile"]

Progress = Callable[[int, int], None]
# After these, further writes would fail the same way: stop instead of hammering.
_FATAL = (AuthenticationError, TransportError, RateLimitedError)


@dataclass(frozen=True)
class Failure:
    """One write that failed, with tickward's message and hint."""

    action: str
    timer_id: str | None
    label: str
    message: str
    hint: str | None = None


@dataclass
class ApplyReport:
    """What ``apply_plan`` did."""

    project_id: str | None = None
    written: int = 0
    done: dict[str, int] = field(default_factory=dict)
    failed: list[Failure] = field(default_factory=list)
    aborted: str | None = None
    # Writes not sent because tickward said a plan cap they need was reached.
    left_out: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every planned write succeeded."""
        return not self.failed and self.aborted is None and not self.left_out


def _dump(timer: Timer) -> dict[str, Any]:
    return timer.model_dump(mode="json")


def _is_id_taken(exc: ValidationError) -> bool:
    texts = [str(exc.args[0] if exc.args else "")] + [e.message for e in exc.field_errors]
    return any("already exists" in t for t in texts)


class _Run:
    def __init__(self, client: TickwardClient, store: StateStore, plan: Plan,
                 progress: Progress | None) -> None:
        self.client, self.store, self.plan = client, store, plan
        self.report = ApplyReport(project_id=plan.project.id)
        self.space_of = {c.timer_id: c.fields.get("space_id") for c in plan.writes}
        self.progress = progress
        self.total = _count_steps(plan)
        self.step = 0
        # (cap kind, space id or None) → the cap tickward reported: once a cap is
        # reached, every further write that needs it would be refused the same way.
        self.capped: dict[tuple[str, str | None], PlanCap] = {}
        self.spaces_left_out: set[str] = set()  # their timers are left out too
        self.batch = RecordBatch(store)

    def tick(self, action: str | None = None, writes: int = 1) -> None:
        self.step += 1
        if action:
            self.report.done[action] = self.report.done.get(action, 0) + 1
            self.report.written += writes
        if self.progress is not None:
            self.progress(min(self.step, self.total), self.total)

    def fail(self, action: str, timer_id: str | None, label: str, exc: Exception) -> None:
        hint = exc.hint if isinstance(exc, APIError) else None
        self.report.failed.append(Failure(action, timer_id, label, str(exc), hint))
        if isinstance(exc, APIError) and exc.cap is not None:
            space = self.space_of.get(timer_id or "") if exc.cap.kind.startswith("active") else None
            self.capped[(exc.cap.kind, space)] = exc.cap
        if isinstance(exc, _FATAL):
            self.report.aborted = f"stopped after {type(exc).__name__}: {exc}"

    def cap_hit(self, change: Change) -> PlanCap | None:
        """The reached cap ``change`` would need, if any (then it is left out, not sent)."""
        fields = change.fields
        space = fields.get("space_id")
        adds = change.action == "create"
        activates = adds or (change.action == "update"
                             and ("space_id" in fields or fields.get("archived") is False))
        if adds and ("timers", None) in self.capped:
            return self.capped[("timers", None)]
        if activates and space and ("active_timers_per_space", space) in self.capped:
            return self.capped[("active_timers_per_space", space)]
        if "space_id" in fields and space in self.spaces_left_out:
            return self.capped[("spaces", None)]
        return None

    def leave_out(self, action: str, timer_id: str | None, label: str, cap: PlanCap) -> None:
        what = {"timers": "timers per project", "spaces": "spaces per project",
                "active_timers_per_space": "active timers per space"}.get(cap.kind, cap.kind)
        message = f"left out: tickward allows {cap.limit} {what} and that cap is reached"
        self.report.left_out.append(Failure(action, timer_id, label, message))
        self.tick()

    def record(self, change: Change | None, remote: Mapping[str, Any]) -> None:
        """Record ``remote`` as ``change``'s timer now (one commit)."""
        if self.report.project_id is not None:
            _record(self.store, self.plan, self.report.project_id, change, remote)

    def record_create(self, change: Change, remote: Mapping[str, Any]) -> None:
        """Record a created timer in the next batch (its pending record covers a crash)."""
        if self.report.project_id is not None:
            rec = timer_record(self.plan, self.report.project_id, change, remote)
            if rec is not None:
                self.batch.add(rec)


def _record(store: StateStore, plan: Plan, project_id: str, change: Change | None,
            remote: Mapping[str, Any]) -> None:
    """Remember that ``remote`` (tickward's timer) is this source's timer for ``change``."""
    rec = timer_record(plan, project_id, change, remote)
    if rec is not None:
        store.put_timer(rec)


def _count_steps(plan: Plan) -> int:
    steps = len(plan.writes) + len(plan.spaces)
    if plan.project.create or plan.project.new_color:
        steps += 1
    return max(steps, 1)


def _nested_body(plan: Plan) -> tuple[dict[str, Any], set[str], set[str]]:
    """The project-create body with as many spaces and timers nested as the server allows."""
    limits = plan.limits
    spaces = plan.spaces[: limits.project_create_max_spaces] if plan.nested_create else []
    space_ids = {s.id for s in spaces}
    room = limits.project_create_max_timers if plan.nested_create else 0
    by_space: dict[str, list[dict[str, Any]]] = {s.id: [] for s in spaces}
    loose: list[dict[str, Any]] = []
    nested: set[str] = set()
    for change in plan.writes:
        if change.action != "create" or room <= 0:
            continue
        sid = change.fields.get("space_id")
        if sid and sid not in space_ids:
            continue
        timer = {k: v for k, v in change.fields.items() if k != "space_id"}
        (by_space[sid] if sid else loose).append(timer)
        nested.add(change.timer_id)
        room -= 1
    body: dict[str, Any] = {"name": plan.project.name}
    if plan.project.new_color:
        body["color"] = plan.project.new_color
    if spaces:
        body["spaces"] = [
            {"id": s.id, "name": s.name, **({"timers": by_space[s.id]} if by_space[s.id] else {})}
            for s in spaces
        ]
    if loose:
        body["timers"] = loose
    return body, space_ids, nested


async def _create_project(run: _Run, body: dict[str, Any]) -> ProjectCreateResult:
    """``POST /projects/preview`` then ``POST /projects`` with the preview's plan hash."""
    preview = await run.client.preview_project(body)
    key = change_key(run.plan.project.name, "create-project", body, run.plan.source_key)
    return await run.client.create_project(
        {**body, "expected_plan_hash": preview.plan_hash}, idempotency_key=key
    )


async def _project(run: _Run) -> tuple[set[str], set[str]]:
    """Create the project (nested) or follow the calendar's colour; spaces/timers done."""
    plan, client = run.plan, run.client
    if not plan.project.create:
        if plan.project.new_color and plan.project.id:
            color = plan.project.new_color
            key = change_key(plan.project.id, "project-color", {"color": color}, None)
            try:
                await client.update_project(plan.project.id, {"color": color},
                                            idempotency_key=key)
                run.tick("project")
            except TickwardError as exc:
                run.fail("update_project", None, plan.project.name, exc)
                run.tick()
        return set(), set()
    body, space_ids, nested = _nested_body(plan)
    note_project_creates(run.store, plan.project.name, plan.source_key,
                         [c for c in plan.writes if c.timer_id in nested])
    try:
        created = await _create_project(run, body)
    except ValidationError:
        if not (space_ids or nested):
            raise
        # One refused nested item fails the whole create: create the bare project
        # instead, so only that item fails (and is reported) later.
        body = {k: v for k, v in body.items() if k not in ("spaces", "timers")}
        space_ids, nested = set(), set()
        created = await _create_project(run, body)
    run.report.project_id = created.id
    adopt_project_intent(run.store, created.id, plan.project.name, plan.source_key)
    by_id = {c.timer_id: c for c in plan.writes}
    records = (timer_record(plan, created.id, by_id.get(t.id), _dump(t)) for t in created.timers)
    run.store.put_timers(rec for rec in records if rec is not None)  # one commit
    if created.timers:
        run.report.done["create"] = run.report.done.get("create", 0) + len(created.timers)
    if created.spaces:
        run.report.done["space"] = len(created.spaces)
    run.tick("project")
    run.step += len(space_ids) + len(nested)
    return space_ids, nested


async def _space(run: _Run, space_id: str, name: str) -> None:
    assert run.report.project_id is not None
    if ("spaces", None) in run.capped:
        run.spaces_left_out.add(space_id)
        run.leave_out("create_space", None, name, run.capped[("spaces", None)])
        return
    key = change_key(space_id, "create-space", {"name": name}, run.report.project_id)
    try:
        await run.client.create_space(run.report.project_id, {"id": space_id, "name": name},
                                      idempotency_key=key)
        run.tick("space")
    except ValidationError as exc:
        if not _is_id_taken(exc):
            run.fail("create_space", None, name, exc)
            if exc.cap is not None and exc.cap.kind == "spaces":
                run.spaces_left_out.add(space_id)
        run.tick()
    except TickwardError as exc:
        run.fail("create_space", None, name, exc)
        run.tick()


async def _adopt(run: _Run, change: Change) -> None:
    """A create found the id taken (a lost answer or a race): adopt the timer that is there."""
    pid = run.report.project_id
    assert pid is not None
    timer = _dump(await run.client.get_timer(pid, change.timer_id))
    now = parse_iso(str(timer.get("updated_at") or "1970-01-01T00:00:00Z"))
    patch = patch_body(change.fields, timer, max(now, run.client.clock.now()))
    if patch:
        key = change_key(change.timer_id, "update", patch, timer.get("updated_at"))
        timer = _dump(await run.client.update_timer(pid, change.timer_id, patch,
                                                    idempotency_key=key))
    run.record(change, timer)


async def _timer(run: _Run, change: Change) -> None:
    pid = run.report.project_id
    assert pid is not None
    client = run.client
    key = change_key(change.timer_id, change.action, change.fields, change.base_updated_at)
    if change.action == "create":
        try:
            timer = await client.create_timer(pid, change.fields, idempotency_key=key)
            run.record_create(change, _dump(timer))
        except ValidationError as exc:
            if not _is_id_taken(exc):
                raise
            await _adopt(run, change)
    elif change.action in ("update", "archive"):
        timer = await client.update_timer(pid, change.timer_id, change.fields,
                                          idempotency_key=key)
        run.record(change, _dump(timer))
    elif change.action == "delete":
        try:
            await client.delete_timer(pid, change.timer_id, idempotency_key=key)
        except NotFoundError:
            pass  # already gone: the goal is reached
        run.store.delete_timer(pid, change.timer_id)


def reconcile(store: StateStore, plan: Plan) -> int:
    """Bring the state store in line with what the plan saw in tickward, writing nothing to
    tickward: record bridge timers that exist but are unrecorded or stale (a lost answer, an
    adopted timer) and forget records of timers that are gone. Run it on EVERY run, also when
    the plan has no writes (issue 15.1); returns how many records changed."""
    pid = plan.project.id
    if pid is None:
        return 0
    changed = 0
    with store.transaction():
        for change in plan.changes:
            if change.action == "unchanged" and change.refresh_record and change.remote:
                _record(store, plan, pid, change, change.remote)
                changed += 1
        for timer_id in plan.forget:
            store.delete_timer(pid, timer_id)
            changed += 1
    return changed


async def apply_plan(
    client: TickwardClient,
    store: StateStore,
    plan: Plan,
    *,
    progress: Progress | None = None,
) -> ApplyReport:
    """Execute ``plan`` (contract 5); failures are collected, not raised, except the project's."""
    run = _Run(client, store, plan, progress)
    spaces_done, nested = await _project(run)
    if run.report.project_id is None:
        return run.report
    try:
        await _writes(run, spaces_done, nested)
    except BaseException:  # interrupted (Ctrl-C) or failed: record what was confirmed
        with contextlib.suppress(StoreError):  # (pending records cover them; keep the cause)
            run.batch.flush()
        raise
    run.batch.flush()
    return run.report


async def _writes(run: _Run, spaces_done: set[str], nested: set[str]) -> None:
    """Spaces, then every timer change that the nested project create did not make."""
    plan, store, pid = run.plan, run.store, run.report.project_id
    assert pid is not None
    for space in plan.spaces:
        if space.id not in spaces_done and run.report.aborted is None:
            await _space(run, space.id, space.name)
    reconcile(store, plan)  # (a project created just now has nothing to reconcile)
    note_creates(store, pid, plan.source_key,
                 [c for c in plan.writes if c.action == "create" and c.timer_id not in nested])
    for change in plan.changes:
        if change.action == "unchanged":
            continue
        if change.timer_id in nested:
            continue
        if run.report.aborted is not None:
            run.report.failed.append(Failure(change.action, change.timer_id, change.label,
                                             "not attempted: " + run.report.aborted))
            continue
        cap = run.cap_hit(change)
        if cap is not None:
            run.leave_out(change.action, change.timer_id, change.label, cap)
            continue
        try:
            await _timer(run, change)
            run.tick(change.action)
        except TickwardError as exc:
            run.fail(change.action, change.timer_id, change.label, exc)
            run.tick()


async def create_shares(client: TickwardClient, plan: SharePlan) -> dict[str, str]:
    """Create the planned share links (``change_key`` keys: a retried export never makes a
    second one); every link of the plan as timer id → url path."""
    links = dict(plan.existing)
    for timer_id in plan.create:
        key = change_key(plan.project_id, timer_id, "create-share", None)
        share = await client.create_share(plan.project_id, timer_id, idempotency_key=key)
        links[timer_id] = share.url_path
    return links
