"""fetch_source / read_source against a real HTTP server on 127.0.0.1 and real files."""

from __future__ import annotations

import asyncio
import io
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest

from ical_bridge.errors import SourceError
from ical_bridge.ingest.fetch import FetchResult, fetch_source, read_source, redact_url
from ical_bridge.vocabulary import MAX_SOURCE_BYTES

SECRET = "s3cr3t-token-123"


def fetch(source: str, **kw: Any) -> FetchResult:
    return asyncio.run(fetch_source(source, **kw))


def source_error(source: str, **kw: Any) -> SourceError:
    with pytest.raises(SourceError) as info:
        fetch(source, **kw)
    return info.value


def test_200_returns_body_and_validators(feed_server: Any) -> None:
    result = fetch(f"{feed_server.base}/feed.ics")
    assert result.body == feed_server.FEED
    assert not result.not_modified
    assert result.etag == feed_server.ETAG
    assert result.last_modified == feed_server.LAST_MODIFIED
    assert result.final_url == f"{feed_server.base}/feed.ics"


def test_etag_gives_304_not_modified(feed_server: Any) -> None:
    result = fetch(f"{feed_server.base}/feed.ics", etag=feed_server.ETAG)
    assert result.not_modified and result.body is None
    assert feed_server.seen[-1][1]["If-None-Match"] == feed_server.ETAG


def test_last_modified_gives_304(feed_server: Any) -> None:
    url = f"{feed_server.base}/modified-since.ics"
    first = fetch(url)
    assert first.body == feed_server.FEED
    second = fetch(url, last_modified=first.last_modified)
    assert second.not_modified and second.body is None


def test_stale_etag_gets_full_body(feed_server: Any) -> None:
    result = fetch(f"{feed_server.base}/feed.ics", etag='"old"')
    assert result.body == feed_server.FEED and not result.not_modified


@pytest.mark.parametrize("status", [404, 410, 500, 503])
def test_error_status_is_source_error_with_status(feed_server: Any, status: int) -> None:
    error = source_error(f"{feed_server.base}/status/{status}")
    assert error.status == status
    assert str(status) in str(error)


def test_redirects_are_followed_up_to_the_limit(feed_server: Any) -> None:
    result = fetch(f"{feed_server.base}/hops/3", max_redirects=5)
    assert result.body == feed_server.FEED
    assert result.final_url == f"{feed_server.base}/feed.ics"
    error = source_error(f"{feed_server.base}/hops/3", max_redirects=2)
    assert "redirects" in str(error)


def test_redirect_loop_is_refused(feed_server: Any) -> None:
    error = source_error(f"{feed_server.base}/loop")
    assert "redirects" in str(error)
    assert len(feed_server.seen) == 6  # the first request and five redirects, then stop


def test_redirect_to_file_scheme_is_refused(feed_server: Any) -> None:
    error = source_error(f"{feed_server.base}/to-file")
    assert "non-http" in str(error)


def test_gzip_body_is_decoded(feed_server: Any) -> None:
    assert fetch(f"{feed_server.base}/gzip.ics").body == feed_server.FEED


@pytest.mark.parametrize("route", ["/big", "/big-declared"])
def test_oversize_body_refused_while_streaming(feed_server: Any, route: str) -> None:
    cap = 2 * 1024 * 1024
    tracemalloc.start()
    try:
        error = source_error(f"{feed_server.base}{route}", max_bytes=cap)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "limit" in str(error)
    assert peak < 3 * cap, f"peak {peak} bytes: the body was buffered"
    assert feed_server.bytes_sent < feed_server.BIG


def test_oversize_body_default_cap_does_not_buffer_the_whole_body(feed_server: Any) -> None:
    tracemalloc.start()
    try:
        error = source_error(f"{feed_server.base}/big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"{MAX_SOURCE_BYTES} byte limit" in str(error)
    assert peak < 2.25 * MAX_SOURCE_BYTES  # at most the limit and one copy, never the body
    assert feed_server.bytes_sent < feed_server.BIG


def test_slow_server_times_out(feed_server: Any) -> None:
    error = source_error(f"{feed_server.base}/slow", timeout=0.5)
    assert "timed out" in str(error) or "within" in str(error)


def test_dripping_server_hits_total_deadline(feed_server: Any) -> None:
    # each byte arrives well inside the read timeout; only the total deadline stops it
    error = source_error(f"{feed_server.base}/drip", timeout=0.6)
    assert "0.6" in str(error) or "timed out" in str(error)


def test_connection_refused_is_source_error() -> None:
    error = source_error("http://127.0.0.1:9/feed.ics", timeout=2)
    assert "127.0.0.1:9" in str(error)


def test_webcal_maps_to_https() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")

    result = fetch("webcal://calendar.example/team.ics", transport=httpx.MockTransport(handler))
    assert seen == ["https://calendar.example/team.ics"]
    assert result.final_url == "https://calendar.example/team.ics"


def test_webcal_against_a_plain_http_server_falls_back_to_http(feed_server: Any) -> None:
    # issue 11: https first (see test_webcal_maps_to_https); the plain-http test server cannot
    # speak TLS, so the fetch falls back to http:// and says so in final_url
    port = feed_server.server_address[1]
    result = fetch(f"webcal://127.0.0.1:{port}/feed.ics", timeout=3)
    assert result.final_url == f"http://127.0.0.1:{port}/feed.ics"
    assert result.body


def test_webcal_does_not_fall_back_after_an_http_answer() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(404)

    error = source_error("webcal://calendar.example/team.ics",
                         transport=httpx.MockTransport(handler))
    assert seen == ["https://calendar.example/team.ics"] and error.status == 404


@pytest.mark.parametrize(
    "source",
    ["ftp://example.com/a.ics", "gopher://x/y", "data://text/calendar,x", "javascript://x"],
)
def test_other_schemes_refused(source: str) -> None:
    assert "unsupported source scheme" in str(source_error(source))


def test_plain_path_and_file_url(tmp_path: Path) -> None:
    path = tmp_path / "my cal.ics"
    path.write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    assert fetch(str(path)).body == path.read_bytes()
    assert fetch(path.as_uri()).body == path.read_bytes()
    assert read_source(str(path)) == path.read_bytes()


def test_missing_file_and_oversize_file(tmp_path: Path) -> None:
    assert "No such file" in str(source_error(str(tmp_path / "absent.ics")))
    big = tmp_path / "big.ics"
    big.write_bytes(b"x" * 2048)
    assert "limit" in str(source_error(str(big), max_bytes=1024))


def test_read_source_dash_reads_stdin() -> None:
    stdin = io.BytesIO(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    assert read_source("-", stdin=stdin) == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    with pytest.raises(SourceError):
        read_source("-", stdin=io.BytesIO(b"y" * 100), max_bytes=10)


def test_read_source_over_http(feed_server: Any) -> None:
    assert read_source(f"{feed_server.base}/feed.ics") == feed_server.FEED


def test_errors_never_show_query_or_credentials(feed_server: Any) -> None:
    port = feed_server.server_address[1]
    urls = [
        f"http://alice:{SECRET}@127.0.0.1:{port}/status/500?token={SECRET}",
        f"{feed_server.base}/status/404?key={SECRET}&x=1",
        f"{feed_server.base}/loop?token={SECRET}",
        f"http://127.0.0.1:9/cal.ics?token={SECRET}",
        f"ftp://bob:{SECRET}@example.com/cal.ics?token={SECRET}",
    ]
    for url in urls:
        error = source_error(url, timeout=3)
        assert SECRET not in str(error) and SECRET not in error.source
        assert error.__cause__ is None or SECRET not in str(error.__cause__)
        assert "alice" not in str(error) and "bob" not in str(error)
    assert "?…" in str(source_error(f"{feed_server.base}/status/404?key={SECRET}"))


def test_redact_url() -> None:
    assert redact_url(f"https://u:{SECRET}@h.example:8443/p/cal.ics?t={SECRET}#f") == (
        "https://h.example:8443/p/cal.ics?…"
    )
    assert redact_url("https://h.example/cal.ics") == "https://h.example/cal.ics"
    assert redact_url("/home/me/cal.ics") == "/home/me/cal.ics"
