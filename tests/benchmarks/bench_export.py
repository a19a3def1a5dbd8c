"""Benchmark: export speed/memory, and feed-server requests/s (200 and 304).

Run: .venv/bin/python tests/benchmarks/bench_export.py [--tree DIR]
(``--tree`` measures another checkout of the package, e.g. one from before a change)
Fixed workload; prints figures; not collected by pytest (no test_ prefix).

1. export_calendar over 40, 1,000 and 10,000 synthetic timers (mixed zones,
   recurrence types, reminders, colours): wall time and tracemalloc peak.
2. The feed app over real HTTP (uvicorn on 127.0.0.1, ephemeral port, serving a
   local tickward project of 40 timers) loaded from a SECOND process: a bounded
   httpx loop (fixed request count, fixed concurrency) for 200 responses and
   for 304 (If-None-Match) responses.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(os.environ.get("BENCH_TREE") or Path(__file__).resolve().parents[2])
if os.environ.get("BENCH_TREE"):  # an editable install would shadow the tree
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)]
sys.path.insert(0, str(REPO))

from ical_bridge.clock import FixedClock  # noqa: E402
from ical_bridge.convert.export import export_calendar  # noqa: E402
from ical_bridge.feeds import ExportFeed, create_feed_app  # noqa: E402
from ical_bridge.feeds.server import make_server  # noqa: E402
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app  # noqa: E402
from ical_bridge.store import StateStore  # noqa: E402
from ical_bridge.tickward import SyncSnapshot, TickwardClient  # noqa: E402

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Tokyo", "UTC"]
KINDS: list[dict[str, Any] | None] = [
    None,
    {"type": "daily", "enabled": True},
    {"type": "weekly", "enabled": True},
    {"type": "monthly", "enabled": True},
    {"type": "monthly", "enabled": True, "lastDay": True},
    {"type": "yearly", "enabled": True},
]
REQUESTS = 3000
CONCURRENCY = 16


def synthetic(n: int) -> list[dict[str, Any]]:
    timers = []
    for i in range(n):
        target = NOW + timedelta(hours=7 * i + 3)
        timers.append({
            "object": "timer", "id": f"icb_{i:08d}", "project_id": "proj_bench",
            "label": f"Timer {i} — ünïcode label, with; escapes",
            "target_date": target.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "timezone": ZONES[i % len(ZONES)], "recurrence": KINDS[i % len(KINDS)],
            "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-02-01T00:00:00.000Z",
            "archived_at": None, "color": "#1e90ff" if i % 3 == 0 else None,
            "description": "A description" if i % 2 else None, "notify": i % 4 == 0,
            "reminders": [{"offset_minutes": 10}, {"offset_minutes": 60}] if i % 4 == 0 else [],
            "mode": "until",
        })
    return timers


def bench_export() -> None:
    print("export_calendar (mixed zones/recurrences):")
    export_calendar(synthetic(5), project_id="p", calendar_name="warm", now=NOW)  # warm caches
    for n in (40, 1_000, 10_000):
        timers = synthetic(n)
        tracemalloc.start()
        start = time.perf_counter()
        data = export_calendar(timers, project_id="proj_bench", calendar_name="Bench", now=NOW)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        start = time.perf_counter()
        export_calendar(timers, project_id="proj_bench", calendar_name="Bench", now=NOW)
        untraced = time.perf_counter() - start
        print(f"  {n:>6} timers: {untraced * 1000:8.1f} ms ({n / untraced:8.0f} timers/s; "
              f"{elapsed * 1000:.0f} ms under tracemalloc), peak {peak / 1e6:6.1f} MB, "
              f"output {len(data) / 1e6:.2f} MB")


LOAD_LOOP = r"""
import asyncio, json, sys, time, httpx
url, etag, total, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
headers = {"Accept-Encoding": "identity"}
if etag:
    headers["If-None-Match"] = etag
async def main():
    statuses = {}
    remaining = total
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as c:
        async def worker():
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                r = await c.get(url, headers=headers)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    print(json.dumps({"elapsed": elapsed, "statuses": statuses}))
asyncio.run(main())
"""


# The same bounded loop over raw keep-alive sockets: httpx's client costs more CPU per
# request than the server does, so this shows the server's own capacity.
RAW_LOOP = r"""
import asyncio, json, sys, time
from urllib.parse import urlsplit
url, etag, total, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
u = urlsplit(url)
extra = f"If-None-Match: {etag}\r\n" if etag else ""
req = (f"GET {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nAccept-Encoding: identity\r\n"
       f"{extra}\r\n").encode()
statuses = {}
async def worker(n):
    r, w = await asyncio.open_connection(u.hostname, u.port)
    for _ in range(n):
        w.write(req)
        await w.drain()
        head = await r.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = lines[0].split()[1].decode()
        statuses[status] = statuses.get(status, 0) + 1
        length = 0
        for line in lines[1:]:
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await r.readexactly(length)
    w.close()
async def main():
    start = time.perf_counter()
    await asyncio.gather(*(worker(total // concurrency) for _ in range(concurrency)))
    print(json.dumps({"elapsed": time.perf_counter() - start, "statuses": statuses,
                      "count": total // concurrency * concurrency}))
asyncio.run(main())
"""


def bench_feed() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    ready = threading.Event()
    stop = threading.Event()
    info: dict[str, Any] = {}

    async def serve() -> None:
        tickward = create_app(None, rate_limit=None)
        client = TickwardClient("http://tickward.local/api/v1", EMBEDDED_API_KEY,
                                transport=httpx.ASGITransport(app=tickward), pacing=False)
        project = await client.create_project({"name": "Bench"})
        for timer in synthetic(40):
            body = {k: timer[k] for k in ("id", "label", "target_date", "timezone")}
            if timer["recurrence"]:
                body["recurrence"] = timer["recurrence"]
            await client.create_timer(project.id, body)
        store = StateStore(f"sqlite:///{tmp / 'state.sqlite3'}")
        # A fixed clock: the feed's refresh hint (and with it body and ETag) follows the
        # clock near a timer's target, so a real one would make the 304 run time-dependent.
        clock = FixedClock(NOW)
        source = SyncSnapshot(client, clock=clock, refresh_seconds=60)
        app = create_feed_app([ExportFeed(name="bench", project="Bench")], source=source,
                              store=store, clock=clock)
        server = make_server(app, host="127.0.0.1", port=0)
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        info["port"] = server.servers[0].sockets[0].getsockname()[1]
        info["token"] = store.export_token("bench")
        ready.set()
        await asyncio.to_thread(stop.wait)
        server.should_exit = True
        await task
        await client.aclose()
        store.close()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(30), "feed server did not start"
    url = f"http://127.0.0.1:{info['port']}/feeds/{info['token']}.ics"
    first = httpx.get(url, headers={"Accept-Encoding": "identity"})
    etag = first.headers["etag"]
    print(f"feed server (40 timers, body {len(first.content)} B; {REQUESTS} requests, "
          f"{CONCURRENCY} concurrent, load from a second process):")
    try:
        for loop_name, loop in (("httpx", LOAD_LOOP), ("raw socket", RAW_LOOP)):
            for label, tag in (("200", ""), ("304", etag)):
                out = subprocess.run(
                    [sys.executable, "-c", loop, url, tag, str(REQUESTS), str(CONCURRENCY)],
                    capture_output=True, text=True, timeout=300, check=True,
                )
                result = json.loads(out.stdout)
                rps = result.get("count", REQUESTS) / result["elapsed"]
                print(f"  {loop_name:>10} client, {label}: {rps:7.0f} requests/s  "
                      f"statuses={result['statuses']}")
    finally:
        stop.set()
        thread.join(30)


if __name__ == "__main__":
    if "--tree" in sys.argv and "BENCH_TREE" not in os.environ:
        # re-run with the tree in the environment, before anything is imported from it
        os.environ["BENCH_TREE"] = sys.argv[sys.argv.index("--tree") + 1]
        raise SystemExit(subprocess.call([sys.executable, __file__]))
    if os.environ.get("BENCH_TREE"):
        print(f"measuring the package in {os.environ['BENCH_TREE']}")
    bench_export()
    bench_feed()
