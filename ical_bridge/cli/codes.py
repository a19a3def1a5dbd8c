"""What each warning and skip code means and what the user can do (``--explain CODE``).

The README's table of codes is this catalogue; ``tests/cli/test_explain.py``
keeps the two, and the codes ``convert`` emits for the sample feeds, in step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ical_bridge.errors import UserError

__all__ = ["CODES", "explain", "explain_option"]

_F = TypeVar("_F", bound=Callable[..., Any])

# code → (what happened, what you can do)
CODES: dict[str, tuple[str, str]] = {
    # warnings: the timer was made, with this caveat
    "alarm_absolute": ("A VALARM at an absolute time was turned into a reminder offset.",
                       "Nothing, unless the event moves: then the offset moves with it."),
    "alarm_after_start": ("A VALARM fires after the event starts; tickward reminders only "
                          "come before.", "Move the alarm before the start in the calendar."),
    "alarm_out_of_range": ("A VALARM is further ahead than tickward's reminder range.",
                           "Use a shorter alarm offset."),
    "alarm_unreadable": ("A VALARM's trigger could not be read; it was left out.",
                         "Fix the TRIGGER in the calendar."),
    "alarms_truncated": ("The event has more alarms than tickward keeps; extras were dropped.",
                         "Keep the most important alarms first."),
    "all_day_zone_guessed": ("An all-day date was placed in a zone nobody named (this "
                             "machine's zone).", "Pass --tz (or set timezone = in the config)."),
    "bad_color": ("A colour is not #RRGGBB; it was ignored.", "Fix the COLOR property."),
    "bad_component": ("A component could not be read and was skipped.",
                      "Check the calendar with a validator; the rest was imported."),
    "bad_property": ("A property could not be parsed (e.g. an RRULE with a typo).",
                     "Fix the property named in the message; run with -v for details."),
    "bad_rrule": ("The RRULE could not be parsed; the series is treated as one event.",
                  "Fix the RRULE in the calendar."),
    "description_truncated": ("The description is longer than tickward keeps.",
                              "Nothing; the start of it is kept."),
    "dst_ambiguous": ("A local time happens twice (clocks go back); the first was taken.",
                      "Use a UTC time or another hour in the calendar."),
    "dst_edge": ("A repeating time falls on a DST change on some dates.",
                 "Check those dates in tickward; --strategy expand pins each one."),
    "dst_gap": ("A local time does not exist (clocks go forward); it was moved past the gap.",
                "Use another hour in the calendar."),
    "dtend_before_dtstart": ("DTEND is before DTSTART; DTSTART was kept.",
                             "Fix DTEND in the calendar."),
    "duplicate_uid": ("Two events share a UID; only one was kept.",
                      "Give each event its own UID."),
    "expand_truncated": ("--strategy expand stopped at its maximum number of occurrences.",
                         "Shorten --window or use another --strategy."),
    "floating_time": ("A time without zone was read in a zone nobody named.",
                      "Pass --tz (or set timezone = in the config)."),
    "label_truncated": ("The summary is longer than tickward's label; it was cut.",
                        "Shorten the SUMMARY."),
    "line_too_long": ("A line of the file is longer than allowed; it was skipped.",
                      "Fix the file's generator; the rest was imported."),
    "missing_uid": ("The event has no UID; an id was derived from its content.",
                    "Add a UID so edits update the same timer."),
    "property_repaired": ("A malformed property was repaired (e.g. stray spaces).",
                          "Nothing; fix the calendar to silence it."),
    "recurrence_dropped": ("tickward cannot repeat this series; only the next occurrence "
                           "became a timer.", "Use --strategy split or expand, or sync."),
    "rolling": ("The series cannot repeat natively; the timer shows the next occurrence and "
                "goes stale without sync.", "Run sync (or the daemon) to keep it moving."),
    "seconds_dropped": ("tickward keeps minutes; the seconds were dropped.", "Nothing."),
    "series_end_not_enforced": ("The series ends (UNTIL/COUNT) but tickward repeats forever.",
                                "Run sync: it archives the timer when the series ends."),
    "since_in_future": ("A count-up (since) timer starts in the future.", "Check the date."),
    "since_milestones_defaulted": ("A since timer got tickward's default milestones.",
                                   "Nothing."),
    "strategy_fallback": ("The requested --strategy cannot represent this series; another "
                          "was used (named in the message).", "Pick another --strategy."),
    "timezone_approximated": ("The file's own zone was matched to a standard zone with the "
                              "same offsets.", "Nothing; check the times if they look off."),
    "timezone_fallback": ("A zone could not be resolved; UTC was used.",
                          "Pass --tz or fix TZID in the calendar."),
    "timezone_guessed": ("A non-standard zone name was mapped to a standard one.",
                         "Check the times; use an IANA zone name in the calendar."),
    "timezone_substituted": ("The zone is not one tickward accepts; an equivalent accepted "
                             "zone was used.", "Nothing."),
    "too_deep": ("Components are nested too deeply; the inner ones were skipped.",
                 "Fix the file's generator."),
    "truncated": ("The file ends in the middle; what was complete was read.",
                  "Download the calendar again."),
    "unknown_timezone": ("A TZID is not known and the file does not define it; UTC was used.",
                         "Pass --tz or fix TZID in the calendar."),
    "untitled": ("The event has no SUMMARY; a placeholder label was used.", "Add a SUMMARY."),
    # skip codes: no timer was made
    "cancelled": ("STATUS:CANCELLED: no timer.", "Nothing."),
    "conflict": ("The timer was edited in tickward and --conflict tickward-wins kept it.",
                 "Use --conflict feed-wins to overwrite it with the calendar."),
    "duplicate": ("Another event already makes this timer.", "Remove the duplicate event."),
    "ended": ("The series has no occurrence left.", "Nothing."),
    "guard": ("Removals were held back: the source lost most of its events.",
              "If that is right: import --allow-empty, or allow_empty = true for a feed."),
    "limit": ("The plan caps (--limits) leave no room for this timer.",
              "Raise --limits if your tickward plan allows more, or shorten --window."),
    "not_ours": ("The timer belongs to another source; it is left alone.", "Nothing."),
    "outside_window": ("The next occurrence is after --window.", "Use a longer --window."),
    "past": ("The event is over.", "Nothing."),
    "unsupported": ("tickward cannot represent this component (the message says why).",
                    "See the message; --include-todos for VTODOs."),
}


def explain(code: str) -> str:
    """The two-line explanation of ``code``; an unknown code is bad input."""
    found = CODES.get(code.strip().lower())
    if found is None:
        import difflib  # only for a mistyped code (every convert run imports this module)

        close = difflib.get_close_matches(code, CODES, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f" (known: {', '.join(CODES)})"
        raise UserError(f"--explain: no code {code!r}{hint}")
    meaning, action = found
    return f"{code}: {meaning}\nWhat to do: {action}"


def _explain_now(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    click.echo(explain(value))
    ctx.exit(0)


def explain_option(command: _F) -> _F:
    """``--explain CODE``: print what a warning or skip code means, then exit."""
    return click.option(
        "--explain", metavar="CODE", default=None, expose_value=False, is_eager=True,
        callback=_explain_now, help="Explain a warning or skip code and exit.",
    )(command)  # fmt: skip
