"""Helpers for the tickward client tests: a fake sleep that moves a FixedClock, transports."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from ical_bridge.clock import FixedClock

__all__ = ["SECRET", "FakeSleep", "error_body", "make_clock", "run", "serve"]

T = TypeVar("T")

SECRET = "tw_supersecret_9f8e7d6c5b4a"


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion (tests are sync functions)."""
    return asyncio.run(coro)


def make_clock() -> FixedClock:
    """A FixedClock at a fixed instant."""
    return FixedClock(datetime(2027, 3, 1, 12, 0, tzinfo=UTC))


class FakeSleep:
    """Records every requested sleep and advances ``clock`` instead of waiting."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(max(seconds, 0.0))
        await asyncio.sleep(0)


def error_body(
    status: int,
    type_: str,
    message: str = "Refused.",
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    retryable: bool = False,
) -> httpx.Response:
    """A tickward-shaped error response."""
    body = {
        "error": {
            "type": type_,
            "code": type_,
            "message": message,
            "request_id": "req_test123",
            "retryable": retryable,
            "remediation": {"hint": f"hint for {type_}"},
            "errors": errors or [],
        }
    }
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers or {})


Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on an ephemeral 127.0.0.1 port; yields the API base URL."""
    import uvicorn

    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="tickward-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
