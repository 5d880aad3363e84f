"""The faults a simulated fleet injected (the demo's), beside the alarms that caught them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from aiot.api.deps import Caller, PlatformDep

__all__ = ["router"]

router = APIRouter(prefix="/api/sim", tags=["simulation"])


@router.get("/faults")
def faults(platform: PlatformDep, principal: Caller) -> list[dict[str, Any]]:
    """Injected faults so far (empty unless a simulated fleet feeds this server), with alarms."""
    return platform.ops.simulated_faults(principal.tenant, platform.simulated)
