"""Request/response models against openapi.json (jsonschema is the oracle)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ical_bridge.tickward import (
    Capabilities,
    Project,
    ProjectCreateRequest,
    ProjectPreview,
    Recurrence,
    Sync,
    Timer,
    TimerCreateRequest,
    TimerUpdateRequest,
    request_json,
)
from tests.conftest import OPENAPI

SPEC = json.loads(OPENAPI.read_text())
_REGISTRY = Registry().with_resource(
    "urn:openapi", Resource.from_contents(SPEC, default_specification=DRAFT202012)
)


def schema_errors(name: str, body: Any) -> list[str]:
    """Messages from validating ``body`` against components.schemas[name] of openapi.json."""
    validator = Draft202012Validator(
        {"$ref": f"urn:openapi#/components/schemas/{name}"}, registry=_REGISTRY
    )
    return [e.message for e in validator.iter_errors(body)]


ZONES = ["UTC", "Europe/Warsaw", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]

timer_bodies = st.fixed_dictionaries(
    {
        "label": st.text(min_size=1, max_size=200),
        "target_date": st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)
        ).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.000Z")),
        "timezone": st.sampled_from(ZONES),
    },
    optional={
        "id": st.from_regex(r"\Aicb_[A-Za-z0-9_-]{2,124}\Z"),
        "description": st.text(max_size=200),
        "color": st.sampled_from(["", "#2563eb", "#ABCDEF"]),
        "notify": st.booleans(),
        "pinned": st.booleans(),
        "reminders": st.lists(st.integers(0, 40320), max_size=5, unique=True).map(
            lambda xs: [{"offset_minutes": x} for x in xs]
        ),
        "recurrence": st.one_of(
            st.builds(
                lambda t, e: {"type": t, "enabled": e},
                st.sampled_from(["daily", "weekly", "monthly", "yearly"]),
                st.booleans(),
            ),
            st.just({"type": "monthly", "enabled": True, "lastDay": True}),
        ),
        "space_id": st.from_regex(r"\A[a-z]{1,64}\Z"),
    },
)


@settings(max_examples=60, deadline=None)
@given(timer_bodies)
def test_valid_timer_bodies_round_trip_exactly_and_satisfy_openapi(body: dict[str, Any]) -> None:
    sent = request_json(TimerCreateRequest.model_validate(body))
    assert sent == body
    assert schema_errors("TimerCreateRequest", sent) == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"label": ""}, "#/label"),
        ({"label": "x" * 201}, "#/label"),
        ({"description": "d" * 201}, "#/description"),
        ({"color": "red"}, "#/color"),
        ({"color": "#12345"}, "#/color"),
        ({"id": "abc"}, "#/id"),
        ({"id": "has space!"}, "#/id"),
        ({"reminders": [{"offset_minutes": 40321}]}, "#/reminders/0/offset_minutes"),
        ({"reminders": [{"offset_minutes": -1}]}, "#/reminders/0/offset_minutes"),
        ({"reminders": [{"offset_minutes": i} for i in range(6)]}, "#/reminders"),
        ({"recurrence": {"type": "hourly", "enabled": True}}, "#/recurrence/type"),
        ({"target_date": "tomorrow"}, "#/target_date"),
    ],
)
def test_bodies_openapi_refuses_are_refused_before_sending(
    change: dict[str, Any], path: str
) -> None:
    body = {"label": "Launch", "target_date": "2027-05-01T10:00:00Z", "timezone": "UTC", **change}
    assert schema_errors("TimerCreateRequest", body), "oracle should refuse this body too"
    with pytest.raises(pydantic.ValidationError) as info:
        TimerCreateRequest.model_validate(body)
    locs = ["#/" + "/".join(str(p) for p in e["loc"]) for e in info.value.errors()]
    assert path in locs


@pytest.mark.parametrize(
    "change",
    [
        {"timezone": "W. Europe Standard Time"},  # SERVER-NOTES: Windows names refused
        {"target_date": "2027-05-01T10:00:00"},  # offset-less: read in the server's zone
        {"reminders": [{"offset_minutes": 10}, {"offset_minutes": 10}]},  # not unique
        {"surprise": 1},  # extra fields are never sent
        {"mode": "since", "recurrence": {"type": "daily", "enabled": True}},
    ],
)
def test_server_notes_rules_beyond_the_schema_are_enforced(change: dict[str, Any]) -> None:
    body = {"label": "Launch", "target_date": "2027-05-01T10:00:00Z", "timezone": "UTC", **change}
    with pytest.raises(pydantic.ValidationError):
        TimerCreateRequest.model_validate(body)


def test_patch_sends_only_changed_fields_and_explicit_null_archived_at() -> None:
    assert request_json(TimerUpdateRequest(label="New")) == {"label": "New"}
    assert request_json(TimerUpdateRequest(archived_at=None)) == {"archived_at": None}
    stamp = "2027-01-01T00:00:00Z"
    assert request_json(TimerUpdateRequest.model_validate({"archived_at": stamp})) == {
        "archived_at": stamp
    }
    assert schema_errors("TimerUpdateRequest", {"archived_at": None}) == []


@pytest.mark.parametrize("field", ["recurrence", "color", "description", "label"])
def test_patch_refuses_nulls_the_server_refuses(field: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        TimerUpdateRequest.model_validate({field: None})


def test_create_without_recurrence_omits_the_field() -> None:
    body = {"label": "A", "target_date": "2027-05-01T10:00:00Z", "timezone": "UTC"}
    assert request_json(TimerCreateRequest.model_validate({**body, "recurrence": None})) == body


def test_aware_datetimes_are_sent_as_utc_z_and_naive_ones_refused() -> None:
    when = datetime(2027, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    sent = request_json(TimerCreateRequest(label="A", target_date=when, timezone="UTC"))  # type: ignore[arg-type]
    assert sent["target_date"] == "2027-05-01T10:00:00.000Z"
    with pytest.raises(pydantic.ValidationError):
        TimerCreateRequest(label="A", target_date=datetime(2027, 5, 1), timezone="UTC")  # type: ignore[arg-type]


def test_received_recurrence_can_be_sent_back_unchanged() -> None:
    timer = Timer.model_validate(SPEC["components"]["schemas"]["Timer"]["example"]
                                 | {"recurrence": {"type": "monthly", "enabled": True}})
    assert timer.recurrence is not None
    sent = request_json(TimerUpdateRequest(recurrence=timer.recurrence))  # type: ignore[arg-type]
    assert sent == {"recurrence": {"type": "monthly", "enabled": True}}
    assert request_json(Recurrence(type="monthly", enabled=True, lastDay=True)) == {
        "type": "monthly", "enabled": True, "lastDay": True,
    }


def test_nested_project_create_bodies_satisfy_openapi() -> None:
    trip = {"id": "icb_top0001", "label": "Trip", "target_date": "2027-06-01T08:00:00Z",
            "timezone": "UTC", "space_id": "work"}
    body: dict[str, Any] = {
        "name": "Calendar",
        "color": "#111827",
        "spaces": [{"id": "work", "name": "Work", "timers": [
            {"id": "icb_nested1", "label": "Standup", "target_date": "2027-05-03T09:00:00Z",
             "timezone": "Europe/Warsaw", "recurrence": {"type": "weekly", "enabled": True}},
        ]}],
        "timers": [trip],
        "expected_plan_hash": "sha256:" + "a" * 64,
    }
    sent = request_json(ProjectCreateRequest.model_validate(body))
    assert sent == body
    assert schema_errors("ProjectCreateRequest", sent) == []
    with pytest.raises(pydantic.ValidationError):  # nested timers take the space, no space_id
        ProjectCreateRequest.model_validate(
            {"name": "X", "spaces": [{"name": "S", "timers": [trip]}]}
        )


@pytest.mark.parametrize(
    ("model", "schema"),
    [(Timer, "Timer"), (Project, "Project"), (Capabilities, "Capabilities"),
     (ProjectPreview, "ProjectPreview")],
)
def test_openapi_examples_parse_and_unknown_fields_are_ignored(
    model: type[pydantic.BaseModel], schema: str
) -> None:
    example = SPEC["components"]["schemas"][schema]["example"]
    parsed = model.model_validate({**example, "field_from_the_future": {"x": 1}})
    dumped = parsed.model_dump()
    for key, value in example.items():
        if not isinstance(value, dict | list):
            assert dumped[key] == value
    assert "field_from_the_future" not in dumped


def test_sync_snapshot_parses_nested_objects() -> None:
    schemas = SPEC["components"]["schemas"]
    snapshot = Sync.model_validate({
        "object": "sync", "synced_at": "2027-01-01T00:00:00.000Z",
        "projects": [schemas["Project"]["example"]], "spaces": [schemas["Space"]["example"]],
        "timers": [schemas["Timer"]["example"]],
    })
    assert snapshot.timers[0].reminders[0].offset_minutes == 10
    assert snapshot.spaces[0].id == "travel"


def test_timer_id_pattern_matches_openapi() -> None:
    pattern = SPEC["components"]["schemas"]["TimerCreateRequest"]["properties"]["id"]["pattern"]
    for candidate in ["icb_" + "0" * 32, "abcdef", "a" * 129, "abc", "bad id!", "ok-id_123"]:
        ours = True
        try:
            TimerCreateRequest(id=candidate, label="A", target_date="2027-01-01T00:00:00Z",
                               timezone="UTC")
        except pydantic.ValidationError:
            ours = False
        assert ours == bool(re.search(pattern, candidate)), candidate


def test_package_reexports_every_public_name_sorted() -> None:
    import ical_bridge.tickward as package
    from ical_bridge.tickward import client, models

    exported = set(package.__all__)
    assert package.__all__ == sorted(package.__all__, key=lambda n: (not n.isupper(), n))
    for module in (models, client):
        missing = set(module.__all__) - exported - {"ErrorBody", "ErrorDetail", "ErrorItem"}
        assert not missing, f"{module.__name__} names not re-exported: {missing}"
    for name in package.__all__:
        assert getattr(package, name) is not None
