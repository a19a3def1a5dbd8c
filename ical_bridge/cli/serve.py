"""``ical-bridge serve`` (the export feed server alone) and ``ical-bridge export-token``.

``serve --config F`` publishes every ``[[exports]]`` entry at
``/feeds/<token>.ics`` (see ``ical_bridge.feeds.app`` for caching, the webhook
receiver and when the index page is shown). Tokens are never printed or
logged by ``serve``; ``export-token show NAME`` prints one export's URL and
``export-token rotate NAME`` replaces its token (a running server answers the
old URL with 404 and the new one with the feed from its next request on).
"""

from __future__ import annotations

import asyncio
import difflib
from pathlib import Path

import click

from ical_bridge.cli import Settings
from ical_bridge.cli.logs import log_format_option, use_log_format
from ical_bridge.errors import UserError

__all__ = ["export_token_group", "serve_command"]

_CONFIG = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The TOML config file ([[exports]], [server], [tickward], [state]).",
)


async def _serve(settings: Settings, config_path: Path) -> None:
    from ical_bridge.cli.sync import open_fleet, server_app
    from ical_bridge.config import load_config
    from ical_bridge.feeds.server import make_server

    config = load_config(config_path)
    if not config.exports:
        raise UserError(f"{config_path}: no [[exports]] to serve")

    def note(message: str) -> None:
        click.echo(message, err=True)

    async with open_fleet(settings, config) as fleet:  # one client per account of an export
        app = server_app(config, fleet)
        host, port = config.server.host, config.server.port
        server = make_server(app, host=host, port=port)  # hardened
        note(
            f"serving {len(config.exports)} feed(s) on http://{host}:{port}; "
            "`ical-bridge export-token show NAME --config …` prints a feed's URL"
        )
        await server.serve()


@click.command("serve")
@_CONFIG
@log_format_option
@click.pass_obj
def serve_command(settings: Settings, config_path: Path, log_format: str) -> None:
    """Serve the configured [[exports]] as subscribable .ics feeds (until Ctrl-C)."""
    use_log_format(log_format)
    asyncio.run(_serve(settings, config_path))


def _export_name(config: object, name: str, config_path: Path) -> None:
    names = [e.name for e in getattr(config, "exports", [])]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        known = f" (configured: {', '.join(names)})" if names and not close else ""
        raise UserError(f"{config_path}: no export called {name!r}{hint}{known}")


def _token_command(config_path: Path, name: str, *, rotate: bool) -> None:
    from ical_bridge.config import load_config
    from ical_bridge.feeds import ensure_token, rotate_token, subscription_urls
    from ical_bridge.store import StateStore

    config = load_config(config_path)
    _export_name(config, name, config_path)
    with StateStore(config.state.url) as store:
        token = rotate_token(store, name) if rotate else ensure_token(store, name)
    https, webcal = subscription_urls(config.server.base_url, token)
    click.echo(webcal)
    click.echo(https)
    if rotate:
        click.echo(f"the old URL of {name!r} no longer works (a running server "
                   "serves only the new one from its next request)", err=True)


@click.group("export-token")
def export_token_group() -> None:
    """Show or rotate the secret URL of an export feed."""


@export_token_group.command("show")
@click.argument("name")
@_CONFIG
def show_token(name: str, config_path: Path) -> None:
    """Print the subscription URLs (webcal:// and http(s)://) of export NAME."""
    _token_command(config_path, name, rotate=False)


@export_token_group.command("rotate")
@click.argument("name")
@_CONFIG
def rotate_token_command(name: str, config_path: Path) -> None:
    """Give export NAME a new secret URL (the old one stops working) and print it."""
    _token_command(config_path, name, rotate=True)
