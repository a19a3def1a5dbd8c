"""Counting the requests one piece of work sends, whoever else shares the client.

The daemon's feed passes and its feed server share one ``TickwardClient``, and
passes overlap; ``client.stats`` counts them all. ``count_requests()`` opens a
tally in the current context (an asyncio task and the tasks it starts inherit
it), and every attempt the client sends from inside that context is added to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["RequestTally", "count_requests", "tally_request"]


@dataclass
class RequestTally:
    """Requests (attempts, retries included) sent inside one ``count_requests`` block."""

    requests: int = 0


_current: ContextVar[RequestTally | None] = ContextVar("ical_bridge_request_tally", default=None)


@contextmanager
def count_requests() -> Iterator[RequestTally]:
    """Count the tickward requests sent from this context until the block ends."""
    tally = RequestTally()
    token = _current.set(tally)
    try:
        yield tally
    finally:
        _current.reset(token)


def tally_request() -> None:
    """Add one request to the current context's tally, if one is open."""
    tally = _current.get()
    if tally is not None:
        tally.requests += 1
