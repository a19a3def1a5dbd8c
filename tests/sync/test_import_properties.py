"""Property: after any sequence of calendar edits, tickward holds exactly the calendar's timers.

Each example imports a random sequence of calendar versions (events added, removed,
renamed, moved) into a fresh local tickward server. After every import the
bridge's active timers are exactly the converter's drafts of that version, the
hand-made timer is untouched, and planning again finds nothing to do.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_helpers import Event, Harness, calendar

from ical_bridge.convert import ImportOptions, convert_calendar
from ical_bridge.localserver import create_app
from ical_bridge.recurrence import parse_iso
from ical_bridge.store import StateStore

POOL = 8
version = st.dictionaries(
    keys=st.integers(0, POOL - 1),
    values=st.tuples(st.sampled_from(["A", "B"]), st.integers(1, 30),
                     st.sampled_from([None, "FREQ=WEEKLY", "FREQ=MONTHLY;INTERVAL=2"])),
    max_size=POOL,
)


def build(v: dict[int, tuple[str, int, str | None]]) -> bytes:
    return calendar([Event(f"ev-{i}@prop", f"Event {i} {name}", days, rrule=rule)
                     for i, (name, days, rule) in sorted(v.items())])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(versions=st.lists(version, min_size=1, max_size=4),
       on_delete=st.sampled_from(["archive", "delete"]))
def test_any_edit_sequence_converges_to_the_calendar(
    versions: list[dict[int, tuple[str, int, str | None]]], on_delete: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(None, rate_limit=None)
        with StateStore(f"sqlite:///{Path(tmp) / 'state.sqlite3'}") as store:
            h = Harness(app, store)
            hand: dict[str, Any] | None = None
            for v in versions:
                data = build(v)
                _, report = h.run(data, on_delete=on_delete, allow_empty=True)
                assert report is not None and report.ok, report.failed
                if hand is None:
                    hand = _add_hand_made(h)
                drafts = _drafts(h, data)
                timers = h.timers()
                active = {k: t for k, t in timers.items()
                          if k.startswith("icb_") and not t["archived_at"]}
                assert set(active) == {d.timer["id"] for d in drafts}
                for d in drafts:
                    assert active[d.timer["id"]]["label"] == d.timer["label"]
                    assert parse_iso(active[d.timer["id"]]["target_date"]) == parse_iso(
                        d.timer["target_date"])
                assert timers[hand["id"]] == hand
                again, _ = h.run(data, apply=False, on_delete=on_delete)
                assert again.writes == [], [c.to_json() for c in again.writes]


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _drafts(h: Harness, data: bytes) -> list[Any]:
    return convert_calendar(data, ImportOptions(now=_now(), source_key=h.source_key)).timers


def _add_hand_made(h: Harness) -> dict[str, Any]:
    pid = h.project_id()

    async def go() -> dict[str, Any]:
        async with h.client() as client:
            timer = await client.create_timer(pid, {
                "id": "hand-made-1", "label": "By hand", "timezone": "UTC",
                "target_date": "2032-02-02T02:02:00Z"})
            return timer.model_dump(mode="json")

    return asyncio.run(go())
