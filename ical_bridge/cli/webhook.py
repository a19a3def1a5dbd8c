"""``ical-bridge webhook register|rotate --config F``: the daemon's tickward webhook.

The daemon registers and keeps its webhook by itself when ``[server]
public_url`` is set; ``register`` does the same once (for a check), ``rotate``
replaces the endpoint's signing secret (a new endpoint, verified with a test
delivery to the running daemon, then the old one deleted). Exit 0 when the
endpoint is registered and accepted its test delivery, 1 when it was
registered but the test did not arrive, 2 for a config without ``public_url``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from ical_bridge.cli import Settings
from ical_bridge.cli.common import echo_json
from ical_bridge.errors import UserError

__all__ = ["webhook_group"]

_CONFIG = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The TOML config file ([server] public_url, [tickward], [state]).",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


async def _run(settings: Settings, config_path: Path, *, rotate: bool, wait: float) -> object:
    from ical_bridge.cli.context import EMBEDDED_BASE_URL, open_client
    from ical_bridge.cli.sync import client_settings
    from ical_bridge.config import load_config
    from ical_bridge.daemon.webhooks import ensure_webhook, rotate_webhook
    from ical_bridge.store import StateStore

    config = load_config(config_path)
    public_url = config.server.public_url
    if not public_url:
        raise UserError(f"{config_path}: [server] public_url is not set (tickward needs it)")

    def note(message: str) -> None:
        click.echo(message, err=True)

    with StateStore(config.state.url) as store:
        async with open_client(client_settings(settings, config), stderr_note=note) as client:
            if client.base_url == EMBEDDED_BASE_URL:
                raise UserError("the embedded local store sends no webhooks; set an API key")
            if rotate:
                return await rotate_webhook(client, store, public_url, wait=wait)
            return await ensure_webhook(client, store, public_url, wait=wait)


def _report(ctx: click.Context, outcome: object, as_json: bool) -> None:
    from ical_bridge.daemon.webhooks import WebhookOutcome

    assert isinstance(outcome, WebhookOutcome)
    if as_json:
        echo_json(
            {
                "action": outcome.action,
                "endpoint_id": outcome.endpoint_id,
                "url": outcome.url,
                "verified": outcome.verified,
                "message": outcome.message or None,
            }
        )
    else:
        click.echo(f"webhook {outcome.action}: {outcome.endpoint_id or '-'} → {outcome.url}")
        if outcome.verified is True:
            click.echo("test delivery accepted")
        elif outcome.verified is False:
            click.echo("test delivery NOT accepted: is the daemon running and reachable at "
                       "[server] public_url?", err=True)
        if outcome.message:
            click.echo(outcome.message, err=True)
    if outcome.action == "no_slot" or outcome.verified is False:
        ctx.exit(1)


@click.group("webhook")
def webhook_group() -> None:
    """Register the daemon's tickward webhook, or rotate its signing secret."""


@webhook_group.command("register")
@_CONFIG
@_JSON
@click.option("--wait", default=15.0, show_default=True, help="Seconds to wait for the test.")
@click.pass_context
def register_command(ctx: click.Context, config_path: Path, as_json: bool, wait: float) -> None:
    """Make sure the webhook exists and points at public_url, then send it a test event."""
    settings: Settings = ctx.obj
    _report(ctx, asyncio.run(_run(settings, config_path, rotate=False, wait=wait)), as_json)


@webhook_group.command("rotate")
@_CONFIG
@_JSON
@click.option("--wait", default=15.0, show_default=True, help="Seconds to wait for the test.")
@click.pass_context
def rotate_command(ctx: click.Context, config_path: Path, as_json: bool, wait: float) -> None:
    """Give the webhook a new signing secret (new endpoint, tested, old one deleted)."""
    settings: Settings = ctx.obj
    _report(ctx, asyncio.run(_run(settings, config_path, rotate=True, wait=wait)), as_json)
