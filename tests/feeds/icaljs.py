"""Mozilla's ical.js (npm) under the system Node.js, as an independent parser for tests.

Installed on first use into ``$ICAL_BRIDGE_NODE_DIR`` (default
``~/.cache/ical-bridge/node``, outside the repository). Without Node.js or npm
the tests that need it are skipped with the reason, except in CI (``CI`` set),
where that is a failure: CI installs it (``.ci/run``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

__all__ = ["ICALJS_VERSION", "icaljs_package", "parse_with_icaljs"]

ICALJS_VERSION = "2"
_SCRIPT = Path(__file__).with_name("icaljs_parse.cjs")


def _node_dir() -> Path:
    default = Path.home() / ".cache" / "ical-bridge" / "node"
    return Path(os.environ.get("ICAL_BRIDGE_NODE_DIR", default))


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"ical.js is required in CI: {reason}")
    pytest.skip(f"ical.js unavailable: {reason}")


def icaljs_package() -> Path:
    """The installed ical.js package directory (installing it with npm if needed)."""
    package = _node_dir() / "node_modules" / "ical.js"
    if (package / "dist" / "ical.es5.cjs").is_file() and shutil.which("node"):
        return package
    if not shutil.which("node") or not shutil.which("npm"):
        _unavailable("Node.js and npm are not installed")
    _node_dir().mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            ["npm", "install", "--prefix", str(_node_dir()), "--no-audit", "--no-fund",
             "--silent", f"ical.js@{ICALJS_VERSION}"],
            check=True, capture_output=True, timeout=300,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"npm install ical.js failed ({exc})")
    return package


def parse_with_icaljs(package: Path, *files: Path) -> list[dict[str, Any]]:
    """What ical.js reads from each file (calendar properties and events)."""
    done = subprocess.run(
        ["node", str(_SCRIPT), str(package), *map(str, files)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, f"ical.js could not parse the calendar:\n{done.stderr}"
    parsed: list[dict[str, Any]] = json.loads(done.stdout)
    return parsed
