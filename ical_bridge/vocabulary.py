"""The bridge's shared vocabulary: every choice set, default, limit and parser, defined once.

``convert``, ``import``, the config file and the daemon all import these, so a
choice offered by one command is offered by every other (STYLE.md habit 11).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal, get_args

from ical_bridge.errors import ConfigError

__all__ = [
    "ALARM_CHOICES",
    "CONFLICT_CHOICES",
    "DEFAULT_API_URL",
    "MAX_SOURCE_BYTES",
    "ON_DELETE_CHOICES",
    "STRATEGIES",
    "STRATEGY_CHOICES",
    "TARGET_CHOICES",
    "Alarms",
    "Conflict",
    "OnDelete",
    "Strategy",
    "Target",
    "parse_duration",
]

DEFAULT_API_URL = "https://tickward.com/api/v1"
"""The hosted tickward API (``--api-url`` / ``TICKWARD_API_URL`` / ``[tickward] api_url``)."""

MAX_SOURCE_BYTES = 64 * 1024 * 1024
"""The largest calendar read from a file, stdin or URL, by every command and the daemon:
room for a 100,000-event calendar (about 32 MiB), while a hostile feed still cannot make
a conversion hold more than about a gigabyte."""

Strategy = Literal["auto", "single", "native", "split", "rolling", "expand"]
STRATEGY_CHOICES: tuple[str, ...] = get_args(Strategy)
"""``--strategy`` / ``strategy =``: how recurring events become timers."""
STRATEGIES: tuple[str, ...] = STRATEGY_CHOICES[1:]
"""Strategies a draft can carry (``auto`` picks one of the first four)."""

OnDelete = Literal["archive", "delete", "keep"]
ON_DELETE_CHOICES: tuple[str, ...] = get_args(OnDelete)
"""``--on-delete`` / ``on_delete =``: what happens to timers whose event left the calendar."""

Conflict = Literal["feed-wins", "tickward-wins"]
CONFLICT_CHOICES: tuple[str, ...] = get_args(Conflict)
"""``--conflict`` / ``conflict =``: who wins when a bridge timer was edited in tickward."""

Alarms = Literal["keep", "drop", "merge"]
ALARM_CHOICES: tuple[str, ...] = get_args(Alarms)
"""``--alarms`` / ``alarms =``: the calendar's VALARMs kept (else defaults), dropped or merged."""

Target = Literal["start", "end"]
TARGET_CHOICES: tuple[str, ...] = get_args(Target)
"""``--target`` / ``target =``: which instant of an event a countdown points at."""

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_COMPACT = re.compile(r"(?:\d+[wdhms])+")
_ISO = re.compile(
    r"P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)


def parse_duration(text: str | int, *, bare: Literal["s", "d"] = "s") -> timedelta:
    """``30s``, ``15m``, ``1h30m``, ``1d``, ``2w``, a bare number or ISO 8601 (``PT15M``).

    A bare number counts ``bare`` units: seconds in the config file, days for ``--window``.
    """
    if isinstance(text, bool) or not isinstance(text, int | str):
        raise ConfigError("a duration must be a string like '15m' or a number of seconds")
    if isinstance(text, int):
        if text < 0:
            raise ConfigError("a duration cannot be negative")
        return timedelta(seconds=text * _UNITS[bare])
    compact = "".join(text.split()).lower()
    if compact.isdigit():
        return timedelta(seconds=int(compact) * _UNITS[bare])
    if _COMPACT.fullmatch(compact):
        seconds = sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([wdhms])", compact))
        return timedelta(seconds=seconds)
    iso = _ISO.fullmatch(compact.upper())
    if iso and compact.upper() not in ("P", "PT") and not compact.upper().endswith("T"):
        names = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
        return timedelta(**{names[k]: float(v) for k, v in iso.groupdict().items() if v})
    raise ConfigError(
        f"{text!r} is not a duration; use e.g. 30s, 15m, 1h, 1d, 1h30m, a number of seconds "
        "or ISO 8601 like PT15M"
    )
