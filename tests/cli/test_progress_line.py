"""A large calendar shows how far its conversion got, on a terminal only.

``convert`` and ``import`` of a 100,000-event feed work for a quarter of a
minute before they print anything; ``ProgressLine`` keeps one line on a
terminal's stderr saying how far they got, and erases it before the output.
The unit cases drive it with a fake terminal and a fake clock; the command
line cases run the real commands in a subprocess with stderr on a real
pseudo-terminal (``pty``) and stdout on a pipe.
"""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ical_bridge.cli.progressline import BIG_INPUT, DELAY, INTERVAL, ProgressLine, progress_label
from ical_bridge.convert import ImportOptions, convert_calendar
from ical_bridge.convert.importer import PROGRESS_EVERY
from tests.conftest import REPO

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ERASE = "\r\x1b[K"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _line(stream: io.StringIO | None = None) -> tuple[ProgressLine, io.StringIO, _Clock]:
    clock = _Clock()
    stream = stream if stream is not None else _Terminal()
    return ProgressLine("team.ics", stream, clock=clock), stream, clock


@pytest.fixture(autouse=True)
def _a_real_terminal_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")


def test_a_quick_conversion_shows_nothing() -> None:
    line, stream, clock = _line()
    line.reading(BIG_INPUT - 1)
    for done in range(0, 1001, 250):
        clock.now += DELAY / 10
        line.update(done, 1000)
    line.close()
    assert stream.getvalue() == ""


def test_a_slow_conversion_shows_its_count_and_leaves_nothing_behind() -> None:
    line, stream, clock = _line()
    line.update(0, 8000)
    clock.now += DELAY
    line.update(250, 8000)
    assert stream.getvalue() == ERASE + "team.ics: 250 of 8,000 events (3%)"
    clock.now += INTERVAL / 2  # too soon: not redrawn
    line.update(500, 8000)
    assert stream.getvalue().count(ERASE) == 1
    clock.now += INTERVAL
    line.update(750, 8000)
    clock.now += INTERVAL / 2
    line.update(8000, 8000)  # the end is always drawn
    line.close()
    text = stream.getvalue()
    assert text.split(ERASE) == ["", "team.ics: 250 of 8,000 events (3%)",
                                 "team.ics: 750 of 8,000 events (9%)",
                                 "team.ics: 8,000 of 8,000 events (100%)", ""]  # fmt: skip
    assert text.endswith(ERASE)  # the last thing written erases the line


def test_a_large_input_is_announced_before_it_is_read() -> None:
    line, stream, clock = _line()
    line.reading(3 * (1 << 20) + (1 << 19))
    assert stream.getvalue() == ERASE + "team.ics: reading 3.5 MB…"
    clock.now += 2 * INTERVAL  # before DELAY: shown already, counts follow without waiting
    line.update(0, 10)
    assert stream.getvalue().endswith(ERASE + "team.ics: 0 of 10 events (0%)")
    with line:
        pass
    assert stream.getvalue().endswith(ERASE)


def test_no_terminal_no_line() -> None:
    line, stream, clock = _line(io.StringIO())
    line.reading(BIG_INPUT * 10)
    clock.now += 60
    line.update(5, 10)
    line.close()
    assert stream.getvalue() == ""


def test_a_dumb_terminal_gets_no_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    line, stream, _ = _line()
    line.reading(BIG_INPUT * 10)
    assert stream.getvalue() == ""


def test_a_terminal_that_went_away_does_not_fail_the_command() -> None:
    class Gone(_Terminal):
        def write(self, text: str) -> int:
            raise OSError(5, "Input/output error")

    line, _, clock = _line(Gone())
    line.reading(BIG_INPUT)
    clock.now += 60
    line.update(1, 2)
    line.close()
    assert not line.active


@pytest.mark.parametrize(("source", "label"), [
    ("calendars/team.ics", "team.ics"),
    ("-", "stdin"),
    ("https://calendar.google.com/calendar/ical/me%40x.org/private-0123abcd/basic.ics",
     "calendar.google.com"),
    ("webcal://feeds.example.org/cal.ics?token=s3cret", "feeds.example.org"),
    ("https://user:password@example.org/cal.ics", "example.org"),
    ("odd\x1b[2Jname\r.ics", "odd?[2Jname?.ics"),  # no terminal control from a file name
])  # fmt: skip
def test_the_line_names_a_file_but_never_a_feeds_secret(source: str, label: str) -> None:
    assert progress_label(source) == label


# -- the converter's side --------------------------------------------------------------------


def _feed(events: int, *, past: int = 0, description: int = 0, now: datetime = NOW) -> bytes:
    """``events`` one-offs in the 60 days after ``now`` (each a UID), ``past`` long-past
    ones, and a weekly series."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "X-WR-CALNAME:Big"]
    text = "x" * description
    for i in range(events + past):
        start = now + (timedelta(days=1 + i % 60) if i < events else -timedelta(days=30 + i))
        lines += ["BEGIN:VEVENT", f"UID:e{i}@test", "DTSTAMP:20260101T000000Z",
                  f"DTSTART:{start:%Y%m%dT%H%M%SZ}", f"SUMMARY:Event {i}"]  # fmt: skip
        lines += [f"DESCRIPTION:{text}"] if text else []
        lines += ["END:VEVENT"]
    lines += ["BEGIN:VEVENT", "UID:weekly@test", "DTSTAMP:20260101T000000Z",
              "DTSTART;TZID=Europe/Berlin:20260105T090000", "RRULE:FREQ=WEEKLY",
              "SUMMARY:Weekly", "END:VEVENT", "END:VCALENDAR"]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n").encode()


def test_the_converter_counts_every_event_once_and_ends_at_the_total() -> None:
    heard: list[tuple[int, int]] = []
    events, past = 2 * PROGRESS_EVERY + 17, 40
    result = convert_calendar(_feed(events, past=past), ImportOptions(now=NOW),
                              progress=lambda done, total: heard.append((done, total)))  # fmt: skip
    total = events + past + 1  # every UID of the file, the long-past ones included
    assert {t for _, t in heard} == {total}
    assert heard[-1] == (total, total)
    assert heard[0][0] == past  # long-past one-offs are done before the walk starts
    dones = [d for d, _ in heard]
    assert dones == sorted(dones)
    assert len(heard) == 1 + -(-(events + 1) // PROGRESS_EVERY)  # every PROGRESS_EVERY, the end
    assert len(result.timers) == events + 1
    assert sum(s.code == "past" for s in result.skipped) == past


# -- the commands, on a real pseudo-terminal -------------------------------------------------


def _run_with_terminal_stderr(args: list[str], cwd: Path) -> tuple[int, bytes, bytes]:
    """Run the CLI with stderr on a pseudo-terminal and stdout on a pipe."""
    leader, follower = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    environ.update(TERM="xterm", COLUMNS="160")
    with subprocess.Popen([sys.executable, "-m", "ical_bridge", *args], cwd=cwd, env=environ,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=follower) as proc:  # fmt: skip
        os.close(follower)
        assert proc.stdout is not None
        terminal = b""
        out = b""
        streams = {leader: b"", proc.stdout.fileno(): b""}
        while streams:
            ready, _, _ = select.select(list(streams), [], [], 120)
            assert ready, "the command hung"
            for fd in ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the terminal's other side closed (Linux: EIO)
                    chunk = b""
                if not chunk:
                    del streams[fd]
                elif fd == leader:
                    terminal += chunk
                else:
                    out += chunk
        code = proc.wait(timeout=60)
    os.close(leader)
    return code, out, terminal


def test_convert_of_a_large_calendar_tells_the_terminal_and_not_the_output(
    tmp_path: Path,
) -> None:
    feed = tmp_path / "big.ics"
    feed.write_bytes(_feed(1200, description=900))
    assert feed.stat().st_size >= BIG_INPUT
    args = ["convert", str(feed), "--json", "--now", "2026-11-22T12:00:00Z"]
    code, out, terminal = _run_with_terminal_stderr(args, REPO)
    assert code == 0
    shown = terminal.decode()
    assert "big.ics: reading 1." in shown
    assert shown.endswith(ERASE)  # erased before the command ended
    # the JSON is what the same command prints with stderr on a pipe, where no line appears
    piped = subprocess.run([sys.executable, "-m", "ical_bridge", *args], cwd=REPO,
                           capture_output=True, timeout=120, check=True)  # fmt: skip
    assert out == piped.stdout
    assert piped.stderr == b""
    assert len(json.loads(out)["timers"]) == 1201


def test_import_of_a_large_calendar_tells_the_terminal_while_it_plans(tmp_path: Path) -> None:
    feed = tmp_path / "big.ics"
    feed.write_bytes(_feed(1200, description=900, now=datetime.now(UTC)))  # import has no --now
    args = ["--local", str(tmp_path / "local.sqlite3"), "import", str(feed), "--project", "Big",
            "--dry-run", "--json", "--state", str(tmp_path / "state.sqlite3"),
            "--limits", "5000/5000/4"]  # fmt: skip
    code, out, terminal = _run_with_terminal_stderr(args, tmp_path)
    assert code == 0, terminal.decode(errors="replace")
    shown = terminal.decode()
    assert "big.ics: reading 1." in shown
    assert ERASE in shown
    plan = json.loads(out)
    assert plan["dry_run"] is True
    creates = [c for c in plan["changes"] if c["action"] == "create"]
    assert len(creates) == 1201, plan["summary"]
