"""The plan-limit options shared by ``emulator`` and the embedded store (``--local``)."""

from __future__ import annotations

import click

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
_DEFAULTS = PlanLimits()


def limit_options(*, prefix: str, show_default: bool) -> list[click.Option]:
    """One ``click.Option`` per plan limit (default: tickward's free-account value)."""
    return [
        click.Option(
            [flag],
            type=click.IntRange(min=1 if field == "page_size_max" else 0),
            metavar="N",
            default=getattr(_DEFAULTS, field) if show_default else None,
            show_default=show_default,
            help=f"{prefix}{field.replace('_', ' ')}"
            + ("" if show_default else f" (default {getattr(_DEFAULTS, field)})")
            + ".",
        )
        for flag, field in LIMIT_FLAGS
    ]


def plan_limits(given: dict[str, int | None]) -> PlanLimits:
    """``PlanLimits`` with the given values, tickward's free-account values elsewhere."""
    return PlanLimits(**{k: v for k, v in given.items() if v is not None})
