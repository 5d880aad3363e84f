"""What ingestion accepted and refused, and retention of old telemetry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from aiot.api.deps import Admin, Caller, PlatformDep
from aiot.api.openapi import errors
from aiot.api.params import parse_time

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["ingest"])


class RetentionIn(BaseModel):
    """Delete the tenant's telemetry older than ``before`` (ISO-8601 or epoch ms)."""

    before: str
    device: str | None = None


@router.get("/ingest/stats")
def stats(platform: PlatformDep, principal: Caller) -> dict[str, Any]:
    """Accepted messages and points, refused messages by reason, since the server started.

    The installation's admin also sees the ingest log: its offsets and depth, fsync times, and
    how far the store trails it (``log.store.lag_points``, ``apply_delay_ms``).
    """
    counts = platform.ingest.stats.snapshot(principal.tenant, principal.platform_admin)
    if principal.platform_admin:
        counts["log"] = platform.ingest.log_stats()
    return counts


@router.get("/ingest/rejections")
def rejections(
    platform: PlatformDep,
    principal: Caller,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    reason: str | None = None,
) -> list[dict[str, Any]]:
    """The newest refused messages, newest first, with reason and an excerpt."""
    found = platform.ingest.rejections(principal.tenant, limit=limit, reason=reason)
    return [r.public() for r in found]


@router.post("/telemetry/retention", responses=errors(404))
def retention(body: RetentionIn, platform: PlatformDep, principal: Admin) -> dict[str, int]:
    """Delete old telemetry of the tenant (or of one device)."""
    before = parse_time(body.before, 0, "before")
    device = platform.catalog.device(principal.tenant, body.device).id if body.device else None
    return {"deleted": platform.reader().delete_before(principal.tenant, before, device)}
