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
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import click
import httpx
from starlette.applications import Starlette

from ical_bridge.cli import Settings
from ical_bridge.cli.common import JSON_VERSION, echo_json, project_name
from ical_bridge.cli.context import open_client
from ical_bridge.cli.logs import log_format_option, use_log_format
from ical_bridge.config import DEFAULT_ACCOUNT, BridgeConfig, TickwardConfig, load_config
from ical_bridge.daemon.accounts import AccountBridge, Fleet, account_key, account_targets
from ical_bridge.daemon.bridge import Bridge
from ical_bridge.daemon.runner import PassResult
from ical_bridge.daemon.scheduler import DEFAULT_MAINTENANCE, run_daemon, stop_on_signals
from ical_bridge.daemon.status import collect_status
from ical_bridge.metrics import FetchMetricsTransport, TickwardMetricsTransport
from ical_bridge.recurrence import format_utc
from ical_bridge.store import StateStore
from ical_bridge.store.claims import make_claims
from ical_bridge.tickward import TickwardClient
from ical_bridge.vocabulary import DEFAULT_API_URL

__all__ = [
    "account_settings",
    "client_settings",
    "daemon_command",
    "open_fleet",
    "server_app",
    "status_command",
    "sync_command",
]

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


def account_settings(
    settings: Settings, config: BridgeConfig, name: str, target: TickwardConfig
) -> Settings:
    """The client settings of one account: the default one as ``client_settings``, a named
    one from its ``[[accounts]]`` entry only (its key from its own environment variable)."""
    if name == DEFAULT_ACCOUNT:
        return client_settings(settings, config)
    return replace(
        settings, api_url=target.api_url, api_key=account_key(target, name), local=target.local
    )


@asynccontextmanager
async def open_fleet(settings: Settings, config: BridgeConfig) -> AsyncIterator[Fleet]:
    """The state store, one tickward client per account and the ``Fleet`` over them."""

    def note(message: str) -> None:
        click.echo(message, err=True)

    with StateStore(config.state.url) as store:
        claims = make_claims(config.state.url, lease=config.state.lease)
        async with AsyncExitStack() as stack:
            stack.callback(claims.close)
            clients: dict[str, TickwardClient] = {}
            transports: dict[str, httpx.AsyncBaseTransport] = {}

            def counted(name: str, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
                transports[name] = TickwardMetricsTransport(inner, name)
                return transports[name]

            for name, target in account_targets(config).items():
                client = open_client(
                    account_settings(settings, config, name, target),
                    stderr_note=note,
                    wrap=partial(counted, name),
                )
                clients[name] = await stack.enter_async_context(client)
            fetch = FetchMetricsTransport(httpx.AsyncHTTPTransport())
            stack.push_async_callback(fetch.close_inner)
            yield Fleet(
                config, store, clients, fetch_transport=fetch, transports=transports,
                claims=claims,
            )


async def _once(settings: Settings, config: BridgeConfig) -> list[PassResult]:
    async with open_fleet(settings, config) as fleet:
        results = await fleet.run_all(force=True)
        await fleet.maintain(if_older_than=DEFAULT_MAINTENANCE)
        return results


async def _forever(settings: Settings, config: BridgeConfig, *, serve: bool) -> None:
    stop = asyncio.Event()
    with stop_on_signals(stop):
        async with open_fleet(settings, config) as fleet:
            app = _feed_app(config, fleet) if serve else None
            push = _keep_webhook(config, _default_bridge(fleet)) if app is not None else None
            try:
                await run_daemon(
                    fleet.all, stop, feed_app=app, host=config.server.host, port=config.server.port
                )
            finally:
                if push is not None:
                    push.cancel()


def _default_bridge(fleet: Fleet) -> AccountBridge:
    """The default account's bridge (``[tickward]``), else the first configured account's."""
    return fleet.bridges.get(DEFAULT_ACCOUNT) or fleet.all[0]


def _push_enabled(config: BridgeConfig, bridge: Bridge) -> bool:
    """Webhook push needs a public URL and a tickward that can reach it (not the embedded one)."""
    from ical_bridge.cli.context import EMBEDDED_BASE_URL

    server = config.server
    return bool(server.public_url and server.register_webhook) and (
        bridge.client.base_url != EMBEDDED_BASE_URL
    )


def _keep_webhook(config: BridgeConfig, bridge: Bridge) -> asyncio.Task[None] | None:
    """Register the daemon's tickward webhook in the background (``[server] public_url``)."""
    if not _push_enabled(config, bridge) or config.server.public_url is None:
        return None
    from ical_bridge.daemon.webhooks import keep_registered

    server = config.server
    return asyncio.create_task(
        keep_registered(
            bridge.client, bridge.store, config.server.public_url,
            host=server.host, port=server.port,
        )
    )


def _feed_app(config: BridgeConfig, fleet: Fleet) -> Starlette | None:
    """The daemon's server, when ``[[exports]]``, webhook push or a ``[server]`` section are
    configured: the export feeds, ``/hooks/tickward``, ``/healthz``, ``/readyz``, ``/metrics``
    and the status page at ``/``."""
    push = _push_enabled(config, _default_bridge(fleet))
    if not config.exports and not push and "server" not in config.model_fields_set:
        return None
    return server_app(config, fleet)


def server_app(config: BridgeConfig, fleet: Fleet) -> Starlette:
    """The feed server of ``daemon`` and ``serve``: every export from its account's snapshot,
    ``/healthz``, ``/readyz``, ``/metrics`` and the status page at ``/``; with webhook push
    (default account only), the registered endpoints' secrets and the push handler."""
    from ical_bridge.daemon.ops import ops_routes, status_provider
    from ical_bridge.daemon.push import PushHandler
    from ical_bridge.daemon.webhooks import stored_secrets
    from ical_bridge.feeds.app import FeedHooks
    from ical_bridge.feeds.server import app_from_config
    from ical_bridge.feeds.tokens import new_token

    default = _default_bridge(fleet)
    push = _push_enabled(config, default)
    # Replicas starting together agree on one token per export (the first one's).
    default.claims.ensure_tokens({e.name: new_token() for e in config.exports})
    # One /sync snapshot per account for sync and feeds: writes show on the next request.
    return app_from_config(
        config,
        fleet.store,
        default.client,
        clock=fleet.clock,
        snapshot=default.snapshots,
        hooks=FeedHooks(
            sources={e.name: fleet.bridges[e.account].snapshots for e in config.exports},
            status_section=status_provider(fleet),
            extra_routes=ops_routes(fleet),
            first_seen=default.claims.first_seen,
            secrets=partial(stored_secrets, fleet.store) if push else None,
            on_event=PushHandler(
                default, [e.project for e in config.exports if e.account == default.account]
            ) if push else None,
        ),
    )


def _forget_validators(config: BridgeConfig) -> None:
    """``sync --full``: drop each feed's ETag, Last-Modified and content hash (once)."""
    names = {f.name for f in config.feeds}
    with StateStore(config.state.url) as store:
        for state in store.feeds():
            if state.name in names:
                store.put_feed(replace(state, etag=None, last_modified=None, content_hash=None))


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
@click.option("--full", is_flag=True, help="Ignore HTTP validators and content hashes for one "
              "pass: fetch every feed in full and re-plan it.")
@log_format_option
@click.pass_context
def sync_command(
    ctx: click.Context, config_path: Path, once: bool, as_json: bool, full: bool, log_format: str
) -> None:
    """Sync every configured feed into tickward (forever, or --once)."""
    settings: Settings = ctx.obj
    config = _checked(config_path)
    _quiet_logs(settings)
    if full:
        _forget_validators(config)
    use_log_format(log_format)
    if once:
        results = asyncio.run(_once(settings, config))
        _show_results(results, as_json)
        ctx.exit(0 if all(r.ok for r in results) else 1)
    asyncio.run(_forever(settings, config, serve=False))
    ctx.exit(0)


@click.command("daemon")
@_CONFIG
@log_format_option
@click.pass_context
def daemon_command(ctx: click.Context, config_path: Path, log_format: str) -> None:
    """Run the scheduler and the export feed server until SIGTERM/SIGINT."""
    settings: Settings = ctx.obj
    config = _checked(config_path)
    _quiet_logs(settings)
    use_log_format(log_format)
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
        click.echo(f"{f.name} [{f.health}] {f.source} → {f.project} (account {f.account})")
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
