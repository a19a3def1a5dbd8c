"""The last start of a COUNT rule without BY… parts, by arithmetic, equals dateutil's."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar.prop import vRecur

from ical_bridge.convert.rulemath import simple_start

FREQS = st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"])
ZONES = st.sampled_from([None, ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")])


@settings(max_examples=300, deadline=None)
@given(
    freq=FREQS,
    count=st.integers(1, 400),
    interval=st.one_of(st.none(), st.integers(1, 6)),
    day=st.dates(date(1999, 1, 1), date(2040, 12, 31)),
    hour=st.one_of(st.none(), st.integers(0, 23)),
    zone=ZONES,
)
def test_matches_dateutil(
    freq: str, count: int, interval: int | None, day: date, hour: int | None, zone: ZoneInfo | None
) -> None:
    text = f"FREQ={freq};COUNT={count}" + (f";INTERVAL={interval}" if interval else "")
    rule = vRecur.from_ical(text)
    wall: date = day if hour is None else datetime(day.year, day.month, day.day, hour, tzinfo=zone)
    starts = list(islice(iter(rrulestr(rule.to_ical().decode(), dtstart=wall)), count))
    expected = starts[-1]
    got = simple_start(rule, wall, count)
    if got is not None:  # None: the caller iterates with dateutil itself
        assert got == expected
        assert got.tzinfo == expected.tzinfo


def test_the_shortcut_is_taken_for_plain_rules() -> None:
    start = datetime(2026, 1, 31, 9, 0)
    assert simple_start(vRecur.from_ical("FREQ=DAILY;COUNT=3"), start, 3) == start + timedelta(2)
    assert simple_start(vRecur.from_ical("FREQ=MONTHLY;COUNT=3"), start, 3) is None  # 31st
    assert simple_start(vRecur.from_ical("FREQ=WEEKLY;BYDAY=MO;COUNT=3"), start, 3) is None
