"""Hostile sizes and shapes: refused clearly or handled in bounded memory, never a crash.

Memory is measured with tracemalloc (Python allocations); wall-clock time is not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

import pytest

from ical_bridge.convert import ImportOptions, convert_calendar
from ical_bridge.errors import NotACalendarError
from ical_bridge.ingest.decode import MAX_INPUT_BYTES
from tests.conftest import REPO
from tests.convert.convert_helpers import NOW

T = TypeVar("T")
MB = 2**20


def peak_of(work: Callable[[], T]) -> tuple[T, int]:
    """Run ``work`` and return its result and peak traced memory in bytes."""
    tracemalloc.start()
    try:
        result = work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def wrap(body: str) -> bytes:
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{body}END:VCALENDAR\r\n".encode()


FINE = "BEGIN:VEVENT\r\nUID:fine\r\nDTSTART:20261201T100000Z\r\nSUMMARY:Fine\r\nEND:VEVENT\r\n"


def test_input_over_the_source_limit_is_refused_before_parsing() -> None:
    # One limit for convert and import (vocabulary.MAX_SOURCE_BYTES, 64 MiB).
    data = wrap(FINE) + b" " * (MAX_INPUT_BYTES + 1)
    with pytest.raises(NotACalendarError, match=f"larger than {MAX_INPUT_BYTES // MB} MB"):
        convert_calendar(data, ImportOptions(now=NOW))


def test_a_line_over_1_mb_costs_that_property_only() -> None:
    huge = "DESCRIPTION:" + "a" * (MB + 10) + "\r\n"
    body = FINE.replace("SUMMARY:Fine\r\n", "SUMMARY:Fine\r\n" + huge)
    result, peak = peak_of(lambda: convert_calendar(wrap(body), ImportOptions(now=NOW)))
    [draft] = result.timers
    assert draft.timer["label"] == "Fine" and "description" not in draft.timer
    assert "line_too_long" in {w.code for w in result.warnings}
    assert peak < 40 * MB


def test_a_folded_line_over_1_mb_is_dropped_without_joining_it() -> None:
    folded = "DESCRIPTION:x\r\n" + "".join(" " + "b" * 70 + "\r\n" for _ in range(20_000))
    body = FINE.replace("SUMMARY:Fine\r\n", "SUMMARY:Fine\r\n" + folded)
    result = convert_calendar(wrap(body), ImportOptions(now=NOW))
    assert [d.timer["label"] for d in result.timers] == ["Fine"]
    assert "line_too_long" in {w.code for w in result.warnings}


def test_deeply_nested_components_are_dropped_not_recursed() -> None:
    depth = 50_000
    nested = "BEGIN:X-DEEP\r\n" * depth + "END:X-DEEP\r\n" * depth
    deep_event = f"BEGIN:VEVENT\r\nUID:deep\r\nDTSTART:20261202T100000Z\r\n{nested}END:VEVENT\r\n"
    result, peak = peak_of(
        lambda: convert_calendar(wrap(FINE + deep_event), ImportOptions(now=NOW))
    )
    assert [d.timer["label"] for d in result.timers] == ["Fine"]
    assert "too_deep" in {w.code for w in result.warnings}
    assert peak < 60 * MB


def test_unclosed_nesting_is_truncated_input() -> None:
    data = wrap(FINE).replace(b"END:VCALENDAR\r\n", b"") + b"BEGIN:VEVENT\r\n" * 10_000
    result = convert_calendar(data, ImportOptions(now=NOW))
    assert [d.timer["label"] for d in result.timers] == ["Fine"]
    assert "truncated" in {w.code for w in result.warnings}


# The two big workloads run in a child process: its peak RSS is the memory bound
# (tracemalloc would multiply their run time several times over).
_CHILD = r"""
import json, resource, sys
from datetime import UTC, datetime, timedelta
from ical_bridge.convert import ImportOptions, convert_calendar

def peak_rss_kb():
    # VmHWM is this process image's own peak; ru_maxrss survives exec on Linux and would
    # report pytest's size when this runs as its child.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def wrap(body):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + body + "END:VCALENDAR\r\n").encode()

kind = sys.argv[1]
if kind == "overrides":
    # A weekly Monday 09:00 UTC series since 2000, its first 3000 occurrences moved to 10:00.
    start = datetime(2000, 1, 3, 9, 0)
    parts = ["BEGIN:VEVENT\r\nUID:busy\r\nSUMMARY:Weekly\r\n"
             f"DTSTART:{start:%Y%m%dT%H%M%S}Z\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n"]
    for week in range(3000):
        original = start + timedelta(weeks=week)
        moved = original + timedelta(hours=1)
        parts.append("BEGIN:VEVENT\r\nUID:busy\r\nSUMMARY:Weekly (moved)\r\n"
                     f"RECURRENCE-ID:{original:%Y%m%dT%H%M%S}Z\r\n"
                     f"DTSTART:{moved:%Y%m%dT%H%M%S}Z\r\nEND:VEVENT\r\n")
    now = datetime(2050, 1, 1, tzinfo=UTC)
else:
    # A feed that collected 100,000 events over twenty years; the last few are upcoming.
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    total = 100_000
    first = datetime(2006, 1, 1, 9, 0)
    step = (now.replace(tzinfo=None) + timedelta(days=30) - first) / total
    parts = [f"BEGIN:VEVENT\r\nUID:archive-{i}\r\nDTSTAMP:20260101T000000Z\r\n"
             f"DTSTART;TZID=Europe/Berlin:{first + step * i:%Y%m%dT%H%M%S}\r\n"
             f"SUMMARY:Archived event {i}\r\nEND:VEVENT\r\n" for i in range(total)]
data = wrap("".join(parts))
del parts
before = peak_rss_kb()
result = convert_calendar(data, ImportOptions(now=now))
print(json.dumps({
    "bytes": len(data),
    "rss_before_kb": before,
    "rss_kb": peak_rss_kb(),
    "timers": [[d.strategy, d.timer["label"], d.timer["target_date"],
                sorted(w.code for w in d.warnings)] for d in result.timers],
    "skipped": sorted({s.code for s in result.skipped}),
    "skipped_count": len(result.skipped),
}))
"""


def run_child(kind: str) -> dict[str, object]:
    """Run a big workload in a fresh interpreter; its JSON report."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, kind],
        capture_output=True, text=True, cwd=REPO, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, object] = json.loads(done.stdout)
    return report


@pytest.mark.slow
def test_thousands_of_overrides_of_one_uid_stay_bounded() -> None:
    report = run_child("overrides")
    [(strategy, label, target, _)] = report["timers"]  # type: ignore[misc]
    assert strategy == "rolling"
    # The first Monday after 2050-01-01 is Jan 3 (week 2600 < 3000): moved to 10:00.
    assert (label, target) == ("Weekly (moved)", "2050-01-03T10:00:00.000Z")
    assert int(report["rss_kb"]) < 200 * 1024  # measured ≈ 40 MB  # type: ignore[call-overload]


@pytest.mark.slow
def test_a_100k_event_archive_converts_in_bounded_memory() -> None:
    report = run_child("archive")
    timers: list[list[object]] = report["timers"]  # type: ignore[assignment]
    assert len(timers) + int(report["skipped_count"]) == 100_000  # type: ignore[call-overload]
    assert 0 < len(timers) < 1000
    assert report["skipped"] == ["past"]
    assert all(t[0] == "single" and t[2] > "2026-11-22T12" and not t[3] for t in timers)  # type: ignore[operator]
    # Peak RSS (generation included) stays within a small multiple of the 14 MB input.
    assert int(report["rss_kb"]) * 1024 < 25 * int(report["bytes"])  # type: ignore[call-overload]
