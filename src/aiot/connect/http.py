"""The HTTP device API, compatible with ThingsBoard's.

``POST /api/v1/{token}/telemetry`` and ``POST /api/v1/{token}/attributes`` take the same
JSON as ThingsBoard; ``GET /api/v1/{token}/attributes?clientKeys=&sharedKeys=`` reads them
back. An unknown token is 401; a refused payload is 400 (413 when too large) with its reason
``code``, counted and logged; a 200 means the points are durable.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response

from aiot.connect.payloads import SERVER_TIME, decode_attributes, decode_telemetry
from aiot.domain import Device
from aiot.errors import PayloadRejected, PayloadTooLarge, Unauthorized
from aiot.ingest import Ingestor

__all__ = ["device_router"]

TRANSPORT = "http"


def device_router(ingest: Ingestor) -> APIRouter:
    """The device API routes, writing through ``ingest``."""
    router = APIRouter(prefix="/api/v1/{token}", tags=["device API"])
    limit = ingest.settings.max_payload_bytes

    def authenticate(token: str) -> Device:
        device = ingest.catalog.device_by_token(token)
        if device is None:
            ingest.stats.unknown_token()
            raise Unauthorized("unknown device access token")
        return device

    async def read(request: Request, device: Device) -> bytes:
        try:
            return await _read_limited(request, limit)
        except PayloadRejected as err:
            ingest.reject(device.tenant, TRANSPORT, device.id, err)
            raise

    @router.post("/telemetry")
    async def post_telemetry(token: str, request: Request) -> Response:
        """Telemetry in any of ThingsBoard's JSON forms."""
        device = authenticate(token)
        body = await read(request, device)
        try:
            batch = decode_telemetry(
                body, device.tenant, device.id, SERVER_TIME, ingest.settings.max_points_per_message
            )
        except PayloadRejected as err:
            ingest.reject(device.tenant, TRANSPORT, device.id, err, body)
            raise
        await ingest.submit(batch, [device.id])
        return Response(status_code=200)

    @router.post("/attributes")
    async def post_attributes(token: str, request: Request) -> Response:
        """Client-side attributes as one flat JSON object."""
        device = authenticate(token)
        body = await read(request, device)
        try:
            values = decode_attributes(body)
        except PayloadRejected as err:
            ingest.reject(device.tenant, TRANSPORT, device.id, err, body)
            raise
        await asyncio.to_thread(
            ingest.catalog.set_attributes, device.tenant, device.id, "client", values
        )
        return Response(status_code=200)

    @router.get("/attributes")
    def get_attributes(
        token: str, clientKeys: str | None = None, sharedKeys: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """Client and shared attributes, optionally only the named keys."""
        device = authenticate(token)
        found = ingest.catalog.attributes(device.tenant, device.id)
        answer = {"client": found.get("client", {}), "shared": found.get("shared", {})}
        for scope, wanted in (("client", clientKeys), ("shared", sharedKeys)):
            if wanted:
                names = set(wanted.split(","))
                answer[scope] = {k: v for k, v in answer[scope].items() if k in names}
        return answer

    return router


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the payload is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the payload is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
