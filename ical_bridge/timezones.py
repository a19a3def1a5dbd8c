"""The zone names the real tickward server accepts, and the mapping onto them.

tickward v0.14.2 validates ``timezone`` against ``"UTC"`` plus the 418
CLDR-canonical ids of Node 22's ``Intl.supportedValuesOf('timeZone')``
(``../shared/tickward/accepted-timezones.txt``; shipped here as package data,
a test keeps the two equal). Many valid IANA names are refused there
(``Asia/Kolkata``, ``Europe/Kyiv``, ``US/*``, ``Etc/GMT±N``, …).

Two ways onto the list, both derived from tzdata itself, not a hand table:

* ``accepted_name``: an *alias*, the accepted zone with the same offsets at
  every instant since 1970 and under the same future rule (read from each
  zone's TZif transitions and POSIX footer, abbreviations ignored, so
  ``Etc/GMT``, ``Zulu`` and ``UCT`` also land on ``UTC``; among several,
  tzdata's own link wins, then the most alike name). Sending it changes nothing.
* ``equivalent_zone``: for a zone with no alias (``Etc/GMT-3``,
  ``America/Ciudad_Juarez``…), an accepted zone whose UTC offsets are
  identical over a span of years (a *substitute*; callers warn).

Ground level: shared by the converter, the client and the local tickward
server. Pure apart from reading tzdata and its own package data.
"""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import TZPATH, ZoneInfo, available_timezones

__all__ = [
    "accepted_name",
    "accepted_zones",
    "describe_zone",
    "equivalent_zone",
    "is_accepted",
    "offset_changes",
]

_ETC = re.compile(r"^Etc/GMT([+-])(\d{1,2})$")
_ABBREVIATION = re.compile(r"<[^>]*>|[A-Za-z]{3,}")
_STEP = timedelta(hours=12)


@lru_cache(maxsize=1)
def accepted_zones() -> frozenset[str]:
    """Every ``timezone`` value the real tickward server accepts (exact, case-sensitive)."""
    # a plain file beside this module (importlib.resources costs ~20 ms of imports at start-up)
    data = Path(__file__).with_name("data") / "accepted-timezones.txt"
    text = data.read_text("utf-8") if data.is_file() else _package_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def _package_text() -> str:
    from importlib import resources

    return resources.files("ical_bridge").joinpath("data/accepted-timezones.txt").read_text("utf-8")


def is_accepted(name: str) -> bool:
    """True if tickward accepts ``name`` as a timer's ``timezone`` exactly as written."""
    return name in accepted_zones()


def _tzif_bytes(name: str) -> bytes | None:
    """The TZif file ``ZoneInfo(name)`` reads (system TZPATH first, then ``tzdata``)."""
    for base in TZPATH:
        path = Path(base) / name
        if path.is_file():
            return path.read_bytes()
    from importlib import resources

    try:
        package, _, leaf = f"tzdata.zoneinfo/{name}".rpartition("/")
        return resources.files(package.replace("/", ".")).joinpath(leaf).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError, ValueError):
        return None


def _rules(data: bytes) -> tuple[object, ...] | None:
    """A zone's offsets since 1970: offset then, each (transition, offset) and the POSIX footer.

    Abbreviations are left out (``UTC`` and ``GMT`` name the same instants).
    """
    if data[:4] != b"TZif":
        return None
    counts = struct.unpack(">6l", data[20:44])
    isutc, isstd, leap, times, types, chars = counts
    if data[4:5] >= b"2":  # skip the 32-bit block; the 64-bit one follows
        skip = 44 + times * 5 + types * 6 + chars + leap * 8 + isstd + isutc
        data = data[skip:]
        isutc, isstd, leap, times, types, chars = struct.unpack(">6l", data[20:44])
        width = 8
    else:
        width = 4
    at = 44
    stamps = struct.unpack(f">{times}{'q' if width == 8 else 'l'}", data[at : at + times * width])
    at += times * width
    indexes = data[at : at + times]
    at += times
    offsets = [struct.unpack(">lbB", data[at + i * 6 : at + i * 6 + 6])[0] for i in range(types)]
    at += types * 6 + chars + leap * (width + 4) + isstd + isutc
    footer = data[at:].strip(b"\n").decode("ascii", "replace")
    in_force = offsets[0] if offsets else 0
    changes: list[tuple[int, int]] = []
    for stamp, index in zip(stamps, indexes, strict=True):
        if stamp < 0:  # before 1970: (backzone) history no timer needs
            in_force = offsets[index]
        elif offsets[index] != (changes[-1][1] if changes else in_force):
            changes.append((stamp, offsets[index]))
    return (in_force, tuple(changes), _ABBREVIATION.sub("X", footer))


@lru_cache(maxsize=1)
def _links() -> dict[str, str]:
    """tzdata's own links (``L target name`` lines of ``tzdata.zi``), name → target."""
    texts: list[str] = []
    for base in TZPATH:
        path = Path(base) / "tzdata.zi"
        if path.is_file():
            texts.append(path.read_text("utf-8", "replace"))
            break
    else:
        from importlib import resources

        try:
            texts.append(
                resources.files("tzdata.zoneinfo").joinpath("tzdata.zi").read_text("utf-8")
            )
        except (ModuleNotFoundError, FileNotFoundError, OSError):
            pass
    links: dict[str, str] = {}
    for text in texts:
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "L":
                links[parts[2]] = parts[1]
    return links


def _root(name: str) -> str:
    links, seen = _links(), set()
    while name in links and name not in seen:
        seen.add(name)
        name = links[name]
    return name


def _closeness(name: str, candidate: str) -> tuple[bool, float, str]:
    """Sort key among same-rule candidates: linked in tzdata first, then the most alike name."""
    from difflib import SequenceMatcher  # only when the alias table is built (convert starts light)

    alike = SequenceMatcher(None, name.rsplit("/", 1)[-1], candidate.rsplit("/", 1)[-1]).ratio()
    return (_root(name) != _root(candidate), -alike, candidate)


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    """Every known zone name → the accepted zone with identical offsets since 1970."""
    by_rules: dict[tuple[object, ...], list[str]] = {}
    for name in sorted(accepted_zones()):
        data = _tzif_bytes(name)
        rules = _rules(data) if data else None
        if rules is not None:
            by_rules.setdefault(rules, []).append(name)
    found = {name: name for name in accepted_zones()}
    for name in sorted(available_timezones() - accepted_zones()):
        data = _tzif_bytes(name)
        rules = _rules(data) if data else None
        if rules is not None and rules in by_rules:
            found[name] = min(by_rules[rules], key=lambda c: _closeness(name, c))
    return found


def accepted_name(iana_name: str) -> str | None:
    """The accepted zone with the same instants as ``iana_name`` (since 1970), else ``None``.

    ``Asia/Kolkata`` → ``Asia/Calcutta``, ``US/Eastern`` → ``America/New_York``,
    ``Etc/UTC``/``Zulu`` → ``UTC``; an accepted name maps to itself. A fixed offset
    (``Etc/GMT-3``) has no alias: see ``equivalent_zone``.
    """
    if _ETC.match(iana_name):  # a fixed offset is no place: substituted with a warning instead
        return None
    return _aliases().get(iana_name)


def offset_changes(name: str, first_year: int, last_year: int) -> tuple[object, ...]:
    """The UTC offset of zone ``name`` at the start of ``first_year`` and every change of
    it until the end of ``last_year``, as ``(offset, ((instant, offset), …))``."""
    return _offset_changes(name, first_year, last_year)


@lru_cache(maxsize=2048)
def _offset_changes(name: str, first_year: int, last_year: int) -> tuple[object, ...]:
    tz = ZoneInfo(name)
    at = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    first = at.astimezone(tz).utcoffset()
    previous, changes = first, []
    while at < end:
        step = min(at + _STEP, end)
        offset = step.astimezone(tz).utcoffset()
        if offset != previous:
            lo, hi = at, step
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == previous:
                    lo = mid
                else:
                    hi = mid
            changes.append((hi.replace(microsecond=0), offset))
            previous = offset
        at = step
    return (first, tuple(changes))


@lru_cache(maxsize=8)
def _accepted_by_coarse(first_year: int, last_year: int) -> dict[tuple[object, ...], list[str]]:
    index: dict[tuple[object, ...], list[str]] = {}
    probes = [
        datetime(year, month, 15, tzinfo=UTC)
        for year in range(first_year, last_year + 1)
        for month in (1, 4, 7, 10)
    ]
    for name in sorted(accepted_zones()):
        tz = ZoneInfo(name)
        index.setdefault(tuple(p.astimezone(tz).utcoffset() for p in probes), []).append(name)
    return index


@lru_cache(maxsize=1024)
def equivalent_zone(iana_name: str, first_year: int, last_year: int) -> str | None:
    """An accepted zone whose UTC offsets equal ``iana_name``'s from ``first_year`` to the end
    of ``last_year`` (its alias first), else ``None``."""
    alias = _aliases().get(iana_name)  # the same offsets since 1970 first (fixed offsets too)
    if alias is not None:
        return alias
    try:
        tz = ZoneInfo(iana_name)
    except (KeyError, ValueError, OSError):
        return None
    probes = [
        datetime(year, month, 15, tzinfo=UTC)
        for year in range(first_year, last_year + 1)
        for month in (1, 4, 7, 10)
    ]
    key = tuple(p.astimezone(tz).utcoffset() for p in probes)
    wanted = _offset_changes(iana_name, first_year, last_year)
    for candidate in _accepted_by_coarse(first_year, last_year).get(key, []):
        if _offset_changes(candidate, first_year, last_year) == wanted:
            return candidate
    return None


def _hours(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def describe_zone(name: str) -> str:
    """``name`` for people: POSIX-signed ``Etc/GMT-12`` reads ``Etc/GMT-12 (UTC+12)``."""
    match = _ETC.match(name)
    if match is None:
        return name
    hours = int(match.group(2)) * (-1 if match.group(1) == "+" else 1)
    return f"{name} ({_hours(timedelta(hours=hours))})"
