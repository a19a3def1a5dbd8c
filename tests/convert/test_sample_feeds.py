"""What a user sees when converting the realistic feeds in ``sample_feeds/``.

Expected instants are worked out by hand from the feeds (and cross-checked
with zoneinfo), never taken from the converter.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ical_bridge.recurrence import effective_target_date
from tests.convert.convert_helpers import NOW, by_label, codes, convert_feed, skipped


def _next(draft: object, now: datetime = NOW) -> str:
    timer = draft.timer  # type: ignore[attr-defined]
    return effective_target_date(timer["target_date"], timer["timezone"], timer["recurrence"], now)


# -- team_meetings.ics -----------------------------------------------------------------


def test_standup_on_three_weekdays_becomes_three_weekly_timers_at_0930_berlin() -> None:
    drafts = by_label(convert_feed("team_meetings.ics"))
    parts = {day: drafts[f"Standup ({day})"] for day in ("Mon", "Wed", "Fri")}
    for draft in parts.values():
        assert draft.strategy == "split"
        assert draft.timer["timezone"] == "Europe/Berlin"
        assert draft.timer["recurrence"] == {"type": "weekly", "enabled": True}
        assert draft.timer["reminders"] == [{"offset_minutes": 5}]
        assert draft.timer["notify"] is True
        assert "Room 4.12" in draft.timer["description"]
    # 09:30 CET = 08:30Z in November …
    assert _next(parts["Mon"]) == "2026-11-23T08:30:00.000Z"
    assert _next(parts["Wed"]) == "2026-11-25T08:30:00.000Z"
    assert _next(parts["Fri"]) == "2026-11-27T08:30:00.000Z"
    # … and still 09:30 local (CEST, 07:30Z) in summer: the slot is wall-clock.
    june = datetime(2027, 6, 1, tzinfo=UTC)  # a Tuesday
    assert _next(parts["Wed"], june) == "2027-06-02T07:30:00.000Z"
    assert len({d.timer["id"] for d in parts.values()}) == 3


def test_daily_weekdays_becomes_five_weekly_timers_with_folded_label() -> None:
    drafts = by_label(convert_feed("team_meetings.ics"))
    days = ("Mon", "Tue", "Wed", "Thu", "Fri")
    parts = [drafts[f"Support rota handover ({d})"] for d in days]
    assert all(p.timer["timezone"] == "Europe/London" for p in parts)
    assert [_next(p) for p in parts] == [f"2026-11-{d}T08:45:00.000Z" for d in (23, 24, 25, 26, 27)]


def test_second_tuesday_monthly_is_rolling_at_the_next_occurrence() -> None:
    draft = by_label(convert_feed("team_meetings.ics"))["Architecture board"]
    assert draft.strategy == "rolling"
    assert draft.timer["recurrence"] is None
    assert draft.timer["timezone"] == "America/New_York"
    # second Tuesday of December 2026 is the 8th; 14:00 EST = 19:00Z
    assert draft.timer["target_date"] == "2026-12-08T19:00:00.000Z"
    assert "rolling" in codes(draft)


def test_series_with_exdate_moved_and_cancelled_overrides_rolls_to_the_moved_one() -> None:
    result = convert_feed("team_meetings.ics")
    [draft] = [d for d in result.timers if d.source.uid == "one-on-one-sam@example.com"]
    # Nov 26 is excluded; Dec 3 moved to Fri Dec 4 10:00 CET with its own title.
    assert draft.strategy == "rolling"
    assert draft.timer["label"] == "1:1 with Sam (moved to Friday)"
    assert draft.timer["target_date"] == "2026-12-04T09:00:00.000Z"
    # After the moved one: Dec 10 is cancelled, so Dec 17 16:00 CET.
    later = convert_feed("team_meetings.ics", now=datetime(2026, 12, 5, tzinfo=UTC))
    [draft] = [d for d in later.timers if d.source.uid == "one-on-one-sam@example.com"]
    assert draft.timer["label"] == "1:1 with Sam"
    assert draft.timer["target_date"] == "2026-12-17T15:00:00.000Z"


def test_expand_lists_each_occurrence_and_reports_the_cancelled_one() -> None:
    result = convert_feed("team_meetings.ics", strategy="expand", window=timedelta(days=30))
    sam = [d for d in result.timers if d.source.uid == "one-on-one-sam@example.com"]
    assert [d.timer["target_date"] for d in sam] == [
        "2026-12-04T09:00:00.000Z",
        "2026-12-17T15:00:00.000Z",
    ]
    assert all(d.strategy == "expand" and d.timer["recurrence"] is None for d in sam)
    assert len({d.timer["id"] for d in sam}) == 2
    assert {d.source.recurrence_id for d in sam} == {"20261203T150000Z", "20261217T150000Z"}
    cancelled = [s for s in result.skipped if s.uid == "one-on-one-sam@example.com"]
    assert [s.code for s in cancelled] == ["cancelled"]


def test_count_series_is_native_with_its_end_and_a_warning() -> None:
    draft = by_label(convert_feed("team_meetings.ics"))["Onboarding session (cohort 7)"]
    assert draft.strategy == "native"
    assert draft.timer["recurrence"] == {"type": "weekly", "enabled": True}
    # six Tuesdays from Nov 10: the last is Dec 15, 11:00 CET
    assert draft.series_end == datetime(2026, 12, 15, 10, 0, tzinfo=UTC)
    assert "series_end_not_enforced" in codes(draft)


def test_ended_and_cancelled_events_are_skipped_with_reasons() -> None:
    result = convert_feed("team_meetings.ics")
    assert skipped(result) == {
        "old-retro@example.com": "ended",
        "offsite-2026@example.com": "cancelled",
    }


def test_ids_are_deterministic_prefixed_and_keyed_by_source() -> None:
    first = convert_feed("team_meetings.ics", source_key="feed:a")
    again = convert_feed("team_meetings.ics", source_key="feed:a")
    other = convert_feed("team_meetings.ics", source_key="feed:b")
    ids = [d.timer["id"] for d in first.timers]
    assert ids == [d.timer["id"] for d in again.timers]
    assert all(i.startswith("icb_") and len(i) == 36 for i in ids)
    assert len(set(ids)) == len(ids)
    assert not set(ids) & {d.timer["id"] for d in other.timers}


def test_forced_strategies_fall_back_with_a_warning_where_inexact() -> None:
    native = by_label(convert_feed("team_meetings.ics", strategy="native"))
    sam = native["1:1 with Sam (moved to Friday)"]
    assert sam.strategy == "rolling" and "strategy_fallback" in codes(sam)
    assert native["Standup (Mon)"].strategy == "split"
    assert "strategy_fallback" in codes(native["Standup (Mon)"])
    rolling = by_label(convert_feed("team_meetings.ics", strategy="rolling"))
    assert rolling["Standup"].strategy == "rolling"
    assert rolling["Standup"].timer["target_date"] == "2026-11-23T08:30:00.000Z"


def test_categories_map_to_spaces_only_when_configured() -> None:
    plain = by_label(convert_feed("team_meetings.ics"))
    assert "space_id" not in plain["Standup (Mon)"].timer
    mapped = by_label(
        convert_feed("team_meetings.ics", categories_to_spaces={"engineering": "sp_eng"})
    )
    assert mapped["Standup (Mon)"].timer["space_id"] == "sp_eng"
    assert mapped["Architecture board"].timer["space_id"] == "sp_eng"
    assert "space_id" not in mapped["Support rota handover (Mon)"].timer


# -- google_export_x_wr_timezone.ics ---------------------------------------------------


def test_google_utc_weekly_event_repeats_in_the_x_wr_timezone() -> None:
    result = convert_feed("google_export_x_wr_timezone.ics")
    yoga = by_label(result)["Yoga class"]
    assert yoga.strategy == "native"
    assert yoga.timer["timezone"] == "America/Los_Angeles"
    # DTSTART 02:00Z = Tue 18:00 PST; Google means 18:00 Los Angeles every week.
    assert _next(yoga) == "2026-11-25T02:00:00.000Z"
    assert _next(yoga, datetime(2027, 6, 1, tzinfo=UTC)) == "2027-06-02T01:00:00.000Z"  # PDT
    assert result.calendar.timezone == "America/Los_Angeles"
    assert result.calendar.name == "Family"


def test_google_all_day_and_utc_one_offs_use_the_calendar_zone() -> None:
    result = convert_feed("google_export_x_wr_timezone.ics")
    drafts = by_label(result)
    party = drafts["Holiday party"]
    assert party.timer["target_date"] == "2026-12-18T08:00:00.000Z"  # midnight PST
    assert party.timer["timezone"] == "America/Los_Angeles"
    review = drafts["Quarterly budget review"]
    assert review.timer["target_date"] == "2027-01-15T17:00:00.000Z"
    assert review.timer["timezone"] == "America/Los_Angeles"
    assert review.timer["description"] == "Bring receipts.\nKitchen table"
    assert skipped(result) == {"9zz9pastbrunch@google.com": "past"}


# -- outlook_windows_zones.ics ---------------------------------------------------------


def test_windows_zone_names_become_iana_zones() -> None:
    drafts = by_label(convert_feed("outlook_windows_zones.ics"))
    budget, vendor = drafts["Budget sync"], drafts["Vendor call (Seattle)"]
    assert (budget.timer["timezone"], budget.timer["target_date"]) == (
        "Europe/Berlin",
        "2026-12-03T09:00:00.000Z",
    )
    assert (vendor.timer["timezone"], vendor.timer["target_date"]) == (
        "America/Los_Angeles",
        "2026-12-10T17:00:00.000Z",
    )
    ops = drafts["Ops review"]
    assert ops.strategy == "native" and ops.timer["timezone"] == "Europe/Berlin"
    assert _next(ops) == "2026-11-25T09:00:00.000Z"
    assert ops.series_end == datetime(2028, 12, 27, 9, 0, tzinfo=UTC)
    assert ops.timer["reminders"] == [{"offset_minutes": 15}]


def test_custom_vtimezone_resolves_to_a_zone_with_the_same_rules() -> None:
    dinner = by_label(convert_feed("outlook_windows_zones.ics"))["Board dinner"]
    assert dinner.timer["target_date"] == "2026-12-11T18:00:00.000Z"
    assert "timezone_guessed" in codes(dinner)
    chosen, berlin = ZoneInfo(dinner.timer["timezone"]), ZoneInfo("Europe/Berlin")
    for day in range(0, 3 * 365, 5):
        for hour in (0, 1, 2, 3):
            instant = datetime(2026, 1, 1, hour, tzinfo=UTC) + timedelta(days=day)
            assert instant.astimezone(chosen).utcoffset() == instant.astimezone(berlin).utcoffset()


# -- apple_fastmail_style.ics ----------------------------------------------------------


def test_floating_times_use_the_default_zone_else_utc_with_a_warning() -> None:
    plain = by_label(convert_feed("apple_fastmail_style.ics"))["Dentist"]
    assert (plain.timer["timezone"], plain.timer["target_date"]) == (
        "UTC",
        "2026-12-04T08:30:00.000Z",
    )
    assert "floating_time" in codes(plain)
    zoned = by_label(convert_feed("apple_fastmail_style.ics", default_tz="America/New_York"))
    dentist = zoned["Dentist"]
    assert (dentist.timer["timezone"], dentist.timer["target_date"]) == (
        "America/New_York",
        "2026-12-04T13:30:00.000Z",
    )
    assert "floating_time" not in codes(dentist)


def test_apple_alarms_and_colours() -> None:
    drafts = by_label(convert_feed("apple_fastmail_style.ics"))
    dentist = drafts["Dentist"]
    assert dentist.timer["reminders"] == [{"offset_minutes": 15}, {"offset_minutes": 60}]
    assert dentist.timer["color"] == "#ff2968"  # X-APPLE-CALENDAR-COLOR, alpha dropped
    birthday = drafts["Mum's birthday"]
    assert birthday.timer["color"] == "#ff6347"  # COLOR:tomato
    assert birthday.timer["reminders"] == [{"offset_minutes": 900}]
    concert = drafts["Choir concert"]
    # RELATED=END -3h on a 2h event is 1h before the start; +10m after start is dropped;
    # Apple's ACTION:NONE default alarm is ignored.
    assert concert.timer["reminders"] == [{"offset_minutes": 60}]
    assert "alarm_after_start" in codes(concert)


def test_all_day_yearly_birthday_at_the_configured_local_time() -> None:
    result = convert_feed(
        "apple_fastmail_style.ics", default_tz="Europe/London", all_day_time=time(9, 0)
    )
    birthday = by_label(result)["Mum's birthday"]
    assert birthday.strategy == "native"
    assert birthday.timer["recurrence"] == {"type": "yearly", "enabled": True}
    assert _next(birthday) == "2027-06-12T08:00:00.000Z"  # 09:00 BST
    cottage = by_label(result)["Christmas at the cottage"]
    assert cottage.timer["target_date"] == "2026-12-24T09:00:00.000Z"  # 09:00 GMT


# -- holidays_all_day_yearly.ics -------------------------------------------------------


def test_holidays_in_new_york() -> None:
    result = convert_feed("holidays_all_day_yearly.ics", default_tz="America/New_York")
    drafts = by_label(result)
    assert drafts["Thanksgiving"].strategy == "rolling"  # 4th Thursday
    assert drafts["Thanksgiving"].timer["target_date"] == "2026-11-26T05:00:00.000Z"
    assert _next(drafts["Christmas Day"]) == "2026-12-25T05:00:00.000Z"
    assert _next(drafts["Independence Day"]) == "2027-07-04T04:00:00.000Z"  # EDT
    assert _next(drafts["Leap day"]) == "2028-02-29T05:00:00.000Z"
    close = drafts["Month-end close"]
    assert close.timer["recurrence"] == {"type": "monthly", "enabled": True, "lastDay": True}
    assert _next(close) == "2026-11-30T05:00:00.000Z"
    assert _next(close, datetime(2026, 12, 1, tzinfo=UTC)) == "2026-12-31T05:00:00.000Z"
    assert _next(close, datetime(2027, 2, 1, tzinfo=UTC)) == "2027-02-28T05:00:00.000Z"
    assert result.calendar.refresh_interval == timedelta(days=1)
