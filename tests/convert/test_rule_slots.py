"""A slot's first occurrence at or after a wall clock, against a walk over its dates."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ical_bridge.convert.rules import _carries, _first_on_or_after
from ical_bridge.recurrence import Slot


@st.composite
def _slots(draw: st.DrawFn) -> Slot:
    kind = draw(st.sampled_from(["daily", "weekly", "monthly", "yearly"]))
    last = kind == "monthly" and draw(st.booleans())
    day = 31 if last else draw(st.integers(1, 31))
    month = draw(st.integers(1, 12))
    if kind == "yearly":
        day = min(day, [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1])
    return Slot(kind, draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 59])),
                draw(st.integers(0, 6)), day, month, last)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(_slots(), st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)))
def test_the_first_occurrence_is_the_earliest_on_its_dates(slot: Slot, when: datetime) -> None:
    wall = when.replace(second=0, microsecond=0)
    expected = next(c for c in map(slot.wall_clock, slot.local_dates(wall.date())) if c >= wall)
    assert _first_on_or_after(slot, wall) == expected
    assert _carries(slot, wall) is (expected == wall)
    assert _carries(slot, expected)


_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def _rules(draw: st.DrawFn) -> tuple[str, datetime]:
    """A rule of the parts ``analyse_rule`` reads, each present or not, and a DTSTART."""
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append("BYDAY=" + ",".join(draw(st.lists(st.sampled_from(_DAYS), min_size=1,
                                                       max_size=3, unique=True))))  # fmt: skip
    if draw(st.booleans()):
        parts.append("BYMONTHDAY=" + ",".join(str(d) for d in draw(st.lists(
            st.sampled_from([1, 2, 15, 28, 29, 30, 31, -1]), min_size=1, max_size=2,
            unique=True))))  # fmt: skip
    if draw(st.booleans()):
        parts.append("BYMONTH=" + ",".join(str(m) for m in draw(st.lists(
            st.integers(1, 12), min_size=1, max_size=2, unique=True))))  # fmt: skip
    if draw(st.integers(0, 3)) == 0:
        parts.append(f"BYHOUR={draw(st.integers(0, 23))},{draw(st.integers(0, 23))}")
    if draw(st.integers(0, 3)) == 0:
        parts.append(f"BYMINUTE={draw(st.sampled_from([0, 30, 45]))}")
    if draw(st.integers(0, 4)) == 0:
        parts.append(f"WKST={draw(st.sampled_from(_DAYS))}")
    start = draw(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)))
    return ";".join(parts), start.replace(second=0, microsecond=0)


@settings(max_examples=1500, deadline=None)
@given(_rules())
def test_a_rules_slots_are_its_occurrences(case: tuple[str, datetime]) -> None:
    """Where ``analyse_rule`` splits a rule into tickward slots, the slots' wall clocks from
    their anchors are exactly the rule's occurrences after DTSTART by dateutil (an
    independent RFC 5545 expander), over nine years (leap days included): the fast path
    places such a series without expanding it."""
    from dateutil.rrule import rrulestr
    from icalendar.prop import vRecur

    from ical_bridge.convert.rules import analyse_rule

    text, start = case
    end = start + timedelta(days=9 * 366)
    walls = list(rrulestr(f"RRULE:{text}", dtstart=start).between(start, end, inc=True))
    for passed in (True, False):  # a DTSTART still ahead must be an occurrence itself
        shape = analyse_rule(vRecur.from_ical(text), start, is_date=False, start_passed=passed)
        if shape.reason:
            continue
        expected = {w for w in walls if (w > start or (w == start and not passed)) and w < end}
        found: set[datetime] = set()
        for part in shape.parts:
            slot = Slot(part.type, part.anchor.hour, part.anchor.minute, part.anchor.weekday(),
                        part.anchor.day, part.anchor.month, part.last_day)  # fmt: skip
            for day in slot.local_dates(part.anchor.date()):
                wall = slot.wall_clock(day)
                if wall >= end:
                    break
                if wall > start or (wall == start and not passed):
                    found.add(wall)
        assert found == expected, (text, passed)
