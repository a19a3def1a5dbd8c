"""``TickwardClient``: the only code that speaks HTTP to tickward.

Every write carries an ``Idempotency-Key`` stable for one logical change, so a
retry after a lost answer never duplicates anything. Retries are bounded, use
full-jitter backoff and honour ``Retry-After`` on 429/503; requests are paced
from the ``RateLimit-*`` headers so long runs stay under the limit.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote, urlsplit

import httpx
import pydantic

from ical_bridge.clock import Clock, SystemClock
from ical_bridge.errors import NotFoundError
from ical_bridge.tickward._http import (
    USER_AGENT,
    ClientStats,
    NoCookies,
    Requester,
    list_all,
    parse,
)
from ical_bridge.tickward._idempotency import derive_key
from ical_bridge.tickward._pacing import Pacer
from ical_bridge.tickward._replay import first_attempt_replay, next_key, timer_reflects
from ical_bridge.tickward._retry import RetryPolicy
from ical_bridge.tickward.models import (
    Body,
    Capabilities,
    DeletedResource,
    Project,
    ProjectCreateRequest,
    ProjectCreateResult,
    ProjectPreview,
    ProjectUpdateRequest,
    Share,
    ShareCreateRequest,
    Space,
    SpaceCreateRequest,
    SpaceUpdateRequest,
    Sync,
    Timer,
    TimerCreateRequest,
    TimerUpdateRequest,
    request_body,
)

__all__ = ["DEFAULT_PAGE_SIZE", "ClientStats", "SyncResult", "TickwardClient"]

DEFAULT_PAGE_SIZE = 100
_MAX_REKEYS = 8  # a stale replay chain longer than this is given up on (answer returned as is)
log = logging.getLogger("ical_bridge.tickward")
# check(answer) -> (None, fresh answer) if the change holds, else (state marker, None)
_Check = Callable[[Any], Awaitable[tuple[str | None, Any]]]
_R = TypeVar("_R", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class SyncResult:
    """Result of ``GET /sync``: a snapshot, or ``not_modified`` when the ETag still matches."""

    snapshot: Sync | None
    etag: str | None
    not_modified: bool


def _seg(value: str) -> str:
    return quote(value, safe="")


class TickwardClient:
    """Async tickward API v1 client; use as ``async with TickwardClient(url, key) as client``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        max_retries: int = 6,
        timeout: float = 30.0,
        rng: random.Random | None = None,
        pacing: bool = True,
        on_close: Callable[[], None] | None = None,
        pacer: Pacer | None = None,
        in_process: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key  # never logged, never in repr or messages
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            cookies=NoCookies(),  # tickward sets none; parsing each answer for them costs
        )
        self.clock: Clock = clock or SystemClock()
        policy = RetryPolicy(max_retries=max_retries, rng=rng or random.Random())
        self._requester = Requester(
            self._http,
            clock=self.clock,
            sleep=sleep or asyncio.sleep,
            policy=policy,
            # tickward counts requests per user, across all of that user's keys: clients
            # whose keys belong to one user pass the same ``pacer`` to share one budget
            pacer=(pacer or Pacer(self.clock)) if pacing else None,
            where=urlsplit(self.base_url).netloc or self.base_url,
            # an app in this process (the embedded store): no connection to manage
            direct=transport if in_process and transport is not None else None,
        )
        self._capabilities: Capabilities | None = None
        self._on_close = on_close

    def __repr__(self) -> str:
        auth = "<key hidden>" if self._api_key else "None"
        return f"TickwardClient(base_url={self.base_url!r}, api_key={auth})"

    @property
    def stats(self) -> ClientStats:
        """Counters: ``requests`` (HTTP attempts), ``retries``, ``rate_limited``, ``replayed``…"""
        return self._requester.stats

    @property
    def has_api_key(self) -> bool:
        """True when requests are authenticated."""
        return bool(self._api_key)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool, then run ``on_close`` (e.g. close an embedded store)."""
        await self._http.aclose()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()

    # -- plumbing ------------------------------------------------------------------------

    async def _call(
        self,
        model: type[_R],
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
        idempotency_key: str | None = None,
        idempotent_write: bool = True,
    ) -> _R:
        response = await self._requester.request(
            method,
            path,
            params=params,
            body=body,
            idempotency_key=idempotency_key,
            idempotent_write=idempotent_write,
        )
        return parse(model, response, f"{method} {path}")

    async def _verified_write(
        self,
        model: type[_R],
        method: str,
        path: str,
        body: dict[str, Any] | None,
        idempotency_key: str | None,
        check: _Check,
    ) -> _R:
        """A write whose first-attempt replay is checked against the resource (see ``_replay``)."""
        # Applies to callers' keys too: theirs go stale the same way (e.g. a project deleted
        # and imported again within the key's 24 hours).
        key = idempotency_key or derive_key(method, path, body)
        for _ in range(_MAX_REKEYS):
            response = await self._requester.request(method, path, body=body, idempotency_key=key)
            answer = parse(model, response, f"{method} {path}")
            if not first_attempt_replay(response):
                return answer
            state, fresh = await check(answer)
            if state is None:
                return fresh if isinstance(fresh, model) else answer
            log.debug("%s %s: replayed answer is stale (%s); sending it again", method, path, state)
            key = next_key(method, path, key, state)
        return answer

    def _page_size(self, page_size: int | None) -> int:
        ceiling = self._capabilities.limits.page_size_max if self._capabilities else None
        size = page_size or ceiling or DEFAULT_PAGE_SIZE
        return max(1, min(size, ceiling) if ceiling else size)

    # -- endpoints -----------------------------------------------------------------------

    async def capabilities(self) -> Capabilities:
        """``GET /capabilities`` (no key needed); remembered for page sizes."""
        self._capabilities = await self._call(Capabilities, "GET", "/capabilities")
        return self._capabilities

    async def list_projects(self, *, page_size: int | None = None) -> list[Project]:
        """Every project of the key's owner (all pages)."""
        size = self._page_size(page_size)
        return await list_all(self._requester, Project, "/projects", page_size=size)

    async def get_project(self, project_id: str) -> Project:
        """``GET /projects/{id}``."""
        return await self._call(Project, "GET", f"/projects/{_seg(project_id)}")

    async def preview_project(self, body: Body) -> ProjectPreview:
        """``POST /projects/preview``: a dry run returning ``plan_hash`` (no idempotency key)."""
        payload = request_body(ProjectCreateRequest, body, "project preview")
        return await self._call(
            ProjectPreview, "POST", "/projects/preview", body=payload, idempotent_write=False
        )

    async def create_project(
        self, body: Body, *, idempotency_key: str | None = None
    ) -> ProjectCreateResult:
        """``POST /projects`` (with nested spaces/timers and ``expected_plan_hash`` if given)."""
        payload = request_body(ProjectCreateRequest, body, "project")

        async def check(answer: ProjectCreateResult) -> tuple[str | None, Any]:
            try:
                await self.get_project(answer.id)
            except NotFoundError:  # created once, deleted since: make it again
                return f"gone:{answer.id}", None
            return None, answer

        return await self._verified_write(
            ProjectCreateResult, "POST", "/projects", payload, idempotency_key, check
        )

    async def update_project(
        self, project_id: str, body: Body, *, idempotency_key: str | None = None
    ) -> Project:
        """``PATCH /projects/{id}``."""
        payload = request_body(ProjectUpdateRequest, body, "project update")
        path = f"/projects/{_seg(project_id)}"
        return await self._call(
            Project, "PATCH", path, body=payload, idempotency_key=idempotency_key
        )

    async def delete_project(
        self, project_id: str, *, idempotency_key: str | None = None
    ) -> DeletedResource:
        """``DELETE /projects/{id}`` (with everything in it)."""
        path = f"/projects/{_seg(project_id)}"
        return await self._call(
            DeletedResource, "DELETE", path, idempotency_key=idempotency_key
        )

    async def list_spaces(self, project_id: str) -> list[Space]:
        """Every space of a project."""
        return await list_all(self._requester, Space, f"/projects/{_seg(project_id)}/spaces")

    async def create_space(
        self, project_id: str, body: Body, *, idempotency_key: str | None = None
    ) -> Space:
        """``POST /projects/{id}/spaces``."""
        payload = request_body(SpaceCreateRequest, body, "space")
        path = f"/projects/{_seg(project_id)}/spaces"

        async def check(answer: Space) -> tuple[str | None, Any]:
            try:
                return None, await self.get_space(project_id, answer.id)
            except NotFoundError:
                return f"gone:{answer.id}:{answer.created_at}", None

        return await self._verified_write(Space, "POST", path, payload, idempotency_key, check)

    async def get_space(self, project_id: str, space_id: str) -> Space:
        """``GET /projects/{id}/spaces/{space_id}``."""
        path = f"/projects/{_seg(project_id)}/spaces/{_seg(space_id)}"
        return await self._call(Space, "GET", path)

    async def update_space(
        self, project_id: str, space_id: str, body: Body, *, idempotency_key: str | None = None
    ) -> Space:
        """``PATCH /projects/{id}/spaces/{space_id}``."""
        payload = request_body(SpaceUpdateRequest, body, "space update")
        path = f"/projects/{_seg(project_id)}/spaces/{_seg(space_id)}"
        return await self._call(
            Space, "PATCH", path, body=payload, idempotency_key=idempotency_key
        )

    async def delete_space(
        self, project_id: str, space_id: str, *, idempotency_key: str | None = None
    ) -> DeletedResource:
        """``DELETE /projects/{id}/spaces/{space_id}``."""
        path = f"/projects/{_seg(project_id)}/spaces/{_seg(space_id)}"

        async def check(answer: DeletedResource) -> tuple[str | None, Any]:
            try:
                current = await self.get_space(project_id, space_id)
            except NotFoundError:
                return None, answer
            return f"alive:{current.created_at}", None

        return await self._verified_write(
            DeletedResource, "DELETE", path, None, idempotency_key, check
        )

    async def list_timers(self, project_id: str) -> list[Timer]:
        """Every timer of a project, archived ones included."""
        return await list_all(self._requester, Timer, f"/projects/{_seg(project_id)}/timers")

    async def get_timer(self, project_id: str, timer_id: str) -> Timer:
        """``GET /projects/{id}/timers/{timer_id}``."""
        path = f"/projects/{_seg(project_id)}/timers/{_seg(timer_id)}"
        return await self._call(Timer, "GET", path)

    async def create_timer(
        self, project_id: str, body: Body, *, idempotency_key: str | None = None
    ) -> Timer:
        """``POST /projects/{id}/timers``."""
        payload = request_body(TimerCreateRequest, body, "timer")
        path = f"/projects/{_seg(project_id)}/timers"

        async def check(answer: Timer) -> tuple[str | None, Any]:
            try:
                return None, await self.get_timer(project_id, answer.id)
            except NotFoundError:  # created once, deleted since: this is a new creation
                return f"gone:{answer.id}:{answer.created_at}", None

        return await self._verified_write(Timer, "POST", path, payload, idempotency_key, check)

    async def update_timer(
        self, project_id: str, timer_id: str, body: Body, *, idempotency_key: str | None = None
    ) -> Timer:
        """``PATCH`` a timer: only the fields set are sent (``archived_at=None`` restores)."""
        payload = request_body(TimerUpdateRequest, body, "timer update")
        path = f"/projects/{_seg(project_id)}/timers/{_seg(timer_id)}"

        async def check(answer: Timer) -> tuple[str | None, Any]:
            current = await self.get_timer(project_id, timer_id)
            if timer_reflects(payload, current):
                return None, current
            return f"base:{current.updated_at}", None

        return await self._verified_write(Timer, "PATCH", path, payload, idempotency_key, check)

    async def delete_timer(
        self, project_id: str, timer_id: str, *, idempotency_key: str | None = None
    ) -> DeletedResource:
        """``DELETE /projects/{id}/timers/{timer_id}``."""
        path = f"/projects/{_seg(project_id)}/timers/{_seg(timer_id)}"

        async def check(answer: DeletedResource) -> tuple[str | None, Any]:
            try:
                current = await self.get_timer(project_id, timer_id)
            except NotFoundError:
                return None, answer
            return f"alive:{current.created_at}", None  # re-created since the first delete

        return await self._verified_write(
            DeletedResource, "DELETE", path, None, idempotency_key, check
        )

    async def list_shares(self, project_id: str) -> list[Share]:
        """Every public timer link of a project."""
        return await list_all(self._requester, Share, f"/projects/{_seg(project_id)}/shares")

    async def create_share(
        self, project_id: str, timer_id: str, *, idempotency_key: str | None = None
    ) -> Share:
        """``POST /projects/{id}/shares`` for ``timer_id``."""
        payload = request_body(ShareCreateRequest, {"timer_id": timer_id}, "share")
        path = f"/projects/{_seg(project_id)}/shares"
        return await self._call(Share, "POST", path, body=payload, idempotency_key=idempotency_key)

    async def sync(self, etag: str | None = None) -> SyncResult:
        """``GET /sync`` with ``If-None-Match``; ``not_modified`` when nothing changed."""
        headers = {"If-None-Match": etag} if etag else None
        response = await self._requester.request("GET", "/sync", headers=headers)
        new_etag = response.headers.get("ETag") or None
        if response.status_code == 304:
            return SyncResult(snapshot=None, etag=new_etag or etag, not_modified=True)
        return SyncResult(
            snapshot=parse(Sync, response, "GET /sync"), etag=new_etag, not_modified=False
        )
