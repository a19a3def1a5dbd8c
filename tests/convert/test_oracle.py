"""Oracle: the timers' next occurrence, computed the way tickward does, equals RFC 5545's.

The series' occurrences come from dateutil's rrule (an independent RFC 5545
expander) on the local wall clock, with UNTIL, COUNT and EXDATE applied here,
and each wall-clock time turned into an instant per RFC 5545 §3.3.5 (a gap
moves forward, an overlap takes the first instant). The converter's timers
are evaluated with ``effective_target_date`` (tickward's own maths) and the
minimum over all timers of the series is compared.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from ical_bridge.convert import ImportOptions, convert_calendar
from ical_bridge.recurrence import effective_target_date, parse_iso

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Santiago",  # DST at midnight, southern hemisphere
    "Australia/Sydney",
    "Pacific/Auckland",
    "Asia/Tokyo",
]
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def series(draw: st.DrawFn) -> dict[str, object]:
    """A random RRULE with DTSTART, zone, end, exceptions and a ``now``."""
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    interval = draw(st.sampled_from([1, 1, 1, 2, 3]))
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    byday_kind = draw(st.sampled_from(["none", "none", "plain", "ordinal"]))
    has_byday = False
    if byday_kind == "plain" or (byday_kind == "ordinal" and freq in ("DAILY", "WEEKLY")):
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=4, unique=True))
        parts.append("BYDAY=" + ",".join(days))
        has_byday = True
    elif byday_kind == "ordinal":
        count = draw(st.integers(1, 2))
        days = [
            f"{draw(st.sampled_from([1, 2, 3, 4, -1, -2]))}{draw(st.sampled_from(WEEKDAYS))}"
            for _ in range(count)
        ]
        parts.append("BYDAY=" + ",".join(dict.fromkeys(days)))
        has_byday = True
    if freq in ("MONTHLY", "YEARLY") and not has_byday and draw(st.booleans()):
        monthdays = draw(
            st.lists(st.sampled_from([1, 2, 10, 15, 28, 29, 30, 31, -1, -2, -5]), min_size=1,
                     max_size=3, unique=True)
        )  # fmt: skip
        parts.append("BYMONTHDAY=" + ",".join(map(str, monthdays)))
    if freq == "YEARLY" and draw(st.booleans()):
        months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True))
        parts.append("BYMONTH=" + ",".join(map(str, months)))
    if freq == "DAILY" and not has_byday and draw(st.integers(0, 4)) == 0:
        hours = draw(st.lists(st.integers(0, 23), min_size=2, max_size=3, unique=True))
        parts.append("BYHOUR=" + ",".join(map(str, sorted(hours))))
    if has_byday and draw(st.integers(0, 5)) == 0:
        parts.append(f"BYSETPOS={draw(st.sampled_from([1, -1, 2]))}")
    all_day = draw(st.integers(0, 4)) == 0 and "BYHOUR" not in ";".join(parts)
    seed = draw(st.dates(date(2023, 1, 1), date(2027, 12, 31)))
    hour = draw(st.integers(0, 23))
    minute = draw(st.sampled_from([0, 15, 30, 45]))
    end = draw(st.sampled_from(["none", "none", "count", "until"]))
    return {
        "parts": parts,
        "all_day": all_day,
        "seed": datetime.combine(seed, time(0, 0) if all_day else time(hour, minute)),
        "zone": draw(st.sampled_from(ZONES)),
        "end": end,
        "count": draw(st.integers(1, 40)),
        "until_days": draw(st.integers(0, 900)),
        "exdates": draw(st.lists(st.integers(0, 60), max_size=3, unique=True)),
        "now": datetime(2024, 6, 1, tzinfo=UTC)
        + timedelta(minutes=draw(st.integers(0, 4 * 365 * 24 * 60 // 15)) * 15),
    }


def _rfc_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    # RFC 5545 §3.3.5: a nonexistent time moves forward by the gap, an ambiguous one is the first.
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _fmt(value: datetime, all_day: bool) -> str:
    return value.strftime("%Y%m%d") if all_day else value.strftime("%Y%m%dT%H%M%S")


def _build(case: dict[str, object]) -> tuple[bytes, datetime | None, datetime]:
    """The feed and the oracle's next occurrence after ``now`` (None if the series ended)."""
    zone_name = str(case["zone"])
    tz = ZoneInfo(zone_name)
    all_day = bool(case["all_day"])
    rule = ";".join(case["parts"])  # type: ignore[arg-type]
    seed: datetime = case["seed"]  # type: ignore[assignment]
    now: datetime = case["now"]  # type: ignore[assignment]
    if "BYSETPOS" in rule:
        # dateutil applies BYSETPOS to a first period cut at DTSTART; RFC 5545 does not.
        # Expanding from the period's start keeps the oracle's first period whole.
        seed = _period_start(rule, seed)
    # DTSTART := the rule's first occurrence from the seed, so DTSTART is synchronised.
    walls = _walls(rule, seed, now)
    assume(bool(walls))
    first = walls[0]
    if case["end"] == "count":
        rule += f";COUNT={case['count']}"
        walls = walls[: int(case["count"])]  # type: ignore[call-overload]
    until_instant = None
    if case["end"] == "until":
        until_wall = first + timedelta(days=int(case["until_days"]))  # type: ignore[call-overload]
        if all_day:
            rule += f";UNTIL={until_wall:%Y%m%d}"
            walls = [w for w in walls if w.date() <= until_wall.date()]
        else:
            until_instant = _rfc_instant(until_wall, tz)
            rule += f";UNTIL={until_instant:%Y%m%dT%H%M%SZ}"
    instants = [(w, _rfc_instant(w, tz)) for w in walls]
    if until_instant is not None:
        instants = [(w, i) for w, i in instants if i <= until_instant]
    excluded = {instants[i][0] for i in case["exdates"] if i < len(instants)}  # type: ignore[attr-defined]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//oracle//EN",
        "BEGIN:VEVENT",
        "UID:oracle-series",
        "DTSTAMP:20240101T000000Z",
        "SUMMARY:Oracle",
    ]
    if all_day:
        lines.append(f"DTSTART;VALUE=DATE:{first:%Y%m%d}")
    else:
        lines.append(f"DTSTART;TZID={zone_name}:{_fmt(first, False)}")
    lines.append(f"RRULE:{rule}")
    for wall in sorted(excluded):
        if all_day:
            lines.append(f"EXDATE;VALUE=DATE:{wall:%Y%m%d}")
        else:
            lines.append(f"EXDATE;TZID={zone_name}:{_fmt(wall, False)}")
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    upcoming = [i for w, i in instants if w not in excluded and i > now]
    return "\r\n".join(lines).encode(), (min(upcoming) if upcoming else None), now


def _period_start(rule: str, seed: datetime) -> datetime:
    if "FREQ=WEEKLY" in rule:
        return seed - timedelta(days=seed.weekday())  # WKST=MO
    if "FREQ=MONTHLY" in rule:
        return seed.replace(day=1)
    if "FREQ=YEARLY" in rule:
        return seed.replace(month=1, day=1)
    return seed


def _walls(rule: str, first: datetime, now: datetime) -> list[datetime]:
    """Wall-clock occurrences up to ten years past ``now`` (enough to find the next one)."""
    limit = max(now.replace(tzinfo=None), first) + timedelta(days=10 * 366)
    found = []
    for wall in rrulestr(rule, dtstart=first):
        if wall > limit:
            break
        found.append(wall)
        if len(found) > 20000:
            break
    return found


def _next_of(timers: list[dict[str, object]], now: datetime) -> datetime:
    return min(
        parse_iso(
            effective_target_date(
                str(t["target_date"]),
                str(t["timezone"]),
                t["recurrence"],
                now,  # type: ignore[arg-type]
            )
        )
        for t in timers
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series())
@example({  # every month's 1st (RFC 5545 expands BYMONTHDAY over the year), not January's
    "parts": ["FREQ=YEARLY", "BYMONTHDAY=1"], "all_day": False,
    "seed": datetime(2023, 1, 1), "zone": "UTC", "end": "none", "count": 1,
    "until_days": 0, "exdates": [], "now": datetime(2024, 6, 1, tzinfo=UTC),
})  # fmt: skip
def test_next_occurrence_matches_an_independent_rfc_expander(case: dict[str, object]) -> None:
    data, expected, now = _build(case)
    zone_name = str(case["zone"])
    for strategy in ("auto", "rolling"):
        result = convert_calendar(
            data, ImportOptions(now=now, default_tz=zone_name, strategy=strategy)
        )
        if expected is None:
            assert not result.timers, (strategy, result.timers)
            assert [s.code for s in result.skipped] == ["ended"]
            continue
        assert result.timers, (strategy, result.skipped)
        got = _next_of([d.timer for d in result.timers], now)
        assert got == expected, (strategy, [d.strategy for d in result.timers], data.decode())
        assert min(d.next_occurrence for d in result.timers) == expected
    window = timedelta(days=60)
    result = convert_calendar(
        data, ImportOptions(now=now, default_tz=zone_name, strategy="expand", window=window)
    )
    if expected is not None and expected <= now + window:
        assert min(parse_iso(str(d.timer["target_date"])) for d in result.timers) == expected
    else:
        assert not result.timers
