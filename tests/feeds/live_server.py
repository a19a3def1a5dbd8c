"""The feed harness app behind a real uvicorn on an ephemeral loopback port (in a thread)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ical_bridge.feeds.server import make_server
from tests.feeds.feed_harness import START, harness


@dataclass
class Live:
    """A running feed server: where it listens and the export token it serves."""

    host: str
    port: int
    token: str
    stamp: int  # the harness clock's time, for fresh webhook signatures

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


class _Running:
    def __init__(self) -> None:
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.live: Live | None = None
        self.error: BaseException | None = None


def _serve(tmp_path: Path, running: _Running, access_log: bool, options: dict[str, Any]) -> None:
    async def main() -> None:
        async with harness(tmp_path, **options) as h:
            server = make_server(h.app, host="127.0.0.1", port=0, access_log=access_log)
            from ical_bridge.feeds.guard import harden

            harden(server)
            task = asyncio.create_task(server.serve())
            deadline = time.monotonic() + 10
            while not server.started:
                if task.done() or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start")
                await asyncio.sleep(0.01)
            port = server.servers[0].sockets[0].getsockname()[1]
            running.live = Live("127.0.0.1", port, h.token(), int(START.timestamp()))
            running.ready.set()
            await asyncio.to_thread(running.stop.wait)
            server.should_exit = True
            await task

    try:
        asyncio.run(main())
    except BaseException as exc:  # reported to the test thread
        running.error = exc
        running.ready.set()


@contextmanager
def live_server(tmp_path: Path, *, access_log: bool = False, **options: Any) -> Iterator[Live]:
    """Serve the harness app (``options`` go to ``create_feed_app``) until the block ends."""
    running = _Running()
    thread = threading.Thread(
        target=_serve, args=(tmp_path, running, access_log, options), daemon=True
    )
    thread.start()
    try:
        assert running.ready.wait(20), "server did not come up"
        assert running.error is None, running.error
        assert running.live is not None
        yield running.live
    finally:
        running.stop.set()
        thread.join(20)
    assert running.error is None, running.error


@contextmanager
def uvicorn_access_captured(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture uvicorn's access logger too, whatever another test configured on it."""
    uvicorn_access = logging.getLogger("uvicorn.access")
    saved = (uvicorn_access.level, uvicorn_access.disabled, uvicorn_access.propagate)
    uvicorn_access.setLevel(logging.INFO)
    uvicorn_access.disabled = False
    uvicorn_access.propagate = False
    uvicorn_access.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO):
            yield
    finally:
        uvicorn_access.removeHandler(caplog.handler)
        uvicorn_access.setLevel(saved[0])
        uvicorn_access.disabled = saved[1]
        uvicorn_access.propagate = saved[2]
