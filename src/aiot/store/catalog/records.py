"""Catalog rows to domain records, and the rejection record listed to users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiot.domain import ApiKey, Bridge, Device, Role, Tenant
from aiot.store.catalog.tables import ApiKeyRow, BridgeRow, DeviceRow, RejectionRow, TenantRow

__all__ = ["Rejection", "api_key", "bridge", "device", "now", "rejection", "tenant"]


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def _utc(when: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


@dataclass(frozen=True)
class Rejection:
    """A refused device message, as listed to users."""

    tenant: str
    at: datetime
    transport: str
    device: str | None
    reason: str
    message: str
    excerpt: str

    def public(self) -> dict[str, Any]:
        """The rejection as JSON."""
        return {**self.__dict__, "at": self.at.isoformat()}


def tenant(row: TenantRow) -> Tenant:
    """A tenant row as a record."""
    return Tenant(id=row.id, name=row.name, created_at=_utc(row.created_at) or now())


def device(row: DeviceRow) -> Device:
    """A device row as a record."""
    return Device(
        id=row.id,
        tenant=row.tenant_id,
        name=row.name,
        type=row.type,
        access_token=row.access_token,
        created_at=_utc(row.created_at) or now(),
        labels=dict(row.labels),
        last_seen=_utc(row.last_seen),
    )


def api_key(row: ApiKeyRow) -> ApiKey:
    """An API key row as a record (no secret)."""
    return ApiKey(
        id=row.id,
        tenant=row.tenant_id,
        name=row.name,
        role=Role(row.role),
        prefix=row.prefix,
        created_at=_utc(row.created_at) or now(),
    )


def rejection(row: RejectionRow) -> Rejection:
    """A rejection row as a record."""
    return Rejection(
        tenant=row.tenant_id,
        at=_utc(row.at) or now(),
        transport=row.transport,
        device=row.device_id,
        reason=row.reason,
        message=row.message,
        excerpt=row.excerpt,
    )


def bridge(row: BridgeRow) -> Bridge:
    """A bridge row as a record."""
    return Bridge(
        id=row.id,
        tenant=row.tenant_id,
        name=row.name,
        url=row.url,
        topics=tuple(row.topics),
        created_at=_utc(row.created_at) or now(),
        username=row.username,
        password=row.password,
        create_devices=row.create_devices,
        device_type=row.device_type,
        ca_file=row.ca_file,
    )
