"""What tickward answers, parsed tolerantly: unknown fields are ignored.

Only identity fields are required; everything else has a neutral default so a
server that adds or omits a decorative field does not break a sync. A received
``TimerRecurrence`` or ``TimerReminder`` can be passed straight into a request
model (they are read by attribute).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Capabilities",
    "CapabilityLimits",
    "DeletedResource",
    "ErrorBody",
    "ErrorDetail",
    "ErrorItem",
    "Project",
    "ProjectCreateResult",
    "ProjectPreview",
    "ProjectPreviewChange",
    "ProjectPreviewWarning",
    "Share",
    "Space",
    "Sync",
    "Timer",
    "TimerRecurrence",
    "TimerReminder",
]


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CapabilityLimits(_Response):
    """``limits`` of ``GET /capabilities``."""

    project_create_max_spaces: int = 4
    project_create_max_timers: int = 50
    page_size_max: int = 100


class Capabilities(_Response):
    """``GET /capabilities``: API version, feature flags and plan limits."""

    object: str = "capabilities"
    api_version: str = "v1"
    features: dict[str, Any] = Field(default_factory=dict)
    limits: CapabilityLimits = Field(default_factory=CapabilityLimits)


class Project(_Response):
    """A tickward project."""

    object: str = "project"
    id: str
    name: str = ""
    color: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    claimed_at: str | None = None
    timer_count: int = 0
    space_count: int = 0


class Space(_Response):
    """A space (group of timers) inside a project."""

    object: str = "space"
    id: str
    project_id: str = ""
    project_name: str = ""
    name: str = ""
    color: str | None = None
    created_at: str | None = None


class TimerRecurrence(_Response):
    """A timer's stored recurrence as received."""

    type: str
    enabled: bool = True
    lastDay: bool | None = None  # the wire name


class TimerReminder(_Response):
    """A reminder as received."""

    offset_minutes: int


class Timer(_Response):
    """A timer as tickward returns it (``effective_target_date`` is the next occurrence)."""

    object: str = "timer"
    id: str
    project_id: str = ""
    project_name: str = ""
    label: str = ""
    target_date: str
    effective_target_date: str | None = None
    timezone: str = "UTC"
    created_at: str | None = None
    updated_at: str | None = None
    archived_at: str | None = None
    color: str | None = None
    description: str | None = None
    space_id: str | None = None
    shared_at: str | None = None
    notify: bool = False
    mode: str = "until"
    milestones: dict[str, Any] | None = None
    recurrence: TimerRecurrence | None = None
    pinned: bool = False
    image: dict[str, Any] | None = None
    reminders: list[TimerReminder] = Field(default_factory=list)


class Share(_Response):
    """A public link to a timer."""

    object: str = "share"
    id: str
    project_id: str = ""
    project_name: str = ""
    timer_id: str | None = None
    timer_label: str | None = None
    shared_at: str | None = None
    url_path: str = ""
    created_at: str | None = None
    updated_at: str | None = None


class Sync(_Response):
    """``GET /sync``: every project, space and timer of the key's owner."""

    object: str = "sync"
    synced_at: str | None = None
    projects: list[Project] = Field(default_factory=list)
    spaces: list[Space] = Field(default_factory=list)
    timers: list[Timer] = Field(default_factory=list)


class ProjectCreateResult(Project):
    """``POST /projects``: the project plus the spaces and timers created with it."""

    spaces: list[Space] = Field(default_factory=list)
    timers: list[Timer] = Field(default_factory=list)


class ProjectPreviewChange(_Response):
    """One item a nested project create would make."""

    action: str = "create"
    type: str
    path: str
    parent_path: str | None = None
    name: str | None = None
    label: str | None = None


class ProjectPreviewWarning(_Response):
    """A warning from ``POST /projects/preview``."""

    code: str
    path: str = ""
    message: str = ""
    remediation: str = ""


class ProjectPreview(_Response):
    """``POST /projects/preview``: ``plan_hash`` to pass back as ``expected_plan_hash``."""

    object: str = "project_preview"
    dry_run: bool = True
    operation: str = "create_project"
    plan_hash: str
    summary: dict[str, Any] = Field(default_factory=dict)
    changes: list[ProjectPreviewChange] = Field(default_factory=list)
    warnings: list[ProjectPreviewWarning] = Field(default_factory=list)
    apply: dict[str, Any] = Field(default_factory=dict)


class DeletedResource(_Response):
    """What a ``DELETE`` answers."""

    object: str = ""
    id: str
    deleted: bool = True
    project_id: str | None = None
    project_name: str | None = None
    name: str | None = None
    label: str | None = None


class ErrorItem(_Response):
    """One field error: ``code``, ``message`` and a JSON-pointer ``path``."""

    code: str = ""
    message: str = ""
    path: str = ""


class ErrorDetail(_Response):
    """The ``error`` object of an error body."""

    type: str = ""
    code: str = ""
    message: str = ""
    request_id: str | None = None
    correlation_id: str | None = None
    retryable: bool = False
    remediation: dict[str, Any] | None = None
    errors: list[ErrorItem] = Field(default_factory=list)


class ErrorBody(_Response):
    """A tickward error body ``{"error": {...}}``."""

    error: ErrorDetail
