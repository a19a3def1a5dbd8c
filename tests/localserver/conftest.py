"""Fixtures for the local tickward server tests."""

from __future__ import annotations

import pytest

from tests.localserver.ls_harness import Harness


@pytest.fixture
def api() -> Harness:
    """A fresh server with default limits and a FixedClock at 2027-03-01T12:00Z."""
    return Harness()
