"""The command line: the only place that prints, prompts or exits.

Each sub-command lives in its own module and is registered in ``_COMMANDS``.
Exit codes everywhere: 0 success, 1 some work failed (details printed,
nothing lost), 2 bad input or usage (one clear line, no traceback).
"""

from __future__ import annotations

import gc
import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from ical_bridge import __version__
from ical_bridge.clock import Clock, SystemClock
from ical_bridge.errors import IcalBridgeError, UserError
from ical_bridge.vocabulary import DEFAULT_API_URL

__all__ = ["Settings", "cli", "main"]

# command name → (module in ical_bridge.cli, click command object in it, short help). Modules
# are imported only when their command runs, so `--help` and light commands start fast; the
# short help (the first sentence of the command's docstring, which `ical-bridge --help`
# lists) is written here too, and tests/cli/test_startup_imports.py keeps the two equal.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "convert": ("convert", "convert_command",
                "Show the timers FILE, URL or - (stdin) would become, without writing anything."),
    "daemon": ("sync", "daemon_command",
               "Run the scheduler and the export feed server until SIGTERM/SIGINT."),
    "emulator": ("emulator", "emulator",
                 "Serve a local tickward-compatible API at http://HOST:PORT/api/v1."),
    "export": ("export", "export_command",
               "Write a project's timers as an iCalendar (.ics) file."),
    "export-token": ("serve", "export_token_group",
                     "Show or rotate the secret URL of an export feed."),
    "import": ("import_", "import_command",
               "Import a calendar (FILE, URL or - for stdin) into a tickward project."),
    "serve": ("serve", "serve_command",
              "Serve the configured [[exports]] as subscribable .ics feeds (until Ctrl-C)."),
    "status": ("sync", "status_command",
               "Show each feed's last sync, next run, counts and errors, and the exports."),
    "sync": ("sync", "sync_command",
             "Sync every configured feed into tickward (forever, or --once)."),
    "unsync": ("unsync", "unsync_command",
               "Remove (archive, or --delete) everything the bridge created for a feed or "
               "project."),
    "webhook": ("webhook", "webhook_group",
                "Register the daemon's tickward webhook, or rotate its signing secret."),
}  # fmt: skip

# Commands that do one bounded piece of work and leave nothing to clean up when they return
# (no store, socket or file open). Run by main(), which owns the process, they run without
# the cycle collector (a 10,000-event convert makes ~540,000 objects and almost no cycles;
# the collector's first pass over them alone costs ~4 % of the command's CPU), and main()
# freezes what is left as they end, so the interpreter's exit skips the full collections it
# would run over every object the imports made (a fifth of a small convert). The command
# run in-process (click's test runner, a library) keeps the collector as it is.
_ONE_SHOT = frozenset({"convert"})


class _LazyGroup(click.Group):
    """A click group that imports a sub-command's module on first use."""

    ran: str | None = None
    """The sub-command this process ran (set when the command line is resolved)."""
    owns_process = False
    """True while ``main()`` runs the command line (the process ends after it)."""
    collector_paused = False
    """True when the command line switched the cycle collector off (``_ONE_SHOT``)."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        self.ran = name
        if self.owns_process and name in _ONE_SHOT and gc.isenabled():
            gc.disable()  # main() switches it back on as the process ends
            self.collector_paused = True
        return name, command, rest

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr, _ = target
        command = getattr(importlib.import_module(f"ical_bridge.cli.{module}"), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list with each whole first sentence (wrapped, never cut with "..."),
        from ``_COMMANDS``: listing the commands imports none of them."""
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@dataclass
class Settings:
    """Global options shared by every sub-command."""

    api_url: str = DEFAULT_API_URL
    api_key: str | None = None
    local: Path | None = None
    verbose: int = 0
    local_limits: dict[str, int | None] = field(default_factory=dict)  # embedded store's plan
    clock: Clock = field(default_factory=SystemClock)  # the one source of "now" for commands


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ical-bridge")
@click.option(
    "--api-url",
    envvar="TICKWARD_API_URL",
    default=DEFAULT_API_URL,
    show_default=True,
    help="tickward API base URL (env TICKWARD_API_URL).",
)
@click.option(
    "--api-key",
    envvar="TICKWARD_API_KEY",
    default=None,
    help="tickward API key (env TICKWARD_API_KEY). Without one, the embedded local store is used.",
)
@click.option(
    "--local",
    type=click.Path(path_type=Path, dir_okay=True),
    default=None,
    help="Path of the embedded local tickward store (default: under the user data dir).",
)
@click.option("-v", "--verbose", count=True, help="More detail on stderr (repeatable).")
@click.pass_context
def cli(
    ctx: click.Context, /, api_url: str, api_key: str | None, local: Path | None, verbose: int,
    **local_limits: int | None,
) -> None:
    """Bridge iCalendar feeds and tickward countdown timers."""
    if verbose or ctx.invoked_subcommand not in _SILENT:
        _log_to_stderr(verbose)
    ctx.obj = Settings(
        api_url=api_url.rstrip("/"), api_key=api_key or None, local=local, verbose=verbose,
        local_limits=local_limits,
    )


def _add_local_limits() -> None:
    # Imported here: the option list lives with the emulator's (each fact once).
    from ical_bridge.cli.plan_limits import limit_options

    cli.params.extend(limit_options(prefix="Embedded store (no --api-key): ",
                                    show_default=False))


_add_local_limits()


_SILENT = frozenset({"convert"})
"""Commands that log nothing: without ``-v`` they start without ``logging`` (a small
file's ``convert`` would spend 4 % of its time importing it)."""


def _log_to_stderr(verbose: int) -> None:
    import logging

    logging.basicConfig(
        level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx/httpcore log full request URLs at INFO; feed URLs can carry secret
    # tokens in their path or query, so their chatter stays off even with -v.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``ical-bridge`` console script."""
    cli.owns_process, cli.ran = True, None
    try:
        _main(argv)
    finally:
        cli.owns_process = False
        if cli.ran in _ONE_SHOT:  # the process ends now: its objects stay where they are
            gc.freeze()
        if cli.collector_paused:
            cli.collector_paused = False
            gc.enable()


def _main(argv: list[str] | None) -> None:
    try:
        # standalone_mode=False returns ctx.exit()'s code instead of exiting.
        rc = cli.main(args=argv, prog_name="ical-bridge", standalone_mode=False)
    except click.exceptions.Abort:  # Ctrl-C (or end of input) at a prompt
        click.echo("Interrupted: nothing was changed.", err=True)
        sys.exit(130)
    except click.BadParameter as exc:  # a wrong value: one line, not a usage block
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code == 2 else exc.exit_code)
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except IcalBridgeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) else 0)
