"""Projects, spaces, timers, shares and /sync behave as tickward documents them."""

from __future__ import annotations

from datetime import timedelta

from tests.localserver.ls_harness import Harness, timer_body


def test_capabilities_need_no_key_and_report_the_plan() -> None:
    from ical_bridge.localserver import PlanLimits

    api = Harness(plan=PlanLimits(project_create_max_timers=7, project_create_max_spaces=2))
    response = api.get("/capabilities", key=None)
    assert response.status_code == 200
    limits = response.json()["limits"]
    assert limits == {
        "project_create_max_spaces": 2,
        "project_create_max_timers": 7,
        "page_size_max": 100,
    }
    assert "ratelimit-limit" not in response.headers


def test_timer_round_trip_keeps_what_was_sent(api: Harness) -> None:
    project = api.project("Work")
    api.space(project["id"], "meetings", "Meetings")
    sent = timer_body(
        id="icb_0123456789abcdef",
        label="Standup",
        target_date="2027-04-01T10:15:00.123+02:00",
        color="#2563eb",
        description="Daily",
        space_id="meetings",
        reminders=[{"offset_minutes": 10}, {"offset_minutes": 0}],
    )
    created = api.post(f"/projects/{project['id']}/timers", json=sent)
    assert created.status_code == 201
    timer = created.json()
    assert timer["target_date"] == "2027-04-01T10:15:00.123+02:00"  # stored as sent
    assert timer["effective_target_date"] == "2027-04-01T10:15:00.123+02:00"
    assert timer["project_name"] == "Work"
    # notify omitted → true on the real server (measured)
    assert timer["mode"] == "until" and timer["notify"] is True and timer["pinned"] is False
    assert timer["reminders"] == [{"offset_minutes": 10}, {"offset_minutes": 0}]
    assert timer["created_at"] == "2027-03-01T12:00:00.000Z"
    fetched = api.get(f"/projects/{project['id']}/timers/icb_0123456789abcdef").json()
    assert fetched == timer
    listed = api.get(f"/projects/{project['id']}/timers").json()
    assert listed["object"] == "list" and listed["data"] == [timer]
    assert api.get(f"/projects/{project['id']}").json()["timer_count"] == 1


def test_server_generates_ids_when_absent(api: Harness) -> None:
    project = api.project()
    first = api.timer(project["id"])
    second = api.timer(project["id"])
    assert first["id"] != second["id"]
    space = api.post(f"/projects/{project['id']}/spaces", json={"name": "Home"}).json()
    assert space["id"] and space["name"] == "Home"


def test_same_timer_id_is_allowed_in_another_project(api: Harness) -> None:
    one, two = api.project("One"), api.project("Two")
    api.timer(one["id"], id="shared_id_1")
    assert api.timer(two["id"], id="shared_id_1")["project_id"] == two["id"]


def test_patch_clears_description_and_color_and_moves_updated_at(api: Harness) -> None:
    project = api.project()
    timer = api.timer(project["id"], color="#ff0000", description="note")
    api.clock.advance(timedelta(minutes=5))
    url = f"/projects/{project['id']}/timers/{timer['id']}"
    patched = api.patch(url, json={"color": "", "description": "", "label": "New"}).json()
    assert patched["color"] is None and patched["description"] is None
    assert patched["label"] == "New"
    assert patched["updated_at"] == "2027-03-01T12:05:00.000Z"
    assert patched["created_at"] == timer["created_at"]


def test_updated_at_never_repeats_even_when_the_clock_stands_still(api: Harness) -> None:
    project = api.project()
    timer = api.timer(project["id"])
    url = f"/projects/{project['id']}/timers/{timer['id']}"
    stamps = [api.patch(url, json={"label": label}).json()["updated_at"] for label in "ABA"]
    assert len({*stamps, timer["updated_at"]}) == 4


def test_archive_and_restore(api: Harness) -> None:
    project = api.project()
    timer = api.timer(project["id"])
    url = f"/projects/{project['id']}/timers/{timer['id']}"
    archived = api.patch(url, json={"archived_at": "2027-03-01T12:00:00Z"}).json()
    assert archived["archived_at"] == "2027-03-01T12:00:00Z"  # stored as sent (measured)
    listed = api.get(f"/projects/{project['id']}/timers").json()["data"]
    assert [t["id"] for t in listed] == [timer["id"]]  # lists include archived timers
    restored = api.patch(url, json={"archived_at": None}).json()
    assert restored["archived_at"] is None


def test_disabled_recurrence_stops_repeating(api: Harness) -> None:
    project = api.project()
    timer = api.timer(
        project["id"],
        target_date="2027-01-04T09:00:00Z",
        recurrence={"type": "weekly", "enabled": True},
    )
    assert timer["effective_target_date"] == "2027-03-08T09:00:00.000Z"
    url = f"/projects/{project['id']}/timers/{timer['id']}"
    stopped = api.patch(url, json={"recurrence": {"type": "weekly", "enabled": False}}).json()
    assert stopped["effective_target_date"] == "2027-01-04T09:00:00Z"


def test_effective_target_date_follows_wall_clock_across_dst(api: Harness) -> None:
    project = api.project()
    # Monday 10:00 in Warsaw (CET, +01:00); worked out by hand, not by the code under test
    timer = api.timer(
        project["id"],
        target_date="2027-01-04T09:00:00.000Z",
        timezone="Europe/Warsaw",
        recurrence={"type": "weekly", "enabled": True},
    )
    url = f"/projects/{project['id']}/timers/{timer['id']}"
    assert api.get(url).json()["effective_target_date"] == "2027-03-08T09:00:00.000Z"
    api.clock.advance(timedelta(days=27))  # 2027-03-28 12:00Z, the day CEST starts
    assert api.get(url).json()["effective_target_date"] == "2027-03-29T08:00:00.000Z"


def test_monthly_last_day_and_skipped_months(api: Harness) -> None:
    project = api.project()
    last_day = api.timer(
        project["id"],
        target_date="2027-01-31T17:00:00Z",
        timezone="UTC",
        recurrence={"type": "monthly", "enabled": True, "lastDay": True},
    )
    assert last_day["effective_target_date"] == "2027-03-31T17:00:00.000Z"
    thirty_first = api.timer(
        project["id"],
        target_date="2027-01-31T17:00:00Z",
        timezone="UTC",
        recurrence={"type": "monthly", "enabled": True},
    )
    assert thirty_first["effective_target_date"] == "2027-03-31T17:00:00.000Z"
    api.clock.advance(timedelta(days=31))  # 2027-04-01: April has no 31st → May 31
    url = f"/projects/{project['id']}/timers/{thirty_first['id']}"
    assert api.get(url).json()["effective_target_date"] == "2027-05-31T17:00:00.000Z"


def test_measured_dst_gap_example_from_server_notes(api: Harness) -> None:
    project = api.project()
    # SERVER-NOTES measured: yearly Warsaw 02:30 on 2027-03-28 (in the gap) → 00:30Z
    gap = api.timer(
        project["id"],
        target_date="2026-03-28T01:30:00Z",  # 02:30 CET the day before the 2026 change
        timezone="Europe/Warsaw",
        recurrence={"type": "yearly", "enabled": True},
    )
    assert gap["effective_target_date"] == "2027-03-28T00:30:00.000Z"


def test_since_timer_counts_to_the_next_milestone(api: Harness) -> None:
    project = api.project()
    timer = api.timer(
        project["id"],
        mode="since",
        target_date="2026-03-02T06:00:00.000Z",
        timezone="UTC",
        milestones={"rules": [{"unit": "weeks", "every": 1}]},
    )
    # 2026-03-02 is a Monday; 2027-03-01 12:00 (Monday) → the next Monday 06:00
    assert timer["effective_target_date"] == "2027-03-08T06:00:00.000Z"
    assert timer["milestones"] == {"rules": [{"unit": "weeks", "every": 1}]}


def test_delete_timer_removes_it(api: Harness) -> None:
    project = api.project()
    timer = api.timer(project["id"], label="Gone")
    url = f"/projects/{project['id']}/timers/{timer['id']}"
    deleted = api.delete(url).json()
    assert deleted == {
        "object": "timer",
        "id": timer["id"],
        "project_id": project["id"],
        "project_name": project["name"],
        "label": "Gone",
        "deleted": True,
    }
    assert api.get(url).status_code == 404


def test_project_update_delete_and_dry_run(api: Harness) -> None:
    project = api.project("Old", color="#000000")
    url = f"/projects/{project['id']}"
    assert api.patch(url, json={"name": "New", "color": None}).json()["color"] is None
    api.timer(project["id"])
    preview = api.delete(url, params={"dry_run": "true"}).json()
    assert preview["summary"]["timers"] == {"delete": 1}
    assert api.get(url).status_code == 200  # a dry run changes nothing
    assert api.delete(url).json()["deleted"] is True
    assert api.get(url).status_code == 404


def test_space_crud_and_delete_unassigns_timers(api: Harness) -> None:
    project = api.project()
    pid = project["id"]
    api.space(pid, "home")
    assert api.patch(f"/projects/{pid}/spaces/home", json={"name": "House"}).json()["name"] == (
        "House"
    )
    timer = api.timer(pid, space_id="home")
    preview = api.delete(f"/projects/{pid}/spaces/home", params={"dry_run": "true"}).json()
    assert preview["summary"] == {
        "share_links": {"delete": 0},
        "spaces": {"delete": 1},
        "timers": {"update": 1},
    }
    assert api.delete(f"/projects/{pid}/spaces/home").json()["deleted"] is True
    assert api.get(f"/projects/{pid}/timers/{timer['id']}").json()["space_id"] is None
    assert api.get(f"/projects/{pid}/spaces").json()["data"] == []


def test_projects_page_with_after_and_before(api: Harness) -> None:
    # newest first (measured): the last created project comes first
    ids = [api.project(f"P{i}")["id"] for i in range(5)][::-1]
    first = api.get("/projects", params={"limit": "2"}).json()
    assert [p["id"] for p in first["data"]] == ids[:2] and first["has_more"] is True
    second = api.get("/projects", params={"limit": "2", "after": ids[1]}).json()
    assert [p["id"] for p in second["data"]] == ids[2:4] and second["has_more"] is True
    last = api.get("/projects", params={"limit": "2", "after": ids[3]}).json()
    assert [p["id"] for p in last["data"]] == ids[4:] and last["has_more"] is False
    back = api.get("/projects", params={"limit": "2", "before": ids[4]}).json()
    assert [p["id"] for p in back["data"]] == ids[2:4] and back["has_more"] is True
    assert api.get("/projects", params={"limit": "101"}).status_code == 400
    assert api.get("/projects", params={"limit": "0"}).status_code == 400
    assert api.get("/projects", params={"limit": "١٢"}).status_code == 400
    unknown = api.get("/projects", params={"after": "nope"})  # measured: an empty page
    assert unknown.status_code == 200 and unknown.json()["data"] == []


def test_share_is_idempotent_per_timer_and_sets_shared_at(api: Harness) -> None:
    project = api.project()
    pid = project["id"]
    timer = api.timer(pid, label="Launch")
    first = api.post(f"/projects/{pid}/shares", json={"timer_id": timer["id"]})
    assert first.status_code == 201
    api.clock.advance(60)
    again = api.post(f"/projects/{pid}/shares", json={"timer_id": timer["id"]})
    assert again.json()["id"] == first.json()["id"]
    share = first.json()
    assert share["timer_label"] == "Launch" and share["url_path"] == f"/share/{share['id']}"
    shared_at = api.get(f"/projects/{pid}/timers/{timer['id']}").json()["shared_at"]
    assert shared_at == "2027-03-01T12:00:00.000Z" == share["shared_at"]
    assert api.get(f"/projects/{pid}/shares").json()["data"] == [again.json()]
    assert api.get(f"/projects/{pid}/shares/{share['id']}").json()["id"] == share["id"]
    assert api.delete(f"/projects/{pid}/shares/{share['id']}").json()["deleted"] is True
    assert api.get(f"/projects/{pid}/timers/{timer['id']}").json()["shared_at"] is None
    assert api.post(f"/projects/{pid}/shares", json={"timer_id": "nope_nope"}).status_code == 404


def test_sync_etag_and_not_modified(api: Harness) -> None:
    project = api.project()
    api.timer(project["id"])
    first = api.get("/sync")
    etag = first.headers["etag"]
    assert etag.startswith('"sha256:')
    assert [len(first.json()[k]) for k in ("projects", "spaces", "timers")] == [1, 0, 1]
    api.clock.advance(30)  # synced_at moves, the ETag does not
    same = api.get("/sync", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.headers["etag"] == etag
    assert same.headers["ratelimit-remaining"]  # 304 carries rate-limit headers too
    api.timer(project["id"], label="Another")
    changed = api.get("/sync", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_sync_etag_moves_when_a_recurring_timer_rolls_over(api: Harness) -> None:
    project = api.project()
    api.timer(
        project["id"],
        target_date="2027-01-01T00:00:00Z",
        timezone="UTC",
        recurrence={"type": "daily", "enabled": True},
    )
    etag = api.get("/sync").headers["etag"]
    api.clock.advance(timedelta(days=1))
    assert api.get("/sync", headers={"If-None-Match": etag}).status_code == 200


def test_public_api_is_complete_and_sorted() -> None:
    import ical_bridge.localserver as package

    assert package.__all__ == sorted(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None
