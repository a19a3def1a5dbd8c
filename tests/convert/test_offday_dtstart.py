"""A weekly BYDAY series whose long-past DTSTART is off the rule's days splits exactly.

Issue 11, item 6: DTSTART Monday with ``BYDAY=TU,WE,FR`` became rolling, though
every occurrence still to come is a plain weekday slot. The generated series'
occurrences over a year, computed from the timers with tickward's own maths
(``ical_bridge.recurrence``), must equal dateutil's RFC 5545 expansion.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from ical_bridge.cli import main
from ical_bridge.recurrence import occurrences, parse_iso

NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
HORIZON = NOW + timedelta(days=366)
ZONES = ["Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC"]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def _generated(count: int, seed: int = 11) -> list[dict[str, object]]:
    """Series with a DTSTART years ago on a weekday the BYDAY list leaves out."""
    rnd = random.Random(seed)
    made = []
    for i in range(count):
        start_day = date(2019, 1, 7) + timedelta(days=rnd.randrange(0, 5 * 365))
        others = [d for k, d in enumerate(DAYS) if k != start_day.weekday()]
        byday = sorted(rnd.sample(others, rnd.randint(1, 4)), key=DAYS.index)
        at = time(rnd.choice([7, 9, 12, 15, 18]), rnd.choice([0, 15, 30, 45]))
        made.append({
            "uid": f"offday-{i}@example.com", "zone": rnd.choice(ZONES),
            "start": datetime.combine(start_day, at),
            "rule": f"FREQ=WEEKLY;BYDAY={','.join(byday)}",
        })  # fmt: skip
    return made


def _ics(series: list[dict[str, object]]) -> str:
    events = "".join(
        f"BEGIN:VEVENT\nUID:{s['uid']}\nDTSTAMP:20261101T000000Z\n"
        f"DTSTART;TZID={s['zone']}:{s['start']:%Y%m%dT%H%M%S}\nRRULE:{s['rule']}\n"
        f"SUMMARY:Series {s['uid']}\nEND:VEVENT\n"
        for s in series
    )
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{events}END:VCALENDAR\n"


def _oracle(s: dict[str, object]) -> list[datetime]:
    """dateutil's occurrences in (NOW, HORIZON], as UTC instants."""
    tz = ZoneInfo(str(s["zone"]))
    start = s["start"]
    assert isinstance(start, datetime)
    rule = rrulestr(str(s["rule"]), dtstart=start)
    local_now = NOW.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    local_end = HORIZON.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    found = [w.replace(tzinfo=tz).astimezone(UTC) for w in rule.between(local_now, local_end)]
    return [f for f in found if NOW < f <= HORIZON]


def _tickward(timers: list[dict[str, object]]) -> list[datetime]:
    """The timers' occurrences in (NOW, HORIZON], the way tickward computes them."""
    found: list[datetime] = []
    for entry in timers:
        timer = entry["timer"]
        assert isinstance(timer, dict)
        recurrence = timer["recurrence"]
        assert isinstance(recurrence, dict)
        for instant in occurrences(
            parse_iso(timer["target_date"]), ZoneInfo(timer["timezone"]), recurrence["type"], NOW
        ):
            if instant > HORIZON:
                break
            found.append(instant)
    return sorted(found)


def test_offday_dtstart_in_the_past_splits_and_matches_dateutil(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    series = _generated(24)
    feed = tmp_path / "generated.ics"
    feed.write_text(_ics(series))
    with pytest.raises(SystemExit) as exited:
        main(["convert", str(feed), "--now", NOW.isoformat(), "--json"])
    out, err = capsys.readouterr()
    assert exited.value.code == 0, err
    data = json.loads(out)
    assert data["skipped"] == []
    by_uid: dict[str, list[dict[str, object]]] = {}
    for entry in data["timers"]:
        by_uid.setdefault(entry["source"]["uid"], []).append(entry)
    for s in series:
        timers = by_uid[str(s["uid"])]
        n_days = len(str(s["rule"]).split("BYDAY=")[1].split(","))
        assert {t["strategy"] for t in timers} == ({"native"} if n_days == 1 else {"split"}), s
        assert len(timers) == n_days
        oracle = _oracle(s)
        assert len(oracle) >= 52
        assert _tickward(timers) == oracle, s


def test_offday_dtstart_still_to_come_stays_rolling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A future DTSTART off the rule's days is an extra first occurrence: no slot has it."""
    future = {"uid": "future@example.com", "zone": "Europe/Paris",
              "start": datetime(2026, 12, 7, 9, 0),
              "rule": "FREQ=WEEKLY;BYDAY=TU,WE,FR"}  # fmt: skip
    feed = tmp_path / "future.ics"
    feed.write_text(_ics([future]))
    with pytest.raises(SystemExit):
        main(["convert", str(feed), "--now", NOW.isoformat(), "--json"])
    (timer,) = json.loads(capsys.readouterr().out)["timers"]
    assert timer["strategy"] == "rolling"
    assert timer["next_occurrence"] == "2026-12-07T08:00:00.000Z"  # Monday 09:00 Paris
