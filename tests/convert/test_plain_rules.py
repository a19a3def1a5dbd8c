"""The line scanner's RRULE values are icalendar's own, part for part.

``PlainBuilder`` reads each ``KEY=values`` part of a rule once per feed and puts
rules together from those parts. Whatever the rule text (keys in any case, a key
twice, parts that are not ``KEY=values``, UNTIL as a date, a floating or a UTC
date-time, values icalendar refuses), the result must be what
``vRecur.from_ical`` makes of it: the same keys in the same order, each value of
the same type and equal, an UNTIL in the same kind of zone; or, when icalendar
refuses the rule, no plain event (icalendar's parser then reads the event).
"""

from __future__ import annotations

import warnings
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from icalendar.prop import vRecur

from ical_bridge.convert.plainbuild import PlainBuilder

_PARTS = st.sampled_from([
    "FREQ=WEEKLY", "FREQ=DAILY", "freq=monthly", "FREQ=YEARLY", "FREQ=weekly", "FREQ=HOURLY",
    "INTERVAL=2", "interval=3", "COUNT=5", "COUNT=12", "count=1", "BYDAY=MO,WE", "BYDAY=1MO",
    "BYDAY=-1FR", "byday=tu", "BYMONTHDAY=1,15", "BYMONTHDAY=-1", "BYMONTH=3", "BYHOUR=9,17",
    "BYMINUTE=30", "BYSETPOS=-1", "WKST=SU", "UNTIL=20270301T000000Z", "UNTIL=20270301",
    "UNTIL=20270301T093000", "until=20261231T235959Z", "UNTIL=2027-03-01", "X-NAME=value",
    "BYDAY=XX", "COUNT=abc", "INTERVAL=", "FREQ", "A=B=C", "", "BYWEEKNO=20", "BYYEARDAY=100",
])  # fmt: skip


def _look(rule: Any) -> list[Any]:
    """What a reader sees of a rule: its keys in order, each value with its type, and an
    UNTIL's zone (its class and key)."""
    out = []
    for key, values in rule.items():
        for value in values:
            zone = getattr(value, "tzinfo", None)
            out.append((key, type(value), value, type(zone), getattr(zone, "key", None)))
    return out


def _theirs(text: str) -> vRecur | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return vRecur.from_ical(text)
    except ValueError:
        return None


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_PARTS, min_size=1, max_size=5), min_size=1, max_size=6))
@example([["FREQ=WEEKLY", "BYDAY=MO", "freq=DAILY", "UNTIL=20270301T000000Z"]])
@example([["FREQ=WEEKLY", "COUNT=abc"], ["FREQ=WEEKLY", "COUNT=3"]])
@example([["FREQ=MONTHLY", "UNTIL=2027-03-01"], ["FREQ=WEEKLY", "UNTIL=20270301"]])
def test_a_rule_is_what_icalendar_reads(rules: list[list[str]]) -> None:
    builder = PlainBuilder()  # one per feed: its parts are shared between the rules below
    for parts in rules:
        text = ";".join(parts)
        lines = ["BEGIN:VEVENT", "UID:x", "DTSTART:20260105T093000Z", f"RRULE:{text}",
                 "END:VEVENT"]  # fmt: skip
        event = builder(lines)
        theirs = _theirs(text)
        if theirs is None:
            assert event is None, text  # icalendar's parser decides what such an event is
            continue
        assert event is not None, text
        mine = event["RRULE"]
        assert _look(mine) == _look(theirs), text
        assert mine.to_ical() == theirs.to_ical(), text
