"""Commands to devices (RPC, ThingsBoard's server-side semantics) over REST."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from aiot.api.deps import Operator, PlatformDep
from aiot.api.openapi import errors
from aiot.domain import Command

__all__ = ["router"]

router = APIRouter(prefix="/api/devices", tags=["commands"])


class CommandIn(BaseModel):
    """A command: ``method`` and ``params`` reach the device as ``{"method", "params"}``."""

    method: str = Field(min_length=1, max_length=200)
    params: Any = Field(default_factory=dict)
    timeout: float = Field(default=10.0, gt=0, le=300, description="seconds, two-way only")
    oneway: bool = Field(default=False, description="send without waiting for an answer")


@router.post(
    "/{device_id}/rpc",
    responses={
        200: {"description": "the device's answer (two-way) or an empty body (one-way)"},
        **errors(409, 504),
    },
)
async def send_command(
    device_id: str, body: CommandIn, platform: PlatformDep, principal: Operator
) -> Response:
    """Send a command to a connected device; two-way waits for its answer."""
    command = Command(body.method, body.params, body.oneway, body.timeout)
    answer = await platform.command(principal.tenant, device_id, command)
    if body.oneway:
        return Response(status_code=200)
    return JSONResponse(answer)
