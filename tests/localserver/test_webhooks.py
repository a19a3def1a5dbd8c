"""Webhook management as measured: CRUD, test events, deliveries, limits and URL rules."""

from __future__ import annotations

import pytest

from tests.localserver.ls_harness import Harness, field_errors, plain_error

HOOK = {"name": "Automation", "url": "https://hooks.example.com/tickward"}


def test_create_list_get_update_delete(api: Harness) -> None:
    created = api.post("/webhooks", json=HOOK)
    assert created.status_code == 201
    hook = created.json()
    assert hook["signing_secret"].startswith("whsec_")
    assert hook["status"] == "active" and hook["failure_count"] == 0
    assert len(hook["event_types"]) == 12  # omitted: every supported event type
    public = {k: v for k, v in hook.items() if k != "signing_secret"}
    assert api.get(f"/webhooks/{hook['id']}").json() == public
    assert api.get("/webhooks").json()["data"] == [public]  # the secret is shown only once
    url = f"/webhooks/{hook['id']}"
    disabled = api.patch(url, json={"status": "disabled", "event_types": ["timer.updated"]}).json()
    assert disabled["status"] == "disabled" and disabled["disabled_at"] is not None
    assert disabled["event_types"] == ["timer.updated"]
    active = api.patch(url, json={"status": "active"}).json()
    assert active["disabled_at"] is None
    assert api.delete(url).json() == {
        "object": "webhook_endpoint",
        "id": hook["id"],
        "deleted": True,
    }
    assert api.get(url).status_code == 404


def test_at_most_three_active_endpoints(api: Harness) -> None:
    ids = [api.post("/webhooks", json=HOOK).json()["id"] for _ in range(3)]
    fourth = api.post("/webhooks", json=HOOK)
    assert fourth.status_code == 409
    assert fourth.json()["error"]["type"] == "limit_exceeded"
    api.patch(f"/webhooks/{ids[0]}", json={"status": "disabled"})
    assert api.post("/webhooks", json=HOOK).status_code == 201  # only active ones count


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/x", "Webhook URL must use HTTPS."),
        ("https://127.0.0.1/x", "Webhook URL cannot target a private network."),
        ("https://localhost:8443/x", "Webhook URL cannot target a private network."),
        ("https://10.1.2.3/x", "Webhook URL cannot target a private network."),
        ("https://192.168.0.10/x", "Webhook URL cannot target a private network."),
        ("https://[::1]/x", "Webhook URL cannot target a private network."),
        ("https://169.254.169.254/latest", "Webhook URL cannot target a private network."),
        ("https://user:pw@hooks.example.com/x", "Webhook URL cannot include credentials."),
    ],
)
def test_urls_must_be_https_and_public(api: Harness, url: str, message: str) -> None:
    assert plain_error(api.post("/webhooks", json={**HOOK, "url": url})) == message
    assert api.get("/webhooks").json()["data"] == []


def test_loopback_http_endpoints_when_the_server_allows_them() -> None:
    api = Harness(allow_private_webhooks=True)
    created = api.post("/webhooks", json={**HOOK, "url": "http://127.0.0.1:9999/hook"})
    assert created.status_code == 201


def test_update_is_strict_and_needs_a_field(api: Harness) -> None:
    url = f"/webhooks/{api.post('/webhooks', json=HOOK).json()['id']}"
    assert list(field_errors(api.patch(url, json={"url": "https://other.example.com"}))) == ["#"]
    assert list(field_errors(api.patch(url, json={}))) == ["#"]
    assert list(field_errors(api.patch(url, json={"event_types": ["nope"]}))) == ["#/event_types/0"]


def test_test_event_queues_a_delivery_listed_under_deliveries(api: Harness) -> None:
    hook = api.post("/webhooks", json=HOOK).json()
    sent = api.post(f"/webhooks/{hook['id']}/test", json={"event_type": "timer.created"})
    assert sent.status_code == 200
    result = sent.json()
    assert result["object"] == "webhook_test" and result["endpoint"]["id"] == hook["id"]
    delivery = result["delivery"]
    assert delivery["endpoint_id"] == hook["id"] and delivery["status"] == "pending"
    empty_body = api.request("POST", f"/webhooks/{hook['id']}/test")
    assert empty_body.status_code == 200
    listed = api.get(f"/webhooks/{hook['id']}/deliveries").json()["data"]
    assert [d["id"] for d in listed][1:] == [delivery["id"]]
    one = api.get(f"/webhooks/{hook['id']}/deliveries", params={"limit": "1"}).json()["data"]
    assert len(one) == 1
    assert "limit" in plain_error(
        api.get(f"/webhooks/{hook['id']}/deliveries", params={"limit": "101"})
    )
    assert api.get("/webhooks/wh_missing/deliveries").status_code == 404
    assert api.post("/webhooks/wh_missing/test", json={}).status_code == 404
