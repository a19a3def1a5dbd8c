"""Reading calendar input: decoding and tolerant parsing (fetching lives in ``ingest.fetch``)."""

from __future__ import annotations

from ical_bridge.ingest.decode import (
    Notice,
    ParsedFeed,
    decode_text,
    parse_feed,
)
from ical_bridge.ingest.feed import DecodedFeed, calendar_refresh, decode_feed

__all__ = [
    "DecodedFeed",
    "Notice",
    "ParsedFeed",
    "calendar_refresh",
    "decode_feed",
    "decode_text",
    "parse_feed",
]
