"""``InProcessTransport``: the app sees exactly what ``httpx.ASGITransport`` shows it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.responses import StreamingResponse

from ical_bridge.tickward import InProcessTransport

Seen = list[dict[str, Any]]


def recording_app(seen: Seen) -> Any:
    """Records each request's scope and body; answers in two chunks with a custom header."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append({"scope": scope, "body": body})
        await send({"type": "http.response.start", "status": 201,
                    "headers": [(b"content-type", b"application/json"), (b"x-seen", b"1")]})
        await send({"type": "http.response.body", "body": b'{"a":', "more_body": True})
        await send({"type": "http.response.body", "body": b'"b"}'})

    return app


async def _exchange(transport: httpx.AsyncBaseTransport) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url="http://embedded.local/api/v1/", transport=transport,
                                 headers={"Authorization": "Bearer k"}) as client:
        return [
            await client.get("projects", params={"limit": 5, "after": "p 1"}),
            await client.post("projects/p%2F1/timers", content=b'{"label":"x"}',
                              headers={"Idempotency-Key": "key-12345678",
                                       "Content-Type": "application/json"}),
            await client.patch("projects/p1/timers/t1", json={"label": "é"}),
            await client.delete("projects/p1?dry_run=true"),
            await client.head("sync"),
            await client.get("sync", headers={"If-None-Match": '"abc"'}),
        ]


def test_the_app_gets_the_scope_and_body_asgi_transport_gives_it() -> None:
    theirs: Seen = []
    ours: Seen = []
    expected = asyncio.run(_exchange(httpx.ASGITransport(app=recording_app(theirs))))
    got = asyncio.run(_exchange(InProcessTransport(recording_app(ours))))
    assert len(ours) == len(theirs) == 6
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine == reference
    for mine_r, reference_r in zip(got, expected, strict=True):
        assert mine_r.status_code == reference_r.status_code == 201
        assert mine_r.headers.multi_items() == reference_r.headers.multi_items()
        assert mine_r.content == reference_r.content
    assert [r.content for r in got] == [b'{"a":"b"}'] * 4 + [b""] + [b'{"a":"b"}']  # HEAD: none


def test_an_app_that_listens_for_a_disconnect_while_it_streams_is_answered() -> None:
    async def chunks() -> Any:
        for part in (b"one ", b"two"):
            await asyncio.sleep(0)
            yield part

    app = StreamingResponse(chunks(), media_type="text/plain")

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=InProcessTransport(app)) as client:
            return await asyncio.wait_for(client.get("http://embedded.local/"), 5)

    response = asyncio.run(go())
    assert (response.status_code, response.text) == (200, "one two")


def test_an_app_failure_reaches_the_caller() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise LookupError("the app failed")

    async def go() -> None:
        async with httpx.AsyncClient(transport=InProcessTransport(broken)) as client:
            await client.get("http://embedded.local/")

    with pytest.raises(LookupError, match="the app failed"):
        asyncio.run(go())


def test_an_app_that_never_answers_is_an_error_not_an_empty_response() -> None:
    async def silent(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def go() -> None:
        async with httpx.AsyncClient(transport=InProcessTransport(silent)) as client:
            await client.get("http://embedded.local/")

    with pytest.raises(RuntimeError, match="without a complete response"):
        asyncio.run(go())
