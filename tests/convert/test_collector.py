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

    def watched(self: importer.Converter, progress: importer.Progress | None = None,
                ) -> ConversionResult:  # fmt: skip
        seen.append(gc.isenabled())
        return run(self, progress)

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


def test_a_conversion_leaves_no_component_waiting_for_the_collector() -> None:
    """Without the collector, reference counting alone frees every parsed component when
    the conversion returns (no cycle holds them), so they are gone before JSON is built."""
    from icalendar import Component

    data = _feed_with_series()
    gc.collect()
    gc.disable()
    try:
        before = sum(isinstance(o, Component) for o in gc.get_objects())
        result = convert_calendar(data, ImportOptions(now=NOW))
        after = sum(isinstance(o, Component) for o in gc.get_objects())
    finally:
        gc.enable()
    assert len(result.timers) >= 3
    assert after == before


def _feed_with_series() -> bytes:
    """A native series, a series with an override (rolling) and a one-off."""
    return (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
        b"BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Berlin:20260105T090000\r\n"
        b"RRULE:FREQ=WEEKLY;COUNT=200\r\nSUMMARY:native\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:b\r\nDTSTART;TZID=Europe/Berlin:20260105T100000\r\n"
        b"RRULE:FREQ=DAILY\r\nSUMMARY:moved\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:b\r\nRECURRENCE-ID;TZID=Europe/Berlin:20261124T100000\r\n"
        b"DTSTART;TZID=Europe/Berlin:20261124T120000\r\nSUMMARY:moved\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:c\r\nDTSTART:20261201T090000Z\r\nSUMMARY:once\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )


def test_a_process_that_converts_again_and_again_still_collects_its_cycles() -> None:
    """A daemon converts feeds for months: cyclic garbage made between conversions (by
    httpx, asyncio, anyone) must still be collected by the collector on its own. Moving
    everything to the oldest generation after each conversion (freeze, unfreeze) kept
    every such cycle for good: 0 of 100,000 freed."""
    import weakref

    data = (SAMPLE_FEEDS / "team_meetings.ics").read_bytes()
    freed: list[int] = [0]

    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    def cycle() -> None:
        a, b = Node(), Node()
        a.other, b.other = b, a
        weakref.finalize(a, lambda: freed.__setitem__(0, freed[0] + 1))

    gc.collect()
    made = 0
    for _ in range(300):
        for _ in range(40):
            cycle()
            made += 1
        convert_calendar(data, ImportOptions(now=NOW))
    assert freed[0] >= made * 0.9  # what the young collections find; no gc.collect() here
