"""Issue 15.7: a huge webhook body must not grow the server (measured in a server subprocess)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO

MB = 1024 * 1024
ATTACK_BYTES = 600 * MB
GROWTH_LIMIT = 50 * MB


@dataclass
class _Server:
    process: subprocess.Popen[str]
    port: int
    token: str

    def memory(self, field: str) -> int:
        """``VmRSS`` or ``VmHWM`` (peak) of the server process, in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {field} in /proc/{self.process.pid}/status")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.feeds.serve_proc", str(tmp_path)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        words = process.stdout.readline().split()
        assert words[:1] == ["port"], "the server did not start"
        yield _Server(process, int(words[1]), words[3])
    finally:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _send_chunked(port: int, headers: str, total: int) -> bytes:
    """POST ``total`` bytes in 1 MiB chunks (stops when the server closes); the answer."""
    chunk = b"x" * MB
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(
            b"POST /hooks/tickward HTTP/1.1\r\nHost: feeds\r\nContent-Type: application/json\r\n"
            + headers.encode() + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sent = 0
        try:
            while sent < total:
                sock.sendall(frame)
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped listening: what we want
        return _answer(sock)


def _answer(sock: socket.socket) -> bytes:
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            part = sock.recv(65536)
            if not part:
                break
            data += part
    except (ConnectionResetError, TimeoutError):
        pass
    return data


def _feed_ok(server: _Server) -> bool:
    url = f"http://127.0.0.1:{server.port}/feeds/{server.token}.ics"
    return httpx.get(url, timeout=30).status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize(
    "signature",
    ["", "tickward-signature: t=1795000000,v1=" + "0" * 64 + "\r\n"],
    ids=["unsigned", "forged-signature"],
)
def test_a_600_mb_chunked_webhook_body_does_not_grow_the_server(
    server: _Server, signature: str
) -> None:
    assert _feed_ok(server)  # warm up: the first render allocates what it needs
    before = server.memory("VmHWM")
    answer = _send_chunked(server.port, signature, ATTACK_BYTES)
    growth = server.memory("VmHWM") - before
    assert growth < GROWTH_LIMIT, f"peak RSS grew by {growth / MB:.0f} MB"
    if answer:  # the answer can be lost when the server resets a still-sending client
        assert answer.split(b" ", 2)[1] in (b"401", b"413"), answer[:80]
    assert _feed_ok(server)


def test_a_too_large_content_length_is_refused_before_reading(server: _Server) -> None:
    signature = "t=1795000000,v1=" + "0" * 64
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /hooks/tickward HTTP/1.1\r\nHost: feeds\r\nContent-Type: application/json\r\n"
            + f"tickward-signature: {signature}\r\nContent-Length: {ATTACK_BYTES}\r\n\r\n".encode()
        )
        answer = _answer(sock)  # not one body byte sent: the server answers anyway
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:80]
    assert b"connection: close" in answer.lower()
