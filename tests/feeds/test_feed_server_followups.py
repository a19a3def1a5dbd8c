"""Feed-server follow-ups: a failing state store on a webhook, the config's proxied-index
switch, and the daemon's feed server hardened like ``serve``'s."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import httpx
import pytest

from ical_bridge.clock import FixedClock
from ical_bridge.config import load_config
from ical_bridge.feeds import sign
from ical_bridge.feeds.server import app_from_config
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.store import StateStore
from ical_bridge.tickward import TickwardClient
from tests.feeds.feed_harness import START, WEBHOOK_SECRET, harness


def _event(event_id: str) -> bytes:
    return json.dumps({"id": event_id, "type": "timer.updated", "data": {"object": {}}}).encode()


def test_webhook_id_not_recordable_answers_503_without_traceback_and_redelivery_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        async with harness(tmp_path) as h:
            path = h.feed_path()
            await h.http.get(path)
            await h.writer.update_timer(h.project.id, "launch_0001", {"label": "Moved"})
            body = _event("evt_store_down")
            stamp = int(h.clock.now().timestamp())
            headers = {"tickward-signature": sign(body, WEBHOOK_SECRET, stamp)}
            h.store.close()  # the state store fails from now on
            down = await h.http.post("/hooks/tickward", content=body, headers=headers)
            assert down.status_code == 503 and down.headers["retry-after"] == "30"
            assert down.json() == {"error": "state store unavailable"}
            # authentic all the same: the feed shows the change at once
            assert b"SUMMARY:Moved" in (await h.http.get(path)).content
            h.store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
            h.app.state.feed_server.store = h.store
            again = await h.http.post("/hooks/tickward", content=body, headers=headers)
            assert again.json() == {"status": "accepted"}  # recorded only now
            replay = await h.http.post("/hooks/tickward", content=body, headers=headers)
            assert replay.json() == {"status": "duplicate"}

    with caplog.at_level(logging.INFO):
        asyncio.run(main())
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert any("evt_store_down" in r.getMessage() and "redeliver" in r.getMessage()
               for r in caplog.records)


def test_allow_proxied_index_in_the_config_reaches_the_feed_app(tmp_path: Path) -> None:
    proxied = {"X-Forwarded-For": "203.0.113.9"}

    async def status(allow: bool) -> int:
        config_path = tmp_path / f"cfg-{allow}.toml"
        config_path.write_text(
            f'[state]\nurl = "sqlite:///{tmp_path / "s.sqlite3"}"\n\n'
            f"[server]\nallow_proxied_index = {str(allow).lower()}\n\n"
            '[[exports]]\nname = "team"\nproject = "Team"\n'
        )
        config = load_config(config_path)
        tickward = create_app(None, rate_limit=None)
        with StateStore(config.state.url) as store:
            async with TickwardClient(
                "http://tickward.test/api/v1", EMBEDDED_API_KEY,
                transport=httpx.ASGITransport(app=tickward), pacing=False,
            ) as client:
                app = app_from_config(config, store, client, clock=FixedClock(START))
                transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
                async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
                    return (await http.get("/", headers=proxied)).status_code

    assert asyncio.run(status(False)) == 404
    assert asyncio.run(status(True)) == 200
