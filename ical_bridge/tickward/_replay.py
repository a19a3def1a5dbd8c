"""Telling a genuine replay from a stale one when an idempotency key is reused.

A derived key (method, path, body) is the same every time the *same* change is
made, and a caller's key may be too. That makes a re-run after a crash safe, but
a change made again on purpose within the key's 24 hours (restore → archive →
restore, or create → delete → create) would get the first answer replayed and
do nothing.
So when the very first attempt of a call is answered from the replay store, the
client looks at the resource: if it already reflects the change, the replay
stands; otherwise the change is sent again under a key derived from the old key
plus the resource's current state (still deterministic, so still retry-safe).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ical_bridge.recurrence import parse_iso
from ical_bridge.tickward._idempotency import derive_key
from ical_bridge.tickward.responses import Timer

__all__ = ["ATTEMPT_EXTENSION", "first_attempt_replay", "next_key", "timer_reflects"]

ATTEMPT_EXTENSION = "ical_bridge.attempt"


def first_attempt_replay(response: httpx.Response) -> bool:
    """True when the first attempt of a call was answered from the replay store."""
    replayed = response.headers.get("Idempotency-Replayed", "").lower() == "true"
    return replayed and response.extensions.get(ATTEMPT_EXTENSION) == 1


def next_key(method: str, path: str, previous: str, state: str) -> str:
    """A fresh, deterministic key for re-sending a change whose replay was stale."""
    return derive_key(method, path, {"after": previous, "state": state})


def _same_instant(a: Any, b: Any) -> bool:
    try:
        return parse_iso(str(a)) == parse_iso(str(b))
    except ValueError:
        return bool(a == b)


def _field_reflects(name: str, wanted: Any, have: Any) -> bool:
    if name == "archived_at":
        return (wanted is None) == (have is None)
    if name in ("color", "description") and wanted == "":
        return have in (None, "")
    if name == "color" and isinstance(wanted, str) and isinstance(have, str):
        return wanted.lower() == have.lower()
    if name == "target_date":
        return _same_instant(wanted, have)
    if name == "recurrence":
        return (
            isinstance(have, Mapping)
            and have.get("type") == wanted.get("type")
            and have.get("enabled") == wanted.get("enabled")
            and bool(have.get("lastDay")) == bool(wanted.get("lastDay"))
        )
    if name == "reminders":
        return sorted(r["offset_minutes"] for r in wanted) == sorted(
            r["offset_minutes"] for r in have or ()
        )
    return bool(wanted == have)


def timer_reflects(body: Mapping[str, Any], timer: Timer) -> bool:
    """True when ``timer`` already has every field the PATCH ``body`` asks for."""
    current = timer.model_dump(mode="json")
    return all(_field_reflects(name, wanted, current.get(name)) for name, wanted in body.items())
