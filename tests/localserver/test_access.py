"""Auth, the Origin guard, rate limits and plan limits."""

from __future__ import annotations

import httpx
import pytest

from ical_bridge.localserver import PlanLimits, RateLimitConfig
from tests.localserver.ls_harness import KEY, Harness, check_response, plain_error, timer_body

READ_KEY = "tw_read_only_key"


def _error(response: httpx.Response) -> dict[str, object]:
    error: dict[str, object] = response.json()["error"]
    return error


def test_schema_check_catches_a_broken_answer() -> None:
    request = httpx.Request("GET", "http://testserver/api/v1/projects/p1")
    broken = httpx.Response(
        200,
        json={"object": "project", "id": "p1"},
        headers={"Request-Id": "r", "Correlation-Id": "c"},
        request=request,
    )
    with pytest.raises(AssertionError):
        check_response(broken)


def test_missing_key_is_401_and_unknown_key_is_403(api: Harness) -> None:
    missing = api.get("/projects", key=None)
    assert missing.status_code == 401 and _error(missing)["type"] == "missing_api_key"
    wrong = api.get("/projects", key="tw_not_a_key")
    assert wrong.status_code == 403 and _error(wrong)["type"] == "invalid_api_key"
    basic = api.get("/projects", key=None, headers={"Authorization": f"Basic {KEY}"})
    assert basic.status_code == 401


def test_read_key_reads_but_cannot_write() -> None:
    api = Harness(api_keys={KEY: "full_access", READ_KEY: "read"})
    project = api.project()
    assert api.get(f"/projects/{project['id']}", key=READ_KEY).status_code == 200
    refused = api.post("/projects", json={"name": "X"}, key=READ_KEY)
    # measured: 401 restricted_api_key, not the contract's 403 insufficient_scope
    assert refused.status_code == 401 and _error(refused)["type"] == "restricted_api_key"
    assert _error(refused)["message"] == "This API key is read-only."
    assert len(api.get("/projects").json()["data"]) == 1


def test_writes_with_an_origin_header_are_forbidden(api: Harness) -> None:
    response = api.post("/projects", json={"name": "X"}, headers={"Origin": "https://evil.test"})
    assert response.status_code == 403 and response.json() == {"error": "Forbidden"}
    assert "request-id" not in response.headers and "correlation-id" not in response.headers
    assert api.get("/projects", headers={"Origin": "https://evil.test"}).status_code == 200
    assert api.get("/projects").json()["data"] == []


def test_every_authenticated_answer_carries_rate_limit_headers(api: Harness) -> None:
    ok = api.get("/projects")
    missing = api.get("/projects/nope")
    for response in (ok, missing):
        for name in (
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "Retry-After",
        ):
            assert response.headers[name].isdigit(), name
    assert ok.headers["RateLimit-Limit"] == "120"
    assert ok.headers["RateLimit-Remaining"] == "119"
    assert missing.headers["RateLimit-Remaining"] == "118"
    # X-RateLimit-Reset is epoch milliseconds: the FixedClock's now + 60 s
    assert int(ok.headers["X-RateLimit-Reset"]) == int(api.clock.now().timestamp() * 1000) + 60_000


def test_rate_limit_429_then_recovers_as_the_window_slides() -> None:
    api = Harness(rate_limit=RateLimitConfig(per_key=3, per_ip=100, window_seconds=60))
    for _ in range(2):
        api.get("/projects")
        api.clock.advance(10)
    api.get("/projects")  # three requests at t=0, 10, 20
    limited = api.get("/projects")
    assert limited.status_code == 429
    error = _error(limited)
    assert error["type"] == "rate_limited" and error["retryable"] is True
    assert limited.headers["Retry-After"] == "40"  # the t=0 request leaves the window at t=60
    assert limited.headers["RateLimit-Remaining"] == "0"
    api.clock.advance(40)
    assert api.get("/projects").status_code == 200


def test_rate_limit_per_ip_covers_every_key() -> None:
    api = Harness(
        api_keys={KEY: "full_access", READ_KEY: "read"},
        rate_limit=RateLimitConfig(per_key=100, per_ip=2, window_seconds=60),
    )
    assert api.get("/projects").status_code == 200
    assert api.get("/projects", key=READ_KEY).status_code == 200
    assert api.get("/projects", key=READ_KEY).status_code == 429


def test_no_rate_limit_config_disables_the_limits() -> None:
    api = Harness(rate_limit=None)
    response = api.get("/projects")
    assert "ratelimit-limit" not in response.headers


def test_timer_cap_counts_archived_timers() -> None:
    api = Harness(plan=PlanLimits(timers_per_project=2))
    pid = api.project()["id"]
    first = api.timer(pid)
    api.timer(pid)
    api.patch(f"/projects/{pid}/timers/{first['id']}", json={"archived_at": "2027-03-01T00:00:00Z"})
    refused = api.post(f"/projects/{pid}/timers", json=timer_body())
    assert plain_error(refused) == "Maximum 2 timers allowed."
    api.delete(f"/projects/{pid}/timers/{first['id']}")
    assert api.post(f"/projects/{pid}/timers", json=timer_body()).status_code == 201


def test_space_cap_skips_archived_timers() -> None:
    api = Harness(plan=PlanLimits(active_timers_per_space=1))
    pid = api.project()["id"]
    api.space(pid, "box")
    first = api.timer(pid, space_id="box")
    refused = api.post(f"/projects/{pid}/timers", json=timer_body(space_id="box"))
    assert plain_error(refused) == "Maximum 1 active timers allowed per space."
    api.patch(f"/projects/{pid}/timers/{first['id']}", json={"archived_at": "2027-03-01T00:00:00Z"})
    second = api.timer(pid, space_id="box")
    restore = api.patch(f"/projects/{pid}/timers/{first['id']}", json={"archived_at": None})
    assert plain_error(restore) == "Maximum 1 active timers allowed per space."
    assert second["space_id"] == "box"


def test_space_and_project_caps() -> None:
    api = Harness(plan=PlanLimits(spaces_per_project=1, projects=1))
    pid = api.project()["id"]
    api.space(pid, "one")
    refused = api.post(f"/projects/{pid}/spaces", json={"id": "two", "name": "Two"})
    assert plain_error(refused) == "Maximum 1 spaces allowed."
    over = api.post("/projects", json={"name": "Second"})
    assert over.status_code == 409 and _error(over)["type"] == "limit_exceeded"
