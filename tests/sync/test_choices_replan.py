"""Changing a feed's choices changes what is in tickward on the next import (issue 13, 4-5)."""

from __future__ import annotations

from import_helpers import Harness, calendar, team_events

from ical_bridge.convert.choices import EventChoices


def test_a_new_exclude_filter_archives_the_timer_it_now_leaves_out(harness: Harness) -> None:
    data = calendar(team_events(4))
    harness.run(data)
    plan, report = harness.run(data, choices=EventChoices(exclude="meeting 2"))
    assert report is not None and report.ok
    archives = [c for c in plan.changes if c.action == "archive"]
    assert [(c.label, c.note) for c in archives] == [
        ("Meeting 2", "event is left out by the filters"),
    ]
    assert plan.summary["unchanged"] == 3
    archived = {t["label"] for t in harness.timers().values() if t.get("archived_at")}
    assert archived == {"Meeting 2"}
    # Lifting the filter restores the same timer rather than making a second one.
    plan, _ = harness.run(data)
    assert plan.summary["create"] == 0 and plan.summary["update"] == 1
    assert len(harness.timers()) == 4


def test_new_default_reminders_and_notify_update_the_timers(harness: Harness) -> None:
    data = calendar(team_events(2))
    harness.run(data)
    assert all(t["notify"] is False and not t["reminders"] for t in harness.timers().values())
    plan, _ = harness.run(data, choices=EventChoices(reminders=(30,)))
    assert plan.summary["update"] == 2
    assert {c.fields["reminders"][0]["offset_minutes"] for c in plan.changes} == {30}
    assert all(t["notify"] is True for t in harness.timers().values())
    plan, _ = harness.run(data, choices=EventChoices(reminders=(30,)))
    assert plan.summary["update"] == 0  # stable: nothing to do the second time
    harness.run(data, choices=EventChoices(reminders=(30,), notify=False))
    timers = harness.timers().values()
    assert all(t["notify"] is False and t["reminders"] for t in timers)
