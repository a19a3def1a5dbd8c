"""``convert`` starts light: it imports nothing of the store, the server or tickward's client.

Each case runs the real command line in a fresh interpreter (``python -c`` calling
``ical_bridge.cli.main``) and reads ``sys.modules`` as the process ends. A heavy
import that creeps back (through a shared helper module, an option's default, a
top-level import in ``cli``) makes ``convert`` several times slower on small files
(issue 12: ``tests/benchmarks/bench_convert.py --only-small``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from ical_bridge.cli import _COMMANDS, cli
from tests.conftest import REPO, SAMPLE_FEEDS

FEED = SAMPLE_FEEDS / "team_meetings.ics"
NOW = "2026-11-22T12:00:00Z"

HEAVY = (
    "httpx",
    "httpcore",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "pydantic",
    "psycopg",
    "prometheus_client",
    "apscheduler",
    "asyncio",
    "ical_bridge.localserver",
    "ical_bridge.tickward",
    "ical_bridge.daemon",
    "ical_bridge.feeds",
    "ical_bridge.store",
    "ical_bridge.sync",
    "ical_bridge.config",
)
"""Packages ``convert`` (a local file, any output) never needs."""

# Runs the CLI as the console script does, then writes what was imported, whatever the exit.
_PROBE = """
import json, sys
out, args = sys.argv[1], json.loads(sys.argv[2])
sys.argv = ["ical-bridge", *args]
from ical_bridge.cli import main
try:
    main()
finally:
    with open(out, "w") as f:
        json.dump(sorted(sys.modules), f)
"""


def _run(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), json.dumps(args)],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    return proc, set(json.loads(out.read_text()))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "args",
    [
        ["convert", str(FEED), "--json", "--now", NOW],
        ["convert", str(FEED), "--now", NOW],
        ["convert", "--help"],
        ["convert", "--explain", "dst_gap"],
        ["--version"],
    ],
    ids=["json", "table", "help", "explain", "version"],
)
def test_convert_imports_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    proc, modules = _run(args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), "the command printed nothing"
    assert _heavy(modules) == []


def test_convert_json_output_is_whole_and_needs_no_rich(tmp_path: Path) -> None:
    proc, modules = _run(["convert", str(FEED), "--json", "--now", NOW], tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["timers"], "team_meetings.ics makes timers"
    assert not any(m == "rich" or m.startswith("rich.") for m in modules)


def test_convert_help_does_not_load_the_converter(tmp_path: Path) -> None:
    proc, modules = _run(["convert", "--help"], tmp_path)
    assert "Show the timers FILE, URL or - (stdin) would become" in proc.stdout
    assert "ical_bridge.convert.importer" not in modules
    assert "recurring_ical_events" not in modules


def test_the_probe_sees_heavy_imports_where_a_command_needs_them(tmp_path: Path) -> None:
    # The emulator's options carry the local server's plan defaults: without this the
    # checks above could pass with a probe that saw no imports at all.
    proc, modules = _run(["emulator", "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "ical_bridge.localserver" in _heavy(modules)


COMMANDS = (
    "convert", "daemon", "emulator", "export", "export-token", "import", "serve", "status",
    "sync", "unsync", "webhook",
)  # fmt: skip


def test_top_level_help_lists_every_command_with_its_short_help() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ical_bridge", "--help"],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    commands = proc.stdout.split("Commands:\n", 1)[1]
    # "  name  Short help…"; a wrapped help line starts with more spaces and adds no row
    rows = dict(re.findall(r"(?m)^  (\S+) +(\S.*)$", commands))
    assert sorted(rows) == sorted(COMMANDS)
    assert all(rows.values()), rows
    assert rows["convert"].startswith("Show the timers FILE, URL or - (stdin) would become")


def test_top_level_help_names_the_embedded_store_plan_defaults() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ical_bridge", "--help"],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=True,
    )  # fmt: skip
    text = " ".join(proc.stdout.split())  # help wraps with the terminal
    assert "--timers-per-project N Embedded store (no --api-key): timers per project " \
           "(default 40)." in text
    assert "page size max (default 100)." in text


def test_listed_short_help_is_each_commands_own() -> None:
    # `ical-bridge --help` lists the short help written beside each command's module name
    # (so listing imports no command); it must stay the command's own first sentence.
    ctx = click.Context(cli)
    for name, (_, _, listed) in _COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and not command.hidden, name
        assert listed == command.get_short_help_str(limit=1000), name


def test_top_level_help_imports_no_command_module(tmp_path: Path) -> None:
    proc, modules = _run(["--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    modules_of_commands = {f"ical_bridge.cli.{module}" for module, _, _ in _COMMANDS.values()}
    assert sorted(modules & modules_of_commands) == []


def test_convert_starts_without_logging_unless_asked_for_detail(tmp_path: Path) -> None:
    """``convert`` logs nothing, so it does not set logging up; with ``-v`` it does, as
    every other command always does (their warnings keep the "LEVEL name: text" form)."""
    proc, modules = _run(["convert", str(FEED), "--json", "--now", NOW], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "logging" not in modules
    proc, modules = _run(["-v", "convert", str(FEED), "--json", "--now", NOW], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "logging" in modules
    probe = """
import logging, sys
sys.argv = ["ical-bridge", "emulator", "--help"]
from ical_bridge.cli import main
try:
    main()
except SystemExit:
    pass
logging.getLogger("ical_bridge.probe").warning("seen")
"""
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=REPO, timeout=60, check=False)  # fmt: skip
    assert "WARNING ical_bridge.probe: seen" in proc.stderr
