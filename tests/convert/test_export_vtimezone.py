"""Rule-based VTIMEZONEs: two independent parsers must compute zoneinfo's offsets from them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject

from ical_bridge.convert.vtimezone import vtimezone_lines

FIRST, LAST = 2025, 2029

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",  # southern hemisphere: DST spans the new year
    "Australia/Lord_Howe",  # 30-minute DST
    "Asia/Jerusalem",  # Friday on or after the 23rd
    "America/Santiago",  # midnight transitions, Sunday on or after the 2nd
    "Pacific/Chatham",  # +12:45
    "Europe/Dublin",  # negative DST in tzdata's own terms
    "Africa/Casablanca",  # no yearly rule at all (Ramadan)
    "Asia/Tokyo",  # no DST
    "Asia/Kolkata",  # no DST, half-hour offset
]


def _calendar(name: str) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN"]
    lines += vtimezone_lines(name, FIRST, LAST)
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _samples(name: str) -> Iterator[datetime]:
    """Noon UTC every fourth day, plus every 30 minutes on days where zoneinfo's offset changes."""
    tz = ZoneInfo(name)
    day = datetime(FIRST, 1, 1, tzinfo=UTC)
    end = datetime(LAST + 1, 1, 1, tzinfo=UTC)
    one = timedelta(days=1)
    while day < end:
        if day.toordinal() % 4 == 0:
            yield day + timedelta(hours=12)
        if day.astimezone(tz).utcoffset() != (day + one).astimezone(tz).utcoffset():
            for half_hour in range(48):
                yield day + timedelta(minutes=30 * half_hour)
        day += one


def _parsers(name: str) -> list[tuple[str, tzinfo]]:
    text = _calendar(name)
    ical_tz = icalendar.Calendar.from_ical(text).walk("VTIMEZONE")[0].to_tz(lookup_tzid=False)
    vobj_tz = vobject.readOne(text).vtimezone.gettzinfo()
    return [("icalendar", ical_tz), ("vobject", vobj_tz)]


@pytest.mark.parametrize("name", ZONES)
def test_parsers_compute_zoneinfo_offsets_for_every_covered_year(name: str) -> None:
    expected_tz = ZoneInfo(name)
    for parser, tz in _parsers(name):
        mismatches = [
            (instant, got, want)
            for instant in _samples(name)
            if (got := instant.astimezone(tz).utcoffset())
            != (want := instant.astimezone(expected_tz).utcoffset())
        ]
        assert mismatches == [], f"{parser}: {mismatches[:3]}"


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/New_York", "Australia/Sydney"])
def test_wall_clock_times_read_back_with_zoneinfo_offsets(name: str) -> None:
    expected_tz = ZoneInfo(name)
    for parser, tz in _parsers(name):
        for year in range(FIRST, LAST + 1):
            for month in range(1, 13):
                local = datetime(year, month, 15, 9, 30)
                got = local.replace(tzinfo=tz).utcoffset()
                assert got == local.replace(tzinfo=expected_tz).utcoffset(), (parser, local)


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/New_York", "Asia/Jerusalem"])
def test_dst_zones_use_one_rrule_per_part_and_no_rdate(name: str) -> None:
    component = icalendar.Calendar.from_ical(_calendar(name)).walk("VTIMEZONE")[0]
    parts = component.walk("STANDARD") + component.walk("DAYLIGHT")
    assert len(parts) == 2
    for part in parts:
        assert "RDATE" not in part
        assert len(part.get("RRULE")["FREQ"]) == 1


def test_rule_derived_from_the_transitions() -> None:
    text = _calendar("Europe/Berlin")
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU" in text
    assert "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU" in text
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU" in _calendar("America/New_York")


def test_zone_without_dst_has_a_single_standard_part() -> None:
    component = icalendar.Calendar.from_ical(_calendar("Asia/Tokyo")).walk("VTIMEZONE")[0]
    assert [part.name for part in component.subcomponents] == ["STANDARD"]
    assert component.subcomponents[0]["TZOFFSETTO"].td == timedelta(hours=9)


def test_a_rule_change_inside_the_covered_years_gets_an_until() -> None:
    # The US moved DST from April/October to March/November in 2007.
    lines = vtimezone_lines("America/Chicago", 2005, 2009)
    rules = [line for line in lines if line.startswith("RRULE:")]
    assert "RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T080000Z" in rules
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU" in rules
    text = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:x", *lines, "END:VCALENDAR"])
    tz = vobject.readOne(text + "\r\n").vtimezone.gettzinfo()
    chicago = ZoneInfo("America/Chicago")
    for year in range(2005, 2010):
        for month, day in ((3, 20), (4, 10), (10, 31), (11, 3)):
            instant = datetime(year, month, day, 18, tzinfo=UTC)
            assert instant.astimezone(tz).utcoffset() == instant.astimezone(chicago).utcoffset()
