"""Convert benchmark: CPU and peak RSS of ``convert`` next to the other Python readers.

Run: ``.venv/bin/python tests/benchmarks/bench_convert.py [sizes…] [--repeat N] [--no-small]``
(default sizes 1000 10000; add 100000 for the big one; ``--only-small``;
``--tree DIR`` measures another checkout of the package, e.g. the one before a change;
``--readers bridge,ical`` limits the readers, e.g. at 100k where the expansion needs GBs).
Not collected by pytest.

Workload (issue 12): a generated feed (fixed seed) of mostly *future* series —
weekly/daily/monthly/yearly with BYDAY, BYMONTHDAY, INTERVAL, COUNT and UNTIL in
several IANA zones with DST (Google-style VTIMEZONEs beside them), some with
EXDATE and a moved occurrence, plus one-offs and a few all-day events.

Each figure is the median of ``--repeat`` (default 3) runs, every run in a fresh
subprocess. ``cpu`` is the child's user+system CPU time for the work alone
(reading the file, parsing/converting, for the bridge also writing the
``convert --json`` text; the row under it runs the same through the console
script's ``main()``, as ``ical-bridge convert FILE --json`` does, in the child,
output to a file; the next one as the daemon converts: ``convert_isolated``,
a worker process per conversion, whose CPU, start-up included, is added);
``proc`` adds interpreter start-up and imports; ``rss``
is the child's peak resident set. CPU is used rather than wall time because the
machine is shared; ratios are to icalendar's bare ``Calendar.from_ical``.

A second table times small-file command lines end to end (wall clock, median
of many interleaved runs, like hyperfine): ``ical-bridge convert small.ics``
against a bare ``import icalendar; Calendar.from_ical(...)`` script.
"""

from __future__ import annotations

import compileall
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-22T12:00:00Z"
WINDOW = timedelta(days=90)
TOOLS = ("bridge", "command", "worker", "icalendar", "ical", "rie")
TOOL_NAMES = {
    "bridge": "ical-bridge convert",
    "command": "  as the command (--json)",
    "worker": "  in the daemon's worker",
    "icalendar": "icalendar bare parse",
    "ical": "ical (allenporter) parse",
    "rie": "recurring-ical-events 90 d",
}

# zone → (standard offset, daylight offset or None, DST start rule, DST end rule, hours)
_ZONES = {
    "Europe/Berlin": ("+0100", "+0200", "BYMONTH=3;BYDAY=-1SU", "BYMONTH=10;BYDAY=-1SU", (2, 3)),
    "Europe/London": ("+0000", "+0100", "BYMONTH=3;BYDAY=-1SU", "BYMONTH=10;BYDAY=-1SU", (1, 2)),
    "America/New_York": ("-0500", "-0400", "BYMONTH=3;BYDAY=2SU", "BYMONTH=11;BYDAY=1SU", (2, 2)),
    "America/Los_Angeles": ("-0800", "-0700", "BYMONTH=3;BYDAY=2SU", "BYMONTH=11;BYDAY=1SU",
                            (2, 2)),
    "Australia/Sydney": ("+1000", "+1100", "BYMONTH=10;BYDAY=1SU", "BYMONTH=4;BYDAY=1SU", (2, 3)),
    "Asia/Tokyo": ("+0900", None, "", "", (0, 0)),
}  # fmt: skip
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _vtimezone(name: str) -> list[str]:
    std, dst, start_rule, end_rule, (on, off) = _ZONES[name]
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}", f"X-LIC-LOCATION:{name}"]
    if dst is None:
        return [*lines, "BEGIN:STANDARD", f"TZOFFSETFROM:{std}", f"TZOFFSETTO:{std}",
                "TZNAME:STD", "DTSTART:19700101T000000", "END:STANDARD", "END:VTIMEZONE"]
    return [*lines,
            "BEGIN:DAYLIGHT", f"TZOFFSETFROM:{std}", f"TZOFFSETTO:{dst}", "TZNAME:DST",
            f"DTSTART:19700101T0{on}0000", f"RRULE:FREQ=YEARLY;{start_rule}", "END:DAYLIGHT",
            "BEGIN:STANDARD", f"TZOFFSETFROM:{dst}", f"TZOFFSETTO:{std}", "TZNAME:STD",
            f"DTSTART:19700101T0{off}0000", f"RRULE:FREQ=YEARLY;{end_rule}", "END:STANDARD",
            "END:VTIMEZONE"]  # fmt: skip


def _rule(rnd: random.Random, start: datetime) -> str:
    """A random RRULE (value) for a series starting at ``start``; mostly still running."""
    kind = rnd.random()
    if kind < 0.40:
        parts = ["FREQ=WEEKLY"]
        if rnd.random() < 0.5:
            days = sorted([*rnd.sample(range(7), rnd.choice((1, 2, 3))), start.weekday()])
            parts.append("BYDAY=" + ",".join(dict.fromkeys(_WEEKDAYS[d] for d in days)))
        if rnd.random() < 0.2:
            parts.append("INTERVAL=2")
    elif kind < 0.60:
        parts = ["FREQ=DAILY"]
        if rnd.random() < 0.3:
            parts.append("BYDAY=MO,TU,WE,TH,FR")
        if rnd.random() < 0.2:
            parts.append("INTERVAL=3")
    elif kind < 0.85:
        parts = ["FREQ=MONTHLY"]
        shape = rnd.random()
        if shape < 0.4:
            parts.append(f"BYMONTHDAY={start.day}")
        elif shape < 0.7:
            parts.append(f"BYDAY={rnd.choice((1, 2, 3, -1))}{_WEEKDAYS[start.weekday()]}")
        elif shape < 0.8:
            parts.append("BYMONTHDAY=-1")
        if rnd.random() < 0.15:
            parts.append("INTERVAL=2")
    else:
        parts = ["FREQ=YEARLY"]
    end = rnd.random()
    if end < 0.15:
        until = NOW + timedelta(days=rnd.randrange(-30, 400))
        parts.append(f"UNTIL={until:%Y%m%dT%H%M%SZ}")
    elif end < 0.25:
        parts.append(f"COUNT={rnd.randrange(5, 300)}")
    return ";".join(parts)


def make_feed(size: int, seed: int = 12) -> bytes:
    """A VCALENDAR with ``size`` VEVENTs (moved occurrences count as events)."""
    rnd = random.Random(seed)
    zones = list(_ZONES)
    out = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//issue 12//EN",
           "CALSCALE:GREGORIAN", "X-WR-CALNAME:Bench", "X-WR-TIMEZONE:Europe/Berlin"]
    for name in zones:
        out += _vtimezone(name)
    made = i = 0
    while made < size:
        i += 1
        kind = rnd.random()
        zone = rnd.choice(zones)
        lines = ["BEGIN:VEVENT", f"UID:bench-{i}@example.com", "DTSTAMP:20261101T000000Z",
                 f"SUMMARY:Event number {i} with a realistic title",
                 "CREATED:20250101T000000Z", "SEQUENCE:0", "STATUS:CONFIRMED",
                 "TRANSP:OPAQUE"]  # fmt: skip
        if rnd.random() < 0.3:
            lines.append(f"DESCRIPTION:Agenda for meeting {i}\\nBring notes.")
        if rnd.random() < 0.2:
            lines.append(f"LOCATION:Room {rnd.randrange(1, 40)}")
        if kind < 0.70:  # a plain series, mostly started in the past two years
            start = NOW - timedelta(days=rnd.randrange(-60, 730))
            start = start.replace(hour=rnd.randrange(6, 21), minute=rnd.choice((0, 15, 30, 45)),
                                  second=0, tzinfo=None)  # fmt: skip
            lines.append(f"DTSTART;TZID={zone}:{start:%Y%m%dT%H%M%S}")
            lines.append(f"DTEND;TZID={zone}:{start + timedelta(minutes=45):%Y%m%dT%H%M%S}")
            lines.append(f"RRULE:{_rule(rnd, start)}")
            if rnd.random() < 0.2:
                lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder",
                          "TRIGGER:-PT10M", "END:VALARM"]  # fmt: skip
        elif kind < 0.80:  # weekly series with a future EXDATE and a moved occurrence
            start = (NOW - timedelta(weeks=rnd.randrange(1, 60))).replace(
                hour=rnd.randrange(7, 19), minute=0, second=0, tzinfo=None)
            lines.append(f"DTSTART;TZID={zone}:{start:%Y%m%dT%H%M%S}")
            lines.append(f"DTEND;TZID={zone}:{start + timedelta(hours=1):%Y%m%dT%H%M%S}")
            lines.append("RRULE:FREQ=WEEKLY")
            weeks = (NOW.replace(tzinfo=None) - start).days // 7
            ex = start + timedelta(weeks=weeks + rnd.randrange(1, 4))
            lines.append(f"EXDATE;TZID={zone}:{ex:%Y%m%dT%H%M%S}")
            moved = start + timedelta(weeks=weeks + rnd.randrange(4, 8))
            lines += ["END:VEVENT", "BEGIN:VEVENT", f"UID:bench-{i}@example.com",
                      "DTSTAMP:20261101T000000Z",
                      f"RECURRENCE-ID;TZID={zone}:{moved:%Y%m%dT%H%M%S}",
                      f"DTSTART;TZID={zone}:{moved + timedelta(hours=2):%Y%m%dT%H%M%S}",
                      f"DTEND;TZID={zone}:{moved + timedelta(hours=3):%Y%m%dT%H%M%S}",
                      f"SUMMARY:Event number {i} (moved)"]  # fmt: skip
            made += 1
        elif kind < 0.95:  # one-offs, past and future
            when = (NOW + timedelta(minutes=15 * rnd.randrange(-96 * 200, 96 * 200))).replace(
                tzinfo=None)
            if rnd.random() < 0.3:
                lines.append(f"DTSTART:{when:%Y%m%dT%H%M%S}Z")
                lines.append(f"DTEND:{when + timedelta(minutes=30):%Y%m%dT%H%M%S}Z")
            else:
                lines.append(f"DTSTART;TZID={zone}:{when:%Y%m%dT%H%M%S}")
                lines.append(f"DTEND;TZID={zone}:{when + timedelta(hours=1):%Y%m%dT%H%M%S}")
        else:  # all-day: one-offs and yearly birthdays
            day = NOW.date() + timedelta(days=rnd.randrange(-200, 200))
            lines.append(f"DTSTART;VALUE=DATE:{day:%Y%m%d}")
            lines.append(f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}")
            if rnd.random() < 0.5:
                lines.append("RRULE:FREQ=YEARLY")
        lines.append("END:VEVENT")
        out += lines
        made += 1
    out.append("END:VCALENDAR")
    return ("\r\n".join(out) + "\r\n").encode()


# -- the measured work (runs in a fresh child process) -----------------------------


_TREE = os.environ.get("BENCH_TREE", "")
"""``--tree DIR``: measure the ``ical_bridge`` package in DIR (e.g. a ``git archive`` of the
commit before a change) instead of the installed one; set as env var for the children."""

_PREFER_TREE = (
    "import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]; "
    "sys.path.insert(0, {tree!r}); "
)


def _prefer_tree() -> None:
    if _TREE:
        exec(_PREFER_TREE.format(tree=_TREE))  # a fixed snippet; benchmark only


def _work(tool: str, path: str) -> dict[str, object]:
    import warnings

    _prefer_tree()

    warnings.simplefilter("ignore")
    started = time.process_time()
    data = Path(path).read_bytes()
    info: dict[str, object] = {}
    if tool == "bridge":
        from ical_bridge.convert import ImportOptions, convert_calendar, to_json

        result = convert_calendar(data, ImportOptions(now=NOW, source_key="bench"))
        try:  # the text convert --json prints (an older --tree has only to_json)
            from ical_bridge.convert import to_json_text
        except ImportError:
            text = json.dumps(to_json(result), ensure_ascii=False)
        else:
            text = to_json_text(result)
        info = {"timers": len(result.timers), "bytes": len(text)}
    elif tool == "command":  # what the console script runs, in this process: main()
        import contextlib
        import tempfile

        with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
            with contextlib.redirect_stdout(out):
                from ical_bridge.cli import main as command

                try:
                    command(["convert", path, "--json", "--now", NOW_TEXT])
                except SystemExit as ended:
                    if ended.code:
                        return {"error": f"exit {ended.code}"}
            info["cpu"] = time.process_time() - started
            out.seek(0)  # counted, not parsed (a 100k feed's 32 MB of JSON would weigh on proc)
            info["timers"] = out.read().count('{"timer": ')  # a label's quote is escaped
        return info
    elif tool == "worker":  # as the daemon converts: a worker process, the result pickled back
        import asyncio

        from ical_bridge.convert import ImportOptions
        from ical_bridge.daemon.worker import convert_isolated

        if _TREE:  # the worker (python -m ical_bridge.daemon.worker) imports the tree too
            os.environ["PYTHONPATH"] = _TREE
            os.chdir(_TREE)  # -m puts the working directory first on its path
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        text = Path(path).read_text(encoding="utf-8")
        options = ImportOptions(now=NOW, source_key="bench", categories_to_spaces={})
        result = asyncio.run(convert_isolated(text, options, budget=600))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        worker = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        # this process's part (the request and the answer pickled) and the worker's, whose
        # interpreter start-up (~0.2 s) is in it: the daemon pays it for every conversion
        info["cpu"] = time.process_time() - started + worker
        info["timers"] = len(result.timers)
        return info
    elif tool == "icalendar":
        from icalendar import Calendar

        Calendar.from_ical(data)
    elif tool == "ical":
        try:
            from ical.calendar_stream import IcsCalendarStream
        except ImportError:
            return {"missing": True}
        try:
            IcsCalendarStream.calendar_from_ics(data.decode())
        except Exception as exc:  # ical is strict; say so instead of a figure
            return {"error": f"{type(exc).__name__}: {str(exc)[:80]}"}
    elif tool == "rie":
        import recurring_ical_events
        from icalendar import Calendar

        calendar = Calendar.from_ical(data)
        info = {"occurrences": len(recurring_ical_events.of(calendar).between(NOW, NOW + WINDOW))}
    else:
        raise SystemExit(f"unknown tool {tool}")
    info["cpu"] = time.process_time() - started
    return info


def _child_main(tool: str, path: str) -> None:
    print(json.dumps(_work(tool, path)))


def _run_child(tool: str, path: Path) -> dict[str, object]:
    proc = subprocess.Popen([sys.executable, __file__, "--child", tool, str(path)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}"}
    found: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    found["proc"] = usage.ru_utime + usage.ru_stime
    found["rss"] = usage.ru_maxrss * 1024  # KiB on Linux
    return found


def _median(runs: list[dict[str, object]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)  # type: ignore[arg-type]


def measure(size: int, repeat: int, tmp: Path, tools: tuple[str, ...] = TOOLS) -> None:
    """Print one block of figures for a feed of ``size`` events."""
    path = tmp / f"feed-{size}.ics"
    path.write_bytes(make_feed(size))
    print(f"\n{size} events, {path.stat().st_size / 2**20:.1f} MB, medians of {repeat}"
          " fresh-process runs", flush=True)  # fmt: skip
    print(f"  {'reader':<28} {'cpu s':>8} {'proc s':>8} {'rss MB':>8} "
          f"{'cpu ×':>7} {'proc ×':>7} {'rss ×':>6}  note")  # fmt: skip
    results: dict[str, list[dict[str, object]]] = {t: [] for t in tools}
    for _ in range(repeat):
        for tool in tools:  # interleaved, so load changes hit every reader alike
            if results[tool] and ("missing" in results[tool][0] or "error" in results[tool][0]):
                continue
            results[tool].append(_run_child(tool, path))
    base = results["icalendar"]
    for tool in tools:
        runs = results[tool]
        name = TOOL_NAMES[tool]
        if "missing" in runs[0]:
            print(f"  {name:<28} not installed")
            continue
        if "error" in runs[0]:
            print(f"  {name:<28} failed: {runs[0]['error']}")
            continue
        cpu, proc, rss = _median(runs, "cpu"), _median(runs, "proc"), _median(runs, "rss")
        note = ""
        if "timers" in runs[0]:
            note = f"{runs[0]['timers']} timers"
        if "occurrences" in runs[0]:
            note = f"{runs[0]['occurrences']} occurrences"
        print(f"  {name:<28} {cpu:>8.2f} {proc:>8.2f} {rss / 2**20:>8.0f} "
              f"{cpu / _median(base, 'cpu'):>6.2f}× {proc / _median(base, 'proc'):>6.2f}× "
              f"{rss / _median(base, 'rss'):>5.2f}×  {note}", flush=True)  # fmt: skip


def _bridge_command() -> list[str]:
    if _TREE:
        return [sys.executable, "-c",
                _PREFER_TREE.format(tree=_TREE) + "from ical_bridge.cli import main; main()"]
    script = Path(sys.executable).with_name("ical-bridge")
    if script.exists():
        return [str(script)]
    found = shutil.which("ical-bridge")
    return [found] if found else [sys.executable, "-m", "ical_bridge"]


def small_files(tmp: Path, runs: int = 15) -> None:
    """Wall-clock medians of small-file command lines (interleaved repeated runs)."""
    path = tmp / "small.ics"
    path.write_bytes(make_feed(20))
    bare = ("import sys, icalendar; "
            "icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())")  # fmt: skip
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "bare icalendar script": [sys.executable, "-c", bare, str(path)],
        "ical-bridge convert": [*_bridge_command(), "convert", str(path), "--now", NOW_TEXT],
        "ical-bridge convert --json": [*_bridge_command(), "convert", str(path), "--json",
                                       "--now", NOW_TEXT],
    }  # fmt: skip
    walls: dict[str, list[float]] = {k: [] for k in commands}
    cpus: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            walls[name].append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    print(f"\nsmall file (20 events, {path.stat().st_size} bytes), medians of {runs} runs")
    print(f"  {'command':<28} {'wall ms':>8} {'cpu ms':>8} {'wall ×':>7} {'cpu ×':>7}")
    base_wall = statistics.median(walls["bare icalendar script"])
    base_cpu = statistics.median(cpus["bare icalendar script"])
    for name in commands:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(f"  {name:<28} {wall * 1000:>8.0f} {cpu * 1000:>8.0f} "
              f"{wall / base_wall:>6.2f}× {cpu / base_cpu:>6.2f}×")  # fmt: skip


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def main(argv: list[str]) -> None:
    """Measure the sizes given (default 1k and 10k) and the small-file command lines."""
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 3
    tools = TOOLS
    if "--readers" in argv:  # e.g. bridge,icalendar,ical (icalendar is always measured)
        asked = argv[argv.index("--readers") + 1].split(",")
        tools = tuple(t for t in TOOLS if t in asked or t == "icalendar")
    if "--tree" in argv:
        os.environ["BENCH_TREE"] = argv[argv.index("--tree") + 1]
        print(f"measuring the package in {os.environ['BENCH_TREE']}")
    sizes = [int(a) for a in argv if a.isdigit() and argv[argv.index(a) - 1] != "--repeat"]
    # Bytecode as an installed package has it (icalendar's is in site-packages): without it,
    # e.g. under PYTHONDONTWRITEBYTECODE=1, every run would compile ical_bridge (~100 ms).
    compileall.compile_dir(Path(_TREE or Path(__file__).resolve().parents[2]) / "ical_bridge",
                           quiet=1)  # fmt: skip
    print(f"load average at start: {_load()}; now = {NOW_TEXT}; {date.today()}")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for size in [] if "--only-small" in argv else sizes or [1000, 10_000]:
            measure(size, repeat, tmp, tools)
        if "--no-small" not in argv:
            small_files(tmp)
    print(f"\nload average at end: {_load()}")


if __name__ == "__main__":
    if "--tree" in sys.argv and "BENCH_TREE" not in os.environ:
        # re-run with the tree in the environment so every child and command line sees it
        os.environ["BENCH_TREE"] = sys.argv[sys.argv.index("--tree") + 1]
        raise SystemExit(subprocess.call([sys.executable, *sys.argv]))
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child_main(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1:])
