"""Issue 11.5: floating times and all-day dates default to the user's zone, not UTC.

The machine's zone is read from ``TZ`` (else ``/etc/localtime``); tests set ``TZ``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ical_bridge.cli import main
from ical_bridge.clock import system_zone
from tests.conftest import SAMPLE_FEEDS

NOW = "2026-11-22T12:00:00Z"
HOLIDAYS = str(SAMPLE_FEEDS / "holidays_all_day_yearly.ics")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    else:  # pragma: no cover - main always exits
        code = 0
    out, err = capsys.readouterr()
    return code, out, err


def _christmas(out: str) -> dict[str, object]:
    entries = json.loads(out)["timers"]
    (entry,) = [e for e in entries if e["timer"]["label"] == "Christmas Day"]
    return entry  # type: ignore[no-any-return]


def test_a_us_users_christmas_ends_at_midnight_local_not_19_00_the_day_before(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/Chicago")
    code, out, err = run(["convert", HOLIDAYS, "--now", NOW, "--json"], capsys)
    assert code == 0, err
    entry = _christmas(out)
    assert entry["next_occurrence"] == "2026-12-25T06:00:00.000Z"  # 00:00 CST
    assert entry["timer"]["timezone"] == "America/Chicago"  # type: ignore[index]
    assert "all_day_zone_guessed" in {w["code"] for w in entry["warnings"]}  # type: ignore[attr-defined]


def test_tz_wins_over_the_local_zone_without_a_guess_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/Chicago")
    code, out, _ = run(["convert", HOLIDAYS, "--now", NOW, "--json", "--tz", "Europe/Kyiv"],
                       capsys)
    assert code == 0
    entry = _christmas(out)
    assert entry["next_occurrence"] == "2026-12-24T22:00:00.000Z"  # 00:00 in Kyiv (UTC+2)
    assert entry["timer"]["timezone"] == "Europe/Kiev"  # type: ignore[index]  # accepted alias
    assert not entry["warnings"]


def test_the_table_names_the_zone_it_chose(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    code, out, _ = run(["convert", HOLIDAYS, "--now", NOW], capsys)
    assert code == 0
    assert "floating and all-day times: Asia/Tokyo (this machine's zone, a guess" in out
    code, out, _ = run(["convert", HOLIDAYS, "--now", NOW, "--tz", "Etc/GMT-12"], capsys)
    assert code == 0
    assert "floating and all-day times: Etc/GMT-12 (UTC+12) (--tz)" in out


def test_floating_time_reads_in_the_local_zone_with_a_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    feed = tmp_path / "floating.ics"
    feed.write_text("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:f\n"
                    "SUMMARY:Dentist\nDTSTART:20261204T083000\nEND:VEVENT\nEND:VCALENDAR\n")
    monkeypatch.setenv("TZ", "Europe/Paris")
    code, out, _ = run(["convert", str(feed), "--now", NOW, "--json"], capsys)
    assert code == 0
    (entry,) = json.loads(out)["timers"]
    assert entry["timer"]["target_date"] == "2026-12-04T07:30:00.000Z"
    assert entry["timer"]["timezone"] == "Europe/Paris"
    assert [w["code"] for w in entry["warnings"]] == ["floating_time"]


def test_system_zone_sources(tmp_path: Path) -> None:
    assert system_zone({"TZ": "Europe/Paris"}, tmp_path) == "Europe/Paris"
    assert system_zone({"TZ": ":/usr/share/zoneinfo/Asia/Tokyo"}, tmp_path) == "Asia/Tokyo"
    assert system_zone({"TZ": "Mars/Olympus"}, tmp_path) is None
    (tmp_path / "localtime").symlink_to("/usr/share/zoneinfo/America/Chicago")
    assert system_zone({}, tmp_path) == "America/Chicago"
    (tmp_path / "localtime").unlink()
    (tmp_path / "timezone").write_text("Europe/Berlin\n")
    assert system_zone({}, tmp_path) == "Europe/Berlin"
    (tmp_path / "timezone").unlink()
    assert system_zone({}, tmp_path) is None
