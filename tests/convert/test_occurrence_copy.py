"""A plain series' occurrence component is the one recurring-ical-events would make.

``RuleExpander.copy_at`` builds the occurrence (what ``rolling`` and ``expand``
read their timer from) without the library; the oracle is the library's own
``Occurrence.as_component(False)`` for the same master and start.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from recurring_ical_events.adapters.event import EventAdapter
from recurring_ical_events.occurrence import Occurrence as Raw

from ical_bridge.convert.fastscan import RuleExpander, is_plain_series
from ical_bridge.ingest.decode import parse_feed
from tests.convert.test_fast_path import NOW, _bench, _event


def _expander(components: list[Any]) -> RuleExpander:
    return RuleExpander(
        components[0], components[1:], instant_of=lambda c: None,
        instant_of_value=lambda v: None, rebase_before=NOW, full=lambda: None,  # type: ignore[arg-type,return-value]
    )  # fmt: skip


def _shape(comp: Any) -> list[Any]:
    """Keys in order, each value's type, value and parameters; the subcomponents."""
    out: list[Any] = []
    for key, value in comp.items():
        params = dict(getattr(value, "params", {}) or {})
        out.append((key, type(value).__name__, getattr(value, "dt", value), params))
    return [out, [id(sub) for sub in comp.subcomponents], type(comp).__name__]


def _library_copy(components: list[Any], start: datetime) -> Any:
    sequence = max(c.get("SEQUENCE", -1) for c in components)
    adapter = EventAdapter(components[0])
    raw = Raw(adapter, start, start + adapter.duration, sequence=sequence)
    return raw.as_component(False)


def _series(data: bytes) -> list[list[Any]]:
    by_uid: dict[str, list[Any]] = {}
    for comp in parse_feed(data).components:
        if comp.name == "VEVENT":
            by_uid.setdefault(str(comp["UID"]), []).append(comp)
    return [c for c in by_uid.values() if is_plain_series(c, None)]


def test_copies_equal_the_librarys_on_a_generated_feed() -> None:
    series = _series(_bench().make_feed(300, seed=3))
    assert len(series) > 150
    for components in series:
        start = components[0]["DTSTART"].dt + timedelta(days=7)
        ours = _expander(components).copy_at(start)
        assert _shape(ours) == _shape(_library_copy(components, start))


@pytest.mark.parametrize(
    "body",
    [
        # no DTEND: the library still writes one (start + its default duration)
        "DTSTART;TZID=Europe/Berlin:20250106T093000\r\nRRULE:FREQ=WEEKLY\r\n",
        # SEQUENCE, DURATION, an EXDATE and an alarm: dropped, kept, moved as the library does
        "DTSTART;TZID=Europe/Berlin:20250106T093000\r\nDURATION:PT90M\r\nSEQUENCE:4\r\n"
        "RRULE:FREQ=WEEKLY\r\nEXDATE;TZID=Europe/Berlin:20261207T093000\r\n"
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\n",
        "DTSTART:20250106T093000Z\r\nDTEND:20250106T103000Z\r\nRRULE:FREQ=DAILY\r\n",
    ],
)  # fmt: skip
def test_copies_equal_the_librarys(body: str) -> None:
    components = parse_feed(_event(body)).components
    start = components[0]["DTSTART"].dt + timedelta(days=21)
    ours = _expander(components).copy_at(start)
    assert _shape(ours) == _shape(_library_copy(components, start))


def test_the_copy_leaves_the_master_alone() -> None:
    components = parse_feed(_event(
        "DTSTART;TZID=Europe/Berlin:20250106T093000\r\nRRULE:FREQ=WEEKLY\r\n"
    )).components  # fmt: skip
    before = _shape(components[0])
    _expander(components).copy_at(components[0]["DTSTART"].dt + timedelta(days=7))
    assert _shape(components[0]) == before
