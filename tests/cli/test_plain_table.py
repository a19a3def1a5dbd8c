"""``convert``'s table without a terminal is rich's, byte for byte, without importing rich.

Piped or redirected, ``convert`` draws its table with ``cli/plaintable.py`` (issue 12: rich
costs ~30 ms of a small file's run). The oracle is rich itself: ``_rich_print_table`` below
is ``_print_table`` as it was before plaintable (rich only), printing to a
``Console(file=StringIO(), width=W, soft_wrap=False)``. Every result (the shared corpus,
``sample_feeds/``, generated feeds, random labels, zones, codes and lines) at several widths
must print the same bytes through the new ``_print_table``, whichever path it takes; where
plaintable gives up, rich prints, as before.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.errors import MarkupError
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ical_bridge.cli import convert as convert_cli
from ical_bridge.cli.events import EventIndex, event_index, iso_dates, skip_line
from ical_bridge.cli.plaintable import _WIDTHS, cell_width, plain_lines
from ical_bridge.convert import ConversionResult, ImportOptions, convert_calendar
from ical_bridge.convert.model import CalendarInfo, Skipped, SourceRef, TimerDraft
from ical_bridge.errors import IcalBridgeError
from ical_bridge.ingest.decode import Notice
from tests.cli.test_startup_imports import _PROBE  # runs the CLI, notes what it imported
from tests.conftest import CORPUS, REPO, SAMPLE_FEEDS
from tests.convert.test_fast_path import _bench

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-22T12:00:00Z"
WIDTHS = (40, 60, 80, 100, 160, 200)
FILES = sorted([*CORPUS.rglob("*.ics"), *SAMPLE_FEEDS.rglob("*.ics")])


# -- the oracle: convert's table as rich printed it before plaintable ----------------------


def _rich_timer_table(result: ConversionResult, *, compact: bool) -> Table:
    # the title as text: a calendar name is no markup ("Team [/] ops" made rich fail before)
    table = Table(title=Text(result.calendar.name or "Timers"), title_justify="left",
                  box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
                  show_edge=not compact, pad_edge=not compact)  # fmt: skip
    table.add_column("Label", overflow="ellipsis", min_width=8)
    if compact:
        table.add_column("Next (local) / zone", no_wrap=True)
    else:
        table.add_column("Next (local)", no_wrap=True)
        table.add_column("Zone", no_wrap=True)
    table.add_column("Strategy", no_wrap=True)
    table.add_column("Warnings", no_wrap=True)
    for draft in result.timers:
        timer = draft.timer
        strategy = draft.strategy
        if timer.get("recurrence"):
            kind = timer["recurrence"]["type"]
            strategy += f"\n({kind})" if compact else f" ({kind})"
        when = convert_cli._local(draft.next_occurrence, timer["timezone"])
        codes = list(dict.fromkeys(w.code for w in draft.warnings))
        cells = [when + "\n" + timer["timezone"]] if compact else [when, timer["timezone"]]
        table.add_row(Text(timer["label"]), *cells, strategy,
                      ("\n" if compact else ", ").join(codes))  # fmt: skip
    return table


def _rich_print_table(result: ConversionResult, verbose: int, zone_note: str,
                      index: EventIndex, width: int) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, soft_wrap=False)
    wide = _rich_timer_table(result, compact=False)
    big = Console(width=10_000)
    fits = Measurement.get(big, big.options, wide).maximum <= width
    console.print(wide if fits else _rich_timer_table(result, compact=True))
    counts = Counter(s.code for s in result.skipped)
    summary = ", ".join(f"{n} {code}" for code, n in sorted(counts.items())) or "none"
    console.print(f"{len(result.timers)} timer(s); skipped: {summary}", markup=False)
    if zone_note:
        console.print(zone_note, markup=False)
    for skipped in result.skipped:
        if verbose or skipped.warnings:
            codes = ", ".join(dict.fromkeys(w.code for w in skipped.warnings))
            console.print(f"  skipped {skip_line(skipped, index)}"
                          + (f" [{codes}]" if codes else ""), markup=False)  # fmt: skip
    if verbose:
        for warning in result.warnings:
            console.print(f"  warning {warning.code}: {iso_dates(warning.message)}",
                          markup=False)  # fmt: skip
        if result.dropped:
            shown = ", ".join(f"{name} ×{n}" for name, n in result.dropped.items())
            console.print(f"  dropped (no tickward field): {shown}", markup=False)
    elif result.warnings:
        console.print(f"{len(result.warnings)} feed warning(s); -v lists them", markup=False)
    if result.warnings or result.skipped or any(d.warnings for d in result.timers):
        console.print("--explain CODE says what a code means and what to do", markup=False)
    return out.getvalue()


# -- the code under test, printing to a captured (non-terminal) stdout ---------------------


@pytest.fixture(autouse=True)
def _piped_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)


def _printed(result: ConversionResult, verbose: int, zone_note: str, index: EventIndex,
             width: int, capsys: pytest.CaptureFixture[str],
             monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    capsys.readouterr()
    convert_cli._print_table(result, verbose, zone_note, index)
    return capsys.readouterr().out


def _plain(result: ConversionResult, verbose: int, zone_note: str, index: EventIndex,
           width: int) -> str | None:
    """What the plain path prints, or None where it leaves the output to rich."""
    table = convert_cli._plain_table(result, width)
    after = plain_lines(convert_cli._after_table(result, verbose, zone_note, index), width)
    return None if table is None or after is None else table + after


def _same(result: ConversionResult, index: EventIndex, capsys: pytest.CaptureFixture[str],
          monkeypatch: pytest.MonkeyPatch, *, widths: tuple[int, ...] = WIDTHS,
          verbose: int = 1, zone_note: str = "floating and all-day times: UTC (--tz)",
          ) -> list[bool]:
    """The new _print_table prints rich's bytes at every width; True where plaintable drew."""
    drawn = []
    for width in widths:
        try:
            expected = _rich_print_table(result, verbose, zone_note, index, width)
        except MarkupError:  # "[/]" in a calendar name or code: rich fails, as it did before
            with pytest.raises(MarkupError):
                _printed(result, verbose, zone_note, index, width, capsys, monkeypatch)
            assert _plain(result, verbose, zone_note, index, width) is None
            drawn.append(False)
            continue
        assert _printed(result, verbose, zone_note, index, width, capsys,
                        monkeypatch) == expected, width  # fmt: skip
        plain = _plain(result, verbose, zone_note, index, width)
        assert plain is None or plain == expected, width
        drawn.append(plain is not None)
    return drawn


def _convert(data: bytes, now: datetime = NOW) -> ConversionResult | None:
    try:
        return convert_calendar(data, ImportOptions(now=now, local_tz="Europe/Berlin"))
    except IcalBridgeError:
        return None


# -- real files ----------------------------------------------------------------------------


def test_the_files_exist() -> None:
    assert len(FILES) > 400  # the corpus is there (a missing corpus fails, not skips)



@pytest.mark.parametrize("path", FILES, ids=lambda p: str(Path(p).relative_to(REPO.parent)))
def test_every_file_prints_riches_bytes(path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    data = path.read_bytes()
    result = _convert(data)
    if result is None:  # refused feeds print no table
        return
    index = event_index(data)
    _same(result, index, capsys, monkeypatch)
    _same(result, index, capsys, monkeypatch, widths=(80, 160), verbose=0, zone_note="")


@pytest.mark.parametrize(("size", "seed"), [(20, 12), (60, 1), (200, 77)])
def test_generated_feeds_print_riches_bytes_and_skip_rich(
    size: int, seed: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _bench().make_feed(size, seed=seed)
    result = _convert(data)
    assert result is not None and result.timers
    drawn = _same(result, event_index(data), capsys, monkeypatch)
    # plain labels: at 160 columns (piped, no COLUMNS) and more, one of the tables fits
    assert drawn[WIDTHS.index(160):] == [True, True]


def test_plaintable_draws_most_real_files(capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a vacuous comparison: at 160 columns plaintable, not rich, draws nearly every file."""
    drawn = []
    for path in [*SAMPLE_FEEDS.glob("*.ics"), *FILES[::10]]:
        data = path.read_bytes()
        result = _convert(data)
        if result is not None:
            drawn.append(_same(result, event_index(data), capsys, monkeypatch,
                               widths=(160,))[0])  # fmt: skip
    assert len(drawn) > 40
    assert sum(drawn) >= 0.9 * len(drawn), f"{sum(drawn)} of {len(drawn)}"


# -- random results ------------------------------------------------------------------------

_NARROW = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 -'(),.&/"
_ODD = (
    "éüßçñøÅŒ"  # Latin
    "ΑΩλжЖ"  # Greek, Cyrillic
    "–—…’“”•€™→"  # punctuation and symbols plaintable knows
    "日本語会議한국어ｶﾀカナ、"  # wide
    "\u0301\u0308"  # combining (zero width)
    "\u00ad\u200b\u200d\ufe0f"  # soft hyphen, zero-width space, joiner, variation selector
    "🎉👍🏽"  # emoji
    "\t\n\r\x07\x1b\x85\u2028\xa0\u3000"  # controls, odd spaces
    "[]:"  # markup and emoji codes
)
_labels = st.one_of(
    st.text(st.sampled_from(_NARROW), max_size=40),
    st.text(st.sampled_from(_NARROW + _ODD), max_size=40),
    st.text(st.sampled_from(_NARROW), min_size=40, max_size=140),  # compact, or wrapped
    st.text(max_size=20),
    st.sampled_from([":smile: party", "[bold]x[/bold]", ":100:", "12:00:00", "a  b ", " x"]),
)
_zones = st.sampled_from(["UTC", "Europe/Berlin", "America/Argentina/ComodRivadavia",
                          "Asia/Kolkata", "Etc/GMT+5", "Not/AZone", "Australia/Lord_Howe"])
_codes = st.lists(st.one_of(st.sampled_from(["floating_time", "rolling", "series_end_not_enforced",
                                             "all_day_zone_guessed", "dst_gap"]),
                            st.text(st.sampled_from(_NARROW + "_[]:é日"), min_size=1, max_size=30)),
                  max_size=4)  # fmt: skip
_free_text = st.one_of(st.text(st.sampled_from(_NARROW), max_size=60),
                       st.text(st.sampled_from(_NARROW + _ODD), max_size=60),
                       st.text(st.sampled_from("ab "), min_size=150, max_size=400),
                       st.text(st.sampled_from(_NARROW), min_size=150, max_size=400))


@st.composite
def _results(draw: st.DrawFn) -> tuple[ConversionResult, EventIndex]:
    timers = []
    for number in range(draw(st.integers(0, 6))):
        timer: dict[str, Any] = {"id": f"icb_{number}", "label": draw(_labels),
                                 "timezone": draw(_zones)}  # fmt: skip
        if draw(st.booleans()):
            timer["recurrence"] = {"type": draw(st.sampled_from(["weekly", "monthly", "daily"]))}
        when = NOW + timedelta(minutes=draw(st.integers(0, 60 * 24 * 400)))
        warnings = [Notice(code, "m") for code in draw(_codes)]
        strategy = draw(st.sampled_from(["single", "native", "split", "rolling", "expand"]))
        timers.append(TimerDraft(timer, SourceRef(f"u{number}", None, 0), strategy, when,
                                 warnings=warnings))  # fmt: skip
    skipped = [Skipped(draw(st.one_of(st.none(), _free_text)), draw(st.sampled_from(
        ["past", "cancelled", "ended"])), draw(_free_text), label=draw(st.one_of(
            st.none(), _labels)), warnings=tuple(Notice(c, "m") for c in draw(_codes)))
        for _ in range(draw(st.integers(0, 3)))]  # fmt: skip
    warnings = [Notice(code, draw(_free_text)) for code in draw(_codes)]
    dropped = draw(st.dictionaries(st.sampled_from(["CREATED", "TRANSP", "X-Ü"]),
                                   st.integers(1, 9), max_size=3))  # fmt: skip
    name = draw(st.one_of(st.none(), _labels, _free_text))  # long names wrap over the table
    calendar = CalendarInfo(name=name, timezone=draw(st.one_of(st.none(), _zones)))
    return ConversionResult(timers, skipped, warnings, calendar, dropped), {}


@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_results(), verbose=st.integers(0, 1), width=st.sampled_from((*WIDTHS, 20, 120)))
@example(case=(ConversionResult([], [], [], CalendarInfo()), {}), verbose=0, width=80)
def test_random_results_print_riches_bytes(
    case: tuple[ConversionResult, EventIndex], verbose: int, width: int,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    result, index = case
    _same(result, index, capsys, monkeypatch, widths=(width,), verbose=verbose)


@pytest.mark.parametrize("label", ["Réunion d’équipe – Q3 €", "週次ミーティング（東京）",
                                   "Cafe\u0301 au lait", "팀 회의 • Ωmega"])
def test_labels_of_other_scripts_are_drawn_without_rich(
    label: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    timer = {"id": "icb_1", "label": label, "timezone": "Asia/Tokyo"}
    draft = TimerDraft(timer, SourceRef("u", None, 0), "single", NOW + timedelta(days=3))
    result = ConversionResult([draft], [], [], CalendarInfo(name=label))
    assert _same(result, {}, capsys, monkeypatch, widths=(80, 100)) == [True, True]


def test_a_table_too_wide_for_the_console_is_left_to_rich(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    label = "Quarterly planning with the extended leadership team and guests"
    timer = {"id": "icb_1", "label": label, "timezone": "Europe/Berlin"}
    draft = TimerDraft(timer, SourceRef("u", None, 0), "single", NOW + timedelta(days=3))
    result = ConversionResult([draft], [], [], CalendarInfo(name="Planning"))
    assert _same(result, {}, capsys, monkeypatch, widths=(60, 160)) == [False, True]
    printed = _printed(result, 0, "", {}, 60, capsys, monkeypatch)
    assert label not in printed and "leadership" in printed and "…" not in printed  # wrapped


# -- the pieces: cell widths and wrapped lines against rich --------------------------------


def test_cell_width_counts_every_known_character_as_rich_does() -> None:
    for start, end, width in _WIDTHS:
        for code in range(start, end + 1):
            char = chr(code)
            assert cell_width(char) == width == cell_len(char), hex(code)
            for version in ("4.1.0", "9.0.0", "15.0.0", "latest"):
                assert cell_len(char, unicode_version=version) == width, (hex(code), version)
    assert cell_width("日本 ok\u0301") == cell_len("日本 ok\u0301") == 7
    for unknown in ("🎉", "\t", "\n", "\x1b", "\u200d", "\ufe0f", "\u00ad", "\U0010ffff"):
        assert cell_width("ok" + unknown) is None, repr(unknown)


def test_the_codes_times_make_name_no_emoji() -> None:
    """plaintable prints ":00:" (from "22:00:00") or "://x/1:" as it is: rich has no such emoji."""
    from rich._emoji_codes import EMOJI

    assert [name for name in EMOJI if re.fullmatch(r"[0-9]{0,2}|.*[/@].*", name)] == []
    out = io.StringIO()
    text = "at 2027-06-08T22:00:00.000Z :1: :99-text: :: http://x.org/1: 13:00Z-1@host.com: x"
    Console(file=out, width=160).print(text, markup=False)
    assert out.getvalue() == plain_lines([text], 160) == text + "\n"
    assert plain_lines([":100: :thumbs_up:"], 160) is None  # rich's emoji: rich prints them


@settings(max_examples=400, deadline=None)
@given(text=st.text(st.sampled_from("ab c—é\u00a0 "), max_size=120) | st.text(
    st.sampled_from(_NARROW + "é日\u0301"), max_size=200), width=st.integers(1, 60))
@example(text="x" * 25 + "  " + "y" * 7, width=10)
@example(text="  " + "z" * 30, width=7)
def test_long_lines_wrap_as_rich_wraps_them(text: str, width: int) -> None:
    out = io.StringIO()
    Console(file=out, width=width, soft_wrap=False).print(text, markup=False)
    plain = plain_lines([text], width)
    if cell_len(text) <= width or all(cell_width(c) == 1 for c in text):
        assert plain == out.getvalue()
    else:
        assert plain is None  # a wide or zero-width character on a wrapped line


# -- a real run: piped, it imports no rich and prints what rich printed --------------------



def _run(args: list[str], tmp_path: Path, **env: str) -> tuple[bytes, bool]:
    """The command's stdout, written to a file, and whether it imported rich."""
    modules, stdout = tmp_path / "modules.json", tmp_path / "stdout.txt"
    environ = {k: v for k, v in os.environ.items()
               if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS")}  # fmt: skip
    with stdout.open("wb") as out:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, str(modules), json.dumps(args)],
            stdout=out, stderr=subprocess.PIPE, cwd=REPO, timeout=60, check=False,
            env={**environ, **env},
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    imported = json.loads(modules.read_text())
    return stdout.read_bytes(), any(m == "rich" or m.startswith("rich.") for m in imported)


@pytest.mark.parametrize("feed", ["team_meetings.ics", "google_export_x_wr_timezone.ics"])
def test_piped_convert_imports_no_rich_and_prints_riches_table(feed: str, tmp_path: Path) -> None:
    args = ["convert", str(SAMPLE_FEEDS / feed), "--now", NOW_TEXT, "--tz", "UTC", "-v"]
    plain, plain_rich = _run(args, tmp_path)
    # TTY_COMPATIBLE=0: rich's own "not a terminal"; convert then leaves the table to rich
    drawn, drawn_rich = _run(args, tmp_path, TTY_COMPATIBLE="0")
    assert (plain_rich, drawn_rich) == (False, True)
    assert plain == drawn
    assert "━" in plain.decode() and "timer(s); skipped:" in plain.decode()
    data = (SAMPLE_FEEDS / feed).read_bytes()
    result = convert_calendar(data, ImportOptions(now=NOW, default_tz="UTC"))
    zone_note = convert_cli._zone_note(result, "UTC", None)
    assert plain.decode() == _rich_print_table(result, 1, zone_note, event_index(data), 160)


def test_piped_convert_that_must_wrap_a_label_prints_with_rich(tmp_path: Path) -> None:
    summary = "Quarterly planning with the extended leadership team, guests and advisors"
    feed = tmp_path / "long.ics"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN", "BEGIN:VEVENT",
             "UID:long@example.com", "DTSTAMP:20261101T000000Z", "DTSTART:20261201T090000Z",
             "DTEND:20261201T100000Z", f"SUMMARY:{summary}", "END:VEVENT", "END:VCALENDAR"]
    feed.write_bytes("".join(line + "\r\n" for line in lines).encode())
    args = ["convert", str(feed), "--now", NOW_TEXT, "--tz", "UTC"]
    narrow, narrow_rich = _run(args, tmp_path, COLUMNS="50")
    assert narrow_rich  # rich wraps the label
    assert narrow == _run(args, tmp_path, COLUMNS="50", TTY_COMPATIBLE="0")[0]
    assert max(len(line) for line in narrow.decode().splitlines()) <= 50
    assert summary not in narrow.decode() and "extended" in narrow.decode()
    wide, wide_rich = _run(args, tmp_path, COLUMNS="200")
    assert not wide_rich and summary in wide.decode()
    assert wide == _run(args, tmp_path, COLUMNS="200", TTY_COMPATIBLE="0")[0]


@pytest.mark.parametrize("name", ["Team [/] ops", "Ops [bold]on call[/bold]", "Party :tada:"])
def test_a_calendar_name_is_printed_as_written(name: str, tmp_path: Path) -> None:
    """A calendar's name is its text: no markup (``[/]`` made convert crash), no emoji."""
    feed = tmp_path / "named.ics"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN", f"X-WR-CALNAME:{name}",
             "BEGIN:VEVENT", "UID:n@example.com", "DTSTAMP:20261101T000000Z",
             "DTSTART:20261201T090000Z", "SUMMARY:Stand-up", "END:VEVENT", "END:VCALENDAR"]
    feed.write_bytes("".join(line + "\r\n" for line in lines).encode())
    args = ["convert", str(feed), "--now", NOW_TEXT, "--tz", "UTC"]
    plain, plain_rich = _run(args, tmp_path)
    drawn, drawn_rich = _run(args, tmp_path, TTY_COMPATIBLE="0")
    assert (plain_rich, drawn_rich) == (False, True)
    assert plain == drawn
    assert plain.decode().splitlines()[0].rstrip() == name


def test_a_closed_pipe_ends_convert_quietly_with_1_as_with_rich() -> None:
    # `convert … | head`: rich's Console exits 1 without a word; the plain path must too
    args = ["convert", str(SAMPLE_FEEDS / "team_meetings.ics"), "--now", NOW_TEXT]
    environ = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    for env in ({}, {"TTY_COMPATIBLE": "0"}):
        with subprocess.Popen([sys.executable, "-m", "ical_bridge", *args], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**environ, **env}) as proc:  # fmt: skip
            assert proc.stdout is not None and proc.stderr is not None
            proc.stdout.close()  # before the child has even imported click
            err = proc.stderr.read()
            assert (proc.wait(timeout=60), err) == (1, b""), env
