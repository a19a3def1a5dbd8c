"""Warning codes are explained (issue 11 polish): ``--explain CODE``, the README table, and
every code ``convert`` emits for the shared corpus has an explanation."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from ical_bridge.cli import cli, main
from ical_bridge.cli.codes import CODES
from ical_bridge.convert import ImportOptions, convert_calendar
from ical_bridge.errors import IcalBridgeError
from tests.conftest import CORPUS, REPO, SAMPLE_FEEDS


def test_explain_prints_meaning_and_advice() -> None:
    for command in ("convert", "import"):
        result = CliRunner().invoke(cli, [command, "--explain", "rolling"])
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("rolling: ") and "What to do: " in result.stdout


def test_an_unknown_code_is_one_line_with_close_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["convert", "--explain", "rollin"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "did you mean rolling" in err


def test_the_readme_table_lists_every_code() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| `([a-z_]+)` \|", readme, flags=re.MULTILINE)
    assert sorted(listed) == sorted(CODES)


def _codes(data: bytes) -> set[str]:
    result = convert_calendar(data, ImportOptions(now=datetime(2026, 11, 30, tzinfo=UTC),
                                                  include_todos=True))
    codes = {w.code for w in result.warnings}
    codes |= {w.code for d in result.timers for w in d.warnings}
    for skip in result.skipped:
        codes.add(skip.code)
        codes |= {w.code for w in skip.warnings}
    return codes


def test_every_code_the_corpus_produces_is_explained() -> None:
    files = sorted([*SAMPLE_FEEDS.glob("*.ics"), *CORPUS.rglob("*.ics")])
    assert len(files) > 100
    seen: set[str] = set()
    for path in files:
        try:
            seen |= _codes(path.read_bytes())
        except IcalBridgeError:
            continue  # not a calendar at all: reported as an error, not a code
    assert seen, "no codes at all"
    assert sorted(seen - set(CODES)) == []


def test_json_outputs_carry_a_version(tmp_path: Path) -> None:
    args = ["--local", str(tmp_path / "tw.sqlite3"), "import",
            str(SAMPLE_FEEDS / "holidays_all_day_yearly.ics"), "--project", "H", "--dry-run",
            "--json", "--state", str(tmp_path / "s.db")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["version"] == 1
    assert all(set(w) == {"code", "message"} for w in body["warnings"])
