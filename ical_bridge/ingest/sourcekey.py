"""The stable key of an import source (what ``import`` and ``convert`` hash into timer ids)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

__all__ = ["source_key_for"]


def source_key_for(source: str) -> str:
    """A stable key for a source (hashed: URLs may carry secrets); the same file → same ids."""
    if source == "-":
        return "import:stdin"
    if "://" in source:
        canonical = re.sub(r"^webcal://", "https://", source.strip(), flags=re.I)
    else:
        canonical = "file:" + str(Path(source).expanduser().resolve())
    return "import:" + hashlib.sha256(canonical.encode()).hexdigest()[:24]
