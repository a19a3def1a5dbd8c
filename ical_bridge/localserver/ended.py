"""``timer.ended``: tickward's scheduler, which reports each occurrence as it passes.

The real server emits ``timer.ended`` when a timer's occurrence passes (a
recurring timer once per occurrence; a one-off timer when its target passes),
as long as its scheduler runs. Here ``EndedScheduler.tick()`` looks at the
window since the previous tick on the server's clock: every live ``until``
timer whose occurrence (computed for the start of the window) falls inside it
gets one event. Several occurrences missed while the server was down give one
event, as the next one would anyway. The emulator ticks in the background and
sends the events at once; tests call ``tick()`` with their own clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from ical_bridge.clock import Clock
from ical_bridge.localserver.checker import parse_instant
from ical_bridge.localserver.database import Database, fetch_all
from ical_bridge.localserver.render import effective_date

__all__ = ["EndedScheduler", "ended_object"]

_log = logging.getLogger(__name__)
_LIVE = (
    "SELECT t.*, p.name AS project_name FROM timers t JOIN projects p ON p.id = t.project_id"
    " WHERE t.archived_at IS NULL AND t.mode = 'until' ORDER BY t.rowid"
)


def ended_object(row: dict[str, Any], occurrence: str) -> dict[str, Any]:
    """The ``data.object`` of a ``timer.ended`` event (like the other timer events)."""
    return {
        "id": row["id"],
        "object": "timer",
        "project_id": row["project_id"],
        "project_name": row["project_name"],
        "timer_id": row["id"],
        "timer_label": row["label"],
        "updated_at": row["updated_at"],
        "ended_at": occurrence,
    }


class EndedScheduler:
    """Finds the occurrences that passed since the last tick and emits ``timer.ended``."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        emit: Callable[[str, dict[str, Any], datetime], None],
    ) -> None:
        self.db = db
        self.clock = clock
        self.emit = emit
        self.since = clock.now()  # occurrences before the server started are not reported

    def tick(self) -> int:
        """Emit ``timer.ended`` for every occurrence in ``(previous tick, now]``; how many."""
        now = self.clock.now()
        since, self.since = self.since, now
        if now <= since:
            return 0
        with self.db.transaction() as conn:
            rows = fetch_all(conn, _LIVE)
        emitted = 0
        for row in rows:
            occurrence = effective_date(row, since)
            instant = parse_instant(occurrence)
            if instant is not None and since < instant <= now:
                self.emit("timer.ended", ended_object(row, occurrence), now)
                emitted += 1
        return emitted

    @contextlib.asynccontextmanager
    async def running(
        self, deliver: Callable[[], Awaitable[int]], every: float = 0.2
    ) -> AsyncIterator[None]:
        """Tick in the background while the block runs; new events are delivered at once."""

        async def loop() -> None:
            while True:
                try:
                    if self.tick():
                        await deliver()
                except Exception:  # a bad row must not stop the scheduler
                    _log.exception("timer.ended scheduler failed")
                await asyncio.sleep(every)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
