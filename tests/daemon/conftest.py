"""Fixtures for daemon tests: a feed host (ETag/304, failure modes) and local tickward servers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ical_bridge.localserver import RateLimitConfig
from tests.daemon.daemon_helpers import FeedHost, Tickward


@pytest.fixture
def feed_host(tmp_path: Path) -> Iterator[FeedHost]:
    """A running ``FeedHost`` over ``tmp_path / "feeds"``."""
    root = tmp_path / "feeds"
    root.mkdir()
    server = FeedHost(root)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def tickward_factory(tmp_path: Path) -> Iterator[Callable[..., Tickward]]:
    """Start local tickward servers (over ``tmp_path/tickward.sqlite3``); stopped afterwards."""
    started: list[Tickward] = []

    def start(rate_limit: RateLimitConfig | None = None) -> Tickward:
        server = Tickward(tmp_path / "tickward.sqlite3", rate_limit)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
