"""Field-level checks with tickward's rules; problems collect under JSON-pointer paths.

Lengths count UTF-16 code units, as tickward's JavaScript validators do.
Dates are loose as measured on the real server: ``target_date`` is checked
only against the ``YYYY-MM-DDTHH:MM:SS`` prefix, and out-of-range fields roll
over (``2026-02-30`` reads as March 2, month 13 as January of the next year).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from ical_bridge.localserver.problems import ApiProblem, FieldIssue
from ical_bridge.timezones import is_accepted

__all__ = [
    "MISSING",
    "NESTED_TIMER_KEYS",
    "PLAN_HASH",
    "SINCE_MESSAGES",
    "SPACE_ID",
    "TIMER_ID",
    "TIMER_KEYS",
    "TIMER_PATCH_KEYS",
    "Checker",
    "kind_of",
    "parse_instant",
]

TIMER_ID = re.compile(r"[A-Za-z0-9_-]{6,128}")
SPACE_ID = re.compile(r"[A-Za-z0-9_-]{3,64}")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_PREFIX = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})")
_TAIL = re.compile(r"(\.\d{1,9})?(Z|z|[+-]\d{2}:?\d{2})?")
PLAN_HASH = re.compile(r"sha256:[a-f0-9]{64}")
_UNSPLASH = "https://images.unsplash.com/"
MISSING: Any = object()  # "absent", as opposed to null

NESTED_TIMER_KEYS = frozenset(
    "id label target_date timezone color description notify mode milestones recurrence "
    "pinned image reminders".split()
)
TIMER_KEYS = NESTED_TIMER_KEYS | {"space_id"}
TIMER_PATCH_KEYS = (TIMER_KEYS - {"id"}) | {"archived_at"}

# since-timer rules answer 422 instead of 400 (measured)
SINCE_MESSAGES = frozenset(
    {
        "Milestone rules must be unique.",
        "Only since timers can define milestones.",
        "Since timers cannot recur.",
        "Since timers need at least one milestone rule.",
    }
)


def parse_instant(value: str) -> datetime | None:
    """Read a date the way tickward does (loose; offset-less = UTC); None if unreadable."""
    match = _PREFIX.match(value)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    tail = _TAIL.match(value, match.end())
    fraction, offset = (tail.group(1), tail.group(2)) if tail else (None, None)
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    try:
        # out-of-range fields roll over, as JavaScript's Date fields do
        year += (month - 1) // 12
        parsed = datetime(year, (month - 1) % 12 + 1, 1, tzinfo=UTC) + timedelta(
            days=day - 1, hours=hour, minutes=minute, seconds=second, microseconds=micro
        )
    except (ValueError, OverflowError):
        return None
    if offset and offset not in ("Z", "z"):
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            return None
        delta = timedelta(hours=hours, minutes=minutes)
        try:
            parsed = parsed - delta if offset[0] == "+" else parsed + delta
        except OverflowError:
            return None
    return parsed


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _is_int(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def _trim(text: str) -> str:
    # JavaScript's String.prototype.trim: Unicode white space and line terminators
    return text.strip(
        " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
        "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
    )


_REMINDER_KEYS = frozenset({"offset_minutes"})
_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return _TYPE_NAMES.get(type(value), "unknown")


class Checker:
    """Collects field issues while reading one body."""

    def __init__(self) -> None:
        self.issues: list[FieldIssue] = []

    def fail(self, path: str, message: str) -> None:
        """Record one problem."""
        self.issues.append(FieldIssue(path, message))

    def strict(self, body: dict[str, Any], allowed: frozenset[str], path: str) -> None:
        """Refuse unknown keys, reported at the object's own path (zod's ``.strict()``)."""
        extra = [key for key in body if key not in allowed]
        if extra:
            names = ", ".join(f"'{key}'" for key in extra)
            self.fail(path, f"Unrecognized key(s) in object: {names}")

    def done(self) -> None:
        """Raise the collected problems, if any (422 when a since-timer rule is among them)."""
        if self.issues:
            since = any(issue.message in SINCE_MESSAGES for issue in self.issues)
            raise ApiProblem.invalid(self.issues, 422 if since else 400)

    def obj(self, value: object, path: str) -> dict[str, Any] | None:
        """``value`` if it is a JSON object."""
        if isinstance(value, dict):
            return value
        self.fail(path, f"Expected object, received {kind_of(value)}.")
        return None

    def string(
        self,
        body: dict[str, Any],
        key: str,
        base: str,
        *,
        required: bool = False,
        min_len: int = 0,
        max_len: int | None = None,
        pattern: re.Pattern[str] | None = None,
        nullable: bool = False,
        trim: bool = False,
    ) -> Any:
        """A string member (``MISSING`` if absent, None if null and allowed; trimmed on request)."""
        path = f"{base}/{key}"
        value = body.get(key, MISSING)
        if value is MISSING:
            if required:
                self.fail(path, "Required")
            return MISSING
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.fail(path, f"Expected string, received {kind_of(value)}.")
            return MISSING
        if trim:
            value = _trim(value)
        if _units(value) < min_len:
            self.fail(path, f"String must contain at least {min_len} character(s).")
        elif max_len is not None and _units(value) > max_len:
            self.fail(path, f"String must contain at most {max_len} character(s).")
        elif pattern is not None and not pattern.fullmatch(value):
            self.fail(path, "Invalid format.")
        else:
            return value
        return MISSING

    def boolean(self, body: dict[str, Any], key: str, base: str) -> Any:
        """A boolean member (``MISSING`` when absent or wrong)."""
        value = body.get(key, MISSING)
        if value is MISSING or isinstance(value, bool):
            return value
        self.fail(f"{base}/{key}", f"Expected boolean, received {kind_of(value)}.")
        return MISSING

    def instant(self, body: dict[str, Any], key: str, base: str, *, required: bool = False) -> Any:
        """A target date: only its ``YYYY-MM-DDTHH:MM:SS`` prefix is checked; kept as sent."""
        value = self.string(body, key, base, required=required)
        if isinstance(value, str) and not _PREFIX.match(value):
            self.fail(f"{base}/{key}", "Invalid")
            return MISSING
        return value

    def timezone(self, body: dict[str, Any], key: str, base: str, *, required: bool) -> Any:
        """``"UTC"`` or one of the CLDR-canonical zone ids the real server accepts."""
        value = self.string(body, key, base, required=required)
        if isinstance(value, str) and not is_accepted(value):
            self.fail(f"{base}/{key}", "Invalid input")
            return MISSING
        return value

    def color(self, body: dict[str, Any], key: str, base: str, *, nullable: bool) -> Any:
        """``#rrggbb``; an empty string clears (returns None)."""
        path = f"{base}/{key}"
        if key in body and body[key] is None and not nullable:
            self.fail(path, "Expected string, received null.")
            return MISSING
        value = self.string(body, key, base, nullable=nullable)
        if value is None or value == "":
            return None
        if isinstance(value, str) and not _COLOR.fullmatch(value):
            self.fail(path, "Invalid color. Use #rrggbb.")
            return MISSING
        return value

    def recurrence(self, body: dict[str, Any], base: str) -> Any:
        """``{"type", "enabled", "lastDay"?}`` (unknown keys dropped)."""
        path = f"{base}/recurrence"
        if "recurrence" not in body:
            return MISSING
        value = self.obj(body["recurrence"], path)
        if value is None:
            return MISSING
        kind = value.get("type", MISSING)
        if kind not in ("daily", "weekly", "monthly", "yearly"):
            self.fail(f"{path}/type", "Required" if kind is MISSING else "Invalid enum value.")
        enabled = self.boolean(value, "enabled", path)
        if "enabled" not in value:
            self.fail(f"{path}/enabled", "Required")
        last_day = self.boolean(value, "lastDay", path)
        out: dict[str, Any] = {"type": kind, "enabled": enabled}
        if last_day is not MISSING:
            out["lastDay"] = last_day
        return out

    def reminders(self, body: dict[str, Any], base: str) -> Any:
        """At most five unique ``offset_minutes`` in 0…40320."""
        path = f"{base}/reminders"
        if "reminders" not in body:
            return MISSING
        items = body["reminders"]
        if not isinstance(items, list):
            self.fail(path, f"Expected array, received {kind_of(items)}.")
            return MISSING
        if len(items) > 5:
            self.fail(path, "Array must contain at most 5 element(s).")
            return MISSING
        out: list[dict[str, int]] = []
        seen: set[int] = set()
        for index, item in enumerate(items):
            where = f"{path}/{index}"
            entry = self.obj(item, where)
            if entry is None:
                continue
            self.strict(entry, _REMINDER_KEYS, where)
            offset = entry.get("offset_minutes", MISSING)
            if offset is MISSING:
                self.fail(f"{where}/offset_minutes", "Required")
            elif not _is_int(offset):
                self.fail(f"{where}/offset_minutes", "Expected integer.")
            elif not 0 <= offset <= 40320:
                self.fail(f"{where}/offset_minutes", "Offset must be between 0 and 40320.")
            elif int(offset) in seen:
                self.fail(f"{where}/offset_minutes", "Reminder offsets must be unique.")
            else:
                seen.add(int(offset))
                out.append({"offset_minutes": int(offset)})
        return out

    def milestones(self, body: dict[str, Any], base: str) -> Any:
        """One to four unique rules: ``{unit, every}`` or ``{unit, at: [ascending]}``."""
        path = f"{base}/milestones"
        if "milestones" not in body:
            return MISSING
        value = self.obj(body["milestones"], path)
        if value is None:
            return MISSING
        rules = value.get("rules")
        if set(value) - {"rules"} or not isinstance(rules, list) or not 1 <= len(rules) <= 4:
            self.fail(f"{path}/rules", "Expected one to four milestone rules.")
            return MISSING
        out: list[dict[str, Any]] = []
        for index, rule in enumerate(rules):
            where = f"{path}/rules/{index}"
            if not self._rule_ok(rule):
                self.fail(where, "Invalid milestone rule.")
            elif rule in out:
                self.fail(where, "Milestone rules must be unique.")
            else:
                out.append(dict(rule))
        return {"rules": out}

    @staticmethod
    def _rule_ok(rule: object) -> bool:
        if not isinstance(rule, dict) or rule.get("unit") not in (
            "days",
            "weeks",
            "months",
            "years",
        ):
            return False
        if set(rule) == {"unit", "every"}:
            return _is_int(rule["every"]) and 1 <= rule["every"] <= 1000
        if set(rule) == {"unit", "at"}:
            at = rule["at"]
            return (
                isinstance(at, list)
                and 1 <= len(at) <= 12
                and all(_is_int(n) and 1 <= n <= 10000 for n in at)
                and all(a < b for a, b in pairwise(at))
            )
        return False

    def image(self, body: dict[str, Any], base: str) -> Any:
        """An Unsplash image object."""
        path = f"{base}/image"
        if "image" not in body:
            return MISSING
        value = self.obj(body["image"], path)
        if value is None:
            return MISSING
        before = len(self.issues)
        for key in ("unsplashId", "url", "thumbUrl", "authorName", "authorUrl"):
            self.string(value, key, path, required=True, min_len=1, max_len=2048)
        for key in ("url", "thumbUrl"):
            if isinstance(value.get(key), str) and not value[key].startswith(_UNSPLASH):
                self.fail(f"{path}/{key}", "Only Unsplash images are accepted.")
        return dict(value) if len(self.issues) == before else MISSING
