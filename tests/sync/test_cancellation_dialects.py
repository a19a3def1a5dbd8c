"""Cancellation in every dialect archives the right timer, with a code (issue 13, item 3).

Each test imports a calendar, then the same calendar with one event cancelled
the way one producer does it, and checks that exactly that event's timer is archived.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from import_helpers import TODAY, Event, Harness, calendar

from ical_bridge.convert import ImportOptions, convert_calendar
from ical_bridge.convert.cancel import CANCEL_PREFIXES


def _events(summary1: str = "Meeting 1", status1: str | None = None) -> list[Event]:
    return [Event("m0@t", "Meeting 0", 2), Event("m1@t", summary1, 3, status=status1),
            Event("m2@t", "Meeting 2", 4)]


def _archived_labels(harness: Harness) -> set[str]:
    return {t["label"] for t in harness.timers().values() if t.get("archived_at")}


def _check_cancel(harness: Harness, second: bytes, code: str | None) -> None:
    harness.run(calendar(_events()))
    plan, report = harness.run(second)
    assert report is not None and report.ok
    archives = [c for c in plan.changes if c.action == "archive"]
    assert [c.label for c in archives] == ["Meeting 1"]
    assert plan.summary["create"] == 0
    skip = next(s for s in plan.skipped if s.uid == "m1@t")
    assert skip.code == "cancelled"
    if code:
        assert code in {w.code for w in skip.warnings}
    assert _archived_labels(harness) == {"Meeting 1"}


def test_status_cancelled(harness: Harness) -> None:
    _check_cancel(harness, calendar(_events(status1="CANCELLED")), None)


@pytest.mark.parametrize("prefix", ["Canceled: ", "Cancelled: ", "Abgesagt: ", "Annulé : ",
                                    "Annulé\u00a0: ", "Cancelado: ", "Annullato: ",
                                    "Geannuleerd: ", "Anulowane: ", "CANCELED:"])
def test_outlook_summary_prefix_with_status_confirmed(harness: Harness, prefix: str) -> None:
    second = calendar(_events(f"{prefix}Meeting 1", status1="CONFIRMED"))
    _check_cancel(harness, second, "cancelled_by_prefix")


def test_a_title_that_only_mentions_cancellation_is_not_cancelled() -> None:
    text = calendar([Event("x@t", "Cancelled flights review", 3),
                     Event("y@t", "Why we canceled: a retro", 3)]).decode()
    result = convert_calendar(text, ImportOptions(now=TODAY))
    assert len(result.timers) == 2 and not result.skipped


def test_every_listed_prefix_is_recognised() -> None:
    events = [Event(f"p{i}@t", f"{p}: Meeting", 3) for i, p in enumerate(CANCEL_PREFIXES)]
    result = convert_calendar(calendar(events), ImportOptions(now=TODAY))
    assert not result.timers
    assert {s.code for s in result.skipped} == {"cancelled"}


def test_method_cancel(harness: Harness) -> None:
    one = [Event("m1@t", "Meeting 1", 3)]
    harness.run(calendar(one))
    cancel = calendar(one).replace(b"VERSION:2.0\r\n", b"VERSION:2.0\r\nMETHOD:CANCEL\r\n")
    plan, report = harness.run(cancel)
    assert report is not None and report.ok
    assert [c.action for c in plan.changes] == ["archive"]
    skip = plan.skipped[0]
    assert skip.code == "cancelled" and skip.warnings[0].code == "cancelled_by_method"
    assert _archived_labels(harness) == {"Meeting 1"}


def _weekly(override: str = "") -> bytes:
    start = TODAY + timedelta(days=1, hours=9, minutes=30)
    second = start + timedelta(days=7)
    stamp = "%Y%m%dT%H%M%SZ"
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nX-WR-CALNAME:Team\r\n"
        f"BEGIN:VEVENT\r\nUID:weekly@t\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:{start.strftime(stamp)}\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n"
        "SUMMARY:Weekly\r\nEND:VEVENT\r\n"
    )
    if override:
        text += (
            f"BEGIN:VEVENT\r\nUID:weekly@t\r\nDTSTAMP:20260101T000000Z\r\n"
            f"RECURRENCE-ID:{second.strftime(stamp)}\r\nDTSTART:{second.strftime(stamp)}\r\n"
            f"{override}\r\nEND:VEVENT\r\n"
        )
    return (text + "END:VCALENDAR\r\n").encode()


@pytest.mark.parametrize("override", ["SUMMARY:Weekly\r\nSTATUS:CANCELLED",
                                      "SUMMARY:Canceled: Weekly"])
def test_an_override_cancels_one_instance(harness: Harness, override: str) -> None:
    harness.run(_weekly(), strategy="expand")
    assert len(harness.timers()) == 4
    plan, report = harness.run(_weekly(override), strategy="expand")
    assert report is not None and report.ok
    archives = [c for c in plan.changes if c.action == "archive"]
    assert len(archives) == 1
    second = (TODAY + timedelta(days=8, hours=9, minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")
    archived = [t for t in harness.timers().values() if t.get("archived_at")]
    assert [t["target_date"][:19] for t in archived] == [second]
    assert any(s.code == "cancelled" for s in plan.skipped)


def _weekly_first_cancelled(override: str) -> bytes:
    first = (TODAY + timedelta(days=1, hours=9, minutes=30)).strftime("%Y%m%dT%H%M%SZ")
    second = (TODAY + timedelta(days=8, hours=9, minutes=30)).strftime("%Y%m%dT%H%M%SZ")
    text = _weekly(override)
    for name in ("RECURRENCE-ID", "DTSTART"):  # the override now names the first occurrence
        text = text.replace(f"{name}:{second}".encode(), f"{name}:{first}".encode())
    return text


@pytest.mark.parametrize("override", ["SUMMARY:Weekly\r\nSTATUS:CANCELLED",
                                      "SUMMARY:Abgesagt: Weekly"])
def test_a_cancelled_next_instance_moves_the_rolling_timer_on(
    harness: Harness, override: str
) -> None:
    harness.run(_weekly(), strategy="rolling")
    (before,) = harness.timers().values()
    assert before["target_date"][:10] == (TODAY + timedelta(days=1)).strftime("%Y-%m-%d")
    plan, report = harness.run(_weekly_first_cancelled(override), strategy="rolling")
    assert report is not None and report.ok
    assert [c.action for c in plan.changes] == ["update"]  # the same timer, moved on
    (after,) = harness.timers().values()
    assert after["id"] == before["id"] and not after.get("archived_at")
    assert after["target_date"][:10] == (TODAY + timedelta(days=8)).strftime("%Y-%m-%d")
