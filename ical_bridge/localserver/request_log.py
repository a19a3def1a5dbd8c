"""An opt-in request log for the emulator: one JSON line per answered request.

Each line holds ``start``/``end`` (Unix time), ``method``, ``path``, ``status``,
the ``X-Correlation-Id`` and ``Idempotency-Key`` sent: enough for a test in
another process to tell which unit of work sent which request, and whether two
of them overlapped. Never the ``Authorization`` header or a body.

``delay`` (seconds, default 0) holds every request that long before it is
handled: a stand-in for a far-away server, so a test can catch a pass mid-way.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import IO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestLog"]


class RequestLog:
    """ASGI middleware appending a JSON line per HTTP request to ``path``."""

    def __init__(self, app: ASGIApp, path: Path, delay: float = 0.0) -> None:
        self.app = app
        self.delay = delay
        self._file: IO[str] = path.open("a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.time()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            if self.delay > 0:
                await asyncio.sleep(self.delay)
            await self.app(scope, receive, capture)
        finally:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                       for k, v in scope.get("headers", [])}
            line = {
                "start": started,
                "end": time.time(),
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "correlation": headers.get("x-correlation-id"),
                "idempotency_key": headers.get("idempotency-key"),
            }
            with self._lock:
                self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
