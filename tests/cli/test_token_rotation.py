"""``export-token rotate`` takes effect at once on a running server (issue 11.10), over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from ical_bridge.cli import cli
from tests.conftest import SAMPLE_FEEDS
from tests.sync.import_helpers import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config exporting project "Team" of a local store that holds a few timers."""
    db = tmp_path / "tickward.sqlite3"
    seeded = CliRunner().invoke(cli, [
        "--local", str(db), "import", str(SAMPLE_FEEDS / "holidays_all_day_yearly.ics"),
        "--project", "Team", "--yes", "--state", str(tmp_path / "import-state.db")])
    assert seeded.exit_code == 0, seeded.output + seeded.stderr
    path = tmp_path / "bridge.toml"
    path.write_text(
        f'[tickward]\nlocal = "{db}"\n\n[state]\nurl = "sqlite:///{tmp_path / "state.db"}"\n\n'
        f'[server]\nhost = "127.0.0.1"\nport = {free_port()}\n\n'
        '[[exports]]\nname = "team"\nproject = "Team"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def server(config: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``ical-bridge serve`` as a real process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TICKWARD_API_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "ical_bridge", "serve", "--config", str(config)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    yield proc
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def _urls(config: Path, action: str) -> str:
    result = CliRunner().invoke(cli, ["export-token", action, "team", "--config", str(config)])
    assert result.exit_code == 0, result.output
    return result.stdout.split()[1]  # the http:// one


def _get(url: str, proc: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url, timeout=10)
        except httpx.TransportError:
            assert proc.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server never answered"
            time.sleep(0.1)


@pytest.mark.slow
def test_rotation_takes_effect_on_the_next_request(
    config: Path, server: subprocess.Popen[bytes]
) -> None:
    old = _urls(config, "show")
    first = _get(old, server)
    assert first.status_code == 200 and b"BEGIN:VCALENDAR" in first.content
    new = _urls(config, "rotate")
    assert new != old
    assert _get(old, server).status_code == 404
    assert _get(new, server).status_code == 200
