"""Round-trip helpers: Timer JSON generators and the model of what an export→import keeps.

The model is written from MAPPING.md and SERVER-NOTES.md, independently of
the converter: it says, for one tickward timer and an import ``now``, which
timer an import of its export must produce.

What "identity" means (the modelled, documented differences):

* ``target_date`` loses its milliseconds (iCalendar has whole seconds).
* a one-off at or before ``now`` is not imported (``past``).
* a disabled recurrence is exported as a one-off (tickward treats both the
  same) and comes back as ``recurrence: null``.
* ``label`` comes back whitespace-folded (MAPPING: "trimmed, whitespace
  folded"); ``description`` stripped, CR/CRLF read back as LF.
* ``notify`` without reminders has nothing to export (one VALARM per
  reminder), so it comes back ``false``.
* a recurring timer's slot is exported at its first tickward occurrence
  (seconds dropped), so the re-imported ``target_date`` is that slot's
  RFC 5545 instant (an overlap: its first instance, same slot). When that
  first slot is a wall time in a DST gap the converter moves the anchor to
  the next slot date that is none (a gap anchor would make tickward read a
  different slot back): the next occurrence differs only while ``now`` is
  before that first slot.
* ``auto`` strategy: a slot that hits a DST gap/overlap on a future
  occurrence within the converter's horizon (4×366 days) is imported as a
  rolling one-off at the next RFC 5545 occurrence (gap → forward, overlap →
  first instance); so is a future DTSTART on an edge whose RFC instant is
  not tickward's. ``strategy="native"`` keeps the recurrence instead (with
  a ``dst_edge`` warning), except beyond the horizon.
"""

from __future__ import annotations

import calendar as _calendar
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from ical_bridge.recurrence import (
    Slot,
    format_utc,
    is_dst_edge,
    parse_iso,
    rfc_local_to_utc,
    tickward_local_to_utc,
)

__all__ = [
    "HORIZON_DAYS",
    "PROJECT_ID",
    "ZONES",
    "Expected",
    "content_of",
    "expected_import",
    "first_slot_wall",
    "normalised",
    "second_of_overlap",
    "timer_json",
    "timers_strategy",
]

PROJECT_ID = "prj_roundtrip"
HORIZON_DAYS = 4 * 366
ZONES = (
    "UTC",
    "Europe/Warsaw",
    "Europe/London",
    "America/New_York",
    "America/Santiago",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Asia/Calcutta",  # tickward holds accepted ids only (Asia/Kolkata is refused)
    "Asia/Tokyo",
)
_ONE_MS = timedelta(milliseconds=1)
_KINDS = ("daily", "weekly", "monthly", "yearly")


@lru_cache(maxsize=64)
def transitions(name: str) -> tuple[datetime, ...]:
    """UTC instants (to the minute) at which ``name`` changes offset, 2025–2030."""
    tz = ZoneInfo(name)
    found: list[datetime] = []
    t = datetime(2025, 1, 1, tzinfo=UTC)
    end = datetime(2031, 1, 1, tzinfo=UTC)
    step = timedelta(hours=1)
    prev = t.astimezone(tz).utcoffset()
    while t < end:
        nxt = t + step
        off = nxt.astimezone(tz).utcoffset()
        if off != prev:
            lo, hi = t, nxt
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid.astimezone(tz).utcoffset() == prev:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
            prev = off
        t = nxt
    return tuple(found)


# -- generators ---------------------------------------------------------------------

_TEXT_ALPHABET = st.one_of(
    st.characters(
        codec="utf-8",
        categories=("L", "M", "N", "P", "S", "Zs"),
    ),
    st.sampled_from(list(",;:\\\n\t \"'é€😀ẞ日本")),
)
_label = st.text(_TEXT_ALPHABET, min_size=1, max_size=200).filter(lambda s: s.strip() != "")
_description = st.one_of(st.none(), st.text(_TEXT_ALPHABET, min_size=0, max_size=200))
_color = st.one_of(
    st.none(),
    st.integers(0, 0xFFFFFF).map(lambda n: f"#{n:06x}"),
    st.integers(0, 0xFFFFFF).map(lambda n: f"#{n:06X}"),  # tickward accepts either case
)
_reminders = st.lists(st.integers(0, 40320), max_size=5, unique=True)


@st.composite
def _target(draw: st.DrawFn, zone_name: str) -> datetime:
    """An instant, biased towards the zone's DST transitions (gaps and overlaps)."""
    trans = transitions(zone_name)
    near_a_transition = draw(st.booleans())
    if trans and near_a_transition:
        base = draw(st.sampled_from(trans))
        minutes = draw(st.integers(-150, 150))
        instant = base + timedelta(minutes=minutes)
    else:
        instant = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
            minutes=draw(st.integers(0, 3 * 366 * 24 * 60))
        )
    seconds = draw(st.sampled_from([0, 0, 0, 1, 59]))
    millis = draw(st.sampled_from([0, 0, 0, 1, 999]))
    return instant.replace(second=seconds, microsecond=millis * 1000)


@st.composite
def _recurrence(draw: st.DrawFn) -> dict[str, Any] | None:
    if draw(st.integers(0, 3)) == 0:
        return None
    kind = draw(st.sampled_from(_KINDS))
    enabled = draw(st.sampled_from([True, True, True, False]))
    rec: dict[str, Any] = {"type": kind, "enabled": enabled}
    if kind == "monthly":
        last = draw(st.sampled_from([None, False, True]))
        if last is not None:
            rec["lastDay"] = last
    return rec


def timer_json(
    *,
    index: int,
    label: str,
    target: datetime,
    zone_name: str,
    recurrence: dict[str, Any] | None,
    description: str | None,
    color: str | None,
    notify: bool,
    reminders: list[int],
) -> dict[str, Any]:
    """A complete tickward Timer object (the shape ``/sync`` returns)."""
    return {
        "object": "timer",
        "id": f"tmr_rt_{index:04d}",
        "project_id": PROJECT_ID,
        "project_name": "Round trip",
        "label": label,
        "target_date": format_utc(target),
        "effective_target_date": format_utc(target),
        "timezone": zone_name,
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-02T00:00:00.000Z",
        "archived_at": None,
        "color": color,
        "description": description,
        "space_id": None,
        "shared_at": None,
        "notify": notify,
        "mode": "until",
        "milestones": None,
        "recurrence": recurrence,
        "pinned": False,
        "image": None,
        "reminders": [{"offset_minutes": m} for m in reminders],
    }


@st.composite
def one_timer(draw: st.DrawFn, index: int = 0, zone_name: str | None = None) -> dict[str, Any]:
    """One generated Timer JSON object."""
    name = zone_name or draw(st.sampled_from(ZONES))
    return timer_json(
        index=index,
        label=draw(_label),
        target=draw(_target(name)),
        zone_name=name,
        recurrence=draw(_recurrence()),
        description=draw(_description),
        color=draw(_color),
        notify=draw(st.booleans()),
        reminders=draw(_reminders),
    )


@st.composite
def timers_strategy(draw: st.DrawFn, max_timers: int = 4) -> list[dict[str, Any]]:
    """1…``max_timers`` timers, sometimes all in one zone (then the export sets X-WR-TIMEZONE)."""
    n = draw(st.integers(1, max_timers))
    shared = draw(st.sampled_from((None, *ZONES)))
    return [draw(one_timer(i, shared)) for i in range(n)]


@st.composite
def now_for(draw: st.DrawFn, timers: list[dict[str, Any]]) -> datetime:
    """An import ``now``: before, at, just after or long after one timer's target."""
    anchor = parse_iso(draw(st.sampled_from(timers))["target_date"])
    shift = draw(
        st.one_of(
            st.sampled_from([-1, 0, 1, 60, -60]).map(lambda s: timedelta(seconds=s)),
            st.integers(-400 * 1440, 900 * 1440).map(lambda m: timedelta(minutes=m)),
        )
    )
    return (anchor + shift).replace(microsecond=0)


# -- the model ----------------------------------------------------------------------


def _kind(timer: dict[str, Any]) -> tuple[str, bool] | None:
    rec = timer.get("recurrence")
    if not rec or not rec.get("enabled"):
        return None
    kind = str(rec["type"])
    return kind, bool(rec.get("lastDay")) and kind == "monthly"


def _slot(timer: dict[str, Any]) -> Slot:
    kind, last_day = _kind(timer) or ("daily", False)
    return Slot.of(parse_iso(timer["target_date"]), ZoneInfo(timer["timezone"]), kind,  # type: ignore[arg-type]
                   last_day=last_day)


def first_slot_wall(timer: dict[str, Any]) -> datetime:
    """The wall clock of a recurring timer's first tickward occurrence (SERVER-NOTES)."""
    target = parse_iso(timer["target_date"])
    tz = ZoneInfo(timer["timezone"])
    slot = _slot(timer)
    for day in slot.local_dates(target.astimezone(tz).date() - timedelta(days=3)):
        wall = slot.wall_clock(day)
        if tickward_local_to_utc(wall, tz) > target - _ONE_MS:
            return wall
    raise AssertionError("unreachable")


def _walls_from(slot: Slot, start: date) -> Any:
    for day in slot.local_dates(start):
        yield slot.wall_clock(day)


@dataclass
class Expected:
    """What the re-import of one exported timer must give."""

    content: dict[str, Any] | None  # None: not imported (past one-off)
    strategy: str | None
    exact: bool  # False: a DST edge sits at the horizon's boundary (native or rolling both fine)
    alternative: dict[str, Any] | None = None
    anchor_moved: bool = False


def _base_content(timer: dict[str, Any]) -> dict[str, Any]:
    label = " ".join(str(timer["label"]).split()) or "(untitled)"
    desc = (timer.get("description") or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    reminders = sorted({r["offset_minutes"] for r in timer.get("reminders") or ()})
    notify = bool(timer.get("notify")) and bool(reminders)
    return {
        "label": label,
        "timezone": timer["timezone"],
        "description": desc or None,
        "color": (timer.get("color") or "").lower() or None,
        "notify": notify,
        "reminders": reminders if notify else [],
    }


def second_of_overlap(timer: dict[str, Any]) -> bool:
    """A one-off whose instant is the second instance of an ambiguous wall time."""
    tz = ZoneInfo(timer["timezone"])
    target = parse_iso(timer["target_date"]).replace(microsecond=0)
    wall = target.astimezone(tz).replace(tzinfo=None)
    return rfc_local_to_utc(wall, tz) != target


def expected_import(
    timer: dict[str, Any], now: datetime, strategy: str = "auto", *, zones: int = 1
) -> Expected:
    """The model: what an import of the export (of ``zones`` distinct zones) gives for it."""
    base = _base_content(timer)
    target = parse_iso(timer["target_date"])
    kind = _kind(timer)
    if kind is None:
        instant = target.replace(microsecond=0)
        if instant <= now:
            return Expected(None, None, True)
        content = {**base, "target": instant, "recurrence": None}
        return Expected(content, "single", True)
    tz = ZoneInfo(timer["timezone"])
    slot = _slot(timer)
    wall0 = first_slot_wall(timer)
    # Only a gap anchor moves (tickward would read another slot back from its instant);
    # an ambiguous one is kept (RFC 5545 reads its first instance, with the same slot).
    anchor = wall0
    walls = _walls_from(slot, wall0.date())
    while _is_gap(anchor, tz):
        anchor = next(w for w in walls if w.date() > anchor.date())
    moved = anchor != wall0
    rec: dict[str, Any] = {"type": kind[0], "enabled": True}
    if kind[1]:
        rec["lastDay"] = True
    native = {**base, "target": rfc_local_to_utc(anchor, tz), "recurrence": rec}
    # RFC 5545's next occurrence after now (DTSTART = wall0 in the file).
    rfc_next = next(
        rfc_local_to_utc(w, tz) for w in _walls_from(slot, wall0.date())
        if rfc_local_to_utc(w, tz) > now
    )
    rolling = {**base, "target": rfc_next, "recurrence": None}
    # Future DST edges of the slot (DTSTART's own date included), over the converter's horizon.
    today = now.astimezone(tz).date()
    start, end = today - timedelta(days=1), today + timedelta(days=HORIZON_DAYS + 2)
    edge, near_boundary = False, False
    for wall in _walls_from(slot, max(start - timedelta(days=4), wall0.date())):
        if wall.date() > end + timedelta(days=4):
            break
        if not is_dst_edge(wall, tz):
            continue
        if abs((wall.date() - start).days) <= 3 or abs((wall.date() - end).days) <= 3:
            near_boundary = True
        elif start < wall.date() < end:
            edge = True
    # A future DTSTART on a DST edge whose RFC instant is not tickward's next occurrence
    # (a gap, or an overlap east of Greenwich): the converter sees the mismatch at any
    # distance, even beyond the horizon where it does not look for edges.
    mismatch = is_dst_edge(wall0, tz) and rfc_local_to_utc(wall0, tz) > now and (
        moved or tickward_local_to_utc(wall0, tz) != rfc_local_to_utc(wall0, tz)
    )
    if strategy == "native":
        if mismatch and not edge:
            # beyond the horizon (or at its boundary) a forced native falls back to rolling
            return Expected(native, "native", False, alternative=rolling, anchor_moved=moved)
        return Expected(native, "native", True, anchor_moved=moved)
    if mismatch or edge:
        return Expected(rolling, "rolling", True)
    if near_boundary:
        return Expected(native, "native", False, alternative=rolling, anchor_moved=moved)
    return Expected(native, "native", True, anchor_moved=moved)


def _is_gap(wall: datetime, tz: ZoneInfo) -> bool:
    """True when the wall-clock time does not exist in ``tz`` (a spring-forward gap)."""
    return rfc_local_to_utc(wall, tz).astimezone(tz).replace(tzinfo=None) != wall


def normalised(timer: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    """``timer`` (Timer JSON) with the fields of a modelled ``content``."""
    return {
        **timer,
        "label": content["label"],
        "timezone": content["timezone"],
        "description": content["description"],
        "color": content["color"],
        "notify": content["notify"],
        "reminders": [{"offset_minutes": m} for m in content["reminders"]],
        "target_date": format_utc(content["target"]),
        "recurrence": content["recurrence"],
    }


def content_of(timer: dict[str, Any]) -> dict[str, Any]:
    """The compared content of a timer (a draft body or a tickward Timer object)."""
    rec = timer.get("recurrence")
    if rec and rec.get("enabled"):
        rec_out: dict[str, Any] | None = {"type": rec["type"], "enabled": True}
        if rec.get("lastDay") and rec["type"] == "monthly":
            rec_out["lastDay"] = True  # type: ignore[index]
    else:
        rec_out = None
    reminders = sorted(r["offset_minutes"] for r in timer.get("reminders") or ())
    return {
        "label": timer["label"],
        "timezone": timer["timezone"],
        "description": timer.get("description") or None,
        "color": (timer.get("color") or "").lower() or None,
        "notify": bool(timer.get("notify")),
        "reminders": reminders,
        "target": parse_iso(timer["target_date"]),
        "recurrence": rec_out,
    }


def dumps(value: Any) -> str:
    """Readable JSON for assertion messages."""
    return json.dumps(value, default=str, ensure_ascii=False, indent=1)


def month_last(day: date) -> bool:
    """True on a month's last day."""
    return day.day == _calendar.monthrange(day.year, day.month)[1]
