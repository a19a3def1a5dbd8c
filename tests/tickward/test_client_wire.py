"""The client's wire behaviour with hand-written transports standing in for the network."""

from __future__ import annotations

import json
import logging
import random

import httpx
import pytest

from ical_bridge import __version__
from ical_bridge.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    ValidationError,
)
from ical_bridge.tickward import LocalValidationError, TickwardClient, derive_key
from tests.tickward.tw_helpers import SECRET, FakeSleep, error_body, make_clock, run

TIMER = {
    "object": "timer", "id": "icb_timer001", "project_id": "p1", "label": "A",
    "target_date": "2027-05-01T10:00:00.000Z", "timezone": "UTC",
}
BODY = {"id": "icb_timer001", "label": "A", "target_date": "2027-05-01T10:00:00Z",
        "timezone": "UTC"}


def client_for(handler: httpx.MockTransport, sleep: FakeSleep, **kw: object) -> TickwardClient:
    return TickwardClient(
        "http://tickward.test/api/v1", SECRET, transport=handler, clock=sleep.clock, sleep=sleep,
        rng=random.Random(7), **kw,  # type: ignore[arg-type]
    )


def test_errors_map_to_the_exception_tree_with_field_errors_and_hints() -> None:
    responses = {
        "/api/v1/projects/p1/timers": error_body(
            400, "validation_error", "We found an error.",
            errors=[{"code": "duplicate", "message": "Offsets must be unique.",
                     "path": "#/reminders/1/offset_minutes"}]),
        "/api/v1/projects/gone": error_body(404, "not_found", "No such project."),
        "/api/v1/projects/p1": httpx.Response(403, json={"error": "Forbidden"}),
        "/api/v1/projects/p2": error_body(409, "idempotency_conflict", "Key reused."),
        "/api/v1/projects/p3": error_body(401, "missing_api_key", "No key."),
    }
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return responses[request.url.path]

    async def go() -> list[APIError]:
        found: list[APIError] = []
        async with client_for(httpx.MockTransport(handler), FakeSleep(make_clock())) as c:
            for call in (
                c.create_timer("p1", BODY), c.get_project("gone"),
                c.update_project("p1", {"name": "X"}), c.update_project("p2", {"name": "Y"}),
                c.get_project("p3"),
            ):
                with pytest.raises(APIError) as info:
                    await call
                found.append(info.value)
        return found

    bad, missing, forbidden, conflict, unauth = run(go())
    assert type(bad) is ValidationError and bad.status == 400 and bad.code == "validation_error"
    assert [(e.path, e.message) for e in bad.field_errors] == [
        ("#/reminders/1/offset_minutes", "Offsets must be unique.")]
    assert bad.request_id == "req_test123" and bad.hint == "hint for validation_error"
    assert "#/reminders/1/offset_minutes" in str(bad)
    assert type(missing) is NotFoundError and missing.status == 404
    assert type(forbidden) is AuthenticationError and forbidden.status == 403
    assert "Forbidden" in str(forbidden) and forbidden.hint  # plain body still explained
    assert type(conflict) is ConflictError and conflict.code == "idempotency_conflict"
    assert type(unauth) is AuthenticationError
    assert len(calls) == 5  # no 4xx was retried


def test_html_502_is_retried_then_a_clear_server_error() -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
    sleep = FakeSleep(make_clock())
    hits = []

    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(request)
        return httpx.Response(502, text=page, headers={"Content-Type": "text/html"})

    async def go() -> None:
        async with client_for(httpx.MockTransport(handler), sleep, max_retries=3) as c:
            await c.list_timers("p1")

    with pytest.raises(ServerError) as info:
        run(go())
    assert len(hits) == 4 and len(sleep.calls) == 3
    assert info.value.status == 502 and info.value.retryable
    assert "502 Bad Gateway" in str(info.value) and "gave up after 4 attempts" in str(info.value)
    assert "<" not in str(info.value)
    # full jitter: every wait lies in [0, 0.5 * 2^(n-1)]
    assert all(0 <= s <= 0.5 * 2**i for i, s in enumerate(sleep.calls))


def test_network_errors_retry_writes_with_the_same_key_then_give_up() -> None:
    keys: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("Idempotency-Key"))
        raise httpx.ConnectError("connection refused", request=request)

    sleep = FakeSleep(make_clock())

    async def go() -> TickwardClient:
        c = client_for(httpx.MockTransport(handler), sleep, max_retries=2)
        async with c:
            with pytest.raises(TransportError) as info:
                await c.create_timer("p1", BODY)
        assert "gave up after 3 attempts" in str(info.value)
        assert "tickward.test" in str(info.value)
        return c

    c = run(go())
    assert len(keys) == 3 and len(set(keys)) == 1 and keys[0] is not None
    assert c.stats.requests == 3 and c.stats.retries == 2


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectTimeout]
)
def test_transient_network_failures_recover(exc: type[httpx.TransportError]) -> None:
    state = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        state["n"] += 1
        if state["n"] <= 2:
            raise exc("flaky", request=request)
        return httpx.Response(201, json=TIMER)

    async def go() -> str:
        async with client_for(httpx.MockTransport(handler), FakeSleep(make_clock())) as c:
            return (await c.create_timer("p1", BODY)).id

    assert run(go()) == "icb_timer001"
    assert state["n"] == 3


def test_429_storm_honours_retry_after_and_completes() -> None:
    storm = [3, 1, 7]
    sleep = FakeSleep(make_clock())

    def handler(request: httpx.Request) -> httpx.Response:
        if storm:
            return error_body(429, "rate_limited", "Slow down.", retryable=True,
                              headers={"Retry-After": str(storm.pop(0))})
        return httpx.Response(200, json=TIMER, headers={"Retry-After": "60"})

    async def go() -> TickwardClient:
        async with client_for(httpx.MockTransport(handler), sleep) as c:
            await c.get_timer("p1", "icb_timer001")
            await c.get_timer("p1", "icb_timer001")  # Retry-After on a 200 is not a wait
            return c

    c = run(go())
    assert sleep.calls == [3.0, 1.0, 7.0]
    assert c.stats.rate_limited == 3 and c.stats.requests == 5


def test_429_beyond_the_budget_raises_rate_limited() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return error_body(429, "rate_limited", "Slow down.", headers={"Retry-After": "2"})

    sleep = FakeSleep(make_clock())

    async def go() -> None:
        async with client_for(httpx.MockTransport(handler), sleep, max_retries=2) as c:
            await c.capabilities()

    with pytest.raises(RateLimitedError) as info:
        run(go())
    assert info.value.retry_after == 2.0 and sleep.calls == [2.0, 2.0]


def test_idempotency_key_in_progress_is_retried() -> None:
    answers = [error_body(409, "idempotency_key_in_progress", "Still running.",
                          headers={"Retry-After": "1"}), httpx.Response(201, json=TIMER)]
    sleep = FakeSleep(make_clock())

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    async def go() -> str:
        async with client_for(httpx.MockTransport(handler), sleep) as c:
            return (await c.create_timer("p1", BODY)).id

    assert run(go()) == "icb_timer001" and sleep.calls == [1.0] and answers == []


def test_requests_carry_auth_user_agent_and_never_origin() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "DELETE":
            return httpx.Response(200, json={"object": "timer", "id": "icb_timer001",
                                             "deleted": True})
        return httpx.Response(201 if request.method == "POST" else 200, json=TIMER)

    async def go() -> None:
        async with client_for(httpx.MockTransport(handler), FakeSleep(make_clock())) as c:
            await c.create_timer("p1", BODY)
            await c.update_timer("p1", "icb_timer001", {"archived_at": None})
            await c.delete_timer("p1", "icb_timer001")
            await c.get_timer("p1", "icb_timer001")

    run(go())
    for request in seen:
        assert "origin" not in request.headers
        assert request.headers["authorization"] == f"Bearer {SECRET}"
        assert request.headers["user-agent"] == f"ical-bridge/{__version__}"
    post, patch, delete, get = seen
    assert json.loads(patch.content) == {"archived_at": None}
    assert post.headers["idempotency-key"] == derive_key("POST", "/projects/p1/timers", BODY)
    assert patch.headers["idempotency-key"] != post.headers["idempotency-key"]
    assert delete.headers["idempotency-key"]
    assert "idempotency-key" not in get.headers


def test_invalid_bodies_never_reach_the_network() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("sent a body the client should have refused")

    async def go() -> LocalValidationError:
        async with client_for(httpx.MockTransport(handler), FakeSleep(make_clock())) as c:
            with pytest.raises(LocalValidationError) as info:
                await c.create_timer("p1", {**BODY, "reminders": [
                    {"offset_minutes": 5}, {"offset_minutes": 5}]})
            return info.value

    err = run(go())
    assert isinstance(err, ValidationError) and err.status == 400
    assert [e.path for e in err.field_errors] == ["#/reminders/1/offset_minutes"]


def test_the_key_never_shows_in_reprs_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/capabilities"):
            raise httpx.ConnectError(f"refused: {request.url}", request=request)
        return error_body(403, "invalid_api_key", "Unknown key.")

    texts: list[str] = []

    async def go() -> None:
        c = client_for(httpx.MockTransport(handler), FakeSleep(make_clock()), max_retries=1)
        texts.extend([repr(c), str(c)])
        async with c:
            for call in (c.capabilities(), c.list_projects()):
                try:
                    await call
                except Exception as exc:  # every error the client raises
                    texts.extend([str(exc), repr(exc), repr(vars(exc)), repr(exc.__cause__)])

    with caplog.at_level(logging.DEBUG, logger="ical_bridge.tickward"):
        run(go())
    texts.append(caplog.text)
    assert len(texts) == 11
    assert "GET /projects -> 403" in caplog.text
    for text in texts:
        assert SECRET not in text


def test_pacing_waits_for_the_window_when_the_budget_is_spent() -> None:
    # The server says: 1 request left of 10, window resets in 30 s; then 0 left.
    budget = iter([("10", "1", "30"), ("10", "0", "29"), ("10", "9", "60")])
    sleep = FakeSleep(make_clock())

    def handler(request: httpx.Request) -> httpx.Response:
        limit, remaining, reset = next(budget)
        return httpx.Response(200, json=TIMER, headers={
            "RateLimit-Limit": limit, "RateLimit-Remaining": remaining,
            "RateLimit-Reset": reset, "Retry-After": reset})

    async def go() -> TickwardClient:
        async with client_for(httpx.MockTransport(handler), sleep) as c:
            for _ in range(3):
                await c.get_timer("p1", "icb_timer001")
            return c

    c = run(go())
    # 2nd request: 1 left of 10 (< 10 %) → spread: 30 s / 1; 3rd: 0 left → wait the reset.
    assert len(sleep.calls) == 2
    assert sleep.calls[0] == pytest.approx(30.0)
    assert 29.0 <= sleep.calls[1] <= 30.0
    assert c.stats.paced == 2 and c.stats.rate_limited == 0
