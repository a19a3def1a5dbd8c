"""Helpers for daemon tests: a feed host (ETag/304, failure modes) and a local tickward.

Both listen on ephemeral 127.0.0.1 ports in threads of the test process, so a test
can count exactly what each one was asked while the daemon runs elsewhere.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from ical_bridge.localserver import EMBEDDED_API_KEY, RateLimitConfig, create_app
from ical_bridge.vocabulary import MAX_SOURCE_BYTES

BIG = MAX_SOURCE_BYTES + 16 * 1024 * 1024  # over the source limit
OBSERVER_KEY = "tw_test_observer"  # tests read with their own key: its own rate-limit bucket


def wait_for(condition: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def ics(events: list[dict[str, str]], *, name: str = "Team", extra: str = "") -> bytes:
    """A small VCALENDAR; each event dict holds UID, SUMMARY, DTSTART and optional RRULE."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//ical-bridge tests//EN"]
    lines.append(f"X-WR-CALNAME:{name}")
    if extra:
        lines.append(extra)
    for event in events:
        lines += ["BEGIN:VEVENT", f"UID:{event['UID']}", "DTSTAMP:20260101T000000Z"]
        lines += [f"{k}:{v}" for k, v in event.items() if k != "UID"]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def one_offs(count: int, start: datetime, *, prefix: str = "ev", label: str = "Event") -> bytes:
    """``count`` single events, a day apart from ``start``."""
    return ics(
        [
            {
                "UID": f"{prefix}-{i}@tests",
                "SUMMARY": f"{label} {i}",
                "DTSTART": (start + timedelta(days=i)).strftime("%Y%m%dT%H%M%SZ"),
            }
            for i in range(count)
        ]
    )


class FeedHost(ThreadingHTTPServer):
    """Serves files of ``root`` with a content ETag; ``modes[name]`` makes one misbehave."""

    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _FeedHandler)
        self.root = root
        self.modes: dict[str, str] = {}
        self.log: list[tuple[str, int]] = []  # (file name, status)
        self.lock = threading.Lock()
        self.release = threading.Event()  # ends every "hang" answer early (set on shutdown)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def count(self, name: str, status: int | None = None) -> int:
        with self.lock:
            return sum(1 for n, s in self.log if n == name and (status is None or s == status))


class _FeedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FeedHost

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        name = urlsplit(self.path).path.lstrip("/")
        mode = self.server.modes.get(name, "")
        status = self._answer(name, mode)
        with self.server.lock:
            self.server.log.append((name, status))

    def _answer(self, name: str, mode: str) -> int:
        if mode.isdigit():
            return self._send(int(mode), b"server trouble")
        if mode.startswith("redirect:"):  # "redirect:/other/path"
            return self._send(302, b"", {"Location": mode.removeprefix("redirect:")})
        if mode == "hang":  # says nothing for a minute
            self.server.release.wait(60)
            return self._send(503, b"late")
        if mode == "garbage":
            return self._send(200, b"\x00\x01PK\x03\x04 this is not a calendar" * 50)
        if mode == "big":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            block = b"BEGIN:VEVENT\r\n" * 4096
            try:
                for _ in range(BIG // len(block)):
                    self.wfile.write(block)
            except OSError:
                pass
            self.close_connection = True
            return 200
        path = self.server.root / name
        if not path.is_file():
            return self._send(404, b"no such feed")
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, b"", {"ETag": etag})
        return self._send(200, body, {"ETag": etag, "Content-Type": "text/calendar"})

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> int:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)
        return status


class Tickward:
    """A local tickward (``create_app``) served by uvicorn in a thread."""

    def __init__(self, db: Path, rate_limit: RateLimitConfig | None) -> None:
        keys = {EMBEDDED_API_KEY: "full_access", OBSERVER_KEY: "read"}
        self.app = create_app(db, api_keys=keys, rate_limit=rate_limit)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    @property
    def key(self) -> str:
        return EMBEDDED_API_KEY

    @property
    def requests(self) -> list[Any]:
        return list(self.app.state.requests)

    def start(self) -> None:
        self.thread.start()
        wait_for(lambda: self.server.started, 10, "tickward to start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
