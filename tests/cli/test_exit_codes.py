"""Exit codes as the README promises them (issue 11.3, 11.7): 2 = bad input, one line."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ical_bridge.cli import cli, main
from ical_bridge.localserver import EMBEDDED_API_KEY, RateLimitConfig, create_app
from ical_bridge.tickward import TickwardClient
from tests.conftest import SAMPLE_FEEDS
from tests.sync.import_helpers import (
    LiveServer,
    calendar,
    start_live,
    stop_live,
    team_events,
    writes_since,
)

REPO = Path(__file__).resolve().parents[2]
HOLIDAYS = str(SAMPLE_FEEDS / "holidays_all_day_yearly.ics")


class TtyInput(io.BytesIO):
    """Answers typed at a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The local server over real HTTP, rate limited so an import takes seconds."""
    app = create_app(tmp_path / "tickward.sqlite3",
                     rate_limit=RateLimitConfig(per_key=6, window_seconds=1))
    live = start_live(app)
    yield live
    stop_live(live)


def make_project(live: LiveServer, name: str) -> None:
    async def go() -> None:
        async with TickwardClient(live.url, EMBEDDED_API_KEY) as client:
            await client.create_project({"name": name})

    asyncio.run(go())


def timer_count(live: LiveServer) -> int:
    async def go() -> int:
        async with TickwardClient(live.url, EMBEDDED_API_KEY) as client:
            snap = (await client.sync()).snapshot
            assert snap is not None
            return len(snap.timers)

    return asyncio.run(go())


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The console script's entry point in-process: (exit code, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(args)
    code = exited.value.code
    return int(code) if isinstance(code, int) else 1, capsys.readouterr().err


def local(tmp_path: Path, *args: str) -> list[str]:
    return ["--local", str(tmp_path / "tw.sqlite3"), *args, "--state", str(tmp_path / "s.db")]


@pytest.mark.parametrize("source", ["missing.ics", "a-directory", "ftp://example.org/cal.ics"])
def test_import_of_an_unreadable_source_is_bad_input(
    source: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-directory").mkdir()
    os.chdir(tmp_path)
    code, err = run_main(local(tmp_path, "import", source, "--yes"), capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")


def test_local_pointing_at_a_non_database_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "notes.sqlite3"
    junk.write_bytes(b"not a database at all\n" * 10)
    args = ["--local", str(junk), "import", HOLIDAYS, "--yes", "--state", str(tmp_path / "s.db")]
    code, err = run_main(args, capsys)
    assert code == 2, err
    assert "--local" in err and "Traceback" not in err
    assert junk.read_bytes() == b"not a database at all\n" * 10


def test_an_unknown_zone_is_one_line_not_a_usage_block(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_main(["convert", "--tz", "Mars/Olympus", HOLIDAYS], capsys)
    assert code == 2
    assert err.strip().splitlines() == [
        "error: Invalid value for --tz: 'Mars/Olympus' is not a known time zone"]


@pytest.mark.parametrize("name", ["x" * 41, "Quarterly planning for the engineering team A"])
def test_a_project_name_over_40_characters_is_refused_not_cut(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_main(local(tmp_path, "import", HOLIDAYS, "--yes", "--project", name), capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "at most 40" in err
    assert not (tmp_path / "s.db").exists() or "created" not in err


def test_a_long_calendar_name_is_refused_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "long.ics"
    long = "Quarterly planning for the engineering team B"
    source.write_bytes(calendar(team_events(2), name=long))
    code, err = run_main(local(tmp_path, "import", str(source), "--yes"), capsys)
    assert code == 2 and "at most 40" in err and "--project" in err


def test_an_empty_project_is_bad_input_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_main(local(tmp_path, "import", HOLIDAYS, "--yes", "--project", ""), capsys)
    assert code == 2 and "cannot be empty" in err
    code, err = run_main(["--local", str(tmp_path / "tw.sqlite3"), "export", "--project", " "],
                         capsys)
    assert code == 2 and "cannot be empty" in err
    long = "Quarterly planning for the engineering team A"
    config = tmp_path / "bridge.toml"
    config.write_text(f'[state]\nurl = "sqlite:///{tmp_path / "st.db"}"\n\n[[feeds]]\n'
                      f'name = "team"\npath = "{HOLIDAYS}"\nproject = "{long}"\n')
    code, err = run_main(["sync", "--config", str(config), "--once"], capsys)
    assert code == 2 and "at most 40" in err and "team" in err


def test_answering_no_is_a_choice_exit_0(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, local(tmp_path, "import", HOLIDAYS), input=TtyInput(b"n\n"))
    assert result.exit_code == 0, result.output
    assert "Nothing changed." in result.stderr


def _import(url: str, source: Path, state: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TICKWARD_API_KEY", None)
    args = ["--api-url", url, "--api-key", EMBEDDED_API_KEY, "import", str(source),
            "--project", "Team", "--state", str(state), "--yes"]
    return subprocess.Popen([sys.executable, "-m", "ical_bridge", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


@pytest.mark.slow
def test_ctrl_c_during_apply_exits_130_and_says_a_rerun_finishes(
    slow_server: LiveServer, tmp_path: Path
) -> None:
    source = tmp_path / "team.ics"
    source.write_bytes(calendar(team_events(30)))
    live = slow_server
    make_project(live, "Team")  # an existing project: one write per timer
    requests = live.app.state.requests
    proc = _import(live.url, source, tmp_path / "s.db")
    deadline = time.monotonic() + 60
    while len([w for w in writes_since(requests, 0) if w.status < 300]) < 3:
        assert proc.poll() is None, "the import finished before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    text = err.decode()
    assert proc.returncode == 130, text
    assert "Traceback" not in text and "Aborted" not in text
    assert "Interrupted" in text and "re-run" in text
    assert timer_count(live) < 30

    again = _import(live.url, source, tmp_path / "s.db")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    assert timer_count(live) == 30
