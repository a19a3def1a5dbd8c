"""The state store contract: every backend keeps and returns exactly what it was given."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ical_bridge.clock import FixedClock
from ical_bridge.errors import StoreError
from ical_bridge.store import FeedState, StateStore, TimerRecord

PLUS_5 = timezone(timedelta(hours=5, minutes=30))


def timer(timer_id: str, *, project: str = "prj_1", source: str = "feed:team", **kw: object) -> (
    TimerRecord
):
    values: dict[str, object] = {
        "project_id": project,
        "timer_id": timer_id,
        "source_key": source,
        "uid": f"{timer_id}@example.com",
        "recurrence_id": None,
        "part": 0,
        "strategy": "single",
        "fingerprint": "sha256:" + timer_id,
        "remote_updated_at": None,
        "series_end": None,
    }
    values.update(kw)
    return TimerRecord(**values)  # type: ignore[arg-type]


def full_feed(name: str = "team") -> FeedState:
    return FeedState(
        name=name,
        etag='W/"abc-123"',
        last_modified="Wed, 21 Oct 2026 07:28:00 GMT",
        content_hash="sha256:00ff",
        body=b"BEGIN:VCALENDAR\r\n\x00\xff\xfe caf\xc3\xa9\r\nEND:VCALENDAR\r\n",
        last_attempt=datetime(2026, 3, 1, 15, 0, 0, 123456, tzinfo=PLUS_5),
        last_success=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        next_run=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        failures=3,
        last_error="HTTP 503 from feed host",
        suspicious="would archive 40 of 50 timers",
        counts={"created": 4, "updated": 2, "archived": 0},
    )


def test_timer_record_round_trip_keeps_every_field(store: StateStore) -> None:
    rec = timer(
        "icb_" + "a" * 32,
        recurrence_id="20260310T090000Z",
        part=2,
        strategy="split",
        remote_updated_at="2026-03-01T09:00:00.123Z",
        series_end="2026-12-31T09:00:00Z",
        uid="ünïcode-uid@example.com",
    )
    store.put_timer(rec)
    assert store.timers("prj_1") == [rec]


def test_put_timer_replaces_the_record_with_the_same_key(store: StateStore) -> None:
    store.put_timer(timer("icb_1", fingerprint="old", remote_updated_at=None))
    store.put_timer(timer("icb_1", fingerprint="new", remote_updated_at="2026-03-02T00:00:00Z"))
    [only] = store.timers("prj_1")
    assert only.fingerprint == "new"
    assert only.remote_updated_at == "2026-03-02T00:00:00Z"


def test_same_timer_id_in_two_projects_are_separate_records(store: StateStore) -> None:
    store.put_timer(timer("icb_1", project="prj_a", fingerprint="a"))
    store.put_timer(timer("icb_1", project="prj_b", fingerprint="b"))
    assert [r.fingerprint for r in store.timers("prj_a")] == ["a"]
    assert [r.fingerprint for r in store.timers("prj_b")] == ["b"]


def test_timers_filter_by_project_and_source(store: StateStore) -> None:
    store.put_timer(timer("icb_3", source="feed:team"))
    store.put_timer(timer("icb_1", source="feed:team"))
    store.put_timer(timer("icb_2", source="feed:holidays"))
    store.put_timer(timer("icb_4", project="prj_other", source="feed:team"))
    assert [r.timer_id for r in store.timers("prj_1")] == ["icb_1", "icb_2", "icb_3"]
    assert [r.timer_id for r in store.timers("prj_1", "feed:team")] == ["icb_1", "icb_3"]
    assert [r.timer_id for r in store.timers("prj_1", "feed:holidays")] == ["icb_2"]
    assert store.timers("prj_1", "feed:nothing") == []
    assert store.timers("prj_missing") == []


def test_delete_timer_removes_only_that_record(store: StateStore) -> None:
    store.put_timer(timer("icb_1"))
    store.put_timer(timer("icb_2"))
    store.delete_timer("prj_1", "icb_1")
    store.delete_timer("prj_1", "icb_never_existed")
    assert [r.timer_id for r in store.timers("prj_1")] == ["icb_2"]


def test_feed_state_round_trip_with_utc_datetimes(store: StateStore) -> None:
    state = full_feed()
    store.put_feed(state)
    got = store.feed("team")
    assert got == state  # aware datetimes compare by instant
    assert got is not None and got.last_attempt is not None
    assert got.last_attempt.utcoffset() == timedelta(0)
    assert got.last_attempt == datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)
    assert got.body == state.body


def test_feed_state_minimal_and_missing(store: StateStore) -> None:
    assert store.feed("team") is None
    store.put_feed(FeedState(name="team"))
    assert store.feed("team") == FeedState(
        "team", None, None, None, None, None, None, None, 0, None, None, {}
    )


def test_put_feed_replaces_and_clears_fields(store: StateStore) -> None:
    store.put_feed(full_feed())
    store.put_feed(FeedState(name="team", failures=0, counts={"created": 1}))
    assert store.feed("team") == FeedState(name="team", counts={"created": 1})


def test_feeds_lists_every_feed_by_name_and_delete_feed(store: StateStore) -> None:
    for name in ("zeta", "alpha", "mid"):
        store.put_feed(FeedState(name=name, failures=len(name)))
    assert [(f.name, f.failures) for f in store.feeds()] == [("alpha", 5), ("mid", 3), ("zeta", 4)]
    store.delete_feed("mid")
    assert [f.name for f in store.feeds()] == ["alpha", "zeta"]


def test_naive_datetimes_are_refused(store: StateStore) -> None:
    with pytest.raises(StoreError, match="timezone-aware"):
        store.put_feed(FeedState(name="team", next_run=datetime(2026, 3, 1, 9, 0)))
    assert store.feed("team") is None


def test_export_tokens(store: StateStore) -> None:
    assert store.export_token("team") is None
    store.set_export_token("team", "tok-1")
    store.set_export_token("other", "tok-2")
    store.set_export_token("team", "tok-3")
    assert store.export_token("team") == "tok-3"
    assert store.export_token("other") == "tok-2"


def test_webhook_events_are_deduplicated(store: StateStore) -> None:
    assert store.remember_webhook_event("evt_1") is True
    assert store.remember_webhook_event("evt_1") is False
    assert store.remember_webhook_event("evt_2") is True
    assert store.remember_webhook_event("evt_2") is False


def test_webhook_events_expire_after_seven_days(store: StateStore, clock: FixedClock) -> None:
    assert store.remember_webhook_event("evt_old") is True
    clock.advance(timedelta(days=6, hours=23))
    assert store.remember_webhook_event("evt_old") is False
    clock.advance(timedelta(hours=2))  # 7 days 1 hour after the first delivery
    assert store.remember_webhook_event("evt_new") is True
    assert store.remember_webhook_event("evt_old") is True  # pruned, so new again


def test_kv(store: StateStore) -> None:
    assert store.kv_get("sync_etag") is None
    store.kv_set("sync_etag", 'W/"1"')
    store.kv_set("sync_etag", 'W/"2"')
    store.kv_set("other", "x" * 5000)
    assert store.kv_get("sync_etag") == 'W/"2"'
    assert store.kv_get("other") == "x" * 5000
    store.kv_delete("sync_etag")
    assert store.kv_get("sync_etag") is None


def test_everything_persists_across_reopen(store_url: str, clock: FixedClock) -> None:
    rec = timer("icb_1", recurrence_id="20260310", part=1, series_end="2026-12-31T00:00:00Z")
    with StateStore(store_url, clock=clock) as first:
        first.put_timer(rec)
        first.put_feed(full_feed())
        first.set_export_token("team", "secret-token")
        first.kv_set("k", "v")
        assert first.remember_webhook_event("evt_1") is True
    with StateStore(store_url, clock=clock) as second:
        assert second.timers("prj_1") == [rec]
        assert second.feed("team") == full_feed()
        assert second.export_token("team") == "secret-token"
        assert second.kv_get("k") == "v"
        assert second.remember_webhook_event("evt_1") is False


def test_transaction_commits_together(store: StateStore) -> None:
    with store.transaction():
        store.put_timer(timer("icb_1"))
        store.kv_set("k", "v")
        with store.transaction():  # nested: joins the outer one
            store.put_timer(timer("icb_2"))
        assert [r.timer_id for r in store.timers("prj_1")] == ["icb_1", "icb_2"]
    assert store.kv_get("k") == "v"
    assert len(store.timers("prj_1")) == 2


def test_transaction_rolls_back_everything_on_error(store: StateStore) -> None:
    store.put_timer(timer("icb_0"))
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.put_timer(timer("icb_1"))
        store.delete_timer("prj_1", "icb_0")
        store.kv_set("k", "v")
        raise RuntimeError("boom")
    assert [r.timer_id for r in store.timers("prj_1")] == ["icb_0"]
    assert store.kv_get("k") is None


def test_two_threads_writing_do_not_corrupt(store: StateStore) -> None:
    errors: list[BaseException] = []
    per_thread = 60

    def work(tag: str) -> None:
        try:
            for i in range(per_thread):
                store.put_timer(timer(f"icb_{tag}_{i:03d}", fingerprint=f"{tag}{i}"))
                store.put_feed(FeedState(name="shared", failures=i, last_error=tag))
                store.remember_webhook_event(f"evt_{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(tag,)) for tag in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    records = store.timers("prj_1")
    assert len(records) == 2 * per_thread
    assert all(r.fingerprint == r.timer_id[4] + str(int(r.timer_id[-3:])) for r in records)
    shared = store.feed("shared")
    assert shared is not None and shared.failures == per_thread - 1
    assert shared.last_error in ("a", "b")


def test_two_stores_incrementing_inside_transactions_lose_nothing(
    store_url: str, clock: FixedClock
) -> None:
    """Two handles (like two processes) doing read-modify-write in transaction() blocks."""
    rounds = 40
    errors: list[BaseException] = []
    stores = [StateStore(store_url, clock=clock) for _ in range(2)]

    def work(handle: StateStore) -> None:
        try:
            for _ in range(rounds):
                with handle.transaction():
                    value = int(handle.kv_get("counter") or "0")
                    handle.kv_set("counter", str(value + 1))
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=work, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        assert stores[0].kv_get("counter") == str(2 * rounds)
    finally:
        for s in stores:
            s.close()


def test_closed_store_refuses_use(store_url: str) -> None:
    opened = StateStore(store_url)
    opened.close()
    with pytest.raises(StoreError, match="closed"):
        opened.kv_get("k")
    with pytest.raises(StoreError, match="closed"):
        opened.put_timer(timer("icb_1"))


def test_nul_characters_are_refused_or_replaced_the_same_on_every_backend(
    store: StateStore,
) -> None:
    with pytest.raises(StoreError, match="NUL"):
        store.put_timer(timer("icb_1", uid="evil\x00uid"))
    with pytest.raises(StoreError, match="NUL"):
        store.remember_webhook_event("evt\x00")
    with pytest.raises(StoreError, match="NUL"):
        store.kv_set("k", "v\x00")
    assert store.timers("prj_1") == []
    store.put_feed(FeedState(name="team", last_error="bad byte \x00 here", suspicious="\x00"))
    got = store.feed("team")
    assert got is not None
    assert (got.last_error, got.suspicious) == ("bad byte \ufffd here", "\ufffd")


_TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    uid=_TEXT,
    rid=st.none() | _TEXT,
    part=st.integers(min_value=0, max_value=2**31 - 1),
    etag=st.none() | _TEXT,
    body=st.none() | st.binary(max_size=300),
    counts=st.dictionaries(_TEXT, st.integers(min_value=-(2**53), max_value=2**53), max_size=4),
    moment=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(PLUS_5)
    ),
)
def test_any_text_bytes_and_instants_round_trip(
    store: StateStore,
    uid: str,
    rid: str | None,
    part: int,
    etag: str | None,
    body: bytes | None,
    counts: dict[str, int],
    moment: datetime,
) -> None:
    rec = timer("icb_h", uid=uid, recurrence_id=rid, part=part, source=uid)
    store.put_timer(rec)
    assert store.timers("prj_1", uid) == [rec]
    state = FeedState(name="h", etag=etag, body=body, counts=counts, next_run=moment)
    store.put_feed(state)
    got = store.feed("h")
    assert got == state
    assert got is not None and got.next_run is not None and got.next_run.tzinfo is not None


def test_timer_record_fields_match_the_table_columns() -> None:
    """``timers()`` builds records positionally; a reordered column would scramble them."""
    from dataclasses import fields

    from ical_bridge.store.schema import timer_records

    assert [f.name for f in fields(TimerRecord)] == [c.name for c in timer_records.columns]


def test_another_threads_writes_are_not_part_of_a_transaction(store: StateStore) -> None:
    inside = threading.Event()
    outcome: list[BaseException | None] = []

    def other() -> None:
        inside.wait(timeout=60)
        try:
            store.kv_set("other", "kept")  # waits for the write lock on SQLite, then commits
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=other)
    worker.start()
    with pytest.raises(RuntimeError), store.transaction():
        store.kv_set("mine", "rolled back")
        inside.set()
        raise RuntimeError("abandon the block")
    worker.join(timeout=60)
    assert outcome == [None]
    assert store.kv_get("other") == "kept"
    assert store.kv_get("mine") is None
