"""Devices and their telemetry, attributes and latest values."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field

from aiot.api.deps import Caller, Operator, PlatformDep
from aiot.api.openapi import errors
from aiot.api.paging import cut_to_limit, page_headers
from aiot.api.params import now_ms, parse_interval, parse_keys, parse_order, parse_time
from aiot.api.render import Series, latest_json, series_json
from aiot.domain import Aggregation, Device, Principal, Role
from aiot.errors import InvalidInput

__all__ = ["router"]

router = APIRouter(prefix="/api/devices", tags=["devices"])

_DAY_MS = 86_400_000
MAX_POINTS = 1_000_000


class DeviceIn(BaseModel):
    """A device to create."""

    name: str = Field(min_length=1, max_length=200)
    type: str = Field(default="default", min_length=1, max_length=100)
    labels: dict[str, str] = Field(default_factory=dict)
    gateway: bool = Field(default=False, description="publishes for other devices (v1/gateway)")


def _device_json(device: Device, principal: Principal) -> dict[str, Any]:
    shown = device.public()
    if not principal.role.allows(Role.OPERATOR):
        shown["access_token"] = None  # a viewer reads data, it does not impersonate devices
    return shown


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(409))
def create_device(body: DeviceIn, platform: PlatformDep, principal: Operator) -> dict[str, Any]:
    """Create a device; the answer holds its ``id`` and ``access_token``."""
    catalog, tenant = platform.catalog, principal.tenant
    device = catalog.create_device(tenant, body.name, body.type, body.labels, gateway=body.gateway)
    return _device_json(device, principal)


@router.get("", responses=errors(404))
def list_devices(
    platform: PlatformDep,
    principal: Caller,
    type: str | None = None,
    gateway: Annotated[
        str | None, Query(description="only the devices behind this gateway (id or name)")
    ] = None,
) -> list[dict[str, Any]]:
    """The tenant's devices, optionally of one type or behind one gateway."""
    catalog, tenant = platform.catalog, principal.tenant
    behind = catalog.device(tenant, gateway).id if gateway is not None else None
    return [_device_json(d, principal) for d in catalog.devices(tenant, type, behind)]


@router.get("/{device_id}")
def get_device(device_id: str, platform: PlatformDep, principal: Caller) -> dict[str, Any]:
    """One device, by id or name."""
    return _device_json(platform.catalog.device(principal.tenant, device_id), principal)


@router.delete("/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_device(device_id: str, platform: PlatformDep, principal: Operator) -> None:
    """Delete a device, its attributes and its telemetry."""
    platform.delete_device(principal.tenant, device_id)


class CertificateIn(BaseModel):
    """A device's X.509 certificate, PEM."""

    certificate: str = Field(min_length=1, max_length=20_000, description="PEM, one certificate")


@router.put("/{device_id}/certificate", responses=errors(404, 409))
def set_certificate(
    device_id: str, body: CertificateIn, platform: PlatformDep, principal: Operator
) -> dict[str, Any]:
    """Give the device X.509 credentials, as ThingsBoard's ``X509_CERTIFICATE``.

    The device then connects over MQTT with TLS presenting this certificate (its access token
    keeps working too). A self-signed certificate is trusted as it is; one signed by a CA needs
    the CA in ``AIOT_MQTT__TLS_CLIENT_CA``. A certificate belongs to one device only (409).
    """
    device = platform.set_certificate(principal.tenant, device_id, body.certificate)
    return _device_json(device, principal)


@router.delete("/{device_id}/certificate", responses=errors(404))
def remove_certificate(
    device_id: str, platform: PlatformDep, principal: Operator
) -> dict[str, Any]:
    """Take the device's X.509 credentials away; its MQTT sessions end."""
    return _device_json(platform.set_certificate(principal.tenant, device_id, None), principal)


class BasicIn(BaseModel):
    """MQTT basic credentials: a client id, a user name, or both; a password with a user name."""

    client_id: str | None = Field(default=None, min_length=1, max_length=200)
    username: str | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=1, max_length=200)


@router.put("/{device_id}/mqtt-basic", responses=errors(404, 409))
def set_mqtt_basic(
    device_id: str, body: BasicIn, platform: PlatformDep, principal: Operator
) -> dict[str, Any]:
    """Give the device MQTT basic credentials, as ThingsBoard's ``MQTT_BASIC``.

    The device then connects with that client id and/or user name (and password); its access
    token keeps working too. Client id and user name together, then the user name, then the
    client id are looked for, as ThingsBoard does. Its sessions opened before end.
    """
    if body.client_id is None and body.username is None:
        raise InvalidInput("MQTT basic credentials name a client id, a user name, or both")
    device = platform.set_basic_credentials(
        principal.tenant, device_id, body.client_id, body.username, body.password
    )
    return _device_json(device, principal)


@router.delete("/{device_id}/mqtt-basic", responses=errors(404))
def remove_mqtt_basic(device_id: str, platform: PlatformDep, principal: Operator) -> dict[str, Any]:
    """Take the device's MQTT basic credentials away; its MQTT sessions end."""
    device = platform.set_basic_credentials(principal.tenant, device_id, None, None, None)
    return _device_json(device, principal)


@router.post("/{device_id}/token", responses=errors(404))
def new_token(device_id: str, platform: PlatformDep, principal: Operator) -> dict[str, Any]:
    """Give the device a fresh access token; the old one, and its sessions, end at once."""
    return _device_json(platform.new_token(principal.tenant, device_id), principal)


@router.get("/{device_id}/telemetry")
def telemetry(
    device_id: str,
    request: Request,
    response: Response,
    platform: PlatformDep,
    principal: Caller,
    keys: Annotated[str | None, Query(description="comma-separated; all keys if absent")] = None,
    start: Annotated[str | None, Query(description="ISO-8601 or epoch ms; default end-1d")] = None,
    end: Annotated[str | None, Query(description="ISO-8601 or epoch ms; default now")] = None,
    interval: Annotated[str | None, Query(description="bucket: 30s, 15m, 1h, 1d")] = None,
    agg: Aggregation = Aggregation.AVG,
    limit: Annotated[
        int, Query(ge=1, le=MAX_POINTS, description="points (or buckets) per key")
    ] = 10_000,
    order_by: Annotated[str, Query(alias="orderBy", description="ASC or DESC, by ts")] = "ASC",
) -> Series:
    """Raw points, or time-bucket aggregates when ``interval`` is given; ``[start, end)``.

    At most ``limit`` points (or buckets) per key; an answer that left some out names the keys
    in ``Aiot-Truncated-Keys`` and links the next page (``Link: <...>; rel="next"``).
    """
    device = platform.catalog.device(principal.tenant, device_id)
    end_ms = parse_time(end, now_ms() + 1, "end")
    start_ms = parse_time(start, end_ms - _DAY_MS, "start")
    wanted, order = parse_keys(keys), parse_order(order_by)
    step = parse_interval(interval) if interval is not None else None
    reader, tenant = platform.reader(), principal.tenant
    # One point more than asked tells a key that was cut from one with exactly `limit`.
    if step is None:
        table = reader.query(tenant, device.id, wanted, start_ms, end_ms, limit + 1, order)
    else:
        table = reader.aggregate(
            tenant, device.id, wanted, start_ms, end_ms, step, agg, limit + 1, order
        )
    series = series_json(table, wanted)
    cut = cut_to_limit(series, limit)
    page = page_headers(request.url, series, cut, order, start_ms, end_ms, step or 1)
    response.headers.update(page)
    return series


@router.get("/{device_id}/latest")
def latest(
    device_id: str, platform: PlatformDep, principal: Caller, keys: str | None = None
) -> dict[str, dict[str, Any]]:
    """The newest value of each key."""
    device = platform.catalog.device(principal.tenant, device_id)
    return latest_json(platform.reader().latest(principal.tenant, device.id, parse_keys(keys)))


@router.get("/{device_id}/keys")
def keys(device_id: str, platform: PlatformDep, principal: Caller) -> list[str]:
    """The telemetry keys the device has sent."""
    device = platform.catalog.device(principal.tenant, device_id)
    return platform.reader().keys(principal.tenant, device.id)


@router.get("/{device_id}/attributes")
def attributes(
    device_id: str,
    platform: PlatformDep,
    principal: Caller,
    scope: Literal["client", "shared", "server"] | None = None,
) -> dict[str, dict[str, Any]]:
    """The device's attributes by scope (client, shared, server)."""
    device = platform.catalog.device(principal.tenant, device_id)
    return platform.catalog.attributes(principal.tenant, device.id, scope)


@router.post("/{device_id}/attributes/{scope}")
def set_attributes(
    device_id: str,
    scope: Literal["shared", "server"],
    body: dict[str, Any],
    platform: PlatformDep,
    principal: Operator,
) -> dict[str, dict[str, Any]]:
    """Set shared or server attributes; shared ones reach the device over MQTT at once.

    Client attributes are the device's own (``POST /api/v1/{token}/attributes``).
    """
    return platform.set_attributes(principal.tenant, device_id, scope, body)
