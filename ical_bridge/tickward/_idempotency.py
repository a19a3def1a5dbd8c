"""Idempotency keys that stay the same for one logical change."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

__all__ = ["KEY_PATTERN", "canonical_json", "change_key", "derive_key", "valid_key"]

KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def canonical_json(body: Any) -> str:
    """``body`` as JSON with sorted keys and no spaces (what tickward hashes too)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def change_key(*parts: Any) -> str:
    """The bridge's one key scheme: ``ib-<40 hex>``, sha256 over the parts' canonical JSON.

    The parts name one logical change (e.g. timer id, action, body, base ``updated_at``),
    so a retry or a re-run of the same change carries the same key.
    """
    material = canonical_json(list(parts))
    return "ib-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]


def derive_key(method: str, path: str, body: Any = None) -> str:
    """The key of a write the caller gave none: ``change_key`` over method, path and body."""
    return change_key(method.upper(), path, body)


def valid_key(key: str) -> bool:
    """True when ``key`` is an acceptable ``Idempotency-Key`` (8–128 of ``[A-Za-z0-9._:-]``)."""
    return bool(KEY_PATTERN.match(key))
