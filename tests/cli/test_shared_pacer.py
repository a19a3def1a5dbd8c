"""Every client the bridge builds for one tickward account shares one rate-limit budget.

tickward has one bucket per user. Two clients of one process (say the daemon's and a
second command's) that paced on their own budgets would each think requests were left
and meet 429s; sharing one ``Pacer`` they wait instead. Real HTTP on loopback against the
local server with a small per-user limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ical_bridge.cli import Settings
from ical_bridge.cli.context import open_client
from ical_bridge.localserver import RateLimitConfig
from ical_bridge.tickward import TickwardClient
from tests.daemon.conftest import tickward_factory  # noqa: F401 (fixture)
from tests.daemon.daemon_helpers import Tickward

LIMIT = 6
CLIENTS = 3
EACH = 4  # 12 requests: two windows' worth


def test_clients_of_one_account_share_the_budget_and_meet_no_429(
    tickward_factory: Callable[..., Tickward],  # noqa: F811
) -> None:
    tickward = tickward_factory(RateLimitConfig(per_user=LIMIT, per_ip=1000, window_seconds=3.0))
    settings = Settings(api_url=tickward.url, api_key=tickward.key)

    async def main() -> tuple[int, int, int]:
        clients = [open_client(settings, stderr_note=print) for _ in range(CLIENTS)]

        async def use(client: TickwardClient) -> None:
            async with client:
                for _ in range(EACH):
                    await client.list_projects()

        await asyncio.gather(*(use(c) for c in clients))  # side by side, as in one daemon
        return (
            sum(c.stats.rate_limited for c in clients),
            sum(c.stats.paced for c in clients),
            sum(c.stats.requests for c in clients),
        )

    rate_limited, paced, requests = asyncio.run(main())
    assert rate_limited == 0  # no request met a 429
    assert paced >= 1 and requests == CLIENTS * EACH  # they waited for the window instead
