"""Tenants and their API keys."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field

from aiot.api.deps import Caller, PlatformDep
from aiot.api.openapi import errors
from aiot.domain import ApiKey, Principal, Role, Tenant
from aiot.errors import Forbidden

__all__ = ["router"]

router = APIRouter(prefix="/api/tenants", tags=["tenants"])

TENANT_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"  # the catalog's rule for tenant ids
TenantId = Annotated[str, Path(pattern=TENANT_ID, description="lower-case slug, e.g. acme")]


class TenantIn(BaseModel):
    """A tenant to create."""

    id: str = Field(pattern=TENANT_ID, description="lower-case slug, e.g. acme")
    name: str | None = Field(default=None, max_length=200)


Limits = Annotated[
    dict[Literal["messages_per_second"], Annotated[float, Field(gt=0, allow_inf_nan=False)]],
    Field(description="all the tenant's devices together; absent: no limit"),
]


class TenantPatch(BaseModel):
    """What to change of a tenant; fields left out stay."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    limits: Limits | None = None


class KeyIn(BaseModel):
    """An API key to create."""

    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.VIEWER


def _tenant_json(tenant: Tenant) -> dict[str, Any]:
    created = tenant.created_at.isoformat()
    return {"id": tenant.id, "name": tenant.name, "created_at": created, "limits": tenant.limits}


def _key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "tenant": key.tenant,
        "name": key.name,
        "role": key.role.value,
        "prefix": key.prefix,
        "created_at": key.created_at.isoformat(),
    }


def _platform_admin(principal: Principal) -> None:
    if not principal.platform_admin:
        raise Forbidden("only the installation's admin key manages tenants")


def tenant_admin(principal: Principal, tenant: str) -> None:
    if principal.platform_admin:
        return
    if principal.tenant != tenant or principal.role is not Role.ADMIN:
        raise Forbidden("this needs an admin key of that tenant")


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(409))
def create_tenant(body: TenantIn, platform: PlatformDep, principal: Caller) -> dict[str, Any]:
    """Create a tenant (admin key only)."""
    _platform_admin(principal)
    return _tenant_json(platform.catalog.create_tenant(body.id, body.name))


@router.get("")
def list_tenants(platform: PlatformDep, principal: Caller) -> list[dict[str, Any]]:
    """Every tenant (admin key only)."""
    _platform_admin(principal)
    return [_tenant_json(t) for t in platform.catalog.tenants()]


@router.patch("/{tenant_id}", responses=errors(404))
def update_tenant(
    tenant_id: TenantId, body: TenantPatch, platform: PlatformDep, principal: Caller
) -> dict[str, Any]:
    """Rename a tenant or set its limits, e.g. ``{"limits": {"messages_per_second": 500}}``.

    The installation's admin key only: a tenant does not raise its own limits. Above its rate a
    tenant's devices are slowed (MQTT reads paused, HTTP answered later), never disconnected.
    """
    _platform_admin(principal)
    limits = None if body.limits is None else {str(k): v for k, v in body.limits.items()}
    return _tenant_json(platform.catalog.update_tenant(tenant_id, body.name, limits))


@router.delete("/{tenant_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404, 409))
def delete_tenant(
    tenant_id: TenantId, request: Request, platform: PlatformDep, principal: Caller
) -> None:
    """Delete a tenant with all it has (admin key only); its sessions end at once."""
    _platform_admin(principal)
    keys = platform.catalog.keys(tenant_id)
    platform.delete_tenant(tenant_id)
    for key in keys:
        request.app.state.live_sessions.revoke(key.id)


@router.post("/{tenant_id}/keys", status_code=status.HTTP_201_CREATED)
def create_key(
    tenant_id: TenantId, body: KeyIn, platform: PlatformDep, principal: Caller
) -> dict[str, Any]:
    """Create an API key for the tenant; its secret is in ``key`` and shown only now."""
    tenant_admin(principal, tenant_id)
    key, secret = platform.catalog.create_key(tenant_id, body.name, body.role)
    return {**_key_json(key), "key": secret}


@router.get("/{tenant_id}/keys")
def list_keys(
    tenant_id: TenantId, platform: PlatformDep, principal: Caller
) -> list[dict[str, Any]]:
    """The tenant's keys, without secrets."""
    tenant_admin(principal, tenant_id)
    return [_key_json(k) for k in platform.catalog.keys(tenant_id)]


@router.delete("/{tenant_id}/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(
    tenant_id: TenantId, key_id: str, request: Request, platform: PlatformDep, principal: Caller
) -> None:
    """Revoke a key; it stops working at once, and its live sessions (``/api/ws``) close."""
    tenant_admin(principal, tenant_id)
    platform.catalog.revoke_key(tenant_id, key_id)
    request.app.state.live_sessions.revoke(key_id)
