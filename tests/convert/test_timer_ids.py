"""A draft's id never changes between versions: a re-import finds its timers by it.

The scheme (``model.timer_id``): ``icb_`` and the first 32 hex digits of the
SHA-256 of source key, UID, RECURRENCE-ID and part, each UTF-8 encoded and
preceded by its length as 8 big-endian bytes. The test spells the scheme out
on its own and compares.
"""

from __future__ import annotations

import hashlib
import struct

import pytest

from ical_bridge.convert import timer_id


def _by_the_scheme(*pieces: str) -> str:
    data = b""
    for piece in pieces:
        encoded = piece.encode("utf-8", "surrogatepass")
        data += struct.pack(">Q", len(encoded)) + encoded
    return "icb_" + hashlib.sha256(data).hexdigest()[:32]


@pytest.mark.parametrize(
    ("source", "uid", "recurrence_id", "part"),
    [
        ("file:team.ics", "weekly@example.com", None, 0),
        ("https://example.com/cal.ics", "événement-1", "20261123T093000Z", 2),
        ("", "", None, 0),
        ("k", "lone surrogate \udcff", None, 1),  # a UID icalendar kept as it was
    ],
)
def test_ids_follow_the_scheme(source: str, uid: str, recurrence_id: str | None,
                               part: int) -> None:  # fmt: skip
    assert timer_id(source, uid, recurrence_id, part) == _by_the_scheme(
        source, uid, recurrence_id or "", str(part)
    )


def test_pieces_cannot_run_into_each_other() -> None:
    """The length prefixes keep ("ab", "c") and ("a", "bc") apart."""
    assert timer_id("ab", "c", None, 0) != timer_id("a", "bc", None, 0)
    assert timer_id("k", "u", None, 1) != timer_id("k", "u", "1", 0)
