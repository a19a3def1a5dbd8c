"""``webcal://`` names no transport: https first, plain http when the server speaks only
that, and the user is told (issue 11 polish). A real HTTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ical_bridge.cli import cli
from tests.conftest import SAMPLE_FEEDS
from tests.sync.import_helpers import LiveServer, start_live, stop_live

BODY = (SAMPLE_FEEDS / "holidays_all_day_yearly.ics").read_bytes()


@pytest.fixture
def plain_http() -> Iterator[LiveServer]:
    async def calendar(request: Request) -> Response:
        return Response(BODY, media_type="text/calendar")

    live = start_live(Starlette(routes=[Route("/cal.ics", calendar)]))
    yield live
    stop_live(live)


def test_webcal_falls_back_to_plain_http_and_says_so(plain_http: LiveServer) -> None:
    url = f"webcal://127.0.0.1:{plain_http.port}/cal.ics"
    result = CliRunner().invoke(cli, ["convert", "--json", "--now", "2026-11-30T00:00:00Z", url])
    assert result.exit_code == 0, result.output + result.stderr
    assert '"timers"' in result.stdout
    assert "plain http://" in result.stderr and "unencrypted" in result.stderr
