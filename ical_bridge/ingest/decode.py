"""Turn untrusted bytes into parsed iCalendar components, one bad item at a time.

The bytes are decoded (UTF-8 with or without BOM, UTF-16 with BOM, Latin-1 as
a last resort), unfolded and scanned line by line *before* icalendar sees
them. The scan enforces the resource limits, accepts bare components and a
missing ``END:VCALENDAR``, and cuts the stream into top-level components so
that one component icalendar cannot parse costs that component (or just the
offending property), never the file.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Component

from ical_bridge.errors import NotACalendarError
from ical_bridge.vocabulary import MAX_SOURCE_BYTES

__all__ = [
    "KEPT_COMPONENTS",
    "MAX_DEPTH",
    "MAX_INPUT_BYTES",
    "MAX_LINE_CHARS",
    "Notice",
    "ParsedFeed",
    "RawComponent",
    "Scan",
    "decode_text",
    "parse_feed",
    "scan_components",
]

MAX_INPUT_BYTES = MAX_SOURCE_BYTES
"""Inputs larger than this are refused outright."""
MAX_LINE_CHARS = 1024 * 1024
"""An unfolded content line longer than this is dropped."""
MAX_DEPTH = 6
"""Components nested deeper than this (VCALENDAR counts as 1) are dropped."""
KEPT_COMPONENTS = frozenset({"VEVENT", "VTODO", "VTIMEZONE"})
"""Top-level components the converter looks at; the rest are skipped unparsed."""

_NAME_END = re.compile(r"[;:]")


@dataclass(frozen=True)
class Notice:
    """A lossy or surprising step (reading, converting, planning), with a stable ``code``.

    The one warning type from ingest to ``import --json``: ``uid`` names the
    component when the step concerns one.
    """

    code: str
    message: str
    uid: str = ""
    prop: str = ""  # the property dropped, when one was
    value: str = ""  # its raw value (cut), when known


@dataclass
class RawComponent:
    """One top-level component as unfolded content lines (BEGIN and END included)."""

    name: str
    lines: list[str]
    uid: str = ""


@dataclass
class ParsedFeed:
    """The parsed pieces of one input: calendar properties, zones and components."""

    calendar: Calendar
    timezones: list[Component] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    problems: list[Notice] = field(default_factory=list)
    past: list[tuple[str, str]] = field(default_factory=list)
    """(UID, raw DTSTART) of plain one-offs left unparsed because they are long past."""


def decode_text(data: bytes | str) -> str:
    """Decode iCalendar bytes; raise ``NotACalendarError`` for binary or empty input."""
    if isinstance(data, str):
        if len(data) > MAX_INPUT_BYTES:
            raise NotACalendarError(f"input is larger than {MAX_INPUT_BYTES // 2**20} MB")
        text = data.removeprefix("\ufeff")
    else:
        if len(data) > MAX_INPUT_BYTES:
            raise NotACalendarError(f"input is larger than {MAX_INPUT_BYTES // 2**20} MB")
        text = _decode_bytes(data)
    if not text.strip():
        raise NotACalendarError("input is empty")
    if "\x00" in text:
        raise NotACalendarError("input is binary, not iCalendar")
    head = text.lstrip()[:6].upper()
    if head != "BEGIN:":
        raise NotACalendarError("input is not iCalendar (it does not start with BEGIN:VCALENDAR)")
    return text


def _decode_bytes(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise NotACalendarError("input has a UTF-16 mark but is not UTF-16 text") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _split_lines(text: str) -> list[str]:
    """``text`` cut at every CRLF, LF or lone CR (as ``re.split(r"\r\n|\n|\r")`` cuts it,
    a third of the time): once each CRLF is an LF, every CR left is a line break of its own."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def _unfold(text: str) -> Iterator[str]:
    """Yield logical content lines (folds joined); empty lines are skipped."""
    if "\n " not in text and "\n\t" not in text and "\r " not in text and "\r\t" not in text:
        for raw in _split_lines(text):  # no folds at all: the common fast path
            if raw:
                yield raw if len(raw) <= MAX_LINE_CHARS else "\x00too-long"
        return
    pending: list[str] = []
    size = 0
    for raw in _split_lines(text):
        if raw[:1] in (" ", "\t"):
            if pending:
                size += len(raw) - 1
                if size <= MAX_LINE_CHARS + 1:
                    pending.append(raw[1:])
            continue
        if pending:
            yield "".join(pending) if size <= MAX_LINE_CHARS else "\x00too-long"
        pending, size = ([raw], len(raw)) if raw else ([], 0)
    if pending:
        yield "".join(pending) if size <= MAX_LINE_CHARS else "\x00too-long"


def _name_of(line: str) -> str:
    match = _NAME_END.search(line)
    return (line[: match.start()] if match else line).strip().upper()


def _head_name(line: str) -> str:
    """The property name of a line, looking only at its first characters (fast)."""
    return line[:24].partition(":")[0].partition(";")[0].strip().upper()


@dataclass
class Scan:
    """What the line scan found."""

    calendar_lines: list[str]
    components: list[RawComponent]
    problems: list[Notice]
    complete: int = 0  # complete components and calendars of any kind


def scan_components(text: str) -> Scan:
    """Cut unfolded text into calendar-level property lines and top-level components."""
    cal_props: list[str] = []
    complete = 0
    found: list[RawComponent] = []
    problems: list[Notice] = []
    in_calendar = False
    current: RawComponent | None = None
    depth = 0  # depth inside the current top-level component
    too_deep = False
    for line in _unfold(text):
        if line == "\x00too-long":
            problems.append(
                Notice("line_too_long", f"a content line over {MAX_LINE_CHARS} chars dropped")
            )
            continue
        # only a line starting with B or E can open or close a component
        head = line[:6].upper() if line[0] in "BbEe" else ""
        if head == "BEGIN:" or head[:4] == "END:":
            name = "BEGIN" if head == "BEGIN:" else "END"
            value = line.partition(":")[2].strip().upper()
            if name == "BEGIN":
                if current is None:
                    if value == "VCALENDAR":
                        in_calendar = True
                        continue
                    current, depth, too_deep = RawComponent(value, [line]), 1, False
                    continue
                depth += 1
                if depth + int(in_calendar) > MAX_DEPTH:
                    too_deep = True
                current.lines.append(line)
                continue
            if current is None:
                if value == "VCALENDAR" and in_calendar:
                    in_calendar = False
                    complete += 1
                continue
            current.lines.append(line)
            depth -= 1
            if depth == 0:
                complete += 1
                if too_deep:
                    problems.append(
                        Notice(
                            "too_deep",
                            f"{current.name} nested deeper than {MAX_DEPTH} levels dropped",
                            current.uid,
                        )
                    )
                elif current.name in KEPT_COMPONENTS:
                    found.append(current)
                current = None
            continue
        if current is None:
            if in_calendar:
                cal_props.append(line)
            continue
        if depth == 1 and not current.uid and line[:3].upper() == "UID" and _name_of(line) == "UID":
            current.uid = line.partition(":")[2].strip()
        current.lines.append(line)
    if current is not None:
        problems.append(
            Notice(
                "truncated", f"an unfinished {current.name} at the end dropped", current.uid
            )
        )
    if in_calendar and current is None:
        complete += 1  # only END:VCALENDAR is missing: accepted
    return Scan(cal_props, found, problems, complete)


def _parse(text: str) -> Calendar:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = Calendar.from_ical(text)
    assert isinstance(result, Calendar)
    return result


def _wrap(lines: list[str]) -> str:
    return "BEGIN:VCALENDAR\r\n" + "\r\n".join(lines) + "\r\nEND:VCALENDAR\r\n"


def _parse_component(raw: RawComponent, problems: list[Notice]) -> Component | None:
    """Parse one component; on failure drop the properties icalendar refuses."""
    try:
        return _parse(_wrap(raw.lines)).subcomponents[0]
    except Exception:  # icalendar throws ValueError, AttributeError, … on bad input
        pass
    kept: list[str] = []
    nesting: list[str] = []
    for line in raw.lines:
        name = _name_of(line)
        if name in ("BEGIN", "END"):
            value = line.partition(":")[2].strip().upper()
            if name == "BEGIN":
                nesting.append(value)
            elif nesting:
                nesting.pop()
            kept.append(line)
            continue
        probe = nesting[-1] if nesting else raw.name
        try:
            _parse(_wrap([f"BEGIN:{probe}", line, f"END:{probe}"]))
        except Exception:
            problems.append(Notice("bad_property", f"unparseable {name} dropped", raw.uid,
                                        prop=name, value=line.partition(":")[2][:200]))
            continue
        kept.append(line)
    try:
        return _parse(_wrap(kept)).subcomponents[0]
    except Exception as exc:
        problems.append(
            Notice("bad_component", f"unparseable {raw.name} dropped ({exc})", raw.uid)
        )
        return None


def _parse_calendar_props(lines: list[str], problems: list[Notice]) -> Calendar:
    try:
        return _parse(_wrap(lines))
    except Exception:
        pass
    good = []
    for line in lines:
        try:
            _parse(_wrap([line]))
        except Exception:
            problems.append(Notice("bad_property", f"unparseable {_name_of(line)} dropped"))
            continue
        good.append(line)
    return _parse(_wrap(good))


_PLAIN_START = re.compile(r"^(\d{8})(T\d{6}Z?)?$")
_SERIES_PROPS = frozenset({"RRULE", "RDATE", "EXRULE", "RECURRENCE-ID", "X-TICKWARD-MODE"})
# What BEGIN, END, those, STATUS and DTSTART can start with: ſ, ﬅ and ﬆ upper-case to S…
_LOOKED_AT = frozenset("BERXSDberxsd\u017f\ufb05\ufb06")


def _plainly_past(raw: RawComponent, before: str, uids: Counter[str]) -> str | None:
    """The raw DTSTART of a one-off VEVENT that ends before ``before`` (YYYYMMDD), else None.

    Only unambiguous cases: a unique UID, no recurrence, not cancelled, and a
    DTSTART date two days before ``now`` (no zone or all-day time reaches that far).
    """
    if raw.name != "VEVENT" or not raw.uid or uids[raw.uid] != 1:
        return None
    start = None
    depth = 0
    for line in raw.lines[1:-1]:
        if line[0] not in _LOOKED_AT and not line[0].isspace():
            continue  # no name below starts so, even upper-cased (_head_name)
        name = _head_name(line)
        if name == "BEGIN":
            depth += 1
        elif name == "END":
            depth -= 1
        elif depth == 0:
            if name in _SERIES_PROPS:
                return None
            if name == "STATUS" and "CANCELLED" in line.upper():
                return None
            if name == "DTSTART":
                start = line.rpartition(":")[2].strip()
    if start is None:
        return None
    match = _PLAIN_START.match(start)
    if match is None or match.group(1) >= before:
        return None
    return start


def parse_feed(
    data: bytes | str,
    *,
    past_before: datetime | None = None,
    prebuild: Callable[[list[str]], Component | None] | None = None,
) -> ParsedFeed:
    """Decode, scan and parse ``data``; ``NotACalendarError`` when nothing usable is in it.

    With ``past_before`` (the conversion's ``now``), plain one-off events that
    start at least two days earlier are listed in ``past`` without being parsed.
    ``prebuild`` may build a component from its unfolded lines (the converter's
    fast scanner); where it returns ``None`` icalendar parses it.
    """
    text = decode_text(data)
    scan = scan_components(text)
    cal_props, raws, problems = scan.calendar_lines, scan.components, scan.problems
    if not scan.complete:
        if problems:
            raise NotACalendarError("input is truncated or broken: no complete component in it")
        raise NotACalendarError("input is not iCalendar (no complete VCALENDAR or VEVENT)")
    calendar = _parse_calendar_props(cal_props, problems)
    feed = ParsedFeed(calendar=calendar, problems=problems)
    zones = [r for r in raws if r.name == "VTIMEZONE"]
    items = [r for r in raws if r.name != "VTIMEZONE"]
    if past_before is not None:
        before = (past_before.astimezone(UTC) - timedelta(days=2)).strftime("%Y%m%d")
        uids = Counter(r.uid for r in items)
        kept = []
        for raw in items:
            start = _plainly_past(raw, before, uids)
            if start is None:
                kept.append(raw)
            else:
                feed.past.append((raw.uid, start))
        items = kept
    # Zones first: icalendar resolves TZIDs against the VTIMEZONEs it has seen.
    for raw in zones:
        parsed = _parse_component(raw, problems)
        if parsed is not None:
            feed.timezones.append(parsed)
    built = [prebuild(r.lines) for r in items] if prebuild else [None] * len(items)
    rest = [r for r, comp in zip(items, built, strict=True) if comp is None]
    others: list[Component | None] = []
    try:
        if rest:
            others = list(_parse(_wrap([ln for r in rest for ln in r.lines])).subcomponents)
    except Exception:
        others = [_parse_component(raw, problems) for raw in rest]
    remaining = iter(others)
    for comp in built:  # the file's order: the converter groups and skips in it
        found = comp if comp is not None else next(remaining, None)
        if found is not None:
            feed.components.append(found)
    return feed
