"""The daemon's webhook registration: it keeps its own endpoint and never takes another's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from ical_bridge.daemon.webhooks import ensure_webhook, stored_secrets
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app
from ical_bridge.store import StateStore
from ical_bridge.tickward import TickwardClient

PUBLIC = "https://bridge.example.org"
_T = TypeVar("_T")


def _run(
    tmp: Path, body: Callable[[TickwardClient, StateStore, httpx.AsyncClient], Awaitable[_T]]
) -> _T:
    app = create_app(None, rate_limit=None)  # the hosted rules: https only, no private targets
    store = StateStore(f"sqlite:///{tmp / 'state.sqlite3'}")

    async def main() -> _T:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {EMBEDDED_API_KEY}"}
        async with (
            TickwardClient("http://t/api/v1", EMBEDDED_API_KEY, transport=transport,
                           pacing=False) as client,
            httpx.AsyncClient(transport=transport, base_url="http://t/api/v1",
                              headers=headers) as user,
        ):
            return await body(client, store, user)

    try:
        return asyncio.run(main())
    finally:
        store.close()


async def _hooks(user: httpx.AsyncClient) -> list[dict[str, Any]]:
    return list((await user.get("/webhooks")).json()["data"])


def test_three_foreign_endpoints_are_left_alone_and_push_stays_off(tmp_path: Path) -> None:
    async def body(client: TickwardClient, store: StateStore, user: httpx.AsyncClient) -> None:
        for n in range(3):
            made = await user.post("/webhooks", json={"name": f"Zapier {n}",
                                                      "url": f"https://z{n}.example.com/h"})
            assert made.status_code == 201
        before = await _hooks(user)
        outcome = await ensure_webhook(client, store, PUBLIC, verify=False)
        assert outcome.action == "no_slot" and "3 active webhook endpoints" in outcome.message
        assert await _hooks(user) == before  # nothing created, disabled or deleted
        assert stored_secrets(store) == []

    _run(tmp_path, body)


def test_own_endpoint_is_kept_recreated_reactivated_and_replaced_only_when_ours(
    tmp_path: Path,
) -> None:
    async def body(client: TickwardClient, store: StateStore, user: httpx.AsyncClient) -> None:
        foreign = (await user.post("/webhooks", json={"name": "Mine, not the bridge's",
                                                      "url": "https://other.example.com/h"})).json()
        created = await ensure_webhook(client, store, PUBLIC, verify=False)
        assert created.action == "created"
        assert created.url == f"{PUBLIC}/hooks/tickward"
        assert stored_secrets(store)[0].startswith("whsec_")  # the once-shown secret is kept
        assert (await ensure_webhook(client, store, PUBLIC, verify=False)).action == "kept"

        await user.patch(f"/webhooks/{created.endpoint_id}", json={"status": "disabled"})
        again = await ensure_webhook(client, store, PUBLIC, verify=False)
        assert (again.action, again.endpoint_id) == ("reactivated", created.endpoint_id)

        await user.delete(f"/webhooks/{created.endpoint_id}")  # someone removed it
        remade = await ensure_webhook(client, store, PUBLIC, verify=False)
        assert remade.action == "created" and remade.endpoint_id != created.endpoint_id

        moved = await ensure_webhook(client, store, "https://new.example.org", verify=False)
        assert moved.action == "replaced"
        hooks = {h["id"]: h for h in await _hooks(user)}
        assert set(hooks) == {foreign["id"], moved.endpoint_id}  # the old one of ours is gone
        assert hooks[foreign["id"]]["status"] == "active"
        assert len(stored_secrets(store)) == 2  # the previous secret still verifies, briefly

    _run(tmp_path, body)


def test_a_full_account_gives_up_a_slot_only_from_the_bridges_own_endpoints(
    tmp_path: Path,
) -> None:
    async def body(client: TickwardClient, store: StateStore, user: httpx.AsyncClient) -> None:
        ours = await ensure_webhook(client, store, PUBLIC, verify=False)
        for n in range(2):
            await user.post("/webhooks", json={"name": f"F{n}", "url": f"https://f{n}.example/h"})
        moved = await ensure_webhook(client, store, "https://moved.example.org", verify=False)
        assert moved.action == "replaced"
        hooks = await _hooks(user)
        assert len(hooks) == 3 and ours.endpoint_id not in {h["id"] for h in hooks}
        assert sorted(h["name"] for h in hooks) == ["F0", "F1", "ical-bridge"]

    _run(tmp_path, body)
