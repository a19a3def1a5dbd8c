"""One state-store contract suite, run against every backend.

``store_url`` is a fresh, empty database per test: a temporary SQLite file, or
a uniquely named PostgreSQL schema (selected through ``search_path``) that is
dropped afterwards, so parallel runs never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from ical_bridge.clock import FixedClock
from ical_bridge.store import StateStore

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _pg_base_url() -> str:
    return os.environ.get("ICAL_BRIDGE_TEST_PG") or DEFAULT_PG


def _libpq(url: str) -> str:
    """The URL in the form psycopg itself accepts (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    """The test PostgreSQL server's URL; skip (or fail under CI) when it is unreachable."""
    url = _pg_base_url()
    try:
        with psycopg.connect(_libpq(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = f"PostgreSQL unreachable at {shown}"
        if os.environ.get("ICAL_BRIDGE_REQUIRE_PG") == "1":
            pytest.fail(f"{reason} ({type(exc).__name__}) and ICAL_BRIDGE_REQUIRE_PG=1")
        pytest.skip(reason)
    return url


@pytest.fixture
def pg_url(pg_base_url: str) -> Iterator[str]:
    """A URL whose connections live in a brand-new schema, dropped after the test."""
    schema = f"icb_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(_libpq(pg_base_url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(pg_base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(pg_base_url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL for each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nested' / 'dir' / 'state.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def clock() -> FixedClock:
    """The store's clock (webhook ids expire by it)."""
    return FixedClock(START)


@pytest.fixture
def store(store_url: str, clock: FixedClock) -> Iterator[StateStore]:
    """An open store on a fresh database."""
    with StateStore(store_url, clock=clock) as opened:
        yield opened
