"""Every exception ical-bridge raises on purpose.

The tree::

    IcalBridgeError                  base of everything below
    ├── UserError                    bad input or usage: the CLI prints it, exit 2
    │   ├── ConfigError              a config file or option is wrong (file, key, why)
    │   └── NotACalendarError        the bytes are not iCalendar (binary, empty, truncated)
    ├── SourceError                  a feed could not be read (network, size, timeout, HTTP status)
    ├── StoreError                   the state store failed or has an unknown schema
    └── TickwardError                anything from talking to tickward
        ├── TransportError           no usable HTTP response (connect, read, timeout) after retries
        ├── ResponseFormatError      tickward answered 2xx with a body the client cannot read
        ├── SnapshotUnavailable      no /sync snapshot was ever read and tickward is unreachable
        └── APIError                 tickward answered with an error body
            ├── AuthenticationError  401 / 403 (missing, invalid or read-only key:
            │                        401 restricted_api_key, see ``read_only``)
            ├── NotFoundError        404
            ├── ValidationError      400/422 validation_error (``field_errors``, ``cap``)
            │   └── LocalValidationError  refused by the client before sending (same shape)
            ├── ConflictError        409 (idempotency conflict, plan hash mismatch, limit exceeded)
            ├── RateLimitedError     429 after the retry budget was spent
            └── ServerError          5xx after the retry budget was spent

Only ``ical_bridge.cli`` turns these into messages and exit codes. Context
travels in keyword-only attributes so callers never parse messages.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "FieldError",
    "IcalBridgeError",
    "LocalValidationError",
    "NotACalendarError",
    "NotFoundError",
    "PlanCap",
    "RateLimitedError",
    "ResponseFormatError",
    "ServerError",
    "SnapshotUnavailable",
    "SourceError",
    "StoreError",
    "TickwardError",
    "TransportError",
    "UserError",
    "ValidationError",
]


class IcalBridgeError(Exception):
    """Base class of every error ical-bridge raises deliberately."""


class UserError(IcalBridgeError):
    """Bad input or usage; the message is shown as is, without a traceback."""


class ConfigError(UserError):
    """A configuration file or option is invalid."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        where = ": ".join(p for p in (path, key) if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.key = key


class NotACalendarError(UserError):
    """The input is not an iCalendar stream at all."""


class SourceError(IcalBridgeError):
    """A calendar source could not be read."""

    def __init__(self, message: str, *, source: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.status = status


class StoreError(IcalBridgeError):
    """The state store failed."""


class TickwardError(IcalBridgeError):
    """Talking to tickward failed."""


class TransportError(TickwardError):
    """No usable HTTP response from tickward (after retries)."""


class ResponseFormatError(TickwardError):
    """tickward answered 2xx with a body the client cannot read."""


class SnapshotUnavailable(TickwardError):
    """No ``/sync`` snapshot was ever read and tickward cannot be reached now."""


@dataclass(frozen=True)
class FieldError:
    """One field-level error from a tickward error body."""

    code: str
    message: str
    path: str


@dataclass(frozen=True)
class PlanCap:
    """A plan cap an error reports ("Maximum 40 timers allowed." → ``timers``, 40)."""

    kind: str  # "timers", "active_timers_per_space", "spaces", "projects"
    limit: int


class APIError(TickwardError):
    """tickward answered with an error body (``cap`` is set when it names a plan cap)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        type: str = "",
        code: str = "",
        hint: str | None = None,
        request_id: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        field_errors: tuple[FieldError, ...] = (),
        cap: PlanCap | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.code = code
        self.hint = hint
        self.request_id = request_id
        self.retryable = retryable
        self.retry_after = retry_after
        self.field_errors = field_errors
        self.cap = cap

    def __str__(self) -> str:
        text = f"{self.status} {self.code or self.type}: {self.args[0]}"
        if self.field_errors:
            text += " (" + "; ".join(f"{e.path}: {e.message}" for e in self.field_errors) + ")"
        if self.hint:
            text += f" — {self.hint}"
        return text


class AuthenticationError(APIError):
    """Missing, invalid or insufficient API key (401/403)."""

    @property
    def read_only(self) -> bool:
        """True when the key is valid but may only read (401 ``restricted_api_key``)."""
        return self.code == "restricted_api_key" or self.type == "restricted_api_key"


class NotFoundError(APIError):
    """The resource does not exist (404)."""


class ValidationError(APIError):
    """The request was refused (400, or 422 for since-timer rules)."""


class LocalValidationError(ValidationError):
    """A request body refused by the client before sending (same shape as a server 400)."""


class ConflictError(APIError):
    """Idempotency conflict, plan hash mismatch or a plan limit (409)."""


class RateLimitedError(APIError):
    """Still rate limited after the retry budget (429)."""


class ServerError(APIError):
    """tickward kept failing (5xx) after the retry budget."""
