"""``ical-bridge convert``: show offline which timers a calendar would become."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import click

from ical_bridge.clock import SystemClock
from ical_bridge.convert import ConversionResult, ImportOptions, convert_calendar, to_json
from ical_bridge.convert.zones import iana_name
from ical_bridge.errors import UserError
from ical_bridge.ingest.decode import MAX_INPUT_BYTES
from ical_bridge.recurrence import zone

__all__ = ["convert_command", "parse_now", "parse_window"]

_WINDOW = re.compile(r"^\s*(\d+)\s*([dwh]?)\s*$")
_STRATEGIES = ("auto", "single", "native", "split", "rolling", "expand")


def parse_window(text: str) -> timedelta:
    """``90d``, ``12w``, ``36h`` or a bare number of days."""
    match = _WINDOW.match(text)
    if not match:
        raise click.BadParameter(f"{text!r}: use e.g. 90d, 12w or 36h", param_hint="--window")
    n, unit = int(match.group(1)), match.group(2) or "d"
    return {"d": timedelta(days=n), "w": timedelta(weeks=n), "h": timedelta(hours=n)}[unit]


def parse_now(text: str) -> datetime:
    """An ISO 8601 instant; a value without offset is read as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-11-22T12:00:00Z)", param_hint="--now"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _read(source: str) -> bytes:
    if "://" in source:
        from ical_bridge.ingest.fetch import read_source  # another engineer's module

        return read_source(source, max_bytes=MAX_INPUT_BYTES)
    if source == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    else:
        path = Path(source).expanduser()
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise UserError(f"cannot read {source}: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise UserError(f"{source}: larger than {MAX_INPUT_BYTES // 2**20} MB")
    return data


def _local(instant: datetime, zone_name: str) -> str:
    try:
        return instant.astimezone(zone(zone_name)).strftime("%a %Y-%m-%d %H:%M %Z")
    except KeyError:
        return instant.strftime("%a %Y-%m-%d %H:%M UTC")


def _print_table(result: ConversionResult, verbose: int) -> None:
    from rich.console import Console  # only the table needs rich (--json starts faster)
    from rich.table import Table

    console = Console(file=sys.stdout, soft_wrap=False)
    if not console.is_terminal:  # piped or captured: do not squeeze labels into 80 columns
        console = Console(file=sys.stdout, soft_wrap=False, width=160)
    table = Table(title=result.calendar.name or "Timers", title_justify="left")
    for column in ("Label", "Next (local)", "Zone", "Strategy", "Warnings"):
        table.add_column(column, overflow="fold")
    for draft in result.timers:
        timer = draft.timer
        strategy = draft.strategy
        if timer.get("recurrence"):
            strategy += f" ({timer['recurrence']['type']})"
        table.add_row(
            timer["label"],
            _local(draft.next_occurrence, timer["timezone"]),
            timer["timezone"],
            strategy,
            ", ".join(dict.fromkeys(w.code for w in draft.warnings)),
        )
    console.print(table)
    counts = Counter(s.code for s in result.skipped)
    summary = ", ".join(f"{n} {code}" for code, n in sorted(counts.items())) or "none"
    console.print(f"{len(result.timers)} timer(s); skipped: {summary}", markup=False)
    if verbose:
        for skipped in result.skipped:
            console.print(
                f"  skipped {skipped.uid}: {skipped.code} — {skipped.message}", markup=False
            )
        for warning in result.warnings:
            console.print(f"  warning {warning.code}: {warning.message}", markup=False)
        if result.dropped:
            shown = ", ".join(f"{name} ×{n}" for name, n in result.dropped.items())
            console.print(f"  dropped (no tickward field): {shown}", markup=False)
    elif result.warnings:
        console.print(f"{len(result.warnings)} feed warning(s); -v lists them", markup=False)


@click.command("convert")
@click.argument("source")
@click.option("--now", "now_text", default=None, help="Pretend it is this instant (ISO 8601).")
@click.option("--tz", "tz", default=None, help="Zone for floating times and all-day dates.")
@click.option(
    "--strategy", type=click.Choice(_STRATEGIES), default="auto", show_default=True,
    help="How recurring series become timers.",
)  # fmt: skip
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
) -> None:
    """Show the timers FILE, URL or - (stdin) would become, without writing anything."""
    now = parse_now(now_text) if now_text else SystemClock().now()
    window = parse_window(window_text)
    if tz is not None and iana_name(tz) is None:
        raise click.BadParameter(f"{tz!r} is not a known time zone", param_hint="--tz")
    try:
        at = time.fromisoformat(all_day_time)
    except ValueError:
        raise click.BadParameter(
            f"{all_day_time!r}: use HH:MM", param_hint="--all-day-time"
        ) from None
    options = ImportOptions(
        now=now, default_tz=iana_name(tz) if tz else None, strategy=strategy, window=window,
        all_day_time=at, include_todos=include_todos, source_key=_source_key(source),
        pin_priority=pin_priority,
    )  # fmt: skip
    result = convert_calendar(_read(source), options)
    if as_json:
        click.echo(json.dumps(to_json(result), ensure_ascii=False, indent=2))
        return
    verbose = getattr(ctx.obj, "verbose", 0) if ctx.obj is not None else 0
    _print_table(result, verbose)


def _source_key(source: str) -> str:
    """The same key ``import`` uses, so the printed ids are the ones it would write."""
    from ical_bridge.cli.sourcekey import source_key_for  # light: no import-command deps

    return source_key_for(source)
