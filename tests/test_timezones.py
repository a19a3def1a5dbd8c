"""The shipped list of accepted zones is the measured one, exactly."""

from __future__ import annotations

from pathlib import Path

from ical_bridge.timezones import accepted_zones, is_accepted

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
