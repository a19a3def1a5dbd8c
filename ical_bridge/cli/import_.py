"""``ical-bridge import``: plan an import, show it, confirm, apply (like terraform plan/apply).

Confirmation: an interactive run (stdin is a terminal) asks before writing
unless ``--yes``. A non-interactive run that would write refuses with exit 2
unless ``--yes`` is given (or ``--dry-run`` asked only for the plan), so a
script never changes tickward by accident. A plan with nothing to do exits 0.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn
from rich.table import Table
from rich.text import Text

from ical_bridge.cli import Settings
from ical_bridge.cli.codes import explain_option
from ical_bridge.cli.common import (
    JSON_VERSION,
    conflict_option,
    echo_json,
    event_choice_options,
    on_delete_option,
    parse_window,
    project_name,
    read_calendar,
    strategy_option,
)
from ical_bridge.cli.context import open_client
from ical_bridge.cli.convert import parse_all_day_time
from ical_bridge.cli.events import EventIndex, event_index, iso_dates, skip_line
from ical_bridge.cli.progressline import ProgressLine, progress_label
from ical_bridge.clock import system_zone
from ical_bridge.convert import convert_calendar
from ical_bridge.convert.choices import EventChoices
from ical_bridge.errors import UserError
from ical_bridge.ingest.fetch import source_key_for
from ical_bridge.store import StateStore, default_state_url
from ical_bridge.sync import (
    ApplyReport,
    Limits,
    Plan,
    SyncOptions,
    apply_plan,
    import_options,
    plan_source,
    reconcile,
)
from ical_bridge.sync.lock import project_lock

__all__ = ["applied_line", "import_command", "parse_limits", "state_url"]

# tickward's hosted per-key limit: what the ETA assumes for a remote API.
HOSTED_LIMIT, HOSTED_WINDOW = 120, 60.0
_LIMITS = Limits()
_DEFAULT_LIMITS = (
    f"{_LIMITS.timers_per_project}/{_LIMITS.active_timers_per_space}/{_LIMITS.spaces_per_project}"
)


def parse_limits(text: str) -> Limits:
    """``--limits 40/40/4``: timers per project, active timers per space, spaces per project."""
    parts = text.split("/")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise click.BadParameter(f"{text!r}: use TIMERS/ACTIVE/SPACES, e.g. 40/40/4")
    timers, active, spaces = (int(p) for p in parts)
    return Limits(timers_per_project=timers, active_timers_per_space=active,
                  spaces_per_project=spaces)


def state_url(value: str | None) -> str:
    """``--state``: a database URL as is, a path as SQLite, default under the user data dir."""
    if not value:
        return default_state_url()
    if "://" in value:
        return value
    path = Path(value).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class _RateAwareEta(ProgressColumn):
    """Time remaining: the observed pace, but never less than the rate limit allows."""

    def __init__(self, limit: int, window: float, sent_before: int) -> None:
        super().__init__()
        self.limit, self.window, self.sent_before = limit, window, sent_before

    def render(self, task: Task) -> Text:
        done, total = task.completed, task.total or 0
        remaining = max(total - done, 0)
        elapsed = task.elapsed or 0.0
        observed = elapsed / done * remaining if done else 0.0
        bound = 0.0
        if self.limit:
            budget = max(self.limit - self.sent_before - done, 0)
            bound = max(remaining - budget, 0) * self.window / self.limit
        eta = max(observed, bound)
        return Text(f"ETA {int(eta // 60)}:{int(eta % 60):02d}", style="progress.remaining")


def _show_plan(plan: Plan, out: Console, err: Console, verbose: int,
               index: EventIndex | None = None) -> None:
    project = plan.project
    where = f"{project.name} ({project.id})" if project.id else f"{project.name} (new project)"
    table = Table(title=Text(f"Import plan for {where}"), show_edge=False)  # a name: no markup
    for column in ("create", "update", "archive", "delete", "unchanged", "skipped"):
        table.add_column(column, justify="right")
    summary = plan.summary
    table.add_row(*(str(summary[k]) for k in ("create", "update", "archive", "delete",
                                               "unchanged", "skipped")))
    out.print(table)
    kept = _kept_conflicts(plan)
    if kept:
        out.print(kept + ": edited in tickward since the last import", markup=False)
        if verbose:
            for change in plan.changes:
                if change.action == "unchanged" and change.note and "tickward wins" in change.note:
                    out.print(f"  kept     {change.label}", markup=False, highlight=False)
    if plan.spaces:
        out.print("spaces to create: " + ", ".join(f"{s.name} ({s.id})" for s in plan.spaces),
                  markup=False, highlight=False)
    if project.new_color:
        out.print(f"project colour → {project.new_color}")
    shown = plan.writes if verbose else plan.writes[:30]
    for change in shown:
        fields = ", ".join(sorted(change.fields)) if change.action == "update" else ""
        note = f" — {change.note}" if change.note else ""
        out.print(f"  {change.action:8} {change.label}" + (f" [{fields}]" if fields else "")
                  + note, markup=False, highlight=False)
    if len(shown) < len(plan.writes):
        out.print(f"  … and {len(plan.writes) - len(shown)} more (-v lists all)")
    if plan.skipped:
        counts = Counter(s.code for s in plan.skipped)
        err.print("skipped: " + ", ".join(f"{n} {code}" for code, n in sorted(counts.items())),
                  markup=False, highlight=False)
    skipped = plan.skipped if verbose else [s for s in plan.skipped
                                             if s.code not in ("past", "outside_window")]
    for skip in skipped[: None if verbose else 20]:
        err.print(f"skipped {skip_line(skip, index or {})}", markup=False, highlight=False)
    for warning in plan.warnings[: None if verbose else 20]:
        err.print(f"warning ({warning.code}): {iso_dates(warning.message)}",
                  markup=False, highlight=False)
    if plan.suspicious:
        err.print(f"suspicious: {plan.suspicious}", markup=False, highlight=False)
    if plan.warnings or plan.skipped:
        err.print("--explain CODE says what a code means and what to do",
                  markup=False, highlight=False)


def _report_json(report: ApplyReport) -> dict[str, Any]:
    return {
        "project_id": report.project_id,
        "written": report.written,
        "done": report.done,
        "failed": [{"action": f.action, "timer_id": f.timer_id, "label": f.label,
                    "message": f.message, "hint": f.hint} for f in report.failed],
        "aborted": report.aborted,
        "left_out": [{"action": f.action, "timer_id": f.timer_id, "label": f.label,
                      "message": f.message} for f in report.left_out],
    }


_TIMER_VERBS = (("create", "created"), ("update", "updated"), ("archive", "archived"),
                ("delete", "deleted"))


def applied_line(report: ApplyReport, *, new_project: bool) -> str:
    """``11 timers created in 1 request.``: what the apply did, in words."""
    parts = [f"{report.done[k]} {verb}" for k, verb in _TIMER_VERBS if report.done.get(k)]
    if parts:
        total = sum(report.done.get(k, 0) for k, _ in _TIMER_VERBS)
        noun = "timer" if total == 1 else "timers"
        parts[0] = f"{parts[0].split()[0]} {noun} {parts[0].split()[1]}"
    if report.done.get("project"):
        parts.append("the project created" if new_project else "the project colour updated")
    if report.done.get("space"):
        n = report.done["space"]
        parts.append(f"{n} space{'s' if n != 1 else ''} created")
    what = ", ".join(parts) or "nothing written"
    requests = f"{report.written} request{'s' if report.written != 1 else ''}"
    return f"{what[0].upper()}{what[1:]} in {requests}."


def _kept_conflicts(plan: Plan) -> str:
    """``1 conflict kept (tickward wins)``, or "" when --conflict tickward-wins kept none."""
    n = sum(1 for c in plan.changes if c.action == "unchanged" and c.note
            and "tickward wins" in c.note)
    n += sum(1 for s in plan.skipped if s.code == "conflict")
    return f"{n} conflict{'s' if n != 1 else ''} kept (tickward wins)" if n else ""


def _show_left_out(report: ApplyReport, err: Console, verbose: int) -> None:
    """Writes held back after tickward said a cap was reached: one reason, then the labels."""
    if not report.left_out:
        return
    reasons = Counter(f.message for f in report.left_out)
    for message, n in reasons.items():
        err.print(f"{n} change(s) {message} (not sent)", markup=False, highlight=False)
    shown = report.left_out if verbose else report.left_out[:20]
    for item in shown:
        err.print(f"  left out: {item.action} {item.label or item.timer_id}",
                  markup=False, highlight=False)
    if len(shown) < len(report.left_out):
        err.print(f"  … and {len(report.left_out) - len(shown)} more (-v lists all)",
                  markup=False, highlight=False)


@dataclass
class _Seen:
    """How far an apply got (for the message after Ctrl-C)."""

    started: bool = False
    done: int = 0
    total: int = 0


async def _run(ctx: click.Context, settings: Settings, data: bytes, options: SyncOptions,
               store_url: str, seen: _Seen, *, dry_run: bool, yes: bool, as_json: bool,
               label: str = "calendar") -> int:  # fmt: skip
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    with StateStore(store_url) as store:
        note = lambda message: err.print(message, markup=False)  # noqa: E731
        async with open_client(settings, stderr_note=note) as client, \
                project_lock(store, options.project or options.source_key):  # 15.3
            with ProgressLine(label) as line:  # a large calendar: a terminal hears how far
                line.reading(len(data))
                converted = convert_calendar(data, import_options(options), progress=line.update)
            plan = await plan_source(client, store, data, options, converted=converted)
            if as_json and (dry_run or plan.empty):
                echo_json({"version": JSON_VERSION, **plan.to_json(dry_run=dry_run)})
            elif not as_json:
                _show_plan(plan, out, err, settings.verbose, event_index(data))
            if dry_run or plan.empty:
                if not dry_run:
                    reconcile(store, plan)  # every run: record what tickward has (15.1)
                if not as_json and plan.empty:
                    kept = _kept_conflicts(plan)
                    out.print(f"Nothing to write: {kept}." if kept else
                              "Nothing to do: tickward already matches the calendar.")
                return 0
            if not yes:
                if not sys.stdin.isatty():
                    raise UserError("refusing to write without confirmation: stdin is not a "
                                    "terminal; pass --yes to apply or --dry-run to only plan")
                try:
                    confirmed = click.confirm("Apply these changes?", default=False, err=True)
                except click.Abort:  # Ctrl-C or end of input at the prompt
                    raise KeyboardInterrupt from None
                if not confirmed:  # a choice, not a failure
                    err.print("Nothing changed.")
                    return 0
            seen.started = True
            sent_before = client.stats.requests
            limit = HOSTED_LIMIT if settings.api_key else 0
            columns = (TextColumn("applying"), BarColumn(), MofNCompleteColumn(),
                       _RateAwareEta(limit, HOSTED_WINDOW, sent_before))
            with Progress(*columns, console=err, transient=True) as bar:
                task = bar.add_task("apply", total=None)

                def progress(done: int, total: int) -> None:
                    seen.done, seen.total = done, total
                    bar.update(task, completed=done, total=total)

                report = await apply_plan(client, store, plan, progress=progress)
    if as_json:
        body = plan.to_json(dry_run=False)
        body["project"] = {**body["project"], "id": report.project_id or body["project"]["id"]}
        echo_json({"version": JSON_VERSION, **body, "result": _report_json(report)})
    else:
        out.print(applied_line(report, new_project=plan.project.create), markup=False)
        for failure in report.failed:
            shown = failure.hint and failure.hint not in failure.message
            hint = f" — {failure.hint}" if shown else ""
            err.print(f"failed: {failure.action} {failure.label or failure.timer_id}: "
                      f"{failure.message}{hint}", markup=False, highlight=False)
        if report.aborted:
            err.print(report.aborted, markup=False, highlight=False)
        _show_left_out(report, err, settings.verbose)
    return 0 if report.ok else 1


@click.command("import")
@explain_option
@click.argument("source")
@click.option("--project", "project", default=None, help="Target project name or id "
              "(default: the calendar's name; created if missing).")
@click.option("--space", default=None, help="Put the timers into this space (id or name; "
              "created if missing).")
@click.option("--dry-run", is_flag=True, help="Only show the plan; never write.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (needed when not a TTY).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@strategy_option
@click.option("--window", default="90d", show_default=True,
              help="How far ahead one-offs and expansions are imported (90d, 12w, 36h).")
@click.option("--tz", "tz", default=None, help="Zone for floating times (IANA name).")
@on_delete_option
@conflict_option
@click.option("--allow-empty", is_flag=True,
              help="Apply removals even when the source looks empty or lost most events.")
@click.option("--state", "state", default=None, help="State store: a path (SQLite) or a URL.")
@click.option("--limits", "limits", default=_DEFAULT_LIMITS, show_default=True,
              help="Plan caps TIMERS/ACTIVE/SPACES: timers per project (archived included), "
              "active timers per space, spaces per project (raise for self-hosted servers).")
@click.option("--pin-priority", is_flag=True, help="Pin timers of events with PRIORITY 1-4.")
@click.option("--all-day-time", default="00:00", show_default=True,
              help="Local time given to all-day events (HH:MM).")
@click.option("--include-todos", is_flag=True, help="Also turn VTODOs with DUE into timers.")
@click.option("-v", "--verbose", count=True, help="Show the whole plan and every warning.")
@click.option("--source-key", default=None,
              help="Identity of this source in ids and state (default: derived from SOURCE).")
@event_choice_options
@click.pass_context
def import_command(
    ctx: click.Context, source: str,
    project: str | None, space: str | None, dry_run: bool,
    yes: bool, as_json: bool, strategy: str, window: str, tz: str | None, on_delete: str,
    conflict: str, allow_empty: bool, state: str | None, limits: str, source_key: str | None,
    pin_priority: bool, all_day_time: str, include_todos: bool, verbose: int,
    choices: EventChoices,
) -> None:
    """Import a calendar (FILE, URL or - for stdin) into a tickward project."""
    settings: Settings = replace(ctx.obj, verbose=ctx.obj.verbose + verbose)
    span = parse_window(window)
    at = parse_all_day_time(all_day_time)
    data = read_calendar(source)
    options = SyncOptions(
        project=project_name(project) or "",
        now=settings.clock.now(),
        space=space,
        strategy=strategy,
        window=span,
        on_delete=on_delete,  # type: ignore[arg-type]
        conflict=conflict,  # type: ignore[arg-type]
        timezone=tz,
        source_key=source_key or source_key_for(source),
        allow_empty=allow_empty,
        limits=parse_limits(limits),
        pin_priority=pin_priority,
        all_day_time=at,
        include_todos=include_todos,
        local_timezone=system_zone(),
        choices=choices,
    )
    seen = _Seen()
    try:
        rc = asyncio.run(_run(ctx, settings, data, options, state_url(state), seen,
                              dry_run=dry_run, yes=yes, as_json=as_json,
                              label=progress_label(source)))
    except KeyboardInterrupt:
        click.echo(_interrupted(seen), err=True)
        ctx.exit(130)
    ctx.exit(rc)


def _interrupted(seen: _Seen) -> str:
    """What an interrupted import did, and how to finish it."""
    if not seen.started:
        return "Interrupted: nothing was written."
    if seen.done == 0:
        return ("Interrupted before the first write finished: re-run the same command "
                "to apply the plan (it will not be applied twice).")
    return (f"Interrupted after {seen.done} of {seen.total} changes; each is recorded as "
            "it succeeds, so re-running the same command finishes the rest "
            "(nothing is applied twice).")
