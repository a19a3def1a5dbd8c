"""Every real-world file in the shared corpus through the real CLI: exit 0 or a clean exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ical_bridge.cli import main
from tests.conftest import CORPUS, REPO

FILES = sorted(
    p for p in CORPUS.rglob("*") if p.is_file() and p.suffix.lower() in (".ics", ".ical", ".ifb")
)


def _rel(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def test_the_corpus_is_there() -> None:
    assert len(FILES) > 400


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_corpus_file_converts_or_is_refused_cleanly(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        main(["convert", str(path), "--json", "--now", "2026-11-22T12:00:00Z"])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    else:
        assert out.lstrip().startswith("{")


@pytest.mark.parametrize(
    "name",
    [
        "icalendar/src/icalendar/tests/calendars/broken_ical.ics",
        "icalendar/src/icalendar/tests/calendars/fuzz_testcase_0_char_in_component_name.ics",
        "ical.net/Ical.Net.Tests/Calendars/Serialization/Outlook2007LineFolds.ics",
        "python-recurring-ical-events/recurring_ical_events/test/calendars/issue_27_t1.ics",
    ],
)
def test_a_few_corpus_files_through_a_real_process(name: str) -> None:
    path = CORPUS / name
    assert path.exists(), f"{name} is missing from ../shared/corpus"
    done = subprocess.run(
        [sys.executable, "-m", "ical_bridge", "convert", str(path), "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 2), done.stderr
    assert "Traceback" not in done.stderr
