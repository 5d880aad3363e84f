"""Device profiles: one per device type, with its provisioning and its limits."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from aiot.api.deps import Caller, Operator, PlatformDep
from aiot.api.openapi import errors
from aiot.domain import Principal, Profile, ProvisionStrategy, Role

__all__ = ["router"]

router = APIRouter(prefix="/api/profiles", tags=["profiles"])

LimitName = Literal["messages_per_second"]  # per device of the type (aiot.connect.limits)
LimitValue = Annotated[int | float, Field(ge=0, allow_inf_nan=False)]
Limits = Annotated[
    dict[LimitName, LimitValue],
    Field(max_length=32, description='e.g. {"messages_per_second": 10}'),
]
Key = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]


class ProfileIn(BaseModel):
    """A profile: named after the device type it describes."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, pattern=r"\S", description="the device type")
    description: str = Field(default="", max_length=2000)
    provision: ProvisionStrategy = Field(
        default="disabled",
        description="allow_create: a request creates the device; check_pre_provisioned: "
        "only devices that exist get their credentials",
    )
    provision_key: Key | None = Field(default=None, description="generated when absent")
    provision_secret: Key | None = Field(default=None, description="generated when absent")
    limits: Limits = Field(default_factory=dict)


class ProfilePatch(BaseModel):
    """The fields to change; those absent stay."""

    model_config = ConfigDict(extra="forbid")
    description: str | None = Field(default=None, max_length=2000)
    provision: ProvisionStrategy | None = None
    provision_key: Key | None = None
    provision_secret: Key | None = None
    limits: Limits | None = None


def _json(profile: Profile, principal: Principal) -> dict[str, Any]:
    # as ThingsBoard shows it to tenant administrators; a viewer does not provision devices
    return profile.public(show_secret=principal.role.allows(Role.OPERATOR))


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(409))
def create_profile(body: ProfileIn, platform: PlatformDep, principal: Operator) -> dict[str, Any]:
    """Create a profile; a provisioning one gets a key and a secret unless given."""
    profile = platform.catalog.create_profile(principal.tenant, **body.model_dump())
    return _json(profile, principal)


@router.get("")
def list_profiles(platform: PlatformDep, principal: Caller) -> list[dict[str, Any]]:
    """The tenant's profiles, by name."""
    return [_json(p, principal) for p in platform.catalog.profiles(principal.tenant)]


@router.get("/{name}")
def get_profile(name: str, platform: PlatformDep, principal: Caller) -> dict[str, Any]:
    """One profile, by name (or id)."""
    return _json(platform.catalog.profile(principal.tenant, name), principal)


@router.patch("/{name}", responses=errors(409))
def update_profile(
    name: str, body: ProfilePatch, platform: PlatformDep, principal: Operator
) -> dict[str, Any]:
    """Change a profile's description, provisioning or limits."""
    changes = body.model_dump(exclude_unset=True)
    if "limits" in changes and changes["limits"] is None:
        changes["limits"] = {}
    profile = platform.catalog.update_profile(principal.tenant, name, changes)
    return _json(profile, principal)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_profile(name: str, platform: PlatformDep, principal: Operator) -> None:
    """Delete a profile; its devices stay, and its key provisions no more."""
    platform.catalog.delete_profile(principal.tenant, name)
