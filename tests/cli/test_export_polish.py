"""``export`` rough edges (issue 11 polish): share links, unknown spaces, read-only stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner

from ical_bridge.cli import cli
from ical_bridge.errors import UserError
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from tests.conftest import SAMPLE_FEEDS
from tests.sync.import_helpers import LiveServer, start_live, stop_live

HOLIDAYS = str(SAMPLE_FEEDS / "holidays_all_day_yearly.ics")


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_live(create_app(tmp_path / "tw.sqlite3", rate_limit=None))
    yield server
    stop_live(server)


def test_share_links_against_a_server_resolve_on_that_server(live: LiveServer,
                                                             tmp_path: Path) -> None:
    remote = ["--api-url", live.url, "--api-key", EMBEDDED_API_KEY]
    done = CliRunner().invoke(cli, [*remote, "import", HOLIDAYS, "--project", "Holidays", "--yes",
                                    "--state", str(tmp_path / "s.db")])
    assert done.exit_code == 0, done.output + done.stderr
    result = CliRunner().invoke(cli, [*remote, "export", "--project", "Holidays",
                                      "--share-links"])
    assert result.exit_code == 0, result.output + result.stderr
    cal = icalendar.Calendar.from_ical(result.stdout_bytes)
    urls = [str(e["URL"]) for e in cal.walk("VEVENT")]
    assert urls and all(u.startswith(f"http://127.0.0.1:{live.port}/") for u in urls)


def _local_import(tmp_path: Path) -> list[str]:
    local = ["--local", str(tmp_path / "local.sqlite3")]
    done = CliRunner().invoke(cli, [*local, "import", HOLIDAYS, "--project", "Holidays", "--yes",
                                    "--state", str(tmp_path / "s.db")])
    assert done.exit_code == 0, done.output + done.stderr
    return local


def test_an_unknown_space_lists_the_known_ones_or_says_there_are_none(tmp_path: Path) -> None:
    local = _local_import(tmp_path)
    result = CliRunner().invoke(cli, [*local, "export", "--project", "Holidays", "--space", "Nope"])
    assert isinstance(result.exception, UserError)  # exit 2 through main()
    assert "no space 'Nope' in project 'Holidays' (it has no spaces)" in str(result.exception)


def test_a_read_only_command_never_turns_a_file_into_a_database(tmp_path: Path) -> None:
    for content in (b"", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"):
        target = tmp_path / "empty.ics"
        target.write_bytes(content)
        result = CliRunner().invoke(cli, ["--local", str(target), "export", "--project", "X"])
        assert isinstance(result.exception, UserError)
        assert "not a tickward store" in str(result.exception)
        assert target.read_bytes() == content
    missing = tmp_path / "missing.sqlite3"
    result = CliRunner().invoke(cli, ["--local", str(missing), "export", "--project", "X"])
    assert isinstance(result.exception, UserError) and not missing.exists()
