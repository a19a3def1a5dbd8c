"""Export, then the converter's import reads back the same timers (MAPPING.md round trip)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ical_bridge.convert import ImportOptions, convert_calendar
from ical_bridge.convert.export import export_calendar
from ical_bridge.recurrence import is_dst_edge, parse_iso

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
LABELS = ["Launch", "Stand-up, daily; notes \\ backslash", "Ünïcödé 日本語 🎉", "a" * 200]
# Zones a tickward timer can hold (the real server refuses Asia/Kolkata; its alias is accepted).
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Calcutta", "UTC"]
KINDS: list[dict[str, Any] | None] = [
    None,
    {"type": "daily", "enabled": True},
    {"type": "weekly", "enabled": True},
    {"type": "monthly", "enabled": True},
    {"type": "monthly", "enabled": True, "lastDay": True},
    {"type": "yearly", "enabled": True},
]


def _last_day(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


@st.composite
def timers(draw: st.DrawFn) -> dict[str, Any]:
    zone_name = draw(st.sampled_from(ZONES))
    kind = draw(st.sampled_from(KINDS))
    day = draw(st.dates(min_value=date(2026, 12, 1), max_value=date(2028, 12, 31)))
    if kind and kind.get("lastDay"):
        day = _last_day(day)
    local = datetime(day.year, day.month, day.day, draw(st.integers(6, 21)),
                     draw(st.sampled_from([0, 15, 30, 45])))
    target = local.replace(tzinfo=ZoneInfo(zone_name)).astimezone(UTC)
    reminders = draw(st.lists(st.integers(0, 40320), max_size=5, unique=True))
    return {
        "id": "icb_" + draw(st.text("0123456789abcdef", min_size=8, max_size=8)),
        "label": draw(st.sampled_from(LABELS)),
        "target_date": target.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "timezone": zone_name,
        "recurrence": kind,
        "description": draw(st.sampled_from([None, "Room 4, floor 2; bring\nnotes"])),
        "color": draw(st.sampled_from([None, "#1e90ff", "#123456"])),
        "notify": bool(reminders),
        "reminders": [{"offset_minutes": m} for m in reminders],
        "created_at": "2026-11-01T10:00:00.000Z",
        "updated_at": "2026-11-02T10:00:00.000Z",
        "archived_at": None,
        "mode": "until",
    }


def _edge(timer: dict[str, Any]) -> bool:
    tz = ZoneInfo(timer["timezone"])
    local = parse_iso(timer["target_date"]).astimezone(tz).replace(tzinfo=None)
    # Slots whose wall clock hits a DST gap/overlap on some date are rolling by design.
    return any(is_dst_edge(local.replace(month=m, day=d), tz)
               for m in range(1, 13) for d in (1, 8, 15, 22, 28))


@settings(max_examples=40, deadline=None)
@given(timers())
def test_import_reads_back_what_export_wrote(timer: dict[str, Any]) -> None:
    data = export_calendar([timer], project_id="proj_1", calendar_name="Team", now=NOW)
    result = convert_calendar(data, ImportOptions(now=NOW, window=timedelta(days=3 * 366)))
    assert result.skipped == []
    (draft,) = result.timers
    got = draft.timer
    assert got["label"] == timer["label"]
    assert parse_iso(got["target_date"]) == parse_iso(timer["target_date"])
    assert got["timezone"] == timer["timezone"]
    if not _edge(timer):
        assert got.get("recurrence") == timer["recurrence"]
        assert draft.strategy == ("native" if timer["recurrence"] else "single")
    assert got.get("description") == timer["description"]
    assert got.get("color") == timer["color"]
    assert bool(got.get("notify")) == timer["notify"]
    assert sorted(r["offset_minutes"] for r in got.get("reminders") or []) == sorted(
        r["offset_minutes"] for r in timer["reminders"])


def test_exporting_the_import_again_gives_the_same_events() -> None:
    timer = {
        "id": "icb_a1", "label": "Weekly, standup", "target_date": "2026-12-07T08:00:00.000Z",
        "timezone": "Europe/Berlin", "recurrence": {"type": "weekly", "enabled": True},
        "description": "Room 4", "color": "#336699", "notify": True,
        "reminders": [{"offset_minutes": 5}], "created_at": "2026-11-01T10:00:00.000Z",
        "updated_at": "2026-11-01T10:00:00.000Z", "archived_at": None, "mode": "until",
    }
    first = export_calendar([timer], project_id="p", calendar_name="Team", now=NOW)
    (draft,) = convert_calendar(first, ImportOptions(now=NOW)).timers
    again = {**timer, **draft.timer, "id": "icb_a1"}
    second = export_calendar([again], project_id="p", calendar_name="Team", now=NOW)
    assert second == first
