"""``ical-bridge convert``: show offline which timers a calendar would become."""

from __future__ import annotations

import os
import sys
from collections import Counter
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, NamedTuple

import click

from ical_bridge.cli.codes import explain_option
from ical_bridge.cli.common import (
    event_choice_options,
    parse_window,
    read_calendar,
    strategy_option,
)
from ical_bridge.cli.progressline import ProgressLine, progress_label
from ical_bridge.clock import SystemClock, system_zone
from ical_bridge.ingest.sourcekey import source_key_for
from ical_bridge.recurrence import zone
from ical_bridge.timezones import describe_zone

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from ical_bridge.cli.events import EventIndex
    from ical_bridge.convert import ConversionResult
    from ical_bridge.convert.choices import EventChoices

# The converter (icalendar and friends) is imported when a calendar is converted, and rich
# only for the table: `convert --help` and `import` (which shares parse_all_day_time) stay light.

__all__ = ["convert_command", "parse_all_day_time", "parse_now", "timer_table"]


def parse_now(text: str) -> datetime:
    """An ISO 8601 instant; a value without offset is read as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-11-22T12:00:00Z)", param_hint="--now"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_all_day_time(text: str) -> time:
    """``--all-day-time HH:MM``."""
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r}: use HH:MM", param_hint="--all-day-time") from None


def _local(instant: datetime, zone_name: str) -> str:
    try:
        return instant.astimezone(zone(zone_name)).strftime("%a %Y-%m-%d %H:%M %Z")
    except KeyError:
        return instant.strftime("%a %Y-%m-%d %H:%M UTC")


def _zone_note(result: ConversionResult, tz: str | None, local: str | None) -> str:
    """Which zone floating times and all-day dates were read in, and who chose it."""
    if result.calendar.timezone:
        chosen = f"{result.calendar.timezone} (the calendar's X-WR-TIMEZONE)"
    elif tz:
        chosen = f"{describe_zone(tz)} (--tz)"
    elif local:
        chosen = f"{describe_zone(local)} (this machine's zone, a guess; --tz sets another)"
    else:
        chosen = "UTC (no local zone is known; --tz sets one)"
    return f"floating and all-day times: {chosen}"


_PIPED_WIDTH = 160
"""The table's width without a terminal unless ``COLUMNS`` says: piped output is not squeezed."""


def _console() -> Console:
    """stdout; its width is the terminal's, else ``COLUMNS``, else 160 (piped: no squeezing)."""
    from rich.console import Console  # only a terminal (or what plaintable cannot draw) needs it

    console = Console(file=sys.stdout, soft_wrap=False)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        console = Console(file=sys.stdout, soft_wrap=False, width=_PIPED_WIDTH)
    return console


def _plain_width() -> int | None:
    """The width ``_console()`` has when rich would write plain text (no terminal: a pipe or
    a file), or None when it needs rich: a terminal, a setting that makes rich draw one
    (FORCE_COLOR, TTY_COMPATIBLE), an encoding without box characters, Windows, Jupyter."""
    import builtins

    out = sys.stdout
    if (out is None or sys.platform == "win32" or hasattr(builtins, "get_ipython")
            or "FORCE_COLOR" in os.environ or "TTY_COMPATIBLE" in os.environ
            or not (getattr(out, "encoding", None) or "utf-8").lower().startswith("utf")):
        return None
    try:
        if out.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() else _PIPED_WIDTH  # as rich reads COLUMNS


_LABEL_MIN_WIDTH = 8


class _Row(NamedTuple):
    label: str
    when: str
    zone: str
    strategy: str
    kind: str | None  # of recurrence
    codes: list[str]


def _rows(result: ConversionResult) -> list[_Row]:
    rows = []
    for draft in result.timers:
        timer = draft.timer
        kind = timer["recurrence"]["type"] if timer.get("recurrence") else None
        rows.append(_Row(
            timer["label"], _local(draft.next_occurrence, timer["timezone"]), timer["timezone"],
            draft.strategy, kind, list(dict.fromkeys(w.code for w in draft.warnings)),
        ))  # fmt: skip
    return rows


def _grid(rows: list[_Row], *, compact: bool) -> tuple[list[str], list[list[str]]]:
    """Headers and cells of the table. Narrow: the zone under the time, the recurrence under
    the strategy, one code per line."""
    if compact:
        return (["Label", "Next (local) / zone", "Strategy", "Warnings"],
                [[r.label, f"{r.when}\n{r.zone}",
                  r.strategy + ("" if r.kind is None else f"\n({r.kind})"), "\n".join(r.codes)]
                 for r in rows])  # fmt: skip
    return (["Label", "Next (local)", "Zone", "Strategy", "Warnings"],
            [[r.label, r.when, r.zone, r.strategy + ("" if r.kind is None else f" ({r.kind})"),
              ", ".join(r.codes)] for r in rows])  # fmt: skip


def _title(result: ConversionResult) -> str:
    return result.calendar.name or "Timers"


def timer_table(result: ConversionResult, width: int) -> Table:
    """The timers as a table that fits ``width`` columns: zones, times, strategies and codes
    are never broken; labels wrap (or are cut with …). Narrow: the zone goes under the time,
    one code per line."""
    from rich.console import Console
    from rich.measure import Measurement

    rows = _rows(result)
    wide = _timer_table(result, rows, compact=False)
    if Measurement.get(Console(width=10_000), Console(width=10_000).options,
                       wide).maximum <= width:
        return wide
    return _timer_table(result, rows, compact=True)


def _timer_table(result: ConversionResult, rows: list[_Row], *, compact: bool) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    headers, cells = _grid(rows, compact=compact)
    table = Table(title=Text(_title(result)), title_justify="left",  # a name, not markup
                  box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
                  show_edge=not compact, pad_edge=not compact)
    table.add_column(headers[0], overflow="ellipsis", min_width=_LABEL_MIN_WIDTH)  # wraps
    for header in headers[1:]:
        table.add_column(header, no_wrap=True)
    for label, *others in cells:
        table.add_row(Text(label), *others)
    return table


def _plain_table(result: ConversionResult, width: int) -> str | None:
    """``print(timer_table(result, width))`` on a console without a terminal, without rich;
    None when even the compact table would wrap a label, or rich must draw it for another
    reason (``plaintable``)."""
    from ical_bridge.cli.plaintable import plain_table, table_width

    rows = _rows(result)
    for compact in (False, True):  # timer_table's choice: the wide table if it fits
        headers, cells = _grid(rows, compact=compact)
        natural = table_width(headers, cells, compact=compact, first_min=_LABEL_MIN_WIDTH)
        if natural is None:
            return None
        if natural <= width:
            return plain_table(_title(result), headers, cells, compact=compact, width=width,
                               first_min=_LABEL_MIN_WIDTH)
    return None


def _after_table(result: ConversionResult, verbose: int, zone_note: str,
                 index: EventIndex | None) -> list[str]:
    """The lines under the table: counts, the zone note, skipped events, warnings, hints."""
    from ical_bridge.cli.events import iso_dates, skip_line

    counts = Counter(s.code for s in result.skipped)
    summary = ", ".join(f"{n} {code}" for code, n in sorted(counts.items())) or "none"
    lines = [f"{len(result.timers)} timer(s); skipped: {summary}"]
    if zone_note:
        lines.append(zone_note)
    for skipped in result.skipped:
        if verbose or skipped.warnings:  # an event's own problem is shown without -v
            codes = ", ".join(dict.fromkeys(w.code for w in skipped.warnings))
            lines.append(
                f"  skipped {skip_line(skipped, index or {})}" + (f" [{codes}]" if codes else "")
            )
    if verbose:
        for warning in result.warnings:
            lines.append(f"  warning {warning.code}: {iso_dates(warning.message)}")
        if result.dropped:
            shown = ", ".join(f"{name} ×{n}" for name, n in result.dropped.items())
            lines.append(f"  dropped (no tickward field): {shown}")
    elif result.warnings:
        lines.append(f"{len(result.warnings)} feed warning(s); -v lists them")
    if result.warnings or result.skipped or any(d.warnings for d in result.timers):
        lines.append("--explain CODE says what a code means and what to do")
    return lines


def _print_table(result: ConversionResult, verbose: int, zone_note: str = "",
                 index: EventIndex | None = None) -> None:
    lines = _after_table(result, verbose, zone_note, index)
    width = _plain_width()
    if width is not None:
        from ical_bridge.cli.plaintable import plain_lines

        table = _plain_table(result, width)
        after = plain_lines(lines, width)
        if table is not None and after is not None:  # rich's bytes, ~30 ms sooner (issue 12)
            sys.stdout.write(table + after)  # a closed pipe: click ends quietly with 1, as rich
            sys.stdout.flush()
            return
    console = _console()
    console.print(timer_table(result, console.width))
    for line in lines:
        console.print(line, markup=False)


@click.command("convert")
@explain_option
@click.argument("source")
@click.option("--now", "now_text", default=None, help="Pretend it is this instant (ISO 8601).")
@click.option("--tz", "tz", default=None, help="Zone for floating times and all-day dates.")
@strategy_option
@click.option(
    "--window",
    "window_text",
    default="90d",
    show_default=True,
    help="How far ahead one-offs and expansions are taken (e.g. 90d, 12w).",
)
@click.option(
    "--all-day-time",
    default="00:00",
    show_default=True,
    help="Local time given to all-day events (HH:MM).",
)
@click.option("--include-todos", is_flag=True, help="Also turn VTODOs with DUE into timers.")
@click.option("--pin-priority", is_flag=True, help="Pin timers of events with PRIORITY 1-4.")
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON contract.")
@click.option("-v", "--verbose", count=True, help="List skipped events and feed warnings.")
@event_choice_options
@click.pass_context
def convert_command(
    ctx: click.Context,
    source: str,
    now_text: str | None,
    tz: str | None,
    strategy: str,
    window_text: str,
    all_day_time: str,
    include_todos: bool,
    pin_priority: bool,
    as_json: bool,
    verbose: int,
    choices: EventChoices,
) -> None:
    """Show the timers FILE, URL or - (stdin) would become, without writing anything."""
    from ical_bridge.cli.events import event_index
    from ical_bridge.convert import ImportOptions, convert_calendar
    from ical_bridge.convert.jsonout import json_pieces
    from ical_bridge.convert.zones import iana_name

    clock = getattr(ctx.obj, "clock", None) or SystemClock()
    now = parse_now(now_text) if now_text else clock.now()
    window = parse_window(window_text)
    if tz is not None and iana_name(tz) is None:
        raise click.BadParameter(f"{tz!r} is not a known time zone", param_hint="--tz")
    at = parse_all_day_time(all_day_time)
    local = system_zone()
    options = ImportOptions(
        now=now, default_tz=iana_name(tz) if tz else None, strategy=strategy, window=window,
        all_day_time=at, include_todos=include_todos, source_key=source_key_for(source),
        pin_priority=pin_priority, local_tz=local, choices=choices,
    )  # fmt: skip
    data = read_calendar(source)
    with ProgressLine(progress_label(source)) as line:  # a terminal's stderr only
        line.reading(len(data))
        result = convert_calendar(data, options, progress=line.update)
    if as_json:
        # what echo_json(to_json(result)) prints, a timer at a time: never the whole text
        # and its copies at once (10,000 events: 5 MB of text; echo adds two more)
        for piece in json_pieces(result):
            sys.stdout.write(piece)
        sys.stdout.write("\n")
        sys.stdout.flush()
        return
    verbose += getattr(ctx.obj, "verbose", 0) if ctx.obj is not None else 0
    _print_table(result, verbose, _zone_note(result, options.default_tz, local),
                 event_index(data))

