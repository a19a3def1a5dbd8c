"""``put_timers``: many timer records in one statement and one commit (issue 12)."""

from __future__ import annotations

import pytest
from test_state_store import timer

from ical_bridge.errors import StoreError
from ical_bridge.store import StateStore


def test_put_timers_stores_every_record(store: StateStore) -> None:
    records = [timer(f"icb_{i}", fingerprint=f"fp{i}") for i in range(5)]
    store.put_timers(records)
    assert store.timers("prj_1") == sorted(records, key=lambda r: r.timer_id)


def test_put_timers_replaces_existing_records_and_the_last_of_one_timer_wins(
    store: StateStore,
) -> None:
    store.put_timer(timer("icb_1", fingerprint="pending"))
    store.put_timers([timer("icb_1", fingerprint="first"), timer("icb_2"),
                      timer("icb_1", fingerprint="last", remote_updated_at="2026-03-02T00:00:00Z")])
    one, two = store.timers("prj_1")
    assert (one.timer_id, one.fingerprint, one.remote_updated_at) == (
        "icb_1", "last", "2026-03-02T00:00:00Z")
    assert two.timer_id == "icb_2"


def test_put_timers_is_all_or_nothing(store: StateStore) -> None:
    store.put_timer(timer("icb_0", fingerprint="kept"))
    with pytest.raises(StoreError, match="NUL"):
        store.put_timers([timer("icb_0", fingerprint="changed"), timer("icb_1"),
                          timer("icb_2", uid="bad\x00uid")])
    assert [(r.timer_id, r.fingerprint) for r in store.timers("prj_1")] == [("icb_0", "kept")]


def test_put_timers_of_nothing_writes_nothing(store: StateStore) -> None:
    store.put_timers([])
    assert store.timers("prj_1") == []


def test_put_timers_joins_an_open_transaction(store: StateStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.put_timers([timer("icb_1"), timer("icb_2")])
        raise RuntimeError("the block fails after the records were written")
    assert store.timers("prj_1") == []  # rolled back with the block
