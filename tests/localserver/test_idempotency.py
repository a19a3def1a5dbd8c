"""Idempotency-Key: replay, conflict, in-flight, expiry, scoping; preview and nested create."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta

from tests.localserver.ls_harness import KEY, Harness, plain_error, timer_body


def test_same_key_same_request_replays_without_writing_twice(api: Harness) -> None:
    pid = api.project()["id"]
    headers = {"Idempotency-Key": "create-timer-0001"}
    first = api.post(f"/projects/{pid}/timers", json=timer_body(), headers=headers)
    # same JSON with keys in another order is the same request
    reordered = dict(reversed(list(timer_body().items())))
    again = api.post(f"/projects/{pid}/timers", json=reordered, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotency-Replayed"] == "true"
    assert "idempotency-replayed" not in first.headers
    assert again.json() == first.json()
    expires = first.headers["Idempotency-Key-Expires-At"]
    assert expires == "2027-03-02T12:00:00.000Z" == again.headers["Idempotency-Key-Expires-At"]
    assert len(api.get(f"/projects/{pid}/timers").json()["data"]) == 1
    writes = [r for r in api.app.state.requests if r.method == "POST" and "/timers" in r.path]
    assert [(r.status, r.idempotency_key, r.replayed) for r in writes] == [
        (201, "create-timer-0001", False),
        (201, "create-timer-0001", True),
    ]


def test_same_key_different_request_conflicts(api: Harness) -> None:
    pid = api.project()["id"]
    headers = {"Idempotency-Key": "create-timer-0002"}
    api.post(f"/projects/{pid}/timers", json=timer_body(), headers=headers)
    other = api.post(f"/projects/{pid}/timers", json=timer_body(label="Other"), headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["type"] == "idempotency_conflict"
    path_differs = api.post("/projects", json=timer_body(), headers=headers)
    assert path_differs.status_code == 409


def test_keys_are_scoped_per_api_key() -> None:
    other_key = "tw_second_full_key"
    api = Harness(api_keys={KEY: "full_access", other_key: "full_access"})
    headers = {"Idempotency-Key": "same-key-everywhere"}
    first = api.post("/projects", json={"name": "A"}, headers=headers)
    second = api.post("/projects", json={"name": "A"}, headers=headers, key=other_key)
    assert "idempotency-replayed" not in second.headers
    assert first.json()["id"] != second.json()["id"]


def test_errors_are_replayed_too(api: Harness) -> None:
    pid = api.project()["id"]
    headers = {"Idempotency-Key": "bad-timer-0003"}
    body = timer_body(label="")
    first = api.post(f"/projects/{pid}/timers", json=body, headers=headers)
    again = api.post(f"/projects/{pid}/timers", json=body, headers=headers)
    assert first.status_code == again.status_code == 400
    assert again.headers["Idempotency-Replayed"] == "true"


def test_keys_expire_after_24_hours(api: Harness) -> None:
    headers = {"Idempotency-Key": "project-create-04"}
    first = api.post("/projects", json={"name": "A"}, headers=headers)
    api.clock.advance(timedelta(hours=23, minutes=59))
    assert api.post("/projects", json={"name": "A"}, headers=headers).json() == first.json()
    api.clock.advance(timedelta(minutes=2))
    later = api.post("/projects", json={"name": "B"}, headers=headers)
    assert later.status_code == 201 and "idempotency-replayed" not in later.headers


def test_badly_formed_keys_are_refused(api: Harness) -> None:
    for key in ("short", "x" * 129, "has space in it", "semi;colon-key"):
        response = api.post("/projects", json={"name": "A"}, headers={"Idempotency-Key": key})
        assert response.status_code == 400, key
    assert api.get("/projects").json()["data"] == []


def test_a_key_still_in_flight_answers_409_in_progress(api: Harness) -> None:
    pid = api.project()["id"]
    url = f"/projects/{pid}/timers"
    body = json.dumps(timer_body()).encode()
    headers = {"Idempotency-Key": "slow-create-0005"}
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield body[:10]
        started.set()  # the server holds the key and waits for the rest of the body
        await release.wait()
        yield body[10:]

    async def scenario() -> tuple[int, int, str, int]:
        async with api.client() as client:
            auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
            first = asyncio.create_task(
                client.post(url, content=slow_body(), headers={**auth, **headers})
            )
            await asyncio.wait_for(started.wait(), timeout=10)
            second = await client.post(url, content=body, headers={**auth, **headers})
            release.set()
            done = await first
            third = await client.post(url, content=body, headers={**auth, **headers})
            return (
                second.status_code,
                done.status_code,
                second.headers["Retry-After"],
                (third.status_code),
            )

    in_progress, first_status, retry_after, replay = asyncio.run(scenario())
    assert (in_progress, first_status, retry_after, replay) == (409, 201, "1", 201)
    statuses = [r.status for r in api.app.state.requests if r.path == url]
    assert sorted(statuses) == [201, 201, 409]
    assert len(api.get(url).json()["data"]) == 1


def _hash(body: Mapping[str, object]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


NESTED = {
    "name": "Subscriptions",
    "spaces": [
        {
            "id": "ai-tools",
            "name": "AI tools",
            "timers": [
                {
                    "id": "gpt_pro_renewal",
                    "label": "GPT Pro renewal",
                    "target_date": "2027-07-11T00:00:00.000Z",
                    "timezone": "Europe/Warsaw",
                    "notify": True,
                }
            ],
        }
    ],
    "timers": [timer_body(id="loose_timer", space_id="ai-tools")],
}


def _plan_timer(**fields: object) -> dict[str, object]:
    """A timer of a normalised plan, written out by hand from SERVER-NOTES' recipe."""
    defaults: dict[str, object] = {
        "color": None,
        "description": None,
        "image": None,
        "mode": "until",
        "milestones": None,
        "notify": True,
        "pinned": False,
        "recurrence": None,
        "reminders": [],
        "space_id": None,
        "timezone": "Europe/Warsaw",
    }
    return {**defaults, **fields}


# NESTED with every default filled in: the input of plan_hash (measured recipe)
NESTED_PLAN = {
    "color": None,
    "name": "Subscriptions",
    "spaces": [
        {
            "color": None,
            "id": "ai-tools",
            "name": "AI tools",
            "timers": [
                _plan_timer(
                    id="gpt_pro_renewal",
                    label="GPT Pro renewal",
                    target_date="2027-07-11T00:00:00.000Z",
                )
            ],
        }
    ],
    "timers": [
        _plan_timer(
            id="loose_timer",
            label="Dentist",
            target_date="2027-04-01T08:30:00.000Z",
            space_id="ai-tools",
        )
    ],
}


def test_preview_then_create_with_the_plan_hash(api: Harness) -> None:
    preview = api.post("/projects/preview", json=NESTED).json()
    assert preview["plan_hash"] == _hash(NESTED_PLAN) == preview["apply"]["expected_plan_hash"]
    assert preview["summary"] == {
        "projects": {"create": 1},
        "spaces": {"create": 1},
        "timers": {"create": 2},
    }
    assert [(c["type"], c["path"]) for c in preview["changes"]] == [
        ("project", "#"),
        ("space", "#/spaces/0"),
        ("timer", "#/spaces/0/timers/0"),
        ("timer", "#/timers/0"),
    ]
    # every timer whose notify is not false warns (omitted = true), top-level ones first
    assert [(w["code"], w["path"]) for w in preview["warnings"]] == [
        ("timer_notify_uses_account_settings", "#/timers/0/notify"),
        ("timer_notify_uses_account_settings", "#/spaces/0/timers/0/notify"),
    ]
    assert api.get("/projects").json()["data"] == []  # preview writes nothing
    created = api.post(
        "/projects",
        json={**NESTED, "expected_plan_hash": preview["plan_hash"]},
        headers={"Idempotency-Key": "nested-create-0006"},
    )
    assert created.status_code == 201
    result = created.json()
    assert result["timer_count"] == 2 and result["space_count"] == 1
    assert [t["space_id"] for t in result["timers"]] == ["ai-tools", "ai-tools"]
    assert [s["id"] for s in result["spaces"]] == ["ai-tools"]


def test_changed_body_fails_with_plan_hash_mismatch(api: Harness) -> None:
    digest = api.post("/projects/preview", json=NESTED).json()["plan_hash"]
    changed = {**NESTED, "name": "Renamed", "expected_plan_hash": digest}
    response = api.post("/projects", json=changed)
    assert response.status_code == 409
    assert response.json()["error"]["type"] == "plan_hash_mismatch"
    assert api.get("/projects").json()["data"] == []


def test_nested_create_caps_and_duplicates(api: Harness) -> None:
    from ical_bridge.localserver import PlanLimits

    small = Harness(plan=PlanLimits(project_create_max_timers=1))
    too_many = small.post("/projects/preview", json=NESTED)
    assert plain_error(too_many) == "Maximum 1 timers allowed."
    twice = {**NESTED, "timers": [timer_body(id="gpt_pro_renewal")]}
    assert plain_error(api.post("/projects", json=twice)) == "Duplicate timer id: gpt_pro_renewal."
    assert api.get("/projects").json()["data"] == []  # rolled back as a whole
