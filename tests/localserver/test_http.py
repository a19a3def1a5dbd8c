"""The server over real HTTP on 127.0.0.1: uvicorn in a thread, and the emulator command."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette

from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from tests.localserver.ls_harness import check_response, timer_body

AUTH = {"Authorization": f"Bearer {EMBEDDED_API_KEY}"}


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Run ``app`` under uvicorn on an ephemeral port; yields the API base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn stopped"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        assert not thread.is_alive()


def _checked(response: httpx.Response) -> None:
    response.read()
    check_response(response)


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers=AUTH, event_hooks={"response": [_checked]})


def test_real_http_round_trip_with_a_file_database(tmp_path: Path) -> None:
    db = tmp_path / "tickward.sqlite3"
    with serving(create_app(db)) as base, _client(base) as client:
        project = client.post("/projects", json={"name": "Over HTTP"}).json()
        url = f"/projects/{project['id']}/timers"
        headers = {"Idempotency-Key": "http-create-0001"}
        created = client.post(url, json=timer_body(id="http_timer"), headers=headers)
        replayed = client.post(url, json=timer_body(id="http_timer"), headers=headers)
        assert created.status_code == replayed.status_code == 201
        assert replayed.headers["Idempotency-Replayed"] == "true"
        etag = client.get("/sync").headers["etag"]
        assert client.get("/sync", headers={"If-None-Match": etag}).status_code == 304
        assert client.get("/nope").status_code == 404
    # a new app on the same file sees the same data, and replays the same key
    with serving(create_app(db)) as base, _client(base) as client:
        timers = client.get(url).json()["data"]
        assert [t["id"] for t in timers] == ["http_timer"]
        again = client.post(url, json=timer_body(id="http_timer"), headers=headers)
        assert again.headers["Idempotency-Replayed"] == "true"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_emulator_command_serves_with_a_generated_key(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("TICKWARD_API_KEY", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ical_bridge",
            "emulator",
            "--port",
            str(port),
            "--db",
            str(tmp_path / "emu.sqlite3"),
            "--timers-per-project",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        key_line = process.stdout.readline()
        assert banner.startswith(f"tickward emulator: http://127.0.0.1:{port}/api/v1")
        assert key_line.startswith("API key: tw_local_")
        key = key_line.split(": ", 1)[1].strip()
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/capabilities", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.05)
        with httpx.Client(
            base_url=base,
            headers={"Authorization": f"Bearer {key}"},
            event_hooks={"response": [_checked]},
        ) as client:
            pid = client.post("/projects", json={"name": "Emu"}).json()["id"]
            assert client.post(f"/projects/{pid}/timers", json=timer_body()).status_code == 201
            capped = client.post(f"/projects/{pid}/timers", json=timer_body())
            # a cap is not a field error: the text is in error.message, no errors[] (measured)
            assert capped.json()["error"]["message"] == "Maximum 1 timers allowed."
            assert "errors" not in capped.json()["error"]
            wrong = httpx.get(f"{base}/projects", headers=AUTH)
            assert wrong.status_code == 403  # only the printed key is accepted
    finally:
        process.terminate()
        process.wait(timeout=20)
        assert process.stdout is not None and process.stderr is not None
        rest = process.stdout.read() + process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert key not in rest  # the key is printed once, never logged
