"""Catalog rows to domain records, and the rejection record listed to users."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiot.domain import (
    Alarm,
    AlarmStatus,
    ApiKey,
    Bridge,
    Deployment,
    Device,
    Profile,
    Role,
    Selector,
    Severity,
    Tenant,
    User,
    Verdict,
)
from aiot.errors import InvalidInput
from aiot.store.catalog.sealed import open_policy
from aiot.store.catalog.tables import (
    AlarmRow,
    ApiKeyRow,
    BridgeRow,
    DeploymentRow,
    DeviceRow,
    ProfileRow,
    RejectionRow,
    TenantRow,
    UserRow,
)
from aiot.store.secrets import SecretBox

__all__ = [
    "Rejection",
    "alarm",
    "api_key",
    "bridge",
    "deployment",
    "device",
    "now",
    "plain_json",
    "profile",
    "rejection",
    "tenant",
]


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
    return Tenant(
        id=row.id,
        name=row.name,
        created_at=_utc(row.created_at) or now(),
        limits=dict(row.limits or {}),
    )


def device(row: DeviceRow, box: SecretBox) -> Device:
    """A device row as a record, its token opened."""
    return Device(
        id=row.id,
        tenant=row.tenant_id,
        name=row.name,
        type=row.type,
        access_token=box.decrypt(row.token_secret),
        created_at=_utc(row.created_at) or now(),
        labels=dict(row.labels),
        last_seen=_utc(row.last_seen),
        gateway=bool(row.gateway),
        gateway_id=row.gateway_id,
        owner=row.owner,
        certificate=row.cert_fingerprint,
        mqtt_basic=None if row.mqtt_basic_id is None else _split_basic(row.mqtt_basic_id),
    )


def _split_basic(key: str) -> tuple[str, str]:
    client_id, _, username = key.partition("\n")
    return client_id, username


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


def user(row: UserRow) -> User:
    """A user row as a record (no password hash)."""
    return User(
        id=row.id,
        tenant=row.tenant_id,
        name=row.name,
        role=Role(row.role),
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


def bridge(row: BridgeRow, box: SecretBox) -> Bridge:
    """A bridge row as a record, its password opened."""
    return Bridge(
        id=row.id,
        tenant=row.tenant_id,
        name=row.name,
        url=row.url,
        topics=tuple(row.topics),
        created_at=_utc(row.created_at) or now(),
        username=row.username,
        password=None if row.password_secret is None else box.decrypt(row.password_secret),
        create_devices=row.create_devices,
        device_type=row.device_type,
        ca_pem=row.ca_pem,
        ca_file=row.ca_file,
    )


def profile(row: ProfileRow, box: SecretBox) -> Profile:
    """A profile row as a record, its provision secret opened."""
    secret = None if row.provision_secret is None else box.decrypt(row.provision_secret)
    return Profile(
        id=row.id,
        tenant=row.tenant_id,
        name=row.name,
        created_at=_utc(row.created_at) or now(),
        description=row.description,
        provision=row.provision,  # type: ignore[arg-type]  # checked when stored
        provision_key=row.provision_key,
        provision_secret=secret,
        limits=dict(row.limits or {}),
        firmware_id=row.firmware_id,
        software_id=row.software_id,
    )


def plain_json(value: Any, what: str) -> Any:
    """``value`` as plain JSON: lists for tuples, numpy values as numbers, NaN as null."""
    try:
        return _finite(json.loads(json.dumps(value, default=_item)))
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"{what} must be plain JSON", str(err)) from err


def _item(value: Any) -> Any:
    # numpy scalars and arrays, as detectors hand them over
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _finite(value: Any) -> Any:
    # JSON has no NaN or Infinity (PostgreSQL refuses them); null, as orjson writes them
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def deployment(row: DeploymentRow, box: SecretBox) -> Deployment:
    """A deployment row as a record, its webhook secrets opened."""
    selector = row.selector
    return Deployment(
        id=row.id,
        tenant=row.tenant_id,
        name=row.name,
        detector=row.detector,
        params=dict(row.params),
        keys=tuple(row.keys),
        selector=Selector(selector["device"], selector["type"], dict(selector["labels"])),
        policy=open_policy(dict(row.policy), box),
        multivariate=row.multivariate,
        paused=row.paused,
        created_ms=row.created_ms,
    )


def alarm(row: AlarmRow) -> Alarm:
    """An alarm row as a record."""
    return Alarm(
        id=row.id,
        tenant=row.tenant_id,
        type=row.type,
        device=row.device_id,
        severity=Severity(row.severity),
        status=AlarmStatus(row.status),
        start_ms=row.start_ms,
        end_ms=row.end_ms,
        deployment=row.deployment_id,
        details=dict(row.details),
        comments=tuple(dict(c) for c in row.comments),
        verdict=Verdict(**row.verdict) if row.verdict else None,
        assignee=row.assignee,
    )
