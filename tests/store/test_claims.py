"""Feed claims and first-seen times: two ``Claims`` objects play two replicas on one database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ical_bridge.store import StateStore
from ical_bridge.store.claims import Claims, make_claims
from tests.daemon.daemon_helpers import wait_for
from tests.store.conftest import START


@pytest.fixture
def replicas(store_url: str) -> Iterator[tuple[Claims, Claims]]:
    """Two replicas' claims (short lease) over a migrated state store."""
    with StateStore(store_url):
        a = make_claims(store_url, lease=timedelta(seconds=0.5))
        b = make_claims(store_url, lease=timedelta(seconds=0.5))
        try:
            yield a, b
        finally:
            a.close()
            b.close()


@pytest.mark.postgres
def test_one_replica_at_a_time_and_a_dead_ones_lease_runs_out(pg_url: str) -> None:
    with StateStore(pg_url):
        a = make_claims(pg_url, lease=timedelta(seconds=0.5))
        b = make_claims(pg_url, lease=timedelta(seconds=0.5))
        try:
            assert a.shared and b.shared
            first = a.acquire("team")
            assert first is not None
            assert b.acquire("team") is None  # held: the other replica skips it
            assert b.acquire("other") is not None  # other feeds are free
            assert a.renew("team", first)
            a.release("team", first)
            second = b.acquire("team")  # released: no need to wait for the lease
            assert second is not None and second > first
            assert not a.renew("team", first)  # an old claim cannot be renewed

            # b "dies" (stops renewing): a gets the feed once the lease ran out.
            third = wait_for(lambda: a.acquire("team"), 10, "the lease to run out")
            assert third > second
            assert not b.renew("team", second)
            b.release("team", second)  # a late release of a lost claim changes nothing
            assert b.acquire("team") is None
        finally:
            a.close()
            b.close()


def test_sqlite_claims_are_local_and_granted(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    with StateStore(store_url):
        claims = make_claims(store_url)
        try:
            assert not claims.shared
            token = claims.acquire("team")
            assert token is not None
            assert claims.acquire("team") is None  # this process already runs it
            claims.release("team", token)
            assert claims.acquire("team") == token + 1
        finally:
            claims.close()


def test_first_seen_is_shared_and_only_moves_forward(replicas: tuple[Claims, Claims]) -> None:
    a, b = replicas
    v1 = a.first_seen("team", "digest-1", START)
    assert b.first_seen("team", "digest-1", START + timedelta(minutes=5)) == v1 == START
    # New content seen within the same second still gets a later Last-Modified second.
    v2 = b.first_seen("team", "digest-2", START + timedelta(milliseconds=10))
    assert v2 >= v1 + timedelta(seconds=1)
    assert a.first_seen("team", "digest-2", START + timedelta(minutes=9)) == v2
    # Back to the old content: newer than v2, or a client holding v2 would get a wrong 304.
    back = a.first_seen("team", "digest-1", START + timedelta(minutes=10))
    assert back == START + timedelta(minutes=10)
    assert b.first_seen("team", "digest-1", START + timedelta(minutes=11)) == back
    # Exports are independent.
    assert b.first_seen("other", "digest-1", START) == START


@pytest.mark.postgres
def test_replicas_starting_together_agree_on_export_tokens(pg_url: str) -> None:
    with StateStore(pg_url) as store:
        a = make_claims(pg_url)
        b = make_claims(pg_url)
        try:
            a.ensure_tokens({"team": "token-from-a"})
            b.ensure_tokens({"team": "token-from-b", "club": "club-from-b"})
        finally:
            a.close()
            b.close()
        assert store.export_token("team") == "token-from-a"
        assert store.export_token("club") == "club-from-b"
