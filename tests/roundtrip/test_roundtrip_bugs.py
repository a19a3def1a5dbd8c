"""Round-trip bugs found by the properties, one regression test each (strict xfail while open).

When a fix lands the test passes, strict xfail turns that into a failure:
then delete the ``xfail`` mark here and the matching ``KNOWN BUG`` tolerance
in ``roundtrip_model.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from roundtrip_model import PROJECT_ID, timer_json

from ical_bridge.convert import ImportOptions, convert_calendar, export_calendar
from ical_bridge.recurrence import effective_target_date

EXPORT_NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _timer(index: int, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(index=index, label=f"Timer {index}", description=None,
                                color=None, notify=False, reminders=[], recurrence=None)
    base.update(kw)
    return timer_json(**base)


def _roundtrip(timers: list[dict[str, Any]], now: datetime, strategy: str = "auto") -> dict[
    str, Any
]:
    text = export_calendar(timers, project_id=PROJECT_ID, calendar_name="Bugs", now=EXPORT_NOW)
    result = convert_calendar(
        text, ImportOptions(now=now, window=timedelta(days=3650), strategy=strategy)
    )
    return {d.source.uid.partition("@")[0]: d for d in result.timers}


def test_overlap_one_off_keeps_its_zone_in_a_mixed_zone_calendar() -> None:
    # 2026-10-25 02:00 CET, the second 02:00 in Warsaw, is 01:00Z
    overlap = _timer(1, target=datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
                     zone_name="Europe/Warsaw")
    other = _timer(2, target=datetime(2026, 10, 26, 9, 0, tzinfo=UTC), zone_name="UTC")
    drafts = _roundtrip([overlap, other], datetime(2026, 10, 1, tzinfo=UTC))
    got = drafts[overlap["id"]].timer
    assert got["target_date"] == "2026-10-25T01:00:00.000Z"  # the instant survives …
    assert got["timezone"] == "Europe/Warsaw"  # … and so does the zone (X-TICKWARD-TIMEZONE)


def test_overlap_one_off_keeps_its_zone_when_the_calendar_has_one_zone() -> None:
    # the control: with one zone the export names it in X-WR-TIMEZONE and the zone survives
    overlap = _timer(1, target=datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
                     zone_name="Europe/Warsaw")
    drafts = _roundtrip([overlap], datetime(2026, 10, 1, tzinfo=UTC))
    assert drafts[overlap["id"]].timer["timezone"] == "Europe/Warsaw"


def test_forced_native_keeps_a_series_whose_first_slot_is_in_an_overlap() -> None:
    """Was a bug (fixed in 5cc4893): the edge on DTSTART's own date was not counted."""
    # monthly on the 2nd at 01:59 New York; the first slot, 2025-11-02 01:59, is ambiguous
    timer = _timer(1, target=datetime(2025, 11, 2, 5, 59, tzinfo=UTC),
                   zone_name="America/New_York",
                   recurrence={"type": "monthly", "enabled": True})
    now = datetime(2025, 10, 20, tzinfo=UTC)
    draft = _roundtrip([timer], now, "native")[timer["id"]]
    assert draft.timer["recurrence"] == {"type": "monthly", "enabled": True}
    assert "dst_edge" in {w.code for w in draft.warnings}
    later = datetime(2025, 11, 3, tzinfo=UTC)
    assert effective_target_date(
        draft.timer["target_date"], "America/New_York", draft.timer["recurrence"], later
    ) == effective_target_date(timer["target_date"], "America/New_York",
                               timer["recurrence"], later)
