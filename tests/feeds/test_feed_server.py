"""The feed server over a real local tickward: HTTP caching, tokens, webhooks, upstream load."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest

from ical_bridge.feeds import ExportFeed, rotate_token, sign
from ical_bridge.localserver import EMBEDDED_API_KEY
from tests.feeds.feed_harness import REFRESH, WEBHOOK_SECRET, Harness, harness, later


def run(test: Callable[[Harness], Awaitable[None]], tmp_path: Path, **options: Any) -> None:
    async def main() -> None:
        async with harness(tmp_path, **options) as h:
            await test(h)

    asyncio.run(main())


def summaries(body: bytes) -> list[str]:
    return sorted(str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_200_then_304_with_the_etag(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        first = await h.http.get(h.feed_path())
        assert first.status_code == 200
        assert first.headers["content-type"] == "text/calendar; charset=utf-8"
        assert first.headers["cache-control"] == "max-age=3600"
        etag = first.headers["etag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        assert summaries(first.content) == ["Deploy", "Launch"]
        again = await h.http.get(h.feed_path(), headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        since = await h.http.get(
            h.feed_path(), headers={"If-Modified-Since": first.headers["last-modified"]}
        )
        assert since.status_code == 304
        other = await h.http.get(h.feed_path(), headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.content == first.content

    run(check, tmp_path)


def test_head_has_the_get_headers_and_no_body(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        plain = {"Accept-Encoding": "identity"}
        got = await h.http.get(h.feed_path(), headers=plain)
        head = await h.http.head(h.feed_path(), headers=plain)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(got.content))
        assert head.headers["etag"] == got.headers["etag"]

    run(check, tmp_path)


def test_gzip_when_asked(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        plain = await h.http.get(h.feed_path(), headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        async with h.http.stream(
            "GET", h.feed_path(), headers={"Accept-Encoding": "gzip, deflate"}
        ) as zipped:
            raw = b"".join([chunk async for chunk in zipped.aiter_raw()])
            assert zipped.headers["content-encoding"] == "gzip"
            assert zipped.headers["vary"] == "Accept-Encoding"
            assert zipped.headers["etag"] != plain.headers["etag"]
        assert gzip.decompress(raw) == plain.content
        refused = await h.http.get(h.feed_path(), headers={"Accept-Encoding": "gzip;q=0"})
        assert "content-encoding" not in refused.headers

    run(check, tmp_path)


def test_unknown_token_is_an_ordinary_404(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        token = h.token()
        wrong = await h.http.get(f"/feeds/{token[:-1]}x.ics")
        missing = await h.http.get("/no/such/path")
        no_suffix = await h.http.get(f"/feeds/{token}")
        for response in (wrong, no_suffix):
            assert response.status_code == missing.status_code == 404
            assert response.content == missing.content
            assert dict(response.headers) == dict(missing.headers)

    run(check, tmp_path)


def test_feed_never_contains_secrets(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        body = (await h.http.get(h.feed_path())).content
        for secret in (EMBEDDED_API_KEY, h.token(), WEBHOOK_SECRET):
            assert secret.encode() not in body

    run(check, tmp_path)


def test_a_thousand_subscribers_cost_one_upstream_sync_per_period(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        before = h.sync_requests()
        responses = await asyncio.gather(*(h.http.get(h.feed_path()) for _ in range(1000)))
        assert {r.status_code for r in responses} == {200}
        assert len({r.content for r in responses}) == 1
        assert h.sync_requests() - before == 1
        later(h.clock, REFRESH / 2)
        await asyncio.gather(*(h.http.get(h.feed_path()) for _ in range(100)))
        assert h.sync_requests() - before == 1  # still inside the period
        later(h.clock, REFRESH)
        responses = await asyncio.gather(*(h.http.get(h.feed_path()) for _ in range(200)))
        assert {r.status_code for r in responses} == {200}
        assert h.sync_requests() - before == 2  # one conditional refresh for the new period

    run(check, tmp_path)


def test_timer_changes_show_up_after_the_refresh_period(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        first = await h.http.get(h.feed_path())
        await h.writer.update_timer(h.project.id, "launch_0001", {"label": "Launch v2"})
        cached = await h.http.get(h.feed_path())
        assert summaries(cached.content) == ["Deploy", "Launch"]  # the period has not expired
        later(h.clock, REFRESH + 1)
        fresh = await h.http.get(h.feed_path(), headers={"If-None-Match": first.headers["etag"]})
        assert fresh.status_code == 200 and summaries(fresh.content) == ["Deploy", "Launch v2"]

    run(check, tmp_path)


def _event(event_id: str, kind: str = "timer.updated") -> bytes:
    return json.dumps({"id": event_id, "type": kind, "data": {"object": {}}}).encode()


def _signed(h: Harness, body: bytes, *, at: float | None = None, secret: str = WEBHOOK_SECRET
            ) -> dict[str, str]:
    stamp = int(h.clock.now().timestamp() if at is None else at)
    return {"tickward-signature": sign(body, secret, stamp), "content-type": "application/json"}


def test_signed_webhook_refreshes_the_feed_at_once(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        await h.http.get(h.feed_path())
        await h.writer.update_timer(h.project.id, "launch_0001", {"label": "Moved"})
        body = _event("evt_0001")
        hook = await h.http.post("/hooks/tickward", content=body, headers=_signed(h, body))
        assert hook.status_code == 200 and hook.json() == {"status": "accepted"}
        after = await h.http.get(h.feed_path())
        assert summaries(after.content) == ["Deploy", "Moved"]

    run(check, tmp_path)


def test_bad_stale_unsigned_and_replayed_webhooks_change_nothing(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        await h.http.get(h.feed_path())
        accepted = _event("evt_first")
        ok = await h.http.post("/hooks/tickward", content=accepted, headers=_signed(h, accepted))
        assert ok.status_code == 200
        await h.http.get(h.feed_path())  # consume the refresh that event asked for
        await h.writer.update_timer(h.project.id, "launch_0001", {"label": "Changed"})
        syncs = h.sync_requests()
        body = _event("evt_0002")
        attempts = {
            "unsigned": {"content-type": "application/json"},
            "wrong secret": _signed(h, body, secret="whsec_someone_else"),
            "stale": _signed(h, body, at=h.clock.now().timestamp() - 301),
            "future": _signed(h, body, at=h.clock.now().timestamp() + 301),
            "malformed": {"tickward-signature": "v1=00,t=abc"},
        }
        for what, headers in attempts.items():
            response = await h.http.post("/hooks/tickward", content=body, headers=headers)
            assert response.status_code == 401, what
        tampered = await h.http.post(
            "/hooks/tickward", content=_event("evt_0003"), headers=_signed(h, body)
        )
        assert tampered.status_code == 401
        # A replay of an already-accepted delivery: 200 (so tickward stops retrying), no effect.
        replay = await h.http.post("/hooks/tickward", content=accepted,
                                   headers=_signed(h, accepted))
        assert replay.status_code == 200 and replay.json() == {"status": "duplicate"}
        feed = await h.http.get(h.feed_path())
        assert summaries(feed.content) == ["Deploy", "Launch"]
        assert h.sync_requests() == syncs
        # The stale signature was valid apart from its age: inside the window it works.
        fresh = await h.http.post("/hooks/tickward", content=body, headers=_signed(h, body))
        assert fresh.status_code == 200
        assert summaries((await h.http.get(h.feed_path())).content) == ["Changed", "Deploy"]

    run(check, tmp_path)


def test_webhook_route_is_absent_without_a_secret(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        body = _event("evt_x")
        response = await h.http.post("/hooks/tickward", content=body, headers=_signed(h, body))
        assert response.status_code == 404

    run(check, tmp_path, webhook_secret=None)


class _Switchable(httpx.AsyncBaseTransport):
    """The network between the feed server and tickward, which a test can cut."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


def test_last_good_snapshot_is_served_while_tickward_is_unreachable(tmp_path: Path) -> None:
    holder: dict[str, _Switchable] = {}

    async def main() -> None:
        # the upstream transport wraps the harness's own tickward once it exists
        class Late(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                return await holder["net"].handle_async_request(request)

        async with harness(tmp_path, upstream=Late()) as h:
            holder["net"] = _Switchable(httpx.ASGITransport(app=h.tickward))
            first = await h.http.get(h.feed_path())
            assert first.status_code == 200
            holder["net"].down = True
            later(h.clock, REFRESH + 1)
            during = await h.http.get(h.feed_path())
            assert during.status_code == 200 and during.content == first.content
            assert h.source.failures == 1
            holder["net"].down = False
            await h.writer.update_timer(h.project.id, "launch_0001", {"label": "Back"})
            later(h.clock, REFRESH + 1)
            after = await h.http.get(h.feed_path())
            assert summaries(after.content) == ["Back", "Deploy"]

    asyncio.run(main())


class _Gated(httpx.AsyncBaseTransport):
    """A network that stalls every request until the test opens the gate."""

    def __init__(self) -> None:
        self.inner: httpx.AsyncBaseTransport | None = None
        self.open = asyncio.Event()
        self.open.set()
        self.waiting = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.waiting += 1
        await self.open.wait()
        self.waiting -= 1
        assert self.inner is not None
        return await self.inner.handle_async_request(request)


def test_a_slow_tickward_does_not_hold_subscribers(tmp_path: Path) -> None:
    gate = _Gated()

    async def main() -> None:
        async with harness(tmp_path, upstream=gate, max_wait=0.05) as h:
            gate.inner = httpx.ASGITransport(app=h.tickward)
            first = await h.http.get(h.feed_path())
            gate.open.clear()
            await h.writer.update_timer(h.project.id, "launch_0001", {"label": "Slow"})
            later(h.clock, REFRESH + 1)
            stale = await asyncio.gather(*(h.http.get(h.feed_path()) for _ in range(20)))
            assert {r.content for r in stale} == {first.content}
            assert gate.waiting == 1  # one refresh in flight for everyone
            gate.open.set()
            deadline = asyncio.get_running_loop().time() + 10
            while h.source.current is None or h.source.current.version < 2:
                assert asyncio.get_running_loop().time() < deadline, "refresh never finished"
                await asyncio.sleep(0.01)
            fresh = await h.http.get(h.feed_path())
            assert summaries(fresh.content) == ["Deploy", "Slow"]

    asyncio.run(main())


def test_unreachable_tickward_without_any_snapshot_is_a_503(tmp_path: Path) -> None:
    net = _Switchable(httpx.MockTransport(lambda request: httpx.Response(500)))
    net.down = True

    async def check(h: Harness) -> None:
        response = await h.http.get(h.feed_path())
        assert response.status_code == 503 and "retry-after" in response.headers

    run(check, tmp_path, upstream=net)


def test_tokens_persist_and_rotation_retires_the_old_url(tmp_path: Path) -> None:
    seen: list[str] = []

    async def first(h: Harness) -> None:
        seen.append(h.token())
        assert len(h.token()) >= 43  # token_urlsafe(32)
        assert (await h.http.get(h.feed_path())).status_code == 200

    async def second(h: Harness) -> None:
        assert h.token() == seen[0]  # same store, same URL after a restart
        old = h.feed_path()
        rotate_token(h.store, "team")
        assert (await h.http.get(old)).status_code == 404  # token_ttl=0: re-read every time
        assert (await h.http.get(h.feed_path())).status_code == 200

    run(first, tmp_path, token_ttl=0)
    run(second, tmp_path, token_ttl=0)


def test_index_needs_the_index_token(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        assert (await h.http.get("/")).status_code == 404
        assert (await h.http.get("/?token=wrong")).status_code == 404
        page = await h.http.get("/?token=index-secret-42")
        assert page.status_code == 200
        assert f"webcal://feeds.test/feeds/{h.token()}.ics" in page.text

    run(check, tmp_path, index_token="index-secret-42")


def test_index_without_token_only_for_loopback_clients(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        assert (await h.http.get("/")).status_code == 200  # ASGITransport client is 127.0.0.1
        remote = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=h.app, client=("203.0.113.7", 4000)),
            base_url="http://feeds.test",
        )
        async with remote:
            assert (await remote.get("/")).status_code == 404

    run(check, tmp_path, loopback_index=True, public_url="https://cal.example.org")
    run(lambda h: _expect_404(h, "/"), tmp_path)  # default: no index at all


async def _expect_404(h: Harness, path: str) -> None:
    assert (await h.http.get(path)).status_code == 404


def test_exports_of_a_space_and_by_project_id(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        ops = await h.http.get(f"/feeds/{h.token('ops')}.ics")
        assert summaries(ops.content) == ["Deploy"]
        cal = icalendar.Calendar.from_ical(ops.content)
        assert str(cal["X-WR-CALNAME"]) == "Team / Ops"
        team = await h.http.get(h.feed_path())
        assert summaries(team.content) == ["Deploy", "Launch"]
        assert h.token("ops") != h.token("team")

    run(check, tmp_path, exports=[
        ExportFeed(name="team", project="Team"),
        ExportFeed(name="ops", project="Team", space="ops"),
    ])


def test_export_of_a_vanished_project_is_a_plain_404(tmp_path: Path) -> None:
    async def check(h: Harness) -> None:
        gone = await h.http.get(f"/feeds/{h.token('gone')}.ics")
        assert gone.status_code == 404 and gone.content == b"Not Found"

    run(check, tmp_path, exports=[ExportFeed(name="team", project="Team"),
                                  ExportFeed(name="gone", project="Nope")])


@pytest.mark.parametrize("header", ["*", 'W/"{}"', '"x", "{}"'])
def test_if_none_match_forms(tmp_path: Path, header: str) -> None:
    async def check(h: Harness) -> None:
        first = await h.http.get(h.feed_path())
        digest = first.headers["etag"].strip('"')
        response = await h.http.get(h.feed_path(),
                                    headers={"If-None-Match": header.format(digest)})
        assert response.status_code == 304

    run(check, tmp_path)
