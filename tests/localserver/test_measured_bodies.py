"""SERVER-NOTES "Measured on the real server": what the server accepts and stores.

Each test pins one measured fact; the oracles are the notes, the shared
accepted-zone list and hand-written expected values, never the server's output.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ical_bridge.localserver import PlanLimits
from tests.localserver.ls_harness import Harness, field_errors, plain_error, timer_body

SHARED_ZONES = Path(__file__).resolve().parents[2].parent / "shared/tickward/accepted-timezones.txt"


@pytest.fixture
def pid(api: Harness) -> str:
    project_id: str = api.project()["id"]
    return project_id


def _zones() -> list[str]:
    return [line.strip() for line in SHARED_ZONES.read_text().splitlines() if line.strip()]


def test_every_accepted_zone_is_accepted() -> None:
    api = Harness(rate_limit=None)
    pid = api.project()["id"]
    zones = _zones()
    assert len(zones) == 419 and "UTC" in zones  # "UTC" + 418 CLDR-canonical ids
    for index, zone in enumerate(zones):
        body = timer_body(id=f"zone_{index:04d}", timezone=zone)
        created = api.post(f"/projects/{pid}/timers", json=body)
        assert created.status_code == 201, (zone, created.text)
        if (index + 1) % 40 == 0:  # stay under the 40-timers-per-project cap
            for n in range(index - 39, index + 1):
                api.delete(f"/projects/{pid}/timers/zone_{n:04d}")


@pytest.mark.parametrize(
    "zone",
    [
        "Asia/Kolkata",
        "Europe/Kyiv",
        "America/Nuuk",
        "Asia/Kathmandu",
        "America/Argentina/Buenos_Aires",
        "Etc/UTC",
        "GMT",
        "US/Eastern",
        "US/Pacific",
        "Canada/Saskatchewan",
        "Etc/GMT-3",
        "Etc/GMT+5",
        "utc",
        "W. Europe Standard Time",
    ],
)
def test_valid_iana_names_off_the_list_are_refused(api: Harness, pid: str, zone: str) -> None:
    assert zone not in _zones()
    response = api.post(f"/projects/{pid}/timers", json=timer_body(timezone=zone))
    assert field_errors(response) == {"#/timezone": "Invalid input"}
    timer = api.timer(pid)
    patched = api.patch(f"/projects/{pid}/timers/{timer['id']}", json={"timezone": zone})
    assert list(field_errors(patched)) == ["#/timezone"]


def test_notify_defaults_to_true(api: Harness, pid: str) -> None:
    assert api.timer(pid)["notify"] is True
    assert api.timer(pid, notify=False)["notify"] is False
    nested = api.post(
        "/projects", json={"name": "N", "timers": [timer_body(), timer_body(notify=False)]}
    ).json()
    assert [t["notify"] for t in nested["timers"]] == [True, False]


def test_preview_warns_for_every_timer_whose_notify_is_not_false(api: Harness) -> None:
    body = {
        "name": "N",
        "timers": [timer_body(), timer_body(notify=True), timer_body(notify=False)],
        "spaces": [
            {"id": "box", "name": "Box", "timers": [timer_body(), timer_body(notify=False)]}
        ],
    }
    preview = api.post("/projects/preview", json=body).json()
    assert [(w["code"], w["path"]) for w in preview["warnings"]] == [
        ("timer_notify_uses_account_settings", "#/timers/0/notify"),
        ("timer_notify_uses_account_settings", "#/timers/1/notify"),
        ("timer_notify_uses_account_settings", "#/spaces/0/timers/0/notify"),
    ]


def test_label_description_and_project_name_are_trimmed(api: Harness) -> None:
    project = api.project("  Team  ")
    assert project["name"] == "Team"
    timer = api.timer(project["id"], label="  Standup \n", description="\t notes  ")
    assert (timer["label"], timer["description"]) == ("Standup", "notes")
    url = f"/projects/{project['id']}/timers/{timer['id']}"
    assert api.patch(url, json={"label": " Retro "}).json()["label"] == "Retro"
    renamed = api.patch(f"/projects/{project['id']}", json={"name": " Crew "}).json()
    assert renamed["name"] == "Crew"


def test_a_label_of_only_spaces_is_refused(api: Harness, pid: str) -> None:
    response = api.post(f"/projects/{pid}/timers", json=timer_body(label="   "))
    assert list(field_errors(response)) == ["#/label"]


def test_a_description_of_only_spaces_reads_back_null(api: Harness, pid: str) -> None:
    assert api.timer(pid, description="    ")["description"] is None


@pytest.mark.parametrize("extra", [{"foo": 1}, {"notification": True, "bar": "x"}])
def test_timer_create_refuses_unknown_keys_at_the_root(
    api: Harness, pid: str, extra: dict[str, Any]
) -> None:
    response = api.post(f"/projects/{pid}/timers", json={**timer_body(), **extra})
    assert list(field_errors(response)) == ["#"]


@pytest.mark.parametrize("body", [{"foo": 1}, {"id": "new_id_123"}, {"label": "x", "zzz": 0}])
def test_timer_patch_refuses_unknown_keys_at_the_root(
    api: Harness, pid: str, body: dict[str, Any]
) -> None:
    timer = api.timer(pid, label="Kept")
    response = api.patch(f"/projects/{pid}/timers/{timer['id']}", json=body)
    assert list(field_errors(response)) == ["#"]
    assert api.get(f"/projects/{pid}/timers/{timer['id']}").json()["label"] == "Kept"


def test_project_create_is_not_strict(api: Harness) -> None:
    response = api.post("/projects", json={"name": "Loose", "whatever": [1, 2]})
    assert response.status_code == 201


def test_unknown_keys_inside_recurrence_are_dropped(api: Harness, pid: str) -> None:
    recurrence = {"type": "weekly", "enabled": True, "interval": 2, "until": "2028"}
    timer = api.timer(pid, recurrence=recurrence)
    assert timer["recurrence"] == {"type": "weekly", "enabled": True}


def test_an_unknown_key_inside_a_reminder_is_reported_at_the_reminder(
    api: Harness, pid: str
) -> None:
    reminders = [{"offset_minutes": 5}, {"offset_minutes": 10, "channel": "sms"}]
    response = api.post(f"/projects/{pid}/timers", json=timer_body(reminders=reminders))
    assert list(field_errors(response)) == ["#/reminders/1"]


_RULES = {"rules": [{"unit": "days", "every": 1}]}


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"mode": "since", "target_date": "2020-01-01T00:00:00Z"}, "#/milestones"),
        (
            {
                "mode": "since",
                "target_date": "2020-01-01T00:00:00Z",
                "milestones": _RULES,
                "recurrence": {"type": "daily", "enabled": True},
            },
            "#/recurrence",
        ),
        ({"milestones": _RULES}, "#/milestones"),
        ({"mode": "until", "milestones": _RULES}, "#/milestones"),
    ],
)
def test_since_and_milestone_problems_are_422(
    api: Harness, pid: str, fields: dict[str, Any], path: str
) -> None:
    response = api.post(f"/projects/{pid}/timers", json=timer_body(**fields))
    assert response.status_code == 422, response.text
    assert [e["path"] for e in response.json()["error"]["errors"]] == [path]


def test_a_since_anchor_in_the_future_is_422_without_field_errors(api: Harness, pid: str) -> None:
    body = timer_body(mode="since", target_date="2027-06-01T00:00:00Z", milestones=_RULES)
    assert plain_error(api.post(f"/projects/{pid}/timers", json=body), 422) == (
        "Anchor must be in the past."
    )
    nested = {"name": "N", "timers": [body]}
    assert plain_error(api.post("/projects", json=nested), 422) == "Anchor must be in the past."
    since = api.timer(pid, mode="since", target_date="2020-01-01T00:00:00Z", milestones=_RULES)
    moved = api.patch(
        f"/projects/{pid}/timers/{since['id']}", json={"target_date": "2030-01-01T00:00:00Z"}
    )
    assert plain_error(moved, 422) == "Anchor must be in the past."


def test_patching_mode_or_milestones_is_422_without_field_errors(api: Harness, pid: str) -> None:
    timer = api.timer(pid)
    url = f"/projects/{pid}/timers/{timer['id']}"
    assert plain_error(api.patch(url, json={"mode": "since"}), 422) == (
        "Timer mode cannot be changed."
    )
    assert plain_error(api.patch(url, json={"milestones": _RULES}), 422) == (
        "Only since timers can define milestones."
    )


def test_target_date_is_only_checked_against_its_prefix(api: Harness, pid: str) -> None:
    feb30 = api.timer(pid, target_date="2027-02-30T10:00:00Z")
    assert feb30["target_date"] == "2027-02-30T10:00:00Z"  # kept as sent
    month13 = api.timer(pid, target_date="2027-13-01T10:00:00Z")
    assert month13["target_date"] == "2027-13-01T10:00:00Z"
    # read with the fields rolled over: Feb 30 is March 2, month 13 is January next year
    daily = {"type": "yearly", "enabled": True}
    rolled = api.timer(pid, target_date="2027-02-30T10:00:00Z", timezone="UTC", recurrence=daily)
    assert rolled["effective_target_date"] == "2027-03-02T10:00:00.000Z"
    assert (
        api.post(f"/projects/{pid}/timers", json=timer_body(target_date="2027-04-01")).status_code
        == 400
    )


def test_archived_at_is_stored_as_sent(api: Harness, pid: str) -> None:
    timer = api.timer(pid)
    url = f"/projects/{pid}/timers/{timer['id']}"
    sent = "2027-03-01T13:00:00+01:00"
    assert api.patch(url, json={"archived_at": sent}).json()["archived_at"] == sent
    assert api.get(url).json()["archived_at"] == sent


def test_a_non_date_archived_at_is_a_bare_500(api: Harness, pid: str) -> None:
    timer = api.timer(pid)
    url = f"/projects/{pid}/timers/{timer['id']}"
    response = api.patch(url, json={"archived_at": "yesterday"}, checked=False)
    assert response.status_code == 500 and response.content == b""
    assert api.get(url).json()["archived_at"] is None


def _hash(plan: dict[str, Any]) -> str:
    canonical = json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def test_plan_hash_is_the_sha256_of_the_normalised_plan(api: Harness) -> None:
    body = {
        "name": "Plan",
        "color": "",
        "spaces": [{"id": "sp1", "name": "S", "timers": [timer_body(id="nested_1")]}],
        "timers": [timer_body(id="top_one", description="", space_id="sp1")],
    }
    timer_defaults = {
        "color": None,
        "description": None,
        "image": None,
        "label": "Dentist",
        "milestones": None,
        "mode": "until",
        "notify": True,
        "pinned": False,
        "recurrence": None,
        "reminders": [],
        "target_date": "2027-04-01T08:30:00.000Z",
        "timezone": "Europe/Warsaw",
    }
    plan = {
        "color": None,
        "name": "Plan",
        "spaces": [
            {
                "color": None,
                "id": "sp1",
                "name": "S",
                "timers": [{**timer_defaults, "id": "nested_1", "space_id": None}],
            }
        ],
        "timers": [{**timer_defaults, "id": "top_one", "space_id": "sp1"}],
    }
    assert api.post("/projects/preview", json=body).json()["plan_hash"] == _hash(plan)


def test_bodies_differing_only_in_defaults_hash_the_same(api: Harness) -> None:
    bare = {"name": "P", "timers": [timer_body(id="t_00001")]}
    explicit = {
        "name": "P",
        "timers": [
            timer_body(
                id="t_00001", notify=True, pinned=False, mode="until", reminders=[], color=""
            )
        ],
    }
    first = api.post("/projects/preview", json=bare).json()["plan_hash"]
    assert api.post("/projects/preview", json=explicit).json()["plan_hash"] == first
    changed = {"name": "P", "timers": [timer_body(id="t_00001", notify=False)]}
    assert api.post("/projects/preview", json=changed).json()["plan_hash"] != first
    created = api.post("/projects", json={**explicit, "expected_plan_hash": first})
    assert created.status_code == 201


def _many(n: int, space: str | None = None) -> list[dict[str, Any]]:
    return [timer_body(id=f"t_{space or 'top'}_{i:03d}") for i in range(n)]


@pytest.mark.parametrize("path", ["/projects/preview", "/projects"])
def test_caps_in_nested_create_and_preview_in_the_documented_order(api: Harness, path: str) -> None:
    # 51 timers break both the snapshot cap (50) and the project cap (40): 50 is reported
    assert plain_error(api.post(path, json={"name": "P", "timers": _many(51)})) == (
        "Maximum 50 timers allowed."
    )
    assert plain_error(api.post(path, json={"name": "P", "timers": _many(41)})) == (
        "Maximum 40 timers allowed."
    )
    crowded = {
        "name": "P",
        "timers": _many(38),
        "spaces": [{"id": f"sp{i}", "name": "S"} for i in range(5)],
    }
    assert plain_error(api.post(path, json=crowded)) == "Maximum 4 spaces allowed."
    twice = {"name": "P", "spaces": [{"id": "same", "name": "A"}, {"id": "same", "name": "B"}]}
    assert plain_error(api.post(path, json=twice)) == "Duplicate space id: same."
    assert api.get("/projects").json()["data"] == []


def test_per_space_cap_comes_before_the_space_count() -> None:
    api = Harness(plan=PlanLimits(active_timers_per_space=3, project_create_max_spaces=1))
    body = {
        "name": "P",
        "spaces": [
            {"id": "aaa", "name": "A", "timers": _many(4, "aaa")},
            {"id": "bbb", "name": "B"},
        ],
    }
    assert plain_error(api.post("/projects/preview", json=body)) == (
        "Maximum 3 active timers allowed per space."
    )
