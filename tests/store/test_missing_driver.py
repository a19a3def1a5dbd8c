"""Issue 15.12: a ``postgresql://`` state url without the driver is one clear line, not a traceback.

The missing driver is simulated by an import hook in a subprocess (psycopg stays installed).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

_WITHOUT_PSYCOPG = """
import sys

class _NoPsycopg:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("psycopg", "psycopg_binary", "psycopg_c", "psycopg2"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NoPsycopg())
from ical_bridge.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize(
    "command", [["status"], ["sync", "--once"], ["export-token", "show", "team"]]
)
def test_postgres_state_url_without_the_driver_names_the_extra(
    tmp_path: Path, command: list[str]
) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(
        '[state]\nurl = "postgresql://postgres@127.0.0.1:5432/test"\n\n'
        f'[[feeds]]\nname = "team"\npath = "{tmp_path / "team.ics"}"\nproject = "Team"\n\n'
        '[[exports]]\nname = "team"\nproject = "Team"\n'
    )
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_PSYCOPG, *command, "--config", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)},
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "pip install 'ical-bridge[postgres]'" in lines[0]
    assert "postgresql://postgres@127.0.0.1:5432/test" in lines[0]
    assert done.stdout == ""
