"""``python -m tests.feeds.serve_proc DIR``: the harness feed server in its own process.

Prints ``port <n>`` once listening and serves until its stdin closes, so a test
can measure the server's memory (``/proc/<pid>/status``) apart from its own.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from ical_bridge.feeds.guard import harden
from ical_bridge.feeds.server import make_server
from tests.feeds.feed_harness import harness


async def main(folder: Path) -> None:
    async with harness(folder) as h:
        server = harden(make_server(h.app, host="127.0.0.1", port=0))
        task = asyncio.create_task(server.serve())
        deadline = time.monotonic() + 20
        while not server.started:
            if task.done() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        print(f"port {port} token {h.token()}", flush=True)
        await asyncio.to_thread(sys.stdin.read)
        server.should_exit = True
        await task


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
