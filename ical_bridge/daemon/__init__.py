"""The sync daemon: scheduled feed passes, maintenance and status (config: ``config.py``)."""

from __future__ import annotations

__all__: list[str] = []
