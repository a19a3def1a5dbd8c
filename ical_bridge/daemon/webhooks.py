"""Keeping the daemon's tickward webhook registered, verified and its secret rotated.

With ``[server] public_url`` the daemon owns one endpoint pointing at
``<public_url>/hooks/tickward``. What it created is remembered in the state
store (endpoint id and URL, every id it ever created, the signing secrets), so
it only ever re-activates, replaces or deletes endpoints it made itself: an
account already holding tickward's three active endpoints keeps them, and push
updates stay off (with a warning). tickward has no "rotate secret" call: a
rotation creates a new endpoint, stores its secret next to the old one (the
receiver accepts both), verifies it with ``/webhooks/{id}/test`` and then
deletes the old endpoint.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass

from ical_bridge.clock import Clock, SystemClock
from ical_bridge.errors import NotFoundError, TickwardError
from ical_bridge.store import StateStore
from ical_bridge.tickward import TickwardClient
from ical_bridge.tickward.webhooks import CreatedWebhookEndpoint, WebhookApi

__all__ = [
    "EVENT_TYPES",
    "HOOK_PATH",
    "MAX_ENDPOINTS",
    "WebhookOutcome",
    "ensure_webhook",
    "hook_url",
    "keep_registered",
    "rotate_webhook",
    "stored_secrets",
    "verify_webhook",
]

log = logging.getLogger("ical_bridge.daemon")

HOOK_PATH = "/hooks/tickward"
MAX_ENDPOINTS = 3  # active endpoints per account (SERVER-NOTES)
EVENT_TYPES = [
    "timer.created",
    "timer.updated",
    "timer.archived",
    "timer.restored",
    "timer.deleted",
    "timer.ended",
]
NAME = "ical-bridge"
_ENDPOINT = "webhook:endpoint"  # {"id", "url"} of the endpoint in use
_CREATED = "webhook:created"  # every endpoint id this bridge created
_SECRETS = "webhook:secrets"  # signing secrets, newest first (the receiver accepts each)
_KEEP_SECRETS = 2


@dataclass(frozen=True)
class WebhookOutcome:
    """What registration did: ``kept|created|reactivated|replaced|rotated|no_slot``."""

    action: str
    endpoint_id: str | None = None
    url: str | None = None
    verified: bool | None = None  # None: not tested
    message: str = ""


def hook_url(public_url: str) -> str:
    """Where tickward should deliver: ``<public_url>/hooks/tickward``."""
    return public_url.rstrip("/") + HOOK_PATH


def _load(store: StateStore, key: str) -> object:
    raw = store.kv_get(key)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def stored_secrets(store: StateStore) -> list[str]:
    """The signing secrets of the bridge's endpoints, newest first."""
    value = _load(store, _SECRETS)
    return [s for s in value if isinstance(s, str) and s] if isinstance(value, list) else []


def _current(store: StateStore) -> dict[str, str] | None:
    value = _load(store, _ENDPOINT)
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return {"id": value["id"], "url": str(value.get("url", ""))}
    return None


def _created(store: StateStore) -> list[str]:
    value = _load(store, _CREATED)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _adopt(store: StateStore, created: CreatedWebhookEndpoint) -> None:
    """Remember a new endpoint of ours and its secret (before anything can be delivered)."""
    with store.transaction():
        store.kv_set(_CREATED, json.dumps([*_created(store), created.id][-20:]))
        keep = [created.signing_secret, *stored_secrets(store)][:_KEEP_SECRETS]
        store.kv_set(_SECRETS, json.dumps(keep))
        store.kv_set(_ENDPOINT, json.dumps({"id": created.id, "url": created.url}))


def _key(what: str) -> str:
    return f"ical-bridge-webhook-{what}-{secrets.token_hex(8)}"


async def _create(api: WebhookApi, store: StateStore, url: str) -> CreatedWebhookEndpoint | None:
    """A new endpoint of ours, or None when the account has no free slot we may use."""
    endpoints = await api.endpoints()
    active = [e for e in endpoints if e.status == "active"]
    mine = set(_created(store))
    if len(active) >= MAX_ENDPOINTS:
        spare = [e for e in active if e.id in mine]
        if not spare:
            return None  # every slot is someone else's: never take one
        # one of ours (an old URL) gives its slot; it is re-activated if the create fails
        await api.set_status(spare[0].id, "disabled", key=_key("disable"))
        try:
            created = await api.create(NAME, url, EVENT_TYPES, idempotency_key=_key("create"))
        except TickwardError:
            await api.set_status(spare[0].id, "active", key=_key("enable"))
            raise
    else:
        created = await api.create(NAME, url, EVENT_TYPES, idempotency_key=_key("create"))
    _adopt(store, created)
    return created


async def _drop(api: WebhookApi, store: StateStore, endpoint_id: str) -> None:
    """Delete an endpoint, only if this bridge created it."""
    if endpoint_id not in _created(store):
        return
    try:
        await api.delete(endpoint_id, key=_key("delete"))
    except NotFoundError:
        pass
    with store.transaction():
        store.kv_set(_CREATED, json.dumps([i for i in _created(store) if i != endpoint_id]))


async def verify_webhook(
    client: TickwardClient,
    endpoint_id: str,
    *,
    wait: float = 15.0,
    clock: Clock | None = None,
) -> bool:
    """Send a test event and wait until tickward reports it delivered (False: failed/late)."""
    api = WebhookApi(client)
    clock = clock or SystemClock()
    result = await api.test(endpoint_id, key=_key("test"))
    delivery_id = result.delivery.id
    deadline = clock.monotonic() + wait
    pause = 0.2
    while clock.monotonic() < deadline:
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, 2.0)
        for delivery in await api.deliveries(endpoint_id, limit=20):
            if delivery.id != delivery_id:
                continue
            if delivery.status == "delivered":
                return True
            if delivery.status == "failed" or delivery.attempt_count > 0:
                log.warning(
                    "webhook test not accepted: %s",
                    delivery.error or f"HTTP {delivery.response_status}",
                )
                return False
    return False


async def ensure_webhook(
    client: TickwardClient,
    store: StateStore,
    public_url: str,
    *,
    verify: bool = True,
    wait: float = 15.0,
) -> WebhookOutcome:
    """Make sure the bridge's endpoint exists, is active and points at ``public_url``."""
    api = WebhookApi(client)
    url = hook_url(public_url)
    current = _current(store)
    action = "created"
    if current is not None:
        try:
            endpoint = await api.get(current["id"])
        except NotFoundError:
            endpoint = None  # deleted by someone: make a new one
        if endpoint is not None and endpoint.url == url:
            if endpoint.status == "active":
                return WebhookOutcome("kept", endpoint.id, url)
            await api.set_status(endpoint.id, "active", key=_key("enable"))
            action = "reactivated"
            created_id = endpoint.id
        else:
            action = "replaced" if endpoint is not None else "created"
            made = await _create(api, store, url)
            if made is None:
                return _no_slot(url)
            created_id = made.id
            if endpoint is not None:
                await _drop(api, store, endpoint.id)
    else:
        made = await _create(api, store, url)
        if made is None:
            return _no_slot(url)
        created_id = made.id
    verified = await verify_webhook(client, created_id, wait=wait) if verify else None
    log.info("webhook %s id=%s verified=%s", action, created_id, verified)
    return WebhookOutcome(action, created_id, url, verified)


def _no_slot(url: str) -> WebhookOutcome:
    message = (
        f"the tickward account already has {MAX_ENDPOINTS} active webhook endpoints, none "
        "created by ical-bridge; push updates are off (free a slot, then restart)"
    )
    log.warning("%s", message)
    return WebhookOutcome("no_slot", None, url, None, message)


async def rotate_webhook(
    client: TickwardClient,
    store: StateStore,
    public_url: str,
    *,
    wait: float = 15.0,
) -> WebhookOutcome:
    """A new endpoint with a new secret replaces the bridge's current one (verified first)."""
    api = WebhookApi(client)
    url = hook_url(public_url)
    old = _current(store)
    made = await _create(api, store, url)
    if made is None:
        return _no_slot(url)
    verified = await verify_webhook(client, made.id, wait=wait)
    if old is not None:
        await _drop(api, store, old["id"])
    log.info("webhook rotated id=%s verified=%s", made.id, verified)
    return WebhookOutcome("rotated", made.id, url, verified)


async def _listening(host: str, port: int, within: float = 10.0) -> bool:
    """True once something accepts connections at ``host:port`` (the feed server is up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return True
    return False


async def keep_registered(
    client: TickwardClient,
    store: StateStore,
    public_url: str,
    *,
    host: str,
    port: int,
    every: float = 900.0,
) -> None:
    """Register (once the receiver listens), then check the endpoint every ``every`` seconds."""
    probe = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    await _listening(probe, port)
    while True:
        try:
            outcome = await ensure_webhook(client, store, public_url)
            if outcome.action != "kept" and outcome.verified is False:
                log.warning("webhook id=%s did not accept the test delivery (is %s reachable "
                            "from tickward?)", outcome.endpoint_id, outcome.url)
        except TickwardError as exc:
            log.warning("webhook registration failed: %s", exc)
        await asyncio.sleep(every)
