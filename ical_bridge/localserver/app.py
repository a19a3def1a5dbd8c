"""The Starlette app: tickward's ``/api/v1`` routes over ``Resources``."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, Router

from ical_bridge.clock import Clock, SystemClock
from ical_bridge.localserver.checker import Checker
from ical_bridge.localserver.config import (
    EMBEDDED_API_KEY,
    PlanLimits,
    RateLimitConfig,
    RecordedRequest,
)
from ical_bridge.localserver.database import Database, stamp
from ical_bridge.localserver.delivery import Deliverer
from ical_bridge.localserver.ended import EndedScheduler
from ical_bridge.localserver.idempotency import TTL, IdempotencyStore
from ical_bridge.localserver.pipeline import PREFIX, Call, Envelope, Gate, Op, Reply
from ical_bridge.localserver.pipeline import problem_response as _problem_response
from ical_bridge.localserver.previews import create_preview
from ical_bridge.localserver.problems import ApiProblem
from ical_bridge.localserver.ratelimit import RateLimiter
from ical_bridge.localserver.resources import Resources
from ical_bridge.localserver.validation import (
    project_create_body,
    project_update_body,
    share_create_body,
    since_anchor,
    space_create_body,
    space_update_body,
    timer_create_body,
    timer_update_body,
)
from ical_bridge.localserver.webhooks import (
    EVENT_TYPES,
    Webhooks,
    webhook_create_body,
    webhook_update_body,
)

__all__ = ["create_app"]

_DIGITS = re.compile(r"[0-9]{1,6}")
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _listing(data: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more}


def _dry_run(call: Call) -> bool:
    value = call.query.get("dry_run")
    if value is None:
        return False
    if value != "true":
        raise ApiProblem.plain("dry_run accepts only true.")
    return True


def _project_anchors(data: dict[str, Any], call: Call) -> None:
    for timer in [*data["timers"], *(t for s in data["spaces"] for t in s["timers"])]:
        since_anchor(timer, call.now)


def _checked(fn: Any, call: Call, *args: Any) -> dict[str, Any]:
    checker = Checker()
    out: dict[str, Any] = fn(checker, call.body, *args)
    checker.done()
    return out


class _Handlers:
    """One method per operation (``Call -> Reply``)."""

    def __init__(self, res: Resources, plan: PlanLimits, hooks: Webhooks) -> None:
        self.res = res
        self.plan = plan
        self.hooks = hooks

    def capabilities(self, call: Call) -> Reply:
        return Reply(
            200,
            {
                "object": "capabilities",
                "api_version": "v1",
                "features": {
                    "idempotency_key": {
                        "enabled": True,
                        "ttl_hours": int(TTL.total_seconds() // 3600),
                    },
                    "delete_preview": {"project": True, "space": True, "timer": False},
                    "project_preview": True,
                    "nested_project_create": True,
                    "mcp": {"remote_oauth": False},
                    "timer_webhooks": True,
                    "timer_reminders": True,
                    "webhook_management": True,
                },
                "limits": {
                    "project_create_max_spaces": self.plan.project_create_max_spaces,
                    "project_create_max_timers": self.plan.project_create_max_timers,
                    "page_size_max": self.plan.page_size_max,
                },
            },
        )

    def list_projects(self, call: Call) -> Reply:
        raw_limit = call.query.get("limit", str(self.plan.page_size_max))
        if not _DIGITS.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= self.plan.page_size_max:
            raise ApiProblem.plain(
                f"limit must be an integer between 1 and {self.plan.page_size_max}."
            )
        after, before = call.query.get("after"), call.query.get("before")
        if after is not None and before is not None:
            raise ApiProblem.plain("after and before cannot be combined.")
        data, more = self.res.list_projects(int(raw_limit), after, before)
        return Reply(200, _listing(data, more))

    def preview_project(self, call: Call) -> Reply:
        data = _checked(project_create_body, call, call.now)
        _project_anchors(data, call)
        self.res.check_create_caps(data)
        return Reply(200, create_preview(data))

    def create_project(self, call: Call) -> Reply:
        data = _checked(project_create_body, call, call.now)
        _project_anchors(data, call)
        return Reply(201, self.res.create_project(data, call.now))

    def get_project(self, call: Call) -> Reply:
        return Reply(200, self.res.get_project(call.param("project_id")))

    def update_project(self, call: Call) -> Reply:
        data = _checked(project_update_body, call)
        return Reply(200, self.res.update_project(call.param("project_id"), data, call.now))

    def delete_project(self, call: Call) -> Reply:
        return Reply(200, self.res.delete_project(call.param("project_id"), _dry_run(call)))

    def list_spaces(self, call: Call) -> Reply:
        return Reply(200, _listing(self.res.list_spaces(call.param("project_id"))))

    def create_space(self, call: Call) -> Reply:
        data = _checked(space_create_body, call)
        return Reply(201, self.res.create_space(call.param("project_id"), data, call.now))

    def get_space(self, call: Call) -> Reply:
        return Reply(200, self.res.get_space(call.param("project_id"), call.param("space_id")))

    def update_space(self, call: Call) -> Reply:
        data = _checked(space_update_body, call)
        pid, sid = call.param("project_id"), call.param("space_id")
        return Reply(200, self.res.update_space(pid, sid, data))

    def delete_space(self, call: Call) -> Reply:
        pid, sid = call.param("project_id"), call.param("space_id")
        return Reply(200, self.res.delete_space(pid, sid, _dry_run(call)))

    def list_timers(self, call: Call) -> Reply:
        return Reply(200, _listing(self.res.list_timers(call.param("project_id"), call.now)))

    def create_timer(self, call: Call) -> Reply:
        data = _checked(timer_create_body, call, "#", call.now)
        since_anchor(data, call.now)
        return Reply(201, self.res.create_timer(call.param("project_id"), data, call.now))

    def get_timer(self, call: Call) -> Reply:
        pid, tid = call.param("project_id"), call.param("timer_id")
        return Reply(200, self.res.get_timer(pid, tid, call.now))

    def update_timer(self, call: Call) -> Reply:
        data = _checked(timer_update_body, call)
        pid, tid = call.param("project_id"), call.param("timer_id")
        return Reply(200, self.res.update_timer(pid, tid, data, call.now))

    def delete_timer(self, call: Call) -> Reply:
        pid, tid = call.param("project_id"), call.param("timer_id")
        return Reply(200, self.res.delete_timer(pid, tid, call.now))

    def list_shares(self, call: Call) -> Reply:
        return Reply(200, _listing(self.res.list_shares(call.param("project_id"))))

    def create_share(self, call: Call) -> Reply:
        checker = Checker()
        timer_id = share_create_body(checker, call.body)
        checker.done()
        return Reply(201, self.res.create_share(call.param("project_id"), timer_id, call.now))

    def get_share(self, call: Call) -> Reply:
        return Reply(200, self.res.get_share(call.param("project_id"), call.param("share_id")))

    def delete_share(self, call: Call) -> Reply:
        return Reply(200, self.res.delete_share(call.param("project_id"), call.param("share_id")))

    def list_webhooks(self, call: Call) -> Reply:
        return Reply(200, _listing(self.hooks.endpoints()))

    def create_webhook(self, call: Call) -> Reply:
        return Reply(201, self.hooks.create(_checked(webhook_create_body, call), call.now))

    def get_webhook(self, call: Call) -> Reply:
        return Reply(200, self.hooks.get(call.param("webhook_id")))

    def update_webhook(self, call: Call) -> Reply:
        data = _checked(webhook_update_body, call)
        return Reply(200, self.hooks.update(call.param("webhook_id"), data, call.now))

    def delete_webhook(self, call: Call) -> Reply:
        return Reply(200, self.hooks.delete(call.param("webhook_id")))

    def test_webhook(self, call: Call) -> Reply:
        body = call.body if call.body is not None else {}
        checker = Checker()
        obj = checker.obj(body, "#") or {}
        checker.strict(obj, frozenset({"event_type"}), "#")
        kind = obj.get("event_type")
        if kind is not None and kind not in EVENT_TYPES:
            checker.fail("#/event_type", "Invalid enum value.")
        checker.done()
        return Reply(200, self.hooks.test(call.param("webhook_id"), kind, call.now))

    def list_deliveries(self, call: Call) -> Reply:
        raw = call.query.get("limit", "10")
        if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= 100:
            raise ApiProblem.plain("limit must be an integer between 1 and 100.")
        return Reply(200, _listing(self.hooks.deliveries(call.param("webhook_id"), int(raw))))

    def sync(self, call: Call) -> Reply:
        snapshot = self.res.snapshot(call.now)
        canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        etag = '"sha256:' + hashlib.sha256(canonical.encode()).hexdigest() + '"'
        wanted = call.request.headers.get("if-none-match", "")
        tags = {t.strip().removeprefix("W/") for t in wanted.split(",") if t.strip()}
        if etag in tags or "*" in tags:
            return Reply(304, None, {"ETag": etag})
        body = {"object": "sync", "synced_at": stamp(call.now), **snapshot}
        return Reply(200, body, {"ETag": etag})


def _routes(gate: Gate, h: _Handlers) -> list[Route]:
    table: dict[str, dict[str, Op]] = {
        "/capabilities": {"GET": Op(h.capabilities, auth=False)},
        "/sync": {"GET": Op(h.sync)},
        "/projects": {
            "GET": Op(h.list_projects),
            "POST": Op(h.create_project, body=True),
        },
        "/projects/preview": {
            "POST": Op(h.preview_project, body=True, idempotent=False, changes=False)
        },
        "/projects/{project_id}": {
            "GET": Op(h.get_project),
            "PATCH": Op(h.update_project, body=True),
            "DELETE": Op(h.delete_project),
        },
        "/projects/{project_id}/spaces": {
            "GET": Op(h.list_spaces),
            "POST": Op(h.create_space, body=True),
        },
        "/projects/{project_id}/spaces/{space_id}": {
            "GET": Op(h.get_space),
            "PATCH": Op(h.update_space, body=True),
            "DELETE": Op(h.delete_space),
        },
        "/projects/{project_id}/timers": {
            "GET": Op(h.list_timers),
            "POST": Op(h.create_timer, body=True),
        },
        "/projects/{project_id}/timers/{timer_id}": {
            "GET": Op(h.get_timer),
            "PATCH": Op(h.update_timer, body=True),
            "DELETE": Op(h.delete_timer),
        },
        "/projects/{project_id}/shares": {
            "GET": Op(h.list_shares),
            "POST": Op(h.create_share, body=True),
        },
        "/projects/{project_id}/shares/{share_id}": {
            "GET": Op(h.get_share),
            "DELETE": Op(h.delete_share),
        },
        "/webhooks": {"GET": Op(h.list_webhooks), "POST": Op(h.create_webhook, body=True)},
        "/webhooks/{webhook_id}": {
            "GET": Op(h.get_webhook),
            "PATCH": Op(h.update_webhook, body=True),
            "DELETE": Op(h.delete_webhook),
        },
        "/webhooks/{webhook_id}/test": {"POST": Op(h.test_webhook, body=True, optional=True)},
        "/webhooks/{webhook_id}/deliveries": {"GET": Op(h.list_deliveries)},
        # no route matched: still authenticated and rate limited, then 404 (measured)
        "/{rest:path}": {},
    }
    return [Route(path, gate.endpoint(ops), methods=_ALL_METHODS) for path, ops in table.items()]


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        problem = ApiProblem(405, "method_not_allowed", f"{request.method} is not allowed here.")
    else:
        problem = ApiProblem(404, "not_found", "No API route matches this path.")
    return _problem_response(problem, request.scope)


def create_app(
    db_path: str | Path | None = None,
    *,
    api_keys: Mapping[str, str] | None = None,
    rate_limit: RateLimitConfig | None = RateLimitConfig(),  # noqa: B008 - frozen, shared
    plan: PlanLimits = PlanLimits(),  # noqa: B008 - frozen, shared
    clock: Clock | None = None,
    allow_private_webhooks: bool = False,
) -> Starlette:
    """A faithful local tickward API (mounted at ``/api/v1``) over SQLite (None = in memory).

    ``allow_private_webhooks`` lets webhook endpoints use ``http://`` and
    loopback or private targets (off by default, as on the hosted server).
    """
    clock = clock or SystemClock()
    keys = dict(api_keys) if api_keys is not None else {EMBEDDED_API_KEY: "full_access"}
    db = Database(db_path)
    limiter = RateLimiter(rate_limit, clock) if rate_limit is not None else None
    gate = Gate(keys, limiter, IdempotencyStore(db), clock)
    hooks = Webhooks(db, allow_private=allow_private_webhooks)
    deliverer = Deliverer(db, clock)

    def emit(kind: str, obj: dict[str, Any], now: datetime) -> None:
        hooks.emit(kind, obj, now)
        deliverer.nudge()  # under a running server: sent at once, not at the next round

    ended = EndedScheduler(db, clock, emit)
    handlers = _Handlers(Resources(db, plan, emit=emit), plan, hooks)
    requests: list[RecordedRequest] = []
    # an API answers a trailing slash with 404, not a redirect
    api = Router(routes=_routes(gate, handlers), redirect_slashes=False)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # under a real server (the emulator), webhooks go out in the background
        async with deliverer.running(), ended.running(deliverer.deliver_due):
            yield

    app = Starlette(
        lifespan=lifespan,
        routes=[Mount(PREFIX, app=api)],
        middleware=[Middleware(Envelope, sink=requests)],
        exception_handlers={HTTPException: _http_error},
    )
    app.router.redirect_slashes = False
    app.state.requests = requests
    app.state.db = db
    app.state.clock = clock
    app.state.plan = plan
    app.state.webhooks = hooks
    app.state.deliverer = deliverer
    app.state.ended = ended  # timer.ended as occurrences pass (tests call ended.tick())
    return app
