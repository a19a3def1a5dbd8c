"""``ical-bridge convert`` run as the console script works without the cycle collector.

``main()`` owns the process and ends it after the command: for ``convert`` it
switches the collector off once the command line is resolved, so the output
(a 10,000-event ``--json`` or a table) is written without a pass over the
conversion's ~540,000 objects, and switches it back on (the objects frozen,
as the process ends) on the way out, whatever the outcome. The same command
invoked in-process without ``main()`` (click's runner, a library) must leave
the collector alone.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import ical_bridge.convert.jsonout as jsonout
from ical_bridge.cli import cli, main
from tests.conftest import SAMPLE_FEEDS

FEED = SAMPLE_FEEDS / "team_meetings.ics"
NOW = "2026-11-22T12:00:00Z"


@pytest.fixture
def output_watch(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether the collector was on while ``convert --json`` wrote its text."""
    seen: list[bool] = []
    original = jsonout.json_pieces

    def watched(result: Any) -> Iterator[str]:
        seen.append(gc.isenabled())
        return original(result)

    monkeypatch.setattr(jsonout, "json_pieces", watched)
    assert gc.isenabled()
    yield seen
    gc.unfreeze()  # what main() froze for a process about to end: give it back to pytest
    assert gc.isenabled()


def _main(args: list[str]) -> int:
    with pytest.raises(SystemExit) as ended:
        main(args)
    return int(ended.value.code or 0)


def test_the_console_script_writes_the_output_without_the_collector(
    output_watch: list[bool], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main(["convert", str(FEED), "--json", "--now", NOW]) == 0
    assert '"timers"' in capsys.readouterr().out
    assert output_watch == [False]
    assert gc.isenabled()  # back on as main() returns
    assert gc.get_freeze_count() > 0  # and nothing left for it to walk


def test_the_collector_comes_back_when_the_command_fails(
    output_watch: list[bool], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.ics"
    broken.write_text("not a calendar")
    assert _main(["convert", str(broken), "--json", "--now", NOW]) != 0
    assert "error" in capsys.readouterr().err
    assert output_watch == []
    assert gc.isenabled()


def test_help_alone_gives_the_collector_back(output_watch: list[bool],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["convert", "--help"]) == 0
    assert "Usage" in capsys.readouterr().out
    assert gc.isenabled()


def test_the_command_run_in_process_leaves_the_collector_on(output_watch: list[bool]) -> None:
    result = CliRunner().invoke(cli, ["convert", str(FEED), "--json", "--now", NOW])
    assert result.exit_code == 0, result.output
    assert output_watch == [True]
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
