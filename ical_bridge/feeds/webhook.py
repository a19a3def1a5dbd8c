"""tickward webhook signatures: ``tickward-signature: t=<unix>,v1=<hex HMAC-SHA256>``.

The signed payload is ``"<t>.<raw body>"`` keyed with the endpoint's ``whsec_``
secret (used as is, prefix included). A signature is accepted only if one of
its ``v1`` values matches in constant time and ``t`` is within the tolerance
of the injected clock, which stops replays of old captured deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

__all__ = ["SIGNATURE_HEADER", "TOLERANCE_SECONDS", "sign", "verify_signature"]

SIGNATURE_HEADER = "tickward-signature"
TOLERANCE_SECONDS = 300


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The header value tickward would send for ``body`` at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


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
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates:
        return "malformed signature"
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
