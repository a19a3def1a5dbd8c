"""``convert`` in an 80-column terminal (issue 11.11): zone, time, strategy and codes stay
whole on one line; only labels wrap."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from ical_bridge.cli import cli
from tests.conftest import SAMPLE_FEEDS

NOW = "2026-11-30T00:00:00Z"
FEEDS = sorted(p.name for p in SAMPLE_FEEDS.glob("*.ics"))


def _whole(token: str, lines: list[str]) -> bool:
    """``token`` appears unbroken on some line, not glued to other name characters."""
    pattern = re.compile(rf"(?<![\w/]){re.escape(token)}(?![\w/])")
    return any(pattern.search(line) for line in lines)


@pytest.mark.parametrize("feed", FEEDS)
def test_an_80_column_table_keeps_tokens_whole(feed: str, tmp_path: Path) -> None:
    source = str(SAMPLE_FEEDS / feed)
    env = {"COLUMNS": "80", "TZ": "UTC"}
    shown = CliRunner().invoke(cli, ["convert", "--now", NOW, "--tz", "UTC", source], env=env)
    data = CliRunner().invoke(cli, ["convert", "--now", NOW, "--tz", "UTC", "--json", source])
    assert shown.exit_code == 0 and data.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    timers = json.loads(data.stdout)["timers"]
    assert timers
    for item in timers:
        timer = item["timer"]
        # the local time computed here with zoneinfo, not by the code under test
        instant = datetime.fromisoformat(item["next_occurrence"].replace("Z", "+00:00"))
        local = instant.astimezone(ZoneInfo(timer["timezone"])).strftime("%Y-%m-%d %H:%M")
        assert _whole(local, lines), local
        assert _whole(timer["timezone"], lines), timer["timezone"]
        assert _whole(item["strategy"], lines), item["strategy"]
        for warning in item["warnings"]:
            assert _whole(warning["code"], lines), warning["code"]
        # a label may wrap, but each of its words is there whole
        for word in timer["label"].split():
            assert _whole(word, lines) or len(word) > 20, word
