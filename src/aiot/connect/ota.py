"""Firmware and software updates over the air, as ThingsBoard delivers them.

Assigning a package (to a device, or to the profile of its type) sets the device's shared
attributes ``fw_title``, ``fw_version``, ``fw_tag``, ``fw_size``, ``fw_checksum``,
``fw_checksum_algorithm``, ``fw_ts`` (``sw_*`` for software) and pushes them to the device if
connected; unassigning deletes them (``{"deleted": [...]}`` is pushed), unless the profile
still gives one. The device then downloads the package:

- MQTT: it publishes ``v2/fw/request/{id}/chunk/{n}`` whose payload is the chunk size in
  bytes (empty: the whole package) and gets ``v2/fw/response/{id}/chunk/{n}`` with bytes
  ``[n*size, (n+1)*size)``, empty past the end, whatever it subscribed to.
- HTTP: ``GET /api/v1/{token}/firmware?title=&version=&size=&chunk=`` (``/software``) answers
  the same bytes; a title or version other than the assigned one is a 400, none assigned 404.

It reports its progress as telemetry (``fw_state``, ``current_fw_title``, …), which
:meth:`Updates.status` reads back.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Protocol
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from aiot.connect.topics import DeviceTopic, ota_response
from aiot.domain import Device, DeviceChannel, now_ms
from aiot.domain.packages import (
    Package,
    PackageKind,
    attribute_keys,
    checksum,
    prefix,
    shared_attributes,
    state_keys,
)
from aiot.errors import InvalidInput, NotFound, PayloadTooLarge
from aiot.ingest import Ingestor
from aiot.store.base import TelemetryStore
from aiot.store.catalog import Catalog

if TYPE_CHECKING:
    from aiot.connect.mqtt.handlers import Reply
    from aiot.connect.mqtt.session import DeviceSession

__all__ = ["MQTT_HANDLERS", "Updates", "attachment", "chunk_of", "ota_routes"]

_OVERHEAD = 16  # bytes of a QoS 0 PUBLISH beside its topic and payload (header, lengths)
_MAX_DIGITS = 10
_ERROR = {"$ref": "#/components/schemas/ErrorOut"}


def attachment(name: str) -> str:
    """A ``Content-Disposition`` naming the file, whatever characters its name has (RFC 6266)."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def chunk_of(data: bytes, size: int, chunk: int) -> bytes:
    """Chunk ``chunk`` of ``data`` in chunks of ``size`` bytes; all of it when ``size`` is 0."""
    if size <= 0:
        return data
    return data[size * chunk : size * (chunk + 1)]


class Updates:
    """Package assignments, the shared attributes that announce them, and devices' progress."""

    def __init__(self, catalog: Catalog, channel: Callable[[], DeviceChannel | None]) -> None:
        self.catalog = catalog
        self._channel = channel

    def upload(self, tenant: str, spec: dict[str, Any], data: bytes) -> Package:
        """Store a package: ``spec`` names kind, title, version, checksum_algorithm, and
        optionally checksum (verified: a mismatch is refused), content_type and file_name."""
        if not data:
            raise InvalidInput("a package needs at least one byte")
        algorithm = spec["checksum_algorithm"]
        computed = checksum(data, algorithm)
        given = spec.get("checksum")
        if given and given.strip().lower() != computed:
            raise InvalidInput(
                f"the {algorithm} checksum of the bytes is not the one given",
                detail={"given": given, "computed": computed},
                code="checksum_mismatch",
            )
        package = Package(
            id=str(uuid.uuid4()),
            tenant=tenant,
            kind=spec["kind"],
            title=spec["title"],
            version=spec["version"],
            checksum_algorithm=algorithm,
            checksum=computed,
            size=len(data),
            content_type=spec.get("content_type") or "application/octet-stream",
            file_name=spec.get("file_name") or spec["title"],
            created_ms=now_ms(),
        )
        return self.catalog.create_package(package, data)

    def delete(self, tenant: str, package_id: str) -> Package:
        """Remove a package no device or profile is assigned."""
        return self.catalog.delete_package(tenant, package_id)

    def assign_device(
        self, tenant: str, device_id: str, kind: PackageKind, package_id: str | None
    ) -> dict[str, Any]:
        """Give a device its own package (None: it follows its profile again); its status."""
        device = self.catalog.device(tenant, device_id)
        self.catalog.assign_device(tenant, device.id, kind, package_id)
        self._announce(tenant, [device.id], kind)
        package, source = self.catalog.assigned_package(tenant, device.id, kind)
        return {"package": package.public() if package else None, "source": source}

    def assign_profile(
        self, tenant: str, profile: str, kind: PackageKind, package_id: str | None
    ) -> dict[str, Any]:
        """Give every device of a type that has no package of its own this one (or none)."""
        following = self.catalog.assign_profile(tenant, profile, kind, package_id)
        self._announce(tenant, following, kind)
        return {"profile": profile, "kind": kind, "package": package_id, "devices": following}

    def _announce(self, tenant: str, device_ids: list[str], kind: PackageKind) -> None:
        channel = self._channel()
        for device_id in device_ids:
            package, _ = self.catalog.assigned_package(tenant, device_id, kind)
            if package is not None:
                values: dict[str, Any] = shared_attributes(package)
                self.catalog.set_attributes(tenant, device_id, "shared", values)
            else:
                keys = attribute_keys(kind)
                if not self.catalog.delete_attributes(tenant, device_id, "shared", keys):
                    continue
                values = {"deleted": keys}
            if channel is not None:
                channel.push_attributes(tenant, device_id, values)

    def status(
        self, tenant: str, device: Device, kind: PackageKind, store: TelemetryStore
    ) -> dict[str, Any]:
        """The package a device is to run, where it comes from, and what it last reported."""
        package, source = self.catalog.assigned_package(tenant, device.id, kind)
        keys = state_keys(kind)
        cols = store.latest(tenant, device.id, keys).to_pydict()
        reported: dict[str, Any] = dict.fromkeys(keys)
        rows = zip(cols["key"], cols["ts"], cols["value"], cols["text"], strict=True)
        last = None
        for key, ts, value, text in rows:
            reported[key] = text if text is not None else value
            last = max(last or ts, ts)
        p = prefix(kind)
        return {
            "device": device.id,
            "name": device.name,
            "package": package.public() if package else None,
            "source": source,
            "state": reported[f"{p}_state"],
            "current_title": _text(reported[f"current_{p}_title"]),
            "current_version": _text(reported[f"current_{p}_version"]),
            "error": reported[f"{p}_error"] or None,
            "reported_ts": last,
        }

    def rollout(self, tenant: str, package_id: str, store: TelemetryStore) -> list[dict[str, Any]]:
        """The status of every device whose package this is."""
        package = self.catalog.package(tenant, package_id)
        ids = self.catalog.devices_following(tenant, package)
        devices = [self.catalog.device(tenant, i) for i in ids]
        return [self.status(tenant, d, package.kind, store) for d in devices]


def _text(value: Any) -> str | None:
    """A reported title or version as text: the store keeps ``"1.1"`` as the number 1.1."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return None if value is None else str(value)


def _package_for(catalog: Catalog, device: Device, kind: PackageKind) -> tuple[Package, bytes]:
    package, _ = catalog.assigned_package(device.tenant, device.id, kind)
    if package is None:
        raise NotFound(f"no {kind} is assigned to this device", code="no_package")
    return package, catalog.package_data(device.tenant, package.id)


def _chunk_size(body: bytes) -> int:
    text = body.strip()
    if not text:
        return 0
    if not (text.isdigit() and len(text) <= _MAX_DIGITS):
        raise InvalidInput("the payload is the chunk size: a whole number of bytes, or empty")
    return int(text)


async def _mqtt_request(session: DeviceSession, topic: DeviceTopic, body: bytes) -> Reply:
    """Answer ``v2/fw/request/{id}/chunk/{n}`` (or ``v2/sw/``) with that chunk's bytes."""
    device = session.device
    assert device is not None
    kind: PackageKind = "firmware" if topic.kind == "fw_request" else "software"
    size, chunk = _chunk_size(body), topic.chunk or 0
    catalog = session.ingest.catalog
    known = _downloads.setdefault(session, OrderedDict())
    package_id = known.get((kind, topic.request_id or 0))
    if package_id is None:  # a new download: of the package assigned now
        package, data = await asyncio.to_thread(_package_for, catalog, device, kind)
        known[(kind, topic.request_id or 0)] = package.id
        while len(known) > _DOWNLOADS:
            known.popitem(last=False)
    else:  # the rest of one: the same package, even if another was assigned meanwhile
        data = await asyncio.to_thread(catalog.package_data, device.tenant, package_id)
    where = ota_response(prefix(kind), topic.request_id or 0, chunk)
    payload = chunk_of(data, size, chunk)
    most = session.dialect.max_out - _OVERHEAD - len(where)
    if len(payload) > most:
        raise PayloadTooLarge(
            f"a chunk of {len(payload)} bytes is above the connection's maximum packet size"
            f" ({session.dialect.max_out} bytes): ask for chunks of at most {most} bytes",
            code="chunk_too_large",
        )
    return [(where, payload)]


# The package of each download (request id) of a session, as ThingsBoard's MQTT transport keeps
# them: a download goes on with the package it began with.
_downloads: weakref.WeakKeyDictionary[DeviceSession, OrderedDict[tuple[str, int], str]]
_downloads = weakref.WeakKeyDictionary()
_DOWNLOADS = 8  # request ids a session remembers

MQTT_HANDLERS = {"fw_request": _mqtt_request, "sw_request": _mqtt_request}


class _Gate(Protocol):
    ingest: Ingestor

    def authenticate(self, token: str) -> Device: ...


def ota_routes(router: APIRouter, gate: _Gate) -> None:
    """``GET /firmware`` and ``GET /software`` of the HTTP device API."""
    for kind in ("firmware", "software"):
        router.add_api_route(
            f"/{kind}",
            _http_request(gate, kind),
            methods=["GET"],
            name=f"get_{kind}",
            response_class=Response,
            responses={
                200: {
                    "description": f"the {kind} package's bytes (or one chunk of them)",
                    "content": {"application/octet-stream": {"schema": {"type": "string"}}},
                },
                404: {
                    "description": f"not_found: no {kind} is assigned to the device",
                    "content": {"application/json": {"schema": _ERROR}},
                },
            },
        )


def _http_request(gate: _Gate, kind: PackageKind) -> Callable[..., Any]:
    async def get_package(
        token: str,
        title: Annotated[str, Query(description="the assigned package's title")],
        version: Annotated[str, Query(description="the assigned package's version")],
        size: Annotated[int, Query(ge=0, description="chunk size in bytes; 0: all")] = 0,
        chunk: Annotated[int, Query(ge=0, le=2**31, description="chunk number")] = 0,
    ) -> Response:
        device = gate.authenticate(token)
        catalog = gate.ingest.catalog
        package, data = await asyncio.to_thread(_package_for, catalog, device, kind)
        if (title, version) != (package.title, package.version):
            raise InvalidInput(
                "title or version differ from the assigned package's",
                detail={"title": package.title, "version": package.version},
            )
        return Response(
            chunk_of(data, size, chunk),
            media_type="application/octet-stream",
            headers={"Content-Disposition": attachment(package.file_name)},
        )

    get_package.__doc__ = f"The {kind} assigned to the device, whole or one chunk of it."
    return get_package
