"""Drive the local tickward server and check every answer against openapi.json.

``Harness`` wraps one app (with a ``FixedClock``); each request goes through
an httpx client whose response hook validates the body against the response
schema openapi.json declares for that path template, method and status, and
checks the headers every answer must carry. Tests therefore cannot see a
response that breaks the published contract without failing.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from ical_bridge.clock import FixedClock
from ical_bridge.localserver import EMBEDDED_API_KEY, create_app

__all__ = [
    "BASE",
    "KEY",
    "START",
    "Harness",
    "check_response",
    "field_errors",
    "plain_error",
    "timer_body",
]

OPENAPI = Path(__file__).resolve().parents[2].parent / "shared" / "tickward" / "openapi.json"
BASE = "http://testserver/api/v1"
KEY = EMBEDDED_API_KEY
START = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
_SPEC_URI = "urn:tickward-openapi"
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_UNSET: Any = object()


@lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(OPENAPI.read_text())
    return data


@lru_cache(maxsize=1)
def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry().with_resource(
        _SPEC_URI, DRAFT202012.create_resource(_spec())
    )
    return registry


@lru_cache(maxsize=1)
def _templates() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for template in _spec()["paths"]:
        regex = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template))
        out.append((re.compile(regex), template))
    # literal segments first, so /projects/preview never matches /projects/{project_id}
    out.sort(key=lambda pair: pair[1].count("{"))
    return out


def _resolve(node: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
    """Follow one component ``$ref``; returns the node and its JSON pointer."""
    while "$ref" in node:
        pointer = node["$ref"]
        target: Any = _spec()
        for part in pointer.removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node, pointer


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@lru_cache(maxsize=256)
def _validator(pointer: str) -> Draft202012Validator:
    schema = {"$ref": f"{_SPEC_URI}{pointer}"}
    return Draft202012Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _operation_response(path: str, method: str, status: int) -> tuple[dict[str, Any], str] | None:
    for regex, template in _templates():
        if regex.fullmatch(path):
            operation = _spec()["paths"][template].get(method.lower())
            if operation is None:
                return None
            declared = operation["responses"].get(str(status))
            if declared is None:
                return None
            base = f"#/paths/{_escape(template)}/{method.lower()}/responses/{status}"
            return _resolve(declared, base)
    return None


def check_response(response: httpx.Response) -> None:
    """Fail unless ``response`` is what openapi.json and SERVER-NOTES.md promise."""
    request = response.request
    assert response.status_code < 500, f"server error: {response.text}"
    path = request.url.path.removeprefix("/api/v1")
    bare = response.status_code == 405 and response.content == b""
    if bare or (response.status_code == 403 and "origin" in request.headers):
        # the Origin guard and the framework's bare 405 carry no ids (measured)
        assert "request-id" not in response.headers
        assert "correlation-id" not in response.headers
        assert bare or response.json() == {"error": "Forbidden"}
        return
    assert response.headers.get("request-id"), "every response carries Request-Id"
    assert response.headers.get("correlation-id"), "every response carries Correlation-Id"
    found = _operation_response(path, request.method, response.status_code)
    if found is None:
        # undeclared for this operation (unknown route, 405 on a path without it): still an error
        assert response.status_code >= 400, (request.method, path, response.status_code)
        found = _resolve({"$ref": "#/components/responses/NotFoundError"}, "")
    declared, pointer = found
    if response.status_code == 304:
        assert response.content == b""
    else:
        assert "application/json" in declared.get("content", {}), pointer
        schema_pointer = f"{pointer}/content/application~1json/schema"
        body = response.json()
        errors = sorted(_validator(schema_pointer).iter_errors(body), key=str)
        assert not errors, f"{request.method} {path} {response.status_code}: {errors[0]}"
    for name, header in declared.get("headers", {}).items():
        spec, _ = _resolve(header, "")
        value = response.headers.get(name)
        if value is not None and spec.get("schema", {}).get("type") == "integer":
            assert re.fullmatch(r"\d+", value), (name, value)
    _check_stamps(response)


def _check_stamps(response: httpx.Response) -> None:
    """Server-made timestamps use tickward's ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    if not response.content or response.status_code >= 400:
        return

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                # archived_at is not here: it is stored and returned as sent (measured)
                if key in (
                    "created_at",
                    "updated_at",
                    "shared_at",
                    "claimed_at",
                    "synced_at",
                ):
                    assert value is None or _STAMP.fullmatch(value), (key, value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(response.json())


def timer_body(**fields: Any) -> dict[str, Any]:
    """A valid TimerCreateRequest with ``fields`` overriding the defaults."""
    body: dict[str, Any] = {
        "label": "Dentist",
        "target_date": "2027-04-01T08:30:00.000Z",
        "timezone": "Europe/Warsaw",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not _UNSET}


class Harness:
    """One local server (its own in-memory DB and FixedClock) and a validating client."""

    def __init__(self, **options: Any) -> None:
        self.clock: FixedClock = options.pop("clock", None) or FixedClock(START)
        self.app = create_app(clock=self.clock, **options)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """A validating async client on this app (use inside ``asyncio.run``)."""

        async def hook(response: httpx.Response) -> None:
            await response.aread()
            check_response(response)

        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, client=("127.0.0.1", 50000)),
            base_url=BASE,
            event_hooks={"response": [hook]},
            **kwargs,
        )

    async def arequest(
        self,
        method: str,
        path: str,
        *,
        json: Any = _UNSET,
        content: bytes | str | None = None,
        key: str | None = KEY,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        checked: bool = True,
    ) -> httpx.Response:
        """One request (async); ``checked=False`` skips the contract check (for a bare 500)."""
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        extra: dict[str, Any] = {}
        if json is not _UNSET:
            extra["json"] = json
        elif content is not None:
            extra["content"] = content
            sent.setdefault("Content-Type", "application/json")
        client = self.client() if checked else self._raw_client()
        async with client:
            return await client.request(method, path, headers=sent, params=params, **extra)

    def _raw_client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 50000))
        return httpx.AsyncClient(transport=transport, base_url=BASE)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request (sync: runs its own event loop)."""
        return asyncio.run(self.arequest(method, path, **kwargs))

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST."""
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        """PATCH."""
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        """DELETE."""
        return self.request("DELETE", path, **kwargs)

    def project(self, name: str = "Calendar", **extra: Any) -> dict[str, Any]:
        """Create a project and return it."""
        response = self.post("/projects", json={"name": name, **extra})
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    def timer(self, project_id: str, **fields: Any) -> dict[str, Any]:
        """Create a timer and return it."""
        response = self.post(f"/projects/{project_id}/timers", json=timer_body(**fields))
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    def space(self, project_id: str, space_id: str, name: str = "Space") -> dict[str, Any]:
        """Create a space and return it."""
        body = {"id": space_id, "name": name}
        response = self.post(f"/projects/{project_id}/spaces", json=body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data


def field_errors(response: httpx.Response) -> dict[str, str]:
    """``{path: message}`` of a validation error answer."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "validation_error"
    return {item["path"]: item["message"] for item in error.get("errors", [])}


def plain_error(response: httpx.Response, status: int = 400) -> str:
    """The message of an error answer outside field validation (which has no ``errors[]``)."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert "errors" not in error and "details" not in error, error
    message: str = error["message"]
    return message
