"""A real HTTP server on 127.0.0.1 with routes that misbehave in every way a feed host can."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from ical_bridge.vocabulary import MAX_SOURCE_BYTES

FEED = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nEND:VCALENDAR\r\n"
ETAG = '"feed-v1"'
LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"
BIG = 3 * MAX_SOURCE_BYTES  # far over the limit: a client that buffered it all would show
CHUNK = 64 * 1024


class FeedHandler(BaseHTTPRequestHandler):
    """Routes by path; every request is recorded on the server."""

    protocol_version = "HTTP/1.1"
    server: FeedHTTPServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers.items())))
        route = urlsplit(self.path).path
        if route == "/feed.ics":
            if self.headers.get("If-None-Match") == ETAG:
                self._send(304, b"", {"ETag": ETAG})
            else:
                self._send(200, FEED, {"ETag": ETAG, "Last-Modified": LAST_MODIFIED})
        elif route == "/modified-since.ics":
            if self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                self._send(304, b"", {})
            else:
                self._send(200, FEED, {"Last-Modified": LAST_MODIFIED})
        elif route.startswith("/status/"):
            self._send(int(route.rsplit("/", 1)[1]), b"nope", {})
        elif route == "/loop":
            self._send(302, b"", {"Location": "/loop"})
        elif route.startswith("/hops/"):
            left = int(route.rsplit("/", 1)[1])
            target = f"/hops/{left - 1}" if left > 0 else "/feed.ics"
            self._send(301, b"", {"Location": target})
        elif route == "/to-file":
            self._send(302, b"", {"Location": "file:///etc/passwd"})
        elif route == "/gzip.ics":
            self._send(200, gzip.compress(FEED), {"Content-Encoding": "gzip"})
        elif route == "/big":
            self._stream_big(declare=False)
        elif route == "/big-declared":
            self._stream_big(declare=True)
        elif route == "/slow":
            self.server.release.wait(5)
            self._send(200, FEED, {})
        elif route == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                if self.server.release.wait(0.05):
                    return
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
        else:
            self._send(404, b"not here", {})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and status != 304:
            self.wfile.write(body)

    def _stream_big(self, *, declare: bool) -> None:
        self.send_response(200)
        if declare:
            self.send_header("Content-Length", str(BIG))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        block = b"A" * CHUNK
        sent = 0
        try:
            while sent < BIG:
                self.wfile.write(block)
                sent += CHUNK
                self.server.bytes_sent = sent
        except OSError:
            pass
        self.close_connection = True


class FeedHTTPServer(ThreadingHTTPServer):
    """The server, with what it saw and how much of a big body it managed to send."""

    daemon_threads = True
    FEED = FEED
    ETAG = ETAG
    LAST_MODIFIED = LAST_MODIFIED
    BIG = BIG

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FeedHandler)
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.release = threading.Event()
        self.bytes_sent = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def feed_server() -> Iterator[FeedHTTPServer]:
    """A running ``FeedHTTPServer``; stopped (and slow handlers released) afterwards."""
    server = FeedHTTPServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
