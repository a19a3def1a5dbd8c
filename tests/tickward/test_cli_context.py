"""``open_client``: remote with an API key, else the embedded local store."""

from __future__ import annotations

from pathlib import Path

import pytest

from ical_bridge.cli import Settings
from ical_bridge.cli.context import open_client
from tests.tickward.tw_helpers import SECRET, run


def names_in_store(settings: Settings, notes: list[str], create: str | None = None) -> list[str]:
    async def go() -> list[str]:
        async with open_client(settings, stderr_note=notes.append) as client:
            if create:
                await client.create_project({"name": create})
            return [p.name for p in await client.list_projects()]

    return run(go())


def test_without_a_key_the_embedded_store_persists_in_the_local_dir(tmp_path: Path) -> None:
    notes: list[str] = []
    settings = Settings(local=tmp_path)
    assert names_in_store(settings, notes, create="Kept") == ["Kept"]
    assert names_in_store(settings, notes) == ["Kept"]  # a second process sees it
    db = tmp_path / "local-tickward.sqlite3"
    assert db.is_file()
    assert notes == [f"using the embedded local tickward store at {db} (no API key set)"] * 2


def test_local_may_name_the_database_file(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "mine.sqlite3"
    notes: list[str] = []
    assert names_in_store(Settings(local=db), notes, create="File") == ["File"]
    assert db.is_file() and str(db) in notes[0]


def test_default_store_lives_under_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    notes: list[str] = []
    assert names_in_store(Settings(), notes) == []
    expected = tmp_path / "ical-bridge" / "local-tickward.sqlite3"
    assert expected.is_file() and str(expected) in notes[0]


def test_with_a_key_the_client_is_remote_and_quiet() -> None:
    notes: list[str] = []
    settings = Settings(api_url="https://tickward.example/api/v1", api_key=SECRET)

    async def go() -> str:
        async with open_client(settings, stderr_note=notes.append) as client:
            assert client.base_url == "https://tickward.example/api/v1" and client.has_api_key
            return repr(client)

    text = run(go())
    assert notes == [] and SECRET not in text
