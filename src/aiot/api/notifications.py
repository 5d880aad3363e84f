"""Notifications of alarms: what was delivered, failed or dropped, and the newest failures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aiot.api.deps import Caller, PlatformDep

__all__ = ["router"]

router = APIRouter(prefix="/api/notifications", tags=["alarms"])


@router.get("")
def notifications(
    platform: PlatformDep,
    principal: Caller,
    limit: Annotated[int, Query(ge=1, le=1000, description="newest failures to show")] = 100,
) -> dict[str, Any]:
    """The tenant's counts since start (delivered, failed, dropped, pending) and failures."""
    stats: dict[str, Any] = platform.notifier.stats(principal.tenant)
    return stats | {"failures": platform.notifier.failures(principal.tenant, limit)}
