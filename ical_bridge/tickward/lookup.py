"""Finding a project or space in a ``/sync`` snapshot by id or name: one rule for every command.

``import``, ``export``, the daemon and the feed server all resolve ``--project
Team`` here, so a name one command finds is found by all: the id first, then
the exact name, then the name in any case. tickward keeps the first 40
characters of a project name, so a longer name is looked up as it was kept.
"""

from __future__ import annotations

from collections.abc import Iterable

from ical_bridge.errors import UserError
from ical_bridge.tickward.models import Project, Space, Sync

__all__ = ["PROJECT_NAME_MAX", "find_project", "find_space"]

PROJECT_NAME_MAX = 40
"""tickward keeps this many characters of a project name."""


def find_project(snapshot: Sync, ref: str) -> Project | None:
    """The project whose id is ``ref``, else whose name is ``ref`` (exact, then any case)."""
    for project in snapshot.projects:
        if project.id == ref:
            return project
    name = ref.strip()[:PROJECT_NAME_MAX]
    exact = [p for p in snapshot.projects if p.name == name]
    loose = exact or [p for p in snapshot.projects if p.name.casefold() == name.casefold()]
    if len(loose) > 1:
        ids = ", ".join(p.id for p in loose)
        raise UserError(f"several projects are named {ref!r} ({ids}); pass --project with an id")
    return loose[0] if loose else None


def find_space(spaces: Iterable[Space], ref: str) -> Space | None:
    """The space whose id is ``ref``, else whose name is ``ref`` (exact, then any case)."""
    candidates = list(spaces)
    for space in candidates:
        if space.id == ref:
            return space
    exact = [s for s in candidates if s.name == ref]
    loose = exact or [s for s in candidates if s.name.casefold() == ref.casefold()]
    return loose[0] if loose else None
