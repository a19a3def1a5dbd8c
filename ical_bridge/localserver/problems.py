"""Error answers in tickward's documented shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiProblem", "FieldIssue", "error_body"]

_HINTS: dict[str, str] = {
    "validation_error": "Fix the fields listed in errors and retry the request.",
    "missing_api_key": "Send your API key as 'Authorization: Bearer <key>'.",
    "invalid_api_key": "Check the API key; it may have been revoked.",
    "insufficient_scope": "Use a full-access API key for this request.",
    "not_found": "Check the id; the resource may have been deleted.",
    "method_not_allowed": "Use one of the methods listed in the Allow header.",
    "rate_limited": "Wait for the number of seconds in Retry-After, then retry.",
    "idempotency_conflict": "Use a new Idempotency-Key for a different request.",
    "idempotency_key_in_progress": "Wait for the first request to finish, then retry.",
    "plan_hash_mismatch": "Call POST /projects/preview again and send the new plan hash.",
    "limit_exceeded": "Delete something you no longer need, then retry.",
    "storage_unavailable": "Retry the request later.",
}

_RETRYABLE = {"rate_limited", "idempotency_key_in_progress", "storage_unavailable"}


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
    def invalid(cls, issues: list[FieldIssue]) -> ApiProblem:
        """400 validation_error carrying field errors."""
        return cls(
            400,
            "validation_error",
            "We found an error with one or more fields in the request.",
            issues=issues,
        )

    @classmethod
    def at(cls, path: str, message: str) -> ApiProblem:
        """400 validation_error for one field."""
        return cls.invalid([FieldIssue(path, message)])

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
                "remediation": "Fix the fields listed in details or errors and retry the request.",
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
