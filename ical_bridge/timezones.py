"""The zone names the real tickward server accepts.

tickward v0.14.2 validates ``timezone`` against ``"UTC"`` plus the 418
CLDR-canonical ids of Node 22's ``Intl.supportedValuesOf('timeZone')``
(``../shared/tickward/accepted-timezones.txt``; shipped here as package data,
a test keeps the two equal). Many valid IANA names are refused there
(``Asia/Kolkata``, ``Europe/Kyiv``, ``US/*``, ``Etc/GMT±N``, …).

Ground level: shared by the converter (which maps every zone it emits onto
this list), the client and the local tickward server (which refuses what the
real one refuses). Pure: it reads only its own package data.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

__all__ = ["accepted_zones", "is_accepted"]


@lru_cache(maxsize=1)
def accepted_zones() -> frozenset[str]:
    """Every ``timezone`` value the real tickward server accepts (exact, case-sensitive)."""
    text = files("ical_bridge").joinpath("data/accepted-timezones.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def is_accepted(name: str) -> bool:
    """True if tickward accepts ``name`` as a timer's ``timezone`` exactly as written."""
    return name in accepted_zones()
