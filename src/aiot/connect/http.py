"""The HTTP device API, compatible with ThingsBoard's.

``POST /api/v1/{token}/telemetry`` and ``POST /api/v1/{token}/attributes`` take the same
JSON as ThingsBoard; ``GET /api/v1/{token}/attributes?clientKeys=&sharedKeys=`` reads them
back. ``{}`` or ``[]`` (ThingsBoard's HTTP client posts ``{}`` to test its connection) is a
200 that stores nothing, counted as an accepted message of no points. ``POST /rpc`` is a
client-side RPC (``aiot.connect.client_rpc``); ``GET /rpc?timeout=`` waits for a server-side
command and ``POST /rpc/{id}`` answers it, ``GET /attributes/updates?timeout=`` waits for a
shared attribute to change (``aiot.connect.http_rpc``). ``POST /claim`` lets the device be
claimed (``aiot.connect.claims``); ``POST /api/v1/provision``, outside the token's path,
provisions a device (``aiot.connect.provision``). An unknown token is
401; a refused payload is 400 (413 when too large) with its reason ``code``, counted and
logged; a 200 means the points are durable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from aiot.connect import claims, client_rpc, provision
from aiot.connect.http_rpc import HttpPolls
from aiot.connect.limits import RateLimits
from aiot.connect.ota import ota_routes
from aiot.connect.payloads import SERVER_TIME, decode_attributes, decode_json, decode_telemetry
from aiot.domain import Device
from aiot.errors import Conflict, NotFound, PayloadRejected, PayloadTooLarge, Unauthorized
from aiot.ingest import Ingestor

__all__ = ["device_router", "provision_router", "read_limited"]

TRANSPORT = "http"
DEFAULT_POLL_MS = 60_000  # ThingsBoard's transport.http.request_timeout
MAX_POLL_MS = 300_000
_MAX_PACE_SECONDS = 10.0
_EMPTY: tuple[Any, ...] = ({}, [])
_T = TypeVar("_T")
_Keys = Annotated[list[str] | None, Query(description="comma-separated, or the name repeated")]


def device_router(
    ingest: Ingestor, polls: HttpPolls | None = None, rates: RateLimits | None = None
) -> APIRouter:
    """The device API routes, writing through ``ingest``; commands wait in ``polls``."""
    router = APIRouter(prefix="/api/v1/{token}", tags=["device API"])
    gate = _Gate(ingest, rates or RateLimits(ingest.catalog))
    _data_routes(router, gate)
    _rpc_routes(router, gate, polls or HttpPolls())
    _claim_routes(router, gate)
    ota_routes(router, gate)
    return router


class _Gate:
    """What every device route does first: find the device, read and decode its body."""

    def __init__(self, ingest: Ingestor, rates: RateLimits) -> None:
        self.ingest = ingest
        self.rates = rates

    async def pace(self, device: Device) -> None:
        """Above the device's or its tenant's rate, answer later (up to 10 s), never refuse."""
        wait = self.rates.http_wait(device)  # the catalog is read once per 5 s at most
        if wait > 0:
            await asyncio.sleep(min(wait, _MAX_PACE_SECONDS))

    def authenticate(self, token: str) -> Device:
        device = self.ingest.catalog.device_by_token(token)
        if device is None:
            self.ingest.stats.unknown_token()
            raise Unauthorized("unknown device access token")
        return device

    async def read(self, request: Request, device: Device) -> bytes:
        try:
            return await read_limited(request, self.ingest.settings.max_payload_bytes)
        except PayloadRejected as err:
            self.ingest.reject(device.tenant, TRANSPORT, device.id, err)
            raise

    def decode(self, device: Device, body: bytes, decoder: Callable[[bytes], _T]) -> _T:
        try:
            return decoder(body)
        except PayloadRejected as err:
            self.ingest.reject(device.tenant, TRANSPORT, device.id, err, body)
            raise

    def accept_empty(self, device: Device) -> Response:
        self.ingest.stats.accepted(device.tenant, 1, 0)  # as ThingsBoard: 200, nothing stored
        return Response(status_code=200)


def _data_routes(router: APIRouter, gate: _Gate) -> None:
    ingest = gate.ingest

    @router.post("/telemetry")
    async def post_telemetry(token: str, request: Request) -> Response:
        """Telemetry in any of ThingsBoard's JSON forms."""
        device = gate.authenticate(token)
        await gate.pace(device)
        body = await gate.read(request, device)
        if _empty(body):
            return gate.accept_empty(device)
        most = ingest.settings.max_points_per_message
        batch = gate.decode(
            device, body, lambda b: decode_telemetry(b, device.tenant, device.id, SERVER_TIME, most)
        )
        await ingest.submit(batch, [device.id])
        return Response(status_code=200)

    @router.post("/attributes")
    async def post_attributes(token: str, request: Request) -> Response:
        """Client-side attributes as one flat JSON object."""
        device = gate.authenticate(token)
        await gate.pace(device)
        body = await gate.read(request, device)
        if _empty(body):
            return gate.accept_empty(device)
        values = gate.decode(device, body, decode_attributes)
        await asyncio.to_thread(
            ingest.catalog.set_attributes, device.tenant, device.id, "client", values
        )
        return Response(status_code=200)

    @router.get("/attributes")
    def get_attributes(
        token: str, clientKeys: _Keys = None, sharedKeys: _Keys = None
    ) -> dict[str, dict[str, Any]]:
        """Client and shared attributes, optionally only the named keys."""
        device = gate.authenticate(token)
        found = ingest.catalog.attributes(device.tenant, device.id)
        answer = {"client": found.get("client", {}), "shared": found.get("shared", {})}
        for scope, wanted in (("client", clientKeys), ("shared", sharedKeys)):
            if wanted:  # a=x,y or, as ThingsBoard's HTTP SDK sends them, a=x&a=y
                names = set(",".join(wanted).split(","))
                answer[scope] = {k: v for k, v in answer[scope].items() if k in names}
        return answer


def _rpc_routes(router: APIRouter, gate: _Gate, polls: HttpPolls) -> None:
    ingest = gate.ingest
    limits = client_rpc.SessionLimits(ingest.settings.max_payload_bytes, 1)  # one at a time

    @router.post("/rpc")
    async def post_rpc(token: str, request: Request) -> Response:
        """A client-side RPC; aiot answers ThingsBoard's built-in methods."""
        device = gate.authenticate(token)
        out = client_rpc.call(ingest, device, TRANSPORT, await gate.read(request, device), limits)
        code = orjson.loads(out).get("code")
        # no rule answers other methods: ThingsBoard's request times out (408), so say so now
        status = {None: 200, client_rpc.UNKNOWN: 408}.get(code, 400)
        return Response(out, status_code=status, media_type="application/json")

    @router.get("/rpc")
    async def poll_rpc(
        token: str, timeout: int = Query(0, ge=0, description="ms; 0: 60 000")
    ) -> Response:
        """Wait for a server-side command: ``{id, method, params}``, or 408 after ``timeout``."""
        device = gate.authenticate(token)
        wait = min(timeout or DEFAULT_POLL_MS, MAX_POLL_MS) / 1000
        command = await polls.poll(device.tenant, device.id, wait)
        return Response(status_code=408) if command is None else JSONResponse(command)

    @router.get("/attributes/updates")
    async def poll_attributes(
        token: str, timeout: int = Query(0, ge=0, description="ms; 0: 60 000")
    ) -> Response:
        """Wait for a shared attribute to change: ``{key: value}``, or 408 after ``timeout``."""
        device = gate.authenticate(token)
        wait = min(timeout or DEFAULT_POLL_MS, MAX_POLL_MS) / 1000
        update = await polls.updates(device.tenant, device.id, wait)
        return Response(status_code=408) if update is None else JSONResponse(update)

    @router.post("/rpc/{request_id}")
    async def reply_rpc(token: str, request_id: int, request: Request) -> Response:
        """The device's answer to server-side command ``request_id``."""
        device = gate.authenticate(token)
        value = gate.decode(device, await gate.read(request, device), decode_json)
        if not polls.reply(device.tenant, device.id, request_id, value):
            raise NotFound(f"no command {request_id} awaits an answer (timed out or answered)")
        return Response(status_code=200)


def _claim_routes(router: APIRouter, gate: _Gate) -> None:
    ingest = gate.ingest

    @router.post("/claim")
    async def post_claim(token: str, request: Request) -> Response:
        """Let the device be claimed: ``{"secretKey", "durationMs"}`` (both optional)."""
        device = gate.authenticate(token)
        body = await gate.read(request, device)
        value = {} if not body.strip() else gate.decode(device, body, decode_json)
        try:
            await claims.offer(ingest.catalog, device, value)
        except (PayloadRejected, Conflict) as err:  # refused as a payload is: 400, with why
            refusal = PayloadRejected(err.message, code=err.code)
            ingest.reject(device.tenant, TRANSPORT, device.id, refusal, body)
            raise refusal from err
        return Response(status_code=200)


class ProvisionIn(BaseModel):
    """A provisioning request, as ThingsBoard's devices send it."""

    deviceName: str | None = Field(default=None, description="generated when absent")
    provisionDeviceKey: str = Field(description="the key of a device profile")
    provisionDeviceSecret: str
    credentialsType: str | None = Field(default="ACCESS_TOKEN", description="ACCESS_TOKEN only")
    token: str | None = Field(default=None, description="the access token the device wants")


class ProvisionOut(BaseModel):
    """ThingsBoard's answer: SUCCESS with the credentials, or NOT_FOUND / FAILURE and why."""

    status: Literal["SUCCESS", "NOT_FOUND", "FAILURE"]
    credentialsType: str | None = None
    credentialsValue: str | None = None
    errorMsg: str | None = None


def provision_router(ingest: Ingestor) -> APIRouter:
    """``POST /api/v1/provision``: a device without credentials asks for some."""
    router = APIRouter(prefix="/api/v1", tags=["device API"])
    body_schema = {"content": {"application/json": {"schema": ProvisionIn.model_json_schema()}}}

    @router.post(
        "/provision",
        response_model=ProvisionOut,
        response_model_exclude_none=True,
        openapi_extra={"requestBody": {**body_schema, "required": True}},
    )
    async def post_provision(request: Request) -> dict[str, Any]:
        """Provision a device with a profile's key and secret; always 200 with a ``status``.

        As ThingsBoard's: ``SUCCESS`` with ``credentialsValue`` (the access token),
        ``NOT_FOUND`` (no such key, or a wrong secret) or ``FAILURE`` with ``errorMsg``.
        """
        try:
            body = await read_limited(request, ingest.settings.max_payload_bytes)
        except PayloadTooLarge:
            ingest.stats.provision_refused()
            raise
        return await provision.provision(ingest, TRANSPORT, body)

    return router


def _empty(body: bytes) -> bool:
    if len(body) > 64:  # a short check: only tiny bodies can be empty documents
        return False
    try:
        return decode_json(body) in _EMPTY
    except PayloadRejected:
        return False


async def read_limited(request: Request, limit: int, too_large: str | None = None) -> bytes:
    """The request's body, refused (PayloadTooLarge, ``too_large``) once above ``limit`` bytes."""
    message = too_large or f"the payload is larger than {limit} bytes"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(message)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(message)
        chunks.append(chunk)
    return b"".join(chunks)
