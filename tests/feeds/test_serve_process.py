"""``ical-bridge serve`` as a real process: its uvicorn has the guarded protocol (issue 15.10)."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ical_bridge.store import StateStore
from tests.conftest import REPO
from tests.feeds.test_feed_cli import _config, _seed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        assert process.poll() is None, "serve exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve did not start listening")


@pytest.mark.slow
def test_serve_drops_a_silent_connection_and_still_serves(tmp_path: Path) -> None:
    db = tmp_path / "tickward.sqlite3"
    _seed(db)
    port = _free_port()
    config = _config(tmp_path, db)
    config.write_text(config.read_text().replace("port = 8799", f"port = {port}"))
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "ical_bridge", "serve", "--config", str(config)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        _wait_listening(port, process)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as silent:
            # A server without a request deadline keeps this one open for all 30 s.
            readable, _, _ = select.select([silent], [], [], 30)
            assert readable and silent.recv(1024) == b"", "a silent connection was kept 30 s"
        with StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}") as store:
            token = store.export_token("team")
        feed = httpx.get(f"http://127.0.0.1:{port}/feeds/{token}.ics", timeout=30)
        assert feed.status_code == 200
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert token is not None and token.encode() not in out + err
