"""``X-Correlation-Id`` on every request of one unit of work (tickward echoes it back).

The daemon tags each claimed feed pass (``icb.<feed>.<claim token>``), so the
requests of one pass can be told apart in tickward's (or the emulator's) logs,
and error bodies name the pass in their ``correlation_id``.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator

import httpx

from ical_bridge.tickward.client import TickwardClient

__all__ = ["correlated", "correlation_id", "install_correlation"]

HEADER = "X-Correlation-Id"
# What tickward accepts (SERVER-NOTES): 6-128 of [A-Za-z0-9._:-].
_INVALID = re.compile(r"[^A-Za-z0-9._:-]")
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ical_bridge_correlation", default=None
)


def correlation_id(*parts: object) -> str:
    """``parts`` joined by dots, other characters as ``_``, cut to tickward's 128."""
    joined = ".".join(_INVALID.sub("_", str(p)) for p in parts)
    return joined[:128].ljust(6, "_")


@contextlib.contextmanager
def correlated(value: str) -> Iterator[None]:
    """Requests sent from this task (and tasks it starts) inside the block carry ``value``."""
    token = _current.set(value)
    try:
        yield
    finally:
        _current.reset(token)


def install_correlation(client: TickwardClient) -> None:
    """Make ``client`` send the current correlation id (idempotent)."""

    async def stamp(request: httpx.Request) -> None:
        value = _current.get()
        if value is not None:
            request.headers[HEADER] = value

    hooks = client._http.event_hooks["request"]  # this package's own client: the seam
    if not any(getattr(h, "_icb_correlation", False) for h in hooks):
        stamp._icb_correlation = True  # type: ignore[attr-defined]
        hooks.append(stamp)
