"""``ical-bridge convert``: show offline which timers a calendar would become."""

from __future__ import annotations

import os
import sys
from collections import Counter
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

import click

from ical_bridge.cli.codes import explain_option
from ical_bridge.cli.common import (
    event_choice_options,
    parse_window,
    read_calendar,
    strategy_option,
)
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


def _console() -> Console:
    """stdout; its width is the terminal's, else ``COLUMNS``, else 160 (piped: no squeezing)."""
    from rich.console import Console  # only the table needs rich (--json starts faster)

    console = Console(file=sys.stdout, soft_wrap=False)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        console = Console(file=sys.stdout, soft_wrap=False, width=160)
    return console


def timer_table(result: ConversionResult, width: int) -> Table:
    """The timers as a table that fits ``width`` columns: zones, times, strategies and codes
    are never broken; labels wrap (or are cut with …). Narrow: the zone goes under the time,
    one code per line."""
    from rich.console import Console
    from rich.measure import Measurement

    wide = _timer_table(result, compact=False)
    if Measurement.get(Console(width=10_000), Console(width=10_000).options,
                       wide).maximum <= width:
        return wide
    return _timer_table(result, compact=True)


def _timer_table(result: ConversionResult, *, compact: bool) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=result.calendar.name or "Timers", title_justify="left",
                  box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
                  show_edge=not compact, pad_edge=not compact)
    table.add_column("Label", overflow="ellipsis", min_width=8)  # wraps between words
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
        when = _local(draft.next_occurrence, timer["timezone"])
        codes = list(dict.fromkeys(w.code for w in draft.warnings))
        if compact:
            cells = [when + "\n" + timer["timezone"]]
        else:
            cells = [when, timer["timezone"]]
        table.add_row(Text(timer["label"]), *cells, strategy,
                      ("\n" if compact else ", ").join(codes))
    return table


def _print_table(result: ConversionResult, verbose: int, zone_note: str = "",
                 index: EventIndex | None = None) -> None:
    from ical_bridge.cli.events import iso_dates, skip_line

    console = _console()
    table = timer_table(result, console.width)
    console.print(table)
    counts = Counter(s.code for s in result.skipped)
    summary = ", ".join(f"{n} {code}" for code, n in sorted(counts.items())) or "none"
    console.print(f"{len(result.timers)} timer(s); skipped: {summary}", markup=False)
    if zone_note:
        console.print(zone_note, markup=False)
    for skipped in result.skipped:
        if verbose or skipped.warnings:  # an event's own problem is shown without -v
            codes = ", ".join(dict.fromkeys(w.code for w in skipped.warnings))
            console.print(
                f"  skipped {skip_line(skipped, index or {})}" + (f" [{codes}]" if codes else ""),
                markup=False,
            )
    if verbose:
        for warning in result.warnings:
            console.print(f"  warning {warning.code}: {iso_dates(warning.message)}",
                          markup=False)
        if result.dropped:
            shown = ", ".join(f"{name} ×{n}" for name, n in result.dropped.items())
            console.print(f"  dropped (no tickward field): {shown}", markup=False)
    elif result.warnings:
        console.print(f"{len(result.warnings)} feed warning(s); -v lists them", markup=False)
    if result.warnings or result.skipped or any(d.warnings for d in result.timers):
        console.print("--explain CODE says what a code means and what to do", markup=False)


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
    from ical_bridge.convert import ImportOptions, convert_calendar, to_json_text
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
    result = convert_calendar(data, options)
    if as_json:
        click.echo(to_json_text(result))  # what echo_json(to_json(result)) prints
        return
    verbose += getattr(ctx.obj, "verbose", 0) if ctx.obj is not None else 0
    _print_table(result, verbose, _zone_note(result, options.default_tz, local),
                 event_index(data))

