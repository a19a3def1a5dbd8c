"""The sync daemon: config, scheduled feed passes and status."""

from __future__ import annotations

__all__: list[str] = []
