"""Claiming devices: a user who knows the secret a device offered becomes its owner.

The answers are ThingsBoard's ``ClaimResponse``: ``SUCCESS`` (200, the device with its new
``owner``); ``FAILURE`` (400 ``claim_failed``: a wrong secret, an expired claim, or none);
``CLAIMED`` (409 ``already_claimed``: it has an owner). ``DELETE`` frees the device again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aiot.api.deps import Operator, PlatformDep
from aiot.api.openapi import errors
from aiot.app import Platform
from aiot.domain import Principal, now_ms
from aiot.errors import Conflict, InvalidInput

__all__ = ["router"]

router = APIRouter(prefix="/api/devices", tags=["devices"])


class ClaimIn(BaseModel):
    """The secret the device offered, and who claims it."""

    model_config = ConfigDict(extra="forbid")
    secretKey: str = Field(default="", max_length=1000)
    owner: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="the owner (a customer); the API key's name when absent",
    )


def _owner(platform: Platform, principal: Principal) -> str:
    if principal.key_id is None:
        return "admin"
    keys = platform.catalog.keys(principal.tenant)
    return next((k.name for k in keys if k.id == principal.key_id), principal.key_id)


@router.post("/{device_id}/claim", responses=errors(409))
def claim_device(
    device_id: str, body: ClaimIn, platform: PlatformDep, principal: Operator
) -> dict[str, Any]:
    """Claim a device with the secret it offered: ``{"response": "SUCCESS", "device": ...}``."""
    owner = body.owner or _owner(platform, principal)
    answer, device = platform.catalog.claim_device(
        principal.tenant, device_id, body.secretKey, owner, now_ms()
    )
    if answer == "CLAIMED":
        message = "the device is claimed already"
        raise Conflict(message, {"response": answer}, code="already_claimed")
    if answer == "FAILURE":
        message = "no claim matches: wrong secret, expired, or the device offered none"
        raise InvalidInput(message, {"response": answer}, code="claim_failed")
    return {"response": answer, "device": device.public()}


@router.delete("/{device_id}/claim")
def reclaim_device(device_id: str, platform: PlatformDep, principal: Operator) -> dict[str, Any]:
    """Free a device: no owner and no pending claim; says whom it was taken from."""
    previous, device = platform.catalog.reclaim_device(principal.tenant, device_id)
    return {"previous_owner": previous, "device": device.public()}
