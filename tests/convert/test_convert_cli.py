"""``ical-bridge convert`` as a user runs it: table, JSON, exit codes, one-line errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from ical_bridge.cli import main
from tests.conftest import REPO, SAMPLE_FEEDS

NOW = "2026-11-22T12:00:00Z"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    else:  # pragma: no cover - main always exits
        code = 0
    out, err = capsys.readouterr()
    return code, out, err


def test_table_shows_labels_local_times_zones_and_strategies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(["convert", str(SAMPLE_FEEDS / "team_meetings.ics"), "--now", NOW], capsys)
    assert code == 0, err
    assert "Standup (Mon)" in out and "Architecture board" in out
    assert "2026-12-08 14:00 EST" in out  # the rolling board meeting, in New York time
    assert "split" in out and "rolling" in out
    assert "skipped: 1 cancelled, 1 ended" in out


def test_json_is_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["convert", str(SAMPLE_FEEDS / "google_export_x_wr_timezone.ics"), "--now", NOW,
         "--json", "--strategy", "rolling"],
        capsys,
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    labels = {t["timer"]["label"]: t for t in data["timers"]}
    assert labels["Yoga class"]["strategy"] == "rolling"
    assert labels["Yoga class"]["timer"]["target_date"] == "2026-11-25T02:00:00.000Z"
    assert data["skipped"] == [
        {
            "uid": "9zz9pastbrunch@google.com",
            "code": "past",
            "message": data["skipped"][0]["message"],
        }
    ]


def test_stdin_and_tz_option(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (SAMPLE_FEEDS / "apple_fastmail_style.ics").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _ = run(["convert", "-", "--now", NOW, "--tz", "America/New_York", "--json"], capsys)
    assert code == 0
    dentist = next(t for t in json.loads(out)["timers"] if t["timer"]["label"] == "Dentist")
    assert dentist["timer"]["target_date"] == "2026-12-04T13:30:00.000Z"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--window", "soon"], "--window"),
        (["--tz", "Mars/Olympus"], "--tz"),
        (["--now", "yesterday"], "--now"),
        (["--strategy", "magic"], "--strategy"),
    ],
)
def test_bad_options_exit_2_without_traceback(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["convert", str(SAMPLE_FEEDS / "team_meetings.ics"), *args], capsys)
    assert code == 2
    assert needle in err and "Traceback" not in err


def test_non_calendar_and_missing_file_exit_2_with_one_line(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    png = Path(str(tmp_path)) / "photo.ics"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    for target in (str(png), str(Path(str(tmp_path)) / "missing.ics")):
        code, out, err = run(["convert", target], capsys)
        assert code == 2 and not out
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")


def test_real_subprocess_exit_codes() -> None:
    feed = str(SAMPLE_FEEDS / "holidays_all_day_yearly.ics")
    ok = subprocess.run(
        [sys.executable, "-m", "ical_bridge", "convert", feed, "--json", "--now", NOW],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert {t["timer"]["label"] for t in json.loads(ok.stdout)["timers"]} >= {"Christmas Day"}
    bad = subprocess.run(
        [sys.executable, "-m", "ical_bridge", "convert", "-"],
        input="hello", capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error:") and "Traceback" not in bad.stderr
