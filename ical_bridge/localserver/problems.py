"""Error answers in tickward's documented shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiProblem", "FieldIssue", "error_body"]

# tickward's own remediation hints, per error type
_HINTS: dict[str, str] = {
    "validation_error": "Fix the fields listed in details or errors and retry the request.",
    "missing_api_key": (
        "Create an API key or connect an MCP client, then send the credential as an"
        " Authorization Bearer token."
    ),
    "invalid_api_key": (
        "Create an API key or connect an MCP client, then send the credential as an"
        " Authorization Bearer token."
    ),
    "insufficient_scope": (
        "Reconnect the MCP client with the required scope, or use credentials with broader access."
    ),
    "restricted_api_key": "Use a full-access API key for write requests.",
    "not_found": "Check the resource id and confirm the API key can access it.",
    "method_not_allowed": "Use one of the documented methods for this endpoint.",
    "rate_limited": "Retry after the Retry-After header.",
    "rate_limit_unavailable": "Try again later.",
    "idempotency_conflict": (
        "Use the original request with this Idempotency-Key, or generate a new key for a new"
        " operation."
    ),
    "idempotency_key_in_progress": (
        "Retry the same request with the same Idempotency-Key after a short delay."
    ),
    "plan_hash_mismatch": (
        "Call the preview endpoint again with the current request body, then retry with the"
        " returned plan_hash."
    ),
    "limit_exceeded": (
        "Remove or disable an existing resource of this type, then retry the request."
    ),
    "storage_unavailable": "Try again later.",
}

_RETRYABLE = {
    "rate_limited",
    "rate_limit_unavailable",
    "idempotency_key_in_progress",
    "storage_unavailable",
}


@dataclass(frozen=True)
class FieldIssue:
    """One field-level problem: a JSON-pointer path and a message."""

    path: str
    message: str
    code: str = "validation_error"


@dataclass
class ApiProblem(Exception):
    """An error answer: raise it anywhere in a handler."""

    status: int
    type: str
    message: str
    code: str = ""
    issues: list[FieldIssue] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @classmethod
    def invalid(cls, issues: list[FieldIssue], status: int = 400) -> ApiProblem:
        """400 (or 422 for since-timer rules) validation_error carrying field errors."""
        return cls(
            status,
            "validation_error",
            "We found an error with one or more fields in the request.",
            issues=issues,
        )

    @classmethod
    def at(cls, path: str, message: str) -> ApiProblem:
        """400 validation_error for one field."""
        return cls.invalid([FieldIssue(path, message)])

    @classmethod
    def plain(cls, message: str, status: int = 400) -> ApiProblem:
        """validation_error outside field validation: the text only, no ``errors[]``."""
        return cls(status, "validation_error", message)

    @classmethod
    def not_found(cls, what: str) -> ApiProblem:
        """404 not_found for a resource kind (``"Project"``, ``"Timer"``…)."""
        return cls(404, "not_found", f"{what} not found.")


def error_body(problem: ApiProblem, request_id: str, correlation_id: str) -> dict[str, Any]:
    """The JSON body of an error answer."""
    error: dict[str, Any] = {
        "type": problem.type,
        "code": problem.code or problem.type,
        "message": problem.message,
        "request_id": request_id,
        "correlation_id": correlation_id,
        "retryable": problem.type in _RETRYABLE,
        "remediation": {"hint": _HINTS.get(problem.type, "Fix the request and retry.")},
    }
    if problem.issues:
        error["details"] = [
            {"path": _pointer_parts(issue.path), "message": issue.message}
            for issue in problem.issues
        ]
        error["errors"] = [
            {
                "code": issue.code,
                "message": issue.message,
                "path": issue.path,
                "remediation": _HINTS["validation_error"],
            }
            for issue in problem.issues
        ]
    return {"error": error}


def _pointer_parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for raw in path.removeprefix("#").split("/")[1:]:
        text = raw.replace("~1", "/").replace("~0", "~")
        parts.append(int(text) if text.isdigit() else text)
    return parts
