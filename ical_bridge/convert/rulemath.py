"""Rule arithmetic for the fast path: dateutil rules built from parsed parts, and the
starts of simple rules computed by day arithmetic instead of dateutil's iterator.

Every function here answers exactly what dateutil answers for the same rule
(``tests/convert/test_fast_path.py`` compares them with dateutil's own parse and
iteration); each returns ``None`` where it does not know a rule, and the caller
asks dateutil.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from functools import partial
from itertools import islice
from typing import Any

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr, weekdays
from icalendar.prop import vRecur

__all__ = [
    "PARTS", "calendar_starts", "counted_starts", "known_counted", "make_rule", "periodic_nth",
    "periodic_starts", "plain_rule", "quick_plan", "quick_starts", "remembered", "rule_key",
    "shape_key", "simple_start",
]

_SLACK = timedelta(days=2)
_Plan = Callable[[datetime | None, datetime], Iterator[datetime]]
PARTS = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "WKST"})
"""The rule parts the fast path knows."""
_FREQS = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
_DAY = re.compile(r"^[+-]?(?:[1-9]|[1-4]\d|5[0-3])?(?:MO|TU|WE|TH|FR|SA|SU)$")


def _int_in(values: list[Any], low: int, high: int) -> bool:
    try:
        return all(low <= abs(int(v)) <= high and int(v) != 0 for v in values)
    except (TypeError, ValueError):
        return False


def shape_key(vrecur: Any) -> tuple[Any, ...] | None:
    """A hashable key of a parsed RRULE's parts other than UNTIL (``None`` if a value is not
    hashable). UNTIL stays out: equal date-times in two zones are equal keys."""
    try:
        key = tuple((str(k).upper(), tuple(v)) for k, v in vrecur.items() if k != "UNTIL")
        hash(key)
    except TypeError:
        return None
    return key


_PLAIN: dict[tuple[Any, ...], bool] = {}
_PATTERNS: dict[tuple[Any, ...], tuple[str, int, frozenset[int], int] | None] = {}


def remembered(memo: dict[Any, Any], key: Any, make: Any) -> Any:
    """``make()``, once per ``key`` of a bounded memo (cleared at 4,096 entries); a ``None``
    key is not remembered."""
    if key is None:
        return make()
    found = memo.get(key, memo)
    if found is memo:
        if len(memo) >= 4096:
            memo.clear()
        found = memo[key] = make()
    return found


def plain_rule(rule: object, start: date) -> bool:
    """A rule of ``PARTS`` only, with values the fast path (and dateutil) handle quickly
    (judged once per rule text, but for UNTIL)."""
    if not isinstance(rule, vRecur):
        return False
    if not remembered(_PLAIN, shape_key(rule), lambda: _plain_parts(rule)):
        return False
    until = dict.get(rule, "UNTIL")
    if until is not None:
        value = until[0] if len(until) == 1 else None
        if not isinstance(value, datetime) or value.utcoffset() != timedelta(0):
            return False
    return True


def _plain_parts(rule: Any) -> bool:
    keys = {str(k).upper() for k in rule}
    if not keys <= PARTS or [str(f).upper() for f in dict.get(rule, "FREQ", [])] not in (
        [f] for f in _FREQS
    ):
        return False
    interval, count = dict.get(rule, "INTERVAL", [1]), dict.get(rule, "COUNT", [1])
    if not _int_in(interval, 1, 1000) or not _int_in(count, 1, 1000):
        return False
    if not all(_DAY.match(str(d).upper()) for d in dict.get(rule, "BYDAY", [])):
        return False
    days, months = dict.get(rule, "BYMONTHDAY", []), dict.get(rule, "BYMONTH", [])
    # 29–31 in a fixed month may never exist: dateutil would then search to year 9999.
    if not _int_in(days, 1, 28 if months else 31) or not _int_in(months, 1, 12):
        return False
    return not any(int(m) < 0 for m in months)


_FREQ_NUMBERS = {"YEARLY": YEARLY, "MONTHLY": MONTHLY, "WEEKLY": WEEKLY, "DAILY": DAILY}
_DAY_NUMBERS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}


def rule_key(vrecur: Any) -> tuple[Any, ...]:
    """A hashable key of a parsed RRULE: equal keys, equal rules."""
    return tuple((str(k), tuple(v)) for k, v in vrecur.items())


def make_rule(vrecur: Any, start: datetime) -> rrule:
    """``rrulestr(vrecur.to_ical(), dtstart=start)`` for a rule of the plain parts
    (``PARTS``), built from the parsed values as dateutil's own parser would."""
    kwargs: dict[str, Any] = {"dtstart": start, "cache": False}
    freq: Any = None
    for key, values in vrecur.items():
        name = str(key).upper()
        if name == "FREQ":
            freq = _FREQ_NUMBERS[str(values[0]).upper()]
        elif name in ("INTERVAL", "COUNT"):
            kwargs[name.lower()] = int(values[0])
        elif name in ("BYMONTHDAY", "BYMONTH"):
            kwargs[name.lower()] = [int(v) for v in values]
        elif name == "UNTIL":
            kwargs["until"] = values[0]
        elif name == "WKST":
            kwargs["wkst"] = _DAY_NUMBERS[str(values[0]).upper()]
        elif name == "BYDAY":
            days = []
            for value in values:
                text = str(value).upper()
                count = text[:-2]
                day = weekdays[_DAY_NUMBERS[text[-2:]]]
                days.append(day(int(count)) if count else day)
            kwargs["byweekday"] = days
        else:
            raise ValueError(f"not a plain rule part: {name}")
    return rrule(freq, **kwargs)


def periodic_starts(
    vrecur: Any, start: datetime, until: datetime | None, after: datetime, *,
    counted: bool = False,
) -> Iterator[datetime] | None:
    """``rrule.xafter(after, inc=True)`` by day arithmetic for a DAILY or WEEKLY rule
    without COUNT, BYMONTH or BYMONTHDAY (``None`` for any other rule).

    Such a rule repeats a fixed pattern of days every period: DAILY every INTERVAL
    days (BYDAY keeps some weekdays, so the pattern spans INTERVAL weeks), WEEKLY
    every INTERVAL weeks from the WKST week of DTSTART. Each start is DTSTART's wall
    clock on its day, as dateutil makes it; none before DTSTART, none after UNTIL.
    With ``counted`` a COUNT part is allowed and ignored: the caller takes that many.
    """
    plan = _periodic_plan(vrecur, start, counted)
    return None if plan is None else plan(until, after)


def _periodic_plan(vrecur: Any, start: datetime, counted: bool) -> _Plan | None:
    pattern = _pattern(vrecur, start, counted)
    if pattern is None:
        return None
    anchor, period, offsets, clock = pattern
    return partial(_periodic, anchor, period, offsets, clock, start)


def _pattern(vrecur: Any, start: datetime,
             counted: bool) -> tuple[date, int, list[int], time] | None:  # fmt: skip
    """A DAILY or WEEKLY rule's days as (first period's first day, period length in days,
    the offsets of its days in a period, wall clock); ``None`` for another rule."""
    key = shape_key(vrecur)
    memo_key = None if key is None else (key, counted)
    parts = remembered(_PATTERNS, memo_key, lambda: _rule_days(vrecur, counted))
    if parts is None:
        return None
    freq, interval, days, wkst = parts
    first = start.date()
    if freq == "DAILY":
        anchor, period = first, interval * 7 if days else interval
        offsets = [o for o in range(0, period, interval)
                   if not days or (first.weekday() + o) % 7 in days]  # fmt: skip
    else:
        anchor = first - timedelta(days=(first.weekday() - wkst) % 7)
        period = interval * 7
        offsets = sorted({(d - wkst) % 7 for d in (days or {first.weekday()})})
    clock = time(start.hour, start.minute, start.second, tzinfo=start.tzinfo)
    return anchor, period, offsets, clock


def _rule_days(vrecur: Any, counted: bool) -> tuple[str, int, frozenset[int], int] | None:
    """What ``_pattern`` reads of the rule alone: FREQ, INTERVAL, BYDAY's weekdays, WKST."""
    names = {str(k).upper() for k in vrecur} - ({"COUNT"} if counted else set())
    if not names <= {"FREQ", "INTERVAL", "UNTIL", "BYDAY", "WKST"}:
        return None
    freq = str(vrecur["FREQ"][0]).upper()
    if freq not in ("DAILY", "WEEKLY"):
        return None
    interval = int(dict.get(vrecur, "INTERVAL", [1])[0])
    days = frozenset(_DAY_NUMBERS[str(d).upper()[-2:]] for d in dict.get(vrecur, "BYDAY", []))
    wkst = _DAY_NUMBERS[str(dict.get(vrecur, "WKST", ["MO"])[0]).upper()] if freq == "WEEKLY" else 0
    return freq, interval, days, wkst


def periodic_nth(vrecur: Any, start: datetime, n: int) -> datetime | None:
    """The ``n``-th start (from 1) of a DAILY or WEEKLY COUNT rule without UNTIL, as
    ``counted_starts`` lists them, by arithmetic (``None``: another rule, or past 9999).

    The first period's days before DTSTART are no starts; from there on every
    period holds one start per offset.
    """
    pattern = _pattern(vrecur, start, True) if n >= 1 and not dict.get(vrecur, "UNTIL") else None
    if pattern is None or not pattern[2]:
        return None
    anchor, period, offsets, clock = pattern
    first = start.date()
    before = sum(1 for offset in offsets if anchor + timedelta(days=offset) < first)
    whole, index = divmod(n - 1 + before, len(offsets))
    try:
        day = anchor + timedelta(days=whole * period + offsets[index])
    except OverflowError:
        return None
    return datetime.combine(day, clock)


def calendar_starts(
    vrecur: Any, start: datetime, until: datetime | None, after: datetime, *,
    counted: bool = False,
) -> Iterator[datetime] | None:
    """``rrule.xafter(after, inc=True)`` by month arithmetic for a MONTHLY or YEARLY rule
    of INTERVAL, UNTIL, BYMONTH, BYMONTHDAY and (MONTHLY only) BYDAY, all ordinals or
    none (``None`` for any other rule).

    dateutil's defaults: without BYMONTHDAY and BYDAY the day is DTSTART's, and a
    YEARLY rule without BYMONTH then keeps DTSTART's month; a month lacking a day
    (the 31st, the 5th Monday) has no start. With ``counted`` a COUNT part is allowed
    and ignored: the caller takes that many.
    """
    plan = _calendar_plan(vrecur, start, counted)
    return None if plan is None else plan(until, after)


def _calendar_plan(vrecur: Any, start: datetime, counted: bool) -> _Plan | None:
    names = {str(k).upper() for k in vrecur} - ({"COUNT"} if counted else set())
    freq = str(vrecur["FREQ"][0]).upper()
    allowed = {"FREQ", "INTERVAL", "UNTIL", "BYMONTH", "BYMONTHDAY", "WKST"}
    if freq == "MONTHLY":
        allowed.add("BYDAY")
    elif freq != "YEARLY":
        return None
    if not names <= allowed:
        return None
    interval = int(dict.get(vrecur, "INTERVAL", [1])[0])
    monthdays = [int(d) for d in dict.get(vrecur, "BYMONTHDAY", [])]
    weekdays_: list[tuple[int, int]] = []
    for value in dict.get(vrecur, "BYDAY", []):
        text = str(value).upper()
        weekdays_.append((_DAY_NUMBERS[text[-2:]], int(text[:-2]) if text[:-2] else 0))
    if len({n == 0 for _, n in weekdays_}) > 1:
        return None  # plain and ordinal weekdays together: dateutil intersects them
    months = {int(m) for m in dict.get(vrecur, "BYMONTH", [])}
    if not monthdays and not weekdays_:
        monthdays = [start.day]
        if freq == "YEARLY" and not months:
            months = {start.month}
    clock = time(start.hour, start.minute, start.second, tzinfo=start.tzinfo)
    step = interval * (1 if freq == "MONTHLY" else 12)
    return partial(_by_month, start, step, 1 if freq == "MONTHLY" else 12, months, monthdays,
                   weekdays_, clock)  # fmt: skip


def _days_in(year: int, month: int, monthdays: list[int],
             weekdays_: list[tuple[int, int]]) -> list[int]:  # fmt: skip
    """The days of one month that BYMONTHDAY and BYDAY (in the month) keep, in order."""
    length = monthrange(year, month)[1]
    chosen: set[int] = set()
    if monthdays:
        chosen = {d if d > 0 else length + 1 + d for d in monthdays}
        chosen = {d for d in chosen if 1 <= d <= length}
    if weekdays_:
        first = date(year, month, 1).weekday()
        matching: set[int] = set()
        for weekday, n in weekdays_:
            days = list(range(1 + (weekday - first) % 7, length + 1, 7))
            if n == 0:
                matching.update(days)
            elif -len(days) <= n <= len(days):
                matching.add(days[n - 1] if n > 0 else days[n])
        chosen = chosen & matching if monthdays else matching
    return sorted(chosen)


def _by_month(start: datetime, step: int, span: int, months: set[int], monthdays: list[int],
              weekdays_: list[tuple[int, int]], clock: time, until: datetime | None,
              after: datetime) -> Iterator[datetime]:  # fmt: skip
    """Starts period by period (``span`` months each, every ``step`` months from DTSTART's)."""
    first = start.year * 12 + (start.month - 1 if span == 1 else 0)
    near = (after - _SLACK).year * 12 + (after - _SLACK).month - 1
    index = first + max(0, (near - first) // step) * step

    def days() -> Iterator[date]:
        nonlocal index
        while index // 12 <= 9999:
            for month_index in range(index, index + span):
                year, month = divmod(month_index, 12)
                if months and month + 1 not in months:
                    continue
                for day in _days_in(year, month + 1, monthdays, weekdays_):
                    yield date(year, month + 1, day)
            index += step

    return _moments(days(), clock, start, until, after)


def _periodic(anchor: date, period: int, offsets: list[int], clock: time, start: datetime,
              until: datetime | None, after: datetime) -> Iterator[datetime]:  # fmt: skip
    skip = ((after - _SLACK).date() - anchor).days // period if offsets else 0
    base = anchor + timedelta(days=period * max(0, skip))

    def days() -> Iterator[date]:
        nonlocal base
        while offsets:
            for offset in offsets:
                yield base + timedelta(days=offset)
            base += timedelta(days=period)

    return _moments(days(), clock, start, until, after)


def _moments(days: Iterator[date], clock: time, start: datetime, until: datetime | None,
             after: datetime) -> Iterator[datetime]:  # fmt: skip
    """DTSTART's wall clock on each day, as dateutil makes it: none before DTSTART or
    ``after``; the first after UNTIL ends them."""
    for day in days:
        moment = datetime.combine(day, clock)
        if moment < start or moment < after:
            continue
        if until is not None and moment > until:
            return
        yield moment


def quick_starts(
    vrecur: Any, start: datetime, until: datetime | None, after: datetime, *,
    counted: bool = False,
) -> Iterator[datetime] | None:
    """``periodic_starts`` or ``calendar_starts``, whichever knows the rule (else ``None``)."""
    plan = quick_plan(vrecur, start, counted=counted)
    return None if plan is None else plan(until, after)


def quick_plan(vrecur: Any, start: datetime, *, counted: bool = False) -> _Plan | None:
    """``quick_starts`` of one rule and DTSTART, worked out once: ``plan(until, after)``
    gives the starts (``None``: neither day nor month arithmetic knows the rule)."""
    plan = _periodic_plan(vrecur, start, counted)
    return plan if plan is not None else _calendar_plan(vrecur, start, counted)


_COUNTED: dict[tuple[Any, ...], list[datetime]] = {}


def counted_starts(vrecur: Any, wall: datetime) -> list[datetime]:
    """Every start of the COUNT rule ``vrecur`` (without UNTIL) from the naive DTSTART ``wall``.

    One dateutil walk, shared by the series' end (``RecurringSeries._bound``) and
    its expander, which needs the same starts again. Callers must not change the list.
    """
    key = (rule_key(vrecur), wall)
    found = _COUNTED.get(key)
    if found is None:
        if len(_COUNTED) > 256:
            _COUNTED.clear()
        count = int(vrecur["COUNT"][0])
        quick = quick_starts(vrecur, wall, None, wall, counted=True)
        if quick is not None:
            found = list(islice(quick, count))
        elif {str(k).upper() for k in vrecur} <= PARTS:
            found = list(make_rule(vrecur, wall))
        else:
            found = list(rrulestr(vrecur.to_ical().decode(), dtstart=wall))
        _COUNTED[key] = found
    return found


def known_counted(vrecur: Any, wall: datetime) -> list[datetime] | None:
    """``counted_starts`` if it was already computed, else ``None``."""
    return _COUNTED.get((rule_key(vrecur), wall))


_SIMPLE_KEYS = frozenset({"FREQ", "COUNT", "INTERVAL", "WKST"})


def simple_start(rule: Any, wall: date, count: int) -> datetime | None:
    """The ``count``-th start of a rule without BY… parts, by arithmetic (None: iterate).

    ``wall`` may carry a zone: the result keeps it (dateutil repeats the wall clock).

    Such a rule repeats DTSTART's wall clock every INTERVAL periods, as dateutil does;
    months are safe while the day exists in every month, years unless it is 29 February.
    """
    if count < 1 or not set(rule) <= _SIMPLE_KEYS:
        return None
    freq = str(rule["FREQ"][0]).upper()
    step = int(dict.get(rule, "INTERVAL", [1])[0]) * (count - 1)
    start = wall if isinstance(wall, datetime) else datetime.combine(wall, datetime.min.time())
    start = start.replace(microsecond=0)
    if freq in ("DAILY", "WEEKLY"):
        return start + timedelta(days=step * (1 if freq == "DAILY" else 7))
    if freq == "MONTHLY" and start.day <= 28:
        months = start.year * 12 + start.month - 1 + step
        year, month = divmod(months, 12)
        return start.replace(year=year, month=month + 1) if year <= 9999 else None
    if freq == "YEARLY" and (start.month, start.day) != (2, 29) and start.year + step <= 9999:
        return start.replace(year=start.year + step)
    return None
