"""``ical-bridge unsync``: remove what the bridge created for a feed or project, forget its state.

Same conventions as ``import``: the plan is shown first; ``--dry-run`` only shows
it; a non-interactive run that would write needs ``--yes``. Timers are archived
by default (``--delete`` deletes them); only bridge timers are ever touched.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path

import click

from ical_bridge.cli import Settings
from ical_bridge.cli.common import echo_json, read_calendar
from ical_bridge.cli.context import open_client
from ical_bridge.cli.import_ import state_url
from ical_bridge.cli.sync import client_settings
from ical_bridge.clock import system_zone
from ical_bridge.config import FeedConfig, load_config
from ical_bridge.convert import ImportOptions, convert_calendar
from ical_bridge.errors import IcalBridgeError, UserError
from ical_bridge.store import StateStore
from ical_bridge.sync import ProjectTarget, apply_plan, plan_unsync
from ical_bridge.tickward import SyncSnapshot, find_project

__all__ = ["unsync_command"]


def _current_ids(feed: FeedConfig, now: datetime) -> set[str]:
    """The ids the feed's events have now (deterministic), to find timers whose state was
    lost; filters are ignored on purpose (an event filtered out today may have a timer)."""
    try:
        data = read_calendar(feed.source)
        result = convert_calendar(data, ImportOptions(
            now=now, default_tz=feed.timezone, strategy=feed.strategy, window=feed.window,
            include_todos=feed.include_todos, source_key=feed.source_key,
            local_tz=system_zone(),
        ))  # fmt: skip
    except IcalBridgeError as exc:
        click.echo(f"note: cannot read feed {feed.name!r} ({exc}); only timers the state "
                   "store remembers are removed", err=True)
        return set()
    return {d.id for d in result.timers}


async def _run(settings: Settings, store_url: str, project_ref: str, source_keys: set[str] | None,
               feeds: list[str], *, delete: bool, dry_run: bool, yes: bool,
               as_json: bool, also: set[str]) -> int:
    def note(message: str) -> None:
        click.echo(message, err=True)

    with StateStore(store_url) as store:
        async with open_client(settings, stderr_note=note) as client:
            snapshot = await SyncSnapshot(client, clock=client.clock, watch_writes=False).read()
            project = find_project(snapshot, project_ref)
            if project is None:
                raise UserError(f"no project {project_ref!r} in tickward")
            timers = [t.model_dump(mode="json") for t in snapshot.timers
                      if t.project_id == project.id]
            plan = plan_unsync(
                project=ProjectTarget(project.id, project.name, project.color),
                timers=timers, records=store.timers(project.id), now=settings.clock.now(),
                source_keys=source_keys, delete=delete, also=also,
            )  # fmt: skip
            summary = {k: v for k, v in plan.summary.items() if k in ("archive", "delete")}
            body = {"project": {"id": project.id, "name": project.name}, "dry_run": dry_run,
                    "summary": summary, "changes": [c.to_json() for c in plan.writes],
                    "forget": {"timers": len(plan.forget), "feeds": feeds}}
            if not as_json:
                what = "delete" if delete else "archive"
                click.echo(f"Unsync plan for {project.name} ({project.id}): "
                           f"{summary.get(what, 0)} to {what}, {len(plan.forget)} state "
                           f"record(s) and {len(feeds)} feed state(s) to forget")
                for change in plan.writes[: None if settings.verbose else 30]:
                    click.echo(f"  {change.action:8} {change.label}")
            if dry_run:
                if as_json:
                    echo_json(body)
                return 0
            if (plan.writes or plan.forget or feeds) and not yes:
                if not sys.stdin.isatty():
                    raise UserError("refusing to write without confirmation: stdin is not a "
                                    "terminal; pass --yes to apply or --dry-run to only plan")
                if not click.confirm("Apply these changes?", default=False, err=True):
                    click.echo("Nothing changed.", err=True)
                    return 1
            report = await apply_plan(client, store, plan)
            if report.ok:
                for name in feeds:
                    store.delete_feed(name)
    if as_json:
        echo_json({**body, "result": {"done": report.done, "written": report.written,
                                      "failed": [f.message for f in report.failed]}})
    else:
        done = ", ".join(f"{n} {k}" for k, n in sorted(report.done.items())) or "nothing"
        click.echo(f"Applied: {done}; state forgotten.")
        for failure in report.failed:
            click.echo(f"failed: {failure.action} {failure.label}: {failure.message}", err=True)
    return 0 if report.ok else 1


@click.command("unsync")
@click.option("--project", "project", default=None, help="Remove every bridge timer of this "
              "project (name or id) and forget its state.")
@click.option("--feed", "feed", default=None, help="Remove the timers of this configured feed "
              "(needs --config) and forget its state.")
@click.option("--config", "config_path", default=None,
              type=click.Path(path_type=Path, dir_okay=False),
              help="The TOML config (the feed, the state store, the tickward target).")
@click.option("--state", "state", default=None, help="State store without --config: a path "
              "(SQLite) or a URL.")
@click.option("--delete", is_flag=True, help="Delete the timers instead of archiving them.")
@click.option("--dry-run", is_flag=True, help="Only show the plan; never write.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (needed when not a TTY).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def unsync_command(ctx: click.Context, project: str | None, feed: str | None,
                   config_path: Path | None, state: str | None, delete: bool, dry_run: bool,
                   yes: bool, as_json: bool) -> None:
    """Remove (archive, or --delete) everything the bridge created for a feed or project."""
    settings: Settings = ctx.obj
    if (project is None) == (feed is None):
        raise click.UsageError("give exactly one of --project NAME or --feed NAME")
    source_keys: set[str] | None = None
    feeds: list[str] = []
    also: set[str] = set()
    store_url = state_url(state)
    if config_path is not None:
        config = load_config(config_path)
        settings = client_settings(settings, config)
        store_url = config.state.url if state is None else store_url
        if feed is not None:
            found = config.feed(feed)
            if found is None:
                raise click.UsageError(f"no feed {feed!r} in {config_path}")
            project, source_keys, feeds = found.project, {found.source_key}, [found.name]
            also = _current_ids(found, settings.clock.now())
        else:
            feeds = [f.name for f in config.feeds if f.project == project]
    elif feed is not None:
        raise click.UsageError("--feed needs --config (the feed's project and state)")
    assert project is not None
    rc = asyncio.run(_run(settings, store_url, project, source_keys, feeds, delete=delete,
                          dry_run=dry_run, yes=yes, as_json=as_json, also=also))
    ctx.exit(rc)
