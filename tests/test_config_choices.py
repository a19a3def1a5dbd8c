"""A feed's reminders, notify, filters and target keys (issue 13, items 4-5)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from ical_bridge.cli import cli
from ical_bridge.config import load_config
from ical_bridge.convert.choices import EventChoices
from ical_bridge.errors import ConfigError

_FEED = """
[[feeds]]
name = "team"
path = "team.ics"
project = "Team"
"""


def _load(tmp_path: Path, extra: str) -> EventChoices:
    path = tmp_path / "bridge.toml"
    path.write_text(_FEED + extra)
    return load_config(path).feeds[0].sync_options(datetime.now(UTC)).choices


def test_no_keys_change_nothing(tmp_path: Path) -> None:
    assert _load(tmp_path, "") == EventChoices()


def test_every_key_reaches_the_converter(tmp_path: Path) -> None:
    choices = _load(tmp_path, """
reminders = ["15m", "1d"]
all_day_reminders = ["12h"]
alarms = "merge"
notify = false
include = "^(standup|review)"
exclude = "optional"
include_categories = ["Work"]
exclude_categories = ["Private"]
after = 2026-12-01
before = "2027-03-01T00:00:00+01:00"
target = "end"
""")
    assert choices == EventChoices(
        reminders=(15, 1440), all_day_reminders=(720,), alarms="merge", notify=False,
        include="^(standup|review)", exclude="optional", include_categories=("Work",),
        exclude_categories=("Private",), after=datetime(2026, 12, 1, tzinfo=UTC),
        before=datetime(2027, 2, 28, 23, tzinfo=UTC), target="end",
    )  # fmt: skip


@pytest.mark.parametrize(("extra", "said"), [
    ('reminders = ["1m", "2m", "3m", "4m", "5m", "6m"]', "at most 5"),
    ('reminders = ["30d"]', "40320"),
    ('include = "("', "regular expression"),
    ('alarms = "sometimes"', "keep"),
    ('target = "middle"', "start"),
    ('notify = "yes"', "bool"),
    ('after = "soon"', "ISO"),
])  # fmt: skip
def test_bad_values_name_the_feed(tmp_path: Path, extra: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, extra)
    assert "feeds[0]" in str(caught.value) and said in str(caught.value)


def test_sync_applies_the_feeds_choices(tmp_path: Path) -> None:
    (tmp_path / "team.ics").write_text(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\n"
        "BEGIN:VEVENT\nUID:a\nDTSTART:20400110T100000Z\nDTEND:20400110T110000Z\n"
        "SUMMARY:Standup\nEND:VEVENT\n"
        "BEGIN:VEVENT\nUID:b\nDTSTART:20400111T100000Z\nSUMMARY:Optional chat\nEND:VEVENT\n"
        "END:VCALENDAR\n"
    )
    (tmp_path / "bridge.toml").write_text(f"""
[tickward]
local = "{tmp_path / 'tw.sqlite3'}"
[state]
url = "sqlite:///{tmp_path / 'state.sqlite3'}"
{_FEED}
window = "6000d"
reminders = ["15m"]
exclude = "optional"
target = "end"
""")
    run = CliRunner().invoke(cli, ["sync", "--config", str(tmp_path / "bridge.toml"), "--once"])
    assert run.exit_code == 0, run.output
    out = CliRunner().invoke(cli, ["--local", str(tmp_path / "tw.sqlite3"), "export",
                                   "--project", "Team"])
    assert out.exit_code == 0, out.output
    assert "SUMMARY:Standup" in out.stdout and "Optional" not in out.stdout
    assert "DTSTART:20400110T110000Z" in out.stdout  # the end
    assert "TRIGGER:-PT15M" in out.stdout
