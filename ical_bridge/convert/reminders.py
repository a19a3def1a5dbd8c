"""The reminders and ``notify`` a timer gets: the producer's VALARMs and the user's defaults."""

from __future__ import annotations

from typing import Any

from ical_bridge.convert.choices import MAX_REMINDERS, EventChoices
from ical_bridge.convert.model import Notice

__all__ = ["choose_reminders"]


def choose_reminders(
    alarms: list[int], *, all_day: bool, choices: EventChoices, warnings: list[Notice]
) -> tuple[list[dict[str, Any]], bool]:
    """(``reminders``, ``notify``) from the VALARM offsets ``alarms`` and the user's choices.

    ``keep``: the producer's alarms, or the defaults for an event without any;
    ``drop``: only the defaults; ``merge``: both (the nearest five when more).
    ``notify`` is the user's choice, else on exactly when there are reminders;
    it is always explicit because tickward defaults an omitted notify to true.
    """
    defaults = list(choices.reminders_for(all_day))
    if choices.alarms == "drop":
        chosen = defaults
    elif choices.alarms == "merge":
        chosen = [*alarms, *defaults]
    else:
        chosen = alarms or defaults
    unique = sorted(set(chosen))
    if len(unique) > MAX_REMINDERS:
        warnings.append(Notice(
            "alarms_truncated", f"{len(unique)} reminders; the {MAX_REMINDERS} nearest kept"
        ))
        unique = unique[:MAX_REMINDERS]
    notify = bool(unique) if choices.notify is None else choices.notify
    return [{"offset_minutes": m} for m in unique], notify
