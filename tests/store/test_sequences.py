"""Edit counters behind exported SEQUENCE values, on every backend, under replicas."""

from __future__ import annotations

import threading
from typing import Any

from ical_bridge.store import StateStore
from ical_bridge.store.sequences import edit_sequences

CREATED = "2026-11-01T10:00:00.000Z"


def timer(timer_id: str, updated: str) -> dict[str, Any]:
    return {"id": timer_id, "created_at": CREATED, "updated_at": updated}


def test_counts_start_small_grow_by_one_per_edit_and_never_go_back(store_url: str) -> None:
    store = StateStore(store_url)
    try:
        fresh, edited = timer("a", CREATED), timer("b", "2026-11-02T10:00:00.000Z")
        assert edit_sequences(store, [fresh, edited]) == {"a": 0, "b": 1}
        assert edit_sequences(store, [fresh, edited]) == {"a": 0, "b": 1}  # unchanged: same
        assert edit_sequences(store, [timer("a", "2026-11-05T09:00:00.000Z")]) == {"a": 1}
        assert edit_sequences(store, [timer("a", "2026-11-06T09:00:00.000Z")]) == {"a": 2}
        # a replica still holding an older snapshot does not bump (nor lower) the count
        assert edit_sequences(store, [timer("a", "2026-11-05T09:00:00.000Z")]) == {"a": 2}
        assert edit_sequences(store, [timer("a", "2026-11-06T09:00:00.000Z")]) == {"a": 2}
    finally:
        store.close()


def test_replicas_bumping_at_once_agree_on_one_increment(store_url: str) -> None:
    stores = [StateStore(store_url) for _ in range(4)]
    ids = [f"t{i}" for i in range(30)]
    try:
        assert set(edit_sequences(stores[0], [timer(t, CREATED) for t in ids]).values()) == {0}
        edited = [timer(t, "2026-11-07T12:00:00.000Z") for t in ids]
        results: list[dict[str, int]] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(len(stores))

        def replica(store: StateStore) -> None:
            try:
                barrier.wait()
                results.append(edit_sequences(store, edited))
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)

        threads = [threading.Thread(target=replica, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        assert results == [dict.fromkeys(ids, 1)] * len(stores)
        assert edit_sequences(stores[1], edited) == dict.fromkeys(ids, 1)
    finally:
        for store in stores:
            store.close()
