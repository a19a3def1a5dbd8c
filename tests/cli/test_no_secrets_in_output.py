"""Secrets in feed URLs and API keys never reach the terminal, even at -vv."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import REPO, SAMPLE_FEEDS

FEED_TOKEN = "s3cr3t-feed-token-7f2a9c"


class _FeedHandler(BaseHTTPRequestHandler):
    body = (SAMPLE_FEEDS / "team_meetings.ics").read_bytes()

    def do_GET(self) -> None:
        if FEED_TOKEN not in self.path:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        return


@pytest.fixture
def feed_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FeedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/cal.ics?token={FEED_TOKEN}"
    finally:
        server.shutdown()
        server.server_close()


def _run(*args: str, tmp: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ical_bridge", "-vv", "--local", f"{tmp}/store.sqlite3", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": tmp, "XDG_DATA_HOME": tmp},
    )


def test_feed_token_in_url_is_not_printed_by_convert_or_import(
    feed_url: str, tmp_path: object
) -> None:
    tmp = str(tmp_path)
    converted = _run("convert", feed_url, "--json", tmp=tmp)
    assert converted.returncode == 0, converted.stderr
    assert '"timers"' in converted.stdout  # the feed really was fetched and converted
    imported = _run(
        "import", feed_url, "--project", "Team", "--yes", "--state", f"{tmp}/state.sqlite3",
        tmp=tmp,
    )
    assert imported.returncode == 0, imported.stderr
    for result in (converted, imported):
        assert FEED_TOKEN not in result.stderr
    assert FEED_TOKEN not in imported.stdout


def test_unreachable_feed_error_does_not_echo_the_token(tmp_path: object) -> None:
    tmp = str(tmp_path)
    # port 9 on loopback: nothing listens there, so the connection is refused at once
    result = _run("convert", f"http://127.0.0.1:9/cal.ics?token={FEED_TOKEN}", tmp=tmp)
    assert result.returncode in (1, 2)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip(), "a failed fetch must say why"
    assert FEED_TOKEN not in result.stderr + result.stdout
