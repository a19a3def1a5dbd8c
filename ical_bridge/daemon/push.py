"""Acting on tickward's webhook events: advance rolling timers at once, refresh exports.

- ``timer.ended`` for a rolling timer this bridge owns (its state record says
  ``rolling`` and its feed is configured here): the maintenance re-plan runs at
  once, so the timer moves to its next occurrence through plan/apply, the same
  code the scheduled round runs, instead of at the next poll.
- any other ``timer.*`` event for a served export's project: the shared
  snapshot is invalidated and the export re-rendered at once.
- Echoes: tickward's payloads carry no actor, and every write the bridge makes
  comes back as an event. ``EchoBook`` remembers ``(timer id, updated_at)`` of
  every timer write answered through the bridge's client; an event naming one
  of them is the bridge's own and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import OrderedDict
from collections.abc import Collection
from typing import Any

import httpx

from ical_bridge.clock import Clock
from ical_bridge.daemon.bridge import Bridge
from ical_bridge.tickward import TickwardClient

__all__ = ["EchoBook", "PushHandler", "event_object"]

log = logging.getLogger("ical_bridge.daemon")

_TIMER_PATH = re.compile(r"/projects/([^/]+)/timers(?:/([^/]+))?$")
_PROJECTS_PATH = re.compile(r"/projects$")
_WRITES = frozenset({"POST", "PATCH", "DELETE"})
_KEEP = 2048  # remembered writes (oldest forgotten first)
_NO_STAMP_SECONDS = 30.0  # without updated_at: a write of ours this recent is the echo


def event_object(envelope: dict[str, Any]) -> dict[str, Any]:
    """``data.object`` of an event envelope (empty when absent)."""
    data = envelope.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


class EchoBook:
    """The bridge's own timer writes, recognised when tickward echoes them back."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str], tuple[set[str], float]] = OrderedDict()
        self.ignored = 0

    def remember(self, project_id: str, timer_id: str, updated_at: str | None) -> None:
        """Record one write of ours to a timer (``updated_at`` as tickward answered it)."""
        key = (project_id, timer_id)
        stamps, _ = self._seen.pop(key, (set(), 0.0))
        if updated_at:
            stamps.add(updated_at)
        self._seen[key] = (stamps, self._clock.monotonic())
        while len(self._seen) > _KEEP:
            self._seen.popitem(last=False)

    def is_own(self, project_id: str, timer_id: str, updated_at: str | None) -> bool:
        """True when the event is the echo of a write this bridge made."""
        entry = self._seen.get((project_id, timer_id))
        if entry is None:
            return False
        stamps, when = entry
        if updated_at:
            return updated_at in stamps
        return self._clock.monotonic() - when <= _NO_STAMP_SECONDS

    def watch(self, client: TickwardClient) -> None:
        """Remember every timer write answered through ``client``."""

        async def on_response(response: httpx.Response) -> None:
            request = response.request
            if request.method not in _WRITES or response.status_code >= 400:
                return
            path = request.url.path
            timer = _TIMER_PATH.search(path)
            nested = _PROJECTS_PATH.search(path) and request.method == "POST"
            if not timer and not nested:
                return
            await response.aread()
            with contextlib.suppress(ValueError):
                self._note(response.json(), timer.group(1) if timer else None)

        # the client is the bridge's own: its httpx hook list is the seam (as in snapshot.py)
        client._http.event_hooks["response"].append(on_response)

    def _note(self, body: Any, project_id: str | None) -> None:
        if not isinstance(body, dict):
            return
        timers = body.get("timers") if body.get("object") == "project" else [body]
        project = project_id or str(body.get("id", ""))
        for item in timers if isinstance(timers, list) else []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                stamp = item.get("updated_at")
                self.remember(
                    str(item.get("project_id") or project), item["id"],
                    stamp if isinstance(stamp, str) else None,
                )


class PushHandler:
    """The daemon's reaction to one verified, de-duplicated tickward event."""

    def __init__(self, bridge: Bridge, exported_projects: Collection[str]) -> None:
        self.bridge = bridge
        self.echoes = EchoBook(bridge.clock)
        self.echoes.watch(bridge.client)
        self._exported = {p.casefold() for p in exported_projects}
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self.advances = 0

    async def __call__(self, envelope: dict[str, Any]) -> bool:
        """Handle an event; True when exported feeds should refresh from tickward."""
        kind = str(envelope.get("type", ""))
        obj = event_object(envelope)
        if not kind.startswith("timer.") or obj.get("object") != "timer":
            log.info("webhook %s received (%s): nothing to do", envelope.get("id"), kind)
            return False
        project_id = str(obj.get("project_id", ""))
        timer_id = str(obj.get("timer_id") or obj.get("id") or "")
        stamp = obj.get("updated_at") if isinstance(obj.get("updated_at"), str) else None
        if kind != "timer.ended" and self.echoes.is_own(project_id, timer_id, stamp):
            self.echoes.ignored += 1
            log.info("webhook echo ignored: %s timer=%s (our own write)", kind, timer_id)
            return False
        if kind == "timer.ended" and self._owns_rolling(project_id, timer_id):
            log.info("webhook timer.ended timer=%s: advancing rolling timers now", timer_id)
            self._advance()
        names = {project_id.casefold(), str(obj.get("project_name", "")).casefold()}
        return bool(names & self._exported)

    def _owns_rolling(self, project_id: str, timer_id: str) -> bool:
        keys = {f.source_key for f in self.bridge.config.feeds if f.name in self.bridge.specs}
        return any(
            r.timer_id == timer_id and r.strategy == "rolling" and r.source_key in keys
            for r in self.bridge.store.timers(project_id)
        )

    def _advance(self) -> None:
        """Run the maintenance re-plan now (once more after it if events keep coming)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._replan())

    async def _replan(self) -> None:
        while True:
            self._again = False
            try:
                await self.bridge.maintain()
                self.advances += 1
            except Exception:  # the scheduled round will try again
                log.exception("advancing after timer.ended failed")
            if not self._again or self.bridge.closing:
                return

    async def idle(self) -> None:
        """Wait for a running re-plan (tests, shutdown)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
