"""``convert --json``: the stable JSON shape of a conversion (ARCHITECTURE.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ical_bridge.convert.model import ConversionResult, Notice, Skipped, TimerDraft
from ical_bridge.recurrence import format_utc

__all__ = ["draft_to_json", "json_pieces", "to_json", "to_json_text"]


def _warning(warning: Notice) -> dict[str, str]:
    return {"code": warning.code, "message": warning.message}


def draft_to_json(draft: TimerDraft) -> dict[str, Any]:
    """One entry of ``timers``."""
    entry = _entry(draft)
    entry["timer"] = dict(draft.timer)  # the caller's to change, not the draft's
    return entry


def to_json(result: ConversionResult) -> dict[str, Any]:
    """The ``convert --json`` object: ``timers``, ``skipped`` and the feed's ``warnings``."""
    return {"timers": [draft_to_json(d) for d in result.timers], **_after_timers(result)}


def to_json_text(result: ConversionResult) -> str:
    """``json.dumps(to_json(result), ensure_ascii=False)``, one timer at a time.

    The same text, without holding a dictionary for every timer at once (a
    10,000-timer feed's would outweigh its drafts).
    """
    return "".join(json_pieces(result))  # one copy of the text, not three


_BATCH = 256  # timers encoded at once: the encoder is set up per call, not per timer


def json_pieces(result: ConversionResult) -> Iterator[str]:
    """``to_json_text(result)`` in pieces of up to 256 timers: written one by one, the text
    is never held whole (``convert --json`` of 10,000 events: 5 MB, and its copies)."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    timers = result.timers
    yield '{"timers": ['
    for start in range(0, len(timers), _BATCH):
        if start:
            yield ", "
        # a list's items are written ", "-separated, as the pieces are joined
        yield encode([_entry(draft) for draft in timers[start : start + _BATCH]])[1:-1]
    yield "], " + encode(_after_timers(result))[1:]


def _entry(draft: TimerDraft) -> dict[str, Any]:
    """``draft_to_json(draft)`` for encoding at once: the timer's own dictionary, not a copy."""
    source = draft.source
    return {
        "timer": draft.timer,
        "source": {"uid": source.uid, "recurrence_id": source.recurrence_id,
                   "part": source.part},
        "strategy": draft.strategy,
        "next_occurrence": format_utc(draft.next_occurrence),
        "warnings": [_warning(w) for w in draft.warnings],
    }


def _after_timers(result: ConversionResult) -> dict[str, Any]:
    """The rest of the ``convert --json`` object: ``skipped`` and the feed's ``warnings``."""
    return {
        "skipped": [_skipped(s) for s in result.skipped],
        "warnings": [_warning(w) for w in result.warnings],
    }


def _skipped(skipped: Skipped) -> dict[str, Any]:
    out: dict[str, Any] = {"uid": skipped.uid, "code": skipped.code, "message": skipped.message}
    if skipped.warnings:
        out["warnings"] = [_warning(w) for w in skipped.warnings]
    return out
