"""Request-body checks with tickward's rules and JSON-pointer error paths.

Each ``*_body`` function takes the parsed JSON and returns a normalised dict
(only the keys that were sent, for updates), or raises ``ApiProblem`` with
every field error found. Lengths count UTF-16 code units, as tickward's
JavaScript validators do.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any
from zoneinfo import available_timezones

from ical_bridge.localserver.problems import ApiProblem, FieldIssue

__all__ = [
    "Checker",
    "parse_instant",
    "project_create_body",
    "project_update_body",
    "share_create_body",
    "space_create_body",
    "space_update_body",
    "timer_create_body",
    "timer_update_body",
]

TIMER_ID = re.compile(r"[A-Za-z0-9_-]{6,128}")
SPACE_ID = re.compile(r"[A-Za-z0-9_-]{3,64}")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|z|[+-]\d{2}:?\d{2})?"
)
_PLAN_HASH = re.compile(r"sha256:[a-f0-9]{64}")
_UNSPLASH = "https://images.unsplash.com/"
_MISSING: Any = object()

_NESTED_TIMER_KEYS = frozenset(
    "id label target_date timezone color description notify mode milestones recurrence "
    "pinned image reminders".split()
)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones() | {"UTC"})


def parse_instant(value: str) -> datetime | None:
    """Parse tickward's IsoDateTime (offset-less = the server's zone, UTC); None if invalid."""
    match = _ISO.fullmatch(value)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, offset = match.group(7), match.group(8)
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    try:
        parsed = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    except ValueError:
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


_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def _kind(value: object) -> str:
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

    def done(self) -> None:
        """Raise the collected problems, if any."""
        if self.issues:
            raise ApiProblem.invalid(self.issues)

    def obj(self, value: object, path: str) -> dict[str, Any] | None:
        """``value`` if it is a JSON object."""
        if isinstance(value, dict):
            return value
        self.fail(path, f"Expected object, received {_kind(value)}.")
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
    ) -> Any:
        """A string member (``_MISSING`` when absent, None when null and allowed)."""
        path = f"{base}/{key}"
        value = body.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.fail(path, "Required")
            return _MISSING
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.fail(path, f"Expected string, received {_kind(value)}.")
            return _MISSING
        if _units(value) < min_len:
            self.fail(path, f"String must contain at least {min_len} character(s).")
        elif max_len is not None and _units(value) > max_len:
            self.fail(path, f"String must contain at most {max_len} character(s).")
        elif pattern is not None and not pattern.fullmatch(value):
            self.fail(path, "Invalid format.")
        else:
            return value
        return _MISSING

    def boolean(self, body: dict[str, Any], key: str, base: str) -> Any:
        """A boolean member (``_MISSING`` when absent or wrong)."""
        value = body.get(key, _MISSING)
        if value is _MISSING or isinstance(value, bool):
            return value
        self.fail(f"{base}/{key}", f"Expected boolean, received {_kind(value)}.")
        return _MISSING

    def instant(self, body: dict[str, Any], key: str, base: str, *, required: bool = False) -> Any:
        """An IsoDateTime member, kept as the string sent."""
        value = self.string(body, key, base, required=required)
        if isinstance(value, str) and parse_instant(value) is None:
            self.fail(f"{base}/{key}", "Invalid ISO datetime.")
            return _MISSING
        return value

    def timezone(self, body: dict[str, Any], key: str, base: str, *, required: bool) -> Any:
        """An IANA zone name (or UTC)."""
        value = self.string(body, key, base, required=required)
        if isinstance(value, str) and value not in _zones():
            self.fail(f"{base}/{key}", "Invalid IANA timezone.")
            return _MISSING
        return value

    def color(self, body: dict[str, Any], key: str, base: str, *, nullable: bool) -> Any:
        """``#rrggbb``; an empty string clears (returns None)."""
        path = f"{base}/{key}"
        if key in body and body[key] is None and not nullable:
            self.fail(path, "Expected string, received null.")
            return _MISSING
        value = self.string(body, key, base, nullable=nullable)
        if value is None or value == "":
            return None
        if isinstance(value, str) and not _COLOR.fullmatch(value):
            self.fail(path, "Invalid color. Use #rrggbb.")
            return _MISSING
        return value

    def recurrence(self, body: dict[str, Any], base: str) -> Any:
        """``{"type", "enabled", "lastDay"?}`` (unknown keys dropped)."""
        path = f"{base}/recurrence"
        if "recurrence" not in body:
            return _MISSING
        value = self.obj(body["recurrence"], path)
        if value is None:
            return _MISSING
        kind = value.get("type", _MISSING)
        if kind not in ("daily", "weekly", "monthly", "yearly"):
            self.fail(f"{path}/type", "Required" if kind is _MISSING else "Invalid enum value.")
        enabled = self.boolean(value, "enabled", path)
        if "enabled" not in value:
            self.fail(f"{path}/enabled", "Required")
        last_day = self.boolean(value, "lastDay", path)
        out: dict[str, Any] = {"type": kind, "enabled": enabled}
        if last_day is not _MISSING:
            out["lastDay"] = last_day
        return out

    def reminders(self, body: dict[str, Any], base: str) -> Any:
        """At most five unique ``offset_minutes`` in 0…40320."""
        path = f"{base}/reminders"
        if "reminders" not in body:
            return _MISSING
        items = body["reminders"]
        if not isinstance(items, list):
            self.fail(path, f"Expected array, received {_kind(items)}.")
            return _MISSING
        if len(items) > 5:
            self.fail(path, "Array must contain at most 5 element(s).")
            return _MISSING
        out: list[dict[str, int]] = []
        seen: set[int] = set()
        for index, item in enumerate(items):
            where = f"{path}/{index}"
            entry = self.obj(item, where)
            if entry is None:
                continue
            for extra in sorted(set(entry) - {"offset_minutes"}):
                self.fail(f"{where}/{extra}", "Unrecognized key.")
            offset = entry.get("offset_minutes", _MISSING)
            if offset is _MISSING:
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
            return _MISSING
        value = self.obj(body["milestones"], path)
        if value is None:
            return _MISSING
        rules = value.get("rules")
        if set(value) - {"rules"} or not isinstance(rules, list) or not 1 <= len(rules) <= 4:
            self.fail(f"{path}/rules", "Expected one to four milestone rules.")
            return _MISSING
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
            return _MISSING
        value = self.obj(body["image"], path)
        if value is None:
            return _MISSING
        before = len(self.issues)
        for key in ("unsplashId", "url", "thumbUrl", "authorName", "authorUrl"):
            self.string(value, key, path, required=True, min_len=1, max_len=2048)
        for key in ("url", "thumbUrl"):
            if isinstance(value.get(key), str) and not value[key].startswith(_UNSPLASH):
                self.fail(f"{path}/{key}", "Only Unsplash images are accepted.")
        return dict(value) if len(self.issues) == before else _MISSING


def _keep(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not _MISSING:
        out[key] = value


def timer_create_body(
    c: Checker, body: object, base: str, now: datetime, *, nested: bool = False
) -> dict[str, Any]:
    """A TimerCreateRequest (or the nested form, which may not carry ``space_id``)."""
    obj = c.obj(body, base)
    if obj is None:
        return {}
    if nested:
        for extra in sorted(set(obj) - _NESTED_TIMER_KEYS):
            c.fail(f"{base}/{extra}", "Unrecognized key.")
    out: dict[str, Any] = {}
    _keep(out, "id", c.string(obj, "id", base, pattern=TIMER_ID))
    _keep(out, "label", c.string(obj, "label", base, required=True, min_len=1, max_len=200))
    _keep(out, "target_date", c.instant(obj, "target_date", base, required=True))
    _keep(out, "timezone", c.timezone(obj, "timezone", base, required=True))
    _keep(out, "color", c.color(obj, "color", base, nullable=False))
    description = c.string(obj, "description", base, max_len=200)
    _keep(out, "description", description or None if description is not _MISSING else _MISSING)
    if not nested:
        _keep(
            out, "space_id", c.string(obj, "space_id", base, min_len=1, max_len=64, nullable=True)
        )
    for key in ("notify", "pinned"):
        _keep(out, key, c.boolean(obj, key, base))
    mode = obj.get("mode", "until")
    if mode not in ("until", "since"):
        c.fail(f"{base}/mode", "Invalid enum value. Expected 'until' | 'since'.")
    out["mode"] = mode
    _keep(out, "milestones", c.milestones(obj, base))
    _keep(out, "recurrence", c.recurrence(obj, base))
    _keep(out, "image", c.image(obj, base))
    _keep(out, "reminders", c.reminders(obj, base))
    _mode_rules(c, obj, out, base, now, mode)
    return out


def _mode_rules(
    c: Checker, obj: dict[str, Any], out: dict[str, Any], base: str, now: datetime, mode: object
) -> None:
    if mode == "since":
        if "recurrence" in obj:
            c.fail(f"{base}/recurrence", "Recurrence cannot be combined with mode 'since'.")
        if "milestones" not in obj:
            c.fail(f"{base}/milestones", "Milestones are required when mode is 'since'.")
        anchor = parse_instant(out["target_date"]) if "target_date" in out else None
        if anchor is not None and anchor > now + timedelta(seconds=60):
            c.fail(f"{base}/target_date", "A since anchor must not be in the future.")
    elif mode == "until" and "milestones" in obj:
        c.fail(f"{base}/milestones", "Milestones are only valid when mode is 'since'.")


def timer_update_body(c: Checker, body: object) -> dict[str, Any]:
    """A TimerUpdateRequest: only the keys sent, ``None`` where a field is cleared."""
    obj = c.obj(body, "#")
    if obj is None:
        return {}
    out: dict[str, Any] = {}
    _keep(out, "label", c.string(obj, "label", "#", min_len=1, max_len=200))
    _keep(out, "target_date", c.instant(obj, "target_date", "#"))
    _keep(out, "timezone", c.timezone(obj, "timezone", "#", required=False))
    if "archived_at" in obj and obj["archived_at"] is None:
        out["archived_at"] = None
    else:
        _keep(out, "archived_at", c.instant(obj, "archived_at", "#"))
    _keep(out, "color", c.color(obj, "color", "#", nullable=False))
    description = c.string(obj, "description", "#", max_len=200)
    _keep(out, "description", description or None if description is not _MISSING else _MISSING)
    _keep(out, "space_id", c.string(obj, "space_id", "#", min_len=1, max_len=64, nullable=True))
    for key in ("notify", "pinned"):
        _keep(out, key, c.boolean(obj, key, "#"))
    if "mode" in obj:
        if obj["mode"] not in ("until", "since"):
            c.fail("#/mode", "Invalid enum value. Expected 'until' | 'since'.")
        else:
            out["mode"] = obj["mode"]
    if obj.get("recurrence", _MISSING) is None:
        c.fail("#/recurrence", "Expected object, received null. Send enabled: false instead.")
    else:
        _keep(out, "recurrence", c.recurrence(obj, "#"))
    _keep(out, "milestones", c.milestones(obj, "#"))
    _keep(out, "image", c.image(obj, "#"))
    _keep(out, "reminders", c.reminders(obj, "#"))
    return out


def space_create_body(c: Checker, body: object, base: str = "#") -> dict[str, Any]:
    """A SpaceCreateRequest."""
    obj = c.obj(body, base)
    if obj is None:
        return {}
    out: dict[str, Any] = {}
    _keep(out, "id", c.string(obj, "id", base, pattern=SPACE_ID))
    _keep(out, "name", c.string(obj, "name", base, required=True, min_len=1, max_len=30))
    _keep(out, "color", c.color(obj, "color", base, nullable=False))
    return out


def space_update_body(c: Checker, body: object) -> dict[str, Any]:
    """A SpaceUpdateRequest (``color`` may be null or empty to clear)."""
    obj = c.obj(body, "#")
    if obj is None:
        return {}
    out: dict[str, Any] = {}
    _keep(out, "name", c.string(obj, "name", "#", min_len=1, max_len=30))
    _keep(out, "color", c.color(obj, "color", "#", nullable=True))
    return out


def project_update_body(c: Checker, body: object) -> dict[str, Any]:
    """A ProjectUpdateRequest."""
    obj = c.obj(body, "#")
    if obj is None:
        return {}
    out: dict[str, Any] = {}
    _keep(out, "name", c.string(obj, "name", "#", min_len=1, max_len=40))
    _keep(out, "color", c.color(obj, "color", "#", nullable=True))
    return out


def project_create_body(c: Checker, body: object, now: datetime) -> dict[str, Any]:
    """A ProjectCreateRequest with nested ``spaces[].timers[]`` and top-level ``timers[]``."""
    obj = c.obj(body, "#")
    if obj is None:
        return {}
    out: dict[str, Any] = {"spaces": [], "timers": []}
    _keep(out, "name", c.string(obj, "name", "#", required=True, min_len=1, max_len=40))
    _keep(out, "color", c.color(obj, "color", "#", nullable=False))
    _keep(out, "expected_plan_hash", c.string(obj, "expected_plan_hash", "#", pattern=_PLAN_HASH))
    for key in ("spaces", "timers"):
        if key in obj and not isinstance(obj[key], list):
            c.fail(f"#/{key}", f"Expected array, received {_kind(obj[key])}.")
    spaces = obj.get("spaces")
    for index, raw in enumerate(spaces if isinstance(spaces, list) else []):
        base = f"#/spaces/{index}"
        space = space_create_body(c, raw, base)
        timers: list[dict[str, Any]] = []
        if isinstance(raw, dict) and "timers" in raw:
            if not isinstance(raw["timers"], list):
                c.fail(f"{base}/timers", f"Expected array, received {_kind(raw['timers'])}.")
            else:
                for j, item in enumerate(raw["timers"]):
                    timers.append(
                        timer_create_body(c, item, f"{base}/timers/{j}", now, nested=True)
                    )
        space["timers"] = timers
        out["spaces"].append(space)
    timers_in = obj.get("timers")
    for index, raw in enumerate(timers_in if isinstance(timers_in, list) else []):
        out["timers"].append(timer_create_body(c, raw, f"#/timers/{index}", now))
    return out


def share_create_body(c: Checker, body: object) -> str:
    """A ShareCreateRequest: the timer id."""
    obj = c.obj(body, "#")
    if obj is None:
        return ""
    value = c.string(obj, "timer_id", "#", required=True, min_len=1, max_len=128)
    return value if isinstance(value, str) else ""
