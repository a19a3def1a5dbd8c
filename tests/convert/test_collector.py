"""A conversion pauses Python's cycle collector and always gives it back as it found it."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest

from ical_bridge.convert import ImportOptions, convert_calendar
from ical_bridge.convert.model import ConversionResult
from ical_bridge.errors import IcalBridgeError
from tests.conftest import SAMPLE_FEEDS

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_the_collector_is_paused_during_a_conversion_and_back_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ical_bridge.convert import importer

    seen: list[bool] = []
    run = importer.Converter.run

    def watched(self: importer.Converter) -> ConversionResult:
        seen.append(gc.isenabled())
        return run(self)

    monkeypatch.setattr(importer.Converter, "run", watched)
    data = (SAMPLE_FEEDS / "team_meetings.ics").read_bytes()
    assert gc.isenabled()
    assert convert_calendar(data, ImportOptions(now=NOW)).timers
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off() -> None:
    data = (SAMPLE_FEEDS / "team_meetings.ics").read_bytes()
    gc.disable()
    try:
        convert_calendar(data, ImportOptions(now=NOW))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_comes_back_when_the_conversion_fails() -> None:
    with pytest.raises(IcalBridgeError):
        convert_calendar(b"not a calendar", ImportOptions(now=NOW))
    assert gc.isenabled()
