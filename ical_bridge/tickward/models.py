"""Request bodies the bridge sends to tickward, checked against openapi.json before sending.

Requests are strict (``extra="forbid"`` plus the contract's constraints) so a bad
body fails here, with a JSON-pointer path, instead of costing a rate-limited
round trip. Field names are exactly the wire names (``lastDay``, ``unsplashId``).
Serialise with ``request_json(model)``: only fields that were set are sent, so a
PATCH carries just the change and ``archived_at=None`` is sent as ``null``.

The tolerant response models live in ``ical_bridge.tickward.responses`` and are
re-exported here, so ``from ical_bridge.tickward.models import Timer`` works.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ical_bridge.tickward._errors import local_validation_error
from ical_bridge.tickward.responses import (
    Capabilities,
    CapabilityLimits,
    DeletedResource,
    ErrorBody,
    ErrorDetail,
    ErrorItem,
    Project,
    ProjectCreateResult,
    ProjectPreview,
    ProjectPreviewChange,
    ProjectPreviewWarning,
    Share,
    Space,
    Sync,
    Timer,
    TimerRecurrence,
    TimerReminder,
)

__all__ = [
    "Body",
    "Capabilities",
    "CapabilityLimits",
    "DeletedResource",
    "ErrorBody",
    "ErrorDetail",
    "ErrorItem",
    "MilestoneRule",
    "NestedProjectSpaceCreateRequest",
    "NestedProjectTimerCreateRequest",
    "Project",
    "ProjectCreateRequest",
    "ProjectCreateResult",
    "ProjectPreview",
    "ProjectPreviewChange",
    "ProjectPreviewWarning",
    "ProjectUpdateRequest",
    "Recurrence",
    "Reminder",
    "Share",
    "ShareCreateRequest",
    "Space",
    "SpaceCreateRequest",
    "SpaceUpdateRequest",
    "Sync",
    "Timer",
    "TimerCreateRequest",
    "TimerMilestones",
    "TimerRecurrence",
    "TimerReminder",
    "TimerUpdateRequest",
    "UnsplashImage",
    "request_body",
    "request_json",
]

TIMER_ID_PATTERN = r"^[A-Za-z0-9_-]{6,128}$"
SPACE_ID_PATTERN = r"^[A-Za-z0-9_-]{3,64}$"
COLOR_INPUT_PATTERN = r"^$|^#[0-9a-fA-F]{6}$"
PLAN_HASH_PATTERN = r"^sha256:[a-f0-9]{64}$"
# openapi.json only anchors the start; SERVER-NOTES says always send Z or an offset.
ISO_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
UNSPLASH_PATTERN = r"^https://images\.unsplash\.com/"


def _iso(value: object) -> object:
    """Accept an aware ``datetime`` for an ISO field and send it as ``…Z``."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a naive datetime has no instant; give it a zone")
        text = value.astimezone(UTC).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")
    return value


def _timezone(value: object) -> object:
    if isinstance(value, str) and value != "UTC":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"not an IANA time zone name: {value!r}") from None
    return value


IsoDateTime = Annotated[str, BeforeValidator(_iso), Field(pattern=ISO_PATTERN)]
TimezoneName = Annotated[str, BeforeValidator(_timezone), Field(min_length=1)]
ColorInput = Annotated[str, Field(pattern=COLOR_INPUT_PATTERN)]
Label = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=200)]
SpaceRef = Annotated[str, Field(min_length=1, max_length=64)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class Recurrence(_Request):
    """How a timer repeats: ``{"type", "enabled", "lastDay"?}``."""

    type: Literal["daily", "weekly", "monthly", "yearly"]
    enabled: bool
    lastDay: bool | None = None  # the wire name

    @model_validator(mode="after")
    def _last_day_monthly(self) -> Self:
        if self.lastDay and self.type != "monthly":
            raise ValueError("lastDay applies to monthly recurrence only")
        return self


class Reminder(_Request):
    """One reminder, ``offset_minutes`` before the occurrence (0…40320)."""

    offset_minutes: int = Field(ge=0, le=40320)


class MilestoneRule(_Request):
    """A since-timer milestone rule: periodic (``every``) or a ladder (``at``)."""

    unit: Literal["days", "weeks", "months", "years"]
    every: int | None = Field(default=None, ge=1, le=1000)
    at: list[Annotated[int, Field(ge=1, le=10000)]] | None = Field(
        default=None, min_length=1, max_length=12
    )

    @model_validator(mode="after")
    def _one_shape(self) -> Self:
        if (self.every is None) == (self.at is None):
            raise ValueError("a milestone rule has exactly one of every or at")
        if self.at is not None and any(b <= a for a, b in zip(self.at, self.at[1:], strict=False)):
            raise ValueError("at must be strictly ascending")
        return self


class TimerMilestones(_Request):
    """One to four milestone rules of a since timer."""

    rules: list[MilestoneRule] = Field(min_length=1, max_length=4)


class UnsplashImage(_Request):
    """An Unsplash image object (the only images tickward accepts)."""

    unsplashId: str
    url: str = Field(pattern=UNSPLASH_PATTERN)
    thumbUrl: str = Field(pattern=UNSPLASH_PATTERN)
    authorName: str
    authorUrl: str


def _unique_offsets(reminders: list[Reminder] | None) -> None:
    seen: set[int] = set()
    for index, reminder in enumerate(reminders or ()):
        if reminder.offset_minutes in seen:
            raise ValueError(f"@reminders/{index}/offset_minutes: offsets must be unique")
        seen.add(reminder.offset_minutes)


class _TimerFields(_Request):
    color: ColorInput | None = None
    description: Description | None = None
    notify: bool | None = None
    mode: Literal["until", "since"] | None = None
    milestones: TimerMilestones | None = None
    recurrence: Recurrence | None = None
    pinned: bool | None = None
    image: UnsplashImage | None = None
    reminders: list[Reminder] | None = Field(default=None, max_length=5)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _unique_offsets(self.reminders)
        if self.mode == "since" and self.recurrence is not None:
            raise ValueError("mode 'since' cannot be combined with recurrence")
        for name in ("color", "description", "notify", "pinned", "image", "reminders"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class NestedProjectTimerCreateRequest(_TimerFields):
    """A timer created inside ``spaces[].timers`` of a project create (no ``space_id``)."""

    id: str | None = Field(default=None, pattern=TIMER_ID_PATTERN)
    label: Label
    target_date: IsoDateTime
    timezone: TimezoneName


class TimerCreateRequest(NestedProjectTimerCreateRequest):
    """Body of ``POST /projects/{id}/timers`` (``recurrence: None`` is simply not sent)."""

    space_id: SpaceRef | None = None


class TimerUpdateRequest(_TimerFields):
    """Body of ``PATCH /projects/{id}/timers/{timer_id}``; only set fields are sent."""

    label: Label | None = None
    target_date: IsoDateTime | None = None
    timezone: TimezoneName | None = None
    archived_at: IsoDateTime | None = None
    space_id: SpaceRef | None = None

    @model_validator(mode="after")
    def _no_null_recurrence(self) -> Self:
        for name in ("recurrence", "label", "target_date", "timezone", "mode", "milestones"):
            if name in self.model_fields_set and getattr(self, name) is None:
                hint = " (send enabled: false to stop repeating)" if name == "recurrence" else ""
                raise ValueError(f"{name} cannot be null{hint}")
        return self


class SpaceCreateRequest(_Request):
    """Body of ``POST /projects/{id}/spaces``."""

    id: str | None = Field(default=None, pattern=SPACE_ID_PATTERN)
    name: str = Field(min_length=1, max_length=30)
    color: ColorInput | None = None


class SpaceUpdateRequest(_Request):
    """Body of ``PATCH /projects/{id}/spaces/{space_id}``."""

    name: str | None = Field(default=None, min_length=1, max_length=30)
    color: ColorInput | None = None


class NestedProjectSpaceCreateRequest(SpaceCreateRequest):
    """A space created with its project, optionally with its own ``timers``."""

    timers: list[NestedProjectTimerCreateRequest] | None = None


class ProjectCreateRequest(_Request):
    """Body of ``POST /projects`` and ``POST /projects/preview`` (nested create)."""

    name: str = Field(min_length=1, max_length=40)
    color: ColorInput | None = None
    expected_plan_hash: str | None = Field(default=None, pattern=PLAN_HASH_PATTERN)
    spaces: list[NestedProjectSpaceCreateRequest] | None = None
    timers: list[TimerCreateRequest] | None = None


class ProjectUpdateRequest(_Request):
    """Body of ``PATCH /projects/{id}``."""

    name: str | None = Field(default=None, min_length=1, max_length=40)
    color: ColorInput | None = None


class ShareCreateRequest(_Request):
    """Body of ``POST /projects/{id}/shares``."""

    timer_id: str = Field(min_length=1)


def _clean_timer(body: dict[str, Any]) -> None:
    recurrence = body.get("recurrence", {})
    if recurrence is None:
        del body["recurrence"]  # "no recurrence" on create is the field's absence
    elif isinstance(recurrence, dict) and recurrence.get("lastDay", False) is None:
        del recurrence["lastDay"]


def request_json(model: BaseModel) -> dict[str, Any]:
    """The JSON body for ``model``: set fields only, wire names, creates without null recurrence."""
    body: dict[str, Any] = model.model_dump(mode="json", exclude_unset=True)
    if isinstance(model, NestedProjectTimerCreateRequest):
        _clean_timer(body)
    elif isinstance(model, TimerUpdateRequest):
        recurrence = body.get("recurrence")
        if isinstance(recurrence, dict) and recurrence.get("lastDay", False) is None:
            del recurrence["lastDay"]
    elif isinstance(model, ProjectCreateRequest):
        for timer in body.get("timers") or ():
            _clean_timer(timer)
        for space in body.get("spaces") or ():
            for timer in space.get("timers") or ():
                _clean_timer(timer)
    return body


Body = BaseModel | Mapping[str, Any]
_M = TypeVar("_M", bound=BaseModel)


def request_body(model: type[_M], body: Body, what: str) -> dict[str, Any]:
    """Validate ``body`` (a model or a plain dict) as ``model``; the exact JSON to send.

    Raises ``LocalValidationError`` (a ``ValidationError``, paths as JSON pointers).
    """
    try:
        if isinstance(body, model):
            instance = body
        elif isinstance(body, BaseModel):
            instance = model.model_validate(body.model_dump(mode="json", exclude_unset=True))
        else:
            instance = model.model_validate(dict(body))
    except pydantic.ValidationError as exc:
        raise local_validation_error(what, exc) from None
    return request_json(instance)
