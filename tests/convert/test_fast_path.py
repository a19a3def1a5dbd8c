"""The fast path gives the same ``convert --json`` as the full path, on every file we have.

``ImportOptions(fast_path=False)`` forces every series through the full
expander (recurring-ical-events over widening windows); the default lets plain
series take ``convert.fastscan``. Both outputs must be identical, byte for
byte, on the shared corpus, ``sample_feeds/``, generated feeds and random
plain series in DST zones.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ical_bridge.convert import ImportOptions, convert_calendar, to_json
from ical_bridge.convert.fastscan import is_plain_series
from ical_bridge.errors import IcalBridgeError
from ical_bridge.ingest.decode import parse_feed
from tests.conftest import CORPUS, REPO, SAMPLE_FEEDS

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
FILES = sorted([*CORPUS.rglob("*.ics"), *SAMPLE_FEEDS.rglob("*.ics")])


def _json(data: bytes, *, fast: bool, now: datetime = NOW, strategy: str = "auto") -> str:
    try:
        result = convert_calendar(data, ImportOptions(now=now, fast_path=fast, strategy=strategy))
    except IcalBridgeError as exc:
        return f"{type(exc).__name__}: {exc}"
    return json.dumps(to_json(result), ensure_ascii=False, indent=2)


def _same(data: bytes, now: datetime = NOW, strategy: str = "auto") -> None:
    fast = _json(data, fast=True, now=now, strategy=strategy)
    assert fast == _json(data, fast=False, now=now, strategy=strategy)


def _bench() -> ModuleType:
    path = REPO / "tests" / "benchmarks" / "bench_convert.py"
    spec = importlib.util.spec_from_file_location("bench_convert", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_files_exist() -> None:
    assert len(FILES) > 400  # the corpus is there (a missing corpus fails, not skips)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(Path(p).relative_to(REPO.parent)))
def test_fast_and_full_path_agree_on_every_file(path: Path) -> None:
    _same(path.read_bytes())


@pytest.mark.parametrize("seed", [1, 12, 77])
def test_fast_and_full_path_agree_on_generated_feeds(seed: int) -> None:
    _same(_bench().make_feed(400, seed=seed))


def test_generated_feeds_mostly_take_the_fast_path() -> None:
    """Not a vacuous comparison: most series of the benchmark workload are plain."""
    feed = parse_feed(_bench().make_feed(400), past_before=NOW)
    by_uid: dict[str, list[object]] = {}
    for comp in feed.components:
        by_uid.setdefault(str(comp["UID"]), []).append(comp)
    series = [c for c in by_uid.values() if c[0].get("RRULE") is not None]  # type: ignore[attr-defined]
    plain = [c for c in series if is_plain_series(c, None)]  # type: ignore[arg-type]
    assert len(plain) > len(series) // 2


def _event(body: str, header: str = "") -> bytes:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" + header
        + "BEGIN:VEVENT\r\nUID:s@example.com\r\nDTSTAMP:20260101T000000Z\r\n"
        + "SUMMARY:Stand-up\r\n" + body + "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )  # fmt: skip
    return text.encode()


@pytest.mark.parametrize(
    ("body", "plain"),
    [
        ("DTSTART;TZID=Europe/Berlin:20250106T093000\r\nRRULE:FREQ=WEEKLY\r\n", True),
        ("DTSTART;TZID=Europe/Berlin:20250106T093000\r\nRRULE:FREQ=WEEKLY\r\n"
         "EXDATE;TZID=Europe/Berlin:20261207T093000\r\n", True),
        ("DTSTART;TZID=Europe/Berlin:20250106T093000\r\nRRULE:FREQ=WEEKLY\r\n"
         "EXDATE;TZID=Europe/Paris:20261207T093000\r\n", False),
        ("DTSTART;TZID=Europe/Berlin:20250106T093000\r\nRRULE:FREQ=WEEKLY\r\n"
         "EXDATE;VALUE=DATE:20261207\r\n", False),
        ("DTSTART;VALUE=DATE:20250106\r\nRRULE:FREQ=YEARLY\r\n", True),
        ("DTSTART;VALUE=DATE:20250106\r\nDTEND;VALUE=DATE:20250107\r\nRRULE:FREQ=WEEKLY\r\n",
         True),
        ("DTSTART;VALUE=DATE:20250106\r\nRRULE:FREQ=YEARLY\r\nEXDATE;VALUE=DATE:20261207\r\n",
         False),
        ("DTSTART;VALUE=DATE:20250106\r\nRRULE:FREQ=YEARLY;UNTIL=20301231\r\n", False),
        ("DTSTART;VALUE=DATE:20250106\r\nDTEND;TZID=Europe/Berlin:20250107T000000\r\n"
         "RRULE:FREQ=YEARLY\r\n", False),
        ("DTSTART;TZID=Europe/Berlin:20250106T093000\r\nRRULE:FREQ=MONTHLY;BYSETPOS=1;"
         "BYDAY=MO,TU\r\n", False),
        ("DTSTART;TZID=Europe/Berlin:20250106T093000\r\nRRULE:FREQ=WEEKLY\r\n"
         "RDATE;TZID=Europe/Berlin:20261208T093000\r\n", False),
    ],
)  # fmt: skip
def test_only_plain_series_take_the_fast_path(body: str, plain: bool) -> None:
    feed = parse_feed(_event(body))
    assert is_plain_series(feed.components, None) is plain
    _same(_event(body))


_MASTER = "DTSTART;TZID=America/New_York:20250106T093000\r\nRRULE:FREQ=DAILY\r\n"


def _override(*lines: str) -> str:
    return "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:s@example.com\r\n" + "".join(
        line + "\r\n" for line in lines
    )


@pytest.mark.parametrize(
    ("override", "plain"),
    [
        (_override("RECURRENCE-ID;TZID=America/New_York:20261123T093000",
                   "DTSTART;TZID=America/New_York:20261123T120000"), True),
        (_override("RECURRENCE-ID;TZID=America/New_York:20261123T093000",
                   "DTSTART;TZID=America/Chicago:20261123T120000"), False),
        (_override("RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=America/New_York:20261123T093000",
                   "DTSTART;TZID=America/New_York:20261123T120000"), False),
        (_override("RECURRENCE-ID;TZID=America/New_York:20261123T093000",
                   "DTSTART;TZID=America/New_York:20261123T120000", "RRULE:FREQ=WEEKLY"), False),
        (_override("RECURRENCE-ID:20261123T143000Z",
                   "DTSTART;TZID=America/New_York:20261123T120000"), False),
        # moved onto the next occurrence's instant: which comes first is the full path's call
        (_override("RECURRENCE-ID;TZID=America/New_York:20261122T093000",
                   "DTSTART;TZID=America/New_York:20261123T093000", "SUMMARY:moved"), True),
    ],
)  # fmt: skip
def test_overrides_in_the_masters_zone_take_the_fast_path(override: str, plain: bool) -> None:
    data = _event(_MASTER + override)
    feed = parse_feed(data)
    assert is_plain_series(feed.components, None) is plain
    _same(data, datetime(2026, 11, 22, 12, 0, tzinfo=UTC))


ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Santiago",
         "Asia/Tokyo", "UTC", "Europe/London"]  # fmt: skip
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def plain_series(draw: st.DrawFn) -> tuple[bytes, datetime]:
    """One plain series: DST zones (times in gaps and overlaps too), simple rule parts."""
    zone = draw(st.sampled_from(ZONES))
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.integers(0, 3)) == 0:
        parts.append(f"INTERVAL={draw(st.integers(2, 4))}")
    if freq in ("DAILY", "WEEKLY") and draw(st.booleans()):
        parts.append("BYDAY=" + ",".join(draw(st.lists(st.sampled_from(DAYS), min_size=1,
                                                       max_size=3, unique=True))))  # fmt: skip
    elif freq == "MONTHLY" and draw(st.booleans()):
        if draw(st.booleans()):
            ordinal = draw(st.sampled_from([1, 2, 3, 4, -1]))
            parts.append(f"BYDAY={ordinal}{draw(st.sampled_from(DAYS))}")
        else:
            parts.append(f"BYMONTHDAY={draw(st.sampled_from([1, 5, 15, 28, 30, 31, -1]))}")
    elif freq == "YEARLY" and draw(st.booleans()):
        parts.append(f"BYMONTH={draw(st.integers(1, 12))};BYMONTHDAY={draw(st.integers(1, 28))}")
    start = NOW - timedelta(days=draw(st.integers(-60, 1500)))
    hour = draw(st.sampled_from([0, 1, 2, 3, 9, 17, 23]))
    wall = start.replace(tzinfo=None, hour=hour, minute=draw(st.sampled_from([0, 30])))
    end = draw(st.sampled_from(["none", "count", "until"]))
    if end == "count":
        parts.append(f"COUNT={draw(st.integers(1, 400))}")
    elif end == "until":
        until = NOW + timedelta(hours=draw(st.integers(-24 * 60, 24 * 500)))
        parts.append(f"UNTIL={until:%Y%m%dT%H%M%SZ}")
    if zone == "UTC":
        start_line = f"DTSTART:{wall:%Y%m%dT%H%M%S}Z\r\n"
    else:
        start_line = f"DTSTART;TZID={zone}:{wall:%Y%m%dT%H%M%S}\r\n"
    body = start_line + f"RRULE:{';'.join(parts)}\r\n"
    now = NOW + timedelta(hours=draw(st.integers(0, 24 * 400)))
    return _event(body), now


@st.composite
def series_with_exceptions(draw: st.DrawFn) -> tuple[bytes, datetime, str]:
    """A plain series with EXDATEs and overrides around ``now``: on occurrences or beside
    them, moved earlier or later (onto another occurrence too), cancelled or not."""
    data, now = draw(plain_series())
    text = data.decode()
    start_line = next(line for line in text.split("\r\n") if line.startswith("DTSTART"))
    head, _, value = start_line.partition(":")
    param, suffix = head[len("DTSTART"):], ""
    if value.endswith("Z"):
        suffix, value = "Z", value[:-1]
    wall = datetime.strptime(value, "%Y%m%dT%H%M%S")
    step = draw(st.sampled_from([timedelta(days=1), timedelta(days=7), timedelta(days=30)]))
    near = wall + step * max(0, (now.replace(tzinfo=None) - wall) // step)

    def line(name: str, moment: datetime) -> str:
        return f"{name}{param}:{moment:%Y%m%dT%H%M%S}{suffix}\r\n"

    extra = ""
    for _ in range(draw(st.integers(0, 3))):
        shift = draw(st.sampled_from([timedelta(0), timedelta(0), timedelta(hours=1)]))
        extra += line("EXDATE", near + step * draw(st.integers(-2, 3)) + shift)
    overrides = ""
    for _ in range(draw(st.integers(0, 3))):
        named = near + step * draw(st.integers(-2, 4))
        moved = named + draw(st.sampled_from([timedelta(0), timedelta(hours=2),
                                              timedelta(hours=-3), step, -step]))  # fmt: skip
        status = "STATUS:CANCELLED\r\n" if draw(st.integers(0, 3)) == 0 else ""
        overrides += ("END:VEVENT\r\nBEGIN:VEVENT\r\nUID:s@example.com\r\n"
                      + line("RECURRENCE-ID", named) + line("DTSTART", moved)
                      + f"SUMMARY:moved\r\n{status}")  # fmt: skip
    body = text.replace("END:VEVENT\r\nEND:VCALENDAR", extra + overrides + "END:VEVENT\r\n"
                        "END:VCALENDAR")  # fmt: skip
    strategy = draw(st.sampled_from(["auto", "auto", "rolling", "expand"]))
    return body.encode(), now, strategy


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series_with_exceptions())
def test_fast_and_full_path_agree_on_series_with_exceptions(
    case: tuple[bytes, datetime, str],
) -> None:
    data, now, strategy = case
    _same(data, now, strategy=strategy)


@st.composite
def all_day_series(draw: st.DrawFn) -> tuple[bytes, datetime, str, str | None]:
    """A plain all-day series (birthdays, holidays, weekly rubbish days), read in a zone of
    the calendar's, the user's or none."""
    data, now = draw(plain_series())
    lines = data.decode().split("\r\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("DTSTART"))
    day = datetime.strptime(lines[at].rpartition(":")[2][:8], "%Y%m%d").date()
    lines[at] = f"DTSTART;VALUE=DATE:{day:%Y%m%d}"
    rule = next(i for i, line in enumerate(lines) if line.startswith("RRULE"))
    lines[rule] = ";".join(p for p in lines[rule].split(";") if not p.startswith("UNTIL"))
    if draw(st.booleans()):
        end = day + timedelta(days=draw(st.integers(1, 3)))
        lines.insert(at + 1, f"DTEND;VALUE=DATE:{end:%Y%m%d}")
    header = draw(st.sampled_from(["", "X-WR-TIMEZONE:Pacific/Auckland\r\n",
                                   "X-WR-TIMEZONE:America/Los_Angeles\r\n"]))  # fmt: skip
    text = "\r\n".join(lines).replace("PRODID:-//t//EN\r\n", "PRODID:-//t//EN\r\n" + header)
    strategy = draw(st.sampled_from(["auto", "auto", "rolling", "expand"]))
    tz = draw(st.sampled_from([None, "Asia/Tokyo", "America/New_York"]))
    return text.encode(), now, strategy, tz


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(all_day_series(), st.sampled_from(["00:00", "09:00", "23:30"]))
def test_fast_and_full_path_agree_on_all_day_series(
    case: tuple[bytes, datetime, str, str | None], all_day_time: str
) -> None:
    from datetime import time

    data, now, strategy, tz = case
    assert is_plain_series(parse_feed(data).components, None)  # the fast path is taken

    def run(fast: bool) -> str:
        options = ImportOptions(now=now, fast_path=fast, strategy=strategy, default_tz=tz,
                                all_day_time=time.fromisoformat(all_day_time))  # fmt: skip
        return json.dumps(to_json(convert_calendar(data, options)), indent=2)

    assert run(True) == run(False)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_series())
def test_fast_and_full_path_agree_on_random_plain_series(case: tuple[bytes, datetime]) -> None:
    data, now = case
    assert is_plain_series(parse_feed(data).components, None)  # the fast path is taken
    _same(data, now)


def _vevents(data: bytes) -> list[list[str]]:
    from ical_bridge.ingest.decode import decode_text, scan_components

    return [r.lines for r in scan_components(decode_text(data)).components if r.name == "VEVENT"]


def test_the_scanner_builds_what_icalendar_parses() -> None:
    """Every VEVENT the scanner accepts serialises exactly like icalendar's own parse of it."""
    import warnings

    from icalendar import Calendar

    from ical_bridge.convert.plainbuild import build_plain_event

    built = 0
    sources = [_bench().make_feed(300, seed=5), *(p.read_bytes() for p in FILES)]
    for data in sources:
        try:
            events = _vevents(data)
        except IcalBridgeError:
            continue
        for lines in events:
            mine = build_plain_event(lines)
            if mine is None:
                continue
            built += 1
            text = "BEGIN:VCALENDAR\r\n" + "\r\n".join(lines) + "\r\nEND:VCALENDAR\r\n"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs = Calendar.from_ical(text).subcomponents[0]
            assert mine.to_ical() == theirs.to_ical()
            assert _shape(mine) == _shape(theirs)
    assert built > 150


def _shape(comp: Any) -> list[Any]:
    """Everything a reader of a component can see: names in order, each value's type, its
    value (a date-time with its zone's class and key), parameters and text encoding."""
    from icalendar.prop import vRecur

    from ical_bridge.convert.plainbuild import PlainRecur

    out: list[Any] = [comp.name]
    for name, values in comp.items():
        for value in values if isinstance(values, list) else [values]:
            inner = getattr(value, "dt", value)
            zone = getattr(inner, "tzinfo", None)
            # the scanner's rules are vRecur with quicker look-ups (and nothing else)
            kind = vRecur if type(value) is PlainRecur else type(value)
            out.append((name, kind, inner if not isinstance(value, dict) else dict(value),
                        type(zone), getattr(zone, "key", None), dict(value.params),
                        getattr(value, "encoding", None)))  # fmt: skip
    return out + [_shape(sub) for sub in comp.subcomponents]


def test_the_scanner_leaves_unusual_events_to_icalendar() -> None:
    from ical_bridge.convert.plainbuild import build_plain_event

    base = ["BEGIN:VEVENT", "UID:a", "DTSTART;TZID=Europe/Berlin:20261201T090000"]
    assert build_plain_event([*base, "END:VEVENT"]) is not None
    for odd in ('SUMMARY;LANGUAGE="de":Hallo', "X-TICKWARD-MODE:since", "RDATE:20261202T090000Z",
                "DTEND;TZID=Europe/Berlin,Europe/Paris:20261201T100000", "CATEGORIES:a,b",
                "BEGIN:VTODO", "DTSTART;TZID=Europe/Berlin:2026-12-01"):  # fmt: skip
        assert build_plain_event([*base, odd, "END:VEVENT"]) is None, odd


@st.composite
def _plain_rule_text(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 5))}")
    if draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True))
        ordinal = draw(st.sampled_from(["", "", "1", "+2", "-1", "3"]))
        parts.append("BYDAY=" + ",".join(ordinal + d for d in days))
    if draw(st.booleans()):
        parts.append(f"BYMONTHDAY={draw(st.sampled_from(['1', '15', '28', '-1', '5,20']))}")
    if draw(st.booleans()):
        parts.append(f"BYMONTH={draw(st.sampled_from(['1', '3,9', '12']))}")
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(DAYS))}")
    end = draw(st.sampled_from(["", "count", "until"]))
    if end == "count":
        parts.append(f"COUNT={draw(st.integers(1, 60))}")
    elif end == "until":
        parts.append(f"UNTIL={draw(st.sampled_from(['20271231T230000Z', '20270301T000000Z']))}")
    draw(st.randoms()).shuffle(parts)
    return ";".join(parts)


@settings(max_examples=300, deadline=None)
@given(_plain_rule_text(), st.sampled_from(ZONES))
@example("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=SU", "Europe/Berlin")  # WKST picks the weeks
@example("FREQ=MONTHLY;BYDAY=-1FR;COUNT=5", "America/New_York")
@example("FREQ=YEARLY;BYMONTH=3;BYDAY=+2SU;UNTIL=20301231T000000Z", "Australia/Sydney")
def test_rules_built_from_parsed_parts_equal_dateutils_own_parse(text: str, zone: str) -> None:
    """The fast expander builds dateutil rules from icalendar's parsed parts; dateutil's
    own parser of the same text is the oracle."""
    from itertools import islice
    from zoneinfo import ZoneInfo

    from dateutil.rrule import rrulestr
    from icalendar.prop import vRecur

    from ical_bridge.convert.rulemath import make_rule

    start = datetime(2026, 1, 13, 9, 30, tzinfo=ZoneInfo(zone))
    ours = list(islice(make_rule(vRecur.from_ical(text), start), 80))
    theirs = list(islice(rrulestr(text, dtstart=start), 80))  # type: ignore[call-overload]
    assert ours == theirs


@st.composite
def _periodic_case(draw: st.DrawFn) -> tuple[str, datetime, datetime]:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 9))}")
    if draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=4, unique=True))
        parts.append("BYDAY=" + ",".join(days))
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(DAYS))}")
    if draw(st.booleans()):
        until = NOW + timedelta(hours=draw(st.integers(-24 * 30, 24 * 200)))
        parts.append(f"UNTIL={until:%Y%m%dT%H%M%SZ}")
    zone = ZoneInfo(draw(st.sampled_from([z for z in ZONES if z != "UTC"])))
    start = (NOW - timedelta(hours=draw(st.integers(-24 * 20, 24 * 900)))).astimezone(zone)
    start = start.replace(minute=draw(st.sampled_from([0, 30])), second=0, fold=0)
    after = NOW + timedelta(hours=draw(st.integers(-24 * 10, 24 * 400)))
    return ";".join(parts), start, after


@settings(max_examples=400, deadline=None)
@given(_periodic_case())
@example(("FREQ=WEEKLY;INTERVAL=3;BYDAY=SU,WE;WKST=SU", datetime(2025, 3, 5, 2, 30,
          tzinfo=ZoneInfo("Europe/Berlin")), NOW))  # fmt: skip
def test_periodic_starts_equal_dateutils(case: tuple[str, datetime, datetime]) -> None:
    """Day arithmetic for DAILY/WEEKLY rules against dateutil's own iteration (the oracle),
    across DST changes, intervals, weekdays and WKST."""
    from itertools import islice

    from dateutil.rrule import rrulestr
    from icalendar.prop import vRecur

    from ical_bridge.convert.rulemath import make_rule, periodic_starts

    text, start, after = case
    vrecur = vRecur.from_ical(text)
    theirs = rrulestr(text, dtstart=start)  # type: ignore[call-overload]
    until = make_rule(vrecur, start)._until  # type: ignore[attr-defined]
    ours = periodic_starts(vrecur, start, until, after)
    assert ours is not None
    assert list(islice(ours, 60)) == list(islice(theirs.xafter(after, inc=True), 60))


@settings(max_examples=300, deadline=None)
@given(_plain_rule_text(), st.integers(0, 900))
@example("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SA;WKST=SU;COUNT=7", 3)
@example("FREQ=DAILY;BYDAY=MO,FR;INTERVAL=3;COUNT=12", 40)
def test_a_count_rules_starts_equal_dateutils(text: str, days_back: int) -> None:
    """``counted_starts`` (day arithmetic where it can) lists what dateutil lists."""
    from dateutil.rrule import rrulestr
    from icalendar.prop import vRecur

    from ical_bridge.convert.rulemath import counted_starts

    if "COUNT" not in text or "UNTIL" in text:
        text = ";".join(p for p in text.split(";") if not p.startswith("UNTIL")) + ";COUNT=25"
    wall = datetime(2026, 11, 22, 9, 15) - timedelta(days=days_back)
    theirs = list(rrulestr(text, dtstart=wall))  # type: ignore[call-overload]
    assert counted_starts(vRecur.from_ical(text), wall) == theirs


@st.composite
def _calendar_case(draw: st.DrawFn) -> tuple[str, datetime, datetime]:
    freq = draw(st.sampled_from(["MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 5))}")
    if draw(st.booleans()):
        days = draw(st.lists(st.sampled_from([1, 2, 13, 28, 29, 30, 31, -1, -2, -30]),
                             min_size=1, max_size=3, unique=True))  # fmt: skip
        parts.append("BYMONTHDAY=" + ",".join(map(str, days)))
    if freq == "MONTHLY" and draw(st.booleans()):
        ordinal = draw(st.sampled_from(["", "1", "2", "+3", "4", "5", "-1", "-2", "-5"]))
        days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=2, unique=True))
        parts.append("BYDAY=" + ",".join(ordinal + d for d in days))
    if draw(st.booleans()):
        months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True))
        parts.append("BYMONTH=" + ",".join(map(str, months)))
    if draw(st.booleans()):
        until = NOW + timedelta(days=draw(st.integers(-40, 1500)))
        parts.append(f"UNTIL={until:%Y%m%dT%H%M%SZ}")
    zone = ZoneInfo(draw(st.sampled_from([z for z in ZONES if z != "UTC"])))
    start = (NOW - timedelta(days=draw(st.integers(-40, 2000)))).astimezone(zone)
    start = start.replace(hour=draw(st.sampled_from([0, 2, 9, 23])), minute=30, second=0)
    after = NOW + timedelta(days=draw(st.integers(-20, 800)))
    return ";".join(parts), start, after


@settings(max_examples=500, deadline=None)
@given(_calendar_case())
@example(("FREQ=MONTHLY;BYDAY=5SU", datetime(2025, 1, 5, 9, 30, tzinfo=ZoneInfo("Europe/Berlin")),
          NOW))  # fmt: skip
@example(("FREQ=YEARLY;BYMONTHDAY=31", datetime(2024, 1, 31, 9, 30,
          tzinfo=ZoneInfo("America/New_York")), NOW))  # fmt: skip
@example(("FREQ=YEARLY;INTERVAL=4", datetime(2024, 2, 29, 9, 30, tzinfo=ZoneInfo("Asia/Tokyo")),
          NOW))  # fmt: skip
def test_calendar_starts_equal_dateutils(case: tuple[str, datetime, datetime]) -> None:
    """Month arithmetic for MONTHLY/YEARLY rules against dateutil's own iteration."""
    from itertools import islice

    from dateutil.rrule import rrulestr
    from icalendar.prop import vRecur

    from ical_bridge.convert.rulemath import calendar_starts, make_rule

    text, start, after = case
    vrecur = vRecur.from_ical(text)
    ours = calendar_starts(vrecur, start, make_rule(vrecur, start)._until, after)  # type: ignore[attr-defined]
    theirs = rrulestr(text, dtstart=start).xafter(after, inc=True)  # type: ignore[union-attr]
    if ours is None:
        assert ";BYDAY=" in text and "," in text.split("BYDAY=")[1]  # mixed weekdays only
        return
    assert list(islice(ours, 40)) == list(islice(theirs, 40))


def test_values_with_the_same_parameters_share_one_read_only_object() -> None:
    from ical_bridge.convert.plainbuild import PlainBuilder

    build = PlainBuilder()
    one = build(["BEGIN:VEVENT", "UID:1", "DTSTART;TZID=Europe/Berlin:20261201T090000",
                 "SUMMARY:a", "END:VEVENT"])  # fmt: skip
    two = build(["BEGIN:VEVENT", "UID:2", "DTSTART;TZID=Europe/Berlin:20261202T090000",
                 "SUMMARY:b", "END:VEVENT"])  # fmt: skip
    assert one is not None and two is not None
    shared = one["DTSTART"].params
    assert shared is two["DTSTART"].params and dict(shared) == {"TZID": "Europe/Berlin"}
    assert one["SUMMARY"].params is two["UID"].params  # the empty set, too
    with pytest.raises(TypeError):
        shared["TZID"] = "Europe/Paris"
    with pytest.raises(TypeError):
        shared.update({"VALUE": "DATE"})
    mine = shared.copy()
    mine["TZID"] = "Europe/Paris"
    assert dict(two["DTSTART"].params) == {"TZID": "Europe/Berlin"}


_MOMENT_TEXTS = st.sampled_from(["20261201T090000", "20261201T090000Z", "20270328T023000",
                                  "20261025T023000", "20261201"])  # fmt: skip
_MOMENT_HEADS = st.sampled_from(["DTSTART", "DTSTART;TZID=Europe/Berlin",
                                 "DTSTART;TZID=America/New_York", "DTSTART;VALUE=DATE",
                                 "EXDATE;TZID=Europe/Berlin", "DTSTAMP"])  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_MOMENT_HEADS, _MOMENT_TEXTS), min_size=1, max_size=12))
def test_a_date_time_text_read_again_in_a_feed_is_icalendars_value(
    values: list[tuple[str, str]],
) -> None:
    """The scanner reads each date-time text once per TZID and feed; every later property
    with that text and TZID (another zone's, or none, is another value) still gets
    exactly the value icalendar's parser gives it: equal, same type, same zone object."""
    from icalendar import Event

    from ical_bridge.convert.plainbuild import PlainBuilder

    build = PlainBuilder()  # one per feed: every event below is of the same feed
    for index, (head, text) in enumerate(values):
        date_only = "T" not in text
        if date_only != ("VALUE=DATE" in head):
            continue  # a date without VALUE=DATE, or a date-time with it: not plain
        lines = ["BEGIN:VEVENT", f"UID:{index}", f"{head}:{text}", "END:VEVENT"]
        mine = build(lines)
        theirs = Event.from_ical("\r\n".join(lines) + "\r\n")
        name = head.split(";")[0]
        assert mine is not None
        ours = mine[name].dts[0].dt if name == "EXDATE" else mine[name].dt
        expected = theirs[name].dts[0].dt if name == "EXDATE" else theirs[name].dt
        assert type(ours) is type(expected) and ours == expected
        assert getattr(ours, "tzinfo", None) is getattr(expected, "tzinfo", None)


@settings(max_examples=300, deadline=None)
@given(_plain_rule_text(), st.integers(0, 900), st.integers(1, 40))
@example("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SA;WKST=SU;COUNT=7", 3, 7)
@example("FREQ=DAILY;BYDAY=MO,FR;INTERVAL=3;COUNT=12", 40, 12)
@example("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=5", 5, 1)  # DTSTART on a Tuesday: not a start
def test_a_count_rules_nth_start_is_dateutils(text: str, days_back: int, n: int) -> None:
    """``periodic_nth`` (the n-th start by arithmetic) is dateutil's n-th start."""
    from dateutil.rrule import rrulestr
    from icalendar.prop import vRecur

    from ical_bridge.convert.rulemath import periodic_nth

    text = ";".join(p for p in text.split(";") if not p.startswith(("UNTIL", "COUNT")))
    text += ";COUNT=40"
    wall = datetime(2026, 11, 24, 9, 15) - timedelta(days=days_back)
    theirs = list(rrulestr(text, dtstart=wall))  # type: ignore[call-overload]
    ours = periodic_nth(vRecur.from_ical(text), wall, n)
    known = ("FREQ=DAILY" in text or "FREQ=WEEKLY" in text) and "BYMONTH" not in text
    if known:  # a fixed pattern of days every period
        assert ours == theirs[n - 1]
    else:
        assert ours is None  # months and years, BYMONTH(DAY): listed as dateutil lists them


def test_quicker_look_ups_find_what_icalendar_finds() -> None:
    """``PlainEvent`` and ``PlainRecur`` answer every spelling of a name as icalendar's
    case-insensitive look-ups do."""
    from icalendar import Event
    from icalendar.prop import vRecur

    from ical_bridge.convert.plainbuild import build_plain_event

    lines = ["BEGIN:VEVENT", "UID:a", "DTSTART;TZID=Europe/Berlin:20261201T090000",
             "RRULE:FREQ=WEEKLY;BYDAY=MO,TU;COUNT=4", "END:VEVENT"]  # fmt: skip
    mine = build_plain_event(lines)
    theirs = Event.from_ical("\r\n".join(lines) + "\r\n")
    assert mine is not None
    for name in ("UID", "uid", "Uid", "DTSTART", "dtstart", "RRULE", "SUMMARY", "summary"):
        assert (name in mine) is (name in theirs)
        found, expected = mine.get(name), theirs.get(name)
        assert (found is None) is (expected is None)
        if expected is not None:
            assert found.to_ical() == expected.to_ical()
    rule, their_rule = mine["rrule"], theirs["RRULE"]
    assert isinstance(rule, vRecur)
    for part in ("FREQ", "freq", "ByDay", "BYDAY", "COUNT", "UNTIL", "until"):
        assert rule.get(part) == their_rule.get(part)
        assert (part in rule) is (part in their_rule)
        if part in their_rule:
            assert rule[part] == their_rule[part]
    with pytest.raises(KeyError):
        rule["UNTIL"]
    with pytest.raises(KeyError):
        mine["LOCATION"]


def test_a_rules_verdict_is_remembered_without_its_until() -> None:
    """``plain_rule`` remembers its verdict per rule text but judges UNTIL every time: an
    UNTIL in UTC is plain, the same instant written with an offset is not (dateutil)."""
    from icalendar.prop import vRecur

    from ical_bridge.convert.rulemath import plain_rule

    start = datetime(2026, 1, 5, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    utc = vRecur.from_ical("FREQ=WEEKLY;BYDAY=MO;UNTIL=20270101T000000Z")
    assert plain_rule(utc, start)
    offset = vRecur.from_ical("FREQ=WEEKLY;BYDAY=MO;UNTIL=20270101T000000Z")
    offset["UNTIL"] = [utc["UNTIL"][0].astimezone(ZoneInfo("Europe/Berlin"))]
    assert offset["UNTIL"][0] == utc["UNTIL"][0]  # one instant
    assert not plain_rule(offset, start)
    assert plain_rule(utc, start)
    odd = vRecur.from_ical("FREQ=WEEKLY;BYDAY=MO;UNTIL=20270101T000000Z")
    odd["BYSETPOS"] = [1]
    assert not plain_rule(odd, start)


def _expansions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The UIDs of the series the converter builds an expander for, as it converts."""
    import ical_bridge.convert.recurring as recurring

    made: list[str] = []
    original = recurring.expander_for

    def counted(components: list[Any], **kwargs: Any) -> Any:
        made.append(str(components[0]["UID"]))
        return original(components, **kwargs)

    monkeypatch.setattr(recurring, "expander_for", counted)
    return made


def test_an_exact_native_series_is_not_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A weekly series in an IANA zone, without exceptions or DST edges at its hour, is
    tickward's own weekly timer: the fast path places it without expanding it (the full path
    expands it and agrees), endless or ending by UNTIL or COUNT (its last occurrence then
    comes from the slots or day arithmetic); a COUNT no arithmetic here counts is expanded."""
    made = _expansions(monkeypatch)
    endless = _event("DTSTART;TZID=Europe/Berlin:20260105T093000\r\nRRULE:FREQ=WEEKLY\r\n")
    fast = json.loads(_json(endless, fast=True))
    assert [t["strategy"] for t in fast["timers"]] == ["native"]
    assert fast["timers"][0]["next_occurrence"] == "2026-11-23T08:30:00.000Z"  # Mon 09:30 CET
    assert made == []
    assert json.loads(_json(endless, fast=False)) == fast
    assert made == ["s@example.com"]
    made.clear()
    # the last Monday before UNTIL (Mar 1, 2027 00:00Z) is Feb 22, 09:30 CET
    ending = _event("DTSTART;TZID=Europe/Berlin:20260105T093000\r\n"
                    "RRULE:FREQ=WEEKLY;UNTIL=20270301T000000Z\r\n")  # fmt: skip
    fast = json.loads(_json(ending, fast=True))
    assert [t["strategy"] for t in fast["timers"]] == ["native"]
    assert "the series ends 2027-02-22T08:30:00.000Z;" in str(fast["timers"][0]["warnings"])
    assert made == []
    assert json.loads(_json(ending, fast=False)) == fast
    made.clear()
    # the 60th Monday from Jan 5, 2026 is Feb 22, 2027 too
    counted = _event("DTSTART;TZID=Europe/Berlin:20260105T093000\r\nRRULE:FREQ=WEEKLY;COUNT=60\r\n")
    fast = json.loads(_json(counted, fast=True))
    assert "the series ends 2027-02-22T08:30:00.000Z;" in str(fast["timers"][0]["warnings"])
    assert made == []
    assert json.loads(_json(counted, fast=False)) == fast
    made.clear()
    by_day = _event("DTSTART;TZID=Europe/Berlin:20260115T093000\r\n"
                    "RRULE:FREQ=MONTHLY;BYMONTHDAY=15;COUNT=20\r\n")  # fmt: skip
    assert [t["strategy"] for t in json.loads(_json(by_day, fast=True))["timers"]] == ["native"]
    assert made == ["s@example.com"]  # no arithmetic names its last start: expanded


def test_generated_feeds_mostly_skip_the_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a vacuous shortcut: of the benchmark workload's series, the exact native ones
    (about half) are placed without an expander; the full path expands every one."""
    made = _expansions(monkeypatch)
    feed = _bench().make_feed(400)
    fast = _json(feed, fast=True)
    skipped = len(made)
    made.clear()
    assert _json(feed, fast=False) == fast
    assert made and skipped < len(made) * 0.7


def test_a_start_within_a_minute_of_now_is_expanded() -> None:
    """A start with seconds is an RFC occurrence that tickward places on the whole minute:
    seconds after that minute (now), tickward's first occurrence is a week later and the
    series' is in 20 seconds, so it stays rolling on the fast path too."""
    data = _event("DTSTART;TZID=Europe/Berlin:20261122T130030\r\nRRULE:FREQ=WEEKLY\r\n")
    now = datetime(2026, 11, 22, 12, 0, 10, tzinfo=UTC)
    fast = json.loads(_json(data, fast=True, now=now))
    assert fast == json.loads(_json(data, fast=False, now=now))
    (timer,) = fast["timers"]
    assert timer["strategy"] == "rolling"
    assert timer["next_occurrence"] == "2026-11-22T12:00:30.000Z"


@pytest.mark.parametrize("until", ["20270301T000000", "20270301", "20270301T000000Z"])
def test_a_series_ending_by_until_agrees_whatever_the_until(until: str) -> None:
    """UNTIL as RFC 5545 wants it with a zoned DTSTART (UTC), and as producers also write it
    (floating, or a date): the fast path's series end is the full path's each time."""
    data = _event(f"DTSTART;TZID=America/New_York:20260105T233000\r\n"
                  f"RRULE:FREQ=DAILY;UNTIL={until}\r\n")  # fmt: skip
    fast = json.loads(_json(data, fast=True))
    assert fast == json.loads(_json(data, fast=False))
    assert [t["strategy"] for t in fast["timers"]] == ["native"]
