"""Idempotency keys that stay the same for one logical change."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

__all__ = ["KEY_PATTERN", "canonical_json", "derive_key", "valid_key"]

KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def canonical_json(body: Any) -> str:
    """``body`` as JSON with sorted keys and no spaces (what tickward hashes too)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def derive_key(method: str, path: str, body: Any = None) -> str:
    """``ib-<40 hex>``: sha256 over method, path and the canonical JSON body."""
    material = "\n".join((method.upper(), path, canonical_json(body)))
    return "ib-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]


def valid_key(key: str) -> bool:
    """True when ``key`` is an acceptable ``Idempotency-Key`` (8–128 of ``[A-Za-z0-9._:-]``)."""
    return bool(KEY_PATTERN.match(key))
