"""Firmware and software packages: upload, list, download, delete, and assign them.

A package is uploaded as the raw request body, its description in the query::

    curl -X POST "$AIOT_URL/api/packages?kind=firmware&title=pump-fw&version=1.2" \\
         -H "Authorization: Bearer $AIOT_API_KEY" --data-binary @pump-fw-1.2.bin

It is then assigned to a device (``PUT /api/devices/{id}/firmware {"package": id}``) or to
the profile of a device type (``PUT /api/profiles/{type}/firmware``); the device's own
assignment wins. ``GET /api/devices/{id}/firmware`` shows the package and the device's
reported progress; ``GET /api/packages/{id}/devices`` every device's, for a rollout.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from aiot.api.deps import Caller, Operator, PlatformDep
from aiot.api.openapi import errors
from aiot.connect.http import read_limited
from aiot.connect.ota import attachment
from aiot.domain.packages import ALGORITHMS, KINDS, PackageKind

__all__ = ["assignments", "router"]

router = APIRouter(prefix="/api/packages", tags=["packages"])
assignments = APIRouter(tags=["packages"])

Algorithm = Literal["MD5", "SHA256", "SHA384", "SHA512", "CRC32"]
assert set(ALGORITHMS) == set(Algorithm.__args__)  # type: ignore[attr-defined]
_BYTES = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
_MEDIA_TYPE = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$"
_ANY = {"*/*": _BYTES["application/octet-stream"]}
_UPLOAD = {"requestBody": {"required": True, "content": _BYTES}}


class AssignIn(BaseModel):
    """The package to assign."""

    model_config = ConfigDict(extra="forbid")
    package: str = Field(min_length=1, max_length=36, description="a package id")


@router.post(
    "", status_code=status.HTTP_201_CREATED, responses=errors(409, 413), openapi_extra=_UPLOAD
)
async def upload_package(
    request: Request,
    platform: PlatformDep,
    principal: Operator,
    kind: PackageKind,
    title: Annotated[str, Query(min_length=1, max_length=200)],
    version: Annotated[str, Query(min_length=1, max_length=100)],
    checksum_algorithm: Algorithm = "SHA256",
    checksum: Annotated[
        str | None, Query(max_length=200, description="verified if given; computed if not")
    ] = None,
    content_type: Annotated[
        str, Query(max_length=200, pattern=_MEDIA_TYPE, description="served with the bytes")
    ] = "application/octet-stream",
    file_name: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
) -> dict[str, Any]:
    """Upload a package: the body is its bytes; title and version are unique per kind."""
    limit = platform.settings.max_package_bytes
    too_large = f"the package is larger than {limit} bytes (max_package_bytes)"
    data = await read_limited(request, limit, too_large)
    spec = {
        "kind": kind,
        "title": title,
        "version": version,
        "checksum_algorithm": checksum_algorithm,
        "checksum": checksum,
        "content_type": content_type,
        "file_name": file_name,
    }
    # hashing 64 MiB takes a while: not on the event loop
    made = await asyncio.to_thread(platform.ota.upload, principal.tenant, spec, data)
    return made.public()


@router.get("")
def list_packages(
    platform: PlatformDep, principal: Caller, kind: PackageKind | None = None
) -> list[dict[str, Any]]:
    """The tenant's packages (without their bytes), optionally of one kind."""
    return [p.public() for p in platform.catalog.packages(principal.tenant, kind)]


@router.get("/{package_id}")
def get_package(package_id: str, platform: PlatformDep, principal: Caller) -> dict[str, Any]:
    """One package's description."""
    return platform.catalog.package(principal.tenant, package_id).public()


@router.get(
    "/{package_id}/data",
    response_class=Response,
    responses={200: {"description": "the bytes, of the content type given", "content": _ANY}},
)
def download_package(package_id: str, platform: PlatformDep, principal: Caller) -> Response:
    """The package's bytes, as uploaded."""
    package = platform.catalog.package(principal.tenant, package_id)
    return Response(
        platform.catalog.package_data(principal.tenant, package.id),
        media_type=package.content_type,
        headers={"Content-Disposition": attachment(package.file_name)},
    )


@router.get("/{package_id}/devices")
def rollout(package_id: str, platform: PlatformDep, principal: Caller) -> list[dict[str, Any]]:
    """Every device whose package this is (its own or its profile's), with its progress."""
    return platform.ota.rollout(principal.tenant, package_id, platform.reader())


@router.delete("/{package_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(409))
def delete_package(package_id: str, platform: PlatformDep, principal: Operator) -> None:
    """Delete a package; refused (409) while a device or profile is assigned it."""
    platform.ota.delete(principal.tenant, package_id)


def _device_routes(kind: PackageKind) -> None:
    path = f"/api/devices/{{device_id}}/{kind}"

    def show(device_id: str, platform: PlatformDep, principal: Caller) -> dict[str, Any]:
        device = platform.catalog.device(principal.tenant, device_id)
        return platform.ota.status(principal.tenant, device, kind, platform.reader())

    def assign(
        device_id: str, body: AssignIn, platform: PlatformDep, principal: Operator
    ) -> dict[str, Any]:
        return platform.ota.assign_device(principal.tenant, device_id, kind, body.package)

    def unassign(device_id: str, platform: PlatformDep, principal: Operator) -> dict[str, Any]:
        return platform.ota.assign_device(principal.tenant, device_id, kind, None)

    show.__doc__ = f"The device's {kind}: its own or its profile's, and its reported progress."
    assign.__doc__ = f"Give the device its own {kind}; its shared attributes announce it."
    unassign.__doc__ = f"Take the device's own {kind} away; it follows its profile's again."
    assignments.add_api_route(path, show, methods=["GET"], name=f"get_device_{kind}")
    assignments.add_api_route(path, assign, methods=["PUT"], name=f"assign_device_{kind}")
    assignments.add_api_route(path, unassign, methods=["DELETE"], name=f"unassign_device_{kind}")


def _profile_routes(kind: PackageKind) -> None:
    path = f"/api/profiles/{{name}}/{kind}"  # as /api/profiles/{name}

    def assign(
        name: str, body: AssignIn, platform: PlatformDep, principal: Operator
    ) -> dict[str, Any]:
        return platform.ota.assign_profile(principal.tenant, name, kind, body.package)

    def unassign(name: str, platform: PlatformDep, principal: Operator) -> dict[str, Any]:
        return platform.ota.assign_profile(principal.tenant, name, kind, None)

    assign.__doc__ = f"Give the profile's devices without one of their own this {kind}."
    unassign.__doc__ = f"Take the profile's {kind} away from the devices that follow it."
    assignments.add_api_route(path, assign, methods=["PUT"], name=f"assign_profile_{kind}")
    assignments.add_api_route(path, unassign, methods=["DELETE"], name=f"unassign_profile_{kind}")


for _kind in KINDS:
    _device_routes(_kind)
    _profile_routes(_kind)
