"""From one ``/sync`` snapshot to one calendar: pick the project (and space), export it.

Shared by ``ical-bridge export`` and the feed server, so a subscribed feed and
a one-shot export of the same project are byte-for-byte the same calendar
(given the same ``now``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ical_bridge.convert.export import export_calendar
from ical_bridge.errors import UserError
from ical_bridge.feeds.shaping import DEFAULT_MAX_BYTES, Fitted, fit_calendar
from ical_bridge.tickward import Project, Space, Sync, Timer, find_project, find_space

__all__ = ["ExportFeed", "Selection", "render_feed", "render_fitted", "select", "share_origin"]


@dataclass(frozen=True)
class ExportFeed:
    """What one served (or exported) calendar contains and how it is labelled."""

    name: str
    project: str  # id or exact name
    space: str | None = None  # id or exact name inside the project
    calendar_name: str | None = None
    duration: timedelta = timedelta(0)
    refresh: timedelta = timedelta(hours=1)
    include_archived: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES  # the calendar is kept under this size (shaping.py)


@dataclass(frozen=True)
class Selection:
    """The project (and space) an export resolved to, with its timers."""

    project: Project
    space: Space | None
    timers: list[Timer]

    @property
    def default_name(self) -> str:
        """Project name, plus the space name when the export is one space."""
        return f"{self.project.name} / {self.space.name}" if self.space else self.project.name


def _not_found(what: str, ref: str, names: list[str], where: str = "") -> UserError:
    close = difflib.get_close_matches(ref, names, n=5, cutoff=0.5)
    if not close:
        close = sorted(n for n in names if ref.lower() in n.lower())[:5]
    hint = f"; did you mean {', '.join(repr(n) for n in close)}?" if close else ""
    known = "" if close else f" (known: {', '.join(sorted(names)[:10])})" if names else (
        f" (it has no {what}s)" if where else "")
    return UserError(f"no {what} {ref!r}{where}{hint}{known}")


def select(snapshot: Sync, project: str, space: str | None = None) -> Selection:
    """Resolve a project and a space by id or name (``tickward.find_project``'s rule)."""
    chosen = find_project(snapshot, project)
    if chosen is None:
        raise _not_found("project", project, [p.name for p in snapshot.projects])
    spaces = [s for s in snapshot.spaces if s.project_id == chosen.id]
    picked: Space | None = None
    if space is not None:
        picked = find_space(spaces, space)
        if picked is None:
            raise _not_found("space", space, [s.name for s in spaces],
                             f" in project {chosen.name!r}")
    timers = [
        t
        for t in snapshot.timers
        if t.project_id == chosen.id and (picked is None or t.space_id == picked.id)
    ]
    return Selection(chosen, picked, timers)


def share_origin(api_base_url: str) -> str:
    """``scheme://host[:port]`` of the API base URL: share ``url_path``s are relative to it."""
    parts = urlsplit(api_base_url)
    return f"{parts.scheme}://{parts.netloc}"


def render_feed(
    snapshot: Sync,
    feed: ExportFeed,
    *,
    now: datetime,
    share_urls: Mapping[str, str] | None = None,
) -> bytes:
    """The calendar of ``feed`` from ``snapshot`` (``UserError`` if its project is gone)."""
    return render_fitted(snapshot, feed, now=now, share_urls=share_urls).body


def render_fitted(
    snapshot: Sync,
    feed: ExportFeed,
    *,
    now: datetime,
    at: datetime | None = None,
    refresh: timedelta | None = None,
    share_urls: Mapping[str, str] | None = None,
    sequences: Callable[[list[Mapping[str, Any]]], Mapping[str, int]] | None = None,
) -> Fitted:
    """The calendar of ``feed`` under its size cap, and what was left out to fit.

    ``now`` stamps the events (DTSTAMP); ``at`` (default ``now``) tells past from
    upcoming; ``refresh`` overrides the export's refresh hint; ``sequences`` gives
    the timers' edit counts (``store.edit_sequences``; without it, the stateless value).
    """
    selection = select(snapshot, feed.project, feed.space)
    timers: list[Mapping[str, Any]] = [
        t.model_dump(mode="json")
        for t in selection.timers
        if feed.include_archived or not t.archived_at
    ]
    counted = sequences(timers) if sequences is not None else None

    def draw(chosen: list[Mapping[str, Any]]) -> bytes:
        return export_calendar(
            chosen,
            project_id=selection.project.id,
            calendar_name=feed.calendar_name or selection.default_name,
            now=now,
            duration=feed.duration,
            refresh_interval=refresh or feed.refresh,
            include_archived=feed.include_archived,
            share_urls=share_urls,
            sequences=counted,
        )

    return fit_calendar(timers, draw, now=at or now, max_bytes=feed.max_bytes)
