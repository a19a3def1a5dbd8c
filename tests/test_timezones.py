"""The shipped list of accepted zones is the measured one, exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import pytest

from ical_bridge.timezones import (
    accepted_name,
    accepted_zones,
    describe_zone,
    equivalent_zone,
    is_accepted,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "tickward" / "accepted-timezones.txt"


def test_shipped_list_equals_the_measured_list() -> None:
    measured = {line.strip() for line in SHARED.read_text("utf-8").splitlines() if line.strip()}
    assert len(measured) == 419
    assert accepted_zones() == measured


def test_refused_names_from_server_notes_are_not_accepted() -> None:
    for name in ("Asia/Kolkata", "Europe/Kyiv", "America/Nuuk", "Asia/Kathmandu",
                 "America/Argentina/Buenos_Aires", "Etc/UTC", "GMT", "US/Eastern",
                 "Canada/Saskatchewan", "Etc/GMT-3", "utc"):
        assert not is_accepted(name), name
    for name in ("UTC", "Asia/Calcutta", "Europe/Kiev", "America/Godthab", "Asia/Katmandu",
                 "America/Buenos_Aires", "Europe/Paris", "America/New_York"):
        assert is_accepted(name), name


# -- the mapping onto the accepted list ---------------------------------------------------

_START = datetime(2020, 1, 1, tzinfo=UTC)
_END = datetime(2041, 1, 1, tzinfo=UTC)


def _offset(name: str, instant: datetime) -> timedelta | None:
    return instant.astimezone(ZoneInfo(name)).utcoffset()


def _same_offsets_2020_2040(a: str, b: str) -> bool:
    """Offsets agree twice a day, and every 15 minutes of any half-day where either changes."""
    at, previous = _START, (_offset(a, _START), _offset(b, _START))
    while at < _END:
        step = at + timedelta(hours=12)
        here = (_offset(a, step), _offset(b, step))
        if here[0] != here[1]:
            return False
        if here != previous:
            for quarter in range(1, 48):
                probe = at + timedelta(minutes=15 * quarter)
                if _offset(a, probe) != _offset(b, probe):
                    return False
        at, previous = step, here
    return True


def test_every_tzdata_name_maps_to_an_accepted_zone_with_the_same_instants() -> None:
    """Property over all of zoneinfo: an alias or a substitute is accepted and exact over
    2020–2040; a name with neither is exactly the reported fallback set (UTC at the instant)."""
    fallbacks = []
    for name in sorted(available_timezones()):
        mapped = accepted_name(name) or equivalent_zone(name, 2020, 2040)
        if mapped is None:
            fallbacks.append(name)
            continue
        assert is_accepted(mapped), (name, mapped)
        if mapped != name:
            assert _same_offsets_2020_2040(name, mapped), (name, mapped)
    # Only UTC-12 has no inhabited zone (the converter reports timezone_fallback for it).
    assert fallbacks == ["Etc/GMT+12"]


@pytest.mark.parametrize(
    ("name", "alias"),
    [("Asia/Kolkata", "Asia/Calcutta"), ("Europe/Kyiv", "Europe/Kiev"),
     ("US/Eastern", "America/New_York"), ("Canada/Saskatchewan", "America/Regina"),
     ("Etc/UTC", "UTC"), ("GMT", "UTC"), ("Etc/GMT", "UTC"), ("UCT", "UTC"), ("Zulu", "UTC"),
     ("Asia/Kathmandu", "Asia/Katmandu"),
     ("America/Argentina/Buenos_Aires", "America/Buenos_Aires"),
     ("America/Nuuk", "America/Godthab"), ("US/Pacific", "America/Los_Angeles"),
     ("Australia/Canberra", "Australia/Sydney"), ("Europe/Paris", "Europe/Paris")],
)
def test_aliases_from_server_notes_and_issue_9(name: str, alias: str) -> None:
    assert accepted_name(name) == alias


def test_fixed_offsets_have_no_alias_but_an_explained_substitute() -> None:
    assert accepted_name("Etc/GMT-3") is None  # a fixed offset is not a place: warned about
    substitute = equivalent_zone("Etc/GMT-3", 2020, 2040)
    assert substitute is not None and is_accepted(substitute)
    assert _same_offsets_2020_2040("Etc/GMT-3", substitute)
    assert equivalent_zone("Etc/GMT+12", 2020, 2040) is None
    assert describe_zone("Etc/GMT-12") == "Etc/GMT-12 (UTC+12)"
    assert describe_zone("Etc/GMT+5") == "Etc/GMT+5 (UTC-5)"
    assert describe_zone("Europe/Paris") == "Europe/Paris"
