"""Benchmark: requests per import, and wall time of a rate-limited import vs its lower bound.

Run: ``.venv/bin/python tests/benchmarks/bench_import.py [--quick]``

1. Requests sent per import for 10/100/1000-event calendars against the local
   tickward server in-process (no rate limit, plan limits raised): first import,
   no-op re-import (target 1: the /sync), one-event change (target 2).
2. Wall time of a 300-timer import over real HTTP (uvicorn on 127.0.0.1) with
   the rate limit scaled to 120 requests per 10 s window and plan limits raised
   like a self-hosted server, vs the lower bound that limit imposes
   (``floor((requests - 1) / 120) * 10 s``, a sliding window starting with a full
   burst; the steady-rate bound ``requests * 10 s / 120`` is printed too); target
   within 10 %, zero 429s.
3. A 1,000-event first import into the embedded store (the local server's
   on-disk SQLite database in-process, as ``import`` without an API key uses it,
   plan limits raised) vs a ``convert`` of the same file: CPU and wall time,
   medians of 3 fresh processes each, and the ratio (issue 12 target ≤ 1.5). The import
   uses the client ``ical-bridge import`` builds for the embedded store
   (``cli.context.embedded_client``; ``httpx.ASGITransport`` in trees without it).
   Then the least any import keeping the local server's own checks and rows could
   cost: each body validated and stored as ``POST …/timers`` does, all in one
   transaction, no HTTP, plan or /sync, and the state records in one call; and
   the same with storing free but the import's plan (beyond its convert) counted.
   ``--embedded`` runs only this part; ``--tree DIR`` measures another checkout.
"""

from __future__ import annotations

import asyncio
import compileall
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

REPO = Path(os.environ.get("BENCH_TREE") or Path(__file__).resolve().parents[2])
if os.environ.get("BENCH_TREE"):  # an editable install would shadow the tree
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)]
sys.path.insert(0, str(REPO))

from ical_bridge.localserver import (  # noqa: E402
    EMBEDDED_API_KEY,
    PlanLimits,
    RateLimitConfig,
    create_app,
)
from ical_bridge.store import StateStore  # noqa: E402
from ical_bridge.sync import Limits, SyncOptions, apply_plan, plan_source  # noqa: E402
from ical_bridge.tickward import TickwardClient  # noqa: E402

try:  # the client ``import`` builds for the embedded store (older trees: ASGITransport)
    from ical_bridge.cli.context import embedded_client
except ImportError:  # pragma: no cover - measuring a tree from before embedded_client
    def embedded_client(app: Any, api_key: str) -> TickwardClient:  # type: ignore[misc]
        return TickwardClient("http://embedded.local/api/v1", api_key,
                              transport=httpx.ASGITransport(app=app), pacing=False)

BIG = 100_000
RAISED_SERVER = PlanLimits(timers_per_project=BIG, active_timers_per_space=BIG,
                           project_create_max_timers=50)
RAISED_PLAN = Limits(timers_per_project=BIG, active_timers_per_space=BIG)
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def calendar(n: int, *, edited: int | None = None) -> bytes:
    """``n`` one-off events spread over the next 80 days (event ``edited`` renamed)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN", "X-WR-CALNAME:Bench"]
    for i in range(n):
        start = TODAY + timedelta(days=1, minutes=i * 80 * 24 * 60 // max(n, 1))
        summary = f"Event {i}" + (" (edited)" if i == edited else "")
        lines += ["BEGIN:VEVENT", f"UID:bench-{i}@example.com", "DTSTAMP:20260101T000000Z",
                  f"DTSTART:{start:%Y%m%dT%H%M%SZ}", f"SUMMARY:{summary}", "END:VEVENT"]
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


def options() -> SyncOptions:
    return SyncOptions(project="Bench", now=datetime.now(UTC), source_key="bench",
                       limits=RAISED_PLAN)


async def one_import(client: TickwardClient, store: StateStore, data: bytes) -> None:
    plan = await plan_source(client, store, data, options())
    report = await apply_plan(client, store, plan)
    assert report.ok, report.failed[:3]


def requests_per_import(n: int, tmp: Path) -> tuple[int, int, int]:
    app = create_app(None, rate_limit=None, plan=RAISED_SERVER)
    counts = []
    with StateStore(f"sqlite:///{tmp / f'state-{n}.sqlite3'}") as store:
        for data in (calendar(n), calendar(n), calendar(n, edited=n // 2)):
            before = len(app.state.requests)

            async def go(data: bytes = data) -> None:
                async with TickwardClient("http://bench/api/v1", EMBEDDED_API_KEY,
                                          transport=httpx.ASGITransport(app=app),
                                          pacing=False) as client:
                    await one_import(client, store, data)

            asyncio.run(go())
            counts.append(len(app.state.requests) - before)
    return counts[0], counts[1], counts[2]


def rate_limited_import(n: int, tmp: Path, limit: int, window: float) -> dict[str, Any]:
    app = create_app(tmp / "live.sqlite3", rate_limit=RateLimitConfig(
        per_key=limit, per_ip=BIG, window_seconds=window), plan=RAISED_SERVER)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        with StateStore(f"sqlite:///{tmp / 'live-state.sqlite3'}") as store:
            async def go() -> tuple[float, int, int]:
                async with TickwardClient(f"http://127.0.0.1:{port}/api/v1",
                                          EMBEDDED_API_KEY) as client:
                    started = time.perf_counter()
                    await one_import(client, store, calendar(n))
                    return (time.perf_counter() - started, client.stats.requests,
                            client.stats.rate_limited, client.stats.paced_seconds)

            wall, sent, limited, paced = asyncio.run(go())
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    bound = ((sent - 1) // limit) * window
    server_429 = sum(1 for r in app.state.requests if r.status == 429)
    return {"wall": wall, "requests": sent, "bound": bound, "client_429": limited,
            "server_429": server_429, "paced": paced, "rate_bound": sent * window / limit}


def _embedded_child(kind: str, source: Path, db: Path) -> None:
    """One measured run in this (fresh) process; prints CPU and wall seconds as JSON."""
    import warnings

    warnings.simplefilter("ignore")
    cpu, wall = time.process_time(), time.perf_counter()
    data = source.read_bytes()
    if kind == "floor":
        print(json.dumps(_bulk_floor(data, db)))
        return
    if kind == "convert":
        from ical_bridge.convert import ImportOptions, convert_calendar, to_json

        result = convert_calendar(data, ImportOptions(now=datetime.now(UTC), source_key="bench"))
        json.dumps(to_json(result), ensure_ascii=False, indent=2)
    else:
        parts = _time_the_floor()
        app = create_app(db, rate_limit=None, plan=RAISED_SERVER)

        async def go() -> None:
            async with embedded_client(app, EMBEDDED_API_KEY) as client:
                with StateStore(f"sqlite:///{db.with_suffix('.state.sqlite3')}") as store:
                    await one_import(client, store, data)

        asyncio.run(go())
    print(json.dumps({"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
                      **(parts if kind == "import" else {})}))


def _bulk_floor(data: bytes, db: Path) -> dict[str, float]:
    """CPU seconds of the least any import into the embedded store can do once convert has
    run, if it keeps the local server's own checks and rows: every timer body validated as
    ``POST …/timers`` validates it, every timer stored with the server's ``add_timer`` (its
    id and plan-limit checks, its row), all in one transaction, without HTTP, a plan or a
    /sync; then the state store's records of them in one ``put_timers``."""
    from ical_bridge.convert import ImportOptions, convert_calendar
    from ical_bridge.localserver.checker import Checker
    from ical_bridge.localserver.database import Database
    from ical_bridge.localserver.timers import add_timer
    from ical_bridge.localserver.validation import timer_create_body
    from ical_bridge.store.records import TimerRecord

    now = datetime.now(UTC)
    result = convert_calendar(data, ImportOptions(now=now, source_key="bench"))
    bodies = [{k: v for k, v in json.loads(json.dumps(d.timer)).items() if v is not None}
              for d in result.timers]  # as the client sends them: JSON, no nulls
    started = time.process_time()
    checked = []
    for body in bodies:
        checker = Checker()
        checked.append(timer_create_body(checker, body, "#", now))
        assert not checker.issues, checker.issues
    validate = time.process_time() - started
    database = Database(db)
    with database.transaction() as conn:
        conn.execute("INSERT INTO projects (id, name, color, created_at, updated_at, claimed_at)"
                     " VALUES ('prj_bench', 'Bench', NULL, 'now', 'now', NULL)")
    started = time.process_time()
    with database.transaction() as conn:
        for body in checked:
            add_timer(conn, "prj_bench", body, now, RAISED_SERVER)
    insert = time.process_time() - started
    database.close()
    records = [TimerRecord("prj_bench", d.id, "bench", d.source.uid, d.source.recurrence_id,
                           d.source.part, d.strategy, "0" * 16) for d in result.timers]
    with StateStore(f"sqlite:///{db.with_suffix('.state.sqlite3')}") as store:
        started = time.process_time()
        store.put_timers(records)
        record = time.process_time() - started
    return {"validate": validate, "insert": insert, "record": record, "plan": _plan_part(data, db)}


def _plan_part(data: bytes, db: Path) -> float:
    """CPU seconds the import's plan (``plan_source``: the /sync read, matching, the plan)
    takes beyond its own convert, against an empty embedded store (the second of two
    runs each, so that neither pays a first call's imports)."""
    from ical_bridge.convert import ImportOptions, convert_calendar

    app = create_app(db.with_suffix(".plan.sqlite3"), rate_limit=None, plan=RAISED_SERVER)

    async def plan() -> float:
        async with embedded_client(app, EMBEDDED_API_KEY) as client:
            with StateStore(f"sqlite:///{db.with_suffix('.plan-state.sqlite3')}") as store:
                for _ in range(2):
                    started = time.process_time()
                    await plan_source(client, store, data, options())
                    planned = time.process_time() - started
        return planned

    planned = asyncio.run(plan())
    for _ in range(2):
        started = time.process_time()
        convert_calendar(data, ImportOptions(now=datetime.now(UTC), source_key="bench"))
        converted = time.process_time() - started
    return max(0.0, planned - converted)


def _time_the_floor() -> dict[str, float]:
    """CPU seconds spent in the local server's own timer-create handler (validation, its
    transaction) and in recording each created timer in the state store, filled in as the
    import runs: the part of an import no faster transport or client can remove."""
    parts = {"handler": 0.0, "record": 0.0}
    try:
        from ical_bridge.localserver.app import _Handlers
        from ical_bridge.sync.apply import _Run
    except ImportError:  # pragma: no cover - another tree's layout
        return parts
    for owner, name, key in ((_Handlers, "create_timer", "handler"),
                             (_Run, "record_create", "record")):  # fmt: skip
        original = getattr(owner, name)

        def timed(*args: Any, _original: Any = original, _key: str = key) -> Any:
            started = time.process_time()
            try:
                return _original(*args)
            finally:
                parts[_key] += time.process_time() - started

        setattr(owner, name, timed)
    return parts


def embedded_vs_convert(tmp: Path, n: int = 1000, repeat: int = 3) -> None:
    """Print the first-import-into-the-embedded-store vs convert figures."""
    # Bytecode as an installed package has it: under PYTHONDONTWRITEBYTECODE=1 the children
    # would otherwise compile every module they import lazily inside the measured work.
    compileall.compile_dir(REPO / "ical_bridge", quiet=1)
    source = tmp / "embedded.ics"
    source.write_bytes(calendar(n))
    runs: dict[str, list[dict[str, float]]] = {"convert": [], "import": []}
    for i in range(repeat):
        for kind in runs:
            db = tmp / f"embedded-{i}.sqlite3"
            out = subprocess.run([sys.executable, __file__, "--child", kind, str(source), str(db)],
                                 check=True, capture_output=True, text=True).stdout
            runs[kind].append(json.loads(out.strip().splitlines()[-1]))
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("cpu", "wall")}
           for k, v in runs.items()}  # fmt: skip
    print(f"\n{n}-event first import into the embedded store vs convert "
          f"(medians of {repeat} fresh processes, work only)")
    for kind in runs:
        print(f"  {kind:<8} cpu {med[kind]['cpu']:.2f} s   wall {med[kind]['wall']:.2f} s")
    print(f"  ratio import/convert: cpu {med['import']['cpu'] / med['convert']['cpu']:.2f}, "
          f"wall {med['import']['wall'] / med['convert']['wall']:.2f} (target ≤ 1.5); "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    handler = statistics.median(r.get("handler", 0.0) for r in runs["import"])
    record = statistics.median(r.get("record", 0.0) for r in runs["import"])
    if handler:
        floor = (med["convert"]["cpu"] + handler + record) / med["convert"]["cpu"]
        print(f"  of the import: the local server's create handlers cpu {handler:.3f} s, state "
              f"records {record:.3f} s; convert + those alone (no HTTP, no client): "
              f"{floor:.2f}× convert")
    try:
        floors = [json.loads(subprocess.run(
            [sys.executable, __file__, "--child", "floor", str(source),
             str(tmp / f"floor-{i}.sqlite3")],
            check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            for i in range(repeat)]  # fmt: skip
    except subprocess.CalledProcessError:  # pragma: no cover - a tree without these parts
        return
    part = {k: statistics.median(f[k] for f in floors)
            for k in ("validate", "insert", "record", "plan")}  # fmt: skip
    base = med["convert"]["cpu"]
    least = (base + part["validate"] + part["insert"] + part["record"]) / base
    print(f"  the least an import keeping the server's checks and rows can cost (one process, "
          f"one transaction, no HTTP, plan or /sync): validate {part['validate'] * 1000:.0f} ms"
          f" + store {part['insert'] * 1000:.0f} ms + records {part['record'] * 1000:.0f} ms "
          f"= {least:.2f}× convert")
    print(f"  the import's plan beyond its convert: {part['plan'] * 1000:.0f} ms; convert + plan"
          f" + validate + records alone (storing free): "
          f"{(base + part['plan'] + part['validate'] + part['record']) / base:.2f}× convert")


def main() -> None:
    quick = "--quick" in sys.argv
    if "--embedded" in sys.argv:
        with tempfile.TemporaryDirectory() as tmpdir:
            embedded_vs_convert(Path(tmpdir))
        return
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        print("requests per import (in-process local server, plan limits raised)")
        print(f"{'events':>7} {'first':>6} {'no-op':>6} {'1 edit':>7}   targets: no-op 1, edit 2")
        for n in (10, 100) if quick else (10, 100, 1000):
            first, noop, edit = requests_per_import(n, tmp)
            print(f"{n:>7} {first:>6} {noop:>6} {edit:>7}")
        n, limit, window = (60, 20, 2.0) if quick else (300, 120, 10.0)
        print(f"\n{n}-timer import over HTTP, rate limit {limit} requests / {window:g} s")
        r = rate_limited_import(n, tmp, limit, window)
        ratio = r["wall"] / r["bound"] if r["bound"] else float("nan")
        print(f"requests {r['requests']}, wall {r['wall']:.2f} s, lower bound {r['bound']:.2f} s,"
              f" ratio {ratio:.3f} (target ≤ 1.10), 429s received {r['client_429']}"
              f" (server sent {r['server_429']})")
        print(f"(client pacing waited {r['paced']:.2f} s; the steady-rate bound "
              f"requests × window / limit = {r['rate_bound']:.2f} s → ratio "
              f"{r['wall'] / r['rate_bound']:.3f})")
        embedded_vs_convert(tmp, n=100 if quick else 1000)


if __name__ == "__main__":
    if "--tree" in sys.argv and "BENCH_TREE" not in os.environ:
        os.environ["BENCH_TREE"] = sys.argv[sys.argv.index("--tree") + 1]
        raise SystemExit(subprocess.call([sys.executable, *sys.argv]))
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _embedded_child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
