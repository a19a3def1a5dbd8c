"""The daemon as a real process: nothing one feed does stalls the others, the feed
server or a shutdown (issue 15.8, 15.9), and its feed server is hardened like ``serve``.

Every wait is a poll with a deadline; the only time bound asserted is the documented
shutdown one (exit within 10 s of SIGTERM, the 6 s grace plus start-up slack).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ical_bridge.store import StateStore
from tests.daemon.daemon_helpers import FeedHost, Tickward, one_offs, wait_for
from tests.daemon.test_daemon_process import (
    START,
    Daemon,
    _closed_port,
    active_labels,
    daemons,  # noqa: F401 (fixture)
    status,
)
from tests.daemon.test_robust_passes import never_matching

MARK = "ICB_TEST_ISOLATION_MARK"


def _config(tmp: Path, feeds: list[tuple[str, str, str]], extra: str = "") -> Path:
    text = f'[state]\nurl = "sqlite:///{tmp / "state.sqlite3"}"\n\n{extra}'
    for name, url, more in feeds:
        text += f'[[feeds]]\nname = "{name}"\nurl = "{url}"\nproject = "{name.title()}"\n{more}\n'
    path = tmp / "bridge.toml"
    path.write_text(text)
    return path


def _workers(mark: str) -> list[int]:
    """Conversion workers started by this test's daemon (found by an environment mark)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"ical_bridge.daemon.worker" in cmdline and f"{MARK}={mark}".encode() in environ:
            found.append(int(entry.name))
    return found


def _attempted(tmp: Path, name: str) -> bool:
    with StateStore(f"sqlite:///{tmp / 'state.sqlite3'}") as store:
        state = store.feed(name)
    return state is not None and state.last_attempt is not None


def test_costly_conversion_stalls_neither_feeds_nor_feed_server_nor_sigterm(
    tmp_path: Path,
    feed_host: FeedHost,
    tickward_factory: Callable[..., Tickward],
    daemons: list[Daemon],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tickward = tickward_factory()
    (feed_host.root / "never.ics").write_bytes(never_matching())  # minutes to convert
    good = feed_host.root / "good.ics"
    good.write_bytes(one_offs(2, START, label="Good"))
    port = _closed_port()
    server = (
        f'[server]\nhost = "127.0.0.1"\nport = {port}\nsync_cache_seconds = 0\n\n'
        '[[exports]]\nname = "good-feed"\nproject = "Good"\n\n'
    )
    config = _config(
        tmp_path,
        [("never", f"{feed_host.base}/never.ics", 'interval = "1s"\nconvert_budget = "10m"\n'),
         ("good", f"{feed_host.base}/good.ics", 'interval = "1s"\n')],
        extra=server,
    )
    mark = tmp_path.name
    monkeypatch.setenv(MARK, mark)
    daemon = Daemon(tmp_path, config, tickward)
    daemons.append(daemon)
    wait_for(lambda: active_labels(tickward, "Good") == ["Good 0", "Good 1"], 30, "good to sync")
    wait_for(lambda: _workers(mark), 30, "the costly conversion to be under way")
    good.write_bytes(one_offs(3, START, label="Better"))
    wait_for(lambda: active_labels(tickward, "Good") == ["Better 0", "Better 1", "Better 2"],
             30, "a change of the good feed to sync meanwhile")
    [export] = status(tmp_path / "bridge.toml")["exports"]
    for _ in range(3):  # the feed server answers while the conversion runs
        served = httpx.get("http" + export["url"].removeprefix("webcal"), timeout=10)
        assert served.status_code == 200 and "SUMMARY:Better 2" in served.text
    assert _workers(mark) and not _attempted(tmp_path, "never")  # still converting
    code, took = daemon.stop()
    assert code == 0 and took < 10
    wait_for(lambda: not _workers(mark), 10, "the conversion worker to be gone")


def test_hanging_sources_do_not_delay_a_fast_feed(
    tmp_path: Path,
    feed_host: FeedHost,
    tickward_factory: Callable[..., Tickward],
    daemons: list[Daemon],  # noqa: F811
) -> None:
    tickward = tickward_factory()
    for i in range(3):
        feed_host.modes[f"hang{i}.ics"] = "hang"  # a minute of silence; fetch timeout 30 s
    fast = feed_host.root / "fast.ics"
    fast.write_bytes(one_offs(1, START, label="Fast"))
    feeds = [(f"hang{i}", f"{feed_host.base}/hang{i}.ics", 'interval = "1s"\n') for i in range(3)]
    feeds.append(("fast", f"{feed_host.base}/fast.ics", 'interval = "1s"\n'))
    config = _config(tmp_path, feeds)
    daemon = Daemon(tmp_path, config, tickward, command="sync")
    daemons.append(daemon)
    wait_for(lambda: active_labels(tickward, "Fast") == ["Fast 0"], 30, "the first fast sync")
    for round_ in range(3):
        fast.write_bytes(one_offs(1, START, label=f"Change{round_}"))
        # interval 1 s + small margin: hanging feeds (30 s each, in flight) must not matter
        wait_for(lambda r=round_: active_labels(tickward, "Fast") == [f"Change{r} 0"],
                 8, f"change {round_} of the fast feed")
    assert not any(_attempted(tmp_path, f"hang{i}") for i in range(3))  # still hanging
    code, took = daemon.stop()
    assert code == 0 and took < 10


@pytest.mark.slow
def test_daemon_feed_server_drops_silent_connections(
    tmp_path: Path,
    feed_host: FeedHost,
    tickward_factory: Callable[..., Tickward],
    daemons: list[Daemon],  # noqa: F811
) -> None:
    tickward = tickward_factory()
    (feed_host.root / "team.ics").write_bytes(one_offs(1, START))
    port = _closed_port()
    server = (
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n\n'
        '[[exports]]\nname = "t"\nproject = "Team"\n\n'
    )
    config = _config(tmp_path, [("team", f"{feed_host.base}/team.ics", "")], extra=server)
    daemon = Daemon(tmp_path, config, tickward)
    daemons.append(daemon)

    def connect() -> socket.socket | None:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            return None

    sock = wait_for(connect, 30, "the feed server to listen")
    try:
        sock.sendall(b"GET / HTTP/1.1\r\n")  # …and then nothing more
        sock.settimeout(30)  # guard: 10 s per request; unguarded uvicorn: never
        started = time.monotonic()
        try:
            closed = sock.recv(1024) == b""
        except TimeoutError:
            closed = False
        assert closed, f"connection still open after {time.monotonic() - started:.0f} s"
    finally:
        sock.close()
    code, _ = daemon.stop()
    assert code == 0
