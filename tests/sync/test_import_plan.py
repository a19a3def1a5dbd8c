"""The pure planner, on hand-built inputs: drafts, tickward Timer JSON and state records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ical_bridge.convert import Skipped, SourceRef, TimerDraft
from ical_bridge.store.records import TimerRecord
from ical_bridge.sync import (
    Limits,
    Plan,
    Policy,
    ProjectTarget,
    build_plan,
    fingerprint,
    patch_body,
    space_id_for,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SRC = "feed:team"
PROJECT = ProjectTarget(id="p1", name="Team")


def draft(n: int, *, label: str | None = None, days: int | None = None, **extra: Any) -> TimerDraft:
    when = NOW + timedelta(days=days if days is not None else n + 1)
    body = {
        "id": f"icb_{n:032x}",
        "label": label or f"Event {n}",
        "target_date": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": "Europe/Berlin",
        **extra,
    }
    if body.get("recurrence") is None:
        body.pop("recurrence", None)
    return TimerDraft(body, SourceRef(f"uid-{n}", None, 0), "single", when)


def remote(body: Mapping[str, Any], *, updated: str = "2026-03-01T10:00:00.000Z",
           **over: Any) -> dict[str, Any]:
    """What tickward would hold after a create with ``body`` (server-normalised)."""
    timer: dict[str, Any] = {
        "object": "timer", "id": body["id"], "project_id": "p1", "project_name": "Team",
        "label": body["label"], "target_date": body["target_date"],
        "effective_target_date": body["target_date"], "timezone": body["timezone"],
        "created_at": "2026-03-01T10:00:00.000Z", "updated_at": updated, "archived_at": None,
        "color": body.get("color"), "description": body.get("description"),
        "space_id": body.get("space_id"), "shared_at": None,
        "notify": body.get("notify", False), "mode": "until", "milestones": None,
        "recurrence": body.get("recurrence"), "pinned": False, "image": None,
        "reminders": body.get("reminders", []),
    }
    timer.update(over)
    return timer


def record(d: TimerDraft | str, *, source: str = SRC, fp: str | None = None,
           updated: str | None = "2026-03-01T10:00:00.000Z", uid: str | None = None,
           series_end: str | None = None) -> TimerRecord:
    if isinstance(d, TimerDraft):
        return TimerRecord("p1", d.id, source, uid or d.source.uid, None, 0, "single",
                           fp or fingerprint(d.timer), updated, series_end)
    return TimerRecord("p1", d, source, uid or "uid-x", None, 0, "single", fp or "v1:x",
                       updated, series_end)


def plan_of(desired: list[TimerDraft], timers: list[dict[str, Any]] | None = None,
            records: list[TimerRecord] | None = None, **kw: Any) -> Plan:
    policy = kw.pop("policy", Policy())
    return build_plan(desired, project=kw.pop("project", PROJECT), timers=timers or [],
                      spaces=kw.pop("spaces", []), records=records or [], source_key=SRC,
                      now=NOW, policy=policy, **kw)


def actions(plan: Plan) -> dict[str, str]:
    return {c.timer_id: c.action for c in plan.changes}


def test_first_import_creates_every_draft_with_its_exact_body() -> None:
    ds = [draft(1), draft(2, description="Bring slides", color="#FF0000")]
    plan = plan_of(ds)
    assert plan.summary == {"create": 2, "update": 0, "archive": 0, "delete": 0,
                            "unchanged": 0, "skipped": 0}
    assert [dict(c.fields) for c in plan.writes] == [dict(d.timer) for d in ds]


def test_reimport_of_what_tickward_holds_is_all_unchanged() -> None:
    ds = [draft(1, reminders=[{"offset_minutes": 10}, {"offset_minutes": 60}], notify=True),
          draft(2, recurrence={"type": "weekly", "enabled": True})]
    timers = [remote(d.timer) for d in ds]
    plan = plan_of(ds, timers, [record(d) for d in ds])
    assert plan.writes == [] and plan.empty
    assert plan.summary["unchanged"] == 2


def test_normalised_comparison_ignores_representation_differences() -> None:
    d = draft(1, reminders=[{"offset_minutes": 10}, {"offset_minutes": 60}], color="#aabbcc")
    # The same instant written with an offset and milliseconds, reminders in another order,
    # colour in upper case, description null instead of absent.
    local = (NOW + timedelta(days=2)).astimezone(datetime.now(UTC).astimezone().tzinfo)
    same = remote(d.timer, target_date=local.isoformat(timespec="milliseconds"),
                  reminders=[{"offset_minutes": 60}, {"offset_minutes": 10}],
                  color="#AABBCC", description=None)
    assert patch_body(d.timer, same, NOW) == {}
    assert fingerprint(d.timer) == fingerprint(same)


def test_count_up_timers_compare_mode_and_milestones() -> None:
    rules = {"rules": [{"unit": "years", "every": 1}]}
    d = draft(1, days=-400, mode="since", milestones=rules)
    as_stored = remote(d.timer, mode="since",
                       milestones={"rules": [{"unit": "years", "every": 1, "at": None}]})
    assert patch_body(d.timer, as_stored, NOW) == {}
    assert fingerprint(d.timer) == fingerprint(as_stored)
    weekly = {"rules": [{"unit": "weeks", "every": 1}]}
    assert patch_body(dict(d.timer, milestones=weekly), as_stored, NOW) == {"milestones": weekly}
    assert patch_body(draft(1, days=-400).timer, as_stored, NOW) == {"mode": "until"}


def test_description_cleared_in_feed_is_cleared_with_empty_string() -> None:
    d = draft(1)
    had = remote(d.timer, description="old text", color="#123456")
    # issue 11: a colour the feed does not set is not the feed's to clear (kept in tickward)
    assert patch_body(d.timer, had, NOW) == {"description": ""}


def test_recurring_timer_with_other_anchor_but_same_slot_and_next_occurrence_is_unchanged() -> None:
    weekly = {"type": "weekly", "enabled": True}
    d = draft(1, days=7, recurrence=weekly)  # anchor next week, same weekday and time
    earlier = dict(d.timer, target_date=(NOW + timedelta(days=-7)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    # NOW itself is a slot but excluded: the next slot after NOW is NOW+7d for both anchors.
    assert patch_body(d.timer, remote(earlier), NOW) == {}
    moved = dict(d.timer, target_date=(NOW + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert patch_body(moved, remote(d.timer), NOW) == {"target_date": moved["target_date"]}


def test_recurrence_removed_in_feed_is_stopped_not_nulled() -> None:
    d = draft(1)
    was = remote(dict(d.timer, recurrence={"type": "monthly", "enabled": True, "lastDay": True}))
    assert patch_body(d.timer, was, NOW) == {"recurrence": {"type": "monthly", "enabled": False}}


def test_one_edited_event_gives_one_update_with_only_the_changed_field() -> None:
    ds = [draft(1), draft(2)]
    timers = [remote(d.timer) for d in ds]
    edited = [ds[0], draft(2, label="Renamed")]
    plan = plan_of(edited, timers, [record(d) for d in ds])
    assert [(c.action, c.timer_id, dict(c.fields)) for c in plan.writes] == [
        ("update", ds[1].id, {"label": "Renamed"})
    ]
    assert plan.writes[0].base_updated_at == "2026-03-01T10:00:00.000Z"


def test_archived_bridge_timer_whose_event_returns_is_restored_in_its_update() -> None:
    d = draft(1)
    plan = plan_of([d], [remote(d.timer, archived_at="2026-02-01T00:00:00.000Z")],
                   [record(d, fp=fingerprint(dict(d.timer, archived_at="x")))])
    assert [(c.action, dict(c.fields)) for c in plan.writes] == [("update", {"archived_at": None})]


@pytest.mark.parametrize(("on_delete", "expected"), [
    ("archive", {"archive": 1, "delete": 0, "unchanged": 1}),
    ("delete", {"archive": 0, "delete": 1, "unchanged": 1}),
    ("keep", {"archive": 0, "delete": 0, "unchanged": 2}),
])
def test_event_removed_from_feed_follows_on_delete(
    on_delete: str, expected: dict[str, int]
) -> None:
    ds = [draft(1), draft(2)]
    plan = plan_of(ds[:1], [remote(d.timer) for d in ds], [record(d) for d in ds],
                   policy=Policy(on_delete=on_delete))  # type: ignore[arg-type]
    assert {k: plan.summary[k] for k in expected} == expected
    if on_delete == "archive":
        assert plan.writes[0].fields == {"archived_at": "2026-03-02T12:00:00.000Z"}
        assert plan.writes[0].note == "event left the calendar"


def test_cancelled_event_is_archived_with_the_reason() -> None:
    ds = [draft(1), draft(2)]
    skipped = [Skipped("uid-2", "cancelled", "STATUS:CANCELLED")]
    plan = plan_of(ds[:1], [remote(d.timer) for d in ds], [record(d) for d in ds],
                   source_skipped=skipped)
    assert [(c.action, c.timer_id, c.note) for c in plan.writes] == [
        ("archive", ds[1].id, "event was cancelled")
    ]


def test_hand_made_timers_are_never_touched() -> None:
    d = draft(1)
    hand = remote(dict(draft(2).timer, id="my_timer"), updated="2026-01-01T00:00:00.000Z")
    prefixed = remote(dict(draft(3).timer, id="icb_handmade_lookalike"))
    other_src = remote(draft(4).timer)
    plan = plan_of([], [remote(d.timer), hand, prefixed, other_src],
                   [record(d), record(draft(4), source="feed:other")],
                   policy=Policy(allow_empty=True))
    assert actions(plan) == {d.id: "archive"}


def test_existing_timer_with_the_deterministic_id_is_adopted_without_state() -> None:
    ds = [draft(1), draft(2, label="New label")]
    plan = plan_of(ds, [remote(draft(1).timer), remote(draft(2).timer)], [])
    assert actions(plan) == {ds[0].id: "unchanged", ds[1].id: "update"}
    unchanged = next(c for c in plan.changes if c.action == "unchanged")
    assert unchanged.refresh_record  # the state is rebuilt from tickward, no write sent


def test_id_whose_record_belongs_to_another_source_is_not_ours() -> None:
    d = draft(1)
    plan = plan_of([d], [remote(d.timer, label="theirs")], [record(d, source="feed:other")])
    assert plan.writes == []
    assert [s.code for s in plan.skipped] == ["not_ours"]


def test_conflict_feed_wins_by_default_and_tickward_wins_when_asked() -> None:
    d = draft(1)
    edited = remote(d.timer, label="Edited by a person", updated="2026-03-02T09:00:00.000Z")
    rec = record(d)
    plan = plan_of([d], [edited], [rec])
    assert [(c.action, dict(c.fields)) for c in plan.writes] == [("update", {"label": "Event 1"})]
    assert plan.writes[0].note is not None and "conflict" in plan.writes[0].note
    kept = plan_of([d], [edited], [rec], policy=Policy(conflict="tickward-wins"))
    assert kept.writes == []
    assert kept.changes[0].note is not None and "tickward wins" in kept.changes[0].note


def test_touching_an_unmanaged_field_is_not_a_conflict() -> None:
    d = draft(1, label="New")
    pinned = remote(draft(1).timer, pinned=True, updated="2026-03-02T09:00:00.000Z")
    plan = plan_of([d], [pinned], [record(draft(1))], policy=Policy(conflict="tickward-wins"))
    assert [(c.action, dict(c.fields), c.note) for c in plan.writes] == [
        ("update", {"label": "New"}, None)
    ]


def test_timer_deleted_in_tickward_is_recreated_unless_tickward_wins() -> None:
    d = draft(1)
    assert actions(plan_of([d], [], [record(d)])) == {d.id: "create"}
    plan = plan_of([d], [], [record(d)], policy=Policy(conflict="tickward-wins"))
    assert plan.writes == [] and [s.code for s in plan.skipped] == ["conflict"]


def test_record_of_a_timer_gone_from_tickward_is_forgotten() -> None:
    d = draft(1)
    plan = plan_of([], [], [record(d)], policy=Policy(allow_empty=True))
    assert plan.forget == [d.id] and plan.writes == []


def test_mass_deletion_guard_on_empty_source() -> None:
    ds = [draft(n) for n in range(4)]
    timers, recs = [remote(d.timer) for d in ds], [record(d) for d in ds]
    plan = plan_of([], timers, recs, empty_source=True)
    assert plan.writes == [] and plan.suspicious is not None
    assert "no events" in plan.suspicious
    allowed = plan_of([], timers, recs, empty_source=True, policy=Policy(allow_empty=True))
    assert allowed.summary["archive"] == 4 and allowed.suspicious is None


def test_mass_deletion_guard_on_large_loss_but_not_small() -> None:
    ds = [draft(n) for n in range(6)]
    timers, recs = [remote(d.timer) for d in ds], [record(d) for d in ds]
    big = plan_of(ds[:2], timers, recs)  # 4 of 6 lost
    assert big.suspicious is not None and big.summary["archive"] == 0
    assert sum(s.code == "guard" for s in big.skipped) == 4
    small = plan_of(ds[:4], timers, recs)  # 2 of 6 lost
    assert small.suspicious is None and small.summary["archive"] == 2


def test_expired_series_do_not_trip_the_guard_and_are_archived() -> None:
    ds = [draft(n) for n in range(4)]
    timers = [remote(d.timer) for d in ds]
    recs = [record(d) for d in ds]
    ended = [Skipped(d.source.uid, "ended", "series over") for d in ds[1:]]
    plan = plan_of(ds[:1], timers, recs, source_skipped=ended)
    assert plan.suspicious is None and plan.summary["archive"] == 3
    assert {c.note for c in plan.writes} == {"the series ended"}


def test_native_series_past_its_series_end_is_archived() -> None:
    d = draft(1, recurrence={"type": "daily", "enabled": True})
    over = TimerDraft(d.timer, SourceRef("uid-1", None, 0), "native", d.next_occurrence,
                      series_end=datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    plan = plan_of([over], [remote(d.timer)], [record(d)])
    assert [(c.action, c.note) for c in plan.writes] == [("archive", "the series ended")]
    assert plan_of([over]).writes == []  # never created in the first place


def test_calendar_larger_than_the_project_cap_keeps_the_soonest_and_says_why() -> None:
    ds = [draft(n) for n in range(45)]
    hand = remote(dict(draft(99).timer, id="hand_made"))
    plan = plan_of(list(reversed(ds)), [hand], [])
    created = [c.timer_id for c in plan.writes]
    assert created == [d.id for d in ds[:39]]
    limited = [s for s in plan.skipped if s.code == "limit"]
    assert {s.timer_id for s in limited} == {d.id for d in ds[39:]}
    assert "40 timers" in limited[0].message and "--window" in limited[0].message


def test_old_archived_bridge_timers_are_deleted_first_to_make_room() -> None:
    old = [draft(100 + n) for n in range(5)]
    timers = [remote(d.timer, archived_at=f"2026-01-0{n + 1}T00:00:00.000Z")
              for n, d in enumerate(old)]
    recs = [record(d, fp=fingerprint(dict(d.timer, archived_at="x"))) for d in old]
    ds = [draft(n) for n in range(38)]
    plan = plan_of(ds, timers, recs, policy=Policy(limits=Limits(timers_per_project=40)))
    assert plan.summary["create"] == 38 and plan.summary["delete"] == 3
    deleted = [c.timer_id for c in plan.writes if c.action == "delete"]
    assert deleted == [d.id for d in old[:3]]  # the oldest archived first
    kinds = [c.action for c in plan.writes]
    assert kinds.index("create") > max(i for i, k in enumerate(kinds) if k == "delete")


def test_per_space_active_cap_counts_unarchived_only() -> None:
    ds = [draft(n, space_id="work") for n in range(5)]
    spaces = [{"id": "work", "name": "Work"}]
    busy = [remote(dict(draft(50 + n).timer, id=f"hand_{n}", space_id="work"),
                   archived_at="2026-01-01T00:00:00.000Z" if n < 2 else None) for n in range(4)]
    plan = plan_of(ds, busy, [], spaces=spaces,
                   policy=Policy(limits=Limits(active_timers_per_space=5)))
    assert plan.summary["create"] == 3
    assert sum(s.code == "limit" for s in plan.skipped) == 2


def test_spaces_are_resolved_by_id_or_name_and_created_deterministically() -> None:
    ds = [draft(1, space_id="Work"), draft(2, space_id="home"), draft(3, space_id="Side Project")]
    plan = plan_of(ds, spaces=[{"id": "wk", "name": "work"}])
    side = space_id_for("Side Project")
    assert [c.fields.get("space_id") for c in plan.writes] == ["wk", "home", side]
    assert [(s.id, s.name) for s in plan.spaces] == [
        ("home", "home"), (space_id_for("Side Project"), "Side Project")
    ]
    assert space_id_for("Side Project").startswith("icb_")


def test_space_cap_leaves_out_timers_of_spaces_that_cannot_be_created() -> None:
    ds = [draft(1, space_id="a-space"), draft(2, space_id="b-space")]
    plan = plan_of(ds, policy=Policy(limits=Limits(spaces_per_project=1)))
    assert [s.id for s in plan.spaces] == ["a-space"]
    assert plan.summary["create"] == 1 and plan.skipped[0].code == "limit"


def test_json_object_shape() -> None:
    plan = plan_of([draft(1)], project=ProjectTarget(None, "Team", None, "#00ff00"))
    out = plan.to_json(dry_run=True)
    assert out["project"] == {"id": None, "name": "Team", "create": True, "color": "#00ff00"}
    assert out["dry_run"] is True
    assert set(out["summary"]) == {"create", "update", "archive", "delete", "unchanged", "skipped"}
    assert out["changes"][0]["action"] == "create"
    assert set(out["changes"][0]) >= {"action", "timer_id", "label", "strategy", "fields"}
