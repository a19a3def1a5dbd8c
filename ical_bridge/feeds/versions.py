"""Which version of an export a replica serves: a digest of its content, not of the process.

Every replica reading the same ``/sync`` content computes the same digest for an
export; the state store keeps when that digest was first seen (``Claims.first_seen``),
and that moment is the calendar's ``DTSTAMP`` and ``Last-Modified``. So the body,
and with it the ETag (a hash of the body), is the same on every replica, and a
``304`` from one validates against any other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime

from ical_bridge.feeds.render import ExportFeed, select
from ical_bridge.tickward import Sync

__all__ = ["FirstSeen", "content_digest"]

# (export name, content digest, now) -> when that content was first seen
FirstSeen = Callable[[str, str, datetime], datetime]


def content_digest(snapshot: Sync, feed: ExportFeed) -> str:
    """SHA-256 of what ``feed`` shows from ``snapshot`` (``UserError`` if its project is gone)."""
    selection = select(snapshot, feed.project, feed.space)
    payload = {
        "export": asdict(feed),
        "project": selection.project.model_dump(mode="json"),
        "space": selection.space.model_dump(mode="json") if selection.space else None,
        "timers": sorted(
            (t.model_dump(mode="json") for t in selection.timers), key=lambda t: str(t["id"])
        ),
    }
    raw = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()
