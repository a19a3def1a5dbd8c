"""One writer per target project at a time, across processes sharing a state store.

Two imports or syncs into the same project used to plan at once: both saw no
project and created one each (issue 15.3), or both planned the same creates and
both reported them. ``project_lock`` serialises plan + apply per project name
through a lease in the state store's key-value table: the second run waits, then
plans from what the first one wrote. A lease names its holder (host and pid) and
expires, so a killed run never blocks the next one: a dead holder on this host is
taken over at once, one elsewhere after ``ttl``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from ical_bridge.errors import StoreError
from ical_bridge.store import StateStore

__all__ = ["LOCK_PREFIX", "project_lock"]

LOCK_PREFIX = "project-lock:"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free(raw: str | None, now: float) -> bool:
    if raw is None:
        return True
    try:
        lease = json.loads(raw)
        if float(lease["expires"]) < now:
            return True
        return lease.get("host") == socket.gethostname() and not _alive(int(lease["pid"]))
    except (ValueError, KeyError, TypeError):
        return True  # unreadable: nobody can be holding it


def _try(store: StateStore, key: str, token: str, ttl: float) -> bool:
    now = time.time()
    with store.transaction():  # read-modify-write under the store's write lock
        if not _free(store.kv_get(key), now):
            return False
        lease = {"token": token, "host": socket.gethostname(), "pid": os.getpid(),
                 "expires": now + ttl}
        store.kv_set(key, json.dumps(lease))
        return True


@asynccontextmanager
async def project_lock(
    store: StateStore,
    project: str,
    *,
    ttl: float = 900.0,
    wait: float = 600.0,
    poll: float = 0.2,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[bool]:
    """Hold the lease of ``project`` (a name or id, any case) for the block; yields True when
    another run held it first (its writes are then in tickward: plan from a fresh read)."""
    key = LOCK_PREFIX + project.strip().casefold()
    token = uuid.uuid4().hex
    waited = False
    deadline = time.monotonic() + wait
    while not _try(store, key, token, ttl):
        waited = True
        if time.monotonic() > deadline:
            raise StoreError(f"another ical-bridge run has been writing into project {project!r} "
                             f"for over {wait:.0f} s; try again when it has finished")
        await sleep(poll)
    try:
        yield waited
    finally:
        with store.transaction():
            raw = store.kv_get(key)
            try:
                mine = raw is not None and json.loads(raw).get("token") == token
            except ValueError:
                mine = False
            if mine:
                store.kv_delete(key)
