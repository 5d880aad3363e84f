"""Deployments: a detector bound to the keys of selected devices, scoring live telemetry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from aiot.api.deps import Caller, Operator, PlatformDep
from aiot.api.openapi import errors
from aiot.api.params import parse_time
from aiot.domain import Selector
from aiot.operations import DeploymentSpec

__all__ = ["router"]

router = APIRouter(prefix="/api/deployments", tags=["deployments"])

_STRICT = ConfigDict(extra="forbid")  # a misspelt field is refused, not silently ignored


class SelectorIn(BaseModel):
    """Which devices to read: one device (id or name), a device type, labels (all must match)."""

    model_config = _STRICT

    device: str | None = Field(default=None, min_length=1, max_length=200)
    type: str | None = Field(default=None, min_length=1, max_length=100)
    labels: dict[str, str] = Field(default_factory=dict)


class DeploymentIn(BaseModel):
    """A detector to run on live telemetry, and the policy that turns its scores into alarms."""

    model_config = _STRICT

    name: str = Field(min_length=1, max_length=100, description="scores go to score/<name>")
    detector: str = Field(min_length=1, max_length=100, description="a registered detector")
    keys: list[str] = Field(min_length=1, max_length=200)
    selector: SelectorIn
    params: dict[str, Any] = Field(default_factory=dict, description="the detector's")
    policy: dict[str, Any] = Field(default_factory=dict, description="an alarm policy")
    multivariate: bool = Field(default=False, description="one model per device over all keys")
    backfill_start: str | None = Field(
        default=None,
        description="first score the stored history since then (ISO-8601 or epoch ms); "
        "progress in GET /api/deployments/{ref} stats.backfill",
    )


class DeploymentPatch(BaseModel):
    """What to change: pause or resume, or replace the alarm policy."""

    model_config = _STRICT

    paused: bool | None = None
    policy: dict[str, Any] | None = None


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(404, 409))
def deploy(body: DeploymentIn, platform: PlatformDep, principal: Operator) -> dict[str, Any]:
    """Deploy a detector; it scores the selected devices' points from the next ones on."""
    selector = Selector(body.selector.device, body.selector.type, body.selector.labels)
    spec = DeploymentSpec(
        body.name,
        body.detector,
        tuple(body.keys),
        selector,
        body.params,
        body.policy,
        body.multivariate,
        parse_time(body.backfill_start, 0, "backfill_start") if body.backfill_start else None,
    )
    return platform.ops.deploy(principal.tenant, spec).public()


@router.get("")
def list_deployments(platform: PlatformDep, principal: Caller) -> list[dict[str, Any]]:
    """The tenant's deployments, by name."""
    return [d.public() for d in platform.ops.deployments(principal.tenant)]


@router.get("/{ref}")
def get_deployment(ref: str, platform: PlatformDep, principal: Caller) -> dict[str, Any]:
    """One deployment by id or name, with its live ``stats`` (series, scored, late)."""
    shown = platform.ops.deployment(principal.tenant, ref).public()
    return shown | {"stats": platform.ops.deployment_stats(principal.tenant, ref)}


@router.patch("/{ref}")
def update_deployment(
    ref: str, body: DeploymentPatch, platform: PlatformDep, principal: Operator
) -> dict[str, Any]:
    """Pause or resume a deployment, or replace its alarm policy."""
    changed = platform.ops.update_deployment(
        principal.tenant, ref, paused=body.paused, policy=body.policy
    )
    return changed.public()


@router.delete("/{ref}", status_code=status.HTTP_204_NO_CONTENT)
def remove_deployment(ref: str, platform: PlatformDep, principal: Operator) -> None:
    """Stop and delete a deployment; its alarms and stored scores stay."""
    platform.ops.remove_deployment(principal.tenant, ref)
