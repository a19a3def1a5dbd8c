"""Where a zone's wall clocks are skipped or repeated (``dst_spans``), checked minute by
minute against dateutil's own reading of the zone (``datetime_exists``,
``datetime_ambiguous``) on every transition date four years ahead.

A native timer whose slot falls into one of these spans counts down to another instant
than RFC 5545's (tickward's documented rule), so the converter makes it rolling: a span
too short lets a wrong native timer through, one too long sends an exact series to
rolling. The zones below are the awkward ones: half-hour DST (Lord Howe), changes at
midnight (Santiago, Havana, Beirut), two changes a month apart (Casablanca's Ramadan),
a 02:45 change (Chatham), a negative DST (Dublin); and a few accepted zones drawn at random.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.tz import datetime_ambiguous, datetime_exists
from hypothesis import given, settings
from hypothesis import strategies as st

from ical_bridge.convert.zones import dst_spans, transition_dates

ACCEPTED = [
    line.strip()
    for line in (Path(__file__).parents[2] / "ical_bridge/data/accepted-timezones.txt")
    .read_text()
    .splitlines()
    if line.strip() and not line.startswith("#")
]
AWKWARD = [
    "Australia/Lord_Howe", "America/Santiago", "America/Havana", "Asia/Beirut",
    "Africa/Casablanca", "Pacific/Chatham", "Europe/Dublin", "America/New_York",
    "Europe/Berlin", "Australia/Sydney", "Asia/Gaza", "Pacific/Norfolk",
]  # fmt: skip
HORIZON = 4 * 366 + 3  # what the converter asks for (recurring.DST_HORIZON, + 3 days)


def _check(name: str, start: date, days: int) -> int:
    """Every minute of every transition date: in a span ⇔ skipped or repeated by dateutil.
    Returns how many edge minutes there were."""
    tz = ZoneInfo(name)
    spans = dst_spans(name, start, days)
    dates = transition_dates(name, start, days)
    assert {span[0] for span in spans} <= set(dates)
    edges = 0
    for day in dates:
        mine = [(first, after) for on, first, after in spans if on == day]
        midnight = datetime.combine(day, datetime.min.time())
        for minute in range(24 * 60):
            wall = midnight + timedelta(minutes=minute)
            expected = not datetime_exists(wall, tz) or datetime_ambiguous(wall, tz)
            assert any(first <= wall < after for first, after in mine) == expected, (name, wall)
            edges += expected
    return edges


@pytest.mark.parametrize("name", AWKWARD)
def test_the_spans_are_the_wall_clocks_a_transition_skips_or_repeats(name: str) -> None:
    edges = _check(name, date(2026, 11, 21), HORIZON)
    assert edges >= 4 * 2 * 30  # four years of two changes of at least half an hour each


def test_a_shorter_horizon_keeps_only_its_own_transitions() -> None:
    # a series that ends sooner is checked up to its end only: spans after it would send
    # an exact series to rolling for nothing
    start = date(2026, 11, 21)
    short = dst_spans("Europe/Berlin", start, 200)
    assert [span[0] for span in short] == [date(2027, 3, 28)]
    assert short[0][1:] == (datetime(2027, 3, 28, 2, 0), datetime(2027, 3, 28, 3, 0))
    assert _check("Europe/Berlin", start, 200) == 60


def test_a_zone_without_dst_has_no_span() -> None:
    assert dst_spans("Asia/Tokyo", date(2026, 11, 21), HORIZON) == ()
    assert dst_spans("UTC", date(2026, 11, 21), HORIZON) == ()


@settings(max_examples=12, deadline=None)
@given(name=st.sampled_from(ACCEPTED), offset=st.integers(0, 3 * 366))
def test_any_accepted_zone_from_any_start(name: str, offset: int) -> None:
    _check(name, date(2026, 1, 1) + timedelta(days=offset), HORIZON)
