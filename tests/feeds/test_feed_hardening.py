"""Issue 15 (5, 6, 10, 11) over real HTTP: tokens never logged, whatever the path looks like;
the loopback index refuses proxied requests; slow clients cannot hold connections; a bad
webhook event id is a 400."""

from __future__ import annotations

import json
import logging
import select
import socket
from pathlib import Path

import httpx
import pytest

from ical_bridge.feeds import ACCESS_LOGGER, sign
from tests.feeds.feed_harness import WEBHOOK_SECRET
from tests.feeds.live_server import Live, live_server, uvicorn_access_captured


def _variants(token: str) -> list[str]:
    """Request targets that carry the token somewhere other than ``/feeds/<token>.ics``."""
    return [
        f"/feeds//{token}.ics",
        f"/FEEDS/{token}.ics",
        f"/{token}.ics",
        f"/{token}",
        f"/feeds/{token}.ics/extra",
        f"/x/{token}.ics?download=1",
        f"/feeds/x.ics?t={token}",
        f"/?TOKEN={token}",
        f"/hooks/{token}",
        "/%" + format(ord(token[0]), "02X") + token[1:] + ".ics",
        f"/{token.lower()}.ics",
        f"/{token[:-4]}.ics",
        f"/{token[3:]}",
    ]


def _assert_not_in_logs(caplog: pytest.LogCaptureFixture, token: str) -> None:
    fragments = [token[:16], token[-16:], token[10:26]]
    for record in caplog.records:
        if record.name.startswith("httpx") or record.name.startswith("httpcore"):
            continue  # the test's own client, not the server
        text = record.getMessage().lower()
        for fragment in fragments:
            assert fragment.lower() not in text, (record.name, record.getMessage())


@pytest.mark.parametrize("access_log", [False, True])
def test_access_log_redacts_the_token_value_whatever_the_path_shape(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, access_log: bool
) -> None:
    with uvicorn_access_captured(caplog), live_server(tmp_path, access_log=access_log) as live:
        with httpx.Client(base_url=live.base, timeout=10) as http:
            assert http.get(f"/feeds/{live.token}.ics").status_code == 200
            for target in _variants(live.token):
                response = http.get(target)
                assert response.status_code in (404, 405), target
    access = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    assert "GET /feeds/<redacted> 200" in access
    assert len(access) == 1 + len(_variants(live.token))
    if access_log:
        assert any(r.name == "uvicorn.access" for r in caplog.records)
    _assert_not_in_logs(caplog, live.token)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-For": "203.0.113.9"},
        {"X-Forwarded-For": "127.0.0.1"},
        {"Forwarded": "for=203.0.113.9;proto=https"},
        {"Forwarded": "for=127.0.0.1"},
        {"X-Real-IP": "203.0.113.9"},
        {"X-Forwarded-Proto": "https"},
        {"Via": "1.1 proxy.example.org"},
    ],
    ids=[
        "xff-remote", "xff-loopback", "forwarded-remote", "forwarded-loopback", "x-real-ip",
        "x-forwarded-proto", "via",
    ],
)
def test_loopback_index_refuses_requests_that_came_through_a_proxy(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    with live_server(tmp_path, loopback_index=True) as live, httpx.Client(
        base_url=live.base, timeout=10
    ) as http:
        page = http.get("/")
        assert page.status_code == 200 and live.token in page.text  # direct loopback client
        proxied = http.get("/", headers=headers)
        assert proxied.status_code == 404 and live.token not in proxied.text


def test_proxied_loopback_index_when_configured(tmp_path: Path) -> None:
    with live_server(tmp_path, loopback_index=True, allow_proxied_index=True) as live, (
        httpx.Client(base_url=live.base, timeout=10)
    ) as http:
        assert http.get("/", headers={"Forwarded": "for=127.0.0.1"}).status_code == 200
        # uvicorn trusts a loopback proxy's X-Forwarded-For: the real client is remote.
        assert http.get("/", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404


def _closed(sock: socket.socket) -> bool:
    """True once the server closed its end (EOF or reset); reads whatever it sent."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(65536) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


@pytest.mark.slow
def test_trickling_and_idle_clients_are_dropped(tmp_path: Path) -> None:
    """A header line every 2 s (slowloris), a body byte every 2 s, a silent connection:
    all closed within 30 s, and the server still answers."""
    with live_server(tmp_path) as live:
        signature = sign(b"{}", WEBHOOK_SECRET, live.stamp)
        openers = {
            "headers": f"GET /feeds/{live.token}.ics HTTP/1.1\r\nHost: feeds\r\n",
            "body": "POST /hooks/tickward HTTP/1.1\r\nHost: feeds\r\nContent-Length: 1000\r\n"
            f"tickward-signature: {signature}\r\n\r\n{{",
            "idle": "",
        }
        drips = {"headers": "X-Slow: {n}\r\n", "body": " ", "idle": ""}
        socks = {what: socket.create_connection((live.host, live.port), timeout=5)
                 for what in openers}
        try:
            for what, opener in openers.items():
                socks[what].sendall(opener.encode())
            open_ = set(socks)
            # 15 rounds of 2 s: a server without a request deadline keeps them all 30 s.
            for n in range(15):
                readable, _, _ = select.select([socks[w] for w in open_], [], [], 2.0)
                for what in list(open_):
                    if socks[what] in readable and _closed(socks[what]):
                        open_.discard(what)
                if not open_:
                    break
                for what in list(open_):
                    if drips[what]:
                        try:
                            socks[what].sendall(drips[what].format(n=n).encode())
                        except (BrokenPipeError, ConnectionResetError):
                            open_.discard(what)
            assert not open_, f"kept for 30 s: {sorted(open_)}"
            # An ordinary request still works on a fresh connection.
            with httpx.Client(base_url=live.base, timeout=10) as http:
                assert http.get(f"/feeds/{live.token}.ics").status_code == 200
        finally:
            for sock in socks.values():
                sock.close()


def _signed_post(live: Live, body: bytes) -> httpx.Response:
    headers = {
        "tickward-signature": sign(body, WEBHOOK_SECRET, live.stamp),
        "content-type": "application/json",
    }
    with httpx.Client(base_url=live.base, timeout=10) as http:
        return http.post("/hooks/tickward", content=body, headers=headers)


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"id": "evt_\x00_nul", "type": "timer.updated"}).encode(),
        json.dumps({"id": "evt_\ud800", "type": "timer.updated"}).encode(),
        json.dumps({"id": "evt_\n_newline", "type": "timer.updated"}).encode(),
        json.dumps({"id": "e" * 5000, "type": "timer.updated"}).encode(),
        json.dumps({"id": 42, "type": "timer.updated"}).encode(),
        json.dumps({"id": "", "type": "timer.updated"}).encode(),
        json.dumps(["evt_1"]).encode(),
        b"[" * 100_000 + b"]" * 100_000,
        b"\xff\xfe not json",
    ],
    ids=["nul", "surrogate", "newline", "huge", "number", "empty", "list", "deep", "binary"],
)
def test_signed_webhook_with_an_invalid_event_id_is_a_400_without_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    with caplog.at_level(logging.INFO), live_server(tmp_path) as live:
        response = _signed_post(live, body)
        assert response.status_code == 400
        assert response.json() == {"error": "not a tickward event"}
        good = json.dumps({"id": "evt_good", "type": "timer.updated"}).encode()
        assert _signed_post(live, good).status_code == 200  # the server is fine afterwards
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
