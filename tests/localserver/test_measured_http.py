"""SERVER-NOTES "Measured on the real server": ordering, error shapes, headers, access."""

from __future__ import annotations

import pytest

from ical_bridge.localserver import RateLimitConfig
from tests.localserver.ls_harness import KEY, Harness, plain_error, timer_body

READ_KEY = "tw_read_only_key"
OTHER_KEY = "tw_second_full_key"
_RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After")


def test_projects_list_newest_first(api: Harness) -> None:
    ids = [api.project(f"P{i}")["id"] for i in range(3)]
    api.clock.advance(5)
    latest = api.project("Later")["id"]
    listed = [p["id"] for p in api.get("/projects").json()["data"]]
    assert listed == [latest, *reversed(ids)]
    assert [p["id"] for p in api.get("/sync").json()["projects"]] == listed


def test_pages_follow_the_newest_first_order(api: Harness) -> None:
    ids = [api.project(f"P{i}")["id"] for i in range(5)]
    newest = ids[::-1]
    first = api.get("/projects", params={"limit": "2"}).json()
    assert [p["id"] for p in first["data"]] == newest[:2] and first["has_more"]
    after = api.get("/projects", params={"limit": "2", "after": newest[1]}).json()
    assert [p["id"] for p in after["data"]] == newest[2:4] and after["has_more"]
    before = api.get("/projects", params={"limit": "2", "before": newest[3]}).json()
    assert [p["id"] for p in before["data"]] == newest[1:3] and before["has_more"]


@pytest.mark.parametrize("cursor", ["after", "before"])
def test_an_unknown_cursor_gives_an_empty_page(api: Harness, cursor: str) -> None:
    api.project()
    page = api.get("/projects", params={cursor: "proj_missing"})
    assert page.status_code == 200
    assert page.json() == {"object": "list", "data": [], "has_more": False}


def test_put_on_a_collection_is_an_empty_405(api: Harness) -> None:
    for path in ("/projects", "/webhooks", "/sync"):
        response = api.request("PUT", path)
        assert response.status_code == 405 and response.content == b""
        assert "request-id" not in response.headers


def test_routing_errors_carry_rate_limit_headers(api: Harness) -> None:
    for response in (api.get("/no/such/route"), api.request("DELETE", "/projects")):
        assert response.status_code in (404, 405)
        for name in _RATE_HEADERS:
            assert response.headers[name].isdigit(), (response.status_code, name)
    assert api.get("/no/such/route", key=None).status_code == 401  # auth runs first


def test_a_revoked_key_403_has_no_rate_limit_headers(api: Harness) -> None:
    response = api.get("/projects", key="tw_revoked")
    assert response.status_code == 403
    assert not any(name.lower() in response.headers for name in _RATE_HEADERS)


def test_one_rate_limit_bucket_per_user_shared_by_its_keys() -> None:
    api = Harness(
        api_keys={KEY: "full_access", OTHER_KEY: "full_access", READ_KEY: "read"},
        rate_limit=RateLimitConfig(per_user=3, per_ip=100, window_seconds=60),
    )
    assert api.get("/projects", key=KEY).headers["RateLimit-Remaining"] == "2"
    assert api.get("/projects", key=OTHER_KEY).headers["RateLimit-Remaining"] == "1"
    assert api.get("/projects", key=READ_KEY).headers["RateLimit-Remaining"] == "0"
    assert api.get("/projects", key=OTHER_KEY).status_code == 429


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/projects"),
        ("POST", "/projects/proj_missing/timers"),
        ("PATCH", "/projects/proj_missing/timers/tmr_missing"),
        ("DELETE", "/projects/proj_missing"),
        ("POST", "/webhooks"),
    ],
)
def test_a_read_key_write_is_401_restricted_before_any_404(method: str, path: str) -> None:
    api = Harness(api_keys={KEY: "full_access", READ_KEY: "read"})
    response = api.request(method, path, json={"name": "x"}, key=READ_KEY)
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["type"], error["message"]) == ("restricted_api_key", "This API key is read-only.")


def test_a_read_key_may_preview() -> None:
    api = Harness(api_keys={KEY: "full_access", READ_KEY: "read"})
    pid = api.project()["id"]
    api.space(pid, "box")
    preview = api.post("/projects/preview", json={"name": "P"}, key=READ_KEY)
    assert preview.status_code == 200
    dry = {"dry_run": "true"}
    assert api.delete(f"/projects/{pid}", params=dry, key=READ_KEY).status_code == 200
    assert api.delete(f"/projects/{pid}/spaces/box", params=dry, key=READ_KEY).status_code == 200
    assert api.delete(f"/projects/{pid}", key=READ_KEY).status_code == 401
    assert api.get(f"/projects/{pid}").status_code == 200


def test_origin_guard_only_for_foreign_post_and_delete(api: Harness) -> None:
    foreign = {"Origin": "https://evil.example"}
    project = api.project()
    url = f"/projects/{project['id']}"
    post = api.post("/projects", json={"name": "X"}, headers=foreign)
    delete = api.delete(url, headers=foreign)
    for response in (post, delete):
        assert response.status_code == 403 and response.json() == {"error": "Forbidden"}
    assert api.patch(url, json={"name": "Renamed"}, headers=foreign).status_code == 200
    same_host = {"Origin": "http://testserver"}
    assert api.post("/projects", json={"name": "Same"}, headers=same_host).status_code == 201


def test_correlation_id_is_echoed_from_x_correlation_id(api: Harness) -> None:
    echoed = api.get("/projects", headers={"X-Correlation-Id": "job-42:step.1"})
    assert echoed.headers["correlation-id"] == "job-42:step.1"
    refused = api.get("/projects/nope", headers={"X-Correlation-Id": "job-42:step.1"})
    assert refused.json()["error"]["correlation_id"] == "job-42:step.1"
    for bad in ("short", "x" * 129, "has space!"):
        generated = api.get("/projects", headers={"X-Correlation-Id": bad})
        assert generated.headers["correlation-id"].startswith("corr_")
    plain = api.get("/projects", headers={"Correlation-Id": "not-the-header"})
    assert plain.headers["correlation-id"] != "not-the-header"
    assert echoed.headers["request-id"] != plain.headers["request-id"]


def test_errors_outside_field_validation_have_no_errors_list(api: Harness) -> None:
    pid = api.project()["id"]
    timers = f"/projects/{pid}/timers"
    assert plain_error(api.post(timers, content="{oops")) == "Request body must be valid JSON."
    bad_key = api.post(timers, json=timer_body(), headers={"Idempotency-Key": "short"})
    assert "Idempotency-Key" in plain_error(bad_key)
    assert "limit" in plain_error(api.get("/projects", params={"limit": "0"}))
    nowhere = api.post(timers, json=timer_body(space_id="nowhere"))
    assert plain_error(nowhere) == "space_id does not exist in this project."
    api.timer(pid, id="only_once")
    twice = api.post(timers, json=timer_body(id="only_once"))
    assert plain_error(twice) == "Timer id already exists."
    api.space(pid, "box")
    space_twice = api.post(f"/projects/{pid}/spaces", json={"id": "box", "name": "Again"})
    assert plain_error(space_twice) == "Space id already exists."


def test_api_created_projects_are_unclaimed_and_carry_no_project_name(api: Harness) -> None:
    project = api.project("Team")
    assert project["claimed_at"] is None and "project_name" not in project
    pid = project["id"]
    for obj in (
        api.get(f"/projects/{pid}").json(),
        api.get("/projects").json()["data"][0],
        api.get("/sync").json()["projects"][0],
    ):
        assert "project_name" not in obj and obj["claimed_at"] is None
    space = api.space(pid, "box")
    timer = api.timer(pid)
    share = api.post(f"/projects/{pid}/shares", json={"timer_id": timer["id"]}).json()
    assert space["project_name"] == timer["project_name"] == share["project_name"] == "Team"


def test_space_delete_preview_shape(api: Harness) -> None:
    pid = api.project("Team")["id"]
    api.space(pid, "box", "Box")
    timer = api.timer(pid, space_id="box", label="Inside")
    preview = api.delete(f"/projects/{pid}/spaces/box", params={"dry_run": "true"}).json()
    assert preview["summary"] == {
        "share_links": {"delete": 0},
        "spaces": {"delete": 1},
        "timers": {"update": 1},
    }
    assert preview["changes"][1] == {
        "action": "update",
        "type": "timer",
        "id": timer["id"],
        "label": "Inside",
        "project_id": pid,
        "project_name": "Team",
        "reason": "space_removed",
    }


def test_delete_share_returns_the_full_share_and_deleted(api: Harness) -> None:
    pid = api.project("Team")["id"]
    timer = api.timer(pid, label="Shared")
    share = api.post(f"/projects/{pid}/shares", json={"timer_id": timer["id"]}).json()
    deleted = api.delete(f"/projects/{pid}/shares/{share['id']}").json()
    assert deleted == {**share, "deleted": True}


def test_capabilities_report_webhooks(api: Harness) -> None:
    features = api.get("/capabilities", key=None).json()["features"]
    assert features["timer_webhooks"] is True and features["webhook_management"] is True
