"""Property and parameter names are case-insensitive (RFC 5545 §3.1, §3.3.10): a calendar
written in lower case converts exactly as the same calendar in upper case.

The converter reads a component's properties straight from its dictionary, whose keys
icalendar keeps in upper case whatever the file wrote; a lower-cased file takes the full
parser (the line scanner builds upper-case names only), so this compares that parser's
storage, read the direct way, with the scanner's.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ical_bridge.convert import ImportOptions, convert_calendar, to_json
from ical_bridge.errors import IcalBridgeError, NotACalendarError
from ical_bridge.ingest.decode import decode_text
from tests.conftest import CORPUS, REPO, SAMPLE_FEEDS

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
FILES = sorted([*CORPUS.rglob("*.ics"), *SAMPLE_FEEDS.rglob("*.ics")])
_HEAD = re.compile(r"^([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+=(?:\"[^\"]*\"|[^;:\"]*))*)(:)")
_RULE_KEY = re.compile(r"(^|;)([A-Za-z]+)=")


def _lower_line(line: str, *, rule_parts: bool = True) -> str:
    """One content line with its property name, parameter names and (in a rule, unless
    ``rule_parts`` is false) part names in lower case; BEGIN/END lines, values and parameter
    values as they were."""
    match = _HEAD.match(line)
    if match is None or match.group(1).upper() in ("BEGIN", "END"):
        return line
    name, params = match.group(1), match.group(2)
    params = re.sub(r";([A-Za-z0-9-]+)=", lambda m: ";" + m.group(1).lower() + "=", params)
    value = line[match.end() :]
    if rule_parts and name.upper() in ("RRULE", "EXRULE"):
        value = _RULE_KEY.sub(lambda m: m.group(1) + m.group(2).lower() + "=", value)
    return f"{name.lower()}{params}:{value}"


def lowered(data: bytes, *, rule_parts: bool = True) -> str:
    """The calendar's text, decoded as the converter decodes it, with its names in lower
    case (``_lower_line``); continuation lines of folded ones are left as they are."""
    try:
        text = decode_text(data)
    except NotACalendarError:
        return data.decode("latin-1")  # refused either way: the comparison shows it
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if body[:1] not in (" ", "\t"):
            line = _lower_line(body, rule_parts=rule_parts) + line[len(body) :]
        out.append(line)
    return "".join(out)


def _json(data: bytes | str) -> str:
    try:
        result = convert_calendar(data, ImportOptions(now=NOW))
    except IcalBridgeError as exc:
        return f"{type(exc).__name__}: {exc}"
    return json.dumps(to_json(result), ensure_ascii=False, indent=1)


def test_lowering_changes_names_only() -> None:
    line = 'DTSTART;TZID="Europe/Berlin";VALUE=DATE-TIME:20261124T100000'
    assert _lower_line(line) == 'dtstart;tzid="Europe/Berlin";value=DATE-TIME:20261124T100000'
    assert _lower_line("RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=5") == (
        "rrule:freq=WEEKLY;byday=MO,WE;count=5"
    )
    assert _lower_line("SUMMARY:A=B;C:D") == "summary:A=B;C:D"
    assert _lower_line("BEGIN:VEVENT") == "BEGIN:VEVENT"
    assert lowered(b"BEGIN:VCALENDAR\r\nRRULE:FREQ=DAILY;\r\n COUNT=2\r\nEND:VCALENDAR\r\n") == (
        "BEGIN:VCALENDAR\r\nrrule:freq=DAILY;\r\n COUNT=2\r\nEND:VCALENDAR\r\n"
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(Path(p).relative_to(REPO.parent)))
def test_a_calendar_in_lower_case_converts_as_it_does_in_upper_case(path: Path) -> None:
    data = path.read_bytes()
    expected = _json(data)
    # a message quoting a rule the converter could not read as it is, or a UID made up
    # from the rule's text, shows the rule as written: there, rules keep their case
    quoted = "RRULE '" in expected or "nouid-" in expected
    assert _json(lowered(data, rule_parts=not quoted)) == expected


def test_the_lowered_files_have_series_zones_and_alarms() -> None:
    """The comparison covers what the converter reads: rules, zones, ends, alarms."""
    text = "".join(lowered(p.read_bytes()) for p in FILES).encode()
    for needle in (b"\nrrule:freq=", b"\ndtstart;tzid=", b"\ndtend", b"\nrecurrence-id",
                   b"\nexdate", b"\ntrigger", b"\nx-wr-timezone"):  # fmt: skip
        assert needle in text, needle
