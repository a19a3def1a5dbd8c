"""Remembered rule analyses never leak one series' answer into another's.

``analyse_rule`` remembers a rule's slots per rule text and DTSTART fields
(time, weekday, day, month); ``plain_rule`` and the day walk remember what
they read from the rule alone. Whatever series came first, each answer must
be the one a fresh analysis gives.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st
from icalendar.prop import vRecur

from ical_bridge.convert import rules
from ical_bridge.convert.rules import analyse_rule

DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def _rule(draw: st.DrawFn) -> str:
    parts = [f"FREQ={draw(st.sampled_from(['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY', 'HOURLY']))}"]
    optional = {
        "INTERVAL": st.sampled_from(["1", "2"]),
        "BYDAY": st.sampled_from(["MO", "MO,WE,FR", "1MO", "-1SU", "SA,SU"]),
        "BYMONTHDAY": st.sampled_from(["1", "15", "-1", "1,15", "31", "0"]),
        "BYMONTH": st.sampled_from(["2", "6,12", "13"]),
        "BYHOUR": st.sampled_from(["9", "9,17", "25"]),
        "BYMINUTE": st.sampled_from(["0", "0,30"]),
        "BYSECOND": st.sampled_from(["0", "0,30"]),
        "COUNT": st.sampled_from(["3", "10"]),
        "UNTIL": st.sampled_from(["20300101T000000Z"]),
        "BYSETPOS": st.sampled_from(["1"]),
    }
    for name, values in optional.items():
        if draw(st.integers(0, 3)) == 0:
            parts.append(f"{name}={draw(values)}")
    return ";".join(parts)


def _forget() -> None:
    """A fresh start: no rule's slots nor plan remembered."""
    rules._SLOTS.clear()
    rules._PLANS.clear()


@settings(max_examples=400, deadline=None)
@given(_rule(), st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2035, 12, 31)),
       st.booleans(), st.booleans(), st.integers(1, 30))
@example("FREQ=MONTHLY;BYMONTHDAY=-1", datetime(2026, 1, 31, 9, 0), False, False, 7)
@example("FREQ=WEEKLY;BYDAY=MO,WE", datetime(2026, 1, 6, 9, 0), False, False, 28)
def test_an_analysis_is_the_same_whatever_came_before(
    text: str, start: datetime, is_date: bool, passed: bool, years: int
) -> None:
    rule = vRecur.from_ical(text)
    _forget()
    fresh = analyse_rule(rule, start, is_date=is_date, start_passed=passed)
    # another series: the same time, weekday, day and month, in another year
    other = start
    for back in range(years, years + 60):
        try:
            candidate = start.replace(year=start.year - back)
        except ValueError:  # 29 February
            continue
        if candidate.weekday() == start.weekday():
            other = candidate
            break
    _forget()
    analyse_rule(vRecur.from_ical(text), other, is_date=is_date, start_passed=not passed)
    assert analyse_rule(rule, start, is_date=is_date, start_passed=passed) == fresh
    # and a series a day later, whose fields differ, is not answered from the memo
    later = start + timedelta(days=1)
    _forget()
    expected = analyse_rule(rule, later, is_date=is_date, start_passed=passed)
    _forget()
    analyse_rule(rule, start, is_date=is_date, start_passed=passed)
    assert analyse_rule(rule, later, is_date=is_date, start_passed=passed) == expected
