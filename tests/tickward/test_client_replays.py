"""Derived keys: a crash re-run replays, but a change made again on purpose is not lost."""

from __future__ import annotations

from typing import Any

import httpx

from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.tickward import TickwardClient
from tests.tickward.tw_helpers import run

BASE = "http://local.test/api/v1"
TIMER = {"id": "icb_cycle0001", "label": "Standup", "target_date": "2027-05-03T09:00:00Z",
         "timezone": "Europe/Warsaw"}


def client(app: Any) -> TickwardClient:
    return TickwardClient(BASE, EMBEDDED_API_KEY, transport=httpx.ASGITransport(app=app))


def writes(app: Any) -> list[tuple[str, int, bool]]:
    return [(r.method, r.status, r.replayed) for r in app.state.requests if r.is_write]


def test_restore_archive_restore_cycles_all_take_effect() -> None:
    app = create_app(None, rate_limit=None)

    async def go() -> list[bool]:
        async with client(app) as c:
            project = await c.create_project({"name": "Cycles"})
            await c.create_timer(project.id, TIMER)
            states = []
            for stamp in ("2027-01-01T00:00:00Z", "2027-01-02T00:00:00Z"):
                await c.update_timer(project.id, TIMER["id"], {"archived_at": stamp})
                archived = await c.get_timer(project.id, TIMER["id"])
                restored = await c.update_timer(project.id, TIMER["id"], {"archived_at": None})
                again = await c.get_timer(project.id, TIMER["id"])
                states += [archived.archived_at is not None, restored.archived_at is None,
                           again.archived_at is None]
            return states

    assert run(go()) == [True, True, True] * 2


def test_label_a_b_a_ends_on_a() -> None:
    app = create_app(None, rate_limit=None)

    async def go() -> str:
        async with client(app) as c:
            project = await c.create_project({"name": "ABA"})
            await c.create_timer(project.id, TIMER)
            for label in ("A", "B", "A", "B", "A"):
                answer = await c.update_timer(project.id, TIMER["id"], {"label": label})
                assert answer.label == label
            return (await c.get_timer(project.id, TIMER["id"])).label

    assert run(go()) == "A"


def test_create_delete_cycles_leave_the_expected_state() -> None:
    app = create_app(None, rate_limit=None)

    async def go() -> list[bool]:
        async with client(app) as c:
            project = await c.create_project({"name": "Again"})
            present = []
            for _ in range(3):
                await c.create_timer(project.id, TIMER)
                present.append(len(await c.list_timers(project.id)) == 1)
                await c.delete_timer(project.id, TIMER["id"])
                present.append(len(await c.list_timers(project.id)) == 0)
            return present

    assert run(go()) == [True, True] * 3


def test_a_crash_rerun_still_replays_without_writing_again() -> None:
    app = create_app(None, rate_limit=None)

    async def once(project_id: str | None) -> str:
        async with client(app) as c:
            if project_id is None:
                project_id = (await c.create_project({"name": "Rerun"})).id
            await c.create_timer(project_id, TIMER)
            await c.update_timer(project_id, TIMER["id"], {"label": "Renamed"})
            return project_id

    project_id = run(once(None))
    run(once(project_id))  # the same logical changes again, as after a crash
    assert writes(app) == [
        ("POST", 201, False), ("POST", 201, False), ("PATCH", 200, False),
        ("POST", 201, True), ("PATCH", 200, True),
    ]


def test_projects_and_spaces_deleted_then_made_again_exist() -> None:
    app = create_app(None, rate_limit=None)

    async def go() -> tuple[int, list[str]]:
        async with client(app) as c:
            for _ in range(2):
                project = await c.create_project({"name": "Phoenix"})
                await c.delete_project(project.id)
            project = await c.create_project({"name": "Phoenix"})
            for _ in range(2):
                await c.create_space(project.id, {"id": "home", "name": "Home"})
                await c.delete_space(project.id, "home")
            await c.create_space(project.id, {"id": "home", "name": "Home"})
            return len(await c.list_projects()), [s.id for s in await c.list_spaces(project.id)]

    assert run(go()) == (1, ["home"])


def test_a_callers_key_replayed_stale_is_also_caught() -> None:
    app = create_app(None, rate_limit=None)

    async def go() -> int:
        async with client(app) as c:
            for _ in range(2):
                project = await c.create_project({"name": "Mine"}, idempotency_key="my-key-001")
                await c.delete_project(project.id)
            await c.create_project({"name": "Mine"}, idempotency_key="my-key-001")
            return len(await c.list_projects())

    assert run(go()) == 1
    keys = [r.idempotency_key for r in app.state.requests if r.method == "POST"]
    assert keys[0] == "my-key-001"
