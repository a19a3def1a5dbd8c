"""``InProcessTransport``: requests to an ASGI app in this process (the embedded store).

It hands the app exactly the scope ``httpx.ASGITransport`` hands it (same
headers, path, query, server and client address), so the app cannot tell the
two apart; it only skips that transport's per-request costs, which dominate a
large import into the embedded store: a failed ``import sniffio`` (a trio check)
and an event object per request, and a streamed response body.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import httpx

__all__ = ["ASGIApp", "InProcessTransport"]

Message = MutableMapping[str, Any]
ASGIApp = Any  # (scope, receive, send) -> awaitable; Starlette's app, or any ASGI callable


class InProcessTransport(httpx.AsyncBaseTransport):
    """Calls an ASGI ``app`` directly; app exceptions propagate, like ``ASGITransport``'s."""

    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Serve ``request`` through the app and return its whole answer."""
        body = request.content if hasattr(request, "_content") else await request.aread()
        url = request.url
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "server": (url.host, url.port),
            "client": self.client,
            "root_path": "",
        }
        sent_body = False
        done: asyncio.Event | None = None
        complete = False
        status: int | None = None
        headers: list[tuple[bytes, bytes]] = []
        parts: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent_body, done
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            if not complete:  # an app listening for a disconnect waits for its own answer
                done = done or asyncio.Event()
                await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, headers, complete
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if chunk and request.method != "HEAD":
                    parts.append(chunk)
                if not message.get("more_body", False):
                    complete = True
                    if done is not None:
                        done.set()

        await self.app(scope, receive, send)
        if status is None or not complete:
            raise RuntimeError("the in-process app ended without a complete response")
        content = b"".join(parts)
        if not content or any(name.lower() == b"content-length" for name, _ in headers):
            # read already (content= adds a Content-Length only where the app sent none)
            return httpx.Response(status, headers=headers, content=content)
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))
