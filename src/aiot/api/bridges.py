"""Bridges to external MQTT brokers: add, list, remove."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from aiot.api.deps import Caller, Operator, PlatformDep
from aiot.connect.bridges import BridgeSpec
from aiot.connect.cabundle import MAX_CA_BYTES

__all__ = ["router"]

router = APIRouter(prefix="/api/bridges", tags=["bridges"])


class BridgeIn(BaseModel):
    """A bridge: the broker, how to log in, and topic templates."""

    model_config = ConfigDict(extra="forbid")  # a field of older versions (ca_file) is refused
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(description="mqtt://host[:port] or mqtts://host[:port]", max_length=500)
    topics: list[str] = Field(
        min_length=1, description="templates: plant/{device}/{key} or site/{device}/json"
    )
    username: str | None = None
    password: str | None = None
    create_devices: bool = Field(default=False, description="create unknown devices on sight")
    device_type: str = "default"
    ca_pem: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_CA_BYTES,
        description="the CA bundle (PEM certificates) that signs an mqtts broker's certificate",
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def add_bridge(body: BridgeIn, platform: PlatformDep, principal: Operator) -> dict[str, Any]:
    """Add a bridge; it connects at once and after every restart."""
    spec = BridgeSpec(**body.model_dump())
    return platform.bridges.add(principal.tenant, spec).public()


@router.get("")
def list_bridges(platform: PlatformDep, principal: Caller) -> list[dict[str, Any]]:
    """The tenant's bridges with connection state and counters."""
    return platform.bridges.list(principal.tenant)


@router.get("/{bridge_id}")
def get_bridge(bridge_id: str, platform: PlatformDep, principal: Caller) -> dict[str, Any]:
    """One bridge (by id or name): ``state`` is connected, connecting, failed or stopped."""
    return platform.bridges.get(principal.tenant, bridge_id)


@router.delete("/{bridge_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_bridge(bridge_id: str, platform: PlatformDep, principal: Operator) -> None:
    """Stop and remove a bridge (by id or name)."""
    platform.bridges.remove(principal.tenant, bridge_id)
