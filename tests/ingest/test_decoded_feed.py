"""A feed is decoded once: the decoded object carries the text convert needs and the metadata."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ical_bridge.convert import ImportOptions, convert_calendar, to_json
from ical_bridge.errors import NotACalendarError
from ical_bridge.ingest import decode_feed

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LATIN1 = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-PUBLISHED-TTL:PT12H\r\n"
    "REFRESH-INTERVAL;VALUE=DURATION:PT6H\r\nX-WR-CALNAME:Équipe\r\n"
    "BEGIN:VEVENT\r\nUID:a@t\r\nDTSTART:20261201T100000Z\r\nSUMMARY:Réunion\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
).encode("latin-1")


def test_decoded_feed_carries_text_and_refresh_interval() -> None:
    feed = decode_feed(LATIN1)
    assert "SUMMARY:Réunion" in feed.text  # Latin-1 fallback, decoded once
    assert feed.refresh_interval == timedelta(hours=6)  # REFRESH-INTERVAL wins over the TTL
    ttl_only = decode_feed(LATIN1.replace(b"REFRESH-INTERVAL", b"X-OTHER"))
    assert ttl_only.refresh_interval == timedelta(hours=12)


def test_convert_takes_the_decoded_feed_and_bytes_alike() -> None:
    options = ImportOptions(now=NOW)
    from_feed = convert_calendar(decode_feed(LATIN1), options)
    assert [d.timer["label"] for d in from_feed.timers] == ["Réunion"]
    assert to_json(from_feed) == to_json(convert_calendar(LATIN1, options))


def test_a_non_calendar_fails_at_decoding() -> None:
    with pytest.raises(NotACalendarError):
        decode_feed(b"\x89PNG\r\n\x1a\n")
