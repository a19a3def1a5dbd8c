"""``ical-bridge emulator``: serve the local tickward API over HTTP."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
import platformdirs
import uvicorn

from ical_bridge.cli.plan_limits import limit_options
from ical_bridge.localserver import PlanLimits, RateLimitConfig, create_app

__all__ = ["default_db_path", "emulator", "key_file"]


def default_db_path() -> Path:
    """Where the emulator keeps its data unless ``--db`` says otherwise."""
    return Path(platformdirs.user_data_dir("ical-bridge")) / "emulator.sqlite3"


def key_file(db: Path) -> Path:
    """Where the emulator keeps the key it generated for ``db`` (so restarts keep it)."""
    return db.with_name(db.name + ".key")


def _stored_key(db: Path) -> tuple[str, str]:
    """The key generated for ``db`` earlier, else a new one saved beside it (mode 0600)."""
    path = key_file(db)
    try:
        kept = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        kept = ""
    if kept:
        return kept, f"API key: unchanged (kept in {path})"
    fresh = "tw_local_" + secrets.token_urlsafe(24)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(fresh + "\n")
    return fresh, f"API key: {fresh}\n(kept in {path}: later starts on this --db accept it)"


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8787, show_default=True,
              help="TCP port to listen on (0: any free port).")
@click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="SQLite file of the emulator (default: under the user data dir).",
)
@click.option(
    "--api-key",
    "key",
    default=None,
    help="Full-access API key to accept (default: one generated on the first start, "
    "printed once and kept beside --db).",
)
@click.option("--no-rate-limit", is_flag=True, help="Turn tickward's rate limits off.")
@click.option(
    "--allow-private-webhooks",
    is_flag=True,
    help="Accept http:// and loopback/private webhook URLs (off, as on the hosted server).",
)
@click.option(
    "--request-log",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Append one JSON line per request (times, method, path, status, correlation id).",
)
@click.option(
    "--request-delay",
    type=click.FloatRange(0, 10),
    default=0.0,
    help="With --request-log: hold each request this many seconds (a distant server).",
)
@click.pass_context
def emulator(
    ctx: click.Context,
    /,
    host: str,
    port: int,
    db: Path | None,
    key: str | None,
    no_rate_limit: bool,
    allow_private_webhooks: bool,
    request_log: Path | None,
    request_delay: float,
    **limits: int,
) -> None:
    """Serve a local tickward-compatible API at http://HOST:PORT/api/v1."""
    path = db or default_db_path()
    api_key, note = key, None
    if api_key is None:
        api_key, note = _stored_key(path)
    app = create_app(
        path,
        api_keys={api_key: "full_access"},
        rate_limit=None if no_rate_limit else RateLimitConfig(),
        plan=PlanLimits(**limits),
        allow_private_webhooks=allow_private_webhooks,
    )
    if request_log is not None:
        from ical_bridge.localserver.request_log import RequestLog

        app.add_middleware(RequestLog, path=request_log, delay=request_delay)
    click.echo(f"tickward emulator: http://{host}:{port}/api/v1 (data: {path})")
    if note is not None:
        click.echo(note)
    verbose = int(getattr(ctx.obj, "verbose", 0) or 0)
    uvicorn.run(app, host=host, port=port, log_level="info" if verbose else "warning")


emulator.params.extend(limit_options(prefix="Plan limit: ", show_default=True))
