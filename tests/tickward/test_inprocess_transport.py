"""``InProcessTransport``: the app sees exactly what ``httpx.ASGITransport`` shows it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from starlette.responses import StreamingResponse

from ical_bridge.errors import NotFoundError
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.tickward import InProcessTransport, TickwardClient
from ical_bridge.tickward.correlation import correlated, install_correlation

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


def _recorded(app: Any, seen: Seen) -> Any:
    """``app``, recording each request's scope and body on the way in."""

    async def recorder(scope: dict[str, Any], receive: Any, send: Any) -> None:
        entry: dict[str, Any] = {"scope": dict(scope), "body": b""}
        seen.append(entry)

        async def spy() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            entry["body"] += message.get("body", b"")
            return message

        await app(scope, spy, send)

    return recorder


async def _session(client: TickwardClient) -> list[Any]:
    """Every kind of request an import sends; answers without server-made ids and times."""
    project = await client.create_project({"name": "Team"}, idempotency_key="project-0001")
    body = {"id": "tmr-dentist", "label": "Dentist", "target_date": "2027-04-01T08:30:00Z",
            "timezone": "Europe/Warsaw"}
    answers: list[Any] = [
        await client.create_timer(project.id, body, idempotency_key="create-0001"),
        await client.create_timer(project.id, body, idempotency_key="create-0001"),  # replay
        await client.get_timer(project.id, "tmr-dentist"),
        await client.update_timer(project.id, "tmr-dentist", {"label": "Dentist (moved)"},
                                  idempotency_key="update-0001"),
        await client.list_timers(project.id),
    ]
    first = await client.sync()
    answers.append((await client.sync(first.etag)).not_modified)
    with pytest.raises(NotFoundError):
        await client.get_timer(project.id, "tmr-missing")
    answers.append(await client.delete_timer(project.id, "tmr-dentist",
                                             idempotency_key="delete-0001"))
    volatile = {"project_id", "created_at", "updated_at"}
    return [a.model_dump(mode="json", exclude=volatile) if hasattr(a, "model_dump")
            else [t.model_dump(mode="json", exclude=volatile) for t in a]
            if isinstance(a, list) else a for a in answers]


def _run_session(*, in_process: bool, reference: bool = False) -> tuple[list[Any], Seen]:
    seen: Seen = []
    app = _recorded(create_app(None, rate_limit=None), seen)
    transport = httpx.ASGITransport(app=app) if reference else InProcessTransport(app)

    async def go() -> list[Any]:
        async with TickwardClient("http://embedded.local/api/v1", EMBEDDED_API_KEY,
                                  transport=transport, pacing=False,
                                  in_process=in_process) as client:
            return await _session(client)

    return asyncio.run(go()), seen


def _normalized(seen: Seen) -> list[tuple[Any, ...]]:
    out = []
    for entry in seen:
        scope = entry["scope"]
        path = re.sub(r"proj_[0-9a-f]+", "PROJECT", scope["path"])
        raw = re.sub(rb"proj_[0-9a-f]+", b"PROJECT", scope["raw_path"])
        rest = {k: v for k, v in scope.items() if k not in ("path", "raw_path", "headers")}
        # the ETag hashes the server's clock: the one value that differs between two servers
        headers = [(k, b"ETAG" if k == b"if-none-match" else v) for k, v in scope["headers"]]
        out.append((path, raw, rest, headers, entry["body"]))
    return out


def test_an_in_process_client_sends_what_the_http_client_sends_and_reads_the_same() -> None:
    direct, direct_seen = _run_session(in_process=True)
    through_httpx, httpx_seen = _run_session(in_process=False)
    reference, reference_seen = _run_session(in_process=False, reference=True)
    assert direct == through_httpx == reference
    assert _normalized(direct_seen) == _normalized(httpx_seen) == _normalized(reference_seen)
    assert len(direct_seen) == 11  # the replayed create is checked with a GET


def test_an_in_process_client_runs_the_event_hooks_installed_on_it() -> None:
    seen: Seen = []
    app = _recorded(create_app(None, rate_limit=None), seen)
    answered: list[int] = []

    async def go() -> None:
        async with TickwardClient("http://embedded.local/api/v1", EMBEDDED_API_KEY,
                                  transport=InProcessTransport(app), pacing=False,
                                  in_process=True) as client:
            install_correlation(client)

            async def count(response: httpx.Response) -> None:
                answered.append(response.status_code)

            client._http.event_hooks["response"].append(count)
            with correlated("icb.team.pass-1"):
                await client.list_projects()

    asyncio.run(go())
    assert answered == [200]
    headers = dict(seen[0]["scope"]["headers"])
    assert headers[b"x-correlation-id"] == b"icb.team.pass-1"
