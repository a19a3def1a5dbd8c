"""A slot's first occurrence at or after a wall clock, against a walk over its dates."""

from __future__ import annotations

from datetime import datetime

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
