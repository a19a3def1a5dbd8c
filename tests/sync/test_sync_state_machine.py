"""Issue 15: a Hypothesis state machine over import runs with edits, lost answers and crashes.

The calendar is edited at random (events added, renamed, moved, removed, every UID
re-keyed), and runs happen at random: clean ones, ones whose k-th write commits but
whose answer is lost with the process, and ones that die before the k-th write.
Invariants: at every step no calendar event has two active timers in tickward; after
every completed run tickward's active bridge-made timers are exactly the calendar's
converted timers, each once, and the state store records exactly the bridge timers
tickward has.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from import_helpers import BASE, Event, calendar

from ical_bridge.convert import ImportOptions, convert_calendar
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.store import StateStore
from ical_bridge.sync import SyncOptions, apply_plan, plan_source, reconcile
from ical_bridge.sync.fields import event_key
from ical_bridge.tickward import TickwardClient

KEY = "import:state-machine"
NOW = datetime.now(UTC)


class Killed(BaseException):
    """The importing process died."""


class Faulty(httpx.AsyncBaseTransport):
    """The ``k``-th write dies before it is sent (``crash``) or after it committed (``lost``)."""

    def __init__(self, app: Any, mode: str | None, k: int) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.mode, self.k, self.writes = mode, k, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        write = request.method in ("POST", "PATCH", "DELETE") and not \
            request.url.path.endswith("/preview")
        if write:
            self.writes += 1
            if self.mode == "crash" and self.writes == self.k:
                raise Killed
        response = await self.inner.handle_async_request(request)
        if write and self.mode == "lost" and self.writes == self.k:
            raise Killed
        return response


class ImportMachine(RuleBasedStateMachine):
    """The calendar, tickward (in-process) and the state store of one user."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.app = create_app(None, rate_limit=None)
        self.store = StateStore(f"sqlite:///{Path(self.tmp.name) / 'state.sqlite3'}")
        self.events: dict[int, tuple[str, int, str | None]] = {}
        self.salt = 0
        self.completed = False

    def teardown(self) -> None:
        self.store.close()
        self.tmp.cleanup()

    def data(self) -> bytes:
        return calendar([Event(f"ev-{i}-{self.salt}@sm", f"Event {i} {name}", days, rrule=rule)
                         for i, (name, days, rule) in sorted(self.events.items())])

    def run(self, mode: str | None = None, k: int = 1) -> None:
        async def go() -> None:
            transport = Faulty(self.app, mode, k)
            async with TickwardClient(BASE, EMBEDDED_API_KEY, transport=transport) as client:
                options = SyncOptions(project="Team", now=NOW, source_key=KEY, allow_empty=True)
                plan = await plan_source(client, self.store, self.data(), options)
                if k == 0:  # the last write of this run
                    transport.k = 1 if plan.project.create else len(plan.writes)
                if plan.empty:
                    reconcile(self.store, plan)  # what the CLI does when nothing is to write
                else:
                    report = await apply_plan(client, self.store, plan)
                    assert report.ok, report.failed

        try:
            asyncio.run(go())
            self.completed = True
        except Killed:
            self.completed = False

    # --- the calendar changes -------------------------------------------------------
    @rule(i=st.integers(0, 5), name=st.sampled_from(["A", "B"]), days=st.integers(1, 20),
          rrule=st.sampled_from([None, "FREQ=WEEKLY"]))
    def edit(self, i: int, name: str, days: int, rrule: str | None) -> None:
        self.events[i] = (name, days, rrule)
        self.completed = False

    @precondition(lambda self: bool(self.events))
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        del self.events[data.draw(st.sampled_from(sorted(self.events)))]
        self.completed = False

    @rule()
    def rekey_every_uid(self) -> None:
        self.salt += 1
        self.completed = False

    # --- runs ------------------------------------------------------------------------
    @rule()
    def sync(self) -> None:
        self.run()

    @rule(mode=st.sampled_from(["lost", "crash"]), k=st.integers(0, 3))
    def sync_that_dies(self, mode: str, k: int) -> None:
        """The k-th write (0: the last one) dies before it is sent or after it committed."""
        self.run(mode, k)

    # --- invariants ------------------------------------------------------------------
    def tickward(self) -> tuple[str | None, dict[str, dict[str, Any]]]:
        async def go() -> tuple[str | None, dict[str, dict[str, Any]]]:
            async with TickwardClient(BASE, EMBEDDED_API_KEY,
                                      transport=httpx.ASGITransport(app=self.app)) as client:
                snap = (await client.sync()).snapshot
                assert snap is not None
                pids = [p.id for p in snap.projects if p.name == "Team"]
                assert len(pids) <= 1, "two projects named Team"
                pid = pids[0] if pids else None
                return pid, {t.id: t.model_dump(mode="json") for t in snap.timers
                             if t.project_id == pid and t.id.startswith("icb_")}

        return asyncio.run(go())

    @invariant()
    def never_a_duplicate(self) -> None:
        _, timers = self.tickward()
        keys = Counter(event_key(t) for t in timers.values() if not t["archived_at"])
        assert all(n == 1 for n in keys.values()), keys

    @invariant()
    def after_a_completed_run_tickward_is_the_calendar_and_the_state_agrees(self) -> None:
        if not self.completed:
            return
        pid, timers = self.tickward()
        drafts = convert_calendar(self.data(), ImportOptions(now=NOW, source_key=KEY)).timers
        active = Counter(event_key(t) for t in timers.values() if not t["archived_at"])
        assert active == Counter(event_key(d.timer) for d in drafts)
        records = {r.timer_id for r in self.store.timers(pid)} if pid else set()
        assert records == set(timers)


TestImportMachine = ImportMachine.TestCase
TestImportMachine.settings = settings(
    max_examples=40, stateful_step_count=12, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
