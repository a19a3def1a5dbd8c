"""``--log-format text|json`` for the long-running commands (``sync``, ``daemon``, ``serve``).

JSON lines have stable keys, so a log pipeline can index them without parsing
prose: always ``ts`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger``
and ``msg``; ``account`` while a pass of a named or default account runs; ``exc``
when an exception is attached. Lines whose message is entirely ``key=value``
pairs (the per-pass line: ``feed``, ``outcome``, ``created``…, ``requests``,
``ms``, ``error``) also carry those pairs as top-level keys, numbers as numbers.
The messages are the same ones the text format shows, already free of secrets.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from ical_bridge.daemon.accounts import CURRENT_ACCOUNT

__all__ = ["LOG_FORMATS", "JsonFormatter", "log_format_option", "parse_pairs", "use_log_format"]

LOG_FORMATS = ("text", "json")
_RESERVED = frozenset({"ts", "level", "logger", "msg", "account", "exc"})
_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|[^\s"]+)')
_F = TypeVar("_F", bound=Callable[..., Any])


def parse_pairs(message: str) -> dict[str, Any] | None:
    """The ``key=value`` pairs of a message made only of them (quoted values unescaped)."""
    pairs: dict[str, Any] = {}
    position = 0
    for match in _PAIR.finditer(message):
        if message[position : match.start()].strip():
            return None  # prose between pairs: not a structured line
        key, raw = match.group(1), match.group(2)
        if raw.startswith('"'):
            value: Any = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif raw.isdigit():
            value = int(raw)
        else:
            value = raw
        pairs[key] = value
        position = match.end()
    if not pairs or message[position:].strip():
        return None
    return pairs


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the stable keys described in the module docstring."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        message = record.getMessage()
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": message,
        }
        account = CURRENT_ACCOUNT.get()
        if account is not None:
            line["account"] = account
        for key, value in (parse_pairs(message) or {}).items():
            if key not in _RESERVED:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def use_log_format(log_format: str) -> None:
    """Switch the handlers ``ical-bridge`` installed on the root logger to ``log_format``."""
    if log_format != "json":
        return
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter())


def log_format_option(command: _F) -> _F:
    """``--log-format text|json`` (stderr lines; json: one object per line)."""
    return click.option(
        "--log-format", type=click.Choice(LOG_FORMATS), default="text", show_default=True,
        help="Log lines on stderr as text, or as JSON objects with stable keys.",
    )(command)  # fmt: skip
