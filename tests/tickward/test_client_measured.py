"""The client copes with the real server as measured: caps in error.message, read-only keys,
one rate-limit budget per user."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from ical_bridge.errors import (
    AuthenticationError,
    ConflictError,
    PlanCap,
    RateLimitedError,
    ValidationError,
)
from ical_bridge.localserver import EMBEDDED_API_KEY, PlanLimits, RateLimitConfig, create_app
from ical_bridge.tickward import Pacer, TickwardClient
from tests.tickward.tw_helpers import FakeSleep, error_body, make_clock, run, serve

BASE = "http://local.test/api/v1"
READ_KEY = "tw_read_only_key"
SECOND_KEY = "tw_second_key_same_user"


def _timer(n: int, **extra: object) -> dict[str, object]:
    return {"id": f"icb_m{n:05d}", "label": f"T{n}", "target_date": "2027-05-01T10:00:00Z",
            "timezone": "Europe/Warsaw", "notify": False, **extra}


def test_caps_are_read_from_the_message_when_there_is_no_errors_list(tmp_path: Path) -> None:
    plan = PlanLimits(timers_per_project=2, active_timers_per_space=1, projects=1)
    app = create_app(tmp_path / "tw.sqlite3", rate_limit=None, plan=plan)

    async def go(client: TickwardClient) -> list[BaseException]:
        refused: list[BaseException] = []
        async with client:
            pid = (await client.create_project({"name": "Caps"})).id
            await client.create_space(pid, {"id": "box", "name": "Box"})
            await client.create_timer(pid, _timer(1, space_id="box"))
            for call in (
                client.create_timer(pid, _timer(2, space_id="box")),
                client.create_project({"name": "Second"}),
            ):
                try:
                    await call
                except (ValidationError, ConflictError) as exc:
                    refused.append(exc)
            await client.create_timer(pid, _timer(3))
            try:
                await client.create_timer(pid, _timer(4))
            except ValidationError as exc:
                refused.append(exc)
        return refused

    with serve(app) as base_url:  # real loopback HTTP
        space_cap, projects_cap, timers_cap = run(go(TickwardClient(base_url, EMBEDDED_API_KEY)))
    assert isinstance(space_cap, ValidationError) and space_cap.field_errors == ()
    assert space_cap.cap == PlanCap("active_timers_per_space", 1)
    assert isinstance(projects_cap, ConflictError)
    assert projects_cap.cap == PlanCap("projects", 1)
    assert isinstance(timers_cap, ValidationError) and timers_cap.cap == PlanCap("timers", 2)


def test_a_cap_in_a_field_error_is_read_too() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        errors = [{"code": "validation_error", "message": "Maximum 40 timers allowed.",
                   "path": "#/timers"}]
        return error_body(400, "validation_error", "We found an error.", errors=errors)

    async def go() -> ValidationError:
        client = TickwardClient(BASE, EMBEDDED_API_KEY, transport=httpx.MockTransport(handler))
        async with client:
            with pytest.raises(ValidationError) as info:
                await client.create_project({"name": "X"})
        return info.value

    assert run(go()).cap == PlanCap("timers", 40)


def test_a_read_only_key_is_a_clear_authentication_error() -> None:
    app = create_app(None, api_keys={EMBEDDED_API_KEY: "full_access", READ_KEY: "read"},
                     rate_limit=None)

    async def go() -> AuthenticationError:
        async with TickwardClient(BASE, READ_KEY, transport=httpx.ASGITransport(app=app)) as c:
            assert await c.list_projects() == []
            with pytest.raises(AuthenticationError) as info:
                await c.delete_project("proj_missing")  # refused before any 404
        return info.value

    error = run(go())
    assert error.status == 401 and error.read_only
    assert str(error).startswith("401 restricted_api_key: This API key is read-only.")
    assert error.hint and "full_access" in error.hint
    assert READ_KEY not in str(error)


def _hammer(shared: bool) -> list[int]:
    clock = make_clock()
    limit = 6
    app = create_app(None, api_keys={EMBEDDED_API_KEY: "full_access", SECOND_KEY: "full_access"},
                     rate_limit=RateLimitConfig(per_user=limit, per_ip=1000, window_seconds=30),
                     clock=clock)
    pacer = Pacer(clock) if shared else None

    async def one(client: TickwardClient) -> None:
        try:
            await client.list_projects()
        except RateLimitedError:
            pass

    async def go(base_url: str) -> None:
        a, b = (
            TickwardClient(base_url, key, clock=clock, sleep=FakeSleep(clock), max_retries=0,
                           pacer=pacer)
            for key in (EMBEDDED_API_KEY, SECOND_KEY)
        )
        async with a, b:
            await one(b)  # B learns the budget, then A spends most of it
            for _ in range(4):
                await one(a)
            await asyncio.gather(one(b), one(b), one(b))  # B, with its old view, sends a burst

    with serve(app) as base_url:  # real loopback HTTP: the burst is really concurrent
        run(go(base_url))
    return [r.status for r in app.state.requests]


def test_clients_of_one_user_share_one_budget() -> None:
    # two keys of one user, one bucket on the server: each client alone thinks it has room
    assert 429 in _hammer(shared=False)
    assert _hammer(shared=True) == [200] * 8
