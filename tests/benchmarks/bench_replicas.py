"""Replica benchmark: 1 vs 3 ``daemon`` replicas on PostgreSQL over one workload (a script).

Fixed workload: FEEDS file feeds × EVENTS one-off events, one project per feed,
all real processes: the emulator (``--request-delay`` stands in for a distant
tickward; rate limits off) and ``daemon`` subprocesses sharing one throwaway
PostgreSQL database. For 1 and for 3 replicas, on a fresh database and emulator:

- feeds per minute: feeds / time from the replicas' start until every feed's
  first pass is applied;
- tickward requests per pass: requests tagged with a pass's correlation id /
  passes that sent any (plus the untagged start-up reads, shown apart), and the
  requests a second round of unchanged passes costs;
- lease takeover (3 replicas): a replica is killed with SIGKILL while a pass is
  writing; the time from the kill until another replica's pass of that feed
  sends its first request (lease and interval shown beside it), once during the
  first round (survivors busy) and once for a changed feed (survivors idle).

    .venv/bin/python tests/benchmarks/bench_replicas.py
    .venv/bin/python tests/benchmarks/bench_replicas.py --feeds 60 --delay 0.05 --lease 5s
    .venv/bin/python tests/benchmarks/bench_replicas.py --accounts 2

With ``--accounts N`` the feeds are split over N tickward accounts (feed i belongs to
account i mod N: ``[tickward]`` and ``[[accounts]]`` entries), one emulator each.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.daemon.daemon_helpers import one_offs, wait_for  # noqa: E402
from tests.daemon.replica_helpers import (  # noqa: E402 - after the path is set
    DEFAULT_PG,
    MAX_ACCOUNTS,
    Emulators,
    Process,
    Workload,
    claims,
    feed_states,
    free_port,
    pass_key,
    passes,
    replica,
    throwaway_database,
    wait_all_synced,
)

START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)


def _start(
    root: Path, work: Workload, state_url: str, emulators: Emulators, n: int
) -> list[Process]:
    started = []
    for i in range(n):
        config = work.config(root, state_url, emulators.urls, free_port())
        started.append(replica(root, config, i))
    return started


def throughput(work: Workload, n: int, delay: float, pg: str) -> dict[str, float]:
    """Time to the first complete round, and requests per pass, for ``n`` replicas."""
    with tempfile.TemporaryDirectory() as tmp, throwaway_database(pg) as state_url:
        root = Path(tmp)
        emulators = Emulators(root, work, delay=delay)
        procs: list[Process] = []
        try:
            work.write(root, START)
            began_at = time.time()
            began = time.monotonic()
            procs = _start(root, work, state_url, emulators, n)
            wait_all_synced(state_url, work.names(), 600)
            took = time.monotonic() - began
            first = [r for r in emulators.requests() if r["start"] >= began_at]
            # A second round: every feed unchanged (interval elapsed, claims taken again).
            round_started = time.time()
            tokens = {f: row["token"] for f, row in claims(state_url).items()}
            wait_for(
                lambda: all(claims(state_url)[f]["token"] > t for f, t in tokens.items()),
                120, "a second round of passes", step=0.2,
            )
            second = [r for r in emulators.requests() if r["start"] >= round_started]
        finally:
            for proc in procs:
                proc.stop()
            emulators.stop()
    tagged = passes(first)
    count = sum(len(by_pass) for by_pass in tagged.values())
    in_passes = sum(1 for r in first if (r.get("correlation") or "").startswith("icb."))
    return {
        "seconds": took,
        "feeds_per_minute": work.feeds / took * 60,
        "requests_per_pass": in_passes / max(count, 1),
        "startup_requests": len(first) - in_passes,
        "unchanged_round_requests": len(second),
        "unchanged_round_sync_reads": sum(1 for r in second if r["path"].endswith("/sync")),
    }


def takeover(work: Workload, delay: float, pg: str) -> dict[str, float]:
    """Seconds from a mid-pass ``kill -9`` to another replica's first request for that feed.

    Twice: while the replicas are busy with the first round (the feed waits behind the
    survivors' queued passes), then with one changed feed while the others are idle.
    """
    with tempfile.TemporaryDirectory() as tmp, throwaway_database(pg) as state_url:
        root = Path(tmp)
        emulators = Emulators(root, work, delay=delay)
        procs: list[Process] = []
        try:
            work.write(root, START)
            procs = _start(root, work, state_url, emulators, 3)
            busy = _kill_mid_pass(emulators, state_url, procs, None)
            wait_all_synced(state_url, work.names(), 600)
            feed = work.names()[-1]
            hashes = feed_states(state_url)
            path = root / "feeds" / f"{feed}.ics"
            path.write_bytes(one_offs(work.events, START, prefix=feed, label=f"{feed} v2"))
            idle = _kill_mid_pass(emulators, state_url, procs, feed)
            wait_for(lambda: feed_states(state_url)[feed]["content_hash"]
                     != hashes[feed]["content_hash"], 120, "the changed feed to be applied")
        finally:
            for proc in procs:
                proc.stop()
            emulators.stop()
    return {"busy": busy, "idle": idle}


def _kill_mid_pass(
    emulators: Emulators, state_url: str, procs: list[Process], only: str | None
) -> float:
    by_pid = {p.proc.pid: p for p in procs if p.proc.poll() is None}

    def mid_pass() -> tuple[str, int, str] | None:
        spans = passes(emulators.requests())
        for feed, row in claims(state_url).items():
            owner = row["owner"] or "::"
            writes = spans.get(feed, {}).get(pass_key(row["token"], owner), (0, 0, 0))[2]
            live = int(owner.split(":")[1]) in by_pid
            if row["held"] and live and writes >= 2 and only in (None, feed):
                return feed, row["token"], owner
        return None

    feed, token, owner = wait_for(mid_pass, 120, "a replica mid-pass", step=0.02)
    by_pid[int(owner.split(":")[1])].kill9()
    killed_at = time.time()

    def next_pass() -> float | None:
        later = [
            span[0] for key, span in passes(emulators.requests()).get(feed, {}).items()
            if int(key.split(".")[0]) > token
        ]
        return min(later) if later else None

    resumed: float = wait_for(next_pass, 120, "another replica to take the feed over", step=0.1)
    return resumed - killed_at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=32)
    parser.add_argument("--events", type=int, default=12)
    parser.add_argument("--delay", type=float, default=0.03, help="emulator seconds per request")
    parser.add_argument("--interval", default="2s")
    parser.add_argument("--lease", default="3s")
    parser.add_argument("--accounts", type=int, default=1, choices=range(1, MAX_ACCOUNTS + 1),
                        help="tickward accounts the feeds are split over (one emulator each)")
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args()
    work = Workload(args.feeds, args.events, args.interval, args.lease, exports=0,
                    accounts=args.accounts)
    print(f"workload: {work.feeds} feeds × {work.events} events over {work.accounts} "
          f"account(s), emulator delay "
          f"{args.delay * 1000:.0f} ms/request, interval {work.interval}, lease {work.lease}")
    for n in (1, 3):
        r = throughput(work, n, args.delay, args.pg)
        print(f"{n} replica(s): first round {r['seconds']:.1f} s = "
              f"{r['feeds_per_minute']:.0f} feeds/min; {r['requests_per_pass']:.1f} tickward "
              f"requests per pass (+{r['startup_requests']:.0f} at start-up); "
              f"the next round (feeds unchanged): {r['unchanged_round_requests']:.0f} requests "
              f"({r['unchanged_round_sync_reads']:.0f} of them GET /sync)")
    t = takeover(work, args.delay, args.pg)
    print(f"lease takeover after kill -9 (lease {work.lease}, feed interval {work.interval}): "
          f"{t['idle']:.1f} s with the other replicas idle, {t['busy']:.1f} s during the first "
          "round (the feed waits behind the survivors' queued passes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
