"""Write-ahead intents: a create is remembered BEFORE it is sent (issue 15.1).

A create whose answer is lost (the process killed, the connection dropped) may
have committed in tickward. A record written only after the answer would then be
missing, and if the event left the calendar before the next run nothing would
ever archive that timer. So each create is first recorded as *pending*
(``PENDING`` fingerprint): the next run finds the timer (ours: archive it when its
event is gone, record it when it is still wanted) or finds it absent (forget).
A nested project create has no project id yet: its intent waits in the key-value
table under the project's name until a run finds the project.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from ical_bridge.store import StateStore, TimerRecord
from ical_bridge.sync.plan import PENDING, Change

__all__ = ["PENDING", "adopt_project_intent", "note_creates", "note_project_creates"]


def _pending(project_id: str, source_key: str, change: Change) -> TimerRecord | None:
    if change.source is None:
        return None
    return TimerRecord(project_id, change.timer_id, source_key, change.source.uid,
                       change.source.recurrence_id, change.source.part, change.strategy or "",
                       PENDING, None, change.series_end)


def note_creates(store: StateStore, project_id: str, source_key: str,
                 changes: Iterable[Change]) -> None:
    """Record ``changes`` (creates) as pending in an existing project, before sending them."""
    known = {r.timer_id for r in store.timers(project_id)}
    pending = [_pending(project_id, source_key, c) for c in changes if c.timer_id not in known]
    store.put_timers(rec for rec in pending if rec is not None)  # one commit


def _key(source_key: str, name: str) -> str:
    digest = hashlib.sha256(f"{source_key}\n{name.casefold()}".encode()).hexdigest()[:24]
    return f"pending-project:{digest}"


def note_project_creates(store: StateStore, name: str, source_key: str,
                         changes: Iterable[Change]) -> None:
    """Remember the timers a nested create of project ``name`` is about to make."""
    rows = [[c.timer_id, c.source.uid, c.source.recurrence_id, c.source.part,
             c.strategy or "", c.series_end] for c in changes if c.source is not None]
    store.kv_set(_key(source_key, name), json.dumps(rows))


def adopt_project_intent(store: StateStore, project_id: str, name: str,
                         source_key: str) -> None:
    """The project exists: turn a nested create's intent into pending records, then drop it."""
    key = _key(source_key, name)
    raw = store.kv_get(key)
    if raw is None:
        return
    try:
        rows = json.loads(raw)
    except ValueError:
        rows = []
    known = {r.timer_id for r in store.timers(project_id)}
    with store.transaction():
        store.put_timers(TimerRecord(project_id, tid, source_key, uid, rid, int(part),
                                     strategy, PENDING, None, end)
                         for tid, uid, rid, part, strategy, end in rows if tid not in known)
        store.kv_delete(key)
