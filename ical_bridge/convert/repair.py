"""Lenient second reading of property values icalendar refused (producer quirks)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from icalendar.prop import vDDDLists, vRecur

__all__ = ["REPAIRABLE", "repaired_value"]

REPAIRABLE = frozenset({"RRULE", "EXRULE", "RDATE", "EXDATE"})
"""Properties whose refused values get a second, lenient reading."""

_SPACES = re.compile(r"\s*([;,=])\s*")
_DATE_Z = re.compile(r"^(\d{4})(\d{2})(\d{2})Z$")  # Google: a DATE written with a UTC "Z"


def repaired_value(name: str, raw: str, tzid: str | None = None) -> tuple[Any, str] | None:
    """``(value, cleaned text)`` for a refused ``raw`` value of ``name``, or ``None``.

    Only unambiguous repairs: stray whitespace around separators and at the
    ends (phpicalendar and hand-written files), and ``YYYYMMDDZ`` dates in
    RDATE/EXDATE (Google's birthday calendars, read as dates as ical.js does).
    """
    text = _SPACES.sub(r"\1", raw.strip())
    if name in ("RRULE", "EXRULE"):
        try:
            return vRecur.from_ical(text), text
        except Exception:
            return None
    if name in ("RDATE", "EXDATE"):
        items = text.split(",")
        dates = [_DATE_Z.match(item) for item in items]
        if all(dates):
            value = vDDDLists([date(int(m[1]), int(m[2]), int(m[3])) for m in dates if m])
            value.params["VALUE"] = "DATE"
            return value, ",".join(f"{m[1]}{m[2]}{m[3]}" for m in dates if m)
        try:
            value = vDDDLists(vDDDLists.from_ical(text, timezone=tzid))  # type: ignore[no-untyped-call]
        except Exception:
            return None
        if tzid:
            value.params["TZID"] = tzid
        return value, text
    return None
