"""Issue 15.2: the persisted ``/sync`` validator and body are one atomic write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ical_bridge.errors import StoreError
from ical_bridge.localserver import create_app
from ical_bridge.store import StateStore
from ical_bridge.tickward import SyncSnapshot
from tests.tickward.test_snapshot import client_for, sync_statuses
from tests.tickward.tw_helpers import make_clock, run


class DiskFullAfter(StateStore):
    """A real state store whose ``kv_set`` fails from the ``n``-th call on (disk full)."""

    fail_from: int | None = None
    calls = 0

    def kv_set(self, key: str, value: str) -> None:
        self.calls += 1
        if self.fail_from is not None and self.calls >= self.fail_from:
            raise StoreError("database or disk is full")
        super().kv_set(key, value)


async def _names(app: Any, store: Any, *, rename: str | None = None) -> list[str]:
    async with client_for(app) as client:
        if rename:
            pid = (await client.list_projects())[0].id
            await client.update_project(pid, {"name": rename})
        snap = SyncSnapshot(client, clock=make_clock(), store=store)
        return sorted(p.name for p in (await snap.read()).projects)


@pytest.mark.parametrize("fail_from", [1, 2])
def test_a_failed_save_never_pairs_the_new_validator_with_the_old_body(
    tmp_path: Path, fail_from: int
) -> None:
    app = create_app(None, rate_limit=None)
    store = DiskFullAfter(f"sqlite:///{tmp_path / 'state.sqlite3'}")

    async def setup() -> None:
        async with client_for(app) as client:
            await client.create_project({"name": "Team"})

    run(setup())
    assert run(_names(app, store)) == ["Team"]  # saved: validator 1 + body 1
    store.calls, store.fail_from = 0, fail_from
    # tickward changes (a hand edit); this run reads it, but saving it fails
    assert run(_names(app, store, rename="Team renamed")) == ["Team renamed"]
    store.fail_from = None
    # A restarted process must see the edit: never a 304 to the old body.
    assert run(_names(app, store)) == ["Team renamed"]
    store.close()


def test_a_body_that_is_not_the_validated_one_is_not_trusted(tmp_path: Path) -> None:
    app = create_app(None, rate_limit=None)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")

    async def setup() -> None:
        async with client_for(app) as client:
            await client.create_project({"name": "Team"})

    run(setup())
    run(_names(app, store))
    (key,) = [k for k in _kv_keys(store) if k.startswith("sync-snapshot:")]
    saved = json.loads(store.kv_get(key) or "{}")
    saved["body"] = saved["body"].replace('"Team"', '"Stale"')  # not what the ETag validated
    store.kv_set(key, json.dumps(saved))
    assert run(_names(app, store)) == ["Team"]
    assert sync_statuses(app)[-1] == 200  # downloaded again, not revalidated
    store.close()


def _kv_keys(store: StateStore) -> list[str]:
    from sqlalchemy import select

    from ical_bridge.store.schema import kv
    with store._engine.connect() as conn:
        return [str(k) for k in conn.execute(select(kv.c.key)).scalars()]
