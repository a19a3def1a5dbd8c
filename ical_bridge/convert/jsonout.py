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
    return {
        "timer": dict(draft.timer),
        "source": {
            "uid": draft.source.uid,
            "recurrence_id": draft.source.recurrence_id,
            "part": draft.source.part,
        },
        "strategy": draft.strategy,
        "next_occurrence": format_utc(draft.next_occurrence),
        "warnings": [_warning(w) for w in draft.warnings],
    }


def to_json(result: ConversionResult) -> dict[str, Any]:
    """The ``convert --json`` object: ``timers``, ``skipped`` and the feed's ``warnings``."""
    return {"timers": [draft_to_json(d) for d in result.timers], **_after_timers(result)}


def to_json_text(result: ConversionResult) -> str:
    """``json.dumps(to_json(result), ensure_ascii=False)``, one timer at a time.

    The same text, without holding a dictionary for every timer at once (a
    10,000-timer feed's would outweigh its drafts).
    """
    return "".join(json_pieces(result))  # one copy of the text, not three


def json_pieces(result: ConversionResult) -> Iterator[str]:
    """``to_json_text(result)`` in pieces, a timer each: written one by one, the text is
    never held whole (``convert --json`` of 10,000 events: 5 MB, and its copies)."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    yield '{"timers": ['
    for index, draft in enumerate(result.timers):
        if index:
            yield ", "
        yield encode(draft_to_json(draft))
    yield "], " + encode(_after_timers(result))[1:]


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
