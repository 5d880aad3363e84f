"""Records of the catalog: tenants, devices and API keys. Every record carries its tenant."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["ApiKey", "Device", "Principal", "Role", "Tenant", "User"]


class Role(enum.StrEnum):
    """What an API key may do inside its tenant (each role includes the ones below it)."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"

    def allows(self, needed: Role) -> bool:
        """Whether this role is at least ``needed``."""
        order = [Role.VIEWER, Role.OPERATOR, Role.ADMIN]
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True)
class Tenant:
    """A company sharing the installation; nothing crosses between tenants."""

    id: str
    name: str
    created_at: datetime
    limits: dict[str, Any] = field(default_factory=dict)  # e.g. messages_per_second


@dataclass(frozen=True)
class Device:
    """A physical or virtual device that sends telemetry with its access token."""

    id: str
    tenant: str
    name: str
    type: str
    access_token: str
    created_at: datetime
    labels: dict[str, str] = field(default_factory=dict)
    last_seen: datetime | None = None
    gateway: bool = False  # publishes for the devices behind it (``v1/gateway/...``)
    gateway_id: str | None = None  # the gateway this device is connected through
    owner: str | None = None  # who claimed it
    certificate: str | None = None  # SHA-256 of its X.509 certificate, when it has one
    mqtt_basic: tuple[str, str] | None = None  # its MQTT client id and user name, if it has them

    def public(self) -> dict[str, Any]:
        """The device as listed to users (the token included: it is the device's credential)."""
        return {
            "id": self.id,
            "tenant": self.tenant,
            "name": self.name,
            "type": self.type,
            "labels": dict(self.labels),
            "access_token": self.access_token,
            "created_at": self.created_at.isoformat(),
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
            "gateway": self.gateway,
            "gateway_id": self.gateway_id,
            "owner": self.owner,
            "certificate_sha256": self.certificate,
            "mqtt_basic": None
            if self.mqtt_basic is None
            else {"client_id": self.mqtt_basic[0] or None, "username": self.mqtt_basic[1] or None},
        }


@dataclass(frozen=True)
class ApiKey:
    """A user API key of one tenant; only its hash is stored."""

    id: str
    tenant: str
    name: str
    role: Role
    prefix: str
    created_at: datetime


@dataclass(frozen=True)
class User:
    """A person of one tenant who signs in to the dashboard; only a hash of the password is kept."""

    id: str
    tenant: str
    name: str
    role: Role
    created_at: datetime


@dataclass(frozen=True)
class Principal:
    """Who is calling: a tenant, a role, and whether it is the installation's admin key."""

    tenant: str
    role: Role
    platform_admin: bool = False
    key_id: str | None = None
    user_id: str | None = None
