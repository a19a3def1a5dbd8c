"""Source keys that name a calendar, not a pipe: stdin imports get one per calendar.

Every ``import -`` used to share the key ``import:stdin``, so a second, different
calendar piped in planned to archive the first one's timers. A stdin import is
keyed by the calendar it carries instead: its name (``X-WR-CALNAME``/``NAME``),
else the set of its UIDs. Timers an older ``import:stdin`` made are found again
by UID (``sync.identity``) and adopted, so nothing is re-created after an upgrade.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from ical_bridge.convert import ConversionResult, TimerDraft
from ical_bridge.convert.model import timer_id

__all__ = ["STDIN_KEY", "calendar_source_key", "rekey"]

STDIN_KEY = "import:stdin"
"""The key ``source_key_for("-")`` gives; made per calendar here."""


def calendar_source_key(source_key: str, result: ConversionResult) -> str:
    """``source_key``, except that a stdin import is keyed by the calendar it carries."""
    if source_key != STDIN_KEY:
        return source_key
    name = (result.calendar.name or "").strip()
    if name:
        basis = "name:" + name.casefold()
    else:
        uids = sorted({d.source.uid for d in result.timers} | {
            s.uid for s in result.skipped if s.uid})
        basis = "uids:" + "\n".join(uids)
    return f"{STDIN_KEY}:{hashlib.sha256(basis.encode('utf-8', 'surrogatepass')).hexdigest()[:24]}"


def rekey(drafts: Sequence[TimerDraft], source_key: str) -> list[TimerDraft]:
    """The drafts with the deterministic ids of ``source_key`` (unchanged when they have them)."""
    out = []
    for d in drafts:
        tid = timer_id(source_key, d.source.uid, d.source.recurrence_id, d.source.part)
        out.append(d if tid == d.id else replace(d, timer={**d.timer, "id": tid}))
    return out
