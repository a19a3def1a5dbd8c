"""The client against the real local tickward server, in-process (ASGI) and over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ical_bridge.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.tickward import (
    LocalValidationError,
    ProjectCreateRequest,
    TickwardClient,
    TimerCreateRequest,
    TimerUpdateRequest,
)
from tests.tickward.tw_helpers import FakeSleep, make_clock, run, serve

READ_KEY = "tw_read_only_key"
KEYS = {EMBEDDED_API_KEY: "full_access", READ_KEY: "read"}


@pytest.fixture(params=["asgi", "http"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def opened(mode: str, app: Any, key: str | None = EMBEDDED_API_KEY) -> Iterator[TickwardClient]:
    """A client for ``app``: in-process through ASGITransport, or through a real socket."""
    sleep = FakeSleep(make_clock())
    if mode == "asgi":
        yield TickwardClient("http://local.test/api/v1", key,
                             transport=httpx.ASGITransport(app=app), sleep=sleep)
    else:
        with serve(app) as base_url:
            yield TickwardClient(base_url, key, sleep=sleep)


def timer_body(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"icb_t{n:05d}", "label": f"Timer {n}", "target_date": "2027-05-01T10:00:00Z",
            "timezone": "Europe/Warsaw", **extra}


def test_projects_page_through_more_than_one_page(mode: str, tmp_path: Path) -> None:
    app = create_app(tmp_path / "tw.sqlite3", rate_limit=None)

    async def go(client: TickwardClient) -> tuple[list[str], list[str], int]:
        async with client:
            caps = await client.capabilities()
            created = [(await client.create_project({"name": f"P{i}"})).id for i in range(7)]
            listed = [p.id for p in await client.list_projects(page_size=3)]
            return created, listed, caps.limits.page_size_max

    with opened(mode, app) as client:
        created, listed, page_max = run(go(client))
    assert sorted(listed) == sorted(created) and len(set(listed)) == 7
    pages = [r for r in app.state.requests if r.method == "GET" and r.path == "/projects"]
    assert len(pages) == 3  # 3 + 3 + 1
    assert page_max == app.state.plan.page_size_max


def test_nested_create_with_preview_and_plan_hash(mode: str, tmp_path: Path) -> None:
    app = create_app(tmp_path / "tw.sqlite3", rate_limit=None)
    body = ProjectCreateRequest.model_validate({
        "name": "Calendar",
        "spaces": [{"id": "work", "name": "Work", "timers": [timer_body(1, notify=True)]}],
        "timers": [timer_body(2)],
    })

    async def go(client: TickwardClient) -> None:
        async with client:
            preview = await client.preview_project(body)
            assert preview.summary["timers"]["create"] == 2
            assert [c.type for c in preview.changes].count("timer") == 2
            assert "timer_notify_uses_account_settings" in [w.code for w in preview.warnings]
            stale = body.model_copy(update={"name": "Renamed"})
            stale_body = {**stale.model_dump(exclude_unset=True), "name": "Renamed",
                          "expected_plan_hash": preview.plan_hash}
            with pytest.raises(ConflictError) as info:
                await client.create_project(stale_body)
            assert info.value.code == "plan_hash_mismatch"
            created = await client.create_project(
                body.model_copy(update={"expected_plan_hash": preview.plan_hash})
            )
            assert {t.id for t in created.timers} == {"icb_t00001", "icb_t00002"}
            assert [s.id for s in created.spaces] == ["work"]
            nested = await client.get_timer(created.id, "icb_t00001")
            assert nested.space_id == "work"
            assert len(await client.list_projects()) == 1

    with opened(mode, app) as client:
        run(go(client))


def test_spaces_and_timer_lifecycle(mode: str, tmp_path: Path) -> None:
    app = create_app(tmp_path / "tw.sqlite3", rate_limit=None)

    async def go(client: TickwardClient) -> None:
        async with client:
            project = await client.create_project({"name": "Life"})
            space = await client.create_space(project.id, {"id": "home", "name": "Home"})
            assert [s.id for s in await client.list_spaces(project.id)] == [space.id]
            created = await client.create_timer(project.id, TimerCreateRequest.model_validate(
                timer_body(1, space_id="home", reminders=[{"offset_minutes": 15}],
                           recurrence={"type": "monthly", "enabled": True, "lastDay": True})))
            assert created.recurrence is not None and created.recurrence.lastDay is True
            assert created.effective_target_date == "2027-05-31T10:00:00.000Z"
            renamed = await client.update_timer(project.id, created.id, {"label": "Renamed"})
            assert renamed.label == "Renamed" and renamed.reminders == created.reminders
            archived = await client.update_timer(
                project.id, created.id, TimerUpdateRequest(archived_at="2027-01-01T00:00:00Z"))
            assert archived.archived_at is not None
            assert [t.archived_at for t in await client.list_timers(project.id)] == [
                archived.archived_at]  # lists include archived timers
            restored = await client.update_timer(
                project.id, created.id, TimerUpdateRequest(archived_at=None))
            assert restored.archived_at is None and restored.label == "Renamed"
            share = await client.create_share(project.id, created.id)
            assert [s.id for s in await client.list_shares(project.id)] == [share.id]
            deleted = await client.delete_timer(project.id, created.id)
            assert deleted.deleted and deleted.id == created.id
            with pytest.raises(NotFoundError):
                await client.get_timer(project.id, created.id)

    with opened(mode, app) as client:
        run(go(client))


def test_sync_etag_gives_not_modified_until_something_changes(mode: str, tmp_path: Path) -> None:
    app = create_app(tmp_path / "tw.sqlite3", rate_limit=None)

    async def go(client: TickwardClient) -> None:
        async with client:
            project = await client.create_project({"name": "Sync"})
            await client.create_timer(project.id, timer_body(1))
            first = await client.sync()
            assert first.snapshot is not None and not first.not_modified and first.etag
            assert [t.id for t in first.snapshot.timers] == ["icb_t00001"]
            again = await client.sync(first.etag)
            assert again.not_modified and again.snapshot is None and again.etag == first.etag
            await client.update_timer(project.id, "icb_t00001", {"label": "Changed"})
            changed = await client.sync(first.etag)
            assert not changed.not_modified and changed.etag != first.etag
            assert changed.snapshot is not None
            assert changed.snapshot.timers[0].label == "Changed"

    with opened(mode, app) as client:
        run(go(client))
    statuses = [r.status for r in app.state.requests if r.path == "/sync"]
    assert statuses == [200, 304, 200]


def test_server_errors_map_with_field_paths(mode: str, tmp_path: Path) -> None:
    app = create_app(tmp_path / "tw.sqlite3", api_keys=KEYS, rate_limit=None)

    async def go(client: TickwardClient) -> None:
        async with client:
            project = await client.create_project({"name": "Errors"})
            with pytest.raises(ValidationError) as info:  # no such space: only the server knows
                await client.create_timer(project.id, timer_body(1, space_id="nowhere"))
            assert info.value.status == 400 and info.value.request_id
            # measured: outside field validation, so the text is in the message, no errors[]
            assert info.value.field_errors == ()
            assert "space_id does not exist" in str(info.value)
            await client.create_timer(project.id, timer_body(2))
            with pytest.raises(ValidationError):  # the id exists already
                await client.create_timer(project.id, timer_body(2, label="Other"))
            # Duplicate reminder offsets: the server's path is the oracle for the local check.
            dup = timer_body(3, reminders=[{"offset_minutes": 5}, {"offset_minutes": 5}])
            # Sent raw on the client's own connection, bypassing the local check.
            raw = await client._http.post(f"projects/{project.id}/timers", json=dup)
            server_paths = [e["path"] for e in raw.json()["error"]["errors"]]
            with pytest.raises(LocalValidationError) as local:
                await client.create_timer(project.id, dup)
            assert [e.path for e in local.value.field_errors] == server_paths
            assert server_paths == ["#/reminders/1/offset_minutes"]

    with opened(mode, app) as client:
        run(go(client))


def test_scope_and_missing_keys_are_authentication_errors(mode: str, tmp_path: Path) -> None:
    app = create_app(tmp_path / "tw.sqlite3", api_keys=KEYS, rate_limit=None)

    async def attempt(client: TickwardClient) -> AuthenticationError:
        async with client:
            await client.capabilities()  # needs no key
            with pytest.raises(AuthenticationError) as info:
                await client.create_project({"name": "Nope"})
            return info.value

    with opened(mode, app, key=READ_KEY) as client:
        read_only = run(attempt(client))
    with opened(mode, app, key=None) as client:
        missing = run(attempt(client))
    with opened(mode, app, key="tw_not_a_key") as client:
        unknown = run(attempt(client))
    # measured on the real server: 401 restricted_api_key, a clear "read-only" error
    assert (read_only.status, read_only.code) == (401, "restricted_api_key")
    assert read_only.read_only and "read-only" in str(read_only)
    assert not missing.read_only and not unknown.read_only
    assert (missing.status, missing.code) == (401, "missing_api_key")
    assert (unknown.status, unknown.code) == (403, "invalid_api_key")
    assert all(e.hint for e in (read_only, missing, unknown))
    assert "tw_not_a_key" not in str(unknown)
