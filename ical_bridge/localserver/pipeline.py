"""What every request goes through: ids, origin guard, auth, rate limits, idempotency, JSON.

Handlers are plain functions ``Call -> Reply``; ``Gate.endpoint`` turns a
method→``Op`` table into a Starlette endpoint that applies tickward's rules
in tickward's order, and ``Envelope`` (outermost ASGI layer) stamps
``Request-Id``/``Correlation-Id``, records the request and turns any crash
into a JSON error.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.datastructures import MutableHeaders, QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ical_bridge.clock import Clock
from ical_bridge.localserver.config import RecordedRequest
from ical_bridge.localserver.idempotency import (
    KEY_PATTERN,
    IdempotencyStore,
    StoredResponse,
    fingerprint,
)
from ical_bridge.localserver.problems import ApiProblem, error_body
from ical_bridge.localserver.ratelimit import RateLimiter

__all__ = [
    "ACCOUNT_USER",
    "PREFIX",
    "RECORD_LIMIT",
    "Call",
    "Envelope",
    "Gate",
    "Op",
    "Reply",
    "ids_of",
    "problem_response",
]

PREFIX = "/api/v1"
MAX_BODY = 1 << 20
RECORD_LIMIT = 100_000
_WRITES = frozenset({"POST", "PATCH", "DELETE"})
# the methods the real server's route exports; anything else is the framework's bare 405
_ROUTED = frozenset({"GET", "HEAD", "POST", "PATCH", "DELETE"})
# Origin is checked only on these (a PATCH with a foreign Origin passes, as measured)
_GUARDED = frozenset({"POST", "DELETE"})
_CORRELATION = re.compile(r"[A-Za-z0-9._:-]{6,128}")
_BARE = "ical_bridge.bare"  # scope flag: answer without Request-Id/Correlation-Id
# every API key of this server belongs to its one account: one rate-limit bucket (per user)
ACCOUNT_USER = "usr_local"
_log = logging.getLogger(__name__)


@dataclass
class Call:
    """One request as a handler sees it."""

    request: Request
    now: datetime
    body: Any
    raw: dict[str, Any] | None = None

    @property
    def query(self) -> QueryParams:
        """The query parameters."""
        return self.request.query_params

    def param(self, name: str) -> str:
        """A path parameter."""
        return str(self.request.path_params[name])


@dataclass
class Reply:
    """A handler's answer (``payload`` None = no body)."""

    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Op:
    """One method of one path."""

    handler: Callable[[Call], Reply]
    auth: bool = True
    body: bool = False
    idempotent: bool = True
    optional: bool = False  # an empty body is allowed (read as None)
    changes: bool = True  # False: a write method that only previews (a read key may call it)


def ids_of(scope: Scope) -> tuple[str, str]:
    """The request and correlation ids ``Envelope`` gave this request."""
    ids: tuple[str, str] = scope.get("ical_bridge.ids", ("req_unknown", "corr_unknown"))
    return ids


def _json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def problem_response(
    problem: ApiProblem, scope: Scope, headers: Mapping[str, str] = {}
) -> Response:
    """An error answer in the documented shape (an empty body for a bare one)."""
    if not problem.type:
        return Response(None, problem.status, dict(headers))
    body = error_body(problem, *ids_of(scope))
    merged = {**headers, **problem.headers}
    return Response(_json(body), problem.status, merged, "application/json")


class Gate:
    """Applies auth, rate limits and idempotency in front of the handlers."""

    def __init__(
        self,
        api_keys: Mapping[str, str],
        limiter: RateLimiter | None,
        idempotency: IdempotencyStore,
        clock: Clock,
    ) -> None:
        self.api_keys = dict(api_keys)
        self.limiter = limiter
        self.idempotency = idempotency
        self.clock = clock

    def endpoint(self, ops: Mapping[str, Op]) -> Callable[[Request], Awaitable[Response]]:
        """A Starlette endpoint serving the methods in ``ops``."""

        async def serve(request: Request) -> Response:
            return await self._serve(request, ops)

        return serve

    async def _serve(self, request: Request, ops: Mapping[str, Op]) -> Response:
        if request.method not in _ROUTED:
            request.scope[_BARE] = True
            return Response(None, 405)
        method = "GET" if request.method == "HEAD" else request.method
        write = method in _WRITES
        if method in _GUARDED and _foreign_origin(request):
            request.scope[_BARE] = True
            return Response(_json({"error": "Forbidden"}), 403, media_type="application/json")
        op = ops.get(method)
        headers: dict[str, str] = {}
        try:
            # auth and rate limiting run before routing: 404/405 carry the rate-limit headers
            api_key = self._authenticate(request, op is None or op.auth, headers)
            if op is None:
                if not ops:
                    raise ApiProblem(404, "not_found", "No API route matches this path.")
                problem = ApiProblem(
                    405, "method_not_allowed", f"{request.method} is not allowed here."
                )
                problem.headers["Allow"] = ", ".join(sorted(ops))
                raise problem
            # previews change nothing: a read key may call them (DELETE ?dry_run=true too)
            preview = not op.changes or (
                method == "DELETE" and request.query_params.get("dry_run") == "true"
            )
            restricted = api_key is not None and self.api_keys[api_key] != "full_access"
            if write and restricted and not preview:
                raise ApiProblem(401, "restricted_api_key", "This API key is read-only.")
            return await self._run(request, op, write, api_key, headers)
        except ApiProblem as problem:
            return problem_response(problem, request.scope, headers)

    def _authenticate(self, request: Request, auth: bool, headers: dict[str, str]) -> str | None:
        if not auth:
            return None
        raw = request.headers.get("authorization", "")
        scheme, _, key = raw.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise ApiProblem(401, "missing_api_key", "An API key is required.")
        if key not in self.api_keys:
            raise ApiProblem(403, "invalid_api_key", "The API key is invalid or revoked.")
        if self.limiter is not None:
            client = request.client.host if request.client else "unknown"
            verdict = self.limiter.hit(ACCOUNT_USER, client)
            headers.update(verdict.headers())
            if not verdict.allowed:
                raise ApiProblem(429, "rate_limited", "Too many requests.")
        if "scope" in request.query_params:
            write = request.method in _WRITES
            if request.query_params["scope"] == "all" and not write:
                raise ApiProblem(403, "insufficient_scope", "scope=all needs an admin API key.")
            raise ApiProblem.at("#/scope", "scope=all is only accepted on reads.")
        return key

    async def _run(
        self, request: Request, op: Op, write: bool, api_key: str | None, headers: dict[str, str]
    ) -> Response:
        key = request.headers.get("idempotency-key")
        dry_run = "dry_run" in request.query_params
        if not (write and op.idempotent and key is not None and api_key and not dry_run):
            reply = await self._call(request, op, await _read(request))
            return self._respond(reply, headers)
        if not KEY_PATTERN.fullmatch(key):
            raise ApiProblem.plain(
                "Idempotency-Key must be 8-128 characters from A-Z a-z 0-9 . _ : -."
            )
        scope = self.idempotency.scope(api_key, key)
        if not self.idempotency.begin(scope):
            headers["Retry-After"] = "1"
            raise ApiProblem(
                409,
                "idempotency_key_in_progress",
                "A request with this Idempotency-Key is still processing.",
            )
        try:
            raw = await _read(request)
            now = self.clock.now()
            digest = fingerprint(request.method, request.url.path, request.url.query, raw)
            stored = self.idempotency.lookup(scope, now)
            if stored is not None:
                headers["Idempotency-Key-Expires-At"] = stored.expires_at
                if stored.fingerprint != digest:
                    raise ApiProblem(
                        409,
                        "idempotency_conflict",
                        "Idempotency-Key was already used for a different request.",
                    )
                headers["Idempotency-Replayed"] = "true"
                return Response(stored.body, stored.status, headers, "application/json")
            # The write and its replay record: one commit. (``_call`` never suspends: the
            # handler is synchronous, so no other request runs inside this transaction.)
            with self.idempotency.atomic():
                reply = await self._call(request, op, raw)
                expires = self.idempotency.expiry(now)
                headers["Idempotency-Key-Expires-At"] = expires
                response = self._respond(reply, headers)
                if reply.status < 500:
                    record = StoredResponse(
                        digest, reply.status, bytes(response.body).decode(), expires
                    )
                    self.idempotency.save(scope, record, now)
            return response
        finally:
            self.idempotency.end(scope)

    async def _call(self, request: Request, op: Op, raw: bytes) -> Reply:
        now = self.clock.now()
        try:
            body = _parse(raw) if op.body and (raw.strip() or not op.optional) else None
            return op.handler(Call(request, now, body, body if isinstance(body, dict) else None))
        except ApiProblem as problem:
            if not problem.type:  # a bare answer, as the real server gives in a few places
                return Reply(problem.status, None, dict(problem.headers))
            payload = error_body(problem, *ids_of(request.scope))
            return Reply(problem.status, payload, dict(problem.headers))

    @staticmethod
    def _respond(reply: Reply, headers: Mapping[str, str]) -> Response:
        merged = {**headers, **reply.headers}
        if reply.payload is None:
            return Response(None, reply.status, merged)
        return Response(_json(reply.payload), reply.status, merged, "application/json")


async def _read(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiProblem.plain("The request body is too large.")
        chunks.append(chunk)
    return b"".join(chunks)


def _foreign_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return False
    host = request.headers.get("host", "")
    return origin.partition("://")[2].rstrip("/").lower() != host.lower()


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _parse(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiProblem.plain("Request body must be valid JSON.")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        # lone surrogates ("\ud800") parse, but can be neither stored nor sent back
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeError is a ValueError
        raise ApiProblem.plain("Request body must be valid JSON.") from None
    return body


class Envelope:
    """Outermost ASGI layer: request ids, the request log, and no bare 500s."""

    def __init__(self, app: ASGIApp, sink: list[RecordedRequest]) -> None:
        self.app = app
        self.sink = sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + secrets.token_hex(12)
        incoming = Request(scope).headers.get("x-correlation-id", "").strip()
        correlation = (
            incoming if _CORRELATION.fullmatch(incoming) else "corr_" + secrets.token_hex(12)
        )
        scope["ical_bridge.ids"] = (request_id, correlation)
        seen: dict[str, Any] = {"status": 500, "started": False, "replayed": False}

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if not scope.get(_BARE):
                    headers["Request-Id"] = request_id
                    headers["Correlation-Id"] = correlation
                seen.update(
                    status=message["status"],
                    started=True,
                    replayed=headers.get("idempotency-replayed") == "true",
                )
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        except Exception:
            _log.exception("local tickward server failed on %s %s", scope["method"], scope["path"])
            if not seen["started"]:
                problem = ApiProblem(500, "storage_unavailable", "The local server failed.")
                await problem_response(problem, scope)(scope, receive, stamped)
        finally:
            path = scope["path"]
            if len(self.sink) >= RECORD_LIMIT:  # a long-running emulator must not grow forever
                del self.sink[: RECORD_LIMIT // 2]
            self.sink.append(
                RecordedRequest(
                    method=scope["method"],
                    path=path[len(PREFIX) :] if path.startswith(PREFIX) else path,
                    status=int(seen["status"]),
                    idempotency_key=Request(scope).headers.get("idempotency-key"),
                    replayed=bool(seen["replayed"]),
                )
            )
