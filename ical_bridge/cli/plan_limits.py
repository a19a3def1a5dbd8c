"""The plan-limit options shared by ``emulator`` and the embedded store (``--local``).

The defaults are ``PlanLimits``'s (``ical_bridge.localserver``), which brings
Starlette and the whole local server with it. The top-level command line lists
these options on every run, so there they only name the default in their help,
and that help looks ``PlanLimits`` up when it is shown: ``convert`` and the other
commands that never touch the store start without the local server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ical_bridge.localserver import PlanLimits

__all__ = ["LIMIT_FLAGS", "limit_options", "plan_limits"]

LIMIT_FLAGS: tuple[tuple[str, str], ...] = (
    ("--timers-per-project", "timers_per_project"),
    ("--active-timers-per-space", "active_timers_per_space"),
    ("--spaces-per-project", "spaces_per_project"),
    ("--projects", "projects"),
    ("--project-create-max-timers", "project_create_max_timers"),
    ("--project-create-max-spaces", "project_create_max_spaces"),
    ("--page-size-max", "page_size_max"),
)


def _default(field: str) -> int:
    """tickward's free-account value of one limit."""
    from ical_bridge.localserver import PlanLimits

    value: int = getattr(PlanLimits(), field)
    return value


class _DefaultInHelpOption(click.Option):
    """A limit option without a default value whose help ends with "(default N)", N read
    from ``PlanLimits`` only when the help is read (``--help``), not when the option is made."""

    _given_help: str | None
    _help_done: bool

    def __init__(self, *args: Any, field: str, **kwargs: Any) -> None:
        self._field = field
        super().__init__(*args, **kwargs)

    @property
    def help(self) -> str | None:
        """The help text given, with the default named (read on first use)."""
        if self._given_help is not None and not self._help_done:
            self._given_help = f"{self._given_help} (default {_default(self._field)})."
            self._help_done = True
        return self._given_help

    @help.setter
    def help(self, value: str | None) -> None:
        self._given_help = value
        self._help_done = False


def limit_options(*, prefix: str, show_default: bool) -> list[click.Option]:
    """One ``click.Option`` per plan limit (default: tickward's free-account value).

    ``show_default=True`` (the emulator) makes that value the option's default;
    ``show_default=False`` (the embedded store) leaves the default unset and names the
    value in the help text instead.
    """
    options: list[click.Option] = []
    for flag, field in LIMIT_FLAGS:
        kind = click.IntRange(min=1 if field == "page_size_max" else 0)
        name = f"{prefix}{field.replace('_', ' ')}"
        if show_default:
            options.append(click.Option(
                [flag], type=kind, metavar="N", default=_default(field), show_default=True,
                help=f"{name}.",
            ))  # fmt: skip
        else:
            options.append(_DefaultInHelpOption(
                [flag], type=kind, metavar="N", default=None, show_default=False, help=name,
                field=field,
            ))  # fmt: skip
    return options


def plan_limits(given: dict[str, int | None]) -> PlanLimits:
    """``PlanLimits`` with the given values, tickward's free-account values elsewhere."""
    from ical_bridge.localserver import PlanLimits

    return PlanLimits(**{k: v for k, v in given.items() if v is not None})
