"""tickward's webhook endpoints API (``/webhooks``): list, create, test, disable, delete.

Endpoints belong to the account (at most three active ones); the signing
secret is returned once, by the create call. There is no "rotate secret"
call: a new secret means a new endpoint (and the old one removed).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ical_bridge.tickward._http import list_all
from ical_bridge.tickward.client import TickwardClient, _seg
from ical_bridge.tickward.responses import DeletedResource

__all__ = [
    "CreatedWebhookEndpoint",
    "WebhookApi",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookTestResult",
]


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WebhookEndpoint(_Response):
    """A webhook endpoint (never with its secret)."""

    id: str
    name: str = ""
    url: str = ""
    event_types: list[str] = Field(default_factory=list)
    status: str = "active"
    failure_count: int = 0
    last_delivered_at: str | None = None
    last_failed_at: str | None = None


class CreatedWebhookEndpoint(WebhookEndpoint):
    """What ``POST /webhooks`` answers: the endpoint and its signing secret (shown once)."""

    signing_secret: str = Field(repr=False)


class WebhookDelivery(_Response):
    """One delivery attempt record."""

    id: str
    event_id: str = ""
    status: str = "pending"  # pending | processing | delivered | failed
    attempt_count: int = 0
    response_status: int | None = None
    error: str | None = None


class WebhookTestResult(_Response):
    """What ``POST /webhooks/{id}/test`` answers."""

    endpoint: WebhookEndpoint
    delivery: WebhookDelivery


class WebhookApi:
    """The ``/webhooks`` calls, through one ``TickwardClient`` (its pacing and retries)."""

    def __init__(self, client: TickwardClient) -> None:
        self._client = client

    async def endpoints(self) -> list[WebhookEndpoint]:
        """Every endpoint of the account."""
        return await list_all(self._client._requester, WebhookEndpoint, "/webhooks")

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        """One endpoint (``NotFoundError`` when it is gone)."""
        return await self._client._call(WebhookEndpoint, "GET", f"/webhooks/{_seg(endpoint_id)}")

    async def create(
        self, name: str, url: str, event_types: list[str], *, idempotency_key: str
    ) -> CreatedWebhookEndpoint:
        """A new endpoint and its secret."""
        body = {"name": name, "url": url, "event_types": event_types}
        return await self._client._call(
            CreatedWebhookEndpoint, "POST", "/webhooks", body=body, idempotency_key=idempotency_key
        )

    async def set_status(self, endpoint_id: str, status: str, *, key: str) -> WebhookEndpoint:
        """Activate or disable an endpoint."""
        path = f"/webhooks/{_seg(endpoint_id)}"
        return await self._client._call(
            WebhookEndpoint, "PATCH", path, body={"status": status}, idempotency_key=key
        )

    async def delete(self, endpoint_id: str, *, key: str) -> DeletedResource:
        """Remove an endpoint and its delivery history."""
        path = f"/webhooks/{_seg(endpoint_id)}"
        return await self._client._call(DeletedResource, "DELETE", path, idempotency_key=key)

    async def test(self, endpoint_id: str, *, key: str) -> WebhookTestResult:
        """Queue one sample delivery to the endpoint."""
        path = f"/webhooks/{_seg(endpoint_id)}/test"
        return await self._client._call(
            WebhookTestResult, "POST", path, body={"event_type": "timer.updated"},
            idempotency_key=key,
        )

    async def deliveries(self, endpoint_id: str, limit: int = 10) -> list[WebhookDelivery]:
        """The endpoint's most recent deliveries, newest first."""
        path = f"/webhooks/{_seg(endpoint_id)}/deliveries"
        response = await self._client._requester.request("GET", path, params={"limit": limit})
        data = response.json().get("data", [])
        return [WebhookDelivery.model_validate(d) for d in data if isinstance(d, dict)]
