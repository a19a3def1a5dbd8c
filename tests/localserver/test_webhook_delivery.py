"""Webhook delivery to a real loopback receiver: signatures, events per write, retries."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.localserver.ls_harness import Harness


class Receiver:
    """A loopback HTTP receiver that records every POST and answers the queued statuses."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def events(self) -> list[dict[str, Any]]:
        """The received bodies, parsed."""
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver()
    box.thread.start()
    yield box
    box.server.shutdown()
    box.server.server_close()


def _deliver(api: Harness) -> int:
    delivered: int = asyncio.run(api.app.state.deliverer.deliver_due())
    return delivered


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    parts = dict(item.split("=", 1) for item in headers["tickward-signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(parts["v1"], expected.hexdigest())


def test_every_timer_write_is_delivered_signed(receiver: Receiver) -> None:
    api = Harness(allow_private_webhooks=True)
    hook = api.post("/webhooks", json={"name": "Local", "url": receiver.url}).json()
    pid = api.project()["id"]
    timer = api.timer(pid, label="Watched")
    url = f"/projects/{pid}/timers/{timer['id']}"
    api.patch(url, json={"label": "Watched"})  # changes nothing, still an event (measured)
    api.patch(url, json={"archived_at": "2027-03-01T12:00:00Z"})
    api.patch(url, json={"archived_at": None})
    api.delete(url)
    assert _deliver(api) == 5
    events = receiver.events()
    assert [e["type"] for e in events] == [
        "timer.created",
        "timer.updated",
        "timer.archived",
        "timer.restored",
        "timer.deleted",
    ]
    assert len({e["id"] for e in events}) == 5
    for (headers, body), event in zip(receiver.received, events, strict=True):
        assert _verify(hook["signing_secret"], headers, body)
        assert headers["tickward-event-id"] == event["id"]
        assert event["object"] == "event" and "actor" not in json.dumps(event)
        assert event["data"]["object"]["timer_id"] == timer["id"]
        assert event["data"]["object"]["project_id"] == pid
    assert not _verify("whsec_wrong", *receiver.received[0])
    assert _deliver(api) == 0  # nothing left


def test_a_failed_delivery_is_retried_with_the_same_event(receiver: Receiver) -> None:
    api = Harness(allow_private_webhooks=True)
    hook = api.post("/webhooks", json={"name": "Local", "url": receiver.url}).json()
    receiver.statuses = [500]
    api.timer(api.project()["id"])
    assert _deliver(api) == 0
    listed = api.get(f"/webhooks/{hook['id']}/deliveries").json()["data"]
    assert (listed[0]["status"], listed[0]["attempt_count"]) == ("pending", 1)
    assert listed[0]["response_status"] == 500
    assert _deliver(api) == 0  # not due before the backoff
    api.clock.advance(60)
    assert _deliver(api) == 1
    first, second = receiver.events()
    assert first == second  # at-least-once: the same envelope, dedupe on its id
    done = api.get(f"/webhooks/{hook['id']}/deliveries").json()["data"][0]
    assert (done["status"], done["attempt_count"]) == ("delivered", 2)
    assert api.get(f"/webhooks/{hook['id']}").json()["last_delivered_at"] is not None


def test_only_active_subscribed_endpoints_receive(receiver: Receiver) -> None:
    api = Harness(allow_private_webhooks=True)
    only_deletes = {"name": "D", "url": receiver.url, "event_types": ["timer.deleted"]}
    api.post("/webhooks", json=only_deletes)
    off = api.post("/webhooks", json={"name": "Off", "url": receiver.url}).json()
    api.patch(f"/webhooks/{off['id']}", json={"status": "disabled"})
    pid = api.project()["id"]
    timer = api.timer(pid)
    api.delete(f"/projects/{pid}/timers/{timer['id']}")
    assert _deliver(api) == 1
    assert [e["type"] for e in receiver.events()] == ["timer.deleted"]


def test_a_test_event_is_delivered(receiver: Receiver) -> None:
    api = Harness(allow_private_webhooks=True)
    hook = api.post("/webhooks", json={"name": "Local", "url": receiver.url}).json()
    api.post(f"/webhooks/{hook['id']}/test", json={"event_type": "timer.created"})
    assert _deliver(api) == 1
    (event,) = receiver.events()
    assert event["type"] == "timer.created"
    assert event["data"]["object"]["object"] == "webhook_endpoint"
