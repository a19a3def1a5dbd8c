"""One mapping from tickward's answers (JSON error bodies or not) to ``ical_bridge.errors``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import httpx
import pydantic

from ical_bridge.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    FieldError,
    LocalValidationError,
    NotFoundError,
    PlanCap,
    RateLimitedError,
    ResponseFormatError,
    ServerError,
    ValidationError,
)
from ical_bridge.tickward.responses import ErrorBody

__all__ = [
    "LocalValidationError",
    "ResponseFormatError",
    "api_error",
    "local_validation_error",
    "parse_retry_after",
    "plan_cap",
]

# Hints for codes whose body may lack one (or for plain-text answers).
_DEFAULT_HINTS = {
    "missing_api_key": "set an API key with --api-key or TICKWARD_API_KEY",
    "invalid_api_key": "check the API key: it is unknown or revoked",
    "insufficient_scope": "this needs a full_access API key, not a read key",
    "restricted_api_key": "use a full_access API key for writes; this one can only read",
    "forbidden": "the request was refused before reaching the API (is an Origin header sent?)",
    "rate_limited": "wait a minute, or lower the number of requests per minute",
    "limit_exceeded": "delete unused projects or timers, or raise the plan limit",
    "plan_hash_mismatch": "preview the project again and send the new plan hash",
    "idempotency_conflict": "the same Idempotency-Key was used for a different request",
}
_READ_ONLY = "this API key is read-only"
# "Maximum 40 timers allowed." / "Maximum 40 active timers allowed per space." / "… spaces …"
_CAP = re.compile(r"Maximum (\d+) (active )?(timers|spaces|projects) allowed( per space)?\.")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds only), else None."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0) if seconds == seconds else None  # NaN guard


def _plain_message(response: httpx.Response) -> tuple[str, str, str]:
    """(type, code, message) for a body that is not a tickward error body."""
    reason = response.reason_phrase or httpx.codes.get_reason_phrase(response.status_code)
    try:
        data = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, Mapping) and isinstance(data.get("error"), str):
        text = data["error"]
        code = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "error"
        return code, code, text
    text = response.text if response.content else ""
    title = _TITLE.search(text)
    if title:
        text = title.group(1)
    text = " ".join(_TAG.sub(" ", text).split())[:200]
    code = re.sub(r"[^a-z0-9]+", "_", reason.lower()).strip("_") or "http_error"
    return "http_error", code, text or reason or f"HTTP {response.status_code}"


def plan_cap(texts: list[str]) -> PlanCap | None:
    """The plan cap named in an error's message or field errors (tickward puts it in either)."""
    for text in texts:
        match = _CAP.search(text)
        if match:
            kind = match.group(3)
            if kind == "timers" and (match.group(2) or match.group(4)):
                kind = "active_timers_per_space"
            return PlanCap(kind, int(match.group(1)))
    return None


def _class_for(status: int) -> type[APIError]:
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status in (400, 422):
        return ValidationError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    return APIError


def api_error(response: httpx.Response, *, suffix: str = "") -> APIError:
    """The ``APIError`` subclass for an error ``response``; ``suffix`` is added to the message."""
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    request_id = response.headers.get("Request-Id")
    try:
        body = ErrorBody.model_validate_json(response.content)
    except (pydantic.ValidationError, ValueError):
        body = None
    if body is not None:
        detail = body.error
        type_, code = detail.type, detail.code or detail.type
        message = detail.message or response.reason_phrase or f"HTTP {status}"
        hint = (detail.remediation or {}).get("hint")
        request_id = detail.request_id or request_id
        retryable = detail.retryable
        fields = tuple(FieldError(e.code, e.message, e.path) for e in detail.errors)
    else:
        type_, code, message = _plain_message(response)
        hint, fields = None, ()
        retryable = status in (429, 502, 503, 504)
    if "restricted_api_key" in (code, type_):
        # a valid key that may only read: say so plainly, whatever the server's wording
        hint = _DEFAULT_HINTS["restricted_api_key"]
        if _READ_ONLY.lower() not in message.lower():
            message = f"{_READ_ONLY} ({message})"
    if not isinstance(hint, str) or not hint:
        hint = _DEFAULT_HINTS.get(code) or _DEFAULT_HINTS.get(type_)
    # caps come in error.message when there is no errors[] (measured), else in a field error
    cap = plan_cap([message, *(f.message for f in fields)]) if status in (400, 409) else None
    return _class_for(status)(
        message + suffix,
        status=status,
        type=type_,
        code=code,
        hint=hint,
        request_id=request_id,
        retryable=retryable,
        retry_after=retry_after,
        field_errors=fields,
        cap=cap,
    )


# Model validators name a deeper path with a leading "@a/b/c: " in their message.
_AT_PATH = re.compile(r"^@([\w/]+): (.*)$", re.DOTALL)


def _field_error(err: Mapping[str, object]) -> FieldError:
    loc = [str(part) for part in err["loc"]]  # type: ignore[attr-defined]
    message = str(err["msg"]).removeprefix("Value error, ")
    match = _AT_PATH.match(message)
    if match:
        loc += match.group(1).split("/")
        message = match.group(2)
    path = "#/" + "/".join(loc) if loc else "#"
    return FieldError(str(err["type"]), message, path)


def local_validation_error(what: str, exc: pydantic.ValidationError) -> LocalValidationError:
    """A ``LocalValidationError`` with JSON-pointer paths from a pydantic error."""
    fields = tuple(
        _field_error(err)
        for err in exc.errors(include_url=False, include_input=False)
    )
    return LocalValidationError(
        f"{what} refused before sending",
        status=400,
        type="validation_error",
        code="client_validation_error",
        hint="fix the fields listed and retry",
        field_errors=fields,
    )
