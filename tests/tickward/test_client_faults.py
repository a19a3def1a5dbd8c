"""Fault injection around the real local server: lost answers, 429 storms, 5xx, pacing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ical_bridge.clock import FixedClock
from ical_bridge.errors import ServerError
from ical_bridge.localserver import EMBEDDED_API_KEY, RateLimitConfig, create_app
from ical_bridge.tickward import TickwardClient, derive_key
from tests.tickward.tw_helpers import FakeSleep, error_body, make_clock, run

BASE = "http://local.test/api/v1"
TIMER = {"id": "icb_lost00001", "label": "Dentist", "target_date": "2027-05-01T10:00:00Z",
         "timezone": "Europe/Warsaw"}


class Faulty(httpx.AsyncBaseTransport):
    """Wraps the real ASGI app; ``fault(request, attempt)`` may replace or drop an answer."""

    def __init__(
        self,
        app: object,
        fault: Callable[[httpx.Request, int], str | httpx.Response | None],
    ) -> None:
        self.inner = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        self.fault = fault
        self.attempts = 0
        self.retry_after_sent: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        action = self.fault(request, self.attempts)
        if isinstance(action, httpx.Response):
            if "Retry-After" in action.headers:
                self.retry_after_sent.append(float(action.headers["Retry-After"]))
            return action
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if action == "drop":  # the server committed; the answer is lost on the way back
            raise httpx.ReadError("connection reset by peer", request=request)
        if response.status_code == 429:
            self.retry_after_sent.append(float(response.headers["Retry-After"]))
        return response


def test_lost_answer_after_commit_is_replayed_not_duplicated() -> None:
    clock = make_clock()
    app = create_app(None, rate_limit=None, clock=clock)

    def drop_first_writes(request: httpx.Request, attempt: int) -> str | None:
        return "drop" if request.method == "POST" and attempt in (2, 4) else None

    transport = Faulty(app, drop_first_writes)

    async def go() -> TickwardClient:
        async with TickwardClient(BASE, EMBEDDED_API_KEY, transport=transport, clock=clock,
                                  sleep=FakeSleep(clock)) as client:
            await client.capabilities()  # attempt 1
            project = await client.create_project({"name": "Lost"})  # attempts 2 (lost), 3
            timer = await client.create_timer(project.id, TIMER)  # attempts 4 (lost), 5
            assert timer.id == TIMER["id"]
            assert [p.id for p in await client.list_projects()] == [project.id]
            assert [t.id for t in await client.list_timers(project.id)] == [TIMER["id"]]
            return client

    client = run(go())
    writes = [r for r in app.state.requests if r.method == "POST"]
    assert [(r.status, r.replayed) for r in writes] == [
        (201, False), (201, True), (201, False), (201, True)]
    assert writes[0].idempotency_key == writes[1].idempotency_key
    assert writes[2].idempotency_key == writes[3].idempotency_key
    assert client.stats.replayed == 2 and client.stats.retries == 2


def test_a_rerun_after_a_crash_replays_the_same_logical_write() -> None:
    clock = make_clock()
    app = create_app(None, rate_limit=None, clock=clock)

    async def create_once() -> str:
        transport = httpx.ASGITransport(app=app)
        async with TickwardClient(BASE, EMBEDDED_API_KEY, transport=transport) as client:
            return (await client.create_project({"name": "Once", "color": "#112233"})).id

    first, second = run(create_once()), run(create_once())
    assert first == second
    assert [r.replayed for r in app.state.requests if r.method == "POST"] == [False, True]


def test_idempotency_keys_are_stable_per_logical_write() -> None:
    body = {"label": "A", "timezone": "UTC", "target_date": "2027-01-01T00:00:00Z"}
    reordered = dict(reversed(list(body.items())))
    key = derive_key("POST", "/projects/p1/timers", body)
    assert key == derive_key("post", "/projects/p1/timers", reordered)
    assert key != derive_key("POST", "/projects/p1/timers", {**body, "label": "B"})
    assert key != derive_key("POST", "/projects/p2/timers", body)
    assert key != derive_key("PATCH", "/projects/p1/timers", body)
    assert key.startswith("ib-") and len(key) == 43


def test_callers_key_is_used_verbatim() -> None:
    app = create_app(None, rate_limit=None)

    async def go() -> None:
        async with TickwardClient(BASE, EMBEDDED_API_KEY,
                                  transport=httpx.ASGITransport(app=app)) as client:
            project = await client.create_project({"name": "Keys"}, idempotency_key="proj-create-1")
            await client.update_project(project.id, {"name": "K2"},
                                        idempotency_key="upd:2027-01-01T00:00:00.000Z")

    run(go())
    assert [r.idempotency_key for r in app.state.requests] == [
        "proj-create-1", "upd:2027-01-01T00:00:00.000Z"]


def test_429_storm_from_the_real_limiter_completes_after_retry_after() -> None:
    clock = make_clock()
    app = create_app(None, rate_limit=RateLimitConfig(per_key=3, per_ip=300, window_seconds=20),
                     clock=clock)
    transport = Faulty(app, lambda request, attempt: None)
    sleep = FakeSleep(clock)

    async def go() -> TickwardClient:
        async with TickwardClient(BASE, EMBEDDED_API_KEY, transport=transport, clock=clock,
                                  sleep=sleep, pacing=False, max_retries=8) as client:
            project = await client.create_project({"name": "Storm"})
            for n in range(8):
                await client.create_timer(project.id, {**TIMER, "id": f"icb_storm{n:04d}"})
            assert len(await client.list_timers(project.id)) == 8
            return client

    client = run(go())
    refused = [r for r in app.state.requests if r.status == 429]
    assert refused and client.stats.rate_limited == len(refused)
    assert sleep.calls == transport.retry_after_sent  # waited exactly what the server asked
    assert all(0 < s <= 20 for s in sleep.calls)
    assert len([r for r in app.state.requests if r.status == 201]) == 9


def test_retry_after_storm_from_a_gateway_is_waited_out() -> None:
    clock = make_clock()
    app = create_app(None, rate_limit=None, clock=clock)
    waits = [5, 1, 2]

    def storm(request: httpx.Request, attempt: int) -> httpx.Response | None:
        if waits:
            return error_body(429, "rate_limited", headers={"Retry-After": str(waits.pop(0))})
        return None

    sleep = FakeSleep(clock)

    async def go() -> None:
        async with TickwardClient(BASE, EMBEDDED_API_KEY, transport=Faulty(app, storm),
                                  clock=clock, sleep=sleep) as client:
            await client.create_project({"name": "After the storm"})

    run(go())
    assert sleep.calls == [5.0, 1.0, 2.0]
    assert [r.status for r in app.state.requests] == [201]


def test_persistent_5xx_gives_a_clear_server_error_after_bounded_retries() -> None:
    app = create_app(None, rate_limit=None)

    def down(request: httpx.Request, attempt: int) -> httpx.Response:
        return error_body(503, "storage_unavailable", "Storage is unavailable.", retryable=True)

    transport = Faulty(app, down)
    sleep = FakeSleep(make_clock())

    async def go() -> None:
        async with TickwardClient(BASE, EMBEDDED_API_KEY, transport=transport, sleep=sleep,
                                  max_retries=4) as client:
            await client.create_project({"name": "Down"})

    with pytest.raises(ServerError) as info:
        run(go())
    assert transport.attempts == 5 and len(sleep.calls) == 4
    assert "Storage is unavailable." in str(info.value)
    assert "gave up after 5 attempts" in str(info.value)
    assert app.state.requests == []


def test_in_progress_conflict_is_retried_and_creates_once() -> None:
    app = create_app(None, rate_limit=None)

    def busy_once(request: httpx.Request, attempt: int) -> httpx.Response | None:
        if attempt == 1:
            return error_body(409, "idempotency_key_in_progress", "Still running.",
                              headers={"Retry-After": "1"}, retryable=True)
        return None

    sleep = FakeSleep(make_clock())

    async def go() -> None:
        async with TickwardClient(BASE, EMBEDDED_API_KEY, transport=Faulty(app, busy_once),
                                  sleep=sleep) as client:
            await client.create_project({"name": "Busy"})

    run(go())
    assert sleep.calls == [1.0]
    assert [r.status for r in app.state.requests] == [201]


@pytest.mark.parametrize(("limit", "runs"), [(10, 35), (30, 70)])
def test_pacing_keeps_a_long_run_under_the_limit(limit: int, runs: int) -> None:
    clock: FixedClock = make_clock()
    window = 60.0
    app = create_app(None, rate_limit=RateLimitConfig(per_key=limit, per_ip=1000,
                                                      window_seconds=window), clock=clock)
    sleep = FakeSleep(clock)
    start = clock.monotonic()

    async def go() -> TickwardClient:
        async with TickwardClient(BASE, EMBEDDED_API_KEY, transport=httpx.ASGITransport(app=app),
                                  clock=clock, sleep=sleep) as client:
            project = await client.create_project({"name": "Paced"})
            for n in range(runs - 1):
                if n % 3 == 0:
                    await client.create_timer(project.id, {**TIMER, "id": f"icb_paced{n:04d}"})
                else:
                    await client.get_project(project.id)
                clock.advance(timedelta(milliseconds=50))  # some work between requests
            return client

    client = run(go())
    statuses = [r.status for r in app.state.requests]
    assert len(statuses) == runs and 429 not in statuses
    assert client.stats.rate_limited == 0 and client.stats.retries == 0
    # A sliding window admits `limit` requests per `window`: the run cannot be shorter.
    assert clock.monotonic() - start >= (runs - 1) // limit * window


def test_pacing_holds_for_concurrent_callers_from_the_first_request() -> None:
    clock = make_clock()
    limit, runs = 10, 40
    app = create_app(None, rate_limit=RateLimitConfig(per_key=limit, per_ip=1000,
                                                      window_seconds=60), clock=clock)

    async def go() -> TickwardClient:
        async with TickwardClient(BASE, EMBEDDED_API_KEY, transport=httpx.ASGITransport(app=app),
                                  clock=clock, sleep=FakeSleep(clock)) as client:
            gate = asyncio.Semaphore(8)

            async def one(n: int) -> None:
                async with gate:
                    await client.capabilities() if n % 2 else await client.list_projects()

            await asyncio.gather(*(one(n) for n in range(runs)))
            return client

    client = run(go())
    assert len(app.state.requests) == runs
    assert [r.status for r in app.state.requests if r.status != 200] == []
    assert client.stats.rate_limited == 0


@settings(max_examples=20, deadline=None)
@given(
    limit=st.integers(2, 25),
    window=st.sampled_from([5.0, 20.0, 60.0]),
    extra=st.integers(1, 40),
    gaps=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=8),
)
def test_pacing_never_meets_a_429_whatever_the_limit(
    limit: int, window: float, extra: int, gaps: list[float]
) -> None:
    clock = make_clock()
    app = create_app(None, rate_limit=RateLimitConfig(per_key=limit, per_ip=10_000,
                                                      window_seconds=window), clock=clock)
    runs = limit + extra

    async def go() -> TickwardClient:
        async with TickwardClient(BASE, EMBEDDED_API_KEY, transport=httpx.ASGITransport(app=app),
                                  clock=clock, sleep=FakeSleep(clock)) as client:
            for n in range(runs):
                await client.capabilities() if n % 2 else await client.list_projects()
                clock.advance(gaps[n % len(gaps)])
            return client

    client = run(go())
    assert [r.status for r in app.state.requests] == [200] * runs
    assert client.stats.rate_limited == 0
