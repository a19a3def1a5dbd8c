"""A feed URL kept secret in ``url_env`` never shows, in any form (issue 15.4).

webcal:// is fetched as https://, redirects lead elsewhere: neither the mapped nor the
redirected nor the final URL may reach logs, ``sync --json``, ``status`` (text or JSON)
or the state database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from ical_bridge.cli import cli
from tests.daemon.daemon_helpers import FeedHost, Tickward, one_offs

SECRET = "pathtoken-4b1d9c"  # in the env URL's path
MOVED = "movedtoken-77e0aa"  # in the path a redirect points to
START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)


def test_env_feed_url_never_shows_mapped_redirected_or_final(
    tmp_path: Path,
    feed_host: FeedHost,
    tickward_factory: Callable[..., Tickward],
    caplog: pytest.LogCaptureFixture,
) -> None:
    tickward = tickward_factory()
    port = feed_host.server_address[1]
    (feed_host.root / "good.ics").write_bytes(one_offs(2, START, label="Moved"))
    # "redir": 302 to a secret path that serves the calendar; "gone": 302 to a secret 404.
    feed_host.modes[f"redir-{SECRET}/cal.ics"] = f"redirect:/{MOVED}/good.ics"
    feed_host.modes[f"{MOVED}/good.ics"] = ""
    (feed_host.root / MOVED).mkdir()
    (feed_host.root / MOVED / "good.ics").write_bytes(one_offs(2, START, label="Moved"))
    feed_host.modes[f"gone-{SECRET}/cal.ics"] = f"redirect:/{MOVED}/missing.ics"
    env = {
        # webcal:// is fetched as https:// — the plain-HTTP host fails the TLS handshake
        "ICB_WEBCAL": f"webcal://127.0.0.1:{port}/web-{SECRET}/cal.ics",
        "ICB_REDIR": f"http://127.0.0.1:{port}/redir-{SECRET}/cal.ics",
        "ICB_GONE": f"http://127.0.0.1:{port}/gone-{SECRET}/cal.ics",
    }
    feeds = "".join(
        f'[[feeds]]\nname = "{name}"\nurl_env = "{var}"\nproject = "{name.title()}"\n\n'
        for name, var in (("webcal", "ICB_WEBCAL"), ("redir", "ICB_REDIR"), ("gone", "ICB_GONE"))
    )
    config = tmp_path / "bridge.toml"
    config.write_text(f'[state]\nurl = "sqlite:///{tmp_path / "state.sqlite3"}"\n\n{feeds}')
    runner = CliRunner()
    base = ["--api-url", tickward.url, "--api-key", tickward.key]
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for args in (["sync", "--once", "--json"], ["sync", "--once"], ["status"],
                     ["status", "--json"]):
            result = runner.invoke(cli, [*base, *args, "--config", str(config)], env=env)
            seen += [result.stdout, result.stderr]
            if args == ["sync", "--once", "--json"]:
                outcomes = {r["feed"]: r for r in json.loads(result.stdout)["feeds"]}
    assert outcomes["redir"]["outcome"] == "synced"
    assert outcomes["webcal"]["outcome"] == outcomes["gone"]["outcome"] == "failed"
    assert "$ICB_GONE" in outcomes["gone"]["error"] and "404" in outcomes["gone"]["error"]
    assert "$ICB_WEBCAL" in outcomes["webcal"]["error"]
    seen += [r.getMessage() for r in caplog.records]
    text = "\n".join(seen)
    for secret in (SECRET, MOVED):
        assert secret not in text
    database = b"".join(p.read_bytes() for p in tmp_path.glob("state.sqlite3*"))
    assert SECRET.encode() not in database and MOVED.encode() not in database
