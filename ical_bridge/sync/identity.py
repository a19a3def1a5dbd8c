"""Which existing timer a desired draft is: the planner's identity rules (pure, no I/O).

A draft's deterministic id (``icb_`` + hash of source key, UID, RECURRENCE-ID, part) is
its first identity. When no timer has that id, the draft may still be a timer this
project already holds:

1. **The same event, imported under another identity** (another path of the same file,
   ``import`` then ``sync`` of the same calendar, an older stdin import): a record of this
   project with the same UID + RECURRENCE-ID + part. A one-shot ``import:`` source's timer
   is ADOPTED (the timer keeps its id; its record moves to this source). A configured
   feed's timer (``feed:NAME``) belongs to that feed: another source claiming it is
   reported (``not_ours``), never duplicated and never archived.
2. **The same event under a new UID** (UID churn, e.g. Outlook): a timer of this source
   whose event left the calendar, with the same label, start and description (where the
   location lives) as a draft that would be created. It is adopted instead of archive +
   create (identical events pair off in order: they are interchangeable).

``resolve`` rewrites the adopted drafts' ids to the existing timers' ids and says why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ical_bridge.convert.model import BRIDGE_ID_PREFIX, Notice, Skipped, TimerDraft
from ical_bridge.store.records import TimerRecord
from ical_bridge.sync.fields import event_key

__all__ = ["ADOPTABLE_PREFIX", "Identity", "owner_name", "resolve"]

ADOPTABLE_PREFIX = "import:"
"""Timers of one-shot imports (identity = a path or stdin) may be adopted by any source."""


@dataclass
class Identity:
    """The drafts with adopted ids, and what the planner must say about them."""

    drafts: list[TimerDraft]
    adopted: dict[str, str] = field(default_factory=dict)  # timer id → why (the plan's note)
    skipped: list[Skipped] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


def owner_name(source_key: str) -> str:
    """A source key as a person reads it."""
    if source_key.startswith("feed:"):
        return f"feed {source_key[5:]!r}"
    if source_key.startswith("import:stdin"):
        return "an import from stdin"
    return "an earlier import of this calendar (another path or URL)"


def _ours(rec: TimerRecord, remote: Mapping[str, Mapping[str, Any]]) -> bool:
    return rec.timer_id.startswith(BRIDGE_ID_PREFIX) and rec.timer_id in remote


def resolve(
    drafts: Sequence[TimerDraft],
    records: Sequence[TimerRecord],
    remote: Mapping[str, Mapping[str, Any]],
    source_key: str,
) -> Identity:
    """Match drafts without a timer of their own to this project's existing timers."""
    by_id = {r.timer_id: r for r in records}
    by_ref: dict[tuple[str, str | None, int], list[TimerRecord]] = {}
    for r in records:
        if _ours(r, remote):
            by_ref.setdefault((r.uid, r.recurrence_id, int(r.part)), []).append(r)
    out = Identity([])
    taken = {d.id for d in drafts if d.id in by_id or d.id in remote}
    unmatched: list[int] = []
    adopted_from: Counter[str] = Counter()
    claimed: Counter[str] = Counter()
    for d in drafts:
        if d.id in taken:
            out.drafts.append(d)
            continue
        ref = (d.source.uid, d.source.recurrence_id, int(d.source.part))
        found = [r for r in by_ref.get(ref, ()) if r.timer_id not in taken]
        found.sort(key=lambda r: (r.source_key != source_key,
                                  not r.source_key.startswith(ADOPTABLE_PREFIX), r.timer_id))
        rec = found[0] if found else None
        if rec is None:
            unmatched.append(len(out.drafts))
            out.drafts.append(d)
        elif rec.source_key == source_key or rec.source_key.startswith(ADOPTABLE_PREFIX):
            taken.add(rec.timer_id)
            if rec.source_key != source_key:
                out.adopted[rec.timer_id] = (
                    f"adopted: already imported into this project by {owner_name(rec.source_key)}"
                    " (same UID, RECURRENCE-ID and part)")
                adopted_from[owner_name(rec.source_key)] += 1
            out.drafts.append(replace(d, timer={**d.timer, "id": rec.timer_id}))
        else:
            taken.add(rec.timer_id)  # still that source's: not ours to archive either
            claimed[owner_name(rec.source_key)] += 1
            out.skipped.append(Skipped(
                d.source.uid, "not_ours",
                f"already imported into this project by {owner_name(rec.source_key)}, which "
                "owns it; not duplicated (sync that source, or remove it first)",
                timer_id=rec.timer_id, label=str(d.timer.get("label")),
            ))
    churned = _rekeyed(out, unmatched, records, remote, source_key, taken)
    for owner, n in sorted(adopted_from.items()):
        out.notices.append(Notice("adopted", f"{n} timer(s) already imported into this project "
                                  f"by {owner} adopted instead of duplicated"))
    for owner, n in sorted(claimed.items()):
        out.notices.append(Notice("not_ours", f"{n} event(s) already imported into this project "
                                  f"by {owner} left to it (not duplicated, not archived)"))
    if churned:
        out.notices.append(Notice("uid_changed", f"{churned} event(s) kept their timers although "
                                  "their UIDs changed (same start, summary and location)"))
    return out


def _rekeyed(out: Identity, unmatched: list[int], records: Sequence[TimerRecord],
             remote: Mapping[str, Mapping[str, Any]], source_key: str, taken: set[str]) -> int:
    """Pair drafts that would be created with this source's timers whose UIDs left the
    calendar, when label, start and description agree (UID churn); returns how many."""
    uids = {d.source.uid for d in out.drafts}
    orphans: dict[str, list[TimerRecord]] = {}
    for rec in sorted(records, key=lambda r: r.timer_id):
        if (rec.source_key == source_key and _ours(rec, remote) and rec.timer_id not in taken
                and rec.uid not in uids):
            orphans.setdefault(event_key(remote[rec.timer_id]), []).append(rec)
    count = 0
    for index in unmatched:
        d = out.drafts[index]
        pool = orphans.get(event_key(d.timer))
        if not pool:
            continue
        rec = pool.pop(0)
        taken.add(rec.timer_id)
        out.adopted[rec.timer_id] = (f"adopted: the same event under a new UID (was {rec.uid!r}; "
                                     "same start, summary and location)")
        out.drafts[index] = replace(d, timer={**d.timer, "id": rec.timer_id})
        count += 1
    return count
