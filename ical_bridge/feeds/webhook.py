"""tickward webhook signatures: ``tickward-signature: t=<unix>,v1=<hex HMAC-SHA256>``.

The signed payload is ``"<t>.<raw body>"`` keyed with the endpoint's ``whsec_``
secret (used as is, prefix included). A signature is accepted only if one of
its ``v1`` values matches in constant time and ``t`` is within the tolerance
of the injected clock, which stops replays of old captured deliveries.

Deliveries are bounded before they are read: a body over ``MAX_BODY_BYTES``
(declared or streamed) or slower than ``READ_SECONDS`` is refused, and a
request whose header cannot be a signature is refused without reading its body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import datetime

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_EVENT_ID_LENGTH",
    "READ_SECONDS",
    "SIGNATURE_HEADER",
    "TOLERANCE_SECONDS",
    "parse_event",
    "parse_signature",
    "read_limited",
    "sign",
    "valid_event_id",
    "verify_signature",
]

SIGNATURE_HEADER = "tickward-signature"
TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 1024 * 1024
READ_SECONDS = 10.0
MAX_EVENT_ID_LENGTH = 255


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The header value tickward would send for ``body`` at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def parse_signature(header: str | None) -> tuple[int, list[str]] | None:
    """``(t, [v1 values])`` of a signature header, or None when it cannot be one."""
    if not header:
        return None
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates:
        return None
    return timestamp, candidates


def valid_event_id(value: object) -> bool:
    """True for a usable delivery id: a short printable string (no NUL, controls, surrogates)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_EVENT_ID_LENGTH
        and value.isprintable()
        and value.strip() == value
    )


async def read_limited(chunks: AsyncIterator[bytes], limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit`` bytes (the rest is not read)."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def parse_event(body: bytes) -> tuple[str, str] | None:
    """``(id, type)`` of a tickward event envelope with a valid id, else None."""
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return None
    if not isinstance(envelope, dict) or not valid_event_id(envelope.get("id")):
        return None
    event_id: str = envelope["id"]
    kind = envelope.get("type")
    return event_id, kind if isinstance(kind, str) and valid_event_id(kind) else "?"


def verify_signature(
    header: str | None,
    body: bytes,
    secret: str,
    *,
    now: datetime,
    tolerance: int = TOLERANCE_SECONDS,
) -> str | None:
    """``None`` if the delivery is authentic and fresh, else a short reason (for logs)."""
    if not header:
        return "missing signature"
    parsed = parse_signature(header)
    if parsed is None:
        return "malformed signature"
    timestamp, candidates = parsed
    expected = sign(body, secret, timestamp).split("v1=", 1)[1]
    # Compare against every candidate (no early exit) so timing says nothing.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(candidate.encode(), expected.encode())
    if not matched:
        return "signature mismatch"
    if abs(now.timestamp() - timestamp) > tolerance:
        return "stale timestamp"
    return None
