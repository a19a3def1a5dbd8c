"""``emulator`` on an existing ``--db`` keeps its key (issue 11 polish): a restart must not
break every config that holds the key. Real processes over real HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.sync.import_helpers import free_port

REPO = Path(__file__).resolve().parents[2]


def _start(db: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ical_bridge", "emulator", "--db", str(db), "--port", str(port),
         "--no-rate-limit"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    lines = [proc.stdout.readline(), proc.stdout.readline()]
    return proc, "".join(lines)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)


def _status(port: int, key: str) -> int:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/projects",
                             headers={"Authorization": f"Bearer {key}"}, timeout=5).status_code
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the emulator never answered"
            time.sleep(0.1)


def test_a_restart_on_the_same_db_accepts_the_first_key(tmp_path: Path) -> None:
    db, port = tmp_path / "emu.sqlite3", free_port()
    proc, shown = _start(db, port)
    try:
        found = re.search(r"API key: (tw_local_\S+)", shown)
        assert found, shown
        key = found.group(1)
        assert _status(port, key) == 200
    finally:
        _stop(proc)
    again, shown = _start(db, port)
    try:
        assert key not in shown and "unchanged" in shown  # not printed twice
        assert _status(port, key) == 200
        assert _status(port, "tw_local_wrong") in (401, 403)
    finally:
        _stop(again)
