"""Fixtures for import tests: a fresh local tickward server and state store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from import_helpers import Harness, LiveServer, start_live, stop_live

from ical_bridge.localserver import PlanLimits, RateLimitConfig, create_app
from ical_bridge.store import StateStore


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    """A fresh server (no rate limit, free-account plan) and state store."""
    app = create_app(tmp_path / "tickward.sqlite3", rate_limit=None)
    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}") as store:
        yield Harness(app, store)


@pytest.fixture
def live_factory() -> Iterator[Any]:
    """Start live servers for a test; all are stopped afterwards."""
    started: list[LiveServer] = []

    def make(tmp: Path, *, rate_limit: RateLimitConfig | None = None,
             plan: PlanLimits = PlanLimits()) -> LiveServer:  # noqa: B008
        live = start_live(create_app(tmp / "tickward.sqlite3", rate_limit=rate_limit, plan=plan))
        started.append(live)
        return live

    yield make
    for live in started:
        stop_live(live)


