"""Per-timer edit counters for exported ``SEQUENCE`` values, kept in the state store.

RFC 5545 wants ``SEQUENCE`` to grow by one with each revision of an event. tickward
keeps no revision number, so the store remembers, per timer, the last ``updated_at``
seen and how many times it has changed: ``kv`` entry ``timer-sequence:<id>`` holds
``"<sequence> <updated_at>"``. A counter moves only forward, by one per newer
``updated_at`` seen (an older snapshot never bumps it), and every change is a
compare-and-set, so replicas sharing one store (PostgreSQL) agree on the value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from ical_bridge.convert.export import first_sequence
from ical_bridge.recurrence import parse_iso
from ical_bridge.store.schema import kv
from ical_bridge.store.state import StateStore

__all__ = ["KEY_PREFIX", "edit_sequences"]

KEY_PREFIX = "timer-sequence:"
_CHUNK = 500  # keys per SELECT … IN (…): well under every backend's parameter limit
_RETRIES = 20  # compare-and-set rounds per timer before giving up on a bump


def edit_sequences(
    store: StateStore, timers: Iterable[Mapping[str, object]]
) -> dict[str, int]:
    """Timer id → edit count, bumped by one for each timer whose ``updated_at`` moved on.

    A timer seen for the first time starts at ``convert.export.first_sequence``. Timers without an
    ``id`` are left out (the exporter falls back to ``first_sequence`` for them).
    """
    wanted: dict[str, tuple[str | None, str | None]] = {}
    for timer in timers:
        timer_id = timer.get("id")
        if isinstance(timer_id, str) and timer_id:
            created, updated = timer.get("created_at"), timer.get("updated_at")
            wanted[timer_id] = (
                created if isinstance(created, str) else None,
                updated if isinstance(updated, str) else None,
            )
    prefix = getattr(store, "_kv_prefix", "") + KEY_PREFIX  # an account's view of the store
    held = _read(store, [prefix + t for t in wanted])
    result: dict[str, int] = {}
    stale: list[str] = []
    for timer_id, (_, updated) in wanted.items():
        value = _settled(held.get(prefix + timer_id), updated)
        if value is None:
            stale.append(timer_id)
        else:
            result[timer_id] = value
    if stale:
        with store._write() as conn:  # one transaction for every bump of this export
            for timer_id in stale:
                created, updated = wanted[timer_id]
                result[timer_id] = _bump(conn, prefix + timer_id, created, updated)
    return result


def _read(store: StateStore, keys: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    with store._read() as conn:
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            rows = conn.execute(select(kv.c.key, kv.c.value).where(kv.c.key.in_(chunk)))
            found.update({str(k): str(v) for k, v in rows})
    return found


def _settled(raw: str | None, updated: str | None) -> int | None:
    """The stored count when it already covers ``updated``; ``None`` when a write is due."""
    parsed = _parse(raw)
    if parsed is None:
        return None
    count, seen = parsed
    now, before = _instant(updated), _instant(seen)
    if now is None or (before is not None and now <= before):
        return count  # unchanged, or an older snapshot than the one counted: never go back
    return None


def _bump(conn: Connection, key: str, created: str | None, updated: str | None) -> int:
    """Compare-and-set until the entry covers ``updated``; the count it ends with."""
    for _ in range(_RETRIES):
        raw = conn.execute(select(kv.c.value).where(kv.c.key == key)).scalar_one_or_none()
        if raw is None:
            count = first_sequence(created, updated)
            statement = insert(kv).prefix_with("OR IGNORE", dialect="sqlite")
            if conn.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                statement = pg_insert(kv).on_conflict_do_nothing(index_elements=["key"])
            done = conn.execute(statement, {"key": key, "value": f"{count} {updated or ''}"})
            if done.rowcount == 1:
                return count
            continue  # another replica created it first: read theirs
        settled = _settled(raw, updated)
        if settled is not None:
            return settled
        parsed = _parse(raw)
        count = parsed[0] + 1 if parsed is not None else first_sequence(created, updated)
        done = conn.execute(
            update(kv)
            .where(kv.c.key == key, kv.c.value == raw)
            .values(value=f"{count} {updated or ''}")
        )
        if done.rowcount == 1:
            return count
    return first_sequence(created, updated)  # contended beyond reason: the stateless value


def _parse(raw: str | None) -> tuple[int, str] | None:
    if raw is None:
        return None
    count, _, seen = raw.partition(" ")
    return (int(count), seen) if count.isdigit() else None


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None
