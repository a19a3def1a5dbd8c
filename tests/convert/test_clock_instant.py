"""``Clockwork.instant``: the quick instant of a zoned occurrence start.

The fast expander asks for the UTC instant of every candidate start. Known
instants (tz database facts, RFC 5545's reading of gaps and overlaps) come
first; then the quick path must agree with the full ``when`` on every zone
kind it meets.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ical_bridge.convert.timing import Clockwork
from ical_bridge.convert.zones import ZoneResolver

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _clock(x_wr: str | None = None) -> Clockwork:
    return Clockwork(ZoneResolver([], NOW), x_wr_timezone=x_wr, default_tz=None,
                     all_day_time=time(9, 0))  # fmt: skip


@pytest.mark.parametrize(
    ("wall", "zone", "expected"),
    [
        # winter and summer in Berlin (UTC+1, UTC+2)
        (datetime(2026, 12, 1, 9, 0), "Europe/Berlin", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        (datetime(2027, 7, 1, 9, 0), "Europe/Berlin", datetime(2027, 7, 1, 7, 0, tzinfo=UTC)),
        # a wall clock in the spring-forward gap: the offset before the gap (RFC 5545 3.3.5)
        (datetime(2027, 3, 28, 2, 30), "Europe/Berlin", datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),
        # the fall-back overlap: the first of the two instants
        (datetime(2027, 10, 31, 2, 30), "Europe/Berlin", datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
        # an alias the real server refuses, read by the same rules as its accepted name
        (datetime(2026, 12, 1, 9, 0), "Asia/Kolkata", datetime(2026, 12, 1, 3, 30, tzinfo=UTC)),
        (datetime(2026, 12, 1, 9, 0), "UTC", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        (datetime(2026, 12, 1, 9, 0), "Etc/GMT-3", datetime(2026, 12, 1, 6, 0, tzinfo=UTC)),
    ],
)
def test_instants_of_zoned_starts(wall: datetime, zone: str, expected: datetime) -> None:
    assert _clock().instant(wall.replace(tzinfo=ZoneInfo(zone))) == expected


@pytest.mark.parametrize("x_wr", [None, "America/New_York"])
def test_the_quick_path_agrees_with_when_on_every_kind_of_value(x_wr: str | None) -> None:
    clock = _clock(x_wr)
    values: list[date] = [date(2026, 12, 1), datetime(2026, 12, 1, 9, 0)]
    zones = ("Europe/Berlin", "Asia/Kolkata", "Europe/Kyiv", "US/Eastern", "UTC", "Etc/UTC",
             "GMT", "Etc/GMT+5", "Australia/Lord_Howe", "America/St_Johns")  # fmt: skip
    for name in zones:
        for wall in (datetime(2027, 3, 28, 2, 30), datetime(2027, 10, 31, 2, 30),
                     datetime(2027, 3, 14, 2, 30), datetime(2027, 11, 7, 1, 30),
                     datetime(2027, 4, 4, 2, 15), datetime(2026, 12, 24, 18, 45)):  # fmt: skip
            values.append(wall.replace(tzinfo=ZoneInfo(name)))
    for value in values * 2:  # the second round reads the per-zone cache
        assert clock.instant(value) == clock.when(value, None).instant, value


def test_remembered_answers_keep_zones_and_folds_apart() -> None:
    """``when`` keeps its last answers: values equal as Python compares them (one instant
    in two zones; one wall clock with two folds) still get their own answers."""
    clock = _clock()
    berlin, london = ZoneInfo("Europe/Berlin"), ZoneInfo("Europe/London")
    in_berlin = datetime(2026, 12, 1, 10, 0, tzinfo=berlin)
    in_london = datetime(2026, 12, 1, 9, 0, tzinfo=london)
    assert in_berlin == in_london  # the same instant
    assert clock.when(in_berlin, None).zone.name == "Europe/Berlin"
    assert clock.when(in_london, None).zone.name == "Europe/London"
    assert clock.when(in_berlin, None).wall == datetime(2026, 12, 1, 10, 0)
    # the fall-back overlap: fold 0 and fold 1 compare equal in one zone
    first = datetime(2027, 10, 31, 2, 30, tzinfo=berlin)
    second = first.replace(fold=1)
    assert first == second
    # a zoned value is read by its wall clock (RFC 5545: the first instant) either way,
    # and a TZID names the zone; the answers must not be mixed up with another TZID's
    assert clock.when(first, "Europe/Berlin").instant == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert clock.when(first, None, "DTEND").instant == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    naive = datetime(2026, 12, 1, 9, 0)
    assert clock.when(naive, "Europe/Berlin").instant == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert clock.when(naive, "Asia/Tokyo").instant == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert clock.when(naive, "Europe/Berlin").instant == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
