"""Reading untrusted bytes: encodings, missing wrappers, and clear refusals."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ical_bridge.errors import NotACalendarError
from ical_bridge.ingest.decode import parse_feed
from tests.convert.convert_helpers import convert_text

EVENT = "BEGIN:VEVENT\r\nUID:e1\r\nDTSTART:20261201T100000Z\r\nSUMMARY:Café ☕\r\nEND:VEVENT\r\n"
CAL = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{EVENT}END:VCALENDAR\r\n"


def _labels(data: bytes | str) -> list[str]:
    from ical_bridge.convert import ImportOptions, convert_calendar
    from tests.convert.convert_helpers import NOW

    return [d.timer["label"] for d in convert_calendar(data, ImportOptions(now=NOW)).timers]


@pytest.mark.parametrize(
    "data",
    [
        CAL.encode(),
        b"\xef\xbb\xbf" + CAL.encode(),
        CAL.encode("utf-16"),  # with BOM
        "\ufeff".encode("utf-16-be") + CAL.encode("utf-16-be"),
        CAL.replace("\r\n", "\n").encode(),
    ],
    ids=["utf8", "utf8-bom", "utf16-le-bom", "utf16-be-bom", "lf-only"],
)
def test_unicode_encodings_are_read(data: bytes) -> None:
    assert _labels(data) == ["Café ☕"]


def test_latin1_is_the_fallback() -> None:
    data = CAL.replace("Café ☕", "Café").encode("latin-1")
    assert _labels(data) == ["Café"]


def test_bare_events_and_a_missing_end_are_accepted() -> None:
    assert _labels(EVENT) == ["Café ☕"]
    assert _labels(CAL.replace("END:VCALENDAR\r\n", "")) == ["Café ☕"]


def test_folded_lines_are_unfolded() -> None:
    # RFC 5545 §3.1: a line break followed by one space or tab is removed.
    folded = CAL.replace("SUMMARY:Café ☕", "SUMMARY:Long ti\r\n tle\r\n\t continued")
    assert _labels(folded) == ["Long title continued"]


def test_empty_calendar_is_fine_and_has_no_timers() -> None:
    result = convert_text("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n")
    assert not result.timers and not result.skipped


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"   \r\n  ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"<!doctype html><html><body>Not found</body></html>", "not iCalendar"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:2026", "truncated"),
        (CAL.encode("utf-16")[:-1], "UTF-16"),
    ],
)
def test_non_calendars_are_refused_with_one_clear_line(data: bytes, words: str) -> None:
    with pytest.raises(NotACalendarError) as caught:
        parse_feed(data)
    message = str(caught.value)
    assert words in message and "\n" not in message


def test_a_truncated_last_event_costs_only_that_event() -> None:
    data = CAL.replace("END:VCALENDAR\r\n", "") + "BEGIN:VEVENT\r\nUID:cut\r\nDTSTART:2026"
    feed = parse_feed(data)
    assert [str(c["UID"]) for c in feed.components] == ["e1"]
    assert [p.code for p in feed.problems] == ["truncated"]


_LONG_AGO = "DTSTART:20200106T093000Z"


@pytest.mark.parametrize(
    ("lines", "past"),
    [
        ([_LONG_AGO], True),
        (["DTSTART;VALUE=DATE:20200106"], True),
        (["dtstart:20200106T093000Z"], True),
        (["DTSTART:20991231T093000Z"], False),  # ahead
        ([_LONG_AGO, "RRULE:FREQ=WEEKLY"], False),  # a series: its later occurrences count
        ([_LONG_AGO, "rrule:FREQ=WEEKLY"], False),  # property names are case-insensitive
        ([_LONG_AGO, "Rdate:20991231T093000Z"], False),
        ([_LONG_AGO, "exrule:FREQ=YEARLY"], False),
        ([_LONG_AGO, "recurrence-id:20200106T093000Z"], False),
        ([_LONG_AGO, "x-tickward-mode:since"], False),  # counts up from then
        ([_LONG_AGO, "status:cancelled"], False),  # reported as cancelled, not as past
        ([_LONG_AGO, "SUMMARY:Sprint review", "DESCRIPTION:rrule: none"], True),
        ([_LONG_AGO, "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT5M", "END:VALARM"], True),
    ],
)
def test_only_plain_one_offs_long_past_are_skipped_unread(lines: list[str], past: bool) -> None:
    from datetime import UTC, datetime

    text = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:a@example.com",
                        *lines, "END:VEVENT", "END:VCALENDAR", ""])  # fmt: skip
    feed = parse_feed(text, past_before=datetime(2026, 11, 22, tzinfo=UTC))
    assert [uid for uid, _ in feed.past] == (["a@example.com"] if past else [])
    assert len(feed.components) == (0 if past else 1)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="a \t\r\n:", max_size=40))
@example("\r\r\n\n\r")
@example("A\r\nB\rC\nD\r")
def test_lines_are_cut_at_crlf_lf_and_lone_cr_as_the_rfc_pattern_cuts_them(text: str) -> None:
    """The line cutter is ``re.split(r"\\r\\n|\\n|\\r")`` (left to right, CRLF first)."""
    import re

    from ical_bridge.ingest.decode import _split_lines

    assert _split_lines(text) == re.split(r"\r\n|\n|\r", text)
