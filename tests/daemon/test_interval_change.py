"""A shortened ``interval`` counts from the daemon's next start (issue 11, polish).

The feed last ran under ``interval = "1h"``, so the stored next run is an hour
away. After the config says a few seconds, ``status`` must show the next run the
new interval gives, the restarted daemon must plan that same time, and the feed
must actually be fetched again soon after it (not an hour later).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.daemon.daemon_helpers import FeedHost, Tickward, one_offs, wait_for
from tests.daemon.test_daemon_process import START, Daemon, status, write_config

SHORT = 20  # seconds: the shortened interval


@pytest.fixture
def running() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
        daemon.log.close()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_shortened_interval_takes_effect_on_restart_and_status_shows_that_run(
    tmp_path: Path,
    feed_host: FeedHost,
    tickward_factory: Callable[..., Tickward],
    running: list[Daemon],
) -> None:
    tickward = tickward_factory()
    (feed_host.root / "team.ics").write_bytes(one_offs(2, START, label="Standup"))
    url = f"{feed_host.base}/team.ics"
    config = write_config(tmp_path, [("team", url, "Team")], interval="1h")
    first = Daemon(tmp_path, config, tickward)
    running.append(first)
    wait_for(lambda: feed_host.count("team.ics") >= 1, 30, "the first fetch")
    wait_for(lambda: "feed=team outcome=synced" in first.output(), 30, "the first pass")
    assert first.stop()[0] == 0
    [before] = status(config)["feeds"]
    assert _instant(before["next_run"]) - _instant(before["last_attempt"]) > timedelta(minutes=50)

    config = write_config(tmp_path, [("team", url, "Team")], interval=f"{SHORT}s")
    [shown] = status(config)["feeds"]
    last = _instant(shown["last_attempt"])
    assert _instant(shown["next_run"]) == last + timedelta(seconds=SHORT)

    fetched = feed_host.count("team.ics")
    second = Daemon(tmp_path, config, tickward)
    running.append(second)
    planned = wait_for(
        lambda: re.search(r"job=feed:team next_run=(\S+)", second.output()), 30, "the planned run"
    )
    # the scheduler plans the run status showed (or at once, when that time has passed)
    when, due = _instant(planned.group(1)), _instant(shown["next_run"])
    assert planned.group(1) == shown["next_run"] or due < when < due + timedelta(minutes=1)
    wait_for(
        lambda: feed_host.count("team.ics") > fetched, SHORT + 30, "a fetch under the new interval"
    )
    assert second.stop()[0] == 0
    [after] = status(config)["feeds"]
    assert _instant(after["last_attempt"]) > last
    assert _instant(after["next_run"]) - _instant(after["last_attempt"]) == timedelta(
        seconds=SHORT
    )
