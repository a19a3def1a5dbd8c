"""``timer.ended``: the local server's scheduler reports occurrences as they pass (SERVER-NOTES)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from tests.localserver.ls_harness import Harness
from tests.localserver.test_webhook_delivery import Receiver, _verify, receiver

__all__ = ["receiver"]


def _tick_and_deliver(api: Harness) -> int:
    emitted: int = api.app.state.ended.tick()
    asyncio.run(api.app.state.deliverer.deliver_due())
    return emitted


def test_one_off_and_recurring_timers_emit_ended_once_per_occurrence(receiver: Receiver) -> None:
    api = Harness(allow_private_webhooks=True)
    hook = api.post(
        "/webhooks", json={"name": "Ended", "url": receiver.url, "event_types": ["timer.ended"]}
    ).json()
    pid = api.project()["id"]
    once = api.timer(pid, label="Once", target_date="2027-03-01T12:30:00.000Z", timezone="UTC")
    # daily at 13:00 Warsaw (CET, UTC+1 in early March): 12:00Z, first after START on Mar 2
    daily = api.timer(
        pid,
        label="Daily",
        target_date="2027-02-01T13:00:00+01:00",
        timezone="Europe/Warsaw",
        recurrence={"type": "daily", "enabled": True},
    )
    gone = api.timer(pid, label="Archived", target_date="2027-03-01T12:20:00.000Z")
    api.patch(f"/projects/{pid}/timers/{gone['id']}", json={"archived_at": "2027-03-01T12:00:00Z"})

    api.clock.advance(timedelta(minutes=29))
    assert _tick_and_deliver(api) == 0  # nothing passed yet; the archived one never ends
    api.clock.advance(timedelta(minutes=1))  # 12:30:00Z: the one-off's target is reached
    assert _tick_and_deliver(api) == 1
    api.clock.advance(timedelta(minutes=10))
    assert _tick_and_deliver(api) == 0  # a one-off ends once
    api.clock.set(api.clock.now().replace(day=2, hour=12, minute=0))
    assert _tick_and_deliver(api) == 1  # the daily occurrence of Mar 2 passed
    api.clock.advance(timedelta(days=2))  # two more passed while nobody looked: one event
    assert _tick_and_deliver(api) == 1

    events = receiver.events()
    assert [e["type"] for e in events] == ["timer.ended"] * 3
    ended = [e["data"]["object"]["timer_id"] for e in events]
    assert ended == [once["id"], daily["id"], daily["id"]]
    assert [e["data"]["object"]["ended_at"] for e in events] == [
        "2027-03-01T12:30:00.000Z",
        "2027-03-02T12:00:00.000Z",
        "2027-03-03T12:00:00.000Z",
    ]
    for headers, body in receiver.received:
        assert _verify(hook["signing_secret"], headers, body)
        assert "actor" not in json.dumps(json.loads(body))
