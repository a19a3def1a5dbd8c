"""Soak benchmark for the sync daemon's passes (a script, not a test).

Fixed workload: FEEDS feeds × EVENTS events (files), PASSES passes over all of
them; before each pass a few random feeds get random edits (renames, moves,
additions, removals). tickward is the local server in process (rate limits off,
plan caps raised like a self-hosted server), the clock is fixed and moves one
minute per pass. After every pass the bridge's timers are checked against the
feed model; at the end: no duplicates, every feed exactly mirrored.

Prints RSS at pass 10 and at the end (memory should stay flat), and tickward
requests per pass (all passes, and passes with edits). With ``--server-process``
tickward is the emulator in its own process (``ical-bridge emulator``, file DB),
so the RSS figures are the bridge's alone; otherwise the in-process server's
memory (in-memory SQLite, idempotency records, request log) is included.

    .venv/bin/python tests/benchmarks/bench_soak.py            # 50 × 200, 200 passes
    .venv/bin/python tests/benchmarks/bench_soak.py --server-process
    .venv/bin/python tests/benchmarks/bench_soak.py --passes 40 --feeds 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from ical_bridge.clock import FixedClock
from ical_bridge.daemon.bridge import Bridge
from ical_bridge.config import load_config
from ical_bridge.localserver import EMBEDDED_API_KEY, PlanLimits, create_app
from ical_bridge.sync import Limits
from ical_bridge.store import StateStore
from ical_bridge.tickward import TickwardClient

START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]
KEY = "tw_local_soak_key"


@contextlib.contextmanager
def emulator(tmp: Path, cap: int, projects: int) -> Iterator[str]:
    """``ical-bridge emulator`` in its own process; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    limits = [
        "--timers-per-project",
        str(cap),
        "--active-timers-per-space",
        str(cap),
        "--projects",
        str(projects),
        "--project-create-max-timers",
        str(cap),
    ]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ical_bridge",
            "emulator",
            "--port",
            str(port),
            "--db",
            str(tmp / "tickward.sqlite3"),
            "--api-key",
            KEY,
            "--no-rate-limit",
            *limits,
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/capabilities", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the emulator did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class FeedModel:
    """What one feed file says: uid → (summary, start)."""

    def __init__(self, index: int, events: int, rng: random.Random) -> None:
        self.index = index
        self.rng = rng
        self.next_uid = events
        self.events = {
            f"f{index}-e{i}": (f"Feed {index} event {i}", START + timedelta(hours=6 * i))
            for i in range(events)
        }

    def edit(self) -> None:
        """A handful of random edits."""
        uids = sorted(self.events)
        for _ in range(self.rng.randint(1, 5)):
            kind = self.rng.choice(["rename", "move", "add", "remove"])
            uid = self.rng.choice(uids)
            if uid not in self.events:
                continue
            label, when = self.events[uid]
            if kind == "rename":
                self.events[uid] = (f"{label.split(' v')[0]} v{self.rng.randint(1, 999)}", when)
            elif kind == "move":
                self.events[uid] = (label, when + timedelta(hours=self.rng.randint(1, 48)))
            elif kind == "add":
                new = f"f{self.index}-n{self.next_uid}"
                self.next_uid += 1
                hours = self.rng.randint(1, 24 * 60)
                self.events[new] = (f"Feed {self.index} new {new}", START + timedelta(hours=hours))
            elif len(self.events) > 10:
                del self.events[uid]

    def ics(self) -> bytes:
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN"]
        for uid, (label, when) in sorted(self.events.items()):
            lines += [
                "BEGIN:VEVENT",
                f"UID:{uid}",
                "DTSTAMP:20260101T000000Z",
                f"DTSTART:{when:%Y%m%dT%H%M%SZ}",
                f"SUMMARY:{label}",
                "END:VEVENT",
            ]
        lines.append("END:VCALENDAR")
        return ("\r\n".join(lines) + "\r\n").encode()


async def soak(
    feeds: int, events: int, passes: int, edits: int, seed: int, tmp: Path, server: str | None
) -> int:
    rng = random.Random(seed)
    clock = FixedClock(datetime(2027, 1, 1, 0, 0, tzinfo=UTC))
    cap = events * 3
    app = create_app(
        None,
        rate_limit=None,
        clock=clock,
        plan=PlanLimits(
            timers_per_project=cap,
            active_timers_per_space=cap,
            projects=feeds + 5,
            project_create_max_timers=cap,
        ),
    )
    if server is None:
        base, key, transport = "http://soak/api/v1", EMBEDDED_API_KEY, httpx.ASGITransport(app=app)
    else:
        base, key, transport = server, KEY, None
    limits = Limits(
        timers_per_project=cap,
        active_timers_per_space=cap,
        projects=feeds + 5,
        project_create_max_timers=cap,
    )
    models = [FeedModel(i, events, rng) for i in range(feeds)]
    text = f'[state]\nurl = "sqlite:///{tmp / "state.sqlite3"}"\n\n'
    for model in models:
        path = tmp / f"feed{model.index}.ics"
        path.write_bytes(model.ics())
        text += (
            f'[[feeds]]\nname = "feed{model.index}"\npath = "{path}"\n'
            f'project = "Soak {model.index}"\ninterval = "1m"\nwindow = "400d"\n\n'
        )
    (tmp / "soak.toml").write_text(text)
    config = load_config(tmp / "soak.toml")
    per_pass: list[int] = []
    per_edit_pass: list[int] = []
    failures = 0
    rss10 = float("nan")
    started = time.perf_counter()
    with StateStore(config.state.url) as store:
        async with TickwardClient(
            base, key, transport=transport, clock=clock, pacing=False
        ) as client:
            bridge = Bridge(config, store, client, clock=clock, limits=limits)
            for n in range(1, passes + 1):
                edited = rng.sample(models, k=min(edits, feeds)) if n > 1 else []
                for model in edited:
                    model.edit()
                    (tmp / f"feed{model.index}.ics").write_bytes(model.ics())
                before = client.stats.requests
                results = await bridge.run_all(force=True)
                failures += sum(1 for r in results if not r.ok)
                count = client.stats.requests - before
                per_pass.append(count)
                if edited:
                    per_edit_pass.append(count)
                clock.advance(timedelta(minutes=1))
                if n == 10:
                    rss10 = rss_mb()
                if n % 25 == 0 or n == passes:
                    elapsed = time.perf_counter() - started
                    print(f"pass {n}: {elapsed:.0f} s, rss {rss_mb():.0f} MB", flush=True)
            snapshot = (await client.sync()).snapshot
    assert snapshot is not None
    active = [t for t in snapshot.timers if not t.archived_at]
    ids = [t.id for t in snapshot.timers]
    problems = 0
    if len(ids) != len(set(ids)):
        print(f"DUPLICATE ids: {len(ids) - len(set(ids))}")
        problems += 1
    by_project: dict[str, list[str]] = {}
    for timer in active:
        by_project.setdefault(timer.project_name or "", []).append(timer.label)
    for model in models:
        want = sorted(label for label, _ in model.events.values())
        got = sorted(by_project.get(f"Soak {model.index}", []))
        if got != want:
            problems += 1
            print(f"feed {model.index}: {len(got)} active timers, feed has {len(want)}")
    where = "in-process server" if server is None else "server in its own process"
    print(f"feeds {feeds} × events {events}, passes {passes}, edited feeds per pass {edits}")
    print(f"tickward: {where}; RSS is this process only")
    print(f"timers: {len(active)} active, {len(snapshot.timers) - len(active)} archived")
    print(f"failed feed passes: {failures}; mismatched feeds / duplicate sets: {problems}")
    print(f"RSS at pass 10: {rss10:.1f} MB; at pass {passes}: {rss_mb():.1f} MB")
    print(
        f"tickward requests per pass: first {per_pass[0]}, mean {statistics.mean(per_pass):.1f}, "
        f"mean with edits {statistics.mean(per_edit_pass or [0]):.1f}, max {max(per_pass)}"
    )
    print(f"wall time: {time.perf_counter() - started:.0f} s")
    return 1 if problems or failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--passes", type=int, default=200)
    parser.add_argument("--edits", type=int, default=5, help="feeds edited before each pass")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument(
        "--server-process", action="store_true", help="run tickward as a separate emulator process"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = (args.feeds, args.events, args.passes, args.edits, args.seed, Path(tmp))
        if not args.server_process:
            return asyncio.run(soak(*run, None))
        with emulator(Path(tmp), args.events * 3, args.feeds + 5) as url:
            return asyncio.run(soak(*run, url))


if __name__ == "__main__":
    sys.exit(main())
