"""``ical-bridge export``: one project (or space) of tickward as an ``.ics`` calendar.

Reads everything through ONE ``GET /sync``. With ``--share-links`` it also
lists the project's public links once and creates the missing ones (share
creation is idempotent on tickward's side), so each event carries a ``URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

import click

from ical_bridge.cli import Settings
from ical_bridge.cli.common import project_name
from ical_bridge.errors import ConfigError
from ical_bridge.vocabulary import parse_duration

__all__ = ["export_command"]


def _duration(text: str) -> timedelta:
    try:
        value = parse_duration(text)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None
    if value < timedelta(0):
        raise click.BadParameter("must not be negative")
    return value


async def _export(
    settings: Settings,
    project: str,
    space: str | None,
    include_archived: bool,
    duration: timedelta,
    share_links: bool,
    calendar_name: str | None,
    max_bytes: int = 1_000_000,
    state: str | None = None,
) -> bytes:
    from ical_bridge.cli.context import open_client
    from ical_bridge.feeds.render import ExportFeed, render_fitted, select, share_origin
    from ical_bridge.feeds.shaping import next_target, refresh_for
    from ical_bridge.sync import create_shares, plan_shares
    from ical_bridge.tickward import SyncSnapshot

    def note(message: str) -> None:
        click.echo(message, err=True)

    if share_links and not settings.api_key:
        # The embedded store's share URLs (http://embedded.local/…) resolve nowhere.
        note("--share-links: the embedded local store has no public share links; "
             "events are exported without URL (use --api-key to link to tickward)")
        share_links = False
    async with open_client(settings, stderr_note=note, read_only=True) as client:
        snapshot = await SyncSnapshot(client, clock=settings.clock).read()
        selection = select(snapshot, project, space)
        share_urls: dict[str, str] | None = None
        if share_links:
            origin = share_origin(client.base_url)
            existing = {
                s.timer_id: s.url_path
                for s in await client.list_shares(selection.project.id)
                if s.timer_id
            }
            plan = plan_shares(selection.project.id, selection.timers, existing,
                               include_archived=include_archived)
            links = await create_shares(client, plan)
            share_urls = {tid: origin + path for tid, path in links.items() if path}
        feed = ExportFeed(
            name="cli",
            project=selection.project.id,
            space=selection.space.id if selection.space else None,
            calendar_name=calendar_name,
            duration=duration,
            include_archived=include_archived,
            max_bytes=max_bytes,
        )
        now = settings.clock.now()
        upcoming = next_target([t.model_dump(mode="json") for t in selection.timers], now)
        with contextlib.ExitStack() as stack:
            counts = None
            if state is not None:  # edit counters shared with the feed server (SEQUENCE)
                from ical_bridge.cli.import_ import state_url
                from ical_bridge.store import StateStore
                from ical_bridge.store.sequences import edit_sequences

                store = stack.enter_context(StateStore(state_url(state)))
                counts = functools.partial(edit_sequences, store)
            fitted = render_fitted(
                snapshot, feed, now=now, refresh=refresh_for(feed.refresh, upcoming, now),
                share_urls=share_urls, sequences=counts,
            )
        if fitted.dropped_total:
            note(fitted.describe(max_bytes))
        return fitted.body


def _write(data: bytes, output: Path | None) -> None:
    if output is None or str(output) == "-":
        sys.stdout.flush()
        stream: BinaryIO = sys.stdout.buffer
        stream.write(data)
        stream.flush()
        return
    output = output.expanduser()
    target_dir = output.parent if str(output.parent) else Path(".")
    # Write beside the target and rename: a reader never sees half a calendar.
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=target_dir)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.command("export")
@click.option("--project", required=True, help="Project id or exact name.")
@click.option("--space", default=None, help="Only this space (id or exact name).")
@click.option("--include-archived", is_flag=True, help="Export archived timers as CANCELLED.")
@click.option(
    "--duration",
    "duration_text",
    default="PT0S",
    show_default=True,
    help="Event length (ISO 8601 like PT15M, or 15m).",
)
@click.option("--share-links", is_flag=True, help="Create public share links and put them in URL.")
@click.option("--name", "calendar_name", default=None, help="Calendar name (default: project).")
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1024),
    default=1_000_000,
    show_default=True,
    help="Keep the calendar under this size (archived, then past timers are left out first).",
)
@click.option(
    "--state",
    "state",
    default=None,
    help="Keep SEQUENCE edit counts in this state store (a path or URL; the daemon's "
    "[state] url gives the served feed's values). Without it: 0 if never edited, else 1.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to this file instead of stdout.",
)
@click.pass_obj
def export_command(
    settings: Settings,
    project: str,
    space: str | None,
    include_archived: bool,
    duration_text: str,
    share_links: bool,
    calendar_name: str | None,
    max_bytes: int,
    output: Path | None,
    state: str | None = None,
) -> None:
    """Write a project's timers as an iCalendar (.ics) file."""
    duration = _duration(duration_text)
    project = project_name(project) or project
    data = asyncio.run(
        _export(settings, project, space, include_archived, duration, share_links, calendar_name,
                max_bytes, state)
    )
    _write(data, output)
    if output is not None and str(output) != "-":
        count = data.count(b"BEGIN:VEVENT")
        click.echo(f"wrote {count} event(s) to {output}", err=True)
    sys.stdout.flush()
