"""A pass under a claim: skipped when another replica has the feed, cancelled when lost."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ical_bridge.config import load_config
from ical_bridge.daemon.claims import claimed
from ical_bridge.errors import ConfigError


class StubClaims:
    """Claims whose answers the test sets (a replica's view of ``feed_claims``)."""

    shared = True

    def __init__(self, *, grant: int | None, keep: bool) -> None:
        self.owner = "host:1:abc"
        self.lease = timedelta(seconds=0.15)
        self.grant, self.keep = grant, keep
        self.renewals = 0
        self.released: list[tuple[str, int]] = []

    def acquire(self, feed: str) -> int | None:
        return self.grant

    def renew(self, feed: str, token: int) -> bool:
        self.renewals += 1
        return self.keep

    def release(self, feed: str, token: int) -> None:
        self.released.append((feed, token))

    def first_seen(self, export: str, digest: str, now: datetime) -> datetime:
        return now

    def ensure_tokens(self, tokens: dict[str, str]) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_feed_claimed_elsewhere_is_skipped() -> None:
    claims = StubClaims(grant=None, keep=True)

    async def attempt() -> int | None:
        async with claimed(claims, "team") as held:
            return held.token

    assert asyncio.run(attempt()) is None
    assert claims.released == []


def test_a_long_pass_renews_its_lease_and_releases_it() -> None:
    claims = StubClaims(grant=7, keep=True)

    async def long_pass() -> int | None:
        async with claimed(claims, "team") as held:
            await asyncio.sleep(0.6)  # four leases of 0.15 s: renewed every 0.05 s
            return held.token

    assert asyncio.run(long_pass()) == 7
    assert claims.renewals >= 2
    assert claims.released == [("team", 7)]


def test_a_pass_that_lost_its_claim_is_cancelled() -> None:
    claims = StubClaims(grant=3, keep=False)  # another replica took the feed over
    reached_end = False

    async def long_pass() -> None:
        nonlocal reached_end
        async with claimed(claims, "team"):
            await asyncio.sleep(30)
            reached_end = True

    async def run() -> None:
        await asyncio.wait_for(asyncio.create_task(long_pass()), timeout=10)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(run())
    assert not reached_end
    assert claims.released == []  # the claim is someone else's now


def test_the_lease_is_configured_under_state(tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text('[state]\nurl = "sqlite:///s.sqlite3"\nlease = "5s"\n')
    assert load_config(config).state.lease == timedelta(seconds=5)
    config.write_text('[state]\nlease = "0s"\n')
    with pytest.raises(ConfigError, match="lease"):
        load_config(config)
