"""The TOML config: the example loads, defaults, durations, paths, and errors that say where."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ical_bridge.config import BridgeConfig, load_config
from ical_bridge.daemon.bridge import feed_spec
from ical_bridge.errors import ConfigError, UserError
from ical_bridge.store import default_state_url
from ical_bridge.vocabulary import parse_duration

SAMPLE_FEEDS = Path(__file__).resolve().parents[1] / "sample_feeds"
MINIMAL_FEED = '[[feeds]]\nname = "team"\npath = "team.ics"\nproject = "Team"\n'
ONE_SOURCE = "exactly one of url, path or url_env"


def write(tmp_path: Path, text: str, name: str = "bridge.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.path == str(path)
    assert str(caught.value).startswith(f"{path}: ")
    return caught.value


def test_the_example_config_loads() -> None:
    config = load_config(SAMPLE_FEEDS / "bridge.example.toml")
    assert config.path == SAMPLE_FEEDS / "bridge.example.toml"
    assert [f.name for f in config.feeds] == ["team-meetings", "holidays"]
    team, holidays = config.feeds
    assert team.path == SAMPLE_FEEDS / "team_meetings.ics"
    assert holidays.path == SAMPLE_FEEDS / "holidays_all_day_yearly.ics"
    assert team.source == str(SAMPLE_FEEDS / "team_meetings.ics")
    assert team.path is not None and holidays.path is not None
    assert team.path.is_file() and holidays.path.is_file()  # the example points at real feeds
    assert team.interval == timedelta(minutes=15)
    assert team.timezone == "Europe/Berlin"
    assert holidays.window == timedelta(days=400)
    assert [e.name for e in config.exports] == ["team"]
    assert config.exports[0].duration == timedelta(minutes=30)
    assert config.tickward.api_key_env == "TICKWARD_API_KEY"
    assert config.server.port == 8788


def test_defaults_of_a_minimal_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL_FEED))
    assert config.tickward.api_url == "https://tickward.com/api/v1"
    assert config.tickward.api_key_env is None and config.tickward.local is None
    assert config.api_key() is None
    assert config.state.url == default_state_url()
    server = config.server
    assert (server.host, server.port, server.public_url) == ("127.0.0.1", 8788, None)
    assert server.sync_cache_seconds == 60
    assert server.webhook_secret() is None and server.index_token() is None
    [feed] = config.feeds
    assert feed.url is None and feed.path == tmp_path / "team.ics"
    assert (feed.interval, feed.window) == (timedelta(hours=1), timedelta(days=90))
    assert (feed.strategy, feed.on_delete, feed.conflict) == ("auto", "archive", "feed-wins")
    assert feed.space is None and feed.categories == {} and feed.timezone is None
    assert (feed.include_todos, feed.enabled, feed.respect_feed_refresh) == (False, True, True)
    assert (feed.mass_delete_ratio, feed.allow_empty) == (0.5, False)
    assert feed.source_key == "feed:team"
    assert config.exports == []


def test_an_empty_file_is_a_valid_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.feeds == [] and config.exports == []


def test_exports_defaults_and_values(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[[exports]]\nname = "a"\nproject = "P"\n'
            '[[exports]]\nname = "b.2_x-y"\nproject = "P"\nspace = "spc_1"\n'
            'calendar_name = "Cal"\nduration = "PT45M"\nrefresh = 120\ninclude_archived = true\n',
        )
    )
    first, second = config.exports
    assert (first.duration, first.refresh, first.include_archived) == (
        timedelta(0), timedelta(hours=1), False,
    )
    assert first.space is None and first.calendar_name is None
    assert (second.space, second.calendar_name) == ("spc_1", "Cal")
    assert (second.duration, second.refresh, second.include_archived) == (
        timedelta(minutes=45), timedelta(seconds=120), True,
    )
    assert config.export("b.2_x-y") is second and config.export("zzz") is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30), ("15m", 900), ("1h", 3600), ("1d", 86400), ("90d", 7_776_000),
        ("2w", 1_209_600), ("1h30m", 5400), (" 1h 30m ", 5400), ("1D", 86400),
        ("3600", 3600), (3600, 3600), (1, 1), ("0m", 0), ("PT0S", 0), ("PT15M", 900),
        ("P1D", 86400), ("P1DT2H", 93600), ("pt1h30m", 5400), ("PT1.5S", 1.5), ("P1W", 604800),
    ],
)
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "abc", "-5", "1x", "h1", "P", "PT", "P1DT", -1, "1.5h"])
def test_parse_duration_refuses_nonsense(text: str | int) -> None:
    with pytest.raises(ConfigError, match="duration"):
        parse_duration(text)


def test_parse_duration_errors_are_user_errors() -> None:
    with pytest.raises(UserError):
        parse_duration("soon")


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[tickward]\nlocal = "data/tw.sqlite3"\n[state]\nurl = "sqlite:///state/s.sqlite3"\n'
        '[[feeds]]\nname = "a"\npath = "../feeds/a.ics"\nproject = "P"\n'
        f'[[feeds]]\nname = "b"\npath = "{tmp_path / "abs.ics"}"\nproject = "P"\n',
        name="conf/bridge.toml",
    )
    config = load_config(path)
    assert config.tickward.local == tmp_path / "conf" / "data" / "tw.sqlite3"
    assert config.state.url == f"sqlite:///{tmp_path / 'conf' / 'state' / 's.sqlite3'}"
    assert config.feeds[0].path is not None
    assert config.feeds[0].path.resolve() == (tmp_path / "feeds" / "a.ics").resolve()
    assert config.feeds[1].path == tmp_path / "abs.ics"


def test_other_state_urls_are_kept(tmp_path: Path) -> None:
    pg = "postgresql://bridge@db.internal:5432/state"
    assert load_config(write(tmp_path, f'[state]\nurl = "{pg}"\n')).state.url == pg
    absolute = f"sqlite:///{tmp_path / 'x.db'}"
    assert load_config(write(tmp_path, f'[state]\nurl = "{absolute}"\n')).state.url == absolute


def test_url_feeds(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[[feeds]]\nname = "a"\nurl = "webcal://example.com/a.ics"\nproject = "P"\n'
            'interval = 1\ncategories = { "Work" = "spc_w", "Home" = "spc_h" }\n',
        )
    )
    [feed] = config.feeds
    assert feed.source == "webcal://example.com/a.ics" and feed.path is None
    assert feed.interval == timedelta(seconds=1)
    assert feed.categories == {"Work": "spc_w", "Home": "spc_h"}


def test_api_key_and_server_secrets_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICB_TEST_KEY", "tw_live_from_env")
    monkeypatch.setenv("ICB_TEST_HOOK", "hook-secret")
    monkeypatch.delenv("ICB_TEST_UNSET", raising=False)
    config = load_config(
        write(
            tmp_path,
            '[tickward]\napi_key_env = "ICB_TEST_KEY"\n'
            '[server]\nwebhook_secret_env = "ICB_TEST_HOOK"\nindex_token_env = "ICB_TEST_UNSET"\n',
        )
    )
    assert config.api_key() == "tw_live_from_env"
    assert config.server.webhook_secret() == "hook-secret"
    assert config.server.index_token() is None
    monkeypatch.setenv("ICB_TEST_KEY", "")
    assert config.api_key() is None


@pytest.mark.parametrize(
    ("text", "key", "secret"),
    [
        ('[tickward]\napi_key = "tw_live_SECRET123"\n', "tickward.api_key", "SECRET123"),
        ('[server]\nwebhook_secret = "hunter2SECRET"\n', "server.webhook_secret", "hunter2SECRET"),
        ('[server]\nindex_token = "idxSECRET"\n', "server.index_token", "idxSECRET"),
        (
            '[[exports]]\nname = "a"\nproject = "P"\ntoken = "tokSECRET"\n',
            "exports[0].token",
            "tokSECRET",
        ),
        ('[tickward]\napi_key_env = "tw_live_SECRET99"\n', "tickward.api_key_env", "SECRET99"),
        (
            '[state]\nurl = "postgresql://bridge:pgSECRET@db/state"\n',
            "state.url",
            "pgSECRET",
        ),
        (
            '[state]\nurl = "postgresql://bridge@db/state?password=pgSECRET2"\n',
            "state.url",
            "pgSECRET2",
        ),
    ],
)
def test_secrets_in_the_file_are_refused_without_echoing_them(
    tmp_path: Path, text: str, key: str, secret: str
) -> None:
    # Another error too: the secret's message must still come first and nothing leaks.
    error = config_error(tmp_path, text + MINIMAL_FEED + 'interval = "often"\n')
    assert error.key == key
    assert secret not in str(error) and secret not in repr(error.args)
    assert error.__cause__ is None and error.__context__ is None
    assert any(word in str(error) for word in ("environment variable", "state store", "PGPASS"))


def test_the_api_key_message_says_to_use_api_key_env(tmp_path: Path) -> None:
    error = config_error(tmp_path, '[tickward]\napi_key = "x"\n')
    assert "api_key_env" in str(error)


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        (MINIMAL_FEED + 'interval = "often"\n', "feeds[0].interval", "is not a duration"),
        (MINIMAL_FEED + 'interval = "0s"\n', "feeds[0].interval", "at least 1 s"),
        (MINIMAL_FEED + 'window = "0d"\n', "feeds[0].window", "at least 1 s"),
        (MINIMAL_FEED + 'strategy = "weekly"\n', "feeds[0].strategy", "'rolling'"),
        (MINIMAL_FEED + 'on_delete = "purge"\n', "feeds[0].on_delete", "'archive'"),
        (MINIMAL_FEED + 'conflict = "mine"\n', "feeds[0].conflict", "'feed-wins'"),
        (MINIMAL_FEED + 'timezone = "Mars/Olympus"\n', "feeds[0].timezone", "unknown time zone"),
        (MINIMAL_FEED + 'intervall = "1h"\n', "feeds[0].intervall", "did you mean 'interval'"),
        (MINIMAL_FEED + 'include_todos = "yes"\n', "feeds[0].include_todos", "boolean"),
        (MINIMAL_FEED + "mass_delete_ratio = 1.5\n", "feeds[0].mass_delete_ratio", "less than"),
        (
            MINIMAL_FEED + 'url = "https://x/a.ics"\n',
            "feeds[0]",
            "exactly one of url, path or url_env",
        ),
        (
            '[[feeds]]\nname = "a"\nproject = "P"\n',
            "feeds[0]",
            "exactly one of url, path or url_env",
        ),
        ('[[feeds]]\nname = "a"\nurl = "ftp://x/a.ics"\nproject = "P"\n', "feeds[0].url", "http"),
        ('[[feeds]]\nname = "a"\npath = "a.ics"\n', "feeds[0].project", "required key is missing"),
        ('[[feeds]]\nname = " "\npath = "a.ics"\nproject = "P"\n', "feeds[0].name", "empty"),
        (MINIMAL_FEED + MINIMAL_FEED.replace('"team"', '"x"') + MINIMAL_FEED,
         "feeds[2].name", "duplicate name 'team' (already used by feeds[0])"),
        ('[[exports]]\nname = "a"\nproject = "P"\n[[exports]]\nname = "a"\nproject = "Q"\n',
         "exports[1].name", "duplicate name"),
        ('[[exports]]\nname = "a/b"\nproject = "P"\n', "exports[0].name", "feed URL"),
        ('[[exports]]\nname = "a"\nproject = "P"\nduration = "-1h"\n',
         "exports[0].duration", "not a duration"),
        ("[server]\nport = 70000\n", "server.port", "less than or equal to 65535"),
        ('[server]\nport = "8788"\n', "server.port", "integer"),
        ('[server]\npublic_url = "calendars.example.com"\n', "server.public_url", "https://"),
        ('[state]\nurl = "mysql://x/y"\n', "state.url", "sqlite:///PATH or postgresql"),
        ('[tickward]\nlocal = "x"\napi_key_env = "K"\n', "tickward", "not both"),
        ('[tickward]\napi_url = "ftp://x"\n', "tickward.api_url", "https://"),
        ('[server]\nwebhook_secret_env = "has space"\n', "server.webhook_secret_env", "NAME"),
        ('[feeds]\nname = "a"\n', "feeds", "valid list"),
        ('colour = "red"\n', "colour", "unknown key"),
    ],
)
def test_errors_name_the_file_the_key_and_the_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    error = config_error(tmp_path, text)
    assert error.key == key
    assert str(error).startswith(f"{tmp_path / 'bridge.toml'}: {key}: ")
    assert reason in str(error)


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    error = config_error(
        tmp_path, MINIMAL_FEED + 'interval = "often"\n' + MINIMAL_FEED.replace('"team"', '"b"')
        + 'strategy = "nope"\n'
    )
    assert error.key == "feeds[0].interval"
    assert "also: feeds[1].strategy: " in str(error)


def test_invalid_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    error = config_error(tmp_path, '[[feeds]]\nname = "a\n')
    assert error.key is None
    assert "not valid TOML" in str(error) and "line 2" in str(error)


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read the config file"):
        load_config(missing)


def test_config_is_immutable(tmp_path: Path) -> None:
    config: BridgeConfig = load_config(write(tmp_path, MINIMAL_FEED))
    with pytest.raises(Exception, match="frozen"):
        config.feeds[0].project = "Other"


def test_a_private_feed_url_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(
        write(tmp_path, '[[feeds]]\nname = "private"\nurl_env = "ICB_TEST_FEED"\nproject = "P"\n')
    )
    [feed] = config.feeds
    monkeypatch.delenv("ICB_TEST_FEED", raising=False)
    with pytest.raises(ConfigError, match=r"ICB_TEST_FEED.*is not set"):
        _ = feed.source
    monkeypatch.setenv("ICB_TEST_FEED", "not-a-url-SECRETPART")
    with pytest.raises(ConfigError, match="does not hold a feed URL") as caught:
        _ = feed.source
    assert "SECRETPART" not in str(caught.value)
    monkeypatch.setenv("ICB_TEST_FEED", "https://calendar.example.com/private-abc123/basic.ics")
    assert feed.source == "https://calendar.example.com/private-abc123/basic.ics"


def test_pin_priority_is_off_by_default_and_reaches_the_sync_options(tmp_path: Path) -> None:
    plain = load_config(write(tmp_path, MINIMAL_FEED)).feeds[0]
    pinned = load_config(write(tmp_path, MINIMAL_FEED + "pin_priority = true\n", "p.toml"))
    assert plain.pin_priority is False
    assert pinned.feeds[0].pin_priority is True
    now = datetime(2026, 11, 22, tzinfo=UTC)
    assert feed_spec(pinned.feeds[0]).options(now).pin_priority is True
    assert feed_spec(plain).options(now).pin_priority is False
