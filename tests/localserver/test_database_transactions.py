"""``Database.transaction``: atomic blocks; a block inside another is a savepoint of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ical_bridge.localserver.database import Database


class Refused(Exception):
    """A handler's refusal inside a block."""


def _names(db: Database) -> list[str]:
    with db.read() as conn:
        return [r[0] for r in conn.execute("SELECT name FROM projects ORDER BY name")]


def _add(conn: object, name: str) -> None:
    conn.execute(  # type: ignore[attr-defined]
        "INSERT INTO projects (id, name, created_at, updated_at) VALUES (?, ?, 'x', 'x')",
        (f"proj_{name}", name),
    )


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "local.sqlite3")


def test_a_failing_inner_block_undoes_only_its_own_writes(db: Database) -> None:
    with db.transaction() as conn:
        _add(conn, "outer")
        with pytest.raises(Refused), db.transaction() as inner:
            _add(inner, "inner")
            raise Refused
        with db.transaction() as inner:
            _add(inner, "after")
    assert _names(db) == ["after", "outer"]


def test_a_failing_outer_block_undoes_its_inner_blocks_too(db: Database) -> None:
    with pytest.raises(Refused), db.transaction() as conn:
        _add(conn, "outer")
        with db.transaction() as inner:
            _add(inner, "inner")
        raise Refused
    assert _names(db) == []
    with db.transaction() as conn:  # and the next block is a fresh transaction
        _add(conn, "next")
    assert _names(db) == ["next"]


def test_nothing_is_committed_before_the_outer_block_ends(db: Database, tmp_path: Path) -> None:
    other = Database(tmp_path / "local.sqlite3")  # another connection, as another process
    with db.transaction() as conn:
        with db.transaction() as inner:
            _add(inner, "inner")
        assert _names(other) == []
        _add(conn, "outer")
    assert _names(other) == ["inner", "outer"]
