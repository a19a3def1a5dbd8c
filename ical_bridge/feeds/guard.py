"""Time and size bounds for the feed server's connections (uvicorn has no header-read timeout).

uvicorn cancels its keep-alive timer on every received byte and arms none for a
fresh connection, so a client that trickles one header line every few seconds,
or connects and says nothing, holds a connection forever. ``GuardedH11Protocol``
gives every request a deadline: from the moment the server starts waiting for a
request (connection made, or previous response sent) until the whole request
(head and body) has arrived. A client that misses it is disconnected.
``harden`` installs that protocol and uvicorn's own limits on a server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = [
    "KEEP_ALIVE_SECONDS",
    "MAX_CONNECTIONS",
    "MAX_HEAD_BYTES",
    "REQUEST_READ_SECONDS",
    "GuardedH11Protocol",
    "harden",
]

REQUEST_READ_SECONDS = 10.0  # to receive one whole request, idle time before it included
KEEP_ALIVE_SECONDS = 5  # idle between requests on a kept-alive connection
MAX_HEAD_BYTES = 16 * 1024  # request line and headers
MAX_CONNECTIONS = 256  # beyond this, new requests get a 503

# States in which the server is waiting for the client to send (more of) a request.
_WAITING = (h11.IDLE, h11.SEND_BODY)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for receiving each request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state not in _WAITING:
            self._disarm()  # the whole request is in; the app's time is not bounded here

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # A new cycle (or an unread body still arriving): the client has a fresh deadline.
        if self.conn.their_state in _WAITING and not self.transport.is_closing():
            self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._read_deadline = self.loop.call_later(REQUEST_READ_SECONDS, self._too_slow)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _too_slow(self) -> None:
        self._read_deadline = None
        if self.conn.their_state in _WAITING and not self.transport.is_closing():
            self.transport.close()


def harden(server: uvicorn.Server) -> uvicorn.Server:
    """Give a not yet started feed server the guarded protocol and uvicorn's limits."""
    config = server.config
    if config.loaded:
        raise RuntimeError("harden() must run before the server starts")
    config.http = GuardedH11Protocol
    config.timeout_keep_alive = KEEP_ALIVE_SECONDS
    config.h11_max_incomplete_event_size = MAX_HEAD_BYTES
    config.limit_concurrency = MAX_CONNECTIONS
    return server
