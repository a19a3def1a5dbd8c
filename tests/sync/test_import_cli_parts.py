"""The import command's small parts: windows, source keys, state URLs, the rate-aware ETA."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
import pytest
from rich.progress import Progress

from ical_bridge.cli.common import parse_window
from ical_bridge.cli.import_ import _RateAwareEta, parse_limits, state_url
from ical_bridge.ingest.fetch import source_key_for


@pytest.mark.parametrize(("text", "expected"), [
    ("90d", timedelta(days=90)), ("12w", timedelta(weeks=12)), ("36h", timedelta(hours=36)),
    ("30", timedelta(days=30)),
])
def test_window_forms(text: str, expected: timedelta) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", ["", "90x", "-3d", "d"])
def test_bad_window_is_a_usage_error(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_window(text)


def test_limits_parse() -> None:
    limits = parse_limits("100/80/10")
    assert (limits.timers_per_project, limits.active_timers_per_space,
            limits.spaces_per_project) == (100, 80, 10)
    with pytest.raises(click.BadParameter):
        parse_limits("100/80")


def test_source_key_is_stable_per_source_and_hides_secrets(tmp_path: Path) -> None:
    a = tmp_path / "a.ics"
    assert source_key_for(str(a)) == source_key_for(str(tmp_path / "." / "a.ics"))
    assert source_key_for(str(a)) != source_key_for(str(tmp_path / "b.ics"))
    secret = "https://cal.example.com/feed.ics?token=s3cr3t"
    key = source_key_for(secret)
    assert "s3cr3t" not in key and key.startswith("import:")
    assert key == source_key_for("webcal://cal.example.com/feed.ics?token=s3cr3t")
    assert source_key_for("-") == "import:stdin"


def test_state_url_forms(tmp_path: Path) -> None:
    assert state_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert state_url(str(tmp_path / "x" / "s.db")) == f"sqlite:///{tmp_path / 'x' / 's.db'}"
    assert state_url(None).startswith("sqlite:///")


def test_eta_never_promises_faster_than_the_rate_limit() -> None:
    progress = Progress()
    task_id = progress.add_task("apply", total=300)
    task = progress.tasks[task_id]
    # Nothing done yet: 300 writes, 119 left in this minute's budget of 120, at 2 per second.
    eta = _RateAwareEta(limit=120, window=60.0, sent_before=1).render(task)
    assert eta.plain == "ETA 1:30"  # (300 - 119) × 0.5 s = 90.5 s
    assert _RateAwareEta(limit=0, window=60.0, sent_before=0).render(task).plain == "ETA 0:00"
