"""A keyed write and the answer kept for its replay commit together (one transaction)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import pytest

from ical_bridge.localserver.idempotency import IdempotencyStore, StoredResponse
from tests.localserver.ls_harness import Harness, timer_body


def test_a_write_whose_replay_record_cannot_be_kept_is_undone(
    api: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = api.project()["id"]

    def disk_full(self: Any, scope: str, record: StoredResponse, now: datetime) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(IdempotencyStore, "save", disk_full)
    headers = {"Idempotency-Key": "create-timer-0042"}
    failed = api.post(f"/projects/{pid}/timers", json=timer_body(), headers=headers,
                      checked=False)
    assert failed.status_code == 500
    monkeypatch.undo()
    assert api.get(f"/projects/{pid}/timers").json()["data"] == []  # not half done

    # the client's retry with the same key creates the timer exactly once
    retried = api.post(f"/projects/{pid}/timers", json=timer_body(), headers=headers)
    assert retried.status_code == 201
    assert "idempotency-replayed" not in retried.headers
    replay = api.post(f"/projects/{pid}/timers", json=timer_body(), headers=headers)
    assert replay.headers["Idempotency-Replayed"] == "true"
    assert [t["id"] for t in api.get(f"/projects/{pid}/timers").json()["data"]] == [
        retried.json()["id"]]


def test_a_refused_keyed_write_keeps_its_answer_and_writes_nothing(api: Harness) -> None:
    pid = api.project()["id"]
    headers = {"Idempotency-Key": "bad-timer-0043"}
    refused = api.post(f"/projects/{pid}/timers", json=timer_body(timezone="Mars/Base"),
                       headers=headers)
    assert refused.status_code == 400
    again = api.post(f"/projects/{pid}/timers", json=timer_body(timezone="Mars/Base"),
                     headers=headers)
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == refused.json()
    assert api.get(f"/projects/{pid}/timers").json()["data"] == []
