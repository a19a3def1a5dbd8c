"""The README's command tour names only options the commands accept, and every option of
the documented commands (issue 11: "The README's command tour matches what the commands
accept")."""

from __future__ import annotations

import re

import click

from ical_bridge.cli import cli
from tests.conftest import REPO

# Options the tour groups under a name instead of listing them one by one.
GROUPED = {
    "conversion options": {"--tz", "--strategy", "--window", "--include-todos",
                           "--all-day-time", "--pin-priority",
                           # "the reminder, notify, filter and target options below"
                           "--reminders", "--all-day-reminders", "--alarms", "--notify",
                           "--include", "--exclude", "--include-category",
                           "--exclude-category", "--after", "--before", "--target"},
    "plan limits": {"--timers-per-project", "--active-timers-per-space", "--spaces-per-project",
                    "--projects", "--project-create-max-timers", "--project-create-max-spaces",
                    "--page-size-max"},
}
ALWAYS = {"--help", "-h", "--verbose", "-v"}


def _options(command: click.Command) -> set[str]:
    return {opt for p in command.params if isinstance(p, click.Option) for opt in p.opts}


def _tour() -> list[tuple[str, str]]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    lines = re.findall(r"\*\*`ical-bridge ([a-z-]+)([^`]*)`\*\*", readme)
    assert len(lines) >= 8
    return lines


def test_every_option_in_the_tour_exists() -> None:
    ctx = click.Context(cli)
    for name, usage in _tour():
        command = cli.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            continue
        named = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", usage))
        assert named <= _options(command), (name, named - _options(command))


def test_every_option_of_a_command_is_in_its_tour_line() -> None:
    ctx = click.Context(cli)
    for name, usage in _tour():
        command = cli.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            continue
        named = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", usage))
        for group, members in GROUPED.items():
            if group in usage:
                named |= members
        missing = [p.opts[0] for p in command.params if isinstance(p, click.Option)
                   and not (set(p.opts) & (named | ALWAYS))]
        assert not missing, (name, sorted(missing))


def test_every_grouped_option_is_described_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for group, members in GROUPED.items():
        assert group in readme.casefold(), group
        missing = [m for m in sorted(members) if f"`{m}" not in readme]
        assert not missing, (group, missing)
