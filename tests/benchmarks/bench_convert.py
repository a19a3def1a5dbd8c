"""Convert benchmark: events/s, peak memory and the ratio to icalendar's bare parse.

Run: ``.venv/bin/python tests/benchmarks/bench_convert.py [sizes…]`` (default 1000 10000 100000).
Not collected by pytest (no ``test_`` prefix). The workload is fixed (seeded):
a mixed feed of one-offs (past and future, zoned, UTC, floating, all-day),
weekly/daily/monthly series (native, split and rolling), series with EXDATE
and overrides, and VALARMs — what a busy shared team calendar looks like.
"""

from __future__ import annotations

import random
import sys
import time
import tracemalloc
import warnings
from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from ical_bridge.convert import ImportOptions, convert_calendar

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London"]


def make_feed(size: int, seed: int = 42) -> bytes:
    """A VCALENDAR with ``size`` VEVENTs (overrides count as events)."""
    rnd = random.Random(seed)
    out = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//bench//EN",
        "X-WR-CALNAME:Bench",
        "BEGIN:VTIMEZONE",
        "TZID:W. Europe Standard Time",
        "BEGIN:STANDARD",
        "DTSTART:16010101T030000",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:16010101T020000",
        "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
    ]
    start = datetime(2022, 1, 1)
    made = 0
    i = 0
    while made < size:
        i += 1
        when = start + timedelta(minutes=15 * rnd.randrange(0, 6 * 365 * 96))
        zone = rnd.choice(ZONES)
        kind = rnd.random()
        lines = [
            "BEGIN:VEVENT",
            f"UID:bench-{i}@example.com",
            "DTSTAMP:20261101T000000Z",
            f"SUMMARY:Event number {i} with a realistic title",
        ]
        if kind < 0.55:  # zoned one-off
            lines.append(f"DTSTART;TZID={zone}:{when:%Y%m%dT%H%M%S}")
            lines.append(f"DTEND;TZID={zone}:{when + timedelta(hours=1):%Y%m%dT%H%M%S}")
        elif kind < 0.65:  # UTC one-off with alarm
            lines.append(f"DTSTART:{when:%Y%m%dT%H%M%S}Z")
            lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "END:VALARM"]
        elif kind < 0.72:  # all-day
            lines.append(f"DTSTART;VALUE=DATE:{when:%Y%m%d}")
        elif kind < 0.75:  # Outlook zone one-off
            lines.append(f"DTSTART;TZID=W. Europe Standard Time:{when:%Y%m%dT%H%M%S}")
        elif kind < 0.85:  # weekly native / split
            lines.append(f"DTSTART;TZID={zone}:{when:%Y%m%dT%H%M%S}")
            lines.append(rnd.choice(["RRULE:FREQ=WEEKLY", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR"]))
        elif kind < 0.90:  # rolling
            lines.append(f"DTSTART;TZID={zone}:{when:%Y%m%dT%H%M%S}")
            lines.append(rnd.choice(["RRULE:FREQ=MONTHLY;BYDAY=2TU", "RRULE:FREQ=WEEKLY;INTERVAL=2"]))
        elif kind < 0.95:  # finite daily
            lines.append(f"DTSTART;TZID={zone}:{when:%Y%m%dT%H%M%S}")
            lines.append("RRULE:FREQ=DAILY;COUNT=20")
        else:  # weekly with an exception and an override
            lines.append(f"DTSTART;TZID={zone}:{when:%Y%m%dT%H%M%S}")
            lines.append("RRULE:FREQ=WEEKLY")
            ex = when + timedelta(weeks=3)
            lines.append(f"EXDATE;TZID={zone}:{ex:%Y%m%dT%H%M%S}")
            moved = when + timedelta(weeks=5)
            lines.append("END:VEVENT")
            lines += [
                "BEGIN:VEVENT",
                f"UID:bench-{i}@example.com",
                "DTSTAMP:20261101T000000Z",
                f"RECURRENCE-ID;TZID={zone}:{moved:%Y%m%dT%H%M%S}",
                f"DTSTART;TZID={zone}:{moved + timedelta(hours=2):%Y%m%dT%H%M%S}",
                f"SUMMARY:Event number {i} (moved)",
            ]
            made += 1
        lines.append("END:VEVENT")
        out += lines
        made += 1
    out.append("END:VCALENDAR")
    return ("\r\n".join(out) + "\r\n").encode()


def _bare_parse(data: bytes) -> float:
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Calendar.from_ical(data)
    return time.perf_counter() - started


def _convert(data: bytes) -> tuple[float, int]:
    started = time.perf_counter()
    result = convert_calendar(data, ImportOptions(now=NOW))
    return time.perf_counter() - started, len(result.timers)


def _peak(data: bytes) -> int:
    tracemalloc.start()
    convert_calendar(data, ImportOptions(now=NOW))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main(sizes: list[int]) -> None:
    """Print one line of figures per feed size."""
    convert_calendar(make_feed(50), ImportOptions(now=NOW))  # warm caches (zone tables)
    print(f"{'events':>8} {'MB':>6} {'parse s':>8} {'convert s':>9} {'events/s':>9} "
          f"{'ratio':>6} {'timers':>7} {'peak MB':>8}")  # fmt: skip
    for size in sizes:
        data = make_feed(size)
        parse = _bare_parse(data)
        took, timers = _convert(data)
        peak = _peak(data) if size <= 10_000 or "--peak" in sys.argv else -1
        print(
            f"{size:>8} {len(data) / 2**20:>6.1f} {parse:>8.2f} {took:>9.2f} "
            f"{size / took:>9.0f} {took / parse:>6.2f} {timers:>7} "
            f"{(peak / 2**20 if peak >= 0 else float('nan')):>8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:] if a.isdigit()]
    main(args or [1000, 10_000, 100_000])
