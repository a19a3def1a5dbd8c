"""The feed server over real HTTP (uvicorn on an ephemeral loopback port): tokens never logged."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest

from ical_bridge.feeds import ACCESS_LOGGER
from ical_bridge.feeds.server import make_server
from tests.feeds.feed_harness import harness


class _Running:
    def __init__(self) -> None:
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.port = 0
        self.token = ""
        self.error: BaseException | None = None


def _serve(tmp_path: Path, running: _Running, access_log: bool) -> None:
    async def main() -> None:
        async with harness(tmp_path) as h:
            server = make_server(h.app, host="127.0.0.1", port=0, access_log=access_log)
            task = asyncio.create_task(server.serve())
            deadline = time.monotonic() + 10
            while not server.started:
                if task.done() or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start")
                await asyncio.sleep(0.01)
            running.port = server.servers[0].sockets[0].getsockname()[1]
            running.token = h.token()
            running.ready.set()
            await asyncio.to_thread(running.stop.wait)
            server.should_exit = True
            await task

    try:
        asyncio.run(main())
    except BaseException as exc:  # reported to the test thread
        running.error = exc
        running.ready.set()


def _with_server(tmp_path: Path, access_log: bool, check: Any) -> None:
    running = _Running()
    thread = threading.Thread(target=_serve, args=(tmp_path, running, access_log), daemon=True)
    thread.start()
    try:
        assert running.ready.wait(20), "server did not come up"
        assert running.error is None, running.error
        check(f"http://127.0.0.1:{running.port}", running.token)
    finally:
        running.stop.set()
        thread.join(20)
    assert running.error is None, running.error


@pytest.mark.parametrize("access_log", [False, True])
def test_real_http_feed_and_no_token_in_any_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, access_log: bool
) -> None:
    def check(base: str, token: str) -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            first = http.get(f"/feeds/{token}.ics", headers={"Accept-Encoding": "gzip"})
            assert first.status_code == 200
            assert first.headers["content-encoding"] == "gzip"
            assert first.headers["content-type"] == "text/calendar; charset=utf-8"
            cal = icalendar.Calendar.from_ical(first.content)
            assert len(cal.walk("VEVENT")) == 2
            again = http.get(f"/feeds/{token}.ics",
                             headers={"If-None-Match": first.headers["etag"],
                                      "Accept-Encoding": "gzip"})
            assert again.status_code == 304
            head = http.head(f"/feeds/{token}.ics", headers={"Accept-Encoding": "identity"})
            assert head.status_code == 200 and head.content == b""
            raw = http.get(f"/feeds/{token}.ics", headers={"Accept-Encoding": "identity"})
            assert int(head.headers["content-length"]) == len(raw.content)
            assert raw.content.startswith(b"BEGIN:VCALENDAR\r\n")
            assert http.get(f"/feeds/{token}x.ics").status_code == 404

    # Another test may have run uvicorn with its own logging config (propagate off):
    # listen on uvicorn's access logger directly, whatever its configuration.
    uvicorn_access = logging.getLogger("uvicorn.access")
    saved = (uvicorn_access.level, uvicorn_access.disabled)
    uvicorn_access.setLevel(logging.INFO)
    uvicorn_access.disabled = False
    uvicorn_access.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO):
            _with_server(tmp_path, access_log, check)
    finally:
        uvicorn_access.removeHandler(caplog.handler)
        uvicorn_access.setLevel(saved[0])
        uvicorn_access.disabled = saved[1]
    access = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    assert "GET /feeds/<redacted> 200" in access and "GET /feeds/<redacted> 304" in access
    if access_log:
        assert any(r.name == "uvicorn.access" for r in caplog.records)
    _assert_no_token(caplog, tmp_path)


def _assert_no_token(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    from ical_bridge.store import StateStore

    with StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}") as store:
        token = store.export_token("team")
    assert token
    for record in caplog.records:
        if record.name == "httpx" and "http://127.0.0.1:" in record.getMessage():
            continue  # the test's own subscriber client, not the server
        assert token not in record.getMessage(), record.name
        assert token[:20] not in record.getMessage(), record.name
