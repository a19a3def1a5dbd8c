"""Cancellation in every dialect a producer speaks (issue 13, item 3).

- ``STATUS:CANCELLED`` on an event or on one override (RFC 5545);
- ``METHOD:CANCEL`` on the calendar (iTIP, RFC 5546): every component in it is a
  cancellation — a master cancels the series, a ``RECURRENCE-ID`` one instance;
- Outlook's summary prefix: Outlook keeps ``STATUS:CONFIRMED`` on a cancelled
  meeting and only prefixes its title, in the organiser's language.

Every dialect ends the same way: the component is marked ``STATUS:CANCELLED``,
so the one decision path (one-off, series, override) skips it with the stable
skip code ``cancelled`` and the plan archives a timer it made earlier. A notice
says which dialect was read (``cancelled_by_method``, ``cancelled_by_prefix``).
"""

from __future__ import annotations

import re

from ical_bridge.convert.model import Notice

__all__ = ["CANCEL_PREFIXES", "cancellation", "cancelled_prefix"]

CANCEL_PREFIXES: dict[str, str] = {
    "Canceled": "English (US)",
    "Cancelled": "English (UK)",
    "Abgesagt": "German",
    "Annulé": "French",
    "Cancelado": "Spanish / Portuguese",
    "Cancelada": "Spanish / Portuguese",
    "Annullato": "Italian",
    "Geannuleerd": "Dutch",
    "Anulowane": "Polish",
    "Inställt": "Swedish",
    "Aflyst": "Danish",
    "Avlyst": "Norwegian",
    "Peruutettu": "Finnish",
    "Zrušeno": "Czech",
    "Отменено": "Russian",
    "キャンセル済み": "Japanese",
    "已取消": "Chinese (Simplified)",
}
"""Outlook's "cancelled meeting" title prefixes (each followed by a colon), by language."""

# "Annulé :" (French puts a (narrow) no-break space before the colon); full-width colon too.
_PREFIX = re.compile(
    r"^\s*(" + "|".join(re.escape(p) for p in CANCEL_PREFIXES) + r")\s*[:：]",
    re.IGNORECASE,
)


def cancelled_prefix(summary: str) -> str | None:
    """The cancellation prefix ``summary`` starts with (as listed), or None."""
    found = _PREFIX.match(summary)
    if found is None:
        return None
    word = found.group(1).casefold()
    return next(p for p in CANCEL_PREFIXES if p.casefold() == word)


def cancellation(
    *, status: str, summary: str, method: str, override: bool
) -> Notice | None:
    """Why a component is cancelled, or None (plain values, so any parser can ask)."""
    what = "this occurrence" if override else "the event"
    if status.strip().upper() == "CANCELLED":
        return None  # RFC 5545's own way: the decision path says so itself
    if method.strip().upper() == "CANCEL":
        return Notice("cancelled_by_method", f"METHOD:CANCEL: {what} is cancelled")
    prefix = cancelled_prefix(summary)
    if prefix is not None:
        return Notice(
            "cancelled_by_prefix",
            f"SUMMARY starts with {prefix + ':'!r} (Outlook, {CANCEL_PREFIXES[prefix]}): "
            f"{what} is cancelled",
        )
    return None
