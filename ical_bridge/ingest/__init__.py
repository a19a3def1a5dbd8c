"""Reading calendar input: decoding and tolerant parsing (fetching lives in ``ingest.fetch``)."""

from __future__ import annotations

from ical_bridge.ingest.decode import (
    FeedProblem,
    ParsedFeed,
    decode_text,
    parse_feed,
)

__all__ = ["FeedProblem", "ParsedFeed", "decode_text", "parse_feed"]
