"""Shared test fixtures: paths to the repository's and the shared corpus's data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE_FEEDS = REPO / "sample_feeds"
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
OPENAPI = SHARED / "tickward" / "openapi.json"


@pytest.fixture
def sample_feed() -> object:
    """Load a file from ``sample_feeds/`` by name: ``sample_feed("google_export.ics")``."""

    def load(name: str) -> bytes:
        return (SAMPLE_FEEDS / name).read_bytes()

    return load
