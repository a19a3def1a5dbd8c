"""N daemon replicas on one PostgreSQL state store, for two tickward accounts (all real
processes).

Three ``daemon`` subprocesses share 32 file feeds of two accounts (``[tickward]`` and
one ``[[accounts]]`` entry, 16 feeds each) through ``feed_claims``; each account is
its own emulator subprocess accepting only that account's key, and logs every
request with its ``X-Correlation-Id`` (``icb.<feed>.<claim token>.<replica>``), which
is the record of who ran which pass when. One replica is killed with SIGKILL while
its pass of a second-account feed is writing; the others take that feed over once
the lease ran out. The end state of both accounts is compared with a single-process
``sync --once`` on SQLite against two more emulators.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.daemon.daemon_helpers import wait_for
from tests.daemon.replica_helpers import (
    Emulators,
    Process,
    Workload,
    claims,
    free_port,
    libpq,
    overlapping,
    pass_key,
    passes,
    pg_base_url,
    replica,
    throwaway_database,
    wait_all_synced,
)

pytestmark = pytest.mark.postgres

START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
WORK = Workload(feeds=32, events=12, interval="2s", lease="3s", exports=2, accounts=2)
Timers = dict[str, dict[str, list[tuple[str, str, str, bool]]]]  # account → project → timers


def _pid(owner: str | None) -> int:
    return int((owner or "::").split(":")[1] or 0)


def _export_url(state_url: str, port: int, export: str) -> str:
    with psycopg.connect(libpq(state_url)) as conn:
        row = conn.execute("SELECT token FROM export_tokens WHERE name = %s", (export,)).fetchone()
    assert row is not None, f"no token for {export}"
    return f"http://127.0.0.1:{port}/feeds/{row[0]}.ics"


def _same_answer(url_a: str, url_b: str) -> tuple[httpx.Response, httpx.Response] | None:
    """Both replicas' answers once they serve the same complete export."""
    a, b = httpx.get(url_a, timeout=10), httpx.get(url_b, timeout=10)
    full = a.content.count(b"BEGIN:VEVENT") == WORK.events
    ok = a.status_code == b.status_code == 200 and full
    return (a, b) if ok and a.content == b.content else None


class SingleProcess:
    """The same workload synced by one ``sync --once`` on SQLite, against its own emulators."""

    def __init__(self, tmp: Path) -> None:
        root = tmp / "single"
        root.mkdir()
        self.emulators = Emulators(root, WORK, name="single")
        WORK.write(root, START)
        state = f"sqlite:///{root / 'state.sqlite3'}"
        config = WORK.config(root, state, self.emulators.urls, free_port())
        self.once = Process(["sync", "--once", "--config", str(config)], root / "once.log")

    def result(self) -> Timers:
        """Each account's timers once ``sync --once`` exited 0."""
        try:
            code = self.once.proc.wait(timeout=120)
            assert code == 0, self.once.output()
            return self.emulators.timers()
        finally:
            self.once.stop()
            self.emulators.stop()


def test_three_replicas_share_two_accounts_feeds_survive_kill_9_and_serve_identical_exports(
    tmp_path: Path,
) -> None:
    base = pg_base_url()
    single = SingleProcess(tmp_path)  # runs meanwhile; compared at the end
    with throwaway_database(base) as state_url:
        emulators = Emulators(tmp_path, WORK, delay=0.03)  # a pass of 12 writes takes ~0.5 s
        replicas: list[Process] = []
        try:
            WORK.write(tmp_path, START)
            ports = [free_port() for _ in range(3)]
            for i, port in enumerate(ports):
                config = WORK.config(tmp_path, state_url, emulators.urls, port)
                replicas.append(replica(tmp_path, config, i))
            by_pid = {r.proc.pid: i for i, r in enumerate(replicas)}
            second = set(WORK.names_of(1))  # the [[accounts]] entry's feeds

            # Catch a replica in the middle of a pass of the second account: it holds the
            # claim and has written part of the feed's timers (the emulator's log names it).
            def mid_pass() -> tuple[str, int, str] | None:
                spans = passes(emulators.all[1].requests())
                for feed, row in claims(state_url).items():
                    key = pass_key(row["token"], row["owner"])
                    writes = spans.get(feed, {}).get(key, (0, 0, 0))[2]
                    if feed in second and row["held"] and _pid(row["owner"]) in by_pid and (
                        2 <= writes <= 8
                    ):
                        return feed, row["token"], row["owner"]
                return None

            feed, token, owner = wait_for(mid_pass, 60, "a replica in the middle of a pass")
            victim = replicas[by_pid[_pid(owner)]]
            victim.kill9()
            after_kill = claims(state_url)[feed]
            assert (after_kill["owner"], after_kill["token"], after_kill["held"]) == (
                owner, token, True,
            ), "the replica was killed holding its claim"

            wait_all_synced(state_url, WORK.names(), 90)
            survivors = [(r, p) for r, p in zip(replicas, ports, strict=True) if r is not victim]

            # The victim's feed was finished by another replica under a newer claim.
            taken = claims(state_url)[feed]
            assert taken["token"] > token and _pid(taken["owner"]) != victim.proc.pid
            assert _pid(taken["owner"]) in {r.proc.pid for r, _ in survivors}

            # The replicas shared each account's work (no configuration said who does what).
            rows = claims(state_url)
            for k in range(WORK.accounts):
                assert len({_pid(rows[n]["owner"]) for n in WORK.names_of(k)}) >= 2, k

            # Any replica serves any export of any account: same body, same ETag, and a
            # 304 across them (export-1 is the second account's).
            (_, port_a), (_, port_b) = survivors
            for export, label in (("export-0", b"feed-00"), ("export-1", b"feed-01")):
                url_a = _export_url(state_url, port_a, export)
                url_b = _export_url(state_url, port_b, export)
                same = partial(_same_answer, url_a, url_b)
                a, b = wait_for(same, 30, f"both replicas to serve {export}", step=0.5)
                assert a.content.count(b"SUMMARY:" + label) == WORK.events, export
                assert a.headers["ETag"] == b.headers["ETag"]
                assert a.headers["Last-Modified"] == b.headers["Last-Modified"]
                revalidated = httpx.get(url_b, headers={"If-None-Match": a.headers["ETag"]})
                assert revalidated.status_code == 304, export
                assert revalidated.headers["ETag"] == a.headers["ETag"]
                assert httpx.get(url_a, headers={"If-None-Match": '"other"'}).status_code == 200

            for survivor, _ in survivors:
                assert survivor.stop() == 0, survivor.output()
            final = emulators.timers()
        finally:
            for r in replicas:
                r.stop()
            emulators.stop()

        # Each account's feeds went to that account's tickward only.
        for k, emulator in enumerate(emulators.all):
            assert set(passes(emulator.requests())) == set(WORK.names_of(k)), k

        # No pass ran twice at once for one feed: per feed, the emulator saw the requests
        # of different claims strictly one after another.
        spans = passes(emulators.requests())
        assert set(spans) == set(WORK.names())
        for name, by_token in spans.items():
            assert overlapping(by_token) == [], f"{name}: passes overlapped"
        assert len(spans[feed]) >= 2, "the killed pass and the one that finished it"

        # 0 duplicates, and the same end state as one process alone, for both accounts.
        assert set(final) == {"default", "acct-1"}
        for k, account in enumerate(final):
            assert set(final[account]) == {f"P-{n}" for n in WORK.names_of(k)}, account
            for name in WORK.names_of(k):
                labels = Counter(label for label, *_ in final[account][f"P-{name}"])
                assert len(labels) == WORK.events and set(labels.values()) == {1}, name
    assert final == single.result()
