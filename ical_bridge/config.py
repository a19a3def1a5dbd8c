"""The TOML config of ``sync`` / ``daemon`` / ``status``: loading, validation, durations.

Secrets never live in the file: it names environment variables (``api_key_env``,
``webhook_secret_env``, ``index_token_env``) and export tokens live in the state
store. Every problem raises ``ConfigError`` naming the file, the key path
(``feeds[2].interval``) and what is wrong; values are never echoed, so a
misplaced secret cannot leak through an error message.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ical_bridge.convert.choices import EventChoices, parse_instant, parse_reminders
from ical_bridge.errors import ConfigError, UserError
from ical_bridge.store import default_state_url
from ical_bridge.sync import Limits, SyncOptions
from ical_bridge.vocabulary import (
    DEFAULT_API_URL,
    Alarms,
    Conflict,
    OnDelete,
    Strategy,
    Target,
    parse_duration,
)

__all__ = [
    "DEFAULT_ACCOUNT",
    "AccountConfig",
    "BridgeConfig",
    "ExportConfig",
    "FeedConfig",
    "ServerConfig",
    "StateConfig",
    "TickwardConfig",
    "load_config",
]

_FEED_URL = re.compile(r"(https?|webcal|file)://", re.I)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EXPORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
DEFAULT_ACCOUNT = "default"  # the account of ``[tickward]``; feeds without ``account =`` use it

# Keys that would put a secret in the file, and what to write instead.
_SECRET_KEYS = {
    "api_key": 'do not write the API key in the config file; set api_key_env = "TICKWARD_API_KEY" '
    "(the name of an environment variable) and put the key in that variable",
    "webhook_secret": "do not write the webhook secret in the config file; set "
    "webhook_secret_env to the name of an environment variable that holds it",
    "index_token": "do not write the index token in the config file; set index_token_env to "
    "the name of an environment variable that holds it",
    "token": "export tokens are generated and kept in the state store, never in the config "
    "file; remove this key",
}


def _duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


def _at_least(minimum: timedelta, what: str) -> AfterValidator:
    def check(value: timedelta) -> timedelta:
        if value < minimum:
            raise ValueError(f"{what} must be at least {int(minimum.total_seconds())} s")
        return value

    return AfterValidator(check)


def _env_name(value: str | None) -> str | None:
    if value is None:
        return None
    if value.startswith("tw_") or not _ENV_NAME.fullmatch(value):
        # Never echo it: it may be the secret itself, pasted into the wrong key.
        raise ValueError(
            "must be the NAME of an environment variable (letters, digits, underscore), "
            "not the secret itself"
        )
    return value


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.match(r"https?://[^/\s]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


def _zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name like Europe/Berlin"
        ) from None
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _export_name(value: str) -> str:
    if not _EXPORT_NAME.fullmatch(value):
        raise ValueError(
            "must start with a letter or digit and use only letters, digits, '.', '_' and '-' "
            "(it becomes part of the feed URL)"
        )
    return value


def _relative_to_config(value: Path | None, info: ValidationInfo) -> Path | None:
    if value is None:
        return None
    value = value.expanduser()
    base = info.context.get("base") if isinstance(info.context, dict) else None
    return value if value.is_absolute() or base is None else Path(base) / value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Interval = Annotated[Duration, _at_least(timedelta(seconds=1), "interval")]
Window = Annotated[Duration, _at_least(timedelta(seconds=1), "window")]
Refresh = Annotated[Duration, _at_least(timedelta(seconds=1), "refresh")]
NonNegative = Annotated[Duration, _at_least(timedelta(0), "duration")]
Name = Annotated[str, AfterValidator(_non_empty)]
EnvName = Annotated[str | None, AfterValidator(_env_name)]
HttpUrl = Annotated[str | None, AfterValidator(_http_url)]
Zone = Annotated[str | None, AfterValidator(_zone)]
Flag = Annotated[bool, Strict()]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TickwardConfig(_Section):
    """``[tickward]``: where timers go (a remote API, or the embedded local store)."""

    api_url: Annotated[str, AfterValidator(_http_url)] = DEFAULT_API_URL
    api_key_env: EnvName = None
    local: Path | None = None

    _local = field_validator("local")(_relative_to_config)

    @model_validator(mode="before")
    @classmethod
    def _one_target(cls, data: Any) -> Any:
        if isinstance(data, dict) and "local" in data and {"api_url", "api_key_env"} & set(data):
            raise ValueError("give either local = PATH or api_url/api_key_env, not both")
        return data


class AccountConfig(TickwardConfig):
    """One ``[[accounts]]`` entry: named tickward credentials that feeds and exports refer to."""

    name: Annotated[str, AfterValidator(_export_name)]

    @model_validator(mode="after")
    def _has_target(self) -> AccountConfig:
        if self.api_key_env is None and self.local is None:
            raise ValueError("give api_key_env (and api_url) or local = PATH")
        return self

    def api_key(self) -> str | None:
        """The API key from the environment variable named by api_key_env."""
        return _from_env(self.api_key_env)


class StateConfig(_Section):
    """``[state]``: where the bridge keeps its state (SQLite file or PostgreSQL)."""

    url: str = Field(default_factory=default_state_url)
    # PostgreSQL replicas: how long a feed claim outlives a replica that stopped renewing it.
    lease: Refresh = timedelta(seconds=60)

    @field_validator("url")
    @classmethod
    def _known_url(cls, value: str, info: ValidationInfo) -> str:
        try:
            parsed = make_url(value)
        except ArgumentError:
            raise ValueError("must be sqlite:///PATH or postgresql://…") from None
        if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
            if parsed.password is not None or "password" in parsed.query:
                raise ValueError(
                    "do not write the database password in the config file; libpq reads it "
                    "from the PGPASSWORD environment variable or ~/.pgpass"
                )
            return value
        if parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise ValueError("must be sqlite:///PATH or postgresql://…")
        database = parsed.database or ""
        if database in ("", ":memory:"):
            return value
        resolved = _relative_to_config(Path(database), info)
        return str(parsed.set(database=str(resolved)).render_as_string(hide_password=False))


class ServerConfig(_Section):
    """``[server]``: the feed server (exports, status page, webhook receiver)."""

    host: Name = "127.0.0.1"
    port: Annotated[int, Strict(), Field(ge=1, le=65535)] = 8788
    public_url: HttpUrl = None
    webhook_secret_env: EnvName = None
    index_token_env: EnvName = None
    sync_cache_seconds: Annotated[float, Field(ge=0)] = 60.0
    # with public_url: keep a tickward webhook registered for <public_url>/hooks/tickward
    register_webhook: Flag = True
    allow_proxied_index: Flag = False  # the loopback index also for requests via a proxy

    @property
    def base_url(self) -> str:
        """Where subscribers reach the feed server: ``public_url``, else ``http://host:port``."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def webhook_secret(self) -> str | None:
        """The webhook secret from the environment variable named by webhook_secret_env."""
        return _from_env(self.webhook_secret_env)

    def index_token(self) -> str | None:
        """The index token from the environment variable named by index_token_env."""
        return _from_env(self.index_token_env)


class FeedConfig(_Section):
    """One ``[[feeds]]`` entry: an ICS source kept in sync with a tickward project."""

    name: Name
    url: str | None = None
    path: Path | None = None
    url_env: EnvName = None
    project: Name
    space: str | None = None
    categories: dict[str, str] = Field(default_factory=dict)
    interval: Interval = timedelta(hours=1)
    window: Window = timedelta(days=90)
    strategy: Strategy = "auto"
    on_delete: OnDelete = "archive"
    conflict: Conflict = "feed-wins"
    timezone: Zone = None
    include_todos: Flag = False
    pin_priority: Flag = False
    enabled: Flag = True
    respect_feed_refresh: Flag = True
    mass_delete_ratio: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    allow_empty: Flag = False
    reminders: list[str | int] = Field(default_factory=list)
    all_day_reminders: list[str | int] | None = None
    alarms: Alarms = "keep"
    notify: Flag | None = None
    include: str | None = None
    exclude: str | None = None
    include_categories: list[str] = Field(default_factory=list)
    exclude_categories: list[str] = Field(default_factory=list)
    after: datetime | date | str | None = None
    before: datetime | date | str | None = None
    target: Target = "start"
    account: Name = DEFAULT_ACCOUNT
    convert_budget: Interval = timedelta(seconds=60)  # per pass; a costlier calendar fails

    _path = field_validator("path")(_relative_to_config)

    @model_validator(mode="after")
    def _valid_choices(self) -> FeedConfig:
        try:
            self.event_choices()
        except UserError as exc:
            raise ValueError(str(exc)) from None
        return self

    def event_choices(self) -> EventChoices:
        """The feed's reminders, notify, filters and target (the converter's choices)."""
        return EventChoices(
            reminders=parse_reminders(self.reminders),
            all_day_reminders=(parse_reminders(self.all_day_reminders)
                               if self.all_day_reminders is not None else None),
            alarms=self.alarms,
            notify=self.notify,
            include=self.include,
            exclude=self.exclude,
            include_categories=tuple(self.include_categories),
            exclude_categories=tuple(self.exclude_categories),
            after=parse_instant(self.after),
            before=parse_instant(self.before),
            target=self.target,
        )

    @field_validator("url")
    @classmethod
    def _feed_url(cls, value: str | None) -> str | None:
        if value is not None and not _FEED_URL.match(value):
            raise ValueError("must be an http://, https://, webcal:// or file:// URL")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> FeedConfig:
        if [self.url, self.path, self.url_env].count(None) != 2:
            raise ValueError("give exactly one of url, path or url_env")
        return self

    @property
    def source(self) -> str:
        """What to fetch: the URL, the absolute file path, or the URL held in ``url_env``.

        Raises ``ConfigError`` when ``url_env`` names an unset variable or holds no URL.
        """
        if self.url is not None:
            return self.url
        if self.path is not None:
            return str(self.path)
        value = _from_env(self.url_env)
        if value is None or not _FEED_URL.match(value):
            # The value may be a private URL: never echo it.
            raise ConfigError(
                f"feed {self.name!r}: the environment variable {self.url_env} (url_env) "
                + ("is not set" if value is None else "does not hold a feed URL")
            )
        return value

    @property
    def source_key(self) -> str:
        """The stable key of this feed's timers (part of their deterministic ids)."""
        return f"feed:{self.name}"

    def sync_options(
        self, now: datetime, limits: Limits | None = None, *, local_timezone: str | None = None
    ) -> SyncOptions:
        """This feed's import settings at ``now`` (``limits``: the account's plan caps;
        ``local_timezone``: the machine's zone, for floating times after ``timezone``)."""
        return SyncOptions(
            project=self.project,
            now=now,
            space=self.space,
            categories_to_spaces=dict(self.categories),
            strategy=self.strategy,
            window=self.window,
            on_delete=self.on_delete,
            conflict=self.conflict,
            timezone=self.timezone,
            local_timezone=local_timezone,
            include_todos=self.include_todos,
            pin_priority=self.pin_priority,
            source_key=self.source_key,
            allow_empty=self.allow_empty,
            mass_delete_ratio=self.mass_delete_ratio,
            limits=limits or Limits(),
            choices=self.event_choices(),
        )


class ExportConfig(_Section):
    """One ``[[exports]]`` entry: a project (or space) served as a subscribable feed."""

    name: Annotated[str, AfterValidator(_export_name)]
    project: Name
    space: str | None = None
    calendar_name: str | None = None
    duration: NonNegative = timedelta(0)
    refresh: Refresh = timedelta(hours=1)
    include_archived: Flag = False
    # the served calendar stays under this size (Google's ~1 MB); older timers give way first
    max_bytes: Annotated[int, Strict(), Field(ge=1024)] = 1_000_000
    account: Name = DEFAULT_ACCOUNT


class BridgeConfig(_Section):
    """The whole config file."""

    tickward: TickwardConfig = Field(default_factory=TickwardConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    feeds: list[FeedConfig] = Field(default_factory=list)
    exports: list[ExportConfig] = Field(default_factory=list)
    accounts: list[AccountConfig] = Field(default_factory=list)

    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        """The file this config was loaded from."""
        return self._path

    def api_key(self) -> str | None:
        """The tickward API key from the environment variable named by api_key_env."""
        return _from_env(self.tickward.api_key_env)

    def feed(self, name: str) -> FeedConfig | None:
        """The feed called ``name``, if configured."""
        return next((f for f in self.feeds if f.name == name), None)

    def export(self, name: str) -> ExportConfig | None:
        """The export called ``name``, if configured."""
        return next((e for e in self.exports if e.name == name), None)


def load_config(path: str | Path) -> BridgeConfig:
    """Read and validate a TOML config; relative paths resolve against its folder."""
    file = Path(path).expanduser().absolute()
    shown = str(path)
    try:
        with file.open("rb") as handle:
            raw = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read the config file ({exc.strerror})", path=shown) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=shown) from None
    problems: list[ErrorDetails] = []
    try:
        config = BridgeConfig.model_validate(raw, context={"base": file.parent})
    except PydanticValidationError as exc:
        problems = exc.errors()
    if problems:
        # Raised outside the except block: pydantic's exception carries the input values
        # (maybe a misplaced secret) and must not ride along as __context__.
        raise _config_error(problems, shown)
    _check_unique([f.name for f in config.feeds], "feeds", shown)
    _check_unique([e.name for e in config.exports], "exports", shown)
    _check_accounts(config, shown)
    config._path = file
    return config


def _from_env(name: str | None) -> str | None:
    return (os.environ.get(name) or None) if name else None


def _check_unique(names: list[str], section: str, shown: str) -> None:
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            raise ConfigError(
                f"duplicate name {name!r} (already used by {section}[{seen[name]}])",
                path=shown,
                key=f"{section}[{index}].name",
            )
        seen[name] = index


def _check_accounts(config: BridgeConfig, shown: str) -> None:
    names = [a.name for a in config.accounts]
    _check_unique(names, "accounts", shown)
    if DEFAULT_ACCOUNT in names:
        raise ConfigError(
            f"{DEFAULT_ACCOUNT!r} is the [tickward] account; give this one another name",
            path=shown,
            key=f"accounts[{names.index(DEFAULT_ACCOUNT)}].name",
        )
    known = {DEFAULT_ACCOUNT, *names}
    used = [("feeds", i, f.account) for i, f in enumerate(config.feeds)]
    used += [("exports", i, e.account) for i, e in enumerate(config.exports)]
    for section, index, account in used:
        if account not in known:
            close = difflib.get_close_matches(account, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"no [[accounts]] entry is called {account!r}{hint}",
                path=shown,
                key=f"{section}[{index}].account",
            )


def _key_path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _known_keys() -> set[str]:
    models: list[type[BaseModel]] = [
        BridgeConfig, TickwardConfig, StateConfig, ServerConfig, FeedConfig, ExportConfig,
        AccountConfig,
    ]
    return {name for model in models for name in model.model_fields}


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    last = error["loc"][-1] if error["loc"] else ""
    if kind == "extra_forbidden":
        if isinstance(last, str) and last in _SECRET_KEYS:
            return _SECRET_KEYS[last]
        close = difflib.get_close_matches(str(last), _known_keys(), n=1)
        return "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind == "missing":
        return "required key is missing"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def _config_error(errors: list[ErrorDetails], shown: str) -> ConfigError:
    # Secret-bearing keys first: that is the message the user must see.
    ordered = sorted(
        errors,
        key=lambda e: not (e["type"] == "extra_forbidden" and e["loc"][-1:] and
                           str(e["loc"][-1]) in _SECRET_KEYS),
    )
    first, rest = ordered[0], ordered[1:]
    message = _describe(first)
    if rest:
        more = "; ".join(f"{_key_path(e['loc']) or '(top level)'}: {_describe(e)}" for e in rest)
        message += f" (also: {more})"
    return ConfigError(message, path=shown, key=_key_path(first["loc"]) or None)
