"""What several commands share: reading a calendar, the conversion options, JSON output.

``convert`` and ``import`` take the same conversion options with the same
choices (``ical_bridge.vocabulary``) and read their source under the same size
limit, so a calendar ``convert`` shows is one ``import`` accepts.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ical_bridge.errors import ConfigError, SourceError, UserError
from ical_bridge.ingest.fetch import read_source
from ical_bridge.vocabulary import (
    ALARM_CHOICES,
    CONFLICT_CHOICES,
    MAX_SOURCE_BYTES,
    ON_DELETE_CHOICES,
    STRATEGY_CHOICES,
    TARGET_CHOICES,
    parse_duration,
)

if TYPE_CHECKING:
    from ical_bridge.convert.choices import EventChoices

# Every command imports this module, so what only some need is imported where it is used:
# asyncio and httpx for a webcal:// source, tickward (httpx, pydantic) for a project name,
# the converter for the event choices (``convert --help`` reads no calendar).

__all__ = [
    "JSON_VERSION",
    "conflict_option",
    "echo_json",
    "event_choice_options",
    "on_delete_option",
    "parse_window",
    "project_name",
    "read_calendar",
    "strategy_option",
]

_F = TypeVar("_F", bound=Callable[..., Any])


# Sources read over the network: their failures are the network's (exit 1), any
# other source failing (a path, file://, an unknown scheme) is bad input (exit 2).
_NETWORK_SCHEMES = ("http://", "https://", "webcal://")


def read_calendar(source: str) -> bytes:
    """The bytes of FILE, URL or ``-`` (stdin), at most ``MAX_SOURCE_BYTES``."""
    try:
        if source[:9].lower() == "webcal://":
            import asyncio

            from ical_bridge.ingest.fetch import fetch_source, redact_url

            result = asyncio.run(fetch_source(source, max_bytes=MAX_SOURCE_BYTES))
            if result.final_url.startswith("http://"):
                click.echo(f"note: {redact_url(source)} is served over plain http:// "
                           "(no TLS), so it was read unencrypted", err=True)
            return result.body or b""
        return read_source(source, max_bytes=MAX_SOURCE_BYTES)
    except SourceError as exc:
        if source.lower().startswith(_NETWORK_SCHEMES):
            raise  # the network or the server failed: exit 1
        raise UserError(str(exc)) from None  # a missing file, ftp://…: bad input, exit 2


def project_name(value: str | None, *, option: str = "--project") -> str | None:
    """A project name or id as given: None when not given; empty or over tickward's
    40 characters is bad input (tickward would cut it and merge two projects)."""
    if value is None:
        return None
    from ical_bridge.tickward.lookup import PROJECT_NAME_MAX

    name = value.strip()
    if not name:
        raise UserError(f"{option}: a project name cannot be empty")
    if len(name) > PROJECT_NAME_MAX:
        raise UserError(
            f"{option}: {name[:20]!r}… is {len(name)} characters; tickward project names "
            f"are at most {PROJECT_NAME_MAX}"
        )
    return name


def parse_window(text: str) -> timedelta:
    """``--window``: ``90d``, ``12w``, ``36h``, ``1h30m`` or a bare number of days."""
    try:
        return parse_duration(text, bare="d")
    except ConfigError:
        raise click.BadParameter(
            f"{text!r}: use e.g. 90d, 12w or 36h", param_hint="--window"
        ) from None


def strategy_option(command: _F) -> _F:
    """``--strategy``: the same choices for ``convert``, ``import`` and ``strategy =``."""
    return click.option(
        "--strategy", type=click.Choice(STRATEGY_CHOICES), default="auto", show_default=True,
        help="How recurring events become timers.",
    )(command)  # fmt: skip


def on_delete_option(command: _F) -> _F:
    """``--on-delete``: what happens to timers whose event left the calendar."""
    return click.option(
        "--on-delete", type=click.Choice(ON_DELETE_CHOICES), default="archive",
        show_default=True, help="What happens to timers whose event left the calendar.",
    )(command)  # fmt: skip


def conflict_option(command: _F) -> _F:
    """``--conflict``: who wins when a bridge timer was edited in tickward."""
    return click.option(
        "--conflict", type=click.Choice(CONFLICT_CHOICES), default="feed-wins",
        show_default=True, help="Who wins when a bridge timer was edited in tickward.",
    )(command)  # fmt: skip


JSON_VERSION = 1
"""The ``version`` of the ``import``, ``sync --once`` and ``status`` JSON (README: JSON output);
raised only when a field changes meaning or disappears (new fields keep it)."""


def echo_json(value: Any) -> None:
    """Print ``value`` as one line of UTF-8 JSON (every ``--json`` output, JSON Lines-friendly)."""
    click.echo(json.dumps(value, ensure_ascii=False))


_CHOICE_OPTIONS = (
    click.option("--reminders", "reminders_text", default=None,
                 help="Default reminders before each target, e.g. 15m,1d."),
    click.option("--all-day-reminders", "all_day_reminders_text", default=None,
                 help="Default reminders for all-day events (default: --reminders)."),
    click.option("--alarms", type=click.Choice(ALARM_CHOICES), default="keep",
                 show_default=True, help="The calendar's VALARMs: keep (else the defaults), "
                 "drop (only the defaults) or merge (both)."),
    click.option("--notify/--no-notify", "notify", default=None,
                 help="Notify for these timers (default: only when they have reminders)."),
    click.option("--include", "include", default=None,
                 help="Only events whose summary matches this regex (case-insensitive)."),
    click.option("--exclude", "exclude", default=None,
                 help="Leave out events whose summary matches this regex."),
    click.option("--include-category", "include_categories", multiple=True,
                 help="Only events with this category (repeatable)."),
    click.option("--exclude-category", "exclude_categories", multiple=True,
                 help="Leave out events with this category (repeatable)."),
    click.option("--after", "after_text", default=None,
                 help="Leave out countdowns whose target is before this date (ISO; UTC)."),
    click.option("--before", "before_text", default=None,
                 help="Leave out countdowns whose target is on/after this date (ISO; UTC)."),
    click.option("--target", type=click.Choice(TARGET_CHOICES), default="start",
                 show_default=True, help="Which instant of an event a countdown points at."),
)


def _choices_from(values: dict[str, Any]) -> EventChoices:
    from ical_bridge.convert.choices import EventChoices, parse_instant, parse_reminders

    all_day = values.pop("all_day_reminders_text")
    return EventChoices(
        reminders=parse_reminders(values.pop("reminders_text")),
        all_day_reminders=parse_reminders(all_day) if all_day is not None else None,
        alarms=values.pop("alarms"),
        notify=values.pop("notify"),
        include=values.pop("include"),
        exclude=values.pop("exclude"),
        include_categories=tuple(values.pop("include_categories")),
        exclude_categories=tuple(values.pop("exclude_categories")),
        after=parse_instant(values.pop("after_text")),
        before=parse_instant(values.pop("before_text")),
        target=values.pop("target"),
    )


def event_choice_options(command: _F) -> _F:
    """The per-event choices (reminders, notify, filters, target), defined once for ``convert``
    and ``import``; the command receives them as one ``choices: EventChoices``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            kwargs["choices"] = _choices_from(kwargs)
        except UserError as exc:
            raise click.UsageError(str(exc)) from None
        return command(*args, **kwargs)

    decorated: Any = wrapper
    for option in reversed(_CHOICE_OPTIONS):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]
