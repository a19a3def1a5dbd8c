"""``sync``, ``daemon`` and ``status``: keep configured feeds flowing into tickward.

``sync --config F --once`` runs one pass over every feed and exits (0 when all
went well, 1 when a feed failed); ``sync`` without ``--once`` keeps running on
the schedule; ``daemon`` does the same and also serves the ``[[exports]]`` feeds.
``status`` reads the state store and prints how each feed is doing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from starlette.applications import Starlette

from ical_bridge.cli import Settings
from ical_bridge.cli.common import JSON_VERSION, echo_json, project_name
from ical_bridge.cli.context import open_client
from ical_bridge.config import BridgeConfig, load_config
from ical_bridge.daemon.bridge import Bridge
from ical_bridge.daemon.runner import PassResult
from ical_bridge.daemon.scheduler import DEFAULT_MAINTENANCE, run_daemon, stop_on_signals
from ical_bridge.daemon.status import collect_status
from ical_bridge.recurrence import format_utc
from ical_bridge.store import StateStore
from ical_bridge.vocabulary import DEFAULT_API_URL

__all__ = ["daemon_command", "status_command", "sync_command"]

_CONFIG = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The TOML config file ([[feeds]], [[exports]], [tickward], [state], [server]).",
)


def _checked(config_path: Path) -> BridgeConfig:
    """The config, with every feed's and export's project name checked as ``--project`` is."""
    config = load_config(config_path)
    for kind, entries in (("feeds", config.feeds), ("exports", config.exports)):
        for entry in entries:
            project_name(entry.project, option=f"{config_path}: [[{kind}]] {entry.name}: project")
    return config


def client_settings(settings: Settings, config: BridgeConfig) -> Settings:
    """Global options win; otherwise the config's ``[tickward]`` section decides."""
    api_url = settings.api_url
    if api_url == DEFAULT_API_URL:
        api_url = config.tickward.api_url
    return replace(
        settings,
        api_url=api_url,
        api_key=settings.api_key or config.api_key(),
        local=settings.local or config.tickward.local,
    )


def _quiet_logs(settings: Settings) -> None:
    """Pass lines are INFO: show them by default for the long-running commands."""
    if settings.verbose == 0:
        logging.getLogger("ical_bridge.daemon").setLevel(logging.INFO)


@asynccontextmanager
async def _bridge(settings: Settings, config: BridgeConfig) -> AsyncIterator[Bridge]:
    def note(message: str) -> None:
        click.echo(message, err=True)

    with StateStore(config.state.url) as store:
        async with open_client(client_settings(settings, config), stderr_note=note) as client:
            yield Bridge(config, store, client)


async def _once(settings: Settings, config: BridgeConfig) -> list[PassResult]:
    async with _bridge(settings, config) as bridge:
        results = await bridge.run_all(force=True)
        await bridge.maintain(if_older_than=DEFAULT_MAINTENANCE)
        return results


async def _forever(settings: Settings, config: BridgeConfig, *, serve: bool) -> None:
    stop = asyncio.Event()
    with stop_on_signals(stop):
        async with _bridge(settings, config) as bridge:
            app = _feed_app(config, bridge) if serve else None
            await run_daemon(
                bridge, stop, feed_app=app, host=config.server.host, port=config.server.port
            )


def _feed_app(config: BridgeConfig, bridge: Bridge) -> Starlette | None:
    """The export feed server, when ``[[exports]]`` are configured."""
    if not config.exports:
        return None
    from ical_bridge.feeds.server import app_from_config

    # One /sync snapshot for sync and feeds: the bridge's writes show on the next request.
    return app_from_config(
        config, bridge.store, bridge.client, clock=bridge.clock, snapshot=bridge.snapshots
    )


def _show_results(results: list[PassResult], as_json: bool) -> None:
    if as_json:
        echo_json({"version": JSON_VERSION, "feeds": [_result_json(r) for r in results]})
        return
    for r in results:
        counts = " ".join(f"{k}={v}" for k, v in r.counts.items() if v and k != "unchanged")
        line = f"{r.feed}: {r.outcome}" + (f" ({counts})" if counts else "")
        click.echo(line)
        if r.error:
            click.echo(f"{r.feed}: error: {r.error}", err=True)


def _result_json(r: PassResult) -> dict[str, Any]:
    return {
        "feed": r.feed,
        "outcome": r.outcome,
        "ok": r.ok,
        "counts": r.counts,
        "requests": r.requests,
        "ms": r.ms,
        "error": r.error,
    }


@click.command("sync")
@_CONFIG
@click.option("--once", is_flag=True, help="One pass over every feed, then exit (cron-friendly).")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the results as JSON.")
@click.pass_context
def sync_command(ctx: click.Context, config_path: Path, once: bool, as_json: bool) -> None:
    """Sync every configured feed into tickward (forever, or --once)."""
    settings: Settings = ctx.obj
    config = _checked(config_path)
    _quiet_logs(settings)
    if once:
        results = asyncio.run(_once(settings, config))
        _show_results(results, as_json)
        ctx.exit(0 if all(r.ok for r in results) else 1)
    asyncio.run(_forever(settings, config, serve=False))
    ctx.exit(0)


@click.command("daemon")
@_CONFIG
@click.pass_context
def daemon_command(ctx: click.Context, config_path: Path) -> None:
    """Run the scheduler and the export feed server until SIGTERM/SIGINT."""
    settings: Settings = ctx.obj
    config = _checked(config_path)
    _quiet_logs(settings)
    asyncio.run(_forever(settings, config, serve=True))
    ctx.exit(0)


def _when(value: datetime | None) -> str:
    return format_utc(value) if value else "-"


@click.command("status")
@_CONFIG
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--show-tokens",
    is_flag=True,
    help="Include the export subscription URLs (they contain the secret feed tokens).",
)
@click.pass_context
def status_command(
    ctx: click.Context, config_path: Path, as_json: bool, show_tokens: bool
) -> None:
    """Show each feed's last sync, next run, counts and errors, and the exports."""
    config = load_config(config_path)
    with StateStore(config.state.url) as store:
        feeds, exports = collect_status(config, store, show_tokens=show_tokens)
    if as_json:
        echo_json(
            {"version": JSON_VERSION, "feeds": [f.to_json() for f in feeds],
             "exports": [e.to_json() for e in exports]}
        )
        return
    for f in feeds:
        click.echo(f"{f.name} [{f.health}] {f.source} → {f.project}")
        click.echo(
            f"  last attempt {_when(f.last_attempt)}  last success {_when(f.last_success)}"
            f"  next run {_when(f.next_run)}"
        )
        if f.counts:
            click.echo("  " + " ".join(f"{k}={v}" for k, v in sorted(f.counts.items())))
        if f.failures:
            click.echo(f"  failures in a row: {f.failures}")
        if f.last_error:
            click.echo(f"  last error: {f.last_error}")
        if f.suspicious:
            click.echo(f"  suspicious: {f.suspicious}")
    for e in exports:
        if e.url:
            shown = e.url
        elif e.has_token:
            shown = f"URL hidden (--show-tokens, or `ical-bridge export-token show {e.name}`)"
        else:
            shown = (f"(no token yet: `ical-bridge export-token show {e.name}` creates it "
                     "and prints the URL; so does starting the daemon or serve)")
        click.echo(f"export {e.name} ({e.project}): {shown}")
