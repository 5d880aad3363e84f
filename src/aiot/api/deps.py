"""Request dependencies: the platform, and who is calling with which role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aiot.app import Platform
from aiot.domain import Principal, Role
from aiot.errors import Forbidden

__all__ = ["Caller", "PlatformDep", "get_platform", "require"]

_bearer = HTTPBearer(auto_error=False, description="An aiot API key")


def get_platform(request: Request) -> Platform:
    """The platform the app was built with."""
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def caller(
    platform: PlatformDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    x_aiot_tenant: Annotated[str | None, Header(description="tenant, for the admin key")] = None,
) -> Principal:
    """The principal behind the request's API key."""
    secret = credentials.credentials if credentials else None
    return platform.principal(secret, x_aiot_tenant)


Caller = Annotated[Principal, Depends(caller)]


def require(role: Role) -> Callable[[Principal], Principal]:
    """A dependency that refuses callers below ``role``."""

    def check(principal: Caller) -> Principal:
        if not principal.role.allows(role):
            raise Forbidden(f"this needs the {role.value} role; the key has {principal.role.value}")
        return principal

    return check


Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]

__all__ += ["Admin", "Operator"]
