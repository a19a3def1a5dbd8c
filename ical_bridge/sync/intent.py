"""Write-ahead intents: a create is remembered BEFORE it is sent (issue 15.1).

A create whose answer is lost (the process killed, the connection dropped) may
have committed in tickward. A record written only after the answer would then be
missing, and if the event left the calendar before the next run nothing would
ever archive that timer. So each create is first recorded as *pending*
(``PENDING`` fingerprint): the next run finds the timer (ours: archive it when its
event is gone, record it when it is still wanted) or finds it absent (forget).
A nested project create has no project id yet: its intent waits in the key-value
table under the project's name until a run finds the project.

Because of those pending records, the records confirming creates need not be written
one commit per create: ``RecordBatch`` writes them ``RECORD_BATCH`` at a time (sooner
when ``RECORD_MAX_AGE`` seconds have passed). A crash before a batch is written leaves
them pending, which the next run resolves like any lost answer (issue 12).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ical_bridge.store import StateStore, TimerRecord
from ical_bridge.sync.fields import fingerprint
from ical_bridge.sync.plan import PENDING, Change, Plan

__all__ = [
    "PENDING",
    "RECORD_BATCH",
    "RECORD_MAX_AGE",
    "RecordBatch",
    "adopt_project_intent",
    "note_creates",
    "note_project_creates",
    "timer_record",
]

# Confirmed creates are recorded once this many wait, or when one comes this many seconds
# after the oldest waiting one.
RECORD_BATCH = 100
RECORD_MAX_AGE = 2.0


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


def timer_record(plan: Plan, project_id: str, change: Change | None,
                 remote: Mapping[str, Any]) -> TimerRecord | None:
    """The record saying ``remote`` (tickward's timer) is this source's timer for ``change``."""
    if change is None or change.source is None:
        return None
    origin = change.source
    return TimerRecord(
        project_id=project_id,
        timer_id=str(remote["id"]),
        source_key=plan.source_key,
        uid=origin.uid,
        recurrence_id=origin.recurrence_id,
        part=origin.part,
        strategy=change.strategy or "",
        fingerprint=fingerprint(remote),
        remote_updated_at=remote.get("updated_at"),
        series_end=change.series_end,
    )


class RecordBatch:
    """Records of confirmed creates (each with a pending record) waiting to be written."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.waiting: list[TimerRecord] = []
        self.since = 0.0

    def add(self, rec: TimerRecord) -> None:
        """Queue ``rec``; write the batch when it is full or its oldest record is old."""
        if not self.waiting:
            self.since = time.monotonic()
        self.waiting.append(rec)
        if len(self.waiting) >= RECORD_BATCH or time.monotonic() - self.since >= RECORD_MAX_AGE:
            self.flush()

    def flush(self) -> None:
        """Write every waiting record in one commit."""
        waiting, self.waiting = self.waiting, []
        self.store.put_timers(waiting)
