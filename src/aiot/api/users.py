"""A tenant's dashboard users (tenant admins manage them; passwords are never shown)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from aiot.api.deps import Caller, PlatformDep
from aiot.api.openapi import errors
from aiot.api.tenants import TenantId, tenant_admin
from aiot.domain import Role, User

__all__ = ["router"]

router = APIRouter(prefix="/api/tenants", tags=["users"])


class UserIn(BaseModel):
    """A user to create; they sign in to the dashboard with ``tenant/name`` and the password."""

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^/]+$")
    password: str = Field(min_length=8, max_length=1000)
    role: Role = Role.VIEWER


def _user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "tenant": user.tenant,
        "name": user.name,
        "role": user.role.value,
        "created_at": user.created_at.isoformat(),
    }


@router.post("/{tenant_id}/users", status_code=status.HTTP_201_CREATED, responses=errors(409))
def create_user(
    tenant_id: TenantId, body: UserIn, platform: PlatformDep, principal: Caller
) -> dict[str, Any]:
    """Create a dashboard user of the tenant with a role (admin)."""
    tenant_admin(principal, tenant_id)
    return _user_json(platform.catalog.create_user(tenant_id, body.name, body.password, body.role))


@router.get("/{tenant_id}/users")
def list_users(
    tenant_id: TenantId, platform: PlatformDep, principal: Caller
) -> list[dict[str, Any]]:
    """The tenant's users, without passwords (admin)."""
    tenant_admin(principal, tenant_id)
    return [_user_json(u) for u in platform.catalog.users(tenant_id)]


@router.delete(
    "/{tenant_id}/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404)
)
def delete_user(
    tenant_id: TenantId, user_id: str, platform: PlatformDep, principal: Caller
) -> None:
    """Delete a user, by id or name (admin); their dashboard sessions end at their next step."""
    tenant_admin(principal, tenant_id)
    platform.catalog.delete_user(tenant_id, user_id)
