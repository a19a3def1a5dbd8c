"""The request loop: pacing, idempotency keys, bounded retries and error mapping."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http.cookiejar import CookieJar
from typing import Any, TypeVar

import httpx
import pydantic

from ical_bridge import __version__
from ical_bridge.clock import Clock
from ical_bridge.errors import TransportError
from ical_bridge.tickward._errors import ResponseFormatError, api_error, parse_retry_after
from ical_bridge.tickward._idempotency import derive_key, valid_key
from ical_bridge.tickward._pacing import Pacer
from ical_bridge.tickward._replay import ATTEMPT_EXTENSION
from ical_bridge.tickward._retry import RETRYABLE_STATUSES, RetryPolicy, is_retryable_exception
from ical_bridge.tickward._tally import tally_request

__all__ = ["USER_AGENT", "ClientStats", "NoCookies", "Requester", "list_all", "parse"]

USER_AGENT = f"ical-bridge/{__version__}"
WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})
_URL_CACHE = 256

log = logging.getLogger("ical_bridge.tickward")
_R = TypeVar("_R", bound=pydantic.BaseModel)


@dataclass
class ClientStats:
    """Counters of one client's life."""

    requests: int = 0  # HTTP attempts sent (retries included)
    retries: int = 0  # attempts that were repeats after a failure
    rate_limited: int = 0  # 429 answers received
    replayed: int = 0  # answers marked Idempotency-Replayed: true
    paced: int = 0  # waits inserted by client-side pacing
    paced_seconds: float = 0.0  # total seconds of those waits


def _in_progress(response: httpx.Response) -> bool:
    if response.status_code != 409:
        return False
    try:
        error = json.loads(response.content).get("error", {})
    except (ValueError, AttributeError):
        return False
    return isinstance(error, dict) and "idempotency_key_in_progress" in (
        error.get("type"),
        error.get("code"),
    )


class Requester:
    """Sends one logical request, retrying and pacing until it has a final answer."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        clock: Clock,
        sleep: Callable[[float], Awaitable[None]],
        policy: RetryPolicy,
        pacer: Pacer | None,
        where: str,
        direct: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = http
        # an app in this process: requests go straight to its transport (see ``_send``)
        self.direct = direct
        self.clock = clock
        self.sleep = sleep
        self.policy = policy
        self.pacer = pacer
        self.stats = ClientStats()
        self.where = where  # host for messages: never the key
        # absolute URLs are parsed once per request (a relative one is merged with a re-parse)
        self._base = str(http.base_url).rstrip("/") + "/"
        self._urls: dict[str, httpx.URL] = {}  # parsed once: an import repeats a few paths
        self._pace_lock = asyncio.Lock()
        # Until the first answer tells the budget, concurrent callers send one request at a time.
        self._first_answer = asyncio.Event()

    async def _pace(self) -> None:
        if self.pacer is None:
            return
        while not self._first_answer.is_set() and self.pacer.in_flight > 0:
            if self.pacer.informed:  # a client sharing the pacer already got an answer
                break
            with contextlib.suppress(TimeoutError):  # that other client's answer may come first
                await asyncio.wait_for(self._first_answer.wait(), 0.05)
        async with self._pace_lock:
            wait = self.pacer.delay()
            if wait > 0:
                self.stats.paced += 1
                self.stats.paced_seconds += wait
                log.debug("pacing: waiting %.2f s for the rate-limit window", wait)
                await self.sleep(wait)
                self.pacer.forget_window()
            self.pacer.sent()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        idempotent_write: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One logical request; returns a 2xx/304 response or raises an ``ical_bridge`` error."""
        send_headers = dict(headers or {})
        content: bytes | None = None
        if body is not None:
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            send_headers["Content-Type"] = "application/json"
        if method in WRITE_METHODS and idempotent_write:
            key = idempotency_key or derive_key(method, path, body)
            if not valid_key(key):
                raise ValueError("an Idempotency-Key has 8-128 characters of [A-Za-z0-9._:-]")
            send_headers["Idempotency-Key"] = key
        attempt = 0
        while True:
            attempt += 1
            await self._pace()
            self.stats.requests += 1
            tally_request()
            started = time.perf_counter()
            try:
                response = await self._send(method, self._url(path), params, content, send_headers)
            except httpx.HTTPError as exc:
                if self.pacer is not None:
                    self.pacer.done()
                    self._first_answer.set()
                log.debug(
                    "%s %s -> %s after %.0f ms (attempt %d)",
                    method, path, type(exc).__name__, (time.perf_counter() - started) * 1000,
                    attempt,
                )
                if not is_retryable_exception(exc):
                    raise TransportError(f"request to {self.where} failed: {exc}") from exc
                if attempt > self.policy.max_retries:
                    raise TransportError(
                        f"could not reach tickward at {self.where}: {type(exc).__name__}"
                        f"{': ' + str(exc) if str(exc) else ''} (gave up after {attempt} attempts)"
                    ) from exc
                self.stats.retries += 1
                wait = self.policy.delay(attempt, None)
                log.info("%s %s: %s, retrying in %.1f s", method, path, type(exc).__name__, wait)
                await self.sleep(wait)
                continue
            if self.pacer is not None:
                self.pacer.observe(response.headers)
                self.pacer.done()
                self._first_answer.set()
            log.debug(
                "%s %s -> %d in %.0f ms (attempt %d)",
                method, path, response.status_code, (time.perf_counter() - started) * 1000,
                attempt,
            )
            status = response.status_code
            if status == 429:
                self.stats.rate_limited += 1
            if response.is_success or status == 304:
                if response.headers.get("Idempotency-Replayed", "").lower() == "true":
                    self.stats.replayed += 1
                response.extensions[ATTEMPT_EXTENSION] = attempt
                return response
            retryable = status in RETRYABLE_STATUSES or _in_progress(response)
            if retryable and attempt <= self.policy.max_retries:
                self.stats.retries += 1
                # Retry-After is only a request to wait on an error answer, never on a 2xx.
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                wait = self.policy.delay(attempt, retry_after)
                log.info("%s %s: HTTP %d, retrying in %.1f s", method, path, status, wait)
                await self.sleep(wait)
                continue
            suffix = f" (gave up after {attempt} attempts)" if retryable else ""
            raise api_error(response, suffix=suffix)

    def _url(self, path: str) -> httpx.URL:
        """The absolute URL of ``path`` (cached: parsing one costs as much as sending it
        to the embedded store's routing)."""
        url = self._urls.get(path)
        if url is None:
            if len(self._urls) >= _URL_CACHE:
                self._urls.clear()
            url = self._urls[path] = httpx.URL(self._base + path.lstrip("/"))
        return url

    async def _send(
        self,
        method: str,
        url: httpx.URL,
        params: Mapping[str, str | int] | None,
        content: bytes | None,
        headers: dict[str, str],
    ) -> httpx.Response:
        """Send one attempt: through the httpx client, or, for an app in this process
        when no event hook watches the client, straight to its transport.

        The direct way builds the request the client would build (its default headers,
        then the request's; the same URL, query and body), so the app sees the same
        request; it skips what only a network connection needs (redirects, cookie
        handling, httpx's per-request log line), which costs more than the app's own work.
        """
        hooks = self.http.event_hooks
        if self.direct is None or hooks["request"] or hooks["response"]:
            return await self.http.request(
                method, url, params=params, content=content, headers=headers
            )
        merged = self.http.headers.copy()
        merged.update(headers)
        request = httpx.Request(method, url, params=params, headers=merged, content=content,
                                extensions={"timeout": self.http.timeout.as_dict()})
        response = await self.direct.handle_async_request(request)
        response.request = request
        await response.aread()
        return response


class NoCookies(CookieJar):
    """A cookie jar that keeps nothing: the API authenticates by key, never by cookie."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Ignore ``Set-Cookie``."""


def parse(model: type[_R], response: httpx.Response, what: str) -> _R:
    """The body of a 2xx ``response`` as ``model``; ``ResponseFormatError`` if it is not one."""
    try:
        return model.model_validate_json(response.content)
    except pydantic.ValidationError as exc:
        raise ResponseFormatError(
            f"unexpected answer to {what} ({response.status_code}): "
            f"{exc.error_count()} problem(s), first: {exc.errors()[0]['msg']}"
        ) from None


async def list_all(
    requester: Requester, model: type[_R], path: str, *, page_size: int | None = None
) -> list[_R]:
    """Every item of a list endpoint, following ``has_more`` with ``after``."""
    items: list[_R] = []
    seen: set[str] = set()
    params: dict[str, str | int] = {"limit": page_size} if page_size else {}
    while True:
        response = await requester.request("GET", path, params=params or None)
        try:
            page = response.json()
            has_more = bool(page.get("has_more"))
            batch = [model.model_validate(item) for item in page["data"]]
        except (ValueError, KeyError, TypeError, AttributeError, pydantic.ValidationError) as exc:
            raise ResponseFormatError(f"unexpected list answer to GET {path}: {exc}") from None
        fresh = [i for i in batch if str(getattr(i, "id", "")) not in seen]
        items.extend(fresh)
        seen.update(str(getattr(i, "id", "")) for i in fresh)
        if not has_more or not fresh:  # no progress: a server ignoring `after`
            return items
        params = {**params, "after": str(getattr(fresh[-1], "id", ""))}
