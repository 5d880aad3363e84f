"""Alarms with ThingsBoard's lifecycle: list, acknowledge, clear, comment, judge, count."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from aiot.api.deps import Caller, Operator, PlatformDep
from aiot.api.openapi import errors
from aiot.domain import AlarmStatus, Principal, Severity, Verdict

__all__ = ["router"]

router = APIRouter(prefix="/api/alarms", tags=["alarms"])

_STRICT = ConfigDict(extra="forbid")  # a misspelt field is refused, not silently ignored


class CommentIn(BaseModel):
    """A comment on an alarm."""

    model_config = _STRICT

    text: str = Field(min_length=1, max_length=4000)


class VerdictIn(BaseModel):
    """An operator's judgement: a real fault or a false alarm, and what was learnt."""

    model_config = _STRICT

    true_alarm: bool
    fault_type: str | None = Field(default=None, max_length=200)
    root_cause: str | None = Field(default=None, max_length=4000)
    lesson: str | None = Field(default=None, max_length=4000)


def _by(principal: Principal) -> str:
    """Who acted: the API key's id, or ``admin`` for the installation's admin key."""
    return principal.key_id or "admin"


@router.get("", responses=errors(404))
def list_alarms(
    platform: PlatformDep,
    principal: Caller,
    status: AlarmStatus | None = None,
    severity: Severity | None = None,
    device: Annotated[str | None, Query(description="device id or name")] = None,
    type: Annotated[str | None, Query(description="alarm type, e.g. anomaly")] = None,
    deployment: Annotated[str | None, Query(description="deployment id or name")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """The tenant's alarms, newest first, filtered."""
    found = platform.ops.alarms(principal.tenant, status, severity, device, type, deployment, limit)
    return [alarm.public() for alarm in found]


@router.get("/stats")
def alarm_stats(platform: PlatformDep, principal: Caller) -> list[dict[str, Any]]:
    """Per deployment: alarms raised, active, confirmed, rejected, and precision of the judged."""
    return platform.ops.alarm_stats(principal.tenant)


@router.get("/{alarm_id}")
def get_alarm(alarm_id: str, platform: PlatformDep, principal: Caller) -> dict[str, Any]:
    """One alarm, with its details, comments and verdict."""
    return platform.ops.alarm(principal.tenant, alarm_id).public()


@router.post("/{alarm_id}/ack")
def acknowledge(alarm_id: str, platform: PlatformDep, principal: Operator) -> dict[str, Any]:
    """Acknowledge an alarm, open or cleared; twice changes nothing."""
    return platform.ops.acknowledge(principal.tenant, alarm_id).public()


@router.post("/{alarm_id}/clear")
def clear(alarm_id: str, platform: PlatformDep, principal: Operator) -> dict[str, Any]:
    """Clear an open alarm by hand; a cleared one stays as it is."""
    return platform.ops.clear(principal.tenant, alarm_id).public()


@router.post("/{alarm_id}/comment")
def comment(
    alarm_id: str, body: CommentIn, platform: PlatformDep, principal: Operator
) -> dict[str, Any]:
    """Add a comment, signed with the caller's key id."""
    alarm = platform.ops.comment(principal.tenant, alarm_id, body.text, _by(principal))
    return alarm.public()


class AssignIn(BaseModel):
    """Who works the alarm (null: nobody)."""

    model_config = _STRICT

    assignee: str | None = Field(default=None, min_length=1, max_length=200)


@router.post("/{alarm_id}/assign")
def assign(
    alarm_id: str, body: AssignIn, platform: PlatformDep, principal: Operator
) -> dict[str, Any]:
    """Assign the alarm to someone, or to nobody."""
    return platform.ops.assign(principal.tenant, alarm_id, body.assignee).public()


@router.post("/{alarm_id}/verdict")
def verdict(
    alarm_id: str, body: VerdictIn, platform: PlatformDep, principal: Operator
) -> dict[str, Any]:
    """Judge an alarm a real fault or a false alarm; a later verdict replaces the earlier."""
    judged = Verdict(
        body.true_alarm, body.fault_type, body.root_cause, body.lesson, by=_by(principal)
    )
    return platform.ops.label(principal.tenant, alarm_id, judged).public()
