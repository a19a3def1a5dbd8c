"""Issue 11.9 at the executor: after the server refuses a space for the spaces cap, the
timers meant for the spaces left out are left out too (not sent to fail one by one)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from import_helpers import Harness, calendar, team_events, writes_since

from ical_bridge.localserver import PlanLimits, create_app
from ical_bridge.store import StateStore
from ical_bridge.sync import Limits


def test_timers_of_spaces_left_out_are_not_sent(tmp_path: Path) -> None:
    app = create_app(None, rate_limit=None, plan=PlanLimits(spaces_per_project=1))
    with StateStore(f"sqlite:///{tmp_path / 's.sqlite3'}") as store:
        h = Harness(app, store)

        async def project() -> None:
            async with h.client() as client:
                await client.create_project({"name": "Team"})

        asyncio.run(project())
        text = calendar(team_events(9)).decode()
        for i in range(9):  # three categories, three timers each
            text = text.replace(f"SUMMARY:Meeting {i}\r\n",
                                f"SUMMARY:Meeting {i}\r\nCATEGORIES:cat{i % 3}\r\n")
        mark = len(h.requests)
        spaces = {f"cat{i}": f"Space {i}" for i in range(3)}
        _, report = h.run(text.encode(), categories_to_spaces=spaces,
                          limits=Limits(spaces_per_project=4))
        assert report is not None and not report.ok
        refused = [r for r in writes_since(h.requests, mark) if r.status >= 400]
        assert len(refused) == 1, [(r.method, r.path, r.status) for r in refused]
        assert len(report.left_out) == 1 + 6  # the third space, and the six timers of two
        assert report.done.get("create") == 3 and len(h.timers()) == 3
