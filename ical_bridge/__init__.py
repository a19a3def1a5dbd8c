"""ical-bridge: iCalendar feeds in, tickward countdown timers out, and back."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
